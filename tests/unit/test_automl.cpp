// SPDX-License-Identifier: Apache-2.0
// AutoML (recipe choice + seeded random search) and the time-window search, on synthetic data
// with known structure: taste clusters that personalised recipes can learn, and a planted
// popularity drift that only a recent window sees.
#include <recsys/data/synthetic.hpp>
#include <recsys/eval/automl.hpp>
#include <recsys/eval/windows.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

// Users with strong taste clusters: personalised recipes beat popularity clearly here.
const recsys::interaction_log& clustered() {
  static const recsys::interaction_log log = [] {
    recsys::synthetic_config c;
    c.num_users = 400;
    c.num_items = 250;
    c.num_interactions = 14000;
    c.num_clusters = 16;
    c.cluster_affinity = 0.85;
    c.zipf_exponent = 0.6;  // flat popularity: tastes decide
    c.time_span_days = 60;
    c.seed = recsys::test::seed();
    c.num_threads = 1;
    return recsys::generate_interactions(c);
  }();
  return log;
}

// 120 days; item popularity is re-drawn for sessions in the last 30 days (the planted drift).
const recsys::interaction_log& drifting() {
  static const recsys::interaction_log log = [] {
    recsys::synthetic_config c;
    c.num_users = 600;
    c.num_items = 300;
    c.num_interactions = 24000;
    c.num_clusters = 4;
    c.cluster_affinity = 0.3;  // mostly popularity-driven: the drift dominates
    c.zipf_exponent = 1.2;
    c.time_span_days = 120;
    c.drift_days = 30;
    c.seed = recsys::test::seed() + 1;
    c.num_threads = 1;
    return recsys::generate_interactions(c);
  }();
  return log;
}

recsys::automl_options small_options() {
  recsys::automl_options o;
  o.recipes = {"popularity", "item-knn", "bpr"};
  o.tune_top = 1;
  o.trials = 3;
  o.num_threads = 2;
  o.seed = 7;
  return o;
}

// A leaderboard as comparable text (timings excluded).
std::vector<std::string> board(const recsys::automl_result& r) {
  std::vector<std::string> out;
  for (const auto& t : r.leaderboard) {
    std::string row = t.recipe + "|" + t.stage + "|" + t.error + "|";
    for (const auto& [k, v] : t.params) row += k + "=" + v + ",";
    row += "|" + std::to_string(t.validation);
    for (const auto& m : t.test.metrics) row += "|" + std::to_string(m.value);
    out.push_back(row);
  }
  return out;
}

}  // namespace

TEST_CASE("search dimensions sample inside their documented ranges as exact text", "[automl]") {
  using dim = recsys::search_dimension;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.automl"), 0);
  const dim lu = dim::log_uniform("lr", 0.001, 0.1);
  const dim ui = dim::uniform("n", 1, 5, true);
  const dim ch = dim::one_of("c", {"a", "b", ""});
  std::set<std::string> ints, choices;
  double lo = 1, hi = 0;
  int below_01 = 0;
  for (int i = 0; i < 2000; ++i) {
    const double x = std::stod(lu.sample(g));
    CHECK(x >= 0.001);
    CHECK(x <= 0.1);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    if (x < 0.01) ++below_01;  // log-uniform: half the mass lies below the geometric midpoint
    ints.insert(ui.sample(g));
    choices.insert(ch.sample(g));
  }
  CHECK(lo < 0.0015);
  CHECK(hi > 0.07);
  CHECK(below_01 > 850);
  CHECK(below_01 < 1150);
  CHECK(ints == std::set<std::string>{"1", "2", "3", "4", "5"});
  CHECK(choices == std::set<std::string>{"a", "b", ""});
  CHECK(lu.describe() == "[0.001, 0.1] log");
  CHECK(ui.describe() == "[1, 5] int");
  CHECK(ch.describe() == "{a, b, \"\"}");

  CHECK_THROWS_AS(dim::log_uniform("x", 0, 1).validate(), recsys::invalid_argument);
  CHECK_THROWS_AS(dim::uniform("x", 2, 1).validate(), recsys::invalid_argument);
  CHECK_THROWS_AS(dim::one_of("x", {}).validate(), recsys::invalid_argument);
  CHECK_THROWS_AS(dim::uniform("", 0, 1).validate(), recsys::invalid_argument);
}

