// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_METADATA_HPP
#define RECSYS_DATA_METADATA_HPP

/// @file
/// Items and Users metadata in Amazon Personalize's CSV form: an id column (ITEM_ID or USER_ID)
/// plus fields, stored column by column for fast per-item evaluation by filters
/// (`Items.CATEGORY IN (...)`, `Items.PRICE > 100`).
///
/// **Format.** A header names the columns in any order and letter case; the id column is
/// required, every other column becomes a field (an empty or repeated name is an error). The
/// CSV syntax is the interactions reader's (RFC 4180 quoting, LF/CRLF, UTF-8 BOM, rows with
/// exactly the header's field count). Each field gets one type:
/// - **timestamp**: the Items column CREATION_TIMESTAMP (whole Unix seconds, same rules as the
///   interactions TIMESTAMP), stored as int64; missing = recsys::missing_timestamp;
/// - **numeric**: every non-empty value is a finite number (std::from_chars syntax: "12",
///   "-3.5", "1e6"; not " 12", "+12", "nan"), stored as double; missing = NaN;
/// - **categorical** otherwise: strings, a value may hold several `|`-separated values as
///   Personalize allows ("Action|Comedy"), stored as small integer codes per row with a
///   dictionary per field; missing = no codes. An empty part ("a||b", "a|") is a bad row.
/// A field with no non-empty value at all is categorical. Types can be forced with
/// metadata_options::categorical_fields (e.g. zip codes that look numeric) and numeric_fields
/// (a non-number is then a bad row).
///
/// **Bad rows** (missing/extra fields, empty id, a repeated id — the first occurrence wins —,
/// bad timestamps, bad forced numbers, empty multi-value parts) follow the bad_row_policy as in
/// data/csv.hpp; problems are reported in line order and, under raise, the earliest one is
/// thrown. The table's report counts rows read/kept/bad.
///
/// **Lookups.** `row_of(id)` finds a row by external id; `align(log.item_ids)` gives, for every
/// dense item index, its metadata row or -1, which is what per-item evaluation wants.
///
/// @code
///   auto items = recsys::read_items_csv("items.csv");
///   const auto rows = items.align(log.item_ids);          // dense item -> metadata row / -1
///   const recsys::metadata_field& genre = items.field("GENRE");
///   const auto comedy = genre.code_of("Comedy");          // empty when no item has it
///   const recsys::metadata_field& price = items.field("PRICE");
///   for (recsys::index_t i = 0; i < log.num_items(); ++i) {
///     const auto r = rows[static_cast<std::size_t>(i)];
///     bool is_comedy = r >= 0 && comedy && genre.has_code(r, *comedy);
///     bool expensive = r >= 0 && price.numbers[static_cast<std::size_t>(r)] > 100;  // NaN: false
///   }
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/csv.hpp>
#include <recsys/data/field_type.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// Options of the metadata readers.
struct metadata_options {
  char delimiter = ',';
  char multi_value_separator = '|';             ///< '\0': categorical values are never split
  std::vector<std::string> categorical_fields;  ///< fields forced categorical (names, any case)
  std::vector<std::string> numeric_fields;      ///< fields forced numeric (a non-number is a bad row)
  fractional_timestamp fractional_timestamps = fractional_timestamp::reject;  ///< CREATION_TIMESTAMP
  bad_row_policy bad_rows = bad_row_policy::raise;
  std::size_t max_problems = 100;
};

/// One metadata column. Only the vectors of its type are filled (one entry per table row).
struct metadata_field {
  std::string name;  ///< as spelled in the header
  field_type type = field_type::categorical;
  std::vector<double> numbers;           ///< numeric
  std::vector<timestamp_t> timestamps;   ///< timestamp
  id_map<std::string> dictionary;        ///< categorical: code <-> value, first-seen order
  std::vector<std::int64_t> offsets{0};  ///< categorical: row r holds codes[offsets[r], offsets[r+1])
  std::vector<index_t> codes;            ///< categorical

  /// Whether row r has no value.
  [[nodiscard]] bool is_missing(std::size_t r) const noexcept {
    switch (type) {
      case field_type::numeric:
        return std::isnan(numbers[r]);
      case field_type::timestamp:
        return timestamps[r] == missing_timestamp;
      default:
        return offsets[r + 1] == offsets[r];
    }
  }
  /// Categorical codes of row r (empty when missing), in the order written. Empty for a numeric
  /// or timestamp field (they have no codes; reading their offsets would be out of bounds).
  [[nodiscard]] std::span<const index_t> values(std::size_t r) const noexcept {
    if (type != field_type::categorical) return {};
    return {codes.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
  }
  /// Whether row r holds categorical code `code`.
  [[nodiscard]] bool has_code(std::size_t r, index_t code) const noexcept {
    for (const index_t c : values(r))
      if (c == code) return true;
    return false;
  }
  /// The code of a categorical value (exact, case-sensitive), empty when no row has it.
  [[nodiscard]] std::optional<index_t> code_of(std::string_view value) const noexcept { return dictionary.find(value); }
};

/// Items or Users metadata: rows in file order, one per id.
struct metadata_table {
  std::string id_column;               ///< "ITEM_ID" or "USER_ID"
  id_map<std::string> ids;             ///< row <-> external id
  std::vector<metadata_field> fields;  ///< header order, without the id column
  load_report report;

  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(ids.size()); }
  [[nodiscard]] bool empty() const noexcept { return ids.empty(); }

