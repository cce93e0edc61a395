// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_MODEL_STORE_INL_HPP
#define RECSYS_IO_MODEL_STORE_INL_HPP

/// @file
/// Definitions of io/model_store.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/io.cpp).

#include <recsys/io/model_store.hpp>
#include <recsys/version.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <fstream>
#include <system_error>

namespace recsys {

namespace detail {

/// CRC-32 (IEEE 802.3, as zlib) of a byte range.
template <class = void>
[[nodiscard]] std::uint32_t crc32(std::string_view bytes) noexcept {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : bytes) c = table[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

template <class = void>
[[nodiscard]] std::string hex32(std::uint32_t x) {
  const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, x >>= 4) s[static_cast<std::size_t>(i)] = digits[x & 0xF];
  return s;
}

template <class = void>
void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw io_error(path.string(), "cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw io_error(path.string(), "write failed (disk full?)");
}

template <class>
void check_entry_name(std::string_view where, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 100;
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  RECSYS_REQUIRE(ok, where, "entry name '", name, "' must be 1-100 characters of [A-Za-z0-9_-]");
}

/// The target directory of a model_writer: `dir` made absolute with symbolic links resolved
/// (weakly_canonical) and without a trailing separator, so that the temporary and the old copy
/// are siblings of the target whatever the spelling ("model/", "./model", "a/../model").
/// @throws recsys::invalid_argument for an empty path or one that names no directory entry
///         ("/", ".", "..").
template <class = void>
[[nodiscard]] std::filesystem::path model_target(std::string_view where, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  RECSYS_REQUIRE(!dir.empty(), where, "empty directory name");
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) throw io_error(dir.string(), "cannot resolve the path: " + ec.message());
  if (!p.has_filename()) p = p.parent_path();  // "model/" -> "model"
  const fs::path name = p.filename();
  RECSYS_REQUIRE(!name.empty() && name != "." && name != ".." && p != p.root_path(), where, "'", dir.string(),
                 "' names no directory that a model can be written to");
  return p;
}

/// Whether `dir` (a model_target) exists. It may be replaced by a model only when it is a
/// directory that holds a model or nothing at all: a mistyped path must never move a user's data
/// folder aside and delete it.
/// @throws recsys::io_error when it exists and must not be replaced.
template <class = void>
bool check_replaceable(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  if (!fs::exists(st)) return false;
  if (!fs::is_directory(st))
    throw io_error(dir.string(), "exists and is not a directory; refusing to replace it with a model");
  if (!fs::exists(dir / "manifest.json") && !fs::is_empty(dir, ec))
    throw io_error(dir.string(), "exists, is not empty and holds no model (no manifest.json); refusing to replace it");
  return true;
}

}  // namespace detail

template <class>
void check_model_target(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const fs::path target = detail::model_target("check_model_target", dir);
  if (detail::check_replaceable(target)) return;
  // Missing folders are created on save: the nearest one that exists must be a folder.
  std::error_code ec;
  fs::path p = target.parent_path();
  while (!fs::exists(fs::symlink_status(p, ec)) && p != p.parent_path()) p = p.parent_path();
  if (!fs::is_directory(p, ec))
    throw io_error(dir.string(), "cannot be created: " + p.string() + " is not a directory");
}

// ---------------------------------------------------------------------------------------------
// basic_model_writer

template <class T>
basic_model_writer<T>::basic_model_writer(std::filesystem::path dir, std::string recipe)
    : dir_(detail::model_target("model_writer", dir)), recipe_(std::move(recipe)) {
  namespace fs = std::filesystem;
  // The temporary directory is a sibling of the target (same file system, so the final rename
  // is atomic). Parent folders that do not exist yet are created, and removed again when the
  // model is never committed: a failed save leaves nothing behind.
  for (fs::path p = dir_.parent_path(); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    created_parents_.push_back(p);
    if (p == p.parent_path()) break;
  }
  static std::atomic<unsigned> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  tmp_ = dir_;
  tmp_ += ".tmp-" + std::to_string(stamp) + "-" + std::to_string(counter++);
  std::error_code ec;
  fs::create_directories(tmp_, ec);
  if (ec) {
    remove_created_parents();
    throw io_error(tmp_.string(), "cannot create directory: " + ec.message());
  }
}

