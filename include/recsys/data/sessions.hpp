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

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
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
template <class = void>
[[nodiscard]] session_cut cut_sessions(const interaction_log& log, const session_options& opts);

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
template <class = void>
[[nodiscard]] session_data build_sessions(const interaction_log& log, const session_options& opts = {});

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/sessions-inl.hpp>
#else
namespace recsys {
extern template session_data build_sessions<>(const interaction_log&, const session_options&);
namespace detail {
extern template session_cut cut_sessions<>(const interaction_log&, const session_options&);
}  // namespace detail
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_SESSIONS_HPP
