// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_AUTOML_INL_HPP
#define RECSYS_EVAL_AUTOML_INL_HPP

/// @file
/// Definitions of eval/automl.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/eval.cpp).

#include <recsys/data/split.hpp>
#include <recsys/detail/grouping.hpp>
#include <recsys/eval/automl.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
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

namespace recsys::detail {

template <class = void>
[[nodiscard]] param_map merge_params(param_map base, const param_map& over) {
  for (const auto& [k, v] : over) {
    bool found = false;
    for (auto& [bk, bv] : base)
      if (bk == k) {
        bv = v;
        found = true;
      }
    if (!found) base.emplace_back(k, v);
  }
  return base;
}

template <class = void>
[[nodiscard]] param_map fixed_params(const recipe& r, std::uint64_t seed, int num_threads) {
  param_map p;
  for (const auto& rp : r.params) {
    if (rp.name == "seed") p.emplace_back("seed", std::to_string(seed));
    if (rp.name == "num_threads") p.emplace_back("num_threads", std::to_string(num_threads));
  }
  return p;
}

template <class = void>
[[nodiscard]] std::vector<metric> with_objective(std::vector<metric> metrics, const metric& objective) {
  if (std::find(metrics.begin(), metrics.end(), objective) == metrics.end()) metrics.insert(metrics.begin(), objective);
  return metrics;
}

template <class = void>
[[nodiscard]] split carve_validation(const interaction_log& train, const std::vector<char>& excluded,
                                            double user_fraction, double target_fraction, std::uint64_t seed,
                                            int num_threads) {
  const auto groups = rows_by_user_time(train, num_threads);
  std::vector<index_t> candidates;
  for (std::size_t u = 0; u < groups.num_groups(); ++u)
    if (groups.group_size(u) >= 2 && !excluded[u]) candidates.push_back(static_cast<index_t>(u));
  std::vector<bool> in_train(train.size(), true);
  if (!candidates.empty()) {
    auto held = static_cast<std::size_t>(std::llround(user_fraction * static_cast<double>(candidates.size())));
    held = std::clamp<std::size_t>(held, 1, candidates.size());
    rng r(seed, stream_tag("automl.validation"), 0);
    shuffle(candidates.begin(), candidates.end(), r);
    for (std::size_t k = 0; k < held; ++k) {
      const auto u = static_cast<std::size_t>(candidates[k]);
      const auto n = static_cast<std::int64_t>(groups.group_size(u));
      const std::int64_t targets =
          std::clamp<std::int64_t>(std::llround(target_fraction * static_cast<double>(n)), 1, n - 1);
      for (std::int64_t j = n - targets; j < n; ++j)
        in_train[groups.rows[static_cast<std::size_t>(groups.offsets[u] + j)]] = false;
    }
  }
  std::vector<bool> in_validation(in_train.size());
  for (std::size_t r = 0; r < in_train.size(); ++r) in_validation[r] = !in_train[r];
  return {train.subset(in_train, "automl: validation target"), train.subset(in_validation, "automl: search train")};
}

}  // namespace recsys::detail

