// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_CSV_INL_HPP
#define RECSYS_DATA_CSV_INL_HPP

/// @file
/// Definitions of data/csv.hpp: the interactions, delimited and basket readers and writers
/// (header-only mode includes this file; the compiled library instantiates it in src/csv.cpp).

#include <recsys/data/csv.hpp>
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
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

/// Raises or records bad rows according to the policy.
template <class = void>
class problem_log {
 public:
  problem_log(std::string source, bad_row_policy policy, std::size_t max_problems, load_report& report)
      : source_(std::move(source)), policy_(policy), max_(max_problems), report_(report) {}

  void bad_row(std::int64_t line, std::int64_t column, std::string reason) {
    if (policy_ == bad_row_policy::raise) throw io_error(source_, line, column, std::move(reason));
    ++report_.rows_bad;
    if (report_.problems.size() < max_) report_.problems.push_back({line, column, std::move(reason)});
  }

 private:
  std::string source_;
  bad_row_policy policy_;
  std::size_t max_;
  load_report& report_;
};

/// Field positions (0-based, -1 = absent) of the Personalize columns in a file.
struct interaction_columns {
  int user = -1;
  int item = -1;
  int timestamp = -1;
  int event_type = -1;
  int event_value = -1;
  int session = -1;
  [[nodiscard]] int max_index() const noexcept {
    return std::max({user, item, timestamp, event_type, event_value, session});
  }
};

template <class = void>
std::string value_problem(number_error e, std::string_view text) {
  if (e == number_error::out_of_range) return "EVENT_VALUE " + excerpt(text) + " is outside the float range";
  return "EVENT_VALUE " + excerpt(text) + " is not a finite number";
}

/// Index of `key` in a small id_map, trying the previous hit and (for tiny maps) a linear scan
/// before hashing: consecutive rows often share a user, a session or an event type.
template <class = void>
index_t insert_cached(id_map<std::string>& ids, std::string_view key, index_t& last) {
  const auto& keys = ids.ids();
  if (last >= 0 && keys[static_cast<std::size_t>(last)] == key) return last;
  if (keys.size() <= 8) {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return last = static_cast<index_t>(i);
  }
  return last = ids.insert(key);
}

/// Reserves the log's columns for the rows the rest of the input probably holds (from the bytes
/// per row so far, plus 5%), so long inputs do not pay for repeated regrowth.
template <class = void>
void reserve_estimate(const csv_source& src, interaction_log& log) {
  const std::size_t pos = src.position();
  if (src.size_hint() <= pos || pos == 0) return;
  const double per_row = static_cast<double>(pos) / static_cast<double>(log.size());
  const double rows = static_cast<double>(log.size()) + 1.05 * static_cast<double>(src.size_hint() - pos) / per_row;
  if (rows < 1e10) log.reserve(static_cast<std::size_t>(rows) + 16);
}

/// Valid rows whose ids are not resolved yet: ids are looked up a batch at a time so that the
/// cache misses of a large id map overlap (see key_index). Keys are copied into `text`.
struct row_batch {
  static constexpr std::size_t capacity = 64;
  struct row {
    timestamp_t timestamp;
    float value;
    std::size_t off[4];  // user, item, event type, session: offsets into text
    std::size_t len[4];  // 0 = absent (event type, session)
    std::uint64_t user_hash;
    std::uint64_t item_hash;
  };
  std::string text;
  std::vector<row> rows;

  [[nodiscard]] std::string_view key(const row& r, int k) const noexcept { return {text.data() + r.off[k], r.len[k]}; }
  void add_key(row& r, int k, std::string_view v) {
    r.off[k] = text.size();
    r.len[k] = v.size();
    text.append(v);
  }
};

