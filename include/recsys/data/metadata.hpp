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

#include <recsys/data/csv.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/detail/csv_tokenizer.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// The type of a metadata field.
enum class field_type {
  numeric,      ///< double per row, NaN = missing
  categorical,  ///< codes into a per-field dictionary (several per row allowed), none = missing
  timestamp,    ///< Unix seconds per row (Items CREATION_TIMESTAMP), missing_timestamp = missing
};

/// The value of a missing timestamp in a metadata field.
inline constexpr timestamp_t missing_timestamp = std::numeric_limits<timestamp_t>::min();

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

namespace detail {

struct metadata_problem {
  std::int64_t line;
  std::int64_t column;
  std::string reason;
};

inline bool is_number(std::string_view s) {
  double d = 0;
  return parse_double(s, d) == number_error::none;
}

inline metadata_table read_metadata(csv_source& src, std::string_view id_name, bool items, const metadata_options& o) {
  metadata_table t;
  t.id_column = std::string(id_name);
  t.report.source = src.name();
  const std::string& name = src.name();
  csv_record rec;
  if (!src.next(rec)) throw io_error(name, str("empty file: expected a header line naming ", id_name));

  // --- header ---
  if (rec.has_error()) throw io_error(name, rec.line, rec.error_column, "header: " + rec.error);
  check_unique_names(rec, name);
  int id_col = -1;
  for (std::size_t c = 0; c < rec.fields.size(); ++c) {
    if (rec.fields[c].empty())
      throw io_error(name, rec.line, static_cast<std::int64_t>(c + 1), "empty column name (every column is a field)");
    if (iequals(rec.fields[c], id_name)) id_col = static_cast<int>(c);
  }
  if (id_col < 0)
    throw io_error(name, rec.line, 0,
                   str("missing required column ", id_name, " (the header has ", rec.fields.size(),
                       " column(s): ", join_fields(rec.fields), ")", missing_column_hint(rec, id_name)));
  const std::size_t ncols = rec.fields.size();
  std::vector<std::size_t> field_col;  // field f <-> file column
  for (std::size_t c = 0; c < ncols; ++c) {
    if (static_cast<int>(c) == id_col) continue;
    metadata_field f;
    f.name = std::string(rec.fields[c]);
    f.type = items && iequals(f.name, "CREATION_TIMESTAMP") ? field_type::timestamp : field_type::categorical;
    t.fields.push_back(std::move(f));
    field_col.push_back(c);
  }
  const auto find = [&](const std::string& n) -> metadata_field* {
    for (auto& f : t.fields)
      if (iequals(f.name, n)) return &f;
    return nullptr;
  };
  std::vector<bool> forced(t.fields.size(), false);
  for (const auto& n : o.numeric_fields) {
    metadata_field* f = find(n);
    if (f == nullptr)
      throw io_error(name, rec.line, 0, str("metadata_options::numeric_fields names '", n, "', which is not a field"));
    if (f->type == field_type::timestamp)
      throw io_error(name, rec.line, 0, str("'", n, "' is the CREATION_TIMESTAMP field and cannot be forced numeric"));
    for (const auto& m : o.categorical_fields)
      RECSYS_REQUIRE(!iequals(m, n), "read_metadata", "field '", n, "' is forced both numeric and categorical");
    f->type = field_type::numeric;
    forced[static_cast<std::size_t>(f - t.fields.data())] = true;
  }
  for (const auto& n : o.categorical_fields) {
    metadata_field* f = find(n);
    if (f == nullptr)
      throw io_error(name, rec.line, 0,
                     str("metadata_options::categorical_fields names '", n, "', which is not a field"));
    if (f->type == field_type::timestamp)
      throw io_error(name, rec.line, 0,
                     str("'", n, "' is the CREATION_TIMESTAMP field and cannot be forced categorical"));
    forced[static_cast<std::size_t>(f - t.fields.data())] = true;
  }

  // --- pass 1: structure (field count, id) ---
  std::vector<std::string> cells;  // row-major, ncols per row
  std::vector<std::int64_t> lines;
  std::vector<bool> bad;
  std::vector<metadata_problem> problems;
  id_map<std::string> first_ids;
  std::vector<std::int64_t> first_line;
  const auto flag = [&](std::size_t row, std::int64_t column, std::string reason) {
    if (bad[row]) return;
    bad[row] = true;
    problems.push_back({lines[row], column, std::move(reason)});
  };
  while (src.next(rec)) {
    const std::size_t row = lines.size();
    lines.push_back(rec.line);
    bad.push_back(false);
    for (std::size_t c = 0; c < ncols; ++c)
      cells.emplace_back(c < rec.fields.size() && !rec.has_error() ? rec.fields[c] : std::string_view{});
    if (rec.has_error()) {
      flag(row, rec.error_column, rec.error);
    } else if (rec.empty_line) {
      flag(row, 1, str("empty line (a row needs ", ncols, " fields)"));
    } else if (rec.fields.size() < ncols) {
      flag(row, static_cast<std::int64_t>(rec.fields.size() + 1),
           str("missing field: the row has ", rec.fields.size(), " field(s), expected ", ncols));
    } else if (rec.fields.size() > ncols) {
      flag(row, static_cast<std::int64_t>(ncols + 1),
           str("too many fields: the row has ", rec.fields.size(), ", expected ", ncols));
    } else if (rec.fields[static_cast<std::size_t>(id_col)].empty()) {
      flag(row, id_col + 1, str("empty ", id_name));
    } else {
      const std::string_view id = rec.fields[static_cast<std::size_t>(id_col)];
      const index_t k = first_ids.insert(id);
      if (static_cast<std::size_t>(k) < first_line.size())
        flag(row, id_col + 1,
             str("duplicate ", id_name, " ", excerpt(id), " (first on line ", first_line[static_cast<std::size_t>(k)],
                 ")"));
      else
        first_line.push_back(rec.line);
    }
  }
  const std::size_t nrows = lines.size();
  const auto cell = [&](std::size_t row, std::size_t f) -> const std::string& {
    return cells[row * ncols + field_col[f]];
  };
  const auto column_of = [&](std::size_t f) { return static_cast<std::int64_t>(field_col[f] + 1); };

  // --- pass 2: values of timestamp and forced-numeric fields ---
  const bool floor_fraction = o.fractional_timestamps == fractional_timestamp::floor;
  for (std::size_t f = 0; f < t.fields.size(); ++f) {
    const field_type type = t.fields[f].type;
    if (type == field_type::categorical) continue;
    for (std::size_t r = 0; r < nrows; ++r) {
      if (bad[r] || cell(r, f).empty()) continue;
      if (type == field_type::timestamp) {
        timestamp_t ts = 0;
        if (const auto e = parse_seconds(cell(r, f), floor_fraction, ts); e != number_error::none) {
          flag(r, column_of(f), timestamp_problem(e, cell(r, f), t.fields[f].name));
        }
      } else if (!is_number(cell(r, f))) {
        flag(r, column_of(f),
             str(t.fields[f].name, " ", excerpt(cell(r, f)), " is not a finite number (the field is forced numeric)"));
      }
    }
  }
  // --- pass 3: infer the type of the other fields over the rows still good ---
  for (std::size_t f = 0; f < t.fields.size(); ++f) {
    if (forced[f] || t.fields[f].type == field_type::timestamp) continue;
    bool any = false;
    bool numeric = true;
    for (std::size_t r = 0; r < nrows && numeric; ++r) {
      if (bad[r] || cell(r, f).empty()) continue;
      any = true;
      numeric = is_number(cell(r, f));
    }
    t.fields[f].type = any && numeric ? field_type::numeric : field_type::categorical;
  }
  // --- pass 4: multi-value syntax of categorical fields ---
  const char sep = o.multi_value_separator;
  if (sep != '\0') {
    for (std::size_t f = 0; f < t.fields.size(); ++f) {
      if (t.fields[f].type != field_type::categorical) continue;
      for (std::size_t r = 0; r < nrows; ++r) {
        const std::string& v = cell(r, f);
        if (bad[r] || v.empty()) continue;
        bool empty_part = v.front() == sep || v.back() == sep;
        for (std::size_t k = 1; k < v.size() && !empty_part; ++k) empty_part = v[k] == sep && v[k - 1] == sep;
        if (empty_part)
          flag(r, column_of(f),
               str(t.fields[f].name, " ", excerpt(v), " has an empty value between '", sep, "' separators"));
      }
    }
  }

  // --- report ---
  t.report.rows_read = static_cast<std::int64_t>(nrows);
  t.report.rows_bad = static_cast<std::int64_t>(problems.size());
  t.report.rows_kept = t.report.rows_read - t.report.rows_bad;
  std::stable_sort(problems.begin(), problems.end(),
                   [](const metadata_problem& a, const metadata_problem& b) { return a.line < b.line; });
  if (!problems.empty() && o.bad_rows == bad_row_policy::raise)
    throw io_error(name, problems.front().line, problems.front().column, problems.front().reason);
  for (std::size_t k = 0; k < problems.size() && k < o.max_problems; ++k)
    t.report.problems.push_back({problems[k].line, problems[k].column, problems[k].reason});

  // --- build the columns from the good rows ---
  const auto kept = static_cast<std::size_t>(t.report.rows_kept);
  t.ids.reserve(kept);
  for (auto& f : t.fields) {
    if (f.type == field_type::numeric) f.numbers.reserve(kept);
    if (f.type == field_type::timestamp) f.timestamps.reserve(kept);
    if (f.type == field_type::categorical) f.offsets.reserve(kept + 1);
  }
  for (std::size_t r = 0; r < nrows; ++r) {
    if (bad[r]) continue;
    t.ids.insert(cells[r * ncols + static_cast<std::size_t>(id_col)]);
    for (std::size_t fi = 0; fi < t.fields.size(); ++fi) {
      metadata_field& f = t.fields[fi];
      const std::string& v = cell(r, fi);
      if (f.type == field_type::numeric) {
        double d = std::numeric_limits<double>::quiet_NaN();
        if (!v.empty()) parse_double(v, d);
        f.numbers.push_back(d);
      } else if (f.type == field_type::timestamp) {
        timestamp_t ts = missing_timestamp;
        if (!v.empty()) parse_seconds(v, floor_fraction, ts);
        f.timestamps.push_back(ts);
      } else {
        std::string_view rest = v;
        while (!rest.empty()) {
          const std::size_t cut = sep != '\0' ? rest.find(sep) : std::string_view::npos;
          f.codes.push_back(f.dictionary.insert(rest.substr(0, cut)));
          rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
        }
        f.offsets.push_back(static_cast<std::int64_t>(f.codes.size()));
      }
    }
  }
  return t;
}

inline void check_metadata_options(const metadata_options& o, std::string_view where) {
  check_delimiter(o.delimiter, true, where);
  RECSYS_REQUIRE(o.multi_value_separator != o.delimiter && o.multi_value_separator != '"' &&
                     o.multi_value_separator != '\n' && o.multi_value_separator != '\r',
                 where, "multi_value_separator cannot be the delimiter, a quote or a line break");
}

}  // namespace detail

