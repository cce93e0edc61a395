// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_RECENT_EVENTS_INL_HPP
#define RECSYS_RANKING_RECENT_EVENTS_INL_HPP

/// @file
/// Definitions of ranking/recent_events.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/filter.cpp).

#include <recsys/ranking/recent_events.hpp>

#include <recsys/errors.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace recsys {

namespace detail {

template <class>
user_event_rows recent_event_rows(const interaction_log& log, std::size_t cap) {
  const auto nu = static_cast<std::size_t>(log.num_users());
  std::vector<std::int64_t> count(nu + 1, 0);
  for (const index_t u : log.users) ++count[static_cast<std::size_t>(u) + 1];
  for (std::size_t u = 0; u < nu; ++u) count[u + 1] += count[u];
  std::vector<std::size_t> by_user(log.size());
  {
    std::vector<std::int64_t> next(count.begin(), count.end() - 1);
    for (std::size_t r = 0; r < log.size(); ++r)
      by_user[static_cast<std::size_t>(next[static_cast<std::size_t>(log.users[r])]++)] = r;
  }
  user_event_rows out;
  out.offsets.assign(nu + 1, 0);
  out.rows.reserve(cap == 0 ? log.size() : std::min(log.size(), cap * nu));
  for (std::size_t u = 0; u < nu; ++u) {
    const auto b = by_user.begin() + count[u];
    const auto e = by_user.begin() + count[u + 1];
    std::sort(b, e, [&](std::size_t x, std::size_t y) {
      if (log.timestamps[x] != log.timestamps[y]) return log.timestamps[x] > log.timestamps[y];
      return x > y;
    });
    const auto n = static_cast<std::size_t>(e - b);
    out.rows.insert(out.rows.end(), b, b + static_cast<std::ptrdiff_t>(cap == 0 ? n : std::min(n, cap)));
    out.offsets[u + 1] = static_cast<std::int64_t>(out.rows.size());
  }
  return out;
}

}  // namespace detail

template <class T>
basic_recent_items<T>::basic_recent_items(const interaction_log& log, index_t per_user) {
  RECSYS_REQUIRE(per_user > 0, "recent_items", "per_user must be > 0 (got ", per_user, ")");
  const detail::user_event_rows rows = detail::recent_event_rows(log, 0);
  offsets_.assign(static_cast<std::size_t>(log.num_users()) + 1, 0);
  for (index_t u = 0; u < log.num_users(); ++u) {
    const auto begin = items_.size();
    for (const std::size_t r : rows.of(u)) {
      const index_t i = log.items[r];
      if (std::find(items_.begin() + static_cast<std::ptrdiff_t>(begin), items_.end(), i) != items_.end()) continue;
      items_.push_back(i);
      if (static_cast<index_t>(items_.size() - begin) == per_user) break;
    }
    offsets_[static_cast<std::size_t>(u) + 1] = static_cast<std::int64_t>(items_.size());
  }
}

}  // namespace recsys

#endif  // RECSYS_RANKING_RECENT_EVENTS_INL_HPP
