// SPDX-License-Identifier: Apache-2.0
// Ingestion rules (apply_rules, apply_window, compute_pruning_bounds, compact) and the session
// builder's accounting of what it leaves out.
#include <recsys/data/ingest.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/grouping.hpp>  // detail::lower_quantile
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace names = recsys::ingest_rule_names;
using recsys::test::Approx;

namespace {

constexpr recsys::timestamp_t day = 86400;
const float no_value = std::nanf("");

/// Every input row is kept, merged, bad or removed by exactly one rule.
void check_accounting(const recsys::load_report& r, std::size_t rows) {
  std::int64_t removed = 0;
  for (const auto& [name, n] : r.removed) removed += n;
  CHECK(r.rows_kept == static_cast<std::int64_t>(rows));
  CHECK(r.rows_read == r.rows_kept + r.rows_bad + r.rows_merged + removed);
}

using recsys::test::id;

/// A random log whose EVENT_VALUE is the row number (so output rows can be traced back).
recsys::interaction_log random_log(std::uint64_t seed, std::uint32_t users, std::uint32_t items, int events) {
  recsys::interaction_log log;
  recsys::rng r(seed, recsys::stream_tag("test.ingest"), 0);
  const char* types[] = {"view", "click", "purchase"};
  for (int e = 0; e < events; ++e) {
    const auto u = r.uniform_index(users);
    const auto i = r.uniform_index(1 + r.uniform_index(items));  // skewed
    const auto t = 100 * r.uniform_index(40);  // one draw per statement: argument order is unspecified
    const char* type = types[r.uniform_index(3)];
    log.add(id("u", u), id("i", i), t, type, static_cast<float>(e));
    log.weights.back() = static_cast<float>(1 + r.uniform_index(4));
  }
  return log;
}

std::vector<int> row_tags(const recsys::interaction_log& log) {
  std::vector<int> t;
  for (float v : log.event_values) t.push_back(static_cast<int>(v));
  return t;
}

}  // namespace

TEST_CASE("apply_rules with no rules returns the log unchanged", "[ingest]") {
  const auto log = random_log(recsys::test::seed(), 10, 10, 50);
  const auto out = recsys::apply_rules(log, {});
  CHECK(out.users == log.users);
  CHECK(out.weights == log.weights);
  CHECK(out.report.removed.empty());
  check_accounting(out.report, 50);
}

TEST_CASE("time window: absolute from (inclusive) and to (exclusive), and the last N days before the newest event",
          "[ingest][window]") {
  recsys::interaction_log log;
  for (int d = 0; d < 6; ++d) log.add("u", id("i", static_cast<std::uint32_t>(d)), d * day);

  recsys::ingest_rules rules;
  rules.window.from = 1 * day;
  rules.window.to = 4 * day;
  auto out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{1 * day, 2 * day, 3 * day});
  CHECK(out.report.removed_by(names::time_window) == 3);
  CHECK(out.num_items() == 6);  // id maps kept whole
  check_accounting(out.report, 3);

  rules.window = {};
  rules.window.last_days = 2;  // newest = day 5: keep t >= day 3 (inclusive)
  out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{3 * day, 4 * day, 5 * day});
  CHECK(out.report.removed_by(names::last_days) == 3);
  CHECK(out.report.removed_by(names::time_window) == 0);

  rules.window.to = 4 * day;  // "the 1.5 days before day 4": newest inside is day 3
  rules.window.last_days = 1.5;
  out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{2 * day, 3 * day});
  CHECK(out.report.removed_by(names::time_window) == 2);
  CHECK(out.report.removed_by(names::last_days) == 2);
  check_accounting(out.report, 2);

  rules.window = {};
  rules.window.from = 9 * day;  // a set rule that removes everything still reports
  out = recsys::apply_window(log, rules.window);
  CHECK(out.empty());
  CHECK(out.report.removed_by(names::time_window) == 6);

  rules.window = {};
  rules.window.last_days = 0.0;
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);
  rules.window.last_days = std::nan("");
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);
  rules.window = {};
  rules.window.from = 5;
  rules.window.to = 5;
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);
}

