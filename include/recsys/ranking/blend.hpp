// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_BLEND_HPP
#define RECSYS_RANKING_BLEND_HPP

/// @file
/// Slots and blending, what every re-ranking shares (ranking/rerank.hpp describes the whole):
/// a promotion reserves ceil(k * percent / 100) of the k slots, exploration ceil(k * weight)
/// (weight taken to 6 decimals); blend() places each group's items at the positions its
/// slot_placement gives and fills the other positions from the main ranking. Re-ranked lists
/// (reranked_list) keep each item's model score and say why each item is there (slot_kind).

#include <recsys/config.hpp>
#include <recsys/errors.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

/// Why an item is in a re-ranked list.
enum class slot_kind : std::uint8_t {
  ranked,    ///< the main ranking
  promoted,  ///< a promotion slot
  explored,  ///< an exploration slot
};

[[nodiscard]] constexpr const char* to_string(slot_kind k) noexcept {
  switch (k) {
    case slot_kind::promoted: return "promoted";
    case slot_kind::explored: return "explored";
    default: return "ranked";
  }
}

/// Where a group's slots go among the positions it may use.
enum class slot_placement {
  spread,  ///< evenly: slot j of s among n positions at floor((2j + 1) n / (2 s))
  first,   ///< the first s positions
  last,    ///< the last s positions
  random,  ///< s positions drawn uniformly (seeded; Personalize places promoted items randomly)
};

/// A re-ranked list: ids in slot order with the model's scores and the reason for each.
struct reranked_list {
  std::vector<index_t> ids;
  std::vector<score_t> scores;
  std::vector<slot_kind> kinds;

  [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
  [[nodiscard]] bool empty() const noexcept { return ids.empty(); }
  /// Entries of one kind.
  [[nodiscard]] std::size_t count(slot_kind k) const noexcept {
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), k));
  }
  /// The ids and scores as a topk_result (slot order; see the file comment).
  [[nodiscard]] topk_result result() const { return {ids, scores}; }
  friend bool operator==(const reranked_list&, const reranked_list&) = default;
};

/// Slots of a promotion: ceil(k * percent / 100), for percent in [0, 100].
/// @throws recsys::invalid_argument for k < 0 or percent outside [0, 100].
[[nodiscard]] inline index_t promotion_slots(index_t k, int percent) {
  RECSYS_REQUIRE(k >= 0, "promotion_slots", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(percent >= 0 && percent <= 100, "promotion_slots", "percent must be in [0, 100] (got ", percent, ")");
  return static_cast<index_t>((static_cast<std::int64_t>(k) * percent + 99) / 100);
}

/// Slots of exploration: ceil(k * weight), weight in [0, 1] rounded to 6 decimals first (so
/// 0.3 of 10 is 3 despite binary floating point).
/// @throws recsys::invalid_argument for k < 0 or a weight outside [0, 1].
[[nodiscard]] inline index_t exploration_slots(index_t k, double weight) {
  RECSYS_REQUIRE(k >= 0, "exploration_slots", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(weight >= 0.0 && weight <= 1.0, "exploration_slots", "weight must be in [0, 1] (got ", weight, ")");
  const auto ppm = static_cast<std::int64_t>(std::llround(weight * 1e6));
  return static_cast<index_t>((static_cast<std::int64_t>(k) * ppm + 999999) / 1000000);
}

/// `slots` distinct positions among [0, n), ascending, by `placement` (random draws from `r`).
/// @throws recsys::invalid_argument unless 0 <= slots <= n.
template <class = void>
[[nodiscard]] std::vector<index_t> slot_positions(index_t n, index_t slots, slot_placement placement, rng& r);

/// Items that take reserved slots in blend().
struct slot_group {
  slot_kind kind = slot_kind::promoted;
  index_t slots = 0;                                   ///< reserved slots (capped by the free positions)
  slot_placement placement = slot_placement::spread;   ///< where among the positions still free
  topk_result items;                                   ///< in the order they fill the slots
};

/// The stream of random slot placement for one request: (seed, "rerank.placement", user).
[[nodiscard]] inline rng placement_rng(std::uint64_t seed, index_t user) noexcept {
  return rng(seed, stream_tag("rerank.placement"), static_cast<std::uint64_t>(static_cast<std::uint32_t>(user)));
}

/// Merges a main ranking with groups of items that take reserved slots, into k entries.
///
/// Positions: the groups, in order, each take `slots` of the positions still free (the first
/// group sees all k; placement picks among the free ones, random ones drawn from `r`); the
/// remaining positions are the main ranking's. Filling walks the positions in order: a group's
/// position takes the group's next item not already in the list, the main ranking's position the
/// next ranked item not already in the list. A group that runs out hands its positions to the
/// main ranking; when the main ranking runs out, the groups' remaining items follow (groups in
/// order). So each group gets exactly min(slots, its distinct items not placed before) entries
/// while the main ranking lasts, and the list has min(k, distinct items) entries. A k beyond the
/// number of entries given (ranked plus the groups' items) counts as that number.
/// @throws recsys::invalid_argument for k < 0 or a negative slot count.
template <class = void>
[[nodiscard]] reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k, rng& r);

/// blend() with random placement drawn from placement_rng(seed, user).
template <class = void>
[[nodiscard]] reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k,
                                  std::uint64_t seed = 0, index_t user = 0);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/blend-inl.hpp>
#else
namespace recsys {
extern template std::vector<index_t> slot_positions<>(index_t, index_t, slot_placement, rng&);
extern template reranked_list blend<>(const topk_result&, std::span<const slot_group>, index_t, rng&);
extern template reranked_list blend<>(const topk_result&, std::span<const slot_group>, index_t, std::uint64_t, index_t);
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_BLEND_HPP
