// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_METADATA_INL_HPP
#define RECSYS_DATA_METADATA_INL_HPP

/// @file
/// Definitions of data/metadata.hpp: the Items / Users metadata readers and writers
/// (header-only mode includes this file; the compiled library instantiates it in
/// src/metadata.cpp).

#include <recsys/data/metadata.hpp>
#include <recsys/detail/csv_checks.hpp>
#include <recsys/detail/csv_tokenizer.hpp>
#include <recsys/detail/files.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

namespace detail {

struct metadata_problem {
  std::int64_t line;
  std::int64_t column;
  std::string reason;
};

template <class = void>
bool is_number(std::string_view s) {
  double d = 0;
  return parse_double(s, d) == number_error::none;
}

template <class = void>
metadata_table read_metadata(csv_source& src, std::string_view id_name, bool items, const metadata_options& o) {
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

template <class = void>
void check_metadata_options(const metadata_options& o, std::string_view where) {
  check_delimiter(o.delimiter, true, where);
  RECSYS_REQUIRE(o.multi_value_separator != o.delimiter && o.multi_value_separator != '"' &&
                     o.multi_value_separator != '\n' && o.multi_value_separator != '\r',
                 where, "multi_value_separator cannot be the delimiter, a quote or a line break");
}

}  // namespace detail

template <class>
metadata_table parse_items_csv(std::string_view text, std::string_view source_name, const metadata_options& options) {
  detail::check_metadata_options(options, "parse_items_csv");
  detail::csv_source src(text, std::string(source_name), options.delimiter, true);
  return detail::read_metadata(src, "ITEM_ID", true, options);
}

template <class>
metadata_table read_items_csv(const std::filesystem::path& path, const metadata_options& options) {
  detail::check_metadata_options(options, "read_items_csv");
  detail::csv_source src(path, options.delimiter, true);
  return detail::read_metadata(src, "ITEM_ID", true, options);
}

template <class>
metadata_table parse_users_csv(std::string_view text, std::string_view source_name, const metadata_options& options) {
  detail::check_metadata_options(options, "parse_users_csv");
  detail::csv_source src(text, std::string(source_name), options.delimiter, true);
  return detail::read_metadata(src, "USER_ID", false, options);
}

template <class>
metadata_table read_users_csv(const std::filesystem::path& path, const metadata_options& options) {
  detail::check_metadata_options(options, "read_users_csv");
  detail::csv_source src(path, options.delimiter, true);
  return detail::read_metadata(src, "USER_ID", false, options);
}

template <class>
void write_metadata_csv(const metadata_table& t, std::ostream& os, char delimiter, char multi_value_separator) {
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

template <class>
void write_metadata_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter,
                        char multi_value_separator) {
  detail::check_delimiter(delimiter, true, "write_metadata_csv");
  detail::write_file(path, [&](std::ostream& os) { write_metadata_csv(t, os, delimiter, multi_value_separator); });
}

template <class>
void write_items_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter) {
  RECSYS_REQUIRE(detail::iequals(t.id_column, "ITEM_ID"), "write_items_csv", "the table's id column is '", t.id_column,
                 "', not ITEM_ID");
  write_metadata_csv(t, path, delimiter);
}

template <class>
void write_users_csv(const metadata_table& t, const std::filesystem::path& path, char delimiter) {
  RECSYS_REQUIRE(detail::iequals(t.id_column, "USER_ID"), "write_users_csv", "the table's id column is '", t.id_column,
                 "', not USER_ID");
  write_metadata_csv(t, path, delimiter);
}

}  // namespace recsys

#endif  // RECSYS_DATA_METADATA_INL_HPP