/// Reads the data rows of `src` into `log`. `num_fields` = exact field count of a row, or 0 to
/// take it from the first row that has all the needed columns. Updates the report. Rows are
/// validated completely before any of their ids is inserted; ids get dense indices in
/// first-seen order.
template <class = void>
void read_interaction_rows(csv_source& src, const interaction_columns& cols, std::size_t num_fields,
                           bool floor_fraction, problem_log<>& problems, interaction_log& log) {
  load_report& report = log.report;
  const auto needed = static_cast<std::size_t>(cols.max_index() + 1);
  csv_record rec;
  key_index users(log.user_ids);
  key_index items(log.item_ids);
  key_index sessions(log.session_ids);
  index_t last_type = invalid_index;
  index_t last_session = invalid_index;
  row_batch batch;
  batch.rows.reserve(row_batch::capacity);
  const auto at = [](const csv_record& r, int c) { return r.fields[static_cast<std::size_t>(c)]; };

  const auto flush = [&] {
    for (auto& r : batch.rows) {
      r.user_hash = hash_bytes(batch.key(r, 0));
      r.item_hash = hash_bytes(batch.key(r, 1));
      users.prefetch_slot(r.user_hash);
      items.prefetch_slot(r.item_hash);
    }
    for (const auto& r : batch.rows) {
      users.prefetch_key(r.user_hash);
      items.prefetch_key(r.item_hash);
    }
    for (const auto& r : batch.rows) {
      log.users.push_back(users.insert(batch.key(r, 0), r.user_hash));
      log.items.push_back(items.insert(batch.key(r, 1), r.item_hash));
      log.timestamps.push_back(r.timestamp);
      log.event_types.push_back(r.len[2] != 0 ? insert_cached(log.event_type_names, batch.key(r, 2), last_type)
                                              : invalid_index);
      log.event_values.push_back(r.value);
      index_t session = invalid_index;
      if (r.len[3] != 0) {
        const std::string_view k = batch.key(r, 3);
        if (last_session >= 0 && log.session_ids.ids()[static_cast<std::size_t>(last_session)] == k)
          session = last_session;
        else
          session = last_session = sessions.insert(k, hash_bytes(k));
      }
      log.sessions.push_back(session);
      log.weights.push_back(1.0f);
      if (++report.rows_kept == 4096) reserve_estimate(src, log);
    }
    batch.rows.clear();
    batch.text.clear();
  };

  while (src.next(rec)) {
    ++report.rows_read;
    if (rec.has_error()) {
      problems.bad_row(rec.line, rec.error_column, rec.error);
      continue;
    }
    const std::size_t n = rec.fields.size();
    if (rec.empty_line) {
      problems.bad_row(rec.line, 1, str("empty line (a row needs ", num_fields != 0 ? num_fields : needed, " fields)"));
      continue;
    }
    if (num_fields == 0 && n >= needed) num_fields = n;
    if (num_fields == 0) {
      problems.bad_row(rec.line, static_cast<std::int64_t>(n + 1),
                       str("missing field: the row has ", n, " field(s), at least ", needed, " needed"));
      continue;
    }
    if (n != num_fields) {
      if (n < num_fields)
        problems.bad_row(rec.line, static_cast<std::int64_t>(n + 1),
                         str("missing field: the row has ", n, " field(s), expected ", num_fields));
      else
        problems.bad_row(rec.line, static_cast<std::int64_t>(num_fields + 1),
                         str("too many fields: the row has ", n, ", expected ", num_fields));
      continue;
    }
    const std::string_view user = at(rec, cols.user);
    if (user.empty()) {
      problems.bad_row(rec.line, cols.user + 1, "empty USER_ID");
      continue;
    }
    const std::string_view item = at(rec, cols.item);
    if (item.empty()) {
      problems.bad_row(rec.line, cols.item + 1, "empty ITEM_ID");
      continue;
    }
    row_batch::row r{};
    if (const auto e = parse_seconds(at(rec, cols.timestamp), floor_fraction, r.timestamp); e != number_error::none) {
      problems.bad_row(rec.line, cols.timestamp + 1, timestamp_problem(e, at(rec, cols.timestamp)));
      continue;
    }
    r.value = std::numeric_limits<float>::quiet_NaN();
    if (cols.event_value >= 0 && !at(rec, cols.event_value).empty()) {
      if (const auto e = parse_float(at(rec, cols.event_value), r.value); e != number_error::none) {
        problems.bad_row(rec.line, cols.event_value + 1, value_problem(e, at(rec, cols.event_value)));
        continue;
      }
    }
    batch.add_key(r, 0, user);
    batch.add_key(r, 1, item);
    batch.add_key(r, 2, cols.event_type >= 0 ? at(rec, cols.event_type) : std::string_view{});
    batch.add_key(r, 3, cols.session >= 0 ? at(rec, cols.session) : std::string_view{});
    batch.rows.push_back(r);
    if (batch.rows.size() == row_batch::capacity) flush();
  }
  flush();
}

