// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_INTERACTION_LOG_HPP
#define RECSYS_DATA_INTERACTION_LOG_HPP

/// @file
/// recsys::interaction_log: events in Amazon Personalize's schema (USER_ID, ITEM_ID, TIMESTAMP,
/// EVENT_TYPE, EVENT_VALUE, SESSION_ID) with external ids mapped to dense indices, stored
/// column by column, plus the load_report that says what happened to every input row.
///
/// Every column has one entry per event; optional fields hold a documented "absent" value:
/// event_types -1, event_values NaN, sessions -1. `weights` (default 1) is what the matrix
/// builder aggregates; ingestion rules (per-event-type weights, EVENT_VALUE use) set it.
///
/// Readers (data/csv.hpp), ingestion rules, splits and the synthetic generator produce logs;
/// the matrix builder, session builder and every recipe consume them.

#include <recsys/data/id_map.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// What to do with a malformed input row.
enum class bad_row_policy {
  raise,  ///< throw recsys::io_error naming file, line, column and reason (the default)
  skip,   ///< drop the row, count it, keep the first problems in the load_report
};

/// One problem found in an input file.
struct row_problem {
  std::int64_t line = 0;    ///< 1-based line in the file (0: not tied to a line)
  std::int64_t column = 0;  ///< 1-based field (CSV column) number (0: whole row)
  std::string reason;
};

/// The account of a load and of every rule applied afterwards: nothing is dropped silently.
/// Invariant after a read: rows_read = rows_kept + rows_bad; each later step subtracts what it
/// removed (listed per rule in `removed`) or merged from rows_kept.
struct load_report {
  std::string source;                  ///< file name or description
  std::int64_t rows_read = 0;          ///< data rows seen (header excluded)
  std::int64_t rows_kept = 0;          ///< rows in the resulting log
  std::int64_t rows_bad = 0;           ///< malformed rows skipped (bad_row_policy::skip)
  std::int64_t rows_merged = 0;        ///< rows folded into another row by a dedupe policy
  std::vector<std::pair<std::string, std::int64_t>> removed;  ///< rule -> rows removed, in order applied
  std::vector<row_problem> problems;   ///< the first problems (bad rows), up to a reader's limit

  /// Records that `rule` removed `n` rows (adds to an existing entry of the same name).
  void record_removed(std::string_view rule, std::int64_t n) {
    rows_kept -= n;
    for (auto& [name, count] : removed)
      if (name == rule) {
        count += n;
        return;
      }
    removed.emplace_back(std::string(rule), n);
  }

  /// Rows removed by `rule` (0 if it removed none).
  [[nodiscard]] std::int64_t removed_by(std::string_view rule) const noexcept {
    for (const auto& [name, count] : removed)
      if (name == rule) return count;
    return 0;
  }

  /// A short human-readable account, one fact per line.
  [[nodiscard]] std::string summary() const {
    std::ostringstream os;
    os << (source.empty() ? std::string("<log>") : source) << ": " << rows_read << " rows read, "
       << rows_kept << " kept";
    if (rows_bad) os << ", " << rows_bad << " bad rows skipped";
    if (rows_merged) os << ", " << rows_merged << " merged";
    for (const auto& [name, count] : removed) os << ", " << count << " removed by " << name;
    for (const auto& p : problems) {
      os << "\n  line " << p.line;
      if (p.column) os << ", column " << p.column;
      os << ": " << p.reason;
    }
    return os.str();
  }
};

/// Events in Personalize's schema, one entry per event in every column (structure of arrays).
struct interaction_log {
  // --- columns (one entry per event) ---
  std::vector<index_t> users;          ///< dense user index (user_ids)
  std::vector<index_t> items;          ///< dense item index (item_ids)
  std::vector<timestamp_t> timestamps; ///< Unix seconds
  std::vector<index_t> event_types;    ///< index into event_type_names, -1 when absent
  std::vector<float> event_values;     ///< EVENT_VALUE, NaN when absent
  std::vector<index_t> sessions;       ///< index into session_ids, -1 when absent
  std::vector<float> weights;          ///< what the matrix builder aggregates (default 1)