TEST_CASE("event types are chosen case-insensitively, typos and missing columns are errors", "[ingest]") {
  recsys::interaction_log log;
  log.add("u", "a", 1, "click");
  log.add("u", "b", 2, "Click");
  log.add("u", "c", 3, "PURCHASE");
  log.add("u", "d", 4, "view");
  log.add("u", "e", 5);  // no type
  recsys::ingest_rules rules;
  rules.event_types = {"CLICK", "purchase"};
  const auto out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{1, 2, 3});
  CHECK(out.report.removed_by(names::event_type) == 2);
  check_accounting(out.report, 3);

  rules.event_types = {"click", "purchse"};
  try {
    (void)recsys::apply_rules(log, rules);
    FAIL("expected invalid_argument");
  } catch (const recsys::invalid_argument& e) {
    CHECK(std::string(e.what()).find("'purchse'") != std::string::npos);
    CHECK(std::string(e.what()).find("'PURCHASE'") != std::string::npos);  // lists the known types
  }
  recsys::interaction_log untyped;
  untyped.add("u", "a", 1);
  rules.event_types = {"click"};
  CHECK_THROWS_AS(recsys::apply_rules(untyped, rules), recsys::invalid_argument);
}

TEST_CASE("EVENT_VALUE thresholds, global and per type, with missing values reported apart", "[ingest]") {
  recsys::interaction_log log;
  log.add("u", "a", 1, "click", 1.0f);
  log.add("u", "b", 2, "click", 5.0f);
  log.add("u", "c", 3, "purchase", no_value);
  log.add("u", "d", 4, "purchase", 3.0f);
  log.add("u", "e", 5, "view", 0.5f);
  log.add("u", "f", 6, "purchase", 4.0f);
  recsys::ingest_rules rules;
  rules.event_value_threshold = 1.0f;  // value >= 1 kept
  auto out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{1, 2, 4, 6});
  CHECK(out.report.removed_by(names::event_value_missing) == 1);
  CHECK(out.report.removed_by(names::event_value_threshold) == 1);
  check_accounting(out.report, 4);

  rules.event_value_threshold.reset();
  rules.event_parameters = {{"Purchase", 1.0f, 4.0f}};  // only purchases are thresholded
  out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{1, 2, 5, 6});
  CHECK(out.report.removed_by(names::event_value_missing) == 1);
  CHECK(out.report.removed_by(names::event_value_threshold) == 1);

  rules.event_value_threshold = 2.0f;  // both apply: the larger threshold wins per row
  out = recsys::apply_rules(log, rules);
  CHECK(out.timestamps == std::vector<recsys::timestamp_t>{2, 6});

  recsys::interaction_log no_values;
  no_values.add("u", "a", 1, "click");
  rules = {};
  rules.event_value_threshold = 1.0f;
  CHECK_THROWS_AS(recsys::apply_rules(no_values, rules), recsys::invalid_argument);
}

TEST_CASE("weights: per event type, default, EVENT_VALUE factor, multiplying existing weights", "[ingest]") {
  recsys::interaction_log log;
  log.add("u", "a", 1, "click", 1.0f);
  log.add("u", "b", 2, "purchase", 3.0f);
  log.add("u", "c", 3, "view", 0.5f);
  log.add("u", "d", 4, "", no_value);
  log.weights[0] = 3.0f;
  recsys::ingest_rules rules;
  rules.event_parameters = {{"CLICK", 2.0f, {}}, {"purchase", 10.0f, {}}};
  rules.default_weight = 0.5f;
  auto out = recsys::apply_rules(log, rules);
  CHECK(out.weights == std::vector<float>{6.0f, 10.0f, 0.5f, 0.5f});
  CHECK(out.report.removed.empty());

  rules.event_value_as_weight = true;
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);  // row 3 has no value
  rules.missing_value_weight = 1.0f;
  out = recsys::apply_rules(log, rules);
  CHECK(out.weights == std::vector<float>{6.0f, 30.0f, 0.25f, 0.5f});

  rules.event_parameters = {{"click", 2.0f, {}}, {"Click", 1.0f, {}}};
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);  // listed twice
  rules.event_parameters = {{"click", std::nanf(""), {}}};
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);
}