/// Maps a Personalize header to column positions; sets the log's optional-column flags.
template <class = void>
interaction_columns personalize_header(const csv_record& header, const std::string& source, interaction_log& log) {
  if (header.has_error()) throw io_error(source, header.line, header.error_column, "header: " + header.error);
  check_unique_names(header, source);
  static constexpr std::string_view names[6] = {"USER_ID",    "ITEM_ID",     "TIMESTAMP",
                                                "EVENT_TYPE", "EVENT_VALUE", "SESSION_ID"};
  int pos[6] = {-1, -1, -1, -1, -1, -1};
  for (std::size_t c = 0; c < header.fields.size(); ++c)
    for (int k = 0; k < 6; ++k)
      if (iequals(header.fields[c], names[k])) pos[k] = static_cast<int>(c);
  static constexpr std::string_view required[3] = {"USER_ID", "ITEM_ID", "TIMESTAMP"};
  for (int k = 0; k < 3; ++k)
    if (pos[k] < 0)
      throw io_error(source, header.line, 0,
                     str("missing required column ", required[k], " (the header has ", header.fields.size(),
                         " column(s): ", join_fields(header.fields), ")", missing_column_hint(header, required[k])));
  interaction_columns cols;
  cols.user = pos[0];
  cols.item = pos[1];
  cols.timestamp = pos[2];
  cols.event_type = pos[3];
  cols.event_value = pos[4];
  cols.session = pos[5];
  log.has_event_type = cols.event_type >= 0;
  log.has_event_value = cols.event_value >= 0;
  log.has_session = cols.session >= 0;
  return cols;
}

template <class = void>
void check_csv_options(const csv_options& o, std::string_view where) {
  check_delimiter(o.delimiter, true, where);
}

template <class = void>
interaction_log read_personalize(csv_source& src, const csv_options& options) {
  interaction_log log;
  log.report.source = src.name();
  problem_log<> problems(src.name(), options.bad_rows, options.max_problems, log.report);
  csv_record header;
  if (!src.next(header))
    throw io_error(src.name(), "empty file: expected a header line naming USER_ID, ITEM_ID and TIMESTAMP");
  const interaction_columns cols = personalize_header(header, src.name(), log);
  read_interaction_rows(src, cols, header.fields.size(), options.fractional_timestamps == fractional_timestamp::floor,
                        problems, log);
  return log;
}

template <class = void>
void check_raw_format(const raw_format& f, std::string_view where) {
  check_delimiter(f.delimiter, f.quoting, where);
  RECSYS_REQUIRE(f.user_column >= 0 && f.item_column >= 0 && f.timestamp_column >= 0, where,
                 "user, item and timestamp columns must be >= 0 (got ", f.user_column, ", ", f.item_column, ", ",
                 f.timestamp_column, ")");
  RECSYS_REQUIRE(f.event_type_column >= -1 && f.event_value_column >= -1 && f.session_column >= -1, where,
                 "optional columns must be >= 0, or -1 for absent");
  const int cols[] = {f.user_column, f.item_column, f.timestamp_column, f.event_type_column, f.event_value_column};
  for (int a = 0; a < 5; ++a)
    for (int b = a + 1; b < 5; ++b)
      RECSYS_REQUIRE(cols[a] < 0 || cols[a] != cols[b], where, "two roles share column ", cols[a],
                     " (only session_column may repeat user_column)");
  RECSYS_REQUIRE(f.session_column < 0 || f.session_column == f.user_column ||
                     (f.session_column != f.item_column && f.session_column != f.timestamp_column &&
                      f.session_column != f.event_type_column && f.session_column != f.event_value_column),
                 where, "session_column ", f.session_column, " is used by another role");
  const int max_index = std::max(
      {f.user_column, f.item_column, f.timestamp_column, f.event_type_column, f.event_value_column, f.session_column});
  RECSYS_REQUIRE(f.num_fields == 0 || f.num_fields > static_cast<std::size_t>(max_index), where, "num_fields ",
                 f.num_fields, " does not cover column ", max_index);
  RECSYS_REQUIRE(f.expected_header.empty() || f.header_lines >= 1, where, "expected_header needs header_lines >= 1");
}