/// Parses an Items metadata CSV held in memory (ITEM_ID + fields; CREATION_TIMESTAMP is a
/// timestamp). See the file comment for the types and rules.
/// @throws recsys::io_error for an empty input, a bad header, or a bad row (raise policy);
///         recsys::invalid_argument for unusable options.
[[nodiscard]] inline metadata_table parse_items_csv(std::string_view text, std::string_view source_name,
                                                    const metadata_options& options = {}) {
  detail::check_metadata_options(options, "parse_items_csv");
  detail::csv_source src(text, std::string(source_name), options.delimiter, true);
  return detail::read_metadata(src, "ITEM_ID", true, options);
}

/// Reads an Items metadata CSV file.
/// @code
///   auto items = recsys::read_items_csv("items.csv");
///   if (auto r = items.row_of("sku-42")) { double price = items.field("PRICE").numbers[*r]; }
/// @endcode
/// @throws as parse_items_csv, and recsys::io_error when the file cannot be read.
[[nodiscard]] inline metadata_table read_items_csv(const std::filesystem::path& path,
                                                   const metadata_options& options = {}) {
  detail::check_metadata_options(options, "read_items_csv");
  detail::csv_source src(path, options.delimiter, true);
  return detail::read_metadata(src, "ITEM_ID", true, options);
}