TEST_CASE("dedupe policies on a hand example: which row survives and its weight", "[ingest][dedupe]") {
  recsys::interaction_log log;
  log.add("u", "a", 10, "click", 0.0f);
  log.add("u", "a", 30, "purchase", 1.0f);
  log.add("u", "a", 30, "view", 2.0f);  // ties row 1 on time; later in the log
  log.add("u", "b", 5, "view", 3.0f);
  log.add("v", "a", 1, "view", 4.0f);
  log.weights = {1.0f, 5.0f, 2.0f, 4.0f, 1.0f};
  auto run = [&](recsys::dedupe_policy p) {
    recsys::ingest_rules rules;
    rules.dedupe = p;
    auto out = recsys::apply_rules(log, rules);
    check_accounting(out.report, out.size());
    return out;
  };
  auto out = run(recsys::dedupe_policy::none);
  CHECK(out.size() == 5);
  CHECK(out.report.rows_merged == 0);

  out = run(recsys::dedupe_policy::sum);
  CHECK(row_tags(out) == std::vector<int>{2, 3, 4});  // the latest row, at its own position
  CHECK(out.weights == std::vector<float>{8.0f, 4.0f, 1.0f});
  CHECK(out.report.rows_merged == 2);
  CHECK(out.event_type_names.id(out.event_types[0]) == "view");

  out = run(recsys::dedupe_policy::max);
  CHECK(row_tags(out) == std::vector<int>{1, 3, 4});
  CHECK(out.weights == std::vector<float>{5.0f, 4.0f, 1.0f});
  CHECK(out.timestamps[0] == 30);

  out = run(recsys::dedupe_policy::latest);
  CHECK(row_tags(out) == std::vector<int>{2, 3, 4});
  CHECK(out.weights == std::vector<float>{2.0f, 4.0f, 1.0f});

  out = run(recsys::dedupe_policy::count);
  CHECK(row_tags(out) == std::vector<int>{2, 3, 4});
  CHECK(out.weights == std::vector<float>{3.0f, 1.0f, 1.0f});

  log.weights[2] = 5.0f;  // max tie: the later row wins
  out = run(recsys::dedupe_policy::max);
  CHECK(row_tags(out) == std::vector<int>{2, 3, 4});
}

TEST_CASE("dedupe matches a naive reference on random logs", "[ingest][dedupe]") {
  const auto seed = recsys::test::seed();
  INFO("seed " << seed);
  const auto log = random_log(seed, 15, 30, 600);
  for (auto p : {recsys::dedupe_policy::sum, recsys::dedupe_policy::max, recsys::dedupe_policy::latest,
                 recsys::dedupe_policy::count}) {
    INFO("policy " << static_cast<int>(p));
    // naive: for each pair, scan all rows in log order
    std::map<std::pair<int, int>, std::pair<std::size_t, double>> want;  // pair -> (row kept, weight)
    std::map<std::pair<int, int>, int> group_size;
    for (std::size_t r = 0; r < log.size(); ++r) {
      const std::pair<int, int> key{log.users[r], log.items[r]};
      const double w = log.weights[r];
      auto it = want.find(key);
      ++group_size[key];
      if (it == want.end()) {
        want[key] = {r, p == recsys::dedupe_policy::count ? 1.0 : w};
        continue;
      }
      auto& [rep, acc] = it->second;
      const bool later = log.timestamps[r] >= log.timestamps[rep];
      switch (p) {
        case recsys::dedupe_policy::sum:
          acc += w;
          if (later) rep = r;
          break;
        case recsys::dedupe_policy::count:
          acc += 1;
          if (later) rep = r;
          break;
        case recsys::dedupe_policy::latest:
          if (later) rep = r, acc = w;
          break;
        default:
          if (w > acc || (w == acc && later)) rep = r, acc = w;
      }
    }
    recsys::ingest_rules rules;
    rules.dedupe = p;
    const auto out = recsys::apply_rules(log, rules);
    REQUIRE(out.size() == want.size());
    std::vector<int> expect_rows;
    for (const auto& [k, v] : want) expect_rows.push_back(static_cast<int>(v.first));
    std::sort(expect_rows.begin(), expect_rows.end());
    CHECK(row_tags(out) == expect_rows);  // kept rows, in log order
    for (std::size_t r = 0; r < out.size(); ++r)
      CHECK(out.weights[r] == Approx(want[{out.users[r], out.items[r]}].second));
    std::int64_t merged = 0;
    for (const auto& [k, n] : group_size) merged += n - 1;
    CHECK(out.report.rows_merged == merged);
    check_accounting(out.report, out.size());
  }
}