namespace recsys {

template <class>
automl_result automl(const interaction_log& data, const automl_options& o,
                                          const job_control& job) {
  constexpr const char* where = "automl";
  RECSYS_REQUIRE(o.tune_top >= 0, where, "tune_top must be >= 0 (got ", o.tune_top, ")");
  RECSYS_REQUIRE(o.trials >= 0, where, "trials must be >= 0 (got ", o.trials, ")");
  RECSYS_REQUIRE(o.validation_user_fraction > 0.0 && o.validation_user_fraction < 1.0, where,
                 "validation_user_fraction must be in (0, 1) (got ", o.validation_user_fraction, ")");
  RECSYS_REQUIRE(o.num_threads >= 0, where, "num_threads must be >= 0 (got ", o.num_threads, ")");
  RECSYS_REQUIRE(!data.empty(), where, "the log has no events");
  const auto start = std::chrono::steady_clock::now();
  const std::string objective = metric_name(o.objective);
  const std::vector<metric> metrics = detail::with_objective(o.metrics, o.objective);

  std::vector<const recipe*> candidates;
  if (o.recipes.empty()) {
    // Session recipes (gru4rec) predict the next event of a session and are measured with the
    // next-item protocol, not the per-user ranking metrics AutoML optimises: named explicitly only.
    for (const auto& r : recipes())
      if (!r.make({})->supports_next_item()) candidates.push_back(&r);
  } else {
    for (const auto& name : o.recipes) {
      const recipe& r = find_recipe(name);
      if (std::find(candidates.begin(), candidates.end(), &r) == candidates.end()) candidates.push_back(&r);
    }
  }
  RECSYS_REQUIRE(!candidates.empty(), where, "no recipe to try");

  // test split, then validation carved from the non-test users of the training side
  personalize_split_options so = o.split;
  so.num_threads = o.num_threads;
  const split outer = personalize_split(data, o.seed, so);
  std::vector<char> test_user(static_cast<std::size_t>(data.num_users()), 0);
  for (index_t u : outer.test.users) test_user[static_cast<std::size_t>(u)] = 1;
  const split inner = detail::carve_validation(outer.train, test_user, o.validation_user_fraction,
                                               so.target_fraction, o.seed, o.num_threads);
  automl_result result;
  result.objective = objective;
  result.search_train_events = static_cast<std::int64_t>(inner.train.size());
  result.validation_events = static_cast<std::int64_t>(inner.test.size());
  result.test_events = static_cast<std::int64_t>(outer.test.size());

  evaluation_options eo;
  eo.metrics = metrics;
  eo.num_threads = o.num_threads;
  job_control quiet;  // inner jobs: cancellation only (progress is reported per trial)
  quiet.cancel = job.cancel;

  // One stage: its trials run in parallel, one per worker (each fit and evaluation then runs
  // single-threaded inside its worker: parallel_for does not nest). Results do not depend on
  // the thread count because every recipe's fit and the evaluator are thread-count invariant,
  // and the best model is chosen by (objective, trial number), not by completion order.
  struct pending {
    const recipe* r;
    std::string stage;
    param_map tuned;
  };
  std::vector<automl_trial> trials;
  std::unique_ptr<model> best_model;
  double best_value = -std::numeric_limits<double>::infinity();
  std::size_t best_trial = 0;
  std::mutex best_mutex;
  std::int64_t stage_number = 0;
  const std::int64_t stages = 2 + (o.refit ? 1 : 0);
  const auto run_stage = [&](const std::string& stage_name, const std::vector<pending>& list) {
    const std::size_t first = trials.size();
    trials.resize(first + list.size());
    progress_reporter rep(job, stage_name, static_cast<std::int64_t>(list.size()), stage_number++, stages);
    parallel_options po;
    po.num_threads = o.num_threads;
    parallel_for(0, static_cast<std::int64_t>(list.size()), po, [&](std::int64_t i) {
      const pending& p = list[static_cast<std::size_t>(i)];
      const std::size_t number = first + static_cast<std::size_t>(i);
      automl_trial& t = trials[number];
      t.recipe = p.r->name;
      t.stage = p.stage;
      t.tuned = p.tuned;
      std::unique_ptr<model> m =
          p.r->make(detail::merge_params(detail::fixed_params(*p.r, o.seed, o.num_threads), p.tuned));
      t.params = m->params();
      try {
        const auto t0 = std::chrono::steady_clock::now();
        m->fit(inner.train, quiet);
        const auto t1 = std::chrono::steady_clock::now();
        t.validation = evaluate(*m, inner.train, inner.test, eo, quiet).value(objective);
        t.test = evaluate(*m, inner.train, outer.test, eo, quiet);
        t.fit_seconds = std::chrono::duration<double>(t1 - t0).count();
        t.evaluate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      } catch (const invalid_argument& e) {
        t.error = e.what();
      } catch (const numerical_error& e) {
        t.error = e.what();
      }
      if (t.ok()) {
        std::lock_guard<std::mutex> lock(best_mutex);
        if (t.validation > best_value || (t.validation == best_value && number < best_trial)) {
          best_value = t.validation;
          best_trial = number;
          best_model = std::move(m);
        }
        rep.set_metric("best " + objective, best_value);
      }
      rep.advance(1);
    });
    rep.finish();
  };

  // stage 1: every candidate with its defaults
  std::vector<pending> defaults;
  for (const recipe* r : candidates) defaults.push_back({r, "default", {}});
  run_stage("automl: defaults of " + std::to_string(candidates.size()) + " recipes", defaults);

  // stage 2: random search on the best recipes (all configurations drawn first, in a fixed
  // order, then trained in parallel)
  std::vector<std::pair<double, std::size_t>> ranked;  // (objective, position in candidates)
  for (std::size_t c = 0; c < candidates.size(); ++c)
    if (trials[c].ok() && !candidates[c]->search.empty()) ranked.emplace_back(trials[c].validation, c);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (ranked.size() > static_cast<std::size_t>(o.tune_top)) ranked.resize(static_cast<std::size_t>(o.tune_top));
  std::vector<pending> tuning;
  std::string tuned_names;
  for (const auto& [value, c] : ranked) {
    (void)value;
    const recipe& r = *candidates[c];
    if (!tuned_names.empty()) tuned_names += ", ";
    tuned_names += r.name;
    std::vector<param_map> tried = {trials[c].params};
    std::uint64_t draw = 0;
    for (int t = 0; t < o.trials; ++t) {
      param_map tuned, effective;
      bool fresh = false;
      for (int attempt = 0; attempt < 50 && !fresh; ++attempt, ++draw) {
        rng g(o.seed, stream_tag("automl.search"), static_cast<std::uint64_t>(c) * 1000003u + draw);
        tuned.clear();
        for (const auto& d : r.search) tuned.emplace_back(d.name, d.sample(g));
        effective = r.make(detail::merge_params(detail::fixed_params(r, o.seed, o.num_threads), tuned))->params();
        fresh = std::find(tried.begin(), tried.end(), effective) == tried.end();
      }
      if (!fresh) break;  // the space is exhausted (small choice spaces)
      tried.push_back(effective);
      tuning.push_back({&r, "tuned", tuned});
    }
  }
  if (!tuning.empty()) run_stage("automl: tuning " + tuned_names, tuning);

  // leaderboard: best validation objective first (stable: earlier trials win ties), failures last
  std::vector<std::size_t> order(trials.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (trials[a].ok() != trials[b].ok()) return trials[a].ok();
    return trials[a].ok() && trials[a].validation > trials[b].validation;
  });
  for (std::size_t i : order) result.leaderboard.push_back(std::move(trials[i]));
  RECSYS_REQUIRE(result.leaderboard.front().ok(), where, "no recipe could be trained on this data (first error: ",
                 result.leaderboard.front().error, ")");

  const automl_trial& win = result.leaderboard.front();
  if (o.refit) {
    progress_reporter rep(job, "automl: refit " + win.recipe + " on all data", 1, stage_number, stages);
    auto m = find_recipe(win.recipe).make(win.params);
    const auto t0 = std::chrono::steady_clock::now();
    m->fit(data, quiet);
    result.winner_fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.winner = std::move(m);
    result.refitted = true;
    rep.finish();
  } else {
    result.winner = std::move(best_model);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace recsys

#endif  // RECSYS_EVAL_AUTOML_INL_HPP
