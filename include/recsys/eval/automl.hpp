// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_AUTOML_HPP
#define RECSYS_EVAL_AUTOML_HPP

/// @file
/// AutoML: choose the recipe and its hyperparameters for a data set, as Amazon Personalize's
/// performAutoML / performHPO do — in seconds instead of hours.
///
/// Protocol (docs/lifecycle.md):
/// 1. The data are split with Personalize's protocol (personalize_split: 10% of the users held
///    out, the newest 10% of their events are the test targets). The test split is only
///    *reported*, never used to choose.
/// 2. From the training side, a validation split is carved the same way among the users that
///    are not test users: validation_user_fraction of them, the newest target_fraction of their
///    events. Every trial is fitted on the rest ("search train") and scored on the validation
///    targets (the objective, which chooses) and on the test targets (reported).
/// 3. Stage "default": every applicable recipe with its default hyperparameters. A recipe that
///    cannot be trained on the data (recsys::invalid_argument or recsys::numerical_error from
///    fit, e.g. a time window without events) gets a leaderboard row with the reason.
/// 4. Stage "tuned": the tune_top recipes with the best default objective are tuned by seeded
///    random search over their recipe::search space (trials configurations each, duplicates of
///    a configuration already tried are redrawn). Samples come from recsys::rng stream
///    "automl.search", block = recipe position x 1000003 + draw, so the search is the same for
///    every thread count.
/// 5. The winner is the best validation objective (ties: the earlier trial). With refit it is
///    fitted again on *all* the data (what Personalize's solution version is trained on) and
///    returned ready to save; otherwise the model fitted on the search train side is returned.
///
/// Trials of a stage run in parallel, one per worker thread (num_threads workers; each fit and
/// evaluation is then single-threaded); the refit uses all threads. Every recipe gets the
/// `seed` and `num_threads` of the options when it has those parameters. The leaderboard and
/// the winner do not depend on the thread count (fits and the evaluator are thread-count
/// invariant; the best is chosen by objective, then trial order); the timings do.
/// Progress: one stage per phase ("automl: defaults of N recipes", "automl: tuning ...",
/// "automl: refit ..."), done = trials finished, metric "best <objective>". Cancellation is
/// checked inside every fit and evaluation and throws recsys::cancelled (no partial result).
///
/// @code
///   recsys::automl_options o;
///   o.objective = recsys::parse_metric("ndcg@10");
///   recsys::automl_result r = recsys::automl(log, o, job);
///   for (const auto& t : r.leaderboard) std::printf("%s %g\n", t.recipe.c_str(), t.validation);
///   r.winner->save("best-model");
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/split.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/progress.hpp>
#include <recsys/config.hpp>
#include <recsys/models/model.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// Options of recsys::automl.
struct automl_options {
  metric objective{metric_kind::ndcg, 10};       ///< what chooses (higher is better)
  std::vector<metric> metrics = default_metrics();  ///< reported per trial (the objective is added if absent)
  std::vector<std::string> recipes;               ///< candidates; empty: every registered recipe
  int tune_top = 2;                               ///< recipes tuned after the default stage (>= 0)
  int trials = 6;                                 ///< random configurations per tuned recipe (>= 0)
  std::uint64_t seed = 42;                        ///< splits, search and every recipe's seed
  personalize_split_options split;                ///< the test split (and the validation targets' fraction)
  double validation_user_fraction = 0.1;          ///< share of the non-test users used for validation, in (0, 1)
  bool refit = true;                              ///< fit the winner again on all the data
  int num_threads = 0;                            ///< 0: all cores
};

/// One row of the leaderboard.
struct automl_trial {
  std::string recipe;
  std::string stage;         ///< "default" or "tuned"
  param_map tuned;           ///< the sampled values (empty in the default stage)
  param_map params;          ///< every effective hyperparameter
  double validation = std::numeric_limits<double>::quiet_NaN();  ///< the objective on the validation targets
  evaluation_result test;    ///< every metric on the test targets (reported, not used to choose)
  double fit_seconds = 0;
  double evaluate_seconds = 0;
  std::string error;         ///< non-empty: the recipe could not be trained on this data (why)

  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

/// What automl found.
struct automl_result {
  std::string objective;                  ///< metric_name of the objective
  std::vector<automl_trial> leaderboard;  ///< best validation objective first; failed trials last
  std::unique_ptr<model> winner;          ///< leaderboard.front()'s recipe and hyperparameters, fitted
  bool refitted = false;                  ///< winner fitted on all the data (else on the search train side)
  double winner_fit_seconds = 0;          ///< the refit's wall time (0 without refit)
  std::int64_t search_train_events = 0;   ///< events the trials were fitted on
  std::int64_t validation_events = 0;     ///< validation targets
  std::int64_t test_events = 0;           ///< test targets
  double seconds = 0;                     ///< wall time of the whole search
};

namespace detail {

/// Moves the newest `target_fraction` of the events of a random `user_fraction` of the users
/// that have >= 2 events and are not marked in `excluded` into a validation side (seeded,
/// stream "automl.validation"). Both sides keep the log's id maps.

/// The options' metrics with the objective first-added if absent.

/// Overrides every recipe gets: the run's seed and thread count where the recipe has them.

/// `base` with `over` applied (same keys replaced, new keys appended).

}  // namespace detail

/// Chooses a recipe and hyperparameters for `data` (see the file comment for the protocol).
/// @throws recsys::invalid_argument for invalid options or a log too small to split;
///         recsys::cancelled through the job's token.
template <class = void>
[[nodiscard]] automl_result automl(const interaction_log& data, const automl_options& o = {},
                                          const job_control& job = {});

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/eval/automl-inl.hpp>
#else
namespace recsys {
extern template automl_result automl<>(const interaction_log&, const automl_options&, const job_control&);
}  // namespace recsys
#endif

#endif  // RECSYS_EVAL_AUTOML_HPP