  // --- external ids ---
  id_map<std::string> user_ids;
  id_map<std::string> item_ids;
  id_map<std::string> event_type_names;
  id_map<std::string> session_ids;

  /// Which optional Personalize columns the source had.
  bool has_event_type = false;
  bool has_event_value = false;
  bool has_session = false;

  load_report report;

  [[nodiscard]] std::size_t size() const noexcept { return users.size(); }
  [[nodiscard]] bool empty() const noexcept { return users.empty(); }
  [[nodiscard]] index_t num_users() const noexcept { return user_ids.size(); }
  [[nodiscard]] index_t num_items() const noexcept { return item_ids.size(); }

  void reserve(std::size_t n) {
    users.reserve(n);
    items.reserve(n);
    timestamps.reserve(n);
    event_types.reserve(n);
    event_values.reserve(n);
    sessions.reserve(n);
    weights.reserve(n);
  }

  /// Appends one event given by external ids (new ids get new indices). An empty event_type or
  /// session means "absent". Updates the report (rows_read, rows_kept).
  void add(std::string_view user, std::string_view item, timestamp_t timestamp,
           std::string_view event_type = {}, float event_value = std::numeric_limits<float>::quiet_NaN(),
           std::string_view session = {}) {
    const index_t type = event_type.empty() ? invalid_index : event_type_names.insert(event_type);
    const index_t sess = session.empty() ? invalid_index : session_ids.insert(session);
    if (type != invalid_index) has_event_type = true;
    if (!std::isnan(event_value)) has_event_value = true;
    if (sess != invalid_index) has_session = true;
    push(user_ids.insert(user), item_ids.insert(item), timestamp, type, event_value, sess, 1.0f);
    ++report.rows_read;
    ++report.rows_kept;
  }

  /// Appends one event by dense indices that already exist in the id maps.
  /// @throws recsys::invalid_argument if an index is out of range or the weight is not finite.
  void add_indexed(index_t user, index_t item, timestamp_t timestamp, index_t event_type = invalid_index,
                   float event_value = std::numeric_limits<float>::quiet_NaN(),
                   index_t session = invalid_index, float weight = 1.0f) {
    RECSYS_REQUIRE(user >= 0 && user < num_users(), "interaction_log::add_indexed", "user index ", user,
                   " out of range [0, ", num_users(), ")");
    RECSYS_REQUIRE(item >= 0 && item < num_items(), "interaction_log::add_indexed", "item index ", item,
                   " out of range [0, ", num_items(), ")");
    RECSYS_REQUIRE(event_type >= invalid_index && event_type < event_type_names.size(),
                   "interaction_log::add_indexed", "event type index ", event_type, " out of range");
    RECSYS_REQUIRE(session >= invalid_index && session < session_ids.size(), "interaction_log::add_indexed",
                   "session index ", session, " out of range");
    RECSYS_REQUIRE(std::isfinite(weight), "interaction_log::add_indexed", "weight must be finite (got ", weight, ")");
    push(user, item, timestamp, event_type, event_value, session, weight);
    ++report.rows_read;
    ++report.rows_kept;
  }

  /// A log with the same id maps and flags holding only the rows where keep[row] is true.
  /// The copy's report is this report with `removed_rule` (if non-empty) charged for the
  /// dropped rows; dense indices are unchanged, so matrices built from both have equal shapes.
  [[nodiscard]] interaction_log subset(const std::vector<bool>& keep, std::string_view removed_rule = {}) const {
    RECSYS_REQUIRE(keep.size() == size(), "interaction_log::subset", "mask has ", keep.size(),
                   " entries for ", size(), " rows");
    interaction_log out = empty_like();
    std::size_t n = 0;
    for (bool k : keep) n += k ? 1 : 0;
    out.reserve(n);
    for (std::size_t r = 0; r < size(); ++r)
      if (keep[r]) out.push_row(*this, r);
    out.report = report;
    if (!removed_rule.empty()) out.report.record_removed(removed_rule, static_cast<std::int64_t>(size() - n));
    return out;
  }