template <class = void>
interaction_log read_raw(csv_source& src, const raw_format& f) {
  interaction_log log;
  log.report.source = src.name();
  log.has_event_type = f.event_type_column >= 0;
  log.has_event_value = f.event_value_column >= 0;
  log.has_session = f.session_column >= 0;
  problem_log<> problems(src.name(), f.bad_rows, f.max_problems, log.report);
  csv_record rec;
  for (std::size_t h = 0; h < f.header_lines; ++h) {
    if (!src.next(rec)) {
      if (h == 0) throw io_error(src.name(), "empty file: expected a header line");
      throw io_error(src.name(), str("the file ends inside its header (", f.header_lines, " header lines expected)"));
    }
    if (h != 0 || f.expected_header.empty()) continue;
    if (rec.has_error()) throw io_error(src.name(), rec.line, rec.error_column, "header: " + rec.error);
    bool match = rec.fields.size() == f.expected_header.size();
    for (std::size_t c = 0; match && c < rec.fields.size(); ++c) match = iequals(rec.fields[c], f.expected_header[c]);
    if (!match) {
      std::string want;
      for (const auto& n : f.expected_header) want += (want.empty() ? "" : ", ") + excerpt(n);
      throw io_error(src.name(), rec.line, 0,
                     str("the header does not match the format: expected ", want, ", found ", join_fields(rec.fields)));
    }
  }
  interaction_columns cols;
  cols.user = f.user_column;
  cols.item = f.item_column;
  cols.timestamp = f.timestamp_column;
  cols.event_type = f.event_type_column;
  cols.event_value = f.event_value_column;
  cols.session = f.session_column;
  read_interaction_rows(src, cols, f.num_fields, f.fractional_timestamps == fractional_timestamp::floor, problems, log);
  if (f.header_lines == 0 && log.report.rows_read == 0) throw io_error(src.name(), "empty file: no rows");
  return log;
}

template <class = void>
void check_basket_options(const basket_options& o, std::string_view where) {
  check_delimiter(o.delimiter, o.quoting, where);
}

