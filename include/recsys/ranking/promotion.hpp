// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_PROMOTION_HPP
#define RECSYS_RANKING_PROMOTION_HPP

/// @file
/// Promotions (recommend_with_promotion): the promoted slots hold the best items, by the same
/// model, among those the promotion's mask allows; the other slots hold the model's ranking
/// among those the request's mask allows (Personalize applies the promotion filter only to the
/// promoted items and the request filter only to the others). recommend_options apply to both.

#include <recsys/errors.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/ranking/blend.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace recsys {

/// A promotion (Personalize's Promotion): a share of the slots for items a promotion filter
/// allows, ranked by the model among themselves.
struct promotion {
  std::string name;                                  ///< for reports
  int percent = 0;                                   ///< percentPromotedItems: 1..100
  slot_placement placement = slot_placement::spread; ///< where the promoted items go
  std::uint64_t seed = 0;                            ///< for slot_placement::random

  /// @throws recsys::invalid_argument unless 1 <= percent <= 100.
  void validate() const {
    RECSYS_REQUIRE(percent >= 1 && percent <= 100, "promotion", "percent must be in [1, 100] (got ", percent, ")");
  }
};

/// The top-k with a promotion: promotion_slots(k, p.percent) slots hold the model's best items
/// among `promoted_allowed`, the others the model's ranking among `request_allowed` (blend()
/// places and fills them). `opts` (exclude_seen, include, exclude) apply to both.
/// @throws recsys::invalid_argument for an invalid promotion, k < 0, or masks whose size is not
///         the model's catalogue.
template <recommender M>
[[nodiscard]] reranked_list recommend_with_promotion(const M& model, index_t user, index_t k,
                                                     const item_mask& request_allowed,
                                                     const item_mask& promoted_allowed, const promotion& p,
                                                     const recommend_options& opts = {}) {
  p.validate();
  RECSYS_REQUIRE(k >= 0, "recommend_with_promotion", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(request_allowed.size() == model.num_items() && promoted_allowed.size() == model.num_items(),
                 "recommend_with_promotion", "masks of ", request_allowed.size(), " and ", promoted_allowed.size(),
                 " items for a model of ", model.num_items());
  const filtered_options regular(request_allowed, opts);
  const filtered_options promoted(promoted_allowed, opts);
  // k of each: the groups skip items already placed, so up to k may be needed from either.
  const slot_group group{slot_kind::promoted, promotion_slots(k, p.percent), p.placement,
                         model.recommend(user, k, promoted.options())};
  return blend(model.recommend(user, k, regular.options()), std::span<const slot_group>(&group, 1), k, p.seed, user);
}

}  // namespace recsys

#endif  // RECSYS_RANKING_PROMOTION_HPP
