// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_EXPLORATION_INL_HPP
#define RECSYS_RANKING_EXPLORATION_INL_HPP

/// @file
/// Definitions of ranking/exploration.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/rerank.cpp).

#include <recsys/ranking/exploration.hpp>

#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/errors.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace recsys {

template <class T>
basic_new_item_explorer<T>::basic_new_item_explorer(const interaction_log& log, const metadata_table* items,
                                                    exploration_config config)
    : config_(std::move(config)) {
  config_.validate();
  const index_t n = log.num_items();
  created_.assign(static_cast<std::size_t>(n), missing_timestamp);
  interactions_.assign(static_cast<std::size_t>(n), 0);
  for (std::size_t r = 0; r < log.size(); ++r) {
    const auto i = static_cast<std::size_t>(log.items[r]);
    ++interactions_[i];
    if (created_[i] == missing_timestamp || log.timestamps[r] < created_[i]) created_[i] = log.timestamps[r];
  }
  if (items) {
    const metadata_field* f = nullptr;
    for (const auto& g : items->fields)
      if (g.type == field_type::timestamp) f = &g;
    if (f) {
      const std::vector<index_t> rows = items->align(log.item_ids);
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i] >= 0 && f->timestamps[static_cast<std::size_t>(rows[i])] != missing_timestamp)
          created_[i] = f->timestamps[static_cast<std::size_t>(rows[i])];
    }
  }
  now_ = config_.now.value_or(log.empty() ? 0 : log.time_range().second);
  const double cutoff = config_.item_age_cutoff_days * 86400.0;
  eligible_ = item_mask::where(n, [&](index_t i) {
    const auto k = static_cast<std::size_t>(i);
    return created_[k] != missing_timestamp && static_cast<double>(now_ - created_[k]) < cutoff &&
           (config_.max_interactions < 0 || interactions_[k] <= config_.max_interactions);
  });
  seen_ = detail::seen_matrix(log);
}

template <class T>
std::span<const index_t> basic_new_item_explorer<T>::seen_items(index_t user) const noexcept {
  return detail::row_items(seen_, user);
}

template <class T>
std::vector<index_t> basic_new_item_explorer<T>::draw(index_t user, index_t count, const item_mask& allowed,
                                                      bool exclude_seen) const {
  RECSYS_REQUIRE(count >= 0, "new_item_explorer::draw", "count must be >= 0 (got ", count, ")");
  RECSYS_REQUIRE(allowed.size() == num_items(), "new_item_explorer::draw", "the mask has ", allowed.size(),
                 " items, the explorer ", num_items());
  item_mask pool = eligible_;
  pool &= allowed;
  if (exclude_seen)
    for (const index_t i : seen_items(user)) pool.set(i, false);
  std::vector<index_t> ids = pool.items();
  rng r(config_.seed, stream_tag("rerank.explore"), static_cast<std::uint64_t>(static_cast<std::uint32_t>(user)));
  const auto m = static_cast<index_t>(std::min<std::size_t>(ids.size(), static_cast<std::size_t>(count)));
  for (index_t j = 0; j < m; ++j) {
    const auto pick = j + static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(ids.size()) - static_cast<std::uint32_t>(j)));
    std::swap(ids[static_cast<std::size_t>(j)], ids[static_cast<std::size_t>(pick)]);
  }
  ids.resize(static_cast<std::size_t>(m));
  return ids;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_EXPLORATION_INL_HPP
