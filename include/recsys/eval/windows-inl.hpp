// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_WINDOWS_INL_HPP
#define RECSYS_EVAL_WINDOWS_INL_HPP

/// @file
/// Definitions of eval/windows.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/eval.cpp).

#include <recsys/data/ingest.hpp>
#include <recsys/eval/automl-inl.hpp>
#include <recsys/eval/windows.hpp>
#include <recsys/recipes.hpp>

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

template <class>
window_search_result search_time_windows(const interaction_log& data,
                                                              std::string_view recipe_name,
                                                              const window_search_options& o,
                                                              const job_control& job) {
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

#endif  // RECSYS_EVAL_WINDOWS_INL_HPP