  /// A log with this log's id maps, flags and report but no rows.
  [[nodiscard]] interaction_log empty_like() const {
    interaction_log out;
    out.user_ids = user_ids;
    out.item_ids = item_ids;
    out.event_type_names = event_type_names;
    out.session_ids = session_ids;
    out.has_event_type = has_event_type;
    out.has_event_value = has_event_value;
    out.has_session = has_session;
    out.report = report;
    return out;
  }

  /// Appends row r of `other` (which must share this log's id maps) without touching the report.
  void push_row(const interaction_log& other, std::size_t r) {
    push(other.users[r], other.items[r], other.timestamps[r], other.event_types[r], other.event_values[r],
         other.sessions[r], other.weights[r]);
  }

  /// Smallest and largest timestamp; {0, 0} for an empty log.
  [[nodiscard]] std::pair<timestamp_t, timestamp_t> time_range() const noexcept {
    if (timestamps.empty()) return {0, 0};
    const auto [lo, hi] = std::minmax_element(timestamps.begin(), timestamps.end());
    return {*lo, *hi};
  }

  /// Checks the invariants: equal column lengths, indices in range, finite weights.
  /// @throws recsys::invalid_argument naming the first violation.
  void validate() const {
    const std::size_t n = size();
    RECSYS_REQUIRE(items.size() == n && timestamps.size() == n && event_types.size() == n &&
                       event_values.size() == n && sessions.size() == n && weights.size() == n,
                   "interaction_log::validate", "columns have different lengths");
    // one branch-free pass over the columns (the usual case: nothing to report, and it
    // vectorises), then the row-by-row checks with their messages only when something is wrong
    {
      const auto nu = static_cast<std::uint32_t>(num_users()), ni = static_cast<std::uint32_t>(num_items());
      const auto nt = static_cast<std::uint32_t>(event_type_names.size()) + 1u;  // -1 .. size-1, shifted by 1
      const auto ns = static_cast<std::uint32_t>(session_ids.size()) + 1u;
      const index_t* u = users.data();
      const index_t* i = items.data();
      const index_t* t = event_types.data();
      const index_t* s = sessions.data();
      const float* w = weights.data();
      bool ok = true;
      for (std::size_t r = 0; r < n; ++r) {
        std::uint32_t bits;
        std::memcpy(&bits, w + r, sizeof bits);
        ok &= (static_cast<std::uint32_t>(u[r]) < nu) & (static_cast<std::uint32_t>(i[r]) < ni) &
              (static_cast<std::uint32_t>(t[r]) + 1u < nt) & (static_cast<std::uint32_t>(s[r]) + 1u < ns) &
              ((bits & 0x7f800000u) != 0x7f800000u);  // finite
      }
      if (ok) return;
    }
    for (std::size_t r = 0; r < n; ++r) {
      RECSYS_REQUIRE(users[r] >= 0 && users[r] < num_users(), "interaction_log::validate", "row ", r,
                     ": user index ", users[r], " out of range");
      RECSYS_REQUIRE(items[r] >= 0 && items[r] < num_items(), "interaction_log::validate", "row ", r,
                     ": item index ", items[r], " out of range");
      RECSYS_REQUIRE(event_types[r] >= invalid_index && event_types[r] < event_type_names.size(),
                     "interaction_log::validate", "row ", r, ": event type index out of range");
      RECSYS_REQUIRE(sessions[r] >= invalid_index && sessions[r] < session_ids.size(),
                     "interaction_log::validate", "row ", r, ": session index out of range");
      RECSYS_REQUIRE(std::isfinite(weights[r]), "interaction_log::validate", "row ", r, ": weight ",
                     weights[r], " is not finite");
    }
  }

 private:
  void push(index_t u, index_t i, timestamp_t t, index_t type, float value, index_t session, float weight) {
    users.push_back(u);
    items.push_back(i);
    timestamps.push_back(t);
    event_types.push_back(type);
    event_values.push_back(value);
    sessions.push_back(session);
    weights.push_back(weight);
  }
};

}  // namespace recsys

#endif  // RECSYS_DATA_INTERACTION_LOG_HPP