template <class T>
basic_model_writer<T>::~basic_model_writer() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
    remove_created_parents();
  }
}

template <class T>
void basic_model_writer<T>::set_params(const std::vector<std::pair<std::string, std::string>>& params) {
  detail::json::object o;
  for (const auto& [k, v] : params) o.emplace_back(k, detail::json::value(v));
  params_ = detail::json::value(std::move(o));
}

template <class T>
void basic_model_writer<T>::set_field(const std::string& key, detail::json::value v) {
  RECSYS_REQUIRE(key != "format" && key != "format_version" && key != "recipe" && key != "params" &&
                     key != "files" && key != "recsys_version",
                 "model_writer::set_field", "'", key, "' is reserved");
  for (auto& [k, old] : fields_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  fields_.emplace_back(key, std::move(v));
}

template <class T>
void basic_model_writer<T>::set_config(const std::vector<std::pair<std::string, std::string>>& config) {
  detail::json::object o;
  o.reserve(config.size());
  for (const auto& [k, v] : config) o.emplace_back(k, detail::json::value(v));
  set_field("config", detail::json::value(std::move(o)));
}

template <class T>
void basic_model_writer<T>::add_sparse(const std::string& name, const csr_matrix& m) {
  csr_matrix c = m;
  c.makeCompressed();
  std::vector<std::int64_t> indptr(c.outerIndexPtr(), c.outerIndexPtr() + c.rows() + 1);
  std::vector<std::int32_t> indices(c.innerIndexPtr(), c.innerIndexPtr() + c.nonZeros());
  std::vector<float> values(c.valuePtr(), c.valuePtr() + c.nonZeros());
  add_vector(name + "_indptr", indptr);
  add_vector(name + "_indices", indices);
  add_vector(name + "_data", values);
  set_field(name + "_shape", detail::json::value(detail::json::array{detail::json::value(static_cast<std::int64_t>(c.rows())),
                                                                     detail::json::value(static_cast<std::int64_t>(c.cols()))}));
}

template <class T>
void basic_model_writer<T>::add_ids(const std::string& name, const id_map<std::string>& ids) {
  detail::check_entry_name("model_writer::add_ids", name);
  detail::json::array a;
  a.reserve(ids.ids().size());
  for (const auto& id : ids.ids()) a.emplace_back(id);
  add_file(name + ".json", detail::json::dump(detail::json::value(std::move(a)), 0), name, "ids",
           {static_cast<std::int64_t>(ids.size())});
}

template <class T>
void basic_model_writer<T>::commit() {
  RECSYS_REQUIRE(!committed_, "model_writer::commit", "already committed");
  detail::json::object m;
  m.reserve(6 + fields_.size());  // also keeps GCC 12's -Warray-bounds false positive away
  m.emplace_back("format", "recsys-model");
  m.emplace_back("format_version", model_format_version);
  m.emplace_back("recsys_version", version_string);
  m.emplace_back("recipe", recipe_);
  m.emplace_back("params", params_.is_null() ? detail::json::value(detail::json::object{}) : params_);
  for (auto& f : fields_) m.push_back(f);
  m.emplace_back("files", detail::json::value(files_));
  detail::write_bytes(tmp_ / "manifest.json", detail::json::dump(detail::json::value(std::move(m))) + "\n");
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path old;
  if (detail::check_replaceable(dir_)) {
    old = dir_;
    old += ".old-" + tmp_.filename().string();
    fs::rename(dir_, old, ec);
    if (ec) throw io_error(dir_.string(), "cannot move the existing model aside: " + ec.message());
  }
  fs::rename(tmp_, dir_, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, dir_, ec);
    throw io_error(dir_.string(), "cannot move the new model into place: " + ec.message());
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

template <class T>
void basic_model_writer<T>::remove_created_parents() noexcept {
  std::error_code ec;
  for (const auto& p : created_parents_) std::filesystem::remove(p, ec);
}

template <class T>
void basic_model_writer<T>::add_file(const std::string& file, const std::string& bytes, const std::string& name,
                                     std::string kind, std::vector<std::int64_t> shape) {
  for (const auto& [k, v] : files_)
    RECSYS_REQUIRE(k != name, "model_writer", "entry '", name, "' added twice");
  detail::write_bytes(tmp_ / file, bytes);
  detail::json::array s;
  for (auto d : shape) s.emplace_back(d);
  detail::json::object entry;
  // Sized up front: growing it from empty makes GCC 12 report a false -Warray-bounds in
  // std::pair's constructor wherever this function is inlined (the new storage taken as a
  // zero-length array), as in test_concurrency's save / load round trip.
  entry.reserve(5);
  entry.emplace_back("file", file);
  entry.emplace_back("type", std::move(kind));
  entry.emplace_back("shape", detail::json::value(std::move(s)));
  entry.emplace_back("bytes", static_cast<std::int64_t>(bytes.size()));
  entry.emplace_back("crc32", detail::hex32(detail::crc32(bytes)));
  files_.emplace_back(name, detail::json::value(std::move(entry)));
}

// ---------------------------------------------------------------------------------------------
// basic_model_reader

template <class T>
basic_model_reader<T>::basic_model_reader(std::filesystem::path dir, std::string_view expected_recipe)
    : dir_(std::move(dir)) {
  const auto manifest_path = dir_ / "manifest.json";
  if (!std::filesystem::is_directory(dir_)) throw io_error(dir_.string(), "not a model directory");
  manifest_ = detail::json::parse(detail::read_file_bytes(manifest_path), manifest_path.string());
  const std::string mp = manifest_path.string();
  guarded(mp, [&] {
    if (manifest_.type() != detail::json::value::kind::object) throw invalid_argument("the manifest must be a JSON object");
    if (manifest_.at("format").as_string("format") != "recsys-model")
      throw invalid_argument("format is not \"recsys-model\"");
    const std::int64_t v = manifest_.at("format_version").as_int("format_version");
    if (v != model_format_version)
      throw invalid_argument(detail::str("format_version ", v, " is not supported (this recsys reads version ",
                                 model_format_version, ")"));
    recipe_ = manifest_.at("recipe").as_string("recipe");
    for (const auto& [k, val] : manifest_.at("params").as_object("params")) params_.emplace_back(k, val.as_string("a parameter value"));
    for (const auto& [name, entry] : manifest_.at("files").as_object("files")) {
      (void)entry.at("file").as_string("file");
      (void)entry.at("crc32").as_string("crc32");
      (void)entry.at("bytes").as_int("bytes");
      (void)entry.at("shape").as_array("shape");
      (void)name;
    }
  });
  if (!expected_recipe.empty() && recipe_ != expected_recipe)
    throw io_error(mp, "holds a '" + recipe_ + "' model, expected '" + std::string(expected_recipe) + "'");
}

template <class T>
const detail::json::value& basic_model_reader<T>::require_field(std::string_view key) const {
  const detail::json::value* v = field(key);
  if (!v) throw io_error(manifest_file(), "has no field '" + std::string(key) + "' (wrong model type or damaged manifest)");
  return *v;
}

template <class T>
void basic_model_reader<T>::require_model_type(std::string_view type) const {
  std::string found;
  in_manifest([&] { found = require_field("model").as_string("model"); });
  if (found != type)
    throw io_error(manifest_file(), "holds a '" + found + "' model state, expected '" + std::string(type) + "'");
}

template <class T>
std::vector<std::pair<std::string, std::string>> basic_model_reader<T>::config() const {
  std::vector<std::pair<std::string, std::string>> out;
  in_manifest([&] {
    for (const auto& [k, v] : require_field("config").as_object("config")) out.emplace_back(k, v.as_string("a config value"));
  });
  return out;
}

template <class T>
csr_matrix basic_model_reader<T>::sparse(const std::string& name) const {
  const auto indptr = vector<std::int64_t>(name + "_indptr");
  const auto indices = vector<std::int32_t>(name + "_indices");
  const auto values = vector<float>(name + "_data");
  std::int64_t rows = 0, cols = 0;
  guarded(manifest_file(), [&] {
    const auto& shape = manifest_.at(name + "_shape").as_array(name + "_shape");
    if (shape.size() != 2) throw invalid_argument(name + "_shape must have two entries");
    rows = shape[0].as_int("rows");
    cols = shape[1].as_int("cols");
  });
  const auto file = (dir_ / (name + "_indptr.npy")).string();
  if (rows < 0 || cols < 0 || rows > INT32_MAX || cols > INT32_MAX || static_cast<std::int64_t>(indptr.size()) != rows + 1 ||
      indptr.front() != 0 || indptr.back() != static_cast<std::int64_t>(indices.size()) || indices.size() != values.size())
    throw io_error(file, "sparse matrix '" + name + "' is inconsistent (indptr/indices/data/shape)");
  // The whole of indptr is checked before any row is read: a later decrease would otherwise
  // let an earlier row run past the end of indices.
  for (std::size_t r = 0; r + 1 < indptr.size(); ++r)
    if (indptr[r] > indptr[r + 1]) throw io_error(file, "sparse matrix '" + name + "': indptr is not non-decreasing");
  csr_matrix m(static_cast<index_t>(rows), static_cast<index_t>(cols));
  m.reserve(static_cast<Eigen::Index>(indices.size()));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t b = indptr[static_cast<std::size_t>(r)], e = indptr[static_cast<std::size_t>(r) + 1];
    m.startVec(static_cast<index_t>(r));
    for (std::int64_t n = b; n < e; ++n) {
      const std::int32_t c = indices[static_cast<std::size_t>(n)];
      if (c < 0 || c >= cols || (n > b && indices[static_cast<std::size_t>(n) - 1] >= c))
        throw io_error(file, "sparse matrix '" + name + "': column indices out of range or not sorted");
      m.insertBack(static_cast<index_t>(r), c) = values[static_cast<std::size_t>(n)];
    }
  }
  m.finalize();
  m.makeCompressed();
  return m;
}

template <class T>
typename basic_model_reader<T>::loaded basic_model_reader<T>::load(const std::string& name) const {
  const detail::json::value* entry = manifest_.at("files").find(name);
  if (!entry) throw io_error(manifest_file(), "has no entry '" + name + "' (wrong recipe or an older format?)");
  std::string file;
  std::int64_t size = 0;
  std::string crc;
  guarded(manifest_file(), [&] {
    file = entry->at("file").as_string("file");
    size = entry->at("bytes").as_int("bytes");
    crc = entry->at("crc32").as_string("crc32");
  });
  if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos || file == "." || file == "..")
    throw io_error(manifest_file(), "entry '" + name + "' names an invalid file '" + file + "'");
  const auto path = dir_ / file;
  if (!std::filesystem::exists(path)) throw io_error(path.string(), "missing (listed in manifest.json)");
  std::string bytes = detail::read_file_bytes(path);
  if (static_cast<std::int64_t>(bytes.size()) != size)
    throw io_error(path.string(), detail::str("has ", bytes.size(), " bytes, manifest.json says ", size, " (truncated or replaced)"));
  if (detail::hex32(detail::crc32(bytes)) != crc) throw io_error(path.string(), "checksum mismatch (corrupted file)");
  return {path, std::move(bytes), entry};
}

template <class T>
id_map<std::string> basic_model_reader<T>::ids(const std::string& name, std::optional<std::int64_t> size) const {
  const loaded file = load(name);
  const auto& path = file.path;
  const auto v = detail::json::parse(file.bytes, path.string());
  id_map<std::string> m;
  guarded(path.string(), [&] {
    const auto& a = v.as_array("an id list");
    m.reserve(a.size());
    for (const auto& id : a) {
      const index_t before = m.size();
      if (m.insert(id.as_string("an id")) != before) throw invalid_argument("duplicate id '" + id.as_string("") + "'");
    }
  });
  if (size && m.size() != *size) throw io_error(path.string(), detail::str("holds ", m.size(), " ids, the model needs ", *size));
  return m;
}

}  // namespace recsys

#endif  // RECSYS_IO_MODEL_STORE_INL_HPP