TEST_CASE("percentile pruning of users by history length (hand example)", "[ingest][percentile]") {
  // user k (1..10) has k events on distinct items
  recsys::interaction_log log;
  for (std::uint32_t k = 1; k <= 10; ++k)
    for (std::uint32_t e = 0; e < k; ++e) log.add(id("u", k), id("i", 100 * k + e), e);
  recsys::percentile_pruning p;
  p.min_user_history_length_percentile = 0.2;  // sorted lengths 1..10: index floor(0.2*9)=1 -> 2
  p.max_user_history_length_percentile = 0.8;  // index floor(0.8*9)=7 -> 8
  const auto b = recsys::compute_pruning_bounds(log, p);
  CHECK(b.min_user_history == 2);
  CHECK(b.max_user_history == 8);
  recsys::ingest_rules rules;
  rules.pruning = p;
  const auto out = recsys::apply_rules(log, rules);
  CHECK(out.report.removed_by(names::min_user_history) == 1);
  CHECK(out.report.removed_by(names::max_user_history) == 9 + 10);
  CHECK(out.report.removed_by(names::min_item_count) == 0);  // not set: not reported
  CHECK(std::none_of(out.report.removed.begin(), out.report.removed.end(),
                     [](const auto& e) { return e.first == names::min_item_count; }));
  check_accounting(out.report, 55 - 20);

  // 0.29 * 9 = 2.61 -> index 2; and 0.29 with 101 values -> index 29 despite rounding
  std::vector<std::int64_t> v(101);
  for (std::size_t k = 0; k < v.size(); ++k) v[k] = static_cast<std::int64_t>(k);
  CHECK(recsys::detail::lower_quantile(v, 0.29) == 29);
  CHECK(recsys::detail::lower_quantile(v, 1.0) == 100);
  CHECK(recsys::detail::lower_quantile(v, 0.0) == 0);

  p.min_user_history_length_percentile = 0.9;
  p.max_user_history_length_percentile = 0.1;
  CHECK_THROWS_AS(recsys::compute_pruning_bounds(log, p), recsys::invalid_argument);
  rules.pruning = {};
  rules.pruning.max_item_interaction_count_percentile = 1.5;
  CHECK_THROWS_AS(recsys::apply_rules(log, rules), recsys::invalid_argument);
}

