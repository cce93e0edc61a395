// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_EXPLORATION_HPP
#define RECSYS_RANKING_EXPLORATION_HPP

/// @file
/// Exploration of new items (new_item_explorer, recommend_with_exploration): Personalize's
/// exploration_weight and exploration_item_age_cut_off. Items younger than the cutoff (age from
/// Items CREATION_TIMESTAMP, else the item's first interaction; relative to the newest event)
/// with at most max_interactions events are eligible; the explored slots hold a uniform random
/// sample of them, drawn from recsys::rng(seed, "rerank.explore", user): the same for a user at
/// every call, on every platform, for any thread count. (ranking/rerank.hpp describes how the
/// re-rankings combine.)

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/ranking/blend.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace recsys {

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
/// thread-safe. (`new_item_explorer` is `basic_new_item_explorer<>`; see config.hpp.)
template <class T>
class basic_new_item_explorer {
 public:
  basic_new_item_explorer() = default;

  /// @throws recsys::invalid_argument for a bad config.
  basic_new_item_explorer(const interaction_log& log, const metadata_table* items, exploration_config config = {});

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
  [[nodiscard]] std::span<const index_t> seen_items(index_t user) const noexcept;

  /// Up to `count` eligible items that `allowed` allows (and, when `exclude_seen`, that the user
  /// has not interacted with), a uniform random sample in draw order from
  /// rng(seed, "rerank.explore", user).
  [[nodiscard]] std::vector<index_t> draw(index_t user, index_t count, const item_mask& allowed,
                                          bool exclude_seen = true) const;

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

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/exploration-inl.hpp>
#else
namespace recsys {
extern template class basic_new_item_explorer<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_EXPLORATION_HPP