TEST_CASE("every recipe's search space holds values the recipe accepts", "[automl]") {
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.automl.space"), 0);
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    CHECK(!r.search.empty());
    for (const auto& d : r.search) {
      d.validate();
      bool known = false;
      for (const auto& p : r.params) known = known || p.name == d.name;
      CHECK(known);
    }
    for (int i = 0; i < 30; ++i) {
      recsys::param_map p;
      for (const auto& d : r.search) p.emplace_back(d.name, d.sample(g));
      CHECK_NOTHROW((void)r.make(p));
    }
  }
}

TEST_CASE("automl picks a personalised recipe that beats popularity and refits it on all data", "[automl]") {
  const auto& log = clustered();
  recsys::automl_options o = small_options();
  const recsys::automl_result r = recsys::automl(log, o);

  REQUIRE(r.leaderboard.size() == 3 + 3);  // three defaults, three tuned trials of the best
  CHECK(r.objective == "ndcg@10");
  double popularity = -1;
  int defaults = 0, tuned = 0;
  for (const auto& t : r.leaderboard) {
    REQUIRE(t.ok());
    CHECK(std::isfinite(t.validation));
    CHECK(t.test.queries > 0);
    CHECK(t.fit_seconds >= 0);
    if (t.stage == "default") {
      ++defaults;
      CHECK(t.tuned.empty());
    } else {
      ++tuned;
      CHECK(t.tuned.size() == recsys::find_recipe(t.recipe).search.size());
    }
    if (t.recipe == "popularity" && t.stage == "default") popularity = t.validation;
  }
  CHECK(defaults == 3);
  CHECK(tuned == 3);
  for (std::size_t i = 1; i < r.leaderboard.size(); ++i)
    CHECK(r.leaderboard[i - 1].validation >= r.leaderboard[i].validation);

  const auto& win = r.leaderboard.front();
  CHECK(win.recipe != "popularity");
  CHECK(win.validation > 1.2 * popularity);
  // the test split (never used to choose) agrees
  double pop_test = -1;
  for (const auto& t : r.leaderboard)
    if (t.recipe == "popularity" && t.stage == "default") pop_test = t.test.value("ndcg@10");
  CHECK(win.test.value("ndcg@10") > pop_test);

  // the three event counts partition the log
  CHECK(r.search_train_events + r.validation_events + r.test_events == static_cast<std::int64_t>(log.size()));
  CHECK(r.validation_events > 0);
  REQUIRE(r.winner);
  CHECK(r.refitted);
  CHECK(r.winner->recipe() == win.recipe);
  CHECK(r.winner->params() == win.params);
  CHECK(r.winner->training().events == static_cast<std::int64_t>(log.size()));

  // the winner is an ordinary model: fitting the same recipe and parameters gives the same answers
  auto again = recsys::find_recipe(win.recipe).make(win.params);
  again->fit(log);
  for (recsys::index_t u = 0; u < 40; ++u) CHECK(again->recommend(u, 10).ids == r.winner->recommend(u, 10).ids);
}

