// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SESSIONS_HPP
#define RECSYS_DATA_SESSIONS_HPP

/// @file
/// recsys::session_data: a log cut into sessions, stored as offsets + items (+ timestamps).
/// Sessions come from the SESSION_ID column, or, when there is none, from cutting each user's
/// time-ordered events at inactivity gaps (default 30 minutes, as web analytics does).
///
/// @code
///   auto sessions = recsys::build_sessions(log);            // SESSION_ID if present, else 30-min gaps
///   for (std::size_t s = 0; s < sessions.size(); ++s)
///     for (recsys::index_t item : sessions.session(s)) { ... }
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace recsys {

/// Sessions as a ragged array: session s holds items[offsets[s] .. offsets[s+1]), in time order.
/// Sessions are ordered by start time (ties: by the session's first row in the log).
struct session_data {
  std::vector<std::int64_t> offsets{0};  ///< size() + 1 entries, offsets[0] = 0
  std::vector<index_t> items;            ///< item index of each event
  std::vector<timestamp_t> timestamps;   ///< timestamp of each event
  std::vector<index_t> users;            ///< per session: its user (-1 when the log has none)
  std::vector<index_t> session_ids;      ///< per session: index into the log's session_ids, -1 when cut by gaps
  index_t num_items = 0;                 ///< catalogue size (the log's item_ids.size())

  [[nodiscard]] std::size_t size() const noexcept { return offsets.size() - 1; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t num_events() const noexcept { return items.size(); }
  [[nodiscard]] std::size_t length(std::size_t s) const noexcept {
    return static_cast<std::size_t>(offsets[s + 1] - offsets[s]);
  }
  [[nodiscard]] std::span<const index_t> session(std::size_t s) const noexcept {
    return {items.data() + offsets[s], length(s)};
  }
  [[nodiscard]] std::span<const timestamp_t> session_times(std::size_t s) const noexcept {
    return {timestamps.data() + offsets[s], length(s)};
  }
  /// Appends a session (used by builders and by callers assembling sessions by hand).
  void push_session(std::span<const index_t> session_items, std::span<const timestamp_t> times,
                    index_t user = invalid_index, index_t session_id = invalid_index) {
    RECSYS_REQUIRE(times.empty() || times.size() == session_items.size(), "session_data::push_session",
                   "got ", session_items.size(), " items but ", times.size(), " timestamps");
    items.insert(items.end(), session_items.begin(), session_items.end());
    if (times.empty())
      timestamps.resize(items.size(), 0);
    else
      timestamps.insert(timestamps.end(), times.begin(), times.end());
    offsets.push_back(static_cast<std::int64_t>(items.size()));
    users.push_back(user);
    session_ids.push_back(session_id);
  }
};

/// How build_sessions cuts a log.
struct session_options {
  enum class source { automatic, session_column, inactivity_gap };
  /// automatic: the SESSION_ID column when the log has one, otherwise inactivity gaps.
  source from = source::automatic;
  /// A user's next event starts a new session after this many seconds of inactivity.
  timestamp_t gap_seconds = 30 * 60;
  /// Sessions shorter than this are dropped (counted in the returned data's caller report).
  std::size_t min_length = 1;
};

/// Cuts a log into sessions. Events inside a session are in timestamp order (ties: log order).
/// @throws recsys::invalid_argument if session_column is requested but the log has no SESSION_ID,
///         or gap_seconds < 0.
[[nodiscard]] inline session_data build_sessions(const interaction_log& log, const session_options& opts = {}) {
  const bool by_column = opts.from == session_options::source::session_column ||
                         (opts.from == session_options::source::automatic && log.has_session);
  RECSYS_REQUIRE(!by_column || log.has_session, "build_sessions",
                 "session_column requested but the log has no SESSION_ID column");
  RECSYS_REQUIRE(opts.gap_seconds >= 0, "build_sessions", "gap_seconds must be >= 0 (got ", opts.gap_seconds, ")");

  // Order rows by (group, timestamp, row): group = session id, or user for gap cutting.
  const std::vector<index_t>& group = by_column ? log.sessions : log.users;
  std::vector<std::size_t> order(log.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (group[a] != group[b]) return group[a] < group[b];
    if (log.timestamps[a] != log.timestamps[b]) return log.timestamps[a] < log.timestamps[b];
    return a < b;
  });

  // Runs of the sorted order that form one session: [begin, end) into `order`.
  struct run {
    std::size_t begin, end;
  };
  std::vector<run> runs;
  for (std::size_t k = 0; k < order.size();) {
    std::size_t e = k + 1;
    while (e < order.size() && group[order[e]] == group[order[k]] &&
           (by_column || log.timestamps[order[e]] - log.timestamps[order[e - 1]] <= opts.gap_seconds))
      ++e;
    if (group[order[k]] >= 0 && e - k >= opts.min_length) runs.push_back({k, e});
    k = e;
  }
  // Sessions by start time, ties by first log row.
  std::sort(runs.begin(), runs.end(), [&](const run& a, const run& b) {
    const timestamp_t ta = log.timestamps[order[a.begin]], tb = log.timestamps[order[b.begin]];
    if (ta != tb) return ta < tb;
    return order[a.begin] < order[b.begin];
  });

  session_data out;
  out.num_items = log.num_items();
  out.items.reserve(log.size());
  out.timestamps.reserve(log.size());
  out.offsets.reserve(runs.size() + 1);
  for (const run& r : runs) {
    for (std::size_t k = r.begin; k < r.end; ++k) {
      out.items.push_back(log.items[order[k]]);
      out.timestamps.push_back(log.timestamps[order[k]]);
    }
    out.offsets.push_back(static_cast<std::int64_t>(out.items.size()));
    const std::size_t first = order[r.begin];
    out.users.push_back(log.users[first]);
    out.session_ids.push_back(by_column ? log.sessions[first] : invalid_index);
  }
  return out;
}

}  // namespace recsys

#endif  // RECSYS_DATA_SESSIONS_HPP
