// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_RECENT_EVENTS_HPP
#define RECSYS_RANKING_RECENT_EVENTS_HPP

/// @file
/// Each user's most recent events of an interaction log: the history Interactions conditions of
/// a filter look at (detail::recent_event_rows) and the recent items a pipeline's
/// recent_neighbours_source starts from (recsys::recent_items).

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/fwd.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

namespace detail {

/// Per user, the rows of the log's events, most recent first (timestamp descending; among equal
/// timestamps the later row first), at most `cap` per user (0 = all), as CSR over users.
struct user_event_rows {
  std::vector<std::int64_t> offsets;  // num_users + 1
  std::vector<std::size_t> rows;
  [[nodiscard]] std::span<const std::size_t> of(index_t user) const noexcept {
    if (user < 0 || static_cast<std::size_t>(user) + 1 >= offsets.size()) return {};
    const auto u = static_cast<std::size_t>(user);
    return {rows.data() + offsets[u], static_cast<std::size_t>(offsets[u + 1] - offsets[u])};
  }
};

/// The rows of `log`'s events per user, most recent first, at most `cap` per user (0 = all).
template <class = void>
[[nodiscard]] user_event_rows recent_event_rows(const interaction_log& log, std::size_t cap);

}  // namespace detail

/// The items of each user's most recent events in a log, distinct, most recent first.
/// (`recent_items` is `basic_recent_items<>`; see config.hpp.)
template <class T>
class basic_recent_items {
 public:
  basic_recent_items() = default;
  /// Keeps up to `per_user` items per user (> 0).
  /// @throws recsys::invalid_argument for per_user <= 0.
  basic_recent_items(const interaction_log& log, index_t per_user);
  /// The user's recent items (empty for unknown users).
  [[nodiscard]] std::span<const index_t> of(index_t user) const noexcept {
    if (user < 0 || static_cast<std::size_t>(user) + 1 >= offsets_.size()) return {};
    const auto u = static_cast<std::size_t>(user);
    return {items_.data() + offsets_[u], static_cast<std::size_t>(offsets_[u + 1] - offsets_[u])};
  }

 private:
  std::vector<std::int64_t> offsets_;
  std::vector<index_t> items_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/recent_events-inl.hpp>
#else
namespace recsys {
namespace detail {
extern template user_event_rows recent_event_rows<>(const interaction_log&, std::size_t);
}  // namespace detail
extern template class basic_recent_items<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_RECENT_EVENTS_HPP
