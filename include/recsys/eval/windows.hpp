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

#include <recsys/data/ingest.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/split.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/automl.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/progress.hpp>
#include <recsys/recipes.hpp>
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
[[nodiscard]] inline window_search_result search_time_windows(const interaction_log& data,
                                                              std::string_view recipe_name,
                                                              const window_search_options& o = {},
                                                              const job_control& job = {}) {
  constexpr const char* where = "search_time_windows";
  const recipe& r = find_recipe(recipe_name);
  for (double d : o.window_days)
    RECSYS_REQUIRE(std::isfinite(d) && d > 0, where, "window lengths must be finite and > 0 days (got ", d, ")");
  for (double h : o.half_life_days)
    RECSYS_REQUIRE(std::isfinite(h) && h > 0, where, "half-lives must be finite and > 0 days (got ", h, ")");
  RECSYS_REQUIRE(o.half_life_days.empty() || !r.time_decay.empty(), where, "recipe '", r.name,
                 "' has no time decay (its fit ignores event weights and it has no half-life setting); "
                 "use windows only, or a recipe with decay (item-knn, sims)");
  RECSYS_REQUIRE(!o.window_days.empty() || o.all_time || !o.half_life_days.empty(), where, "nothing to evaluate");
  RECSYS_REQUIRE(!data.empty(), where, "the log has no events");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<metric> metrics = detail::with_objective(o.metrics, o.objective);
  const param_map base = detail::merge_params(detail::fixed_params(r, o.seed, o.num_threads), o.params);
  (void)r.make(base);  // bad parameters fail here, before any work

  split_spec spec = o.split;
  spec.num_threads = o.num_threads;
  const split s = make_split(data, spec, o.seed);
  RECSYS_REQUIRE(!s.train.empty() && !s.test.empty(), where, "the split left an empty side (", s.train.size(),
                 " training and ", s.test.size(), " test events)");
  window_search_result result;
  result.recipe = r.name;
  result.objective = metric_name(o.objective);
  result.newest = s.train.time_range().second;
  result.test_events = static_cast<std::int64_t>(s.test.size());

  // the rows, in report order
  std::vector<std::optional<double>> windows;
  for (double d : o.window_days) windows.emplace_back(d);
  std::sort(windows.begin(), windows.end());
  if (o.all_time) windows.emplace_back(std::nullopt);
  std::vector<std::pair<std::optional<double>, std::optional<double>>> rows;
  for (const auto& w : windows) rows.emplace_back(w, std::nullopt);
  for (double h : o.half_life_days) {
    if (o.combine) {
      for (const auto& w : windows) rows.emplace_back(w, h);
    } else {
      rows.emplace_back(std::nullopt, h);
    }
  }

  evaluation_options eo;
  eo.metrics = metrics;
  eo.num_threads = o.num_threads;
  job_control quiet;
  quiet.cancel = job.cancel;
  std::optional<window_trial> all_time_plain;  // the first undecayed row on all the training data

  const auto day_text = [](double d) { return detail::str(d); };
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& [w, h] = rows[k];
    window_trial t;
    t.window_days = w;
    t.half_life_days = h;
    t.label = w ? "last " + day_text(*w) + " days" : std::string("all time");
    if (h) t.label += ", half-life " + day_text(*h) + " days";
    progress_reporter rep(job, "windows: " + t.label, 1, static_cast<std::int64_t>(k),
                          static_cast<std::int64_t>(rows.size()));
    interaction_log train = w ? apply_window(s.train, time_window{std::nullopt, std::nullopt, *w}) : s.train;
    t.train_events = static_cast<std::int64_t>(train.size());
    {
      std::vector<char> active(static_cast<std::size_t>(train.num_users()), 0);
      for (index_t u : train.users) active[static_cast<std::size_t>(u)] = 1;
      t.train_users = static_cast<index_t>(std::count(active.begin(), active.end(), 1));
      t.first_timestamp = train.time_range().first;
    }
    const bool covers_all = train.size() == s.train.size();
    if (!h && covers_all && all_time_plain) {
      t.result = all_time_plain->result;
      t.objective = all_time_plain->objective;
      t.fit_seconds = all_time_plain->fit_seconds;
    } else if (train.empty()) {
      // nothing to learn from: the row stays NaN (reported, never best)
      t.objective = std::numeric_limits<double>::quiet_NaN();
    } else {
      param_map params = base;
      if (h) {
        const double seconds = *h * 86400.0;
        if (r.time_decay == "weights") {
          const timestamp_t ref = train.time_range().second;
          for (std::size_t e = 0; e < train.size(); ++e)
            train.weights[e] *= static_cast<float>(std::exp2(-static_cast<double>(ref - train.timestamps[e]) / seconds));
        } else {
          params = detail::merge_params(params, {{r.time_decay, detail::str(std::llround(seconds))}});
        }
      }
      auto m = r.make(params);
      const auto t0 = std::chrono::steady_clock::now();
      m->fit(train, quiet);
      t.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      t.result = evaluate(*m, s.train, s.test, eo, quiet);
      t.objective = t.result.value(result.objective);
      if (!h && covers_all) all_time_plain = t;
    }
    t.same_as_all_time = w && covers_all;
    if (std::isfinite(t.objective)) rep.set_metric(result.objective, t.objective);
    rep.finish();
    result.trials.push_back(std::move(t));
  }
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < result.trials.size(); ++k)
    if (std::isfinite(result.trials[k].objective) && result.trials[k].objective > best) {
      best = result.trials[k].objective;
      result.best = k;
    }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace recsys

#endif  // RECSYS_EVAL_WINDOWS_HPP