/// Parses a Users metadata CSV held in memory (USER_ID + fields, numeric or categorical).
/// @throws as parse_items_csv.
[[nodiscard]] inline metadata_table parse_users_csv(std::string_view text, std::string_view source_name,
                                                    const metadata_options& options = {}) {
  detail::check_metadata_options(options, "parse_users_csv");
  detail::csv_source src(text, std::string(source_name), options.delimiter, true);
  return detail::read_metadata(src, "USER_ID", false, options);
}

/// Reads a Users metadata CSV file.
/// @throws as parse_items_csv, and recsys::io_error when the file cannot be read.
[[nodiscard]] inline metadata_table read_users_csv(const std::filesystem::path& path,
                                                   const metadata_options& options = {}) {
  detail::check_metadata_options(options, "read_users_csv");
  detail::csv_source src(path, options.delimiter, true);
  return detail::read_metadata(src, "USER_ID", false, options);
}

/// Writes a metadata table as CSV: the id column, then the fields in order; numbers in their
/// shortest exact form, missing values as empty fields, categorical values joined by the
/// separator. Reading the output with the same options (forced types included) gives back the
/// same table, except that dictionary values no row uses are not written, and a numeric field
/// whose values are all missing reads back as a categorical field without values.
/// @throws recsys::invalid_argument when the table is inconsistent (column lengths, codes out of
///         range, an empty id or an empty categorical value, or a value that contains the
///         separator); recsys::io_error when the stream fails.
inline void write_metadata_csv(const metadata_table& t, std::ostream& os, char delimiter = ',',
                               char multi_value_separator = '|') {
  constexpr std::string_view where = "write_metadata_csv";
  detail::check_delimiter(delimiter, true, where);
  RECSYS_REQUIRE(!t.id_column.empty(), where, "the table has no id column name");
  const std::size_t n = t.size();
  for (std::size_t r = 0; r < n; ++r) RECSYS_REQUIRE(!t.ids.ids()[r].empty(), where, "empty id at row ", r);
  for (const auto& f : t.fields) {
    RECSYS_REQUIRE(!f.name.empty(), where, "a field has an empty name");
    if (f.type == field_type::numeric) {
      RECSYS_REQUIRE(f.numbers.size() == n, where, "field ", f.name, " has ", f.numbers.size(), " values for ", n,
                     " rows");
      for (const double d : f.numbers)
        RECSYS_REQUIRE(std::isnan(d) || std::isfinite(d), where, "field ", f.name, " holds an infinite value");
    } else if (f.type == field_type::timestamp) {
      RECSYS_REQUIRE(f.timestamps.size() == n, where, "field ", f.name, " has ", f.timestamps.size(), " values for ", n,
                     " rows");
    } else {
      RECSYS_REQUIRE(f.offsets.size() == n + 1 && f.offsets.front() == 0 &&
                         f.offsets.back() == static_cast<std::int64_t>(f.codes.size()),
                     where, "field ", f.name, ": offsets do not match the rows and codes");
      for (std::size_t r = 0; r < n; ++r)
        RECSYS_REQUIRE(f.offsets[r + 1] >= f.offsets[r], where, "field ", f.name, ": offsets decrease at row ", r);
      for (const index_t c : f.codes)
        RECSYS_REQUIRE(c >= 0 && c < f.dictionary.size(), where, "field ", f.name, ": code ", c, " out of range");
      for (const auto& v : f.dictionary.ids()) {
        RECSYS_REQUIRE(!v.empty(), where, "field ", f.name, " has an empty categorical value");
        RECSYS_REQUIRE(multi_value_separator == '\0' || v.find(multi_value_separator) == std::string::npos, where,
                       "field ", f.name, ": value '", v, "' contains the multi-value separator");
      }
    }
  }
  detail::buffered_writer w(os);
  std::string& out = w.buffer();
  detail::append_field(out, t.id_column, delimiter);
  for (const auto& f : t.fields) {
    out.push_back(delimiter);
    detail::append_field(out, f.name, delimiter);
  }
  out.push_back('\n');
  std::string joined;
  for (std::size_t r = 0; r < n; ++r) {
    detail::append_field(out, t.ids.ids()[r], delimiter);
    for (const auto& f : t.fields) {
      out.push_back(delimiter);
      if (f.type == field_type::numeric) {
        if (!std::isnan(f.numbers[r])) detail::append_number(out, f.numbers[r]);
      } else if (f.type == field_type::timestamp) {
        if (f.timestamps[r] != missing_timestamp) detail::append_number(out, f.timestamps[r]);
      } else {
        joined.clear();
        for (const index_t c : f.values(r)) {
          if (!joined.empty()) joined.push_back(multi_value_separator);
          joined += f.dictionary.ids()[static_cast<std::size_t>(c)];
        }
        detail::append_field(out, joined, delimiter);
      }
    }
    out.push_back('\n');
    w.maybe_flush();
  }
  w.flush();
  if (!os) throw io_error("<stream>", "writing the metadata CSV failed");
}

