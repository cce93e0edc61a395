// SPDX-License-Identifier: Apache-2.0
// Popularity-Count and Trending-Now.
#include <recsys/data/matrix.hpp>
#include <recsys/models/popularity.hpp>

#include "recsys_test.hpp"

#include <string>
#include <vector>

namespace {
using ids = std::vector<recsys::index_t>;
recsys::index_t item(const recsys::interaction_log& log, const char* id) { return log.item_ids.find(id).value(); }
recsys::index_t user(const recsys::interaction_log& log, const char* id) { return log.user_ids.find(id).value(); }
}  // namespace

TEST_CASE("popularity_count ranks by distinct users and excludes seen items", "[popularity]") {
  recsys::interaction_log log;
  log.add("u1", "a", 1);
  log.add("u1", "a", 2);  // repeat: still one user
  log.add("u1", "a", 3);
  log.add("u2", "b", 4);
  log.add("u3", "b", 5);
  log.add("u1", "c", 6);
  log.add("u2", "c", 7);
  log.add("u3", "c", 8);
  recsys::popularity_count pop;
  pop.fit(log);
  const auto all = pop.recommend(recsys::invalid_index, 10);
  CHECK(all.ids == ids{item(log, "c"), item(log, "b"), item(log, "a")});
  CHECK(all.scores == std::vector<float>{3, 2, 1});
  // u2 saw b and c
  CHECK(pop.recommend(user(log, "u2"), 10).ids == ids{item(log, "a")});
  recsys::recommend_options keep;
  keep.exclude_seen = false;
  CHECK(pop.recommend(user(log, "u2"), 2, keep).ids == ids{item(log, "c"), item(log, "b")});
  const ids cand{item(log, "a"), item(log, "b"), 99};
  const auto s = pop.score(0, cand);
  CHECK(s[0] == 1.f);
  CHECK(s[1] == 2.f);
  CHECK(std::isnan(s[2]));

  recsys::popularity_config by_events;
  by_events.distinct_users = false;
  recsys::popularity_count pop2(by_events);
  pop2.fit(log);
  CHECK(pop2.recommend(-1, 1).ids == ids{item(log, "a")});  // 3 events
}

TEST_CASE("popularity_count honours time windows", "[popularity]") {
  recsys::interaction_log log;
  const recsys::timestamp_t day = 86400;
  for (int u = 0; u < 5; ++u) log.add("old" + std::to_string(u), "old-hit", 0);
  for (int u = 0; u < 2; ++u) log.add("new" + std::to_string(u), "new-hit", 100 * day);
  recsys::popularity_config c;
  c.last_days = 30;
  recsys::popularity_count recent(c);
  recent.fit(log);
  CHECK(recent.recommend(-1, 1).ids == ids{item(log, "new-hit")});
  CHECK(recent.item_scores()[static_cast<std::size_t>(item(log, "old-hit"))] == 0.f);
  recsys::popularity_config w;
  w.from = 0;
  w.to = 1;
  recsys::popularity_count early(w);
  early.fit(log);
  CHECK(early.recommend(-1, 1).ids == ids{item(log, "old-hit")});
  // a window needs timestamps
  CHECK_THROWS_AS(early.fit(recsys::csr_matrix(2, 2)), recsys::invalid_argument);
  w.to = 0;
  CHECK_THROWS_AS(recsys::popularity_count(w), recsys::invalid_argument);
}

TEST_CASE("popularity_count fits a matrix and equals the log fit", "[popularity]") {
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed());
  for (int r = 0; r < 500; ++r)
    log.add("u" + std::to_string(g.uniform_index(40)), "i" + std::to_string(g.uniform_index(30)), r);
  recsys::popularity_count a, b;
  a.fit(log);
  b.fit(recsys::detail::seen_matrix(log));
  for (recsys::index_t u = 0; u < log.num_users(); ++u) REQUIRE(a.recommend(u, 7) == b.recommend(u, 7));
}