  /// The field named `name` (ignoring case), or nullptr.
  [[nodiscard]] const metadata_field* find_field(std::string_view name) const noexcept {
    for (const auto& f : fields)
      if (detail::iequals(f.name, name)) return &f;
    return nullptr;
  }
  /// The field named `name` (ignoring case).
  /// @throws recsys::invalid_argument when there is none.
  [[nodiscard]] const metadata_field& field(std::string_view name) const {
    const metadata_field* f = find_field(name);
    if (f == nullptr) {
      std::string have;
      for (const auto& g : fields) have += (have.empty() ? "" : ", ") + g.name;
      detail::throw_invalid_argument("metadata_table::field", "no field named '", name, "' (fields: ", have, ")");
    }
    return *f;
  }
  /// The row of an external id, empty when the id has no metadata.
  [[nodiscard]] std::optional<index_t> row_of(std::string_view id) const noexcept { return ids.find(id); }

  /// For each dense index of `dense_ids` (e.g. log.item_ids), its row here or -1 when absent.
  [[nodiscard]] std::vector<index_t> align(const id_map<std::string>& dense_ids) const {
    std::vector<index_t> rows(static_cast<std::size_t>(dense_ids.size()));
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = ids.find_or(dense_ids.ids()[i], invalid_index);
    return rows;
  }
};

/// Parses an Items metadata CSV held in memory (ITEM_ID + fields; CREATION_TIMESTAMP is a
/// timestamp). See the file comment for the types and rules.
/// @throws recsys::io_error for an empty input, a bad header, or a bad row (raise policy);
///         recsys::invalid_argument for unusable options.
template <class = void>
[[nodiscard]] metadata_table parse_items_csv(std::string_view text, std::string_view source_name,
                                             const metadata_options& options = {});

/// Reads an Items metadata CSV file.
/// @code
///   auto items = recsys::read_items_csv("items.csv");
///   if (auto r = items.row_of("sku-42")) { double price = items.field("PRICE").numbers[*r]; }
/// @endcode
/// @throws as parse_items_csv, and recsys::io_error when the file cannot be read.
template <class = void>
[[nodiscard]] metadata_table read_items_csv(const std::filesystem::path& path, const metadata_options& options = {});

/// Parses a Users metadata CSV held in memory (USER_ID + fields, numeric or categorical).
/// @throws as parse_items_csv.
template <class = void>
[[nodiscard]] metadata_table parse_users_csv(std::string_view text, std::string_view source_name,
                                             const metadata_options& options = {});

/// Reads a Users metadata CSV file.
/// @throws as parse_items_csv, and recsys::io_error when the file cannot be read.
template <class = void>
[[nodiscard]] metadata_table read_users_csv(const std::filesystem::path& path, const metadata_options& options = {});

/// Writes a metadata table as CSV: the id column, then the fields in order; numbers in their
/// shortest exact form, missing values as empty fields, categorical values joined by the
/// separator. Reading the output with the same options (forced types included) gives back the
/// same table, except that dictionary values no row uses are not written, and a numeric field
/// whose values are all missing reads back as a categorical field without values.
/// @throws recsys::invalid_argument when the table is inconsistent (column lengths, codes out of
///         range, an empty id or an empty categorical value, or a value that contains the
///         separator); recsys::io_error when the stream fails.
template <class = void>
void write_metadata_csv(const metadata_table& t, std::ostream& os, char delimiter = ',',
                        char multi_value_separator = '|');

/// Writes a metadata table to a file (see the stream overload).
template <class = void>
void write_metadata_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',',
                        char multi_value_separator = '|');

/// Writes Items metadata (a table whose id column is ITEM_ID) to a file.
/// @throws recsys::invalid_argument when the table is not an Items table; as write_metadata_csv.
template <class = void>
void write_items_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',');

/// Writes Users metadata (a table whose id column is USER_ID) to a file.
/// @throws recsys::invalid_argument when the table is not a Users table; as write_metadata_csv.
template <class = void>
void write_users_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',');

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/metadata-inl.hpp>
#else
namespace recsys {
extern template metadata_table parse_items_csv<>(std::string_view, std::string_view, const metadata_options&);
extern template metadata_table read_items_csv<>(const std::filesystem::path&, const metadata_options&);
extern template metadata_table parse_users_csv<>(std::string_view, std::string_view, const metadata_options&);
extern template metadata_table read_users_csv<>(const std::filesystem::path&, const metadata_options&);
extern template void write_metadata_csv<>(const metadata_table&, std::ostream&, char, char);
extern template void write_metadata_csv<>(const metadata_table&, const std::filesystem::path&, char, char);
extern template void write_items_csv<>(const metadata_table&, const std::filesystem::path&, char);
extern template void write_users_csv<>(const metadata_table&, const std::filesystem::path&, char);
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_METADATA_HPP
