// SPDX-License-Identifier: Apache-2.0
// Fuzz target: JSON (detail/json.hpp) and model directories (io/model_store.hpp model_reader).
// Option byte % 4 selects the mode:
//   0  JSON document: parse; a parsed value must dump (indented and on one line) to text that
//      parses back to an equal value;
//   1  manifest.json: the text becomes the manifest of a directory that also holds valid entry
//      files (written once by model_writer: matrix "m", vector "v", sparse "s", ids "ids");
//      model_reader and every accessor are called on every entry the manifest names;
//   2  sparse structure: the bytes give rows, cols, indptr and indices (int8 each); they are
//      stored with model_writer (valid files and checksums) and read back with
//      model_reader::sparse, which must reject every inconsistent structure;
//   3  id list: the text becomes ids.json of an otherwise valid model (checksum updated).
// Outcomes allowed: a value, or recsys::io_error / recsys::invalid_argument.
#include "fuzz_support.hpp"

#include <recsys/detail/json.hpp>
#include <recsys/io/model_store-inl.hpp>  // detail::write_bytes to forge files

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace json = recsys::detail::json;

const fs::path& work_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("recsys-fuzz-model-store-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(work_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// The valid model every manifest/id mode starts from (its files stay; the manifest is replaced).
const fs::path& base_model() {
  static const fs::path dir = [] {
    const fs::path d = work_dir() / "base";
    recsys::model_writer w(d, "fuzz");
    w.set_params({{"factors", "2"}});
    recsys::row_matrix<float> m(2, 3);
    m << 1, 2, 3, 4, 5, 6;
    w.add_matrix("m", m);
    w.add_vector("v", std::vector<std::int64_t>{7, 8, 9});
    recsys::csr_matrix s(2, 3);
    s.insert(0, 1) = 1.5f;
    s.insert(1, 2) = -2.0f;
    s.makeCompressed();
    w.add_sparse("s", s);
    recsys::id_map<std::string> ids;
    ids.insert("a");
    ids.insert("b");
    w.add_ids("ids", ids);
    w.commit();
    return d;
  }();
  return dir;
}

template <class F>
void allowed(F&& f) {
  try {
    f();
  } catch (const recsys::error&) {
  }
}

void json_mode(std::string_view text) {
  std::optional<json::value> v;
  try {
    v = json::parse(text, "fuzz.json");
  } catch (const recsys::error&) {
    return;
  }
  for (const int indent : {0, 2}) {
    const std::string out = json::dump(*v, indent);
    RECSYS_FUZZ_CHECK(json::parse(out, "round-trip.json") == *v);
  }
}

void read_everything(const fs::path& dir) {
  std::optional<recsys::model_reader> r;
  try {
    r.emplace(dir);
  } catch (const recsys::error&) {
    return;
  }
  (void)r->recipe();
  (void)r->params();
  (void)r->field("recipe");
  std::set<std::string> names = {"m", "v", "s", "ids", "s_indptr", "s_indices", "s_data"};
  allowed([&] {
    if (const auto* files = r->field("files"))
      for (const auto& [name, entry] : files->as_object("files")) names.insert(name);
  });
  for (const auto& name : names) {
    allowed([&] { (void)r->has(name); });
    allowed([&] { (void)r->array<float>(name); });
    allowed([&] { (void)r->array<std::int64_t>(name); });
    allowed([&] { (void)r->matrix<float>(name, 2, 3); });
    allowed([&] { (void)r->vector<std::int64_t>(name); });
    allowed([&] { (void)r->vector<std::int32_t>(name, 3); });
    allowed([&] { (void)r->sparse(name); });
    allowed([&] { (void)r->ids(name); });
  }
}

void manifest_mode(std::string_view text) {
  const fs::path dir = work_dir() / "manifest";
  fs::remove_all(dir);
  fs::copy(base_model(), dir);
  recsys::detail::write_bytes(dir / "manifest.json", text);
  read_everything(dir);
}

void sparse_mode(std::string_view bytes) {
  auto next = [&]() -> int {
    if (bytes.empty()) return 0;
    const int v = static_cast<signed char>(bytes.front());
    bytes.remove_prefix(1);
    return v;
  };
  const int rows = next(), cols = next();
  std::vector<std::int64_t> indptr(static_cast<std::size_t>(next() & 15));
  for (auto& x : indptr) x = next();
  std::vector<std::int32_t> indices(static_cast<std::size_t>(next() & 15));
  for (auto& x : indices) x = next();
  std::vector<float> values(indices.size());
  for (std::size_t n = 0; n < values.size(); ++n) values[n] = static_cast<float>(n) + 0.5f;
  const fs::path dir = work_dir() / "sparse";
  {
    recsys::model_writer w(dir, "fuzz");
    w.add_vector("s_indptr", indptr);
    w.add_vector("s_indices", indices);
    w.add_vector("s_data", values);
    w.set_field("s_shape", json::value(json::array{json::value(rows), json::value(cols)}));
    w.commit();
  }
  const recsys::model_reader r(dir);
  std::optional<recsys::csr_matrix> m;
  try {
    m = r.sparse("s");
  } catch (const recsys::error&) {
    return;
  }
  // Accepted: the structure is exactly what was stored.
  RECSYS_FUZZ_CHECK(m->rows() == rows && m->cols() == cols);
  RECSYS_FUZZ_CHECK(m->nonZeros() == static_cast<Eigen::Index>(indices.size()));
  for (int row = 0; row < rows; ++row) {
    std::int64_t n = indptr[static_cast<std::size_t>(row)];
    for (recsys::csr_matrix::InnerIterator it(*m, row); it; ++it, ++n) {
      RECSYS_FUZZ_CHECK(it.col() == indices[static_cast<std::size_t>(n)]);
      RECSYS_FUZZ_CHECK(it.value() == values[static_cast<std::size_t>(n)]);
    }
    RECSYS_FUZZ_CHECK(n == indptr[static_cast<std::size_t>(row) + 1]);
  }
}

void ids_mode(std::string_view text) {
  const fs::path dir = work_dir() / "ids";
  fs::remove_all(dir);
  fs::copy(base_model(), dir);
  // Replace ids.json and update its size and checksum in the manifest.
  recsys::detail::write_bytes(dir / "ids.json", text);
  auto manifest = json::parse(recsys::detail::read_file_bytes(dir / "manifest.json"));
  json::object top = manifest.as_object("manifest");
  for (auto& [k, v] : top) {
    if (k != "files") continue;
    json::object files = v.as_object("files");
    for (auto& [name, entry] : files) {
      if (name != "ids") continue;
      json::object e = entry.as_object("entry");
      for (auto& [ek, ev] : e) {
        if (ek == "bytes") ev = json::value(static_cast<std::int64_t>(text.size()));
        if (ek == "crc32") ev = json::value(recsys::detail::hex32(recsys::detail::crc32(text)));
      }
      entry = json::value(std::move(e));
    }
    v = json::value(std::move(files));
  }
  recsys::detail::write_bytes(dir / "manifest.json", json::dump(json::value(std::move(top))));
  const recsys::model_reader r(dir);
  std::optional<recsys::id_map<std::string>> ids;
  try {
    ids = r.ids("ids");
  } catch (const recsys::error&) {
    return;
  }
  for (recsys::index_t i = 0; i < ids->size(); ++i)
    RECSYS_FUZZ_CHECK(ids->find(ids->ids()[static_cast<std::size_t>(i)]) == i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  switch (in.option % 4) {
    case 0: json_mode(in.text); break;
    case 1: manifest_mode(in.text); break;
    case 2: sparse_mode(in.text); break;
    default: ids_mode(in.text); break;
  }
  return 0;
}
