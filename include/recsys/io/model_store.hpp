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

#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// The version of the directory layout and manifest written by this recsys.
inline constexpr std::int64_t model_format_version = 1;

/// Checks, before any work is done, that a model can be saved to `dir`: the path names a
/// directory entry, and what is there now (if anything) is a model directory or an empty
/// directory, which commit() would replace; missing parent folders can be created. Call it
/// before a long fit whose result goes to `dir` (the `recsys` tool does for --save).
/// @throws recsys::invalid_argument for a path that names no directory entry ("/", ".", "").
/// @throws recsys::io_error when something other than a model or an empty folder is there.
template <class = void>
void check_model_target(const std::filesystem::path& dir);

namespace detail {
/// An entry name that is safe as a file name inside a model directory: 1-100 characters of
/// [A-Za-z0-9_-]. @throws recsys::invalid_argument otherwise.
template <class = void>
void check_entry_name(std::string_view where, std::string_view name);
}  // namespace detail

/// Writes a model directory. Nothing appears under the target path until commit().
/// (`model_writer` is `basic_model_writer<>`; see config.hpp.)
template <class>
class basic_model_writer {
 public:
  /// @param dir     the model directory to create (replaced on commit if it exists). Any spelling
  ///                works: "model/", "./model", an absolute path, a path through a symbolic link.
  /// @param recipe  the recipe name stored in the manifest and checked on load
  /// @throws recsys::invalid_argument for a path that names no directory entry.
  /// @throws recsys::io_error when the temporary directory cannot be created.
  basic_model_writer(std::filesystem::path dir, std::string recipe);
  basic_model_writer(const basic_model_writer&) = delete;
  basic_model_writer& operator=(const basic_model_writer&) = delete;
  /// Removes the temporary directory (and any parent folder the constructor created) when
  /// commit() was not reached.
  ~basic_model_writer();

  /// The directory the model is committed to: the constructor's path made absolute, with
  /// symbolic links resolved and without a trailing separator ("model/", "./model" and
  /// "/abs/model" all name the same target).
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }

  /// Hyperparameters (stored as a JSON object of strings, in order).
  void set_params(const std::vector<std::pair<std::string, std::string>>& params);

  /// A free-form manifest field (e.g. "data": {...} with the training data summary).
  void set_field(const std::string& key, detail::json::value v);

  /// Stores a model's own settings as the manifest field "config" (an object of strings, in
  /// order): what a model's save() writes so that load() can rebuild its configuration.
  void set_config(const std::vector<std::pair<std::string, std::string>>& config);

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
  void add_sparse(const std::string& name, const csr_matrix& m);
  /// Stores an id map as <name>.json (a JSON array of the external ids, index order).
  void add_ids(const std::string& name, const id_map<std::string>& ids);

  /// Writes the manifest and moves the directory into place (replacing an existing model
  /// directory, or an empty folder; anything else there is refused).
  /// @throws recsys::io_error when a file cannot be written or moved, or the target holds
  ///         something other than a model.
  void commit();

 private:
  void add_file(const std::string& file, const std::string& bytes, const std::string& name, std::string kind,
                std::vector<std::int64_t> shape);
  /// Removes the parent folders the constructor created, deepest first (only while empty).
  void remove_created_parents() noexcept;

  std::filesystem::path dir_, tmp_;
  std::vector<std::filesystem::path> created_parents_;  ///< deepest first
  std::string recipe_;
  detail::json::value params_;
  detail::json::object fields_;
  detail::json::object files_;
  bool committed_ = false;
};

/// Reads and validates a model directory written by model_writer.
/// (`model_reader` is `basic_model_reader<>`; see config.hpp.)
template <class>
class basic_model_reader {
 public:
  /// Opens `dir` and validates the manifest. When `expected_recipe` is non-empty, a model of
  /// another recipe is an error.
  /// @throws recsys::io_error naming the file and the problem.
  explicit basic_model_reader(std::filesystem::path dir, std::string_view expected_recipe = {});

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
  [[nodiscard]] const detail::json::value& require_field(std::string_view key) const;

  /// Checks the manifest field "model" (the model type a model's save() records).
  /// @throws recsys::io_error naming manifest.json when it is absent or differs.
  void require_model_type(std::string_view type) const;

  /// The manifest field "config" written by model_writer::set_config, in order.
  /// @throws recsys::io_error naming manifest.json when it is absent or not an object of strings.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> config() const;

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
  [[nodiscard]] csr_matrix sparse(const std::string& name) const;

  /// Reads an id list; when size is given it must match. Duplicate ids are an error.
  [[nodiscard]] id_map<std::string> ids(const std::string& name, std::optional<std::int64_t> size = {}) const;

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

  loaded load(const std::string& name) const;

  std::filesystem::path dir_;
  detail::json::value manifest_;
  std::string recipe_;
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/io/model_store-inl.hpp>
#else
namespace recsys {
extern template class basic_model_writer<void>;
extern template class basic_model_reader<void>;
extern template void check_model_target<>(const std::filesystem::path&);
namespace detail {
extern template void check_entry_name<>(std::string_view, std::string_view);
}  // namespace detail
}  // namespace recsys
#endif

#endif  // RECSYS_IO_MODEL_STORE_HPP