TEST_CASE("automl is seeded: the same seed gives the same leaderboard for any thread count", "[automl]") {
  const auto& log = clustered();
  recsys::automl_options o = small_options();
  o.refit = false;
  o.num_threads = 1;
  const auto one = recsys::automl(log, o);
  o.num_threads = 2;
  const auto two = recsys::automl(log, o);
  // fixed_params passes num_threads to recipes: compare everything but that value
  auto strip = [](std::vector<std::string> rows) {
    for (auto& row : rows) {
      for (const char* t : {"num_threads=1,", "num_threads=2,"}) {
        const auto at = row.find(t);
        if (at != std::string::npos) row.erase(at, std::string(t).size());
      }
    }
    return rows;
  };
  CHECK(strip(board(one)) == strip(board(two)));
  REQUIRE(one.winner);
  CHECK(!one.refitted);
  CHECK(one.winner->training().events == one.search_train_events);

  o.seed = 8;
  const auto other = recsys::automl(log, o);
  auto tuned_configs = [](const recsys::automl_result& res) {
    std::set<std::string> out;
    for (const auto& t : res.leaderboard) {
      if (t.stage != "tuned") continue;
      std::string s = t.recipe + ":";
      for (const auto& [k, v] : t.tuned) s += k + "=" + v + ",";
      out.insert(s);
    }
    return out;
  };
  const auto a = tuned_configs(two), b = tuned_configs(other);
  CHECK(a.size() == 3);
  CHECK(a != b);  // another seed draws other configurations
}

TEST_CASE("automl never tries a configuration twice and stops when a small space is exhausted", "[automl]") {
  recsys::automl_options o;
  o.recipes = {"popularity"};  // 5 x 2 = 10 configurations, the default among them
  o.tune_top = 1;
  o.trials = 25;
  o.num_threads = 2;
  o.refit = false;
  const auto r = recsys::automl(clustered(), o);
  REQUIRE(r.leaderboard.size() == 10);
  std::set<recsys::param_map> seen;
  for (const auto& t : r.leaderboard) CHECK(seen.insert(t.params).second);
}

TEST_CASE("automl reports progress per stage and can be cancelled", "[automl]") {
  const auto& log = clustered();
  recsys::automl_options o = small_options();
  std::vector<std::string> stages;
  recsys::job_control job;
  job.report_interval = 0;
  job.progress = [&](const recsys::progress_event& e) {
    if (stages.empty() || stages.back() != e.stage) stages.push_back(e.stage);
  };
  (void)recsys::automl(log, o, job);
  REQUIRE(stages.size() == 3);
  CHECK(stages[0] == "automl: defaults of 3 recipes");
  CHECK(stages[1].rfind("automl: tuning ", 0) == 0);
  CHECK(stages[2].rfind("automl: refit ", 0) == 0);

  recsys::job_control stop;
  stop.report_interval = 0;
  std::atomic<int> reports{0};
  stop.progress = [&](const recsys::progress_event& e) {
    if (e.done >= 1 && ++reports == 1) stop.cancel.cancel();
  };
  CHECK_THROWS_AS(recsys::automl(log, o, stop), recsys::cancelled);

  recsys::job_control already;
  already.cancel.cancel();
  CHECK_THROWS_AS(recsys::automl(log, o, already), recsys::cancelled);
}

TEST_CASE("automl rejects bad options", "[automl]") {
  const auto& log = clustered();
  recsys::automl_options o = small_options();
  o.trials = -1;
  CHECK_THROWS_AS(recsys::automl(log, o), recsys::invalid_argument);
  o = small_options();
  o.tune_top = -2;
  CHECK_THROWS_AS(recsys::automl(log, o), recsys::invalid_argument);
  o = small_options();
  o.validation_user_fraction = 1.0;
  CHECK_THROWS_AS(recsys::automl(log, o), recsys::invalid_argument);
  o = small_options();
  o.recipes = {"no-such-recipe"};
  CHECK_THROWS_AS(recsys::automl(log, o), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::automl(recsys::interaction_log{}, small_options()), recsys::invalid_argument);
}