TEST_CASE("popularity_count input checks", "[popularity]") {
  recsys::popularity_count pop;
  CHECK_THROWS_AS(pop.recommend(0, 5), recsys::invalid_argument);  // not fitted
  recsys::interaction_log log;
  log.add("u", "i", 1);
  pop.fit(log);
  CHECK_THROWS_AS(pop.recommend(0, -1), recsys::invalid_argument);
  CHECK(pop.recommend(0, 0).empty());
  CHECK(pop.recommend(12345, 3).ids == ids{0});  // unknown user: nothing to exclude
  recsys::popularity_config c;
  CHECK_THROWS_AS(recsys::set_param(c, "last_days", "abc"), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::set_param(c, "nope", "1"), recsys::invalid_argument);
  recsys::set_param(c, "last_days", "90");
  CHECK(c.last_days == 90);
  c.last_days = -1;
  CHECK_THROWS_AS(recsys::popularity_count(c), recsys::invalid_argument);
}

TEST_CASE("trending_now ranks by growth between the last two windows", "[trending]") {
  recsys::interaction_log log;
  const recsys::timestamp_t h = 3600;
  // steady: 10 events in each hour; rising: 2 -> 12; fading: 10 -> 1; old: only long ago
  for (int e = 0; e < 10; ++e) log.add("u" + std::to_string(e), "steady", 10 * h + 10 + e);
  for (int e = 0; e < 10; ++e) log.add("v" + std::to_string(e), "steady", 11 * h + 10 + e);
  for (int e = 0; e < 2; ++e) log.add("w" + std::to_string(e), "rising", 10 * h + 20 + e);
  for (int e = 0; e < 12; ++e) log.add("x" + std::to_string(e), "rising", 11 * h + 20 + e);
  for (int e = 0; e < 10; ++e) log.add("y" + std::to_string(e), "fading", 10 * h + 30 + e);
  log.add("z", "fading", 11 * h + 30);
  for (int e = 0; e < 50; ++e) log.add("o" + std::to_string(e), "old", e);
  log.add("last", "steady", 12 * h);  // newest event: now = 12h, windows (11h,12h] and (10h,11h]
  recsys::trending_config c;
  c.window_seconds = h;
  recsys::trending_now t(c);
  t.fit(log);
  CHECK_FALSE(t.is_fallback());
  CHECK(t.reference_time() == 12 * h);
  const auto top = t.recommend(-1, 4);
  CHECK(top.ids[0] == item(log, "rising"));
  CHECK(top.scores[0] == recsys::test::Approx((12.0 - 2.0) / (2.0 + 5.0)));
  CHECK(top.ids.back() == item(log, "fading"));
  CHECK(top.is_sorted());
  // (11h, 12h] holds steady's 10 events at 11h+10.. plus the one at exactly 12h
  CHECK(t.current_counts()[static_cast<std::size_t>(item(log, "steady"))] == 11.0);
  CHECK(t.previous_counts()[static_cast<std::size_t>(item(log, "steady"))] == 10.0);
}

TEST_CASE("trending_now falls back to popularity when the last two windows are empty", "[trending]") {
  recsys::interaction_log log;
  for (int u = 0; u < 3; ++u) log.add("u" + std::to_string(u), "popular", 100);
  log.add("u9", "rare", 100);
  recsys::trending_config c;
  c.now = 1'000'000;
  recsys::trending_now t(c);
  t.fit(log);
  CHECK(t.is_fallback());
  CHECK(t.recommend(-1, 2).ids == ids{item(log, "popular"), item(log, "rare")});
  recsys::trending_config bad;
  CHECK_THROWS_AS(recsys::set_param(bad, "window", "0h"), recsys::invalid_argument);
  recsys::set_param(bad, "window", "30m");
  CHECK(bad.window_seconds == 1800);
  recsys::set_param(bad, "window", "1d");
  CHECK(bad.window_seconds == 86400);
  bad.smoothing = 0;
  CHECK_THROWS_AS(recsys::trending_now(bad), recsys::invalid_argument);
}
