// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_RANK_CANDIDATES_HPP
#define RECSYS_RANKING_RANK_CANDIDATES_HPP

/// @file
/// Personalize's personalized ranking (rank_candidates): re-rank a caller's candidate list for a
/// user with any recommender. Scored candidates are sorted by score, ties in input order;
/// candidates the model cannot score (outside the catalogue, or a NaN score) follow in input
/// order without a score (NaN).

#include <recsys/errors.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace recsys {

/// A caller's candidate list re-ranked for a user.
struct ranked_candidates {
  std::vector<std::size_t> positions;  ///< positions in the input list, in the new order
  std::vector<index_t> ids;            ///< the candidates in the new order (ids[j] = input[positions[j]])
  std::vector<score_t> scores;         ///< the model's score; NaN for unscored candidates
  std::size_t num_scored = 0;          ///< entries [0, num_scored) are scored, the rest are not

  [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
};

/// Re-ranks `candidates` for `user` with any recommender (Personalize's GetPersonalizedRanking).
///
/// Candidates are scored with model.score(user, candidates); the scored ones come first, by
/// score descending, equal scores in input order. Candidates the model cannot score — ids
/// outside [0, num_items) (e.g. invalid_index for an external id the model never saw) or a NaN
/// score — are kept, after the scored ones, in input order, with a NaN score (Personalize
/// returns such items without a score). Duplicates are kept (each at its own position).
/// Unknown users get the recipe's fallback scores (e.g. popularity).
/// @code
///   std::vector<recsys::index_t> cands = {log.item_ids.find_or("a", -1), log.item_ids.find_or("b", -1)};
///   auto ranked = recsys::rank_candidates(model, user, cands);
/// @endcode
template <recommender M>
[[nodiscard]] ranked_candidates rank_candidates(const M& model, index_t user, std::span<const index_t> candidates) {
  // Only catalogue items are handed to the model (a recipe need not accept other ids).
  const index_t n = model.num_items();
  std::vector<index_t> in_catalogue;
  in_catalogue.reserve(candidates.size());
  for (const index_t i : candidates)
    if (i >= 0 && i < n) in_catalogue.push_back(i);
  const std::vector<score_t> given = model.score(user, in_catalogue);
  RECSYS_REQUIRE(given.size() == in_catalogue.size(), "rank_candidates", "the model returned ", given.size(),
                 " scores for ", in_catalogue.size(), " candidates");
  std::vector<score_t> s(candidates.size(), std::numeric_limits<score_t>::quiet_NaN());
  for (std::size_t j = 0, c = 0; j < candidates.size(); ++j)
    if (candidates[j] >= 0 && candidates[j] < n) s[j] = given[c++];
  std::vector<std::size_t> scored, unscored;
  for (std::size_t j = 0; j < candidates.size(); ++j) (std::isnan(s[j]) ? unscored : scored).push_back(j);
  std::stable_sort(scored.begin(), scored.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  ranked_candidates out;
  out.num_scored = scored.size();
  out.positions = std::move(scored);
  out.positions.insert(out.positions.end(), unscored.begin(), unscored.end());
  out.ids.reserve(out.positions.size());
  out.scores.reserve(out.positions.size());
  for (std::size_t j = 0; j < out.positions.size(); ++j) {
    const std::size_t p = out.positions[j];
    out.ids.push_back(candidates[p]);
    out.scores.push_back(j < out.num_scored ? s[p] : std::numeric_limits<score_t>::quiet_NaN());
  }
  return out;
}

/// rank_candidates with a filter mask applied first: candidates in the catalogue that `allowed`
/// does not allow are dropped (as a filter drops them from recommendations); candidates outside
/// the catalogue cannot be judged by the filter and are kept, unscored.
template <recommender M>
[[nodiscard]] ranked_candidates rank_candidates(const M& model, index_t user, std::span<const index_t> candidates,
                                                const item_mask& allowed) {
  RECSYS_REQUIRE(allowed.size() == model.num_items(), "rank_candidates", "the mask has ", allowed.size(),
                 " items, the model ", model.num_items());
  std::vector<index_t> kept;
  std::vector<std::size_t> where;
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    const index_t i = candidates[j];
    if (i >= 0 && i < model.num_items() && !allowed.test(i)) continue;
    kept.push_back(i);
    where.push_back(j);
  }
  ranked_candidates r = rank_candidates(model, user, std::span<const index_t>(kept));
  for (auto& p : r.positions) p = where[p];
  return r;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_RANK_CANDIDATES_HPP