TEST_CASE("percentile pruning matches a naive reference (users and items together)", "[ingest][percentile]") {
  const auto seed = recsys::test::seed();
  INFO("seed " << seed);
  recsys::rng r(seed, recsys::stream_tag("test.percentiles"), 0);
  for (int trial = 0; trial < 6; ++trial) {
    const auto log = random_log(seed + static_cast<std::uint64_t>(trial), 40, 60, 900);
    recsys::percentile_pruning p;
    p.min_user_history_length_percentile = 0.3 * r.uniform_double();
    p.max_user_history_length_percentile = 1.0 - 0.3 * r.uniform_double();
    p.min_item_interaction_count_percentile = 0.3 * r.uniform_double();
    p.max_item_interaction_count_percentile = 1.0 - 0.3 * r.uniform_double();
    // naive: counts, sorted samples, numpy "lower" quantiles
    std::map<int, std::int64_t> uc, ic;
    for (std::size_t k = 0; k < log.size(); ++k) ++uc[log.users[k]], ++ic[log.items[k]];
    auto bounds = [](const std::map<int, std::int64_t>& c, double lo, double hi) {
      std::vector<std::int64_t> s;
      for (const auto& [key, n] : c) s.push_back(n);
      std::sort(s.begin(), s.end());
      const double m = static_cast<double>(s.size() - 1);
      return std::pair{s[static_cast<std::size_t>(std::floor(lo * m + 1e-9))],
                       s[static_cast<std::size_t>(std::floor(hi * m + 1e-9))]};
    };
    const auto [ulo, uhi] = bounds(uc, p.min_user_history_length_percentile, p.max_user_history_length_percentile);
    const auto [ilo, ihi] =
        bounds(ic, p.min_item_interaction_count_percentile, p.max_item_interaction_count_percentile);
    std::vector<int> expect;
    std::int64_t removed[4] = {0, 0, 0, 0};
    for (std::size_t k = 0; k < log.size(); ++k) {
      const auto u = uc[log.users[k]], i = ic[log.items[k]];
      if (u < ulo)
        ++removed[0];
      else if (u > uhi)
        ++removed[1];
      else if (i < ilo)
        ++removed[2];
      else if (i > ihi)
        ++removed[3];
      else
        expect.push_back(static_cast<int>(k));
    }
    recsys::ingest_rules rules;
    rules.pruning = p;
    const auto out = recsys::apply_rules(log, rules);
    CHECK(row_tags(out) == expect);
    CHECK(out.report.removed_by(names::min_user_history) == removed[0]);
    CHECK(out.report.removed_by(names::max_user_history) == removed[1]);
    CHECK(out.report.removed_by(names::min_item_count) == removed[2]);
    CHECK(out.report.removed_by(names::max_item_count) == removed[3]);
    check_accounting(out.report, out.size());
  }
}

TEST_CASE("the rule order is the documented one", "[ingest]") {
  SECTION("window before event types: 'newest' is the newest event of any type") {
    recsys::interaction_log log;
    for (int d = 0; d < 5; ++d) log.add("u", id("p", static_cast<std::uint32_t>(d)), d * day, "purchase");
    log.add("u", "x", 10 * day, "click");
    recsys::ingest_rules rules;
    rules.event_types = {"purchase"};
    rules.window.last_days = 7;  // newest = day 10 (a click): start day 3
    const auto out = recsys::apply_rules(log, rules);
    CHECK(out.timestamps == std::vector<recsys::timestamp_t>{3 * day, 4 * day});
    CHECK(out.report.removed_by(names::last_days) == 3);
    CHECK(out.report.removed_by(names::event_type) == 1);
    CHECK(out.report.removed[0].first == names::last_days);  // listed in the order applied
  }
  SECTION("dedupe before percentile pruning: history length counts distinct items") {
    recsys::interaction_log log;
    for (int k = 0; k < 5; ++k) log.add("A", "x", k);
    log.add("B", "x", 0);
    log.add("B", "y", 1);
    log.add("C", "x", 0);
    log.add("C", "y", 1);
    log.add("C", "z", 2);
    recsys::ingest_rules rules;
    rules.pruning.min_user_history_length_percentile = 0.5;
    auto out = recsys::apply_rules(log, rules);  // lengths {5, 2, 3}: bound 3, B removed
    CHECK(out.report.removed_by(names::min_user_history) == 2);
    CHECK(std::count(out.users.begin(), out.users.end(), 1) == 0);
    rules.dedupe = recsys::dedupe_policy::sum;
    out = recsys::apply_rules(log, rules);  // lengths {1, 2, 3}: bound 2, A removed
    CHECK(out.report.rows_merged == 4);
    CHECK(out.report.removed_by(names::min_user_history) == 1);
    CHECK(std::count(out.users.begin(), out.users.end(), 0) == 0);
    check_accounting(out.report, 5);
  }
  SECTION("weights before dedupe: sum and max see the weighted events") {
    recsys::interaction_log log;
    log.add("u", "a", 1, "view");
    log.add("u", "a", 2, "purchase");
    recsys::ingest_rules rules;
    rules.event_parameters = {{"purchase", 4.0f, {}}};
    rules.dedupe = recsys::dedupe_policy::sum;
    CHECK(recsys::apply_rules(log, rules).weights == std::vector<float>{5.0f});
  }
}