TEST_CASE("the window search finds the planted drift window", "[windows]") {
  const auto& log = drifting();
  const auto [first, last] = log.time_range();
  (void)first;
  recsys::window_search_options o;
  o.window_days = {60, 7, 20};  // reported ascending
  o.split.kind = recsys::split_spec::method::temporal;
  o.split.cut = last - 10 * 86400;  // test: the last 10 days, all inside the drift (last 30 days)
  o.num_threads = 2;
  const auto r = recsys::search_time_windows(log, "popularity", o);
  REQUIRE(r.trials.size() == 4);
  CHECK(r.trials[0].label == "last 7 days");
  CHECK(r.trials[1].label == "last 20 days");
  CHECK(r.trials[2].label == "last 60 days");
  CHECK(r.trials[3].label == "all time");
  CHECK(r.trials[0].train_events < r.trials[1].train_events);
  CHECK(r.trials[1].train_events < r.trials[2].train_events);
  CHECK(r.trials[2].train_events < r.trials[3].train_events);
  for (const auto& t : r.trials) CHECK(std::isfinite(t.objective));
  // the drift started 20 days before the cut: windows inside it beat the ones reaching back
  const double inside = std::max(r.trials[0].objective, r.trials[1].objective);
  CHECK(r.best <= 1);
  CHECK(inside > 1.5 * r.trials[3].objective);
  CHECK(inside > r.trials[2].objective);
  CHECK(r.trials[r.best].objective == inside);
  CHECK(r.test_events > 0);
  CHECK(r.newest < o.split.cut);
}

TEST_CASE("half-life rows decay old events and help under drift", "[windows]") {
  const auto& log = drifting();
  const auto last = log.time_range().second;
  recsys::window_search_options o;
  o.window_days = {365};  // longer than the data: same as all time, fitted once
  o.half_life_days = {5};
  o.split.kind = recsys::split_spec::method::temporal;
  o.split.cut = last - 10 * 86400;
  o.num_threads = 2;
  const auto r = recsys::search_time_windows(log, "item-knn", o);
  REQUIRE(r.trials.size() == 3);
  CHECK(r.trials[0].same_as_all_time);
  CHECK(r.trials[0].objective == r.trials[1].objective);
  CHECK(r.trials[2].label == "all time, half-life 5 days");
  CHECK(r.trials[2].objective > r.trials[1].objective);
  CHECK(r.best == 2);

  o.combine = true;
  o.window_days = {20};
  const auto c = recsys::search_time_windows(log, "item-knn", o);
  REQUIRE(c.trials.size() == 4);
  CHECK(c.trials[2].label == "last 20 days, half-life 5 days");
  CHECK(c.trials[3].label == "all time, half-life 5 days");

  // a recipe without time decay cannot take a half-life
  CHECK_THROWS_AS(recsys::search_time_windows(log, "popularity", o), recsys::invalid_argument);
  recsys::window_search_options bad;
  bad.window_days = {0};
  CHECK_THROWS_AS(recsys::search_time_windows(log, "popularity", bad), recsys::invalid_argument);
  bad.window_days = {30};
  bad.params = {{"no_such_param", "1"}};
  CHECK_THROWS_AS(recsys::search_time_windows(log, "popularity", bad), recsys::invalid_argument);
}

TEST_CASE("the window search reports per row and can be cancelled", "[windows]") {
  const auto& log = drifting();
  recsys::window_search_options o;
  o.num_threads = 2;
  std::vector<std::string> stages;
  recsys::job_control job;
  job.progress = [&](const recsys::progress_event& e) {
    if (stages.empty() || stages.back() != e.stage) stages.push_back(e.stage);
  };
  const auto r = recsys::search_time_windows(log, "popularity", o, job);
  REQUIRE(r.trials.size() == 5);
  std::vector<std::string> expected;
  for (const auto& t : r.trials) expected.push_back("windows: " + t.label);
  CHECK(stages == expected);
  // 30 and 91 days cut the 120-day log; 182 and 365 days hold all of it (one fit serves them)
  CHECK(!r.trials[0].same_as_all_time);
  CHECK(!r.trials[1].same_as_all_time);
  CHECK(r.trials[2].label == "last 182 days");
  CHECK(r.trials[2].same_as_all_time);
  CHECK(r.trials[3].same_as_all_time);
  CHECK(r.trials[2].objective == r.trials[4].objective);
  CHECK(r.trials[3].objective == r.trials[4].objective);
  CHECK(r.trials[1].train_events < r.trials[4].train_events);

  recsys::job_control stop;
  stop.progress = [&](const recsys::progress_event&) { stop.cancel.cancel(); };
  CHECK_THROWS_AS(recsys::search_time_windows(log, "popularity", o, stop), recsys::cancelled);
}
