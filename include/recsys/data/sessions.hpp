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

  // What build_sessions left out (nothing is dropped silently).
  std::int64_t dropped_sessions = 0;        ///< sessions shorter than session_options::min_length
  std::int64_t dropped_events = 0;          ///< events in those sessions
  std::int64_t events_without_session = 0;  ///< rows without a SESSION_ID when cutting by the column

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
    RECSYS_REQUIRE(times.empty() || times.size() == session_items.size(), "session_data::push_session", "got ",
                   session_items.size(), " items but ", times.size(), " timestamps");
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
  /// A user's next event starts a new session when it comes more than this many seconds after
  /// the previous one (a gap of exactly gap_seconds continues the session).
  timestamp_t gap_seconds = 30 * 60;
  /// Sessions shorter than this are dropped; session_data::dropped_sessions / dropped_events
  /// count them.
  std::size_t min_length = 1;
};

namespace detail {

/// Every session of a log before any length filter: runs of `order` (log rows sorted by
/// (group, timestamp, row), group = session id or user). Runs are in (group, start) order.
struct session_cut {
  struct run {
    std::size_t begin, end;  ///< [begin, end) into order
  };
  bool by_column = false;
  std::vector<std::size_t> order;
  std::vector<run> runs;
  std::int64_t events_without_session = 0;  ///< rows with no SESSION_ID (column mode only)
};

/// Cuts a log into sessions (see build_sessions for the rules).
[[nodiscard]] inline session_cut cut_sessions(const interaction_log& log, const session_options& opts) {
  session_cut cut;
  cut.by_column = opts.from == session_options::source::session_column ||
                  (opts.from == session_options::source::automatic && log.has_session);
  RECSYS_REQUIRE(!cut.by_column || log.has_session, "build_sessions",
                 "session_column requested but the log has no SESSION_ID column");
  RECSYS_REQUIRE(opts.gap_seconds >= 0, "build_sessions", "gap_seconds must be >= 0 (got ", opts.gap_seconds, ")");

  // Group rows by session id (column) or user (gaps) with a counting sort, then order each
  // group by (timestamp, row).
  const std::vector<index_t>& group = cut.by_column ? log.sessions : log.users;
  const index_t num_groups = cut.by_column ? log.session_ids.size() : log.user_ids.size();
  std::vector<std::int64_t> start(static_cast<std::size_t>(num_groups) + 1, 0);
  for (index_t g : group)
    if (g >= 0) ++start[static_cast<std::size_t>(g) + 1];
  for (std::size_t g = 0; g < static_cast<std::size_t>(num_groups); ++g) start[g + 1] += start[g];
  cut.order.resize(static_cast<std::size_t>(start.back()));
  cut.events_without_session = static_cast<std::int64_t>(log.size()) - start.back();
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for (std::size_t r = 0; r < group.size(); ++r)
      if (group[r] >= 0) cut.order[static_cast<std::size_t>(next[static_cast<std::size_t>(group[r])]++)] = r;
  }
  const auto& ts = log.timestamps;
  for (std::size_t g = 0; g < static_cast<std::size_t>(num_groups); ++g) {
    const auto b = cut.order.begin() + start[g], e = cut.order.begin() + start[g + 1];
    if (e - b > 1)
      std::sort(b, e, [&](std::size_t x, std::size_t y) { return ts[x] != ts[y] ? ts[x] < ts[y] : x < y; });
  }
  for (std::size_t k = 0; k < cut.order.size();) {
    std::size_t e = k + 1;
    while (e < cut.order.size() && group[cut.order[e]] == group[cut.order[k]] &&
           (cut.by_column || ts[cut.order[e]] - ts[cut.order[e - 1]] <= opts.gap_seconds))
      ++e;
    cut.runs.push_back({k, e});
    k = e;
  }
  return cut;
}

}  // namespace detail

/// Cuts a log into sessions. Events inside a session are in timestamp order (ties: log order);
/// sessions are ordered by start time (ties: by the session's first row in the log).
///
/// Nothing is dropped silently: sessions shorter than opts.min_length are counted in
/// dropped_sessions / dropped_events, and rows without a SESSION_ID (when cutting by the
/// column) in events_without_session, so that
/// num_events() + dropped_events + events_without_session == log.size().
/// @throws recsys::invalid_argument if session_column is requested but the log has no SESSION_ID,
///         or gap_seconds < 0.
[[nodiscard]] inline session_data build_sessions(const interaction_log& log, const session_options& opts = {}) {
  detail::session_cut cut = detail::cut_sessions(log, opts);
  const auto& order = cut.order;

  session_data out;
  out.num_items = log.num_items();
  out.events_without_session = cut.events_without_session;
  std::vector<detail::session_cut::run> runs;
  runs.reserve(cut.runs.size());
  for (const auto& r : cut.runs) {
    if (r.end - r.begin >= opts.min_length) {
      runs.push_back(r);
    } else {
      ++out.dropped_sessions;
      out.dropped_events += static_cast<std::int64_t>(r.end - r.begin);
    }
  }
  // Sessions by start time, ties by first log row.
  std::sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
    const timestamp_t ta = log.timestamps[order[a.begin]], tb = log.timestamps[order[b.begin]];
    if (ta != tb) return ta < tb;
    return order[a.begin] < order[b.begin];
  });

  out.items.reserve(order.size());
  out.timestamps.reserve(order.size());
  out.offsets.reserve(runs.size() + 1);
  out.users.reserve(runs.size());
  out.session_ids.reserve(runs.size());
  for (const auto& r : runs) {
    for (std::size_t k = r.begin; k < r.end; ++k) {
      out.items.push_back(log.items[order[k]]);
      out.timestamps.push_back(log.timestamps[order[k]]);
    }
    out.offsets.push_back(static_cast<std::int64_t>(out.items.size()));
    const std::size_t first = order[r.begin];
    out.users.push_back(log.users[first]);
    out.session_ids.push_back(cut.by_column ? log.sessions[first] : invalid_index);
  }
  return out;
}

}  // namespace recsys

#endif  // RECSYS_DATA_SESSIONS_HPP
