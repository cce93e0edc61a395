// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SESSIONS_INL_HPP
#define RECSYS_DATA_SESSIONS_INL_HPP

/// @file
/// Definitions of data/sessions.hpp: cutting a log into sessions (header-only mode includes
/// this file; the compiled library instantiates it in src/data.cpp).

#include <recsys/data/sessions.hpp>
#include <recsys/errors.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace recsys {

namespace detail {

template <class>
session_cut cut_sessions(const interaction_log& log, const session_options& opts) {
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

template <class>
session_data build_sessions(const interaction_log& log, const session_options& opts) {
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

#endif  // RECSYS_DATA_SESSIONS_INL_HPP