template <class = void>
basket_data read_baskets(csv_source& src, const basket_options& o) {
  basket_data out;
  load_report& report = out.report;
  report.source = src.name();
  problem_log<> problems(src.name(), o.bad_rows, o.max_problems, report);
  csv_record rec;
  std::vector<std::int64_t> seen;                               // per item: the row that last used it
  std::vector<std::pair<std::string_view, std::size_t>> fresh;  // new ids of this row, field number
  std::vector<index_t> row_items;                               // >= 0: known index; < 0: -1 - fresh index
  while (src.next(rec)) {
    const std::int64_t row = ++report.rows_read;
    if (rec.has_error()) {
      problems.bad_row(rec.line, rec.error_column, rec.error);
      continue;
    }
    if (rec.empty_line) {  // an empty basket
      out.offsets.push_back(static_cast<std::int64_t>(out.items.size()));
      ++report.rows_kept;
      continue;
    }
    fresh.clear();
    row_items.clear();
    std::int64_t merged = 0;
    bool bad = false;
    for (std::size_t c = 0; c < rec.fields.size() && !bad; ++c) {
      const std::string_view f = rec.fields[c];
      if (f.empty()) {
        problems.bad_row(rec.line, static_cast<std::int64_t>(c + 1), "empty item id");
        bad = true;
        break;
      }
      bool repeated = false;
      const index_t known = out.item_ids.find_or(f, invalid_index);
      if (known >= 0) {
        repeated = seen[static_cast<std::size_t>(known)] == row;
        if (!repeated) {
          seen[static_cast<std::size_t>(known)] = row;
          row_items.push_back(known);
        }
      } else {
        for (const auto& [id, field] : fresh) repeated = repeated || id == f;
        if (!repeated) {
          row_items.push_back(-1 - static_cast<index_t>(fresh.size()));
          fresh.emplace_back(f, c);
        }
      }
      if (!repeated) continue;
      if (o.repeated_items == repeated_item_policy::merge) {
        ++merged;
        continue;
      }
      std::size_t first = 0;
      while (rec.fields[first] != f) ++first;
      problems.bad_row(rec.line, static_cast<std::int64_t>(c + 1),
                       str("item ", excerpt(f), " repeated in the basket (fields ", first + 1, " and ", c + 1,
                           "; repeated_item_policy::merge keeps it once)"));
      bad = true;
    }
    if (bad) {
      // stamps set for this row are harmless: rows are numbered by rows_read, never reused
      continue;
    }
    for (const index_t r : row_items) {
      index_t idx = r;
      if (r < 0) {
        idx = out.item_ids.insert(fresh[static_cast<std::size_t>(-1 - r)].first);
        if (seen.size() < static_cast<std::size_t>(out.item_ids.size()))
          seen.resize(static_cast<std::size_t>(out.item_ids.size()), 0);
        seen[static_cast<std::size_t>(idx)] = row;
      }
      out.items.push_back(idx);
    }
    out.offsets.push_back(static_cast<std::int64_t>(out.items.size()));
    out.items_merged += merged;
    ++report.rows_kept;
  }
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Personalize interactions CSV

template <class>
interaction_log parse_interactions_csv(std::string_view text, std::string_view source_name,
                                       const csv_options& options) {
  detail::check_csv_options(options, "parse_interactions_csv");
  detail::csv_source src(text, std::string(source_name), options.delimiter, true);
  return detail::read_personalize(src, options);
}

template <class>
interaction_log read_interactions_csv(const std::filesystem::path& path, const csv_options& options) {
  detail::check_csv_options(options, "read_interactions_csv");
  detail::csv_source src(path, options.delimiter, true);
  return detail::read_personalize(src, options);
}

template <class>
void write_interactions_csv(const interaction_log& log, std::ostream& os, char delimiter) {
  constexpr std::string_view where = "write_interactions_csv";
  detail::check_delimiter(delimiter, true, where);
  log.validate();
  const auto check_ids = [&](const id_map<std::string>& ids, std::string_view what) {
    for (index_t i = 0; i < ids.size(); ++i)
      RECSYS_REQUIRE(!ids.ids()[static_cast<std::size_t>(i)].empty(), where, "empty ", what, " at index ", i);
  };
  check_ids(log.user_ids, "USER_ID");
  check_ids(log.item_ids, "ITEM_ID");
  check_ids(log.event_type_names, "EVENT_TYPE");
  check_ids(log.session_ids, "SESSION_ID");
  bool with_type = log.has_event_type;
  bool with_value = log.has_event_value;
  bool with_session = log.has_session;
  for (std::size_t r = 0; r < log.size(); ++r) {
    with_type = with_type || log.event_types[r] != invalid_index;
    with_session = with_session || log.sessions[r] != invalid_index;
    const float v = log.event_values[r];
    if (!std::isnan(v)) {
      with_value = true;
      RECSYS_REQUIRE(std::isfinite(v), where, "row ", r, ": EVENT_VALUE ", v, " is not finite");
    }
  }
  detail::buffered_writer w(os);
  std::string& out = w.buffer();
  const auto sep = [&] { out.push_back(delimiter); };
  out += "USER_ID";
  sep();
  out += "ITEM_ID";
  sep();
  out += "TIMESTAMP";
  if (with_type) {
    sep();
    out += "EVENT_TYPE";
  }
  if (with_value) {
    sep();
    out += "EVENT_VALUE";
  }
  if (with_session) {
    sep();
    out += "SESSION_ID";
  }
  out.push_back('\n');
  const auto& users = log.user_ids.ids();
  const auto& items = log.item_ids.ids();
  const auto& types = log.event_type_names.ids();
  const auto& sessions = log.session_ids.ids();
  for (std::size_t r = 0; r < log.size(); ++r) {
    detail::append_field(out, users[static_cast<std::size_t>(log.users[r])], delimiter);
    sep();
    detail::append_field(out, items[static_cast<std::size_t>(log.items[r])], delimiter);
    sep();
    detail::append_number(out, log.timestamps[r]);
    if (with_type) {
      sep();
      if (log.event_types[r] != invalid_index)
        detail::append_field(out, types[static_cast<std::size_t>(log.event_types[r])], delimiter);
    }
    if (with_value) {
      sep();
      if (!std::isnan(log.event_values[r])) detail::append_number(out, log.event_values[r]);
    }
    if (with_session) {
      sep();
      if (log.sessions[r] != invalid_index)
        detail::append_field(out, sessions[static_cast<std::size_t>(log.sessions[r])], delimiter);
    }
    out.push_back('\n');
    w.maybe_flush();
  }
  w.flush();
  if (!os) throw io_error("<stream>", "writing the interactions CSV failed");
}

template <class>
void write_interactions_csv(const interaction_log& log, const std::filesystem::path& path, char delimiter) {
  detail::check_delimiter(delimiter, true, "write_interactions_csv");
  detail::write_file(path, [&](std::ostream& os) { write_interactions_csv(log, os, delimiter); });
}

// ---------------------------------------------------------------------------------------------
// Raw delimited benchmark files

template <class>
interaction_log parse_delimited(std::string_view text, std::string_view source_name, const raw_format& format) {
  detail::check_raw_format(format, "parse_delimited");
  detail::csv_source src(text, std::string(source_name), format.delimiter, format.quoting);
  return detail::read_raw(src, format);
}

template <class>
interaction_log read_delimited(const std::filesystem::path& path, const raw_format& format) {
  detail::check_raw_format(format, "read_delimited");
  detail::csv_source src(path, format.delimiter, format.quoting);
  return detail::read_raw(src, format);
}

// ---------------------------------------------------------------------------------------------
// Baskets

template <class>
basket_data parse_baskets(std::string_view text, std::string_view source_name, const basket_options& options) {
  detail::check_basket_options(options, "parse_baskets");
  detail::csv_source src(text, std::string(source_name), options.delimiter, options.quoting);
  return detail::read_baskets(src, options);
}

template <class>
basket_data read_baskets(const std::filesystem::path& path, const basket_options& options) {
  detail::check_basket_options(options, "read_baskets");
  detail::csv_source src(path, options.delimiter, options.quoting);
  return detail::read_baskets(src, options);
}

template <class>
basket_data read_baskets(const std::filesystem::path& path, char delimiter) {
  basket_options o;
  o.delimiter = delimiter;
  return read_baskets(path, o);
}

template <class>
void write_baskets(const basket_data& baskets, std::ostream& os, char delimiter) {
  constexpr std::string_view where = "write_baskets";
  detail::check_delimiter(delimiter, true, where);
  const auto& off = baskets.offsets;
  RECSYS_REQUIRE(!off.empty() && off.front() == 0 && off.back() == static_cast<std::int64_t>(baskets.items.size()),
                 where, "offsets must start at 0 and end at items.size()");
  for (std::size_t b = 1; b < off.size(); ++b)
    RECSYS_REQUIRE(off[b] >= off[b - 1], where, "offsets decrease at basket ", b - 1);
  const auto& ids = baskets.item_ids.ids();
  for (std::size_t i = 0; i < ids.size(); ++i) RECSYS_REQUIRE(!ids[i].empty(), where, "empty item id at index ", i);
  for (const index_t i : baskets.items)
    RECSYS_REQUIRE(i >= 0 && i < baskets.num_items(), where, "item index ", i, " out of range [0, ",
                   baskets.num_items(), ")");
  detail::buffered_writer w(os);
  std::string& out = w.buffer();
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    bool first = true;
    for (const index_t i : baskets.basket(b)) {
      if (!first) out.push_back(delimiter);
      first = false;
      detail::append_field(out, ids[static_cast<std::size_t>(i)], delimiter);
    }
    out.push_back('\n');
    w.maybe_flush();
  }
  w.flush();
  if (!os) throw io_error("<stream>", "writing baskets failed");
}

template <class>
void write_baskets(const basket_data& baskets, const std::filesystem::path& path, char delimiter) {
  detail::check_delimiter(delimiter, true, "write_baskets");
  detail::write_file(path, [&](std::ostream& os) { write_baskets(baskets, os, delimiter); });
}

}  // namespace recsys

#endif  // RECSYS_DATA_CSV_INL_HPP
