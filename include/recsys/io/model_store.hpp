// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_IO_MODEL_STORE_HPP
#define RECSYS_IO_MODEL_STORE_HPP

/// @file
/// The on-disk model format shared by every recipe: a directory holding `.npy` arrays (numpy
/// opens them directly), id lists as JSON arrays, and a `manifest.json` naming the format
/// version, the recipe, its hyperparameters, free-form fields (training data summary, ...) and,
/// for every file, its size and CRC-32.
///
///     model/
///       manifest.json          {"format": "recsys-model", "format_version": 1, "recipe": "als", ...}
///       user_factors.npy       float32 [users, factors]
///       item_factors.npy       float32 [items, factors]
///       user_ids.json          ["alice", "bob", ...]
///
/// Writing goes to a temporary sibling directory which replaces the target only when complete,
/// so a crash or a full disk never leaves a half-written model under the target name.
/// Reading validates everything before use — format and version, recipe, every file's presence,
/// size and checksum, every array's dtype and shape — and any problem is a recsys::io_error
/// naming the file and what is wrong.
///
/// @code
///   recsys::model_writer w("my-model", "als");
///   w.set_params({{"factors", "64"}});
///   w.add_matrix("item_factors", item_factors);
///   w.commit();
///
///   recsys::model_reader r("my-model", "als");
///   auto v = r.matrix<float>("item_factors");
/// @endcode

#include <recsys/data/id_map.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/types.hpp>
#include <recsys/version.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys {

/// The version of the directory layout and manifest written by this recsys.
inline constexpr std::int64_t model_format_version = 1;

