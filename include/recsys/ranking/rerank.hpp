// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_RERANK_HPP
#define RECSYS_RANKING_RERANK_HPP

/// @file
/// Re-ranking on top of any recommender: Personalize's personalized ranking, promotions and
/// exploration of new items, plus diversity (MMR). Each works with every recipe (the
/// `recommender` concept) and each is a plain function, so a pipeline (ranking/pipeline.hpp) is
/// these functions composed.
///
/// - rank_candidates: re-rank a caller's candidate list for a user (Personalized-Ranking):
///   scored candidates sorted by score, ties in input order; candidates the model cannot score
///   (outside the catalogue, or a NaN score) follow in input order without a score (NaN).
/// - Slots: a promotion reserves ceil(k * percent / 100) of the k slots, exploration
///   ceil(k * weight) (weight taken to 6 decimals); blend() places each group's items at the
///   positions its slot_placement gives and fills the other positions from the main ranking.
///   When a group has fewer items than slots, the main ranking fills in; when the main ranking
///   runs out, the groups' remaining items do: the list is as long as the items allow.
/// - Promotions (recommend_with_promotion): the promoted slots hold the best items, by the same
///   model, among those the promotion's mask allows; the other slots hold the model's ranking
///   among those the request's mask allows (Personalize applies the promotion filter only to the
///   promoted items and the request filter only to the others). recommend_options apply to both.
/// - Exploration (new_item_explorer, recommend_with_exploration): Personalize's
///   exploration_weight and exploration_item_age_cut_off. Items younger than the cutoff (age from
///   Items CREATION_TIMESTAMP, else the item's first interaction; relative to the newest event)
///   with at most max_interactions events are eligible; the explored slots hold a uniform random
///   sample of them, drawn from recsys::rng(seed, "rerank.explore", user): the same for a user
///   at every call, on every platform, for any thread count.
/// - Diversity (diversify_mmr): maximal marginal relevance (Carbonell & Goldstein 1998) over a
///   ranked pool: repeatedly pick argmax lambda * rel(i) - (1 - lambda) * max_{j picked} sim(i, j),
///   rel = the pool's scores scaled to [0, 1] (min-max; NaN = 0); similarity from item factors
///   (factor_similarity: cosine) or co-occurrence (cooccurrence_similarity: item_to_item
///   neighbour scores, symmetrised and scaled by the largest |score|).
///
/// Re-ranked lists (reranked_list) keep each item's model score and say why each item is there
/// (slot_kind). Once promotions, exploration or diversity move items, the list is in slot order
/// and the scores need not decrease (topk_result::is_sorted() is then false).
///
/// @code
///   recsys::item_filter in_house("INCLUDE ItemID WHERE Items.BRAND IN (\"velo\")", {&log, &items});
///   recsys::promotion p{.name = "in-house", .percent = 20};
///   auto list = recsys::recommend_with_promotion(model, user, 10, recsys::item_mask(n),
///                                                in_house.allowed(user), p);
///   for (std::size_t j = 0; j < list.size(); ++j)
///     std::printf("%d %s\n", list.ids[j], list.kinds[j] == recsys::slot_kind::promoted ? "promoted" : "");
/// @endcode
///
/// The parts, one concern per header (this header includes them all):
/// - ranking/rank_candidates.hpp: personalized ranking (rank_candidates).
/// - ranking/blend.hpp: slot counts and placement, slot_group, reranked_list, blend().
/// - ranking/promotion.hpp: promotion, recommend_with_promotion().
/// - ranking/exploration.hpp: exploration_config, new_item_explorer, explore_group(),
///   recommend_with_exploration().
/// - ranking/diversity.hpp: factor_similarity, cooccurrence_similarity, diversify_mmr().
///
/// The re-rankings use models through the `recommender` concept and what a similarity needs
/// (item factors, a neighbour matrix); this layer includes no concrete model. They take filters
/// as item_mask; item_filter (the example above) comes from ranking/filter.hpp.

#include <recsys/ranking/blend.hpp>
#include <recsys/ranking/diversity.hpp>
#include <recsys/ranking/exploration.hpp>
#include <recsys/ranking/promotion.hpp>
#include <recsys/ranking/rank_candidates.hpp>

#endif  // RECSYS_RANKING_RERANK_HPP