/// Writes a metadata table to a file (see the stream overload).
inline void write_metadata_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',',
                               char multi_value_separator = '|') {
  detail::check_delimiter(delimiter, true, "write_metadata_csv");
  detail::write_file(path, [&](std::ostream& os) { write_metadata_csv(t, os, delimiter, multi_value_separator); });
}

/// Writes Items metadata (a table whose id column is ITEM_ID) to a file.
/// @throws recsys::invalid_argument when the table is not an Items table; as write_metadata_csv.
inline void write_items_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',') {
  RECSYS_REQUIRE(detail::iequals(t.id_column, "ITEM_ID"), "write_items_csv", "the table's id column is '", t.id_column,
                 "', not ITEM_ID");
  write_metadata_csv(t, path, delimiter);
}

/// Writes Users metadata (a table whose id column is USER_ID) to a file.
/// @throws recsys::invalid_argument when the table is not a Users table; as write_metadata_csv.
inline void write_users_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter = ',') {
  RECSYS_REQUIRE(detail::iequals(t.id_column, "USER_ID"), "write_users_csv", "the table's id column is '", t.id_column,
                 "', not USER_ID");
  write_metadata_csv(t, path, delimiter);
}

}  // namespace recsys

#endif  // RECSYS_DATA_METADATA_HPP
