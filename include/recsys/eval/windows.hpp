// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_WINDOWS_HPP
#define RECSYS_EVAL_WINDOWS_HPP

/// @file
/// Time-window search: how much history should a recipe be trained on? The same recipe is
/// trained on the last N days of the training data (by default the last 1, 3, 6 and 12
/// months) and on all of it, optionally with time-decay half-lives, and each is evaluated on
/// the same test targets. Personalize's case studies found that 3 months beat a year; this
/// shows it (or not) for your data in one call (`recsys windows`).
///
/// Protocol (docs/lifecycle.md):
/// - One split of the data (Personalize's protocol by default), the same for every row; the
///   test targets and their relevance never change, so the rows are comparable.
/// - Row "last N days": the training side restricted to events at most N days older than its
///   newest event (apply_window with time_window::last_days). Users without events in the
///   window are unknown to that model and get its cold-start answer, as they would in
///   production; items they had before the window are no longer excluded from their lists.
///   A window that keeps every training event is marked same_as_all_time and the model on all
///   the data is fitted once for it and the all-time row.
/// - Row "half-life H": all the training data (or each window, with combine) with time decay,
///   applied as the recipe declares (recipe::time_decay): by its own half-life parameter (e.g.
///   item-knn's recency_half_life) or by multiplying event weights by 2^(-age / H), age =
///   newest training event - event time (the same decay build_matrix's half_life_seconds
///   applies). Recipes whose fit ignores event weights and that have no decay setting (bpr,
///   warp, popularity, trending) cannot take a half-life: asking for one is an error.
/// - The evaluation excludes each user's items of the *whole* training side and uses its
///   relevant sets, so every row answers the same queries.
///
/// @code
///   recsys::window_search_options o;                // 30, 91, 182, 365 days and all time
///   o.half_life_days = {7, 30};
///   auto r = recsys::search_time_windows(log, "item-knn", o, job);
///   std::printf("best: %s (%g)\n", r.trials[r.best].label.c_str(), r.trials[r.best].objective);
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/split.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/progress.hpp>
#include <recsys/config.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// Options of recsys::search_time_windows.
struct window_search_options {
  /// Training windows in days before the newest training event: the last 1, 3, 6, 12 months.
  std::vector<double> window_days = {30, 91, 182, 365};
  /// Also train on all the training data.
  bool all_time = true;
  /// Time-decay half-lives in days (rows on all the data; on every window too with combine).
  std::vector<double> half_life_days;
  /// Every window (and all time) crossed with every half-life, instead of half-lives on all
  /// the data only.
  bool combine = false;
  metric objective{metric_kind::ndcg, 10};          ///< picks the best row (higher is better)
  std::vector<metric> metrics = default_metrics();  ///< reported per row (objective added if absent)
  param_map params;                                 ///< the recipe's hyperparameters (same for every row)
  split_spec split;                                 ///< how test targets are chosen (Personalize's by default)
  std::uint64_t seed = 42;                          ///< the split's and the recipe's seed
  int num_threads = 0;                              ///< 0: all cores
};

/// One trained-and-evaluated row.
struct window_trial {
  std::optional<double> window_days;     ///< unset: all the training data
  std::optional<double> half_life_days;  ///< unset: no time decay
  std::string label;                     ///< e.g. "last 91 days", "all time, half-life 30 days"
  std::int64_t train_events = 0;         ///< training events in the window
  index_t train_users = 0;               ///< users with events in the window
  timestamp_t first_timestamp = 0;       ///< oldest training event in the window
  bool same_as_all_time = false;         ///< the window holds every training event (one fit serves both)
  evaluation_result result;              ///< every metric on the test targets
  double objective = std::numeric_limits<double>::quiet_NaN();
  double fit_seconds = 0;
};

/// What search_time_windows found.
struct window_search_result {
  std::string recipe;
  std::string objective;             ///< metric_name of the objective
  std::vector<window_trial> trials;  ///< windows (ascending, as given), all time, then half-lives
  std::size_t best = 0;              ///< trials[best] has the best objective (ties: the earlier row)
  timestamp_t newest = 0;            ///< the newest training event (windows end there)
  std::int64_t test_events = 0;
  double seconds = 0;
};

/// Trains and evaluates `recipe_name` on each window / half-life (see the file comment).
/// @throws recsys::invalid_argument for an unknown recipe, bad parameters, a window or
///         half-life that is not finite and > 0, half-lives for a recipe without time decay, or
///         a log too small to split; recsys::cancelled through the job's token.
template <class = void>
[[nodiscard]] window_search_result search_time_windows(const interaction_log& data,
                                                              std::string_view recipe_name,
                                                              const window_search_options& o = {},
                                                              const job_control& job = {});

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/eval/windows-inl.hpp>
#else
namespace recsys {
extern template window_search_result search_time_windows<>(const interaction_log&, std::string_view,
                                                           const window_search_options&, const job_control&);
}  // namespace recsys
#endif

#endif  // RECSYS_EVAL_WINDOWS_HPP