namespace detail {

/// CRC-32 (IEEE 802.3, as zlib) of a byte range.
[[nodiscard]] inline std::uint32_t crc32(std::string_view bytes) noexcept {
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

[[nodiscard]] inline std::string hex32(std::uint32_t x) {
  const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, x >>= 4) s[static_cast<std::size_t>(i)] = digits[x & 0xF];
  return s;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw io_error(path.string(), "cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw io_error(path.string(), "write failed (disk full?)");
}

/// A name that is safe as a file name inside a model directory.
inline void check_entry_name(std::string_view where, std::string_view name) {
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
[[nodiscard]] inline std::filesystem::path model_target(std::string_view where, const std::filesystem::path& dir) {
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
inline bool check_replaceable(const std::filesystem::path& dir) {
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

/// Checks, before any work is done, that a model can be saved to `dir`: the path names a
/// directory entry, and what is there now (if anything) is a model directory or an empty
/// directory, which commit() would replace. Call it before a long fit whose result goes to
/// `dir` (the `recsys` tool does for --save).
/// @throws recsys::invalid_argument for a path that names no directory entry ("/", ".", "").
/// @throws recsys::io_error when something other than a model or an empty folder is there.
inline void check_model_target(const std::filesystem::path& dir) {
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

/// Writes a model directory. Nothing appears under the target path until commit().
class model_writer {
 public:
  /// @param dir     the model directory to create (replaced on commit if it exists)
  /// @param recipe  the recipe name stored in the manifest and checked on load
  model_writer(std::filesystem::path dir, std::string recipe)
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
  model_writer(const model_writer&) = delete;
  model_writer& operator=(const model_writer&) = delete;
  /// Removes the temporary directory (and any parent folder the constructor created) when
  /// commit() was not reached.
  ~model_writer() {
    if (!committed_) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_, ec);
      remove_created_parents();
    }
  }

  /// The directory the model is committed to: the constructor's path made absolute, with
  /// symbolic links resolved and without a trailing separator ("model/", "./model" and
  /// "/abs/model" all name the same target).
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }

  /// Hyperparameters (stored as a JSON object of strings, in order).
  void set_params(const std::vector<std::pair<std::string, std::string>>& params) {
    detail::json::object o;
    for (const auto& [k, v] : params) o.emplace_back(k, detail::json::value(v));
    params_ = detail::json::value(std::move(o));
  }

  /// A free-form manifest field (e.g. "data": {...} with the training data summary).
  void set_field(const std::string& key, detail::json::value v) {
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

  /// Stores a model's own settings as the manifest field "config" (an object of strings, in
  /// order): what a model's save() writes so that load() can rebuild its configuration.
  void set_config(const std::vector<std::pair<std::string, std::string>>& config) {
    detail::json::object o;
    o.reserve(config.size());
    for (const auto& [k, v] : config) o.emplace_back(k, detail::json::value(v));
    set_field("config", detail::json::value(std::move(o)));
  }

  /// Stores a C-order array as <name>.npy.
  template <class T>
  void add_array(const std::string& name, const T* data, std::span<const std::int64_t> shape) {
    detail::check_entry_name("model_writer::add_array", name);
    std::vector<std::int64_t> s(shape.begin(), shape.end());
    add_file(name + ".npy", detail::npy_bytes(data, shape), name, std::string(detail::npy_descr<T>()), std::move(s));
  }
  /// Stores a dense matrix (any storage order) as a 2-d array.
  template <class Derived>
  void add_matrix(const std::string& name, const Eigen::DenseBase<Derived>& m) {
    using T = typename Derived::Scalar;
    const row_matrix<T> rm = m;
    const std::int64_t shape[2] = {static_cast<std::int64_t>(rm.rows()), static_cast<std::int64_t>(rm.cols())};
    add_array<T>(name, rm.data(), shape);
  }
  /// Stores a vector as a 1-d array.
  template <class T>
  void add_vector(const std::string& name, const std::vector<T>& v) {
    const std::int64_t shape[1] = {static_cast<std::int64_t>(v.size())};
    add_array<T>(name, v.data(), shape);
  }
  /// Stores an Eigen vector as a 1-d array.
  template <class T>
  void add_vector(const std::string& name, const recsys::vector<T>& v) {
    const std::int64_t shape[1] = {static_cast<std::int64_t>(v.size())};
    add_array<T>(name, v.data(), shape);
  }
  /// Stores a sparse matrix as three arrays <name>_indptr (int64), <name>_indices (int32),
  /// <name>_data (float) plus its shape — scipy.sparse.csr_matrix((data, indices, indptr), shape).
  void add_sparse(const std::string& name, const csr_matrix& m) {
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
  /// Stores an id map as <name>.json (a JSON array of the external ids, index order).
  void add_ids(const std::string& name, const id_map<std::string>& ids) {
    detail::check_entry_name("model_writer::add_ids", name);
    detail::json::array a;
    a.reserve(ids.ids().size());
    for (const auto& id : ids.ids()) a.emplace_back(id);
    add_file(name + ".json", detail::json::dump(detail::json::value(std::move(a)), 0), name, "ids",
             {static_cast<std::int64_t>(ids.size())});
  }

  /// Writes the manifest and moves the directory into place (replacing an existing one).
  /// @throws recsys::io_error when a file cannot be written or moved.
  void commit() {
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

 private:
  void add_file(const std::string& file, const std::string& bytes, const std::string& name, std::string kind,
                std::vector<std::int64_t> shape) {
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

  /// Removes the parent folders the constructor created, deepest first (only while empty).
  void remove_created_parents() noexcept {
    std::error_code ec;
    for (const auto& p : created_parents_) std::filesystem::remove(p, ec);
  }

  std::filesystem::path dir_, tmp_;
  std::vector<std::filesystem::path> created_parents_;  ///< deepest first
  std::string recipe_;
  detail::json::value params_;
  detail::json::object fields_;
  detail::json::object files_;
  bool committed_ = false;
};

/// Reads and validates a model directory written by model_writer.
class model_reader {
 public:
  /// Opens `dir` and validates the manifest. When `expected_recipe` is non-empty, a model of
  /// another recipe is an error.
  /// @throws recsys::io_error naming the file and the problem.
  explicit model_reader(std::filesystem::path dir, std::string_view expected_recipe = {}) : dir_(std::move(dir)) {
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

  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }
  [[nodiscard]] const std::string& recipe() const noexcept { return recipe_; }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& params() const noexcept { return params_; }
  /// A free-form manifest field, or nullptr.
  [[nodiscard]] const detail::json::value* field(std::string_view key) const { return manifest_.find(key); }
  /// Whether an entry (array or id list) is present.
  [[nodiscard]] bool has(std::string_view name) const { return manifest_.at("files").find(name) != nullptr; }
  /// The path of manifest.json (what errors about manifest fields name).
  [[nodiscard]] std::string manifest_file() const { return (dir_ / "manifest.json").string(); }
  /// The path of an entry's file as model_writer names it (<name>.npy), for error messages.
  [[nodiscard]] std::string array_file(std::string_view name) const {
    return (dir_ / (std::string(name) + ".npy")).string();
  }

  /// A manifest field that must be present.
  /// @throws recsys::io_error naming manifest.json when it is absent.
  [[nodiscard]] const detail::json::value& require_field(std::string_view key) const {
    const detail::json::value* v = field(key);
    if (!v) throw io_error(manifest_file(), "has no field '" + std::string(key) + "' (wrong model type or damaged manifest)");
    return *v;
  }

  /// Checks the manifest field "model" (the model type a model's save() records).
  /// @throws recsys::io_error naming manifest.json when it is absent or differs.
  void require_model_type(std::string_view type) const {
    std::string found;
    in_manifest([&] { found = require_field("model").as_string("model"); });
    if (found != type)
      throw io_error(manifest_file(), "holds a '" + found + "' model state, expected '" + std::string(type) + "'");
  }

  /// The manifest field "config" written by model_writer::set_config, in order.
  /// @throws recsys::io_error naming manifest.json when it is absent or not an object of strings.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> config() const {
    std::vector<std::pair<std::string, std::string>> out;
    in_manifest([&] {
      for (const auto& [k, v] : require_field("config").as_object("config")) out.emplace_back(k, v.as_string("a config value"));
    });
    return out;
  }

  /// Runs `f`, turning the recsys::invalid_argument that JSON accessors, set_param and other
  /// validation throw into a recsys::io_error naming manifest.json.
  template <class F>
  void in_manifest(F&& f) const {
    guarded(manifest_file(), std::forward<F>(f));
  }

  /// Throws recsys::io_error(file, reason) unless `ok`: one line for the consistency checks of
  /// a model's load().
  static void check(bool ok, const std::string& file, const std::string& reason) {
    if (!ok) throw io_error(file, reason);
  }

  /// Reads an array entry with its declared shape; checks size, checksum, dtype and shape.
  template <class T>
  [[nodiscard]] npy_array<T> array(const std::string& name) const {
    // Named members rather than a structured binding: Clang < 16 cannot capture bindings in lambdas.
    const loaded file = load(name);
    const auto& path = file.path;
    npy_array<T> a = parse_npy<T>(file.bytes, path.string());
    std::vector<std::int64_t> declared;
    guarded(manifest_file(), [&] {
      for (const auto& d : file.entry->at("shape").as_array("shape")) declared.push_back(d.as_int("a dimension"));
    });
    if (declared != a.shape) throw io_error(path.string(), "shape differs from the one in manifest.json");
    return a;
  }

  /// Reads a 2-d array; when rows/cols are given they must match.
  template <class T>
  [[nodiscard]] row_matrix<T> matrix(const std::string& name, std::optional<std::int64_t> rows = {},
                                     std::optional<std::int64_t> cols = {}) const {
    npy_array<T> a = array<T>(name);
    const auto file = (dir_ / (name + ".npy")).string();
    if (a.shape.size() != 2) throw io_error(file, "expected a 2-d array");
    if ((rows && a.shape[0] != *rows) || (cols && a.shape[1] != *cols))
      throw io_error(file, detail::str("shape [", a.shape[0], ", ", a.shape[1], "] does not match the model (expected [",
                               rows ? std::to_string(*rows) : std::string("*"), ", ",
                               cols ? std::to_string(*cols) : std::string("*"), "])"));
    return Eigen::Map<const row_matrix<T>>(a.data.data(), static_cast<Eigen::Index>(a.shape[0]),
                                           static_cast<Eigen::Index>(a.shape[1]));
  }

  /// Reads a 1-d array; when size is given it must match.
  template <class T>
  [[nodiscard]] std::vector<T> vector(const std::string& name, std::optional<std::int64_t> size = {}) const {
    npy_array<T> a = array<T>(name);
    const auto file = (dir_ / (name + ".npy")).string();
    if (a.shape.size() != 1) throw io_error(file, "expected a 1-d array");
    if (size && a.shape[0] != *size)
      throw io_error(file, detail::str("has ", a.shape[0], " entries, the model needs ", *size));
    return std::move(a.data);
  }

  /// Reads a sparse matrix written by model_writer::add_sparse, validating its structure.
  [[nodiscard]] csr_matrix sparse(const std::string& name) const {
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

  /// Reads an id list; when size is given it must match. Duplicate ids are an error.
  [[nodiscard]] id_map<std::string> ids(const std::string& name, std::optional<std::int64_t> size = {}) const {
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

 private:
  struct loaded {
    std::filesystem::path path;
    std::string bytes;
    const detail::json::value* entry;
  };

  template <class F>
  void guarded(const std::string& file, F&& f) const {
    try {
      f();
    } catch (const invalid_argument& e) {  // json accessors report type/shape problems this way
      throw io_error(file, e.what());
    }
  }

  loaded load(const std::string& name) const {
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

  std::filesystem::path dir_;
  detail::json::value manifest_;
  std::string recipe_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace recsys

#endif  // RECSYS_IO_MODEL_STORE_HPP