TEST_CASE("every rule together keeps the report balanced on random logs", "[ingest]") {
  const auto seed = recsys::test::seed();
  for (int trial = 0; trial < 5; ++trial) {
    auto log = random_log(seed + 100 + static_cast<std::uint64_t>(trial), 30, 40, 800);
    recsys::ingest_rules rules;
    rules.window.from = 300;
    rules.window.last_days = 3000.0 / 86400.0;
    rules.event_types = {"click", "PURCHASE"};
    rules.event_parameters = {{"purchase", 3.0f, 50.0f}};
    rules.event_value_threshold = 10.0f;
    rules.dedupe = static_cast<recsys::dedupe_policy>(trial);
    rules.pruning.min_user_history_length_percentile = 0.1;
    rules.pruning.max_item_interaction_count_percentile = 0.95;
    const auto out = recsys::apply_rules(log, rules);
    INFO(out.report.summary());
    check_accounting(out.report, out.size());
    CHECK(out.num_users() == log.num_users());
    CHECK(out.num_items() == log.num_items());
    CHECK_NOTHROW(out.validate());
    for (std::size_t k = 0; k < out.size(); ++k) {
      CHECK(out.timestamps[k] >= 300);
      CHECK(out.event_values[k] >= 10.0f);
    }
  }
}

TEST_CASE("compact drops ids without events and returns the old -> new maps", "[ingest]") {
  recsys::interaction_log log;
  log.add("u0", "a", 1);
  log.add("u1", "b", 2);
  log.add("u2", "c", 3);
  log.add("u3", "a", 4);
  log.add("u4", "d", 5);
  auto sub = log.subset({true, false, true, false, true}, "test");
  const auto maps = recsys::compact(sub);
  CHECK(maps.user_map == std::vector<recsys::index_t>{0, -1, 1, -1, 2});
  CHECK(maps.item_map == std::vector<recsys::index_t>{0, -1, 1, 2});
  CHECK(sub.user_ids.ids() == std::vector<std::string>{"u0", "u2", "u4"});
  CHECK(sub.item_ids.ids() == std::vector<std::string>{"a", "c", "d"});
  CHECK(sub.users == std::vector<recsys::index_t>{0, 1, 2});
  CHECK(sub.items == std::vector<recsys::index_t>{0, 1, 2});
  CHECK(sub.user_ids.find("u4").value() == 2);
  CHECK_NOTHROW(sub.validate());
}

TEST_CASE("build_sessions reports the sessions and events it leaves out", "[sessions]") {
  recsys::interaction_log log;
  log.add("u", "a", 0, "", no_value, "s1");
  log.add("u", "b", 10, "", no_value, "s1");
  log.add("u", "c", 20, "", no_value, "s2");  // a single-event session
  log.add("u", "d", 30);                      // no SESSION_ID
  log.add("v", "a", 40, "", no_value, "s3");
  log.add("v", "e", 50, "", no_value, "s3");
  log.add("v", "f", 60, "", no_value, "s3");
  recsys::session_options o;
  o.min_length = 2;
  auto s = recsys::build_sessions(log, o);
  CHECK(s.size() == 2);
  CHECK(s.dropped_sessions == 1);
  CHECK(s.dropped_events == 1);
  CHECK(s.events_without_session == 1);
  CHECK(static_cast<std::int64_t>(s.num_events()) + s.dropped_events + s.events_without_session ==
        static_cast<std::int64_t>(log.size()));

  o.from = recsys::session_options::source::inactivity_gap;
  o.gap_seconds = 10;  // exactly the gap continues a session
  o.min_length = 3;
  s = recsys::build_sessions(log, o);
  CHECK(s.size() == 2);  // u: 0..30, v: 40..60
  CHECK(s.length(0) == 4);
  CHECK(s.events_without_session == 0);
  CHECK(s.dropped_sessions == 0);
}
