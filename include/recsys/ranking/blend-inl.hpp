// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_BLEND_INL_HPP
#define RECSYS_RANKING_BLEND_INL_HPP

/// @file
/// Definitions of ranking/blend.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/rerank.cpp).

#include <recsys/ranking/blend.hpp>

#include <recsys/errors.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <unordered_set>
#include <utility>
#include <vector>

namespace recsys {

template <class>
std::vector<index_t> slot_positions(index_t n, index_t slots, slot_placement placement, rng& r) {
  RECSYS_REQUIRE(slots >= 0 && slots <= n, "slot_positions", "need 0 <= slots <= n (got ", slots, " of ", n, ")");
  std::vector<index_t> out(static_cast<std::size_t>(slots));
  switch (placement) {
    case slot_placement::spread:
      for (index_t j = 0; j < slots; ++j)
        out[static_cast<std::size_t>(j)] =
            static_cast<index_t>((static_cast<std::int64_t>(2 * j + 1) * n) / (2 * static_cast<std::int64_t>(slots)));
      break;
    case slot_placement::first: std::iota(out.begin(), out.end(), 0); break;
    case slot_placement::last: std::iota(out.begin(), out.end(), n - slots); break;
    case slot_placement::random: {
      std::vector<index_t> all(static_cast<std::size_t>(n));
      std::iota(all.begin(), all.end(), 0);
      for (index_t j = 0; j < slots; ++j) {  // partial Fisher-Yates
        const auto pick = static_cast<index_t>(j + static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(n - j))));
        std::swap(all[static_cast<std::size_t>(j)], all[static_cast<std::size_t>(pick)]);
      }
      out.assign(all.begin(), all.begin() + slots);
      std::sort(out.begin(), out.end());
      break;
    }
  }
  return out;
}

template <class>
reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k, rng& r) {
  RECSYS_REQUIRE(k >= 0, "blend", "k must be >= 0 (got ", k, ")");
  // The list cannot be longer than the entries given: a larger k counts as that many (the
  // positions below take O(k) memory, so a huge k must not reach them).
  std::size_t given = ranked.size();
  for (const slot_group& g : groups) given += g.items.size();
  k = static_cast<index_t>(std::min<std::size_t>(static_cast<std::size_t>(k), given));
  std::vector<int> owner(static_cast<std::size_t>(k), -1);
  std::vector<index_t> free_positions(static_cast<std::size_t>(k));
  std::iota(free_positions.begin(), free_positions.end(), 0);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    RECSYS_REQUIRE(groups[g].slots >= 0, "blend", "group ", g, " has ", groups[g].slots, " slots");
    const auto nfree = static_cast<index_t>(free_positions.size());
    const index_t s = std::min(groups[g].slots, nfree);
    const std::vector<index_t> picked = slot_positions(nfree, s, groups[g].placement, r);
    std::vector<index_t> still_free;
    std::size_t next = 0;
    for (index_t j = 0; j < nfree; ++j) {
      if (next < picked.size() && picked[next] == j) {
        owner[static_cast<std::size_t>(free_positions[static_cast<std::size_t>(j)])] = static_cast<int>(g);
        ++next;
      } else {
        still_free.push_back(free_positions[static_cast<std::size_t>(j)]);
      }
    }
    free_positions.swap(still_free);
  }
  reranked_list out;
  std::unordered_set<index_t> used;
  std::size_t main_next = 0;
  std::vector<std::size_t> group_next(groups.size(), 0);
  const auto take_main = [&]() -> bool {
    while (main_next < ranked.size()) {
      const std::size_t j = main_next++;
      if (!used.insert(ranked.ids[j]).second) continue;
      out.ids.push_back(ranked.ids[j]);
      out.scores.push_back(ranked.scores[j]);
      out.kinds.push_back(slot_kind::ranked);
      return true;
    }
    return false;
  };
  const auto take_group = [&](std::size_t g) -> bool {
    const topk_result& items = groups[g].items;
    while (group_next[g] < items.size()) {
      const std::size_t j = group_next[g]++;
      if (!used.insert(items.ids[j]).second) continue;
      out.ids.push_back(items.ids[j]);
      out.scores.push_back(items.scores[j]);
      out.kinds.push_back(groups[g].kind);
      return true;
    }
    return false;
  };
  for (index_t p = 0; p < k; ++p) {
    const int g = owner[static_cast<std::size_t>(p)];
    if (g >= 0 && take_group(static_cast<std::size_t>(g))) continue;
    if (take_main()) continue;
    bool any = false;
    for (std::size_t h = 0; h < groups.size() && !any; ++h) any = take_group(h);
    if (!any) break;
  }
  return out;
}

template <class>
reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k, std::uint64_t seed,
                    index_t user) {
  rng r = placement_rng(seed, user);
  return blend(ranked, groups, k, r);
}

}  // namespace recsys

#endif  // RECSYS_RANKING_BLEND_INL_HPP
