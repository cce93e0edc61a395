// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_RECOMMENDER_HPP
#define RECSYS_MODELS_RECOMMENDER_HPP

/// @file
/// What a model provides so that evaluation, re-ranking and pipelines are written once for all
/// recipes (C++20 concepts). The per-query options every recommend() takes, recommend_options,
/// are in types.hpp.
///
/// - recsys::recommender: const, thread-safe queries: recommend(user, k, options) -> topk_result
///   and score(user, items) -> scores, over num_users() x num_items() dense indices.
/// - recsys::matrix_trainable / recsys::log_trainable: how a recipe is fitted (on an interaction
///   matrix, or on the whole log when it needs timestamps, sessions or event types).
///
/// Unknown users (index < 0 or >= num_users(), or a user with no training history) are a normal
/// case: every recipe documents its fallback (usually popularity) and never throws for them.

#include <recsys/data/interaction_log.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <concepts>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// Hyperparameters as text, in the order given (the CLI's `--set key=value`, model manifests).
using param_map = std::vector<std::pair<std::string, std::string>>;

/// One hyperparameter of a recipe as users see it: name, default (as text) and help.
struct recipe_param {
  std::string name;
  std::string default_value;
  std::string help;
};

/// Validation-based early stopping for an iterative model (BPR/WARP, ALS).
/// After every `every`-th epoch or iteration (and after the last one) `metric(model)` is called with the
/// model holding the current factors; higher is better (e.g. NDCG@10 on a validation split).
/// Training stops when `patience` evaluations in a row did not improve on the best one; with
/// `restore_best` the model then keeps the factors of the best evaluated epoch.
template <class Model>
struct early_stopping {
  std::function<double(const Model&)> metric;  ///< empty: no early stopping
  int patience = 3;
  int every = 1;
  bool restore_best = true;
};

/// A fitted model that can be queried.
template <class M>
concept recommender = requires(const M& m, index_t user, index_t k, const recommend_options& opts,
                               std::span<const index_t> items) {
  { m.num_users() } -> std::convertible_to<index_t>;
  { m.num_items() } -> std::convertible_to<index_t>;
  { m.recommend(user, k, opts) } -> std::same_as<topk_result>;
  { m.score(user, items) } -> std::same_as<std::vector<score_t>>;
};

/// A recipe fitted on a user x item interaction matrix.
template <class M>
concept matrix_trainable = requires(M& m, const csr_matrix& x, const job_control& job) {
  m.fit(x, job);
};

/// A recipe fitted on the interaction log itself (needs timestamps, event types or sessions).
template <class M>
concept log_trainable = requires(M& m, const interaction_log& log, const job_control& job) {
  m.fit(log, job);
};

/// A model that recommends for a history given at query time (real-time events, new users).
template <class M>
concept history_recommender = requires(const M& m, std::span<const index_t> items, std::span<const score_t> weights,
                                       index_t k, const recommend_options& opts) {
  { m.recommend_for_history(items, weights, k, opts) } -> std::same_as<topk_result>;
};

}  // namespace recsys

#endif  // RECSYS_MODELS_RECOMMENDER_HPP
