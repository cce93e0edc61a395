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

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/detail/rank.hpp>
#include <recsys/errors.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace recsys {

// ---------------------------------------------------------------------------------------------
// Personalized ranking
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Slots and blending
// ---------------------------------------------------------------------------------------------

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
[[nodiscard]] inline std::vector<index_t> slot_positions(index_t n, index_t slots, slot_placement placement, rng& r) {
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
[[nodiscard]] inline reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k,
                                         rng& r) {
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

/// blend() with random placement drawn from placement_rng(seed, user).
[[nodiscard]] inline reranked_list blend(const topk_result& ranked, std::span<const slot_group> groups, index_t k,
                                         std::uint64_t seed = 0, index_t user = 0) {
  rng r = placement_rng(seed, user);
  return blend(ranked, groups, k, r);
}

// ---------------------------------------------------------------------------------------------
// Promotions
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Exploration of new items
// ---------------------------------------------------------------------------------------------

/// Personalize's item exploration settings.
struct exploration_config {
  /// exploration_weight: the share of slots for new items, in [0, 1] (Personalize: 0.3).
  double weight = 0.3;
  /// exploration_item_age_cut_off: items younger than this many days are eligible (> 0; 30).
  double item_age_cutoff_days = 30.0;
  /// Items with more events than this in the log are not new any more (-1: no limit). 15 is
  /// Personalize's HRNN-Coldstart cold_start_max_interactions.
  std::int64_t max_interactions = 15;
  /// The time ages are measured from; unset: the newest event of the log.
  std::optional<timestamp_t> now = std::nullopt;
  /// Seed of the draws (recsys::rng stream "rerank.explore", one block per user).
  std::uint64_t seed = 42;
  /// Where the explored items go among the positions left free by promotions.
  slot_placement placement = slot_placement::spread;

  /// @throws recsys::invalid_argument naming the bad field.
  void validate() const {
    RECSYS_REQUIRE(weight >= 0.0 && weight <= 1.0, "exploration_config", "weight must be in [0, 1] (got ", weight, ")");
    RECSYS_REQUIRE(std::isfinite(item_age_cutoff_days) && item_age_cutoff_days > 0.0, "exploration_config",
                   "item_age_cutoff_days must be finite and > 0 (got ", item_age_cutoff_days, ")");
    RECSYS_REQUIRE(max_interactions >= -1, "exploration_config", "max_interactions must be >= -1 (got ",
                   max_interactions, ")");
  }
};

/// Which items are new, bound to a log (and optional Items metadata with CREATION_TIMESTAMP),
/// and the seeded draws of exploration. Self-contained after construction; const and
/// thread-safe.
class new_item_explorer {
 public:
  new_item_explorer() = default;

  /// @throws recsys::invalid_argument for a bad config.
  new_item_explorer(const interaction_log& log, const metadata_table* items, exploration_config config = {})
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

  [[nodiscard]] const exploration_config& config() const noexcept { return config_; }
  [[nodiscard]] index_t num_items() const noexcept { return eligible_.size(); }
  /// The reference time ages are measured from.
  [[nodiscard]] timestamp_t now() const noexcept { return now_; }
  /// Creation time of an item (CREATION_TIMESTAMP, else first interaction; missing_timestamp when neither).
  [[nodiscard]] timestamp_t created(index_t item) const {
    RECSYS_REQUIRE(item >= 0 && item < num_items(), "new_item_explorer::created", "item ", item, " out of range");
    return created_[static_cast<std::size_t>(item)];
  }
  /// Events of an item in the log.
  [[nodiscard]] std::int64_t interactions(index_t item) const {
    RECSYS_REQUIRE(item >= 0 && item < num_items(), "new_item_explorer::interactions", "item ", item, " out of range");
    return interactions_[static_cast<std::size_t>(item)];
  }
  /// The items eligible for exploration.
  [[nodiscard]] const item_mask& eligible() const noexcept { return eligible_; }
  /// Exploration slots of a list of k.
  [[nodiscard]] index_t slots(index_t k) const { return exploration_slots(k, config_.weight); }
  /// The items `user` interacted with in the log (ascending; empty for unknown users).
  [[nodiscard]] std::span<const index_t> seen_items(index_t user) const noexcept { return detail::row_items(seen_, user); }

  /// Up to `count` eligible items that `allowed` allows (and, when `exclude_seen`, that the user
  /// has not interacted with), a uniform random sample in draw order from
  /// rng(seed, "rerank.explore", user).
  [[nodiscard]] std::vector<index_t> draw(index_t user, index_t count, const item_mask& allowed,
                                          bool exclude_seen = true) const {
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

 private:
  exploration_config config_;
  std::vector<timestamp_t> created_;
  std::vector<std::int64_t> interactions_;
  timestamp_t now_ = 0;
  item_mask eligible_;
  csr_matrix seen_;
};

/// The slot group of exploration for one request (what recommend_with_exploration and pipelines
/// blend): explorer.slots(k) slots, up to k drawn items (later draws fill in for items placed
/// earlier), each with the model's score.
template <recommender M>
[[nodiscard]] slot_group explore_group(const M& model, index_t user, index_t k, const new_item_explorer& explorer,
                                       const item_mask& allowed, const recommend_options& opts = {}) {
  item_mask m = allowed;
  if (!opts.include.empty()) m &= item_mask::of(m.size(), opts.include);
  for (const index_t i : opts.exclude) m.set(i, false);
  slot_group g;
  g.kind = slot_kind::explored;
  g.slots = explorer.slots(k);
  g.placement = explorer.config().placement;
  const std::vector<index_t> drawn = explorer.draw(user, g.slots == 0 ? 0 : k, m, opts.exclude_seen);
  g.items.ids = drawn;
  g.items.scores = model.score(user, drawn);
  return g;
}

/// The top-k with exploration: explorer.slots(k) slots hold eligible items the request allows,
/// drawn by explorer.draw (with the model's scores for them); the others hold the model's ranking
/// among `allowed`. `opts.exclude_seen` applies to the draws too (the explorer's log defines
/// what the user has seen); opts.include / opts.exclude apply to both.
/// @throws recsys::invalid_argument for k < 0 or a mask / explorer of another catalogue.
template <recommender M>
[[nodiscard]] reranked_list recommend_with_exploration(const M& model, index_t user, index_t k,
                                                       const new_item_explorer& explorer, const item_mask& allowed,
                                                       const recommend_options& opts = {}) {
  RECSYS_REQUIRE(k >= 0, "recommend_with_exploration", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(allowed.size() == model.num_items() && explorer.num_items() == model.num_items(),
                 "recommend_with_exploration", "the mask (", allowed.size(), " items) and the explorer (",
                 explorer.num_items(), ") must match the model (", model.num_items(), ")");
  const filtered_options regular(allowed, opts);
  const slot_group group = explore_group(model, user, k, explorer, allowed, opts);
  return blend(model.recommend(user, k, regular.options()), std::span<const slot_group>(&group, 1), k,
               explorer.config().seed, user);
}

// ---------------------------------------------------------------------------------------------
// Diversity
// ---------------------------------------------------------------------------------------------

/// Item-item similarity for MMR: cosine of a factor model's item factors (in [-1, 1]; 0 for an
/// item with zero factors). Refers to the model's factors: keep the model alive.
template <class Scalar = score_t>
class factor_similarity {
 public:
  explicit factor_similarity(const factor_model<Scalar>& model) : factors_(&model.item_factors()) {
    norms_ = factors_->rowwise().norm();
  }
  /// out[j] = cos(item, others[j]); 0 when either id is outside the catalogue (a re-ranked pool
  /// may hold unscored ids the model does not know, see rank_candidates).
  /// @throws recsys::invalid_argument when out is shorter than others.
  void operator()(index_t item, std::span<const index_t> others, std::span<score_t> out) const {
    RECSYS_REQUIRE(out.size() >= others.size(), "factor_similarity", "out has ", out.size(), " entries for ",
                   others.size(), " items");
    const index_t n = num_items();
    const Scalar na = item >= 0 && item < n ? norms_[item] : Scalar(0);
    for (std::size_t j = 0; j < others.size(); ++j) {
      const index_t b = others[j];
      const Scalar nb = b >= 0 && b < n ? norms_[b] : Scalar(0);
      out[j] = na > 0 && nb > 0 ? static_cast<score_t>(factors_->row(item).dot(factors_->row(b)) / (na * nb)) : 0.0f;
    }
  }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(factors_->rows()); }

 private:
  const row_matrix<Scalar>* factors_;
  vector<Scalar> norms_;
};

/// Item-item similarity for MMR from co-occurrence: an item_to_item model's neighbour scores,
/// symmetrised (max of S(a, b) and S(b, a); 0 when neither is a neighbour of the other) and
/// divided by the largest |score| of the model, so it lies in [-1, 1]. Refers to the model's
/// neighbour matrix: keep the model alive.
class cooccurrence_similarity {
 public:
  explicit cooccurrence_similarity(const item_to_item& model) : s_(&model.neighbours()) {
    scale_ = 0;
    for (Eigen::Index e = 0; e < s_->nonZeros(); ++e) scale_ = std::max(scale_, std::abs(s_->valuePtr()[e]));
    if (!(scale_ > 0)) scale_ = 1;
  }
  /// @throws recsys::invalid_argument when out is shorter than others.
  void operator()(index_t item, std::span<const index_t> others, std::span<score_t> out) const {
    RECSYS_REQUIRE(out.size() >= others.size(), "cooccurrence_similarity", "out has ", out.size(), " entries for ",
                   others.size(), " items");
    for (std::size_t j = 0; j < others.size(); ++j) {
      const auto ab = lookup(item, others[j]);
      const auto ba = lookup(others[j], item);
      score_t v = 0;
      if (ab && ba) v = std::max(*ab, *ba);
      else if (ab) v = *ab;
      else if (ba) v = *ba;
      out[j] = v / scale_;
    }
  }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(s_->rows()); }

 private:
  std::optional<score_t> lookup(index_t a, index_t b) const {
    if (a < 0 || a >= s_->rows()) return std::nullopt;
    const index_t* begin = s_->innerIndexPtr() + s_->outerIndexPtr()[a];
    const index_t* end = s_->innerIndexPtr() + s_->outerIndexPtr()[a + 1];
    const index_t* p = std::lower_bound(begin, end, b);
    if (p == end || *p != b) return std::nullopt;
    return s_->valuePtr()[p - s_->innerIndexPtr()];
  }
  const csr_matrix* s_;
  score_t scale_ = 1;
};

/// What MMR needs of a similarity: sim(item, others, out) writes out[j] = sim(item, others[j]).
template <class S>
concept item_similarity_function = requires(const S& s, index_t i, std::span<const index_t> o, std::span<score_t> out) {
  s(i, o, out);
};

/// Maximal marginal relevance: k items of `pool` (a ranked list), picked one at a time by
/// lambda * rel - (1 - lambda) * (largest similarity to an item already picked), rel = the pool's
/// score scaled to [0, 1] over the pool (NaN counts 0; all equal: 1). Ties go to the earlier
/// pool entry, so lambda = 1 returns the pool's first k unchanged. Entries keep their scores.
/// @throws recsys::invalid_argument for k < 0 or lambda outside [0, 1].
template <item_similarity_function Similarity>
[[nodiscard]] topk_result diversify_mmr(const topk_result& pool, index_t k, double lambda, const Similarity& sim) {
  RECSYS_REQUIRE(k >= 0, "diversify_mmr", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(lambda >= 0.0 && lambda <= 1.0, "diversify_mmr", "lambda must be in [0, 1] (got ", lambda, ")");
  const std::size_t n = pool.size();
  const std::size_t m = std::min(n, static_cast<std::size_t>(k));
  topk_result out;
  if (m == 0) return out;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const score_t s : pool.scores)
    if (!std::isnan(s)) {
      lo = std::min(lo, static_cast<double>(s));
      hi = std::max(hi, static_cast<double>(s));
    }
  // rel[j] and max_sim[j] in one buffer (two vectors<double> here trip GCC 12's
  // -Wfree-nonheap-object false positive with -march=native).
  std::vector<double> work(2 * n);
  double* const rel = work.data();
  double* const max_sim = work.data() + n;
  for (std::size_t j = 0; j < n; ++j) {
    const score_t s = pool.scores[j];
    rel[j] = std::isnan(s) ? 0.0 : hi > lo ? (static_cast<double>(s) - lo) / (hi - lo) : 1.0;
    max_sim[j] = -std::numeric_limits<double>::infinity();
  }
  std::vector<char> taken(n, 0);
  std::vector<score_t> row(n);
  out.reserve(m);
  for (std::size_t step = 0; step < m; ++step) {
    std::size_t best = n;
    double best_value = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j) {
      if (taken[j]) continue;
      const double v = lambda * rel[j] - (step == 0 ? 0.0 : (1.0 - lambda) * max_sim[j]);
      if (best == n || v > best_value) {
        best = j;
        best_value = v;
      }
    }
    taken[best] = 1;
    out.push_back(pool.ids[best], pool.scores[best]);
    if (step + 1 == m) break;
    sim(pool.ids[best], std::span<const index_t>(pool.ids), std::span<score_t>(row));
    for (std::size_t j = 0; j < n; ++j) max_sim[j] = std::max(max_sim[j], static_cast<double>(row[j]));
  }
  return out;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_RERANK_HPP
