// SPDX-License-Identifier: Apache-2.0
// Splits: Personalize's protocol, leave-last-n, temporal, random, session-time; spec parsing.
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/split.hpp>
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace split_names = recsys::split_rule_names;

namespace {

using recsys::test::id;

/// A random log whose EVENT_VALUE is the row number; timestamps with many ties.
recsys::interaction_log random_split_log(std::uint64_t seed, std::uint32_t users, std::uint32_t items, int events) {
  recsys::interaction_log log;
  recsys::rng r(seed, recsys::stream_tag("test.split"), 0);
  for (int e = 0; e < events; ++e) {
    const auto u = r.uniform_index(users);  // one draw per statement: argument order is unspecified
    const auto i = r.uniform_index(items);
    const auto t = 10 * r.uniform_index(30);
    log.add(id("u", u), id("i", i), t, "", static_cast<float>(e));
  }
  return log;
}

std::vector<int> tags(const recsys::interaction_log& log) {
  std::vector<int> t;
  for (float v : log.event_values) t.push_back(static_cast<int>(v));
  return t;
}

/// Both sides keep the id maps; every input row is in exactly one side unless a rule removed it,
/// and each side's report accounts for all input rows.
void check_partition(const recsys::interaction_log& log, const recsys::split& s, std::int64_t removed = 0) {
  CHECK(s.train.user_ids == log.user_ids);
  CHECK(s.train.item_ids == log.item_ids);
  CHECK(s.test.user_ids == log.user_ids);
  CHECK(s.test.item_ids == log.item_ids);
  auto a = tags(s.train), b = tags(s.test);
  std::set<int> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  CHECK(all.size() == a.size() + b.size());  // disjoint
  CHECK(static_cast<std::int64_t>(all.size()) + removed == static_cast<std::int64_t>(log.size()));
  CHECK(std::is_sorted(a.begin(), a.end()));  // log order kept
  CHECK(std::is_sorted(b.begin(), b.end()));
  for (const auto* side : {&s.train, &s.test}) {
    std::int64_t gone = 0;
    for (const auto& [name, n] : side->report.removed) gone += n;
    CHECK(side->report.rows_kept == static_cast<std::int64_t>(side->size()));
    CHECK(side->report.rows_read == side->report.rows_kept + gone);
  }
  const auto mtrain = recsys::build_matrix(s.train), mtest = recsys::build_matrix(s.test);
  CHECK(mtrain.rows() == mtest.rows());
  CHECK(mtrain.cols() == mtest.cols());
}

/// (timestamp, row) of a log row: the order in which "older" is decided.
std::pair<recsys::timestamp_t, int> age(const recsys::interaction_log& log, std::size_t r) {
  return {log.timestamps[r], static_cast<int>(log.event_values[r])};
}

bool same(const recsys::split& a, const recsys::split& b) {
  return tags(a.train) == tags(b.train) && tags(a.test) == tags(b.test);
}

}  // namespace

TEST_CASE("personalize split: 10% of users, oldest 90% to train, newest 10% as targets", "[split]") {
  const auto seed = recsys::test::seed();
  INFO("seed " << seed);
  const auto log = random_split_log(seed, 300, 50, 6000);
  const auto s = recsys::personalize_split(log, seed);
  check_partition(log, s);

  std::map<int, int> n_events;
  for (auto u : log.users) ++n_events[u];
  const std::set<int> test_users(s.test.users.begin(), s.test.users.end());
  CHECK(test_users.size() == static_cast<std::size_t>(std::llround(0.1 * static_cast<double>(n_events.size()))));
  for (int u : test_users) {
    INFO("user " << u);
    std::vector<std::pair<recsys::timestamp_t, int>> train_ages, test_ages;
    for (std::size_t r = 0; r < s.train.size(); ++r)
      if (s.train.users[r] == u) train_ages.push_back(age(s.train, r));
    for (std::size_t r = 0; r < s.test.size(); ++r)
      if (s.test.users[r] == u) test_ages.push_back(age(s.test, r));
    const auto n = static_cast<std::int64_t>(n_events[u]);
    const auto want = n == 1 ? 1 : std::clamp<std::int64_t>(std::llround(0.1 * static_cast<double>(n)), 1, n - 1);
    CHECK(static_cast<std::int64_t>(test_ages.size()) == want);
    if (!train_ages.empty())  // every history event is older than every target (ties: log order)
      CHECK(*std::max_element(train_ages.begin(), train_ages.end()) <
            *std::min_element(test_ages.begin(), test_ages.end()));
  }
  CHECK(s.train.report.removed_by(split_names::to_test) == static_cast<std::int64_t>(s.test.size()));
  CHECK(s.test.report.removed_by(split_names::to_train) == static_cast<std::int64_t>(s.train.size()));
}

TEST_CASE("personalize split on a hand example: ties on time go by log order", "[split]") {
  recsys::interaction_log log;
  for (std::uint32_t u = 0; u < 10; ++u)
    for (std::uint32_t e = 0; e < 10; ++e)
      log.add(id("u", u), id("i", e), e < 5 ? 7 : 9, "", static_cast<float>(10 * u + e));
  log.add("lonely", "i0", 1, "", 100.0f);  // 11 users -> round(1.1) = 1 held out
  recsys::personalize_split_options o;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto s = recsys::personalize_split(log, seed, o);
    REQUIRE(s.test.size() == 1);
    const int tag = tags(s.test)[0];
    CHECK((tag == 100 || tag % 10 == 9));  // the newest event; among equal times the last logged
  }
  o.user_fraction = 1.0;     // everyone held out: 9 history events each, the lonely user's event is a target
  o.target_fraction = 0.25;  // round(2.5) = 3 targets
  const auto s = recsys::personalize_split(log, 1, o);
  CHECK(s.test.size() == 10 * 3 + 1);
  CHECK(s.train.size() == 10 * 7);
  o.target_fraction = 1.0;
  CHECK_THROWS_AS(recsys::personalize_split(log, 1, o), recsys::invalid_argument);
  o.target_fraction = 0.1;
  o.user_fraction = 0.0;
  CHECK_THROWS_AS(recsys::personalize_split(log, 1, o), recsys::invalid_argument);
}

TEST_CASE("splits are deterministic: same seed same result, seeds differ, thread count does not matter", "[split]") {
  const auto seed = recsys::test::seed();
  const auto log = random_split_log(seed, 6000, 200, 30000);  // > 4096 users: per-user sorting runs in parallel
  recsys::personalize_split_options o;
  o.num_threads = 1;
  const auto a = recsys::personalize_split(log, seed, o);
  o.num_threads = 2;
  const auto b = recsys::personalize_split(log, seed, o);
  o.num_threads = 0;
  const auto c = recsys::personalize_split(log, seed, o);
  CHECK(same(a, b));
  CHECK(same(a, c));
  CHECK_FALSE(same(a, recsys::personalize_split(log, seed + 1, o)));
  CHECK(same(recsys::leave_last_split(log, 2, 1), recsys::leave_last_split(log, 2, 2)));
  CHECK(same(recsys::random_split(log, 0.2, seed), recsys::random_split(log, 0.2, seed)));
  CHECK_FALSE(same(recsys::random_split(log, 0.2, seed), recsys::random_split(log, 0.2, seed + 1)));
}

TEST_CASE("leave-last-n: the newest n of each user with more than n events", "[split]") {
  recsys::interaction_log log;
  log.add("a", "x", 5, "", 0);
  log.add("a", "y", 1, "", 1);
  log.add("a", "z", 5, "", 2);  // ties row 0 on time; later in the log = newer
  log.add("b", "x", 3, "", 3);
  log.add("b", "y", 4, "", 4);
  const auto s = recsys::leave_last_split(log, 2);
  CHECK(tags(s.test) == std::vector<int>{0, 2});
  CHECK(tags(s.train) == std::vector<int>{1, 3, 4});  // b has only 2 events: all train
  check_partition(log, s);
  CHECK(tags(recsys::leave_last_split(log, 1).test) == std::vector<int>{2, 4});
  CHECK_THROWS_AS(recsys::leave_last_split(log, 0), recsys::invalid_argument);

  const auto big = random_split_log(recsys::test::seed() + 3, 50, 40, 2000);
  const auto r = recsys::leave_last_split(big, 3);
  check_partition(big, r);
  std::map<int, int> n, in_test;
  for (auto u : big.users) ++n[u];
  for (auto u : r.test.users) ++in_test[u];
  for (const auto& [u, k] : n) CHECK(in_test[u] == (k > 3 ? 3 : 0));
}

TEST_CASE("temporal split: before the cut is train", "[split]") {
  const auto log = random_split_log(recsys::test::seed() + 5, 20, 20, 500);
  const auto s = recsys::temporal_split(log, 150);
  check_partition(log, s);
  for (auto t : s.train.timestamps) CHECK(t < 150);
  for (auto t : s.test.timestamps) CHECK(t >= 150);
}

TEST_CASE("random split: exactly round(frac * n) events, uniform", "[split]") {
  const auto log = random_split_log(recsys::test::seed() + 6, 20, 20, 1001);
  const auto s = recsys::random_split(log, 0.3, 99);
  check_partition(log, s);
  CHECK(s.test.size() == 300);  // round(300.3)
  // uniformity, loosely: each tenth of the log gets about 30 test rows
  std::vector<int> per_tenth(10, 0);
  for (int t : tags(s.test)) ++per_tenth[static_cast<std::size_t>(std::min(9, t / 100))];
  for (int c : per_tenth) CHECK((c > 10 && c < 55));
  CHECK_THROWS_AS(recsys::random_split(log, 1.0, 1), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::random_split(log, 0.0, 1), recsys::invalid_argument);
}

TEST_CASE("session-time split (RSC15): by session end, unseen items and short test sessions removed", "[split]") {
  recsys::interaction_log log;
  auto ev = [&](const char* u, const char* item, recsys::timestamp_t t, const char* sess) {
    log.add(u, item, t, "", static_cast<float>(log.size()), sess);
  };
  ev("u1", "a", 0, "s1");
  ev("u1", "b", 10, "s1");   // s1 ends at 10: train
  ev("u2", "a", 100, "s2");  // s2 starts before the cutoff but ends after it: test
  ev("u2", "b", 200, "s2");
  ev("u2", "c", 201, "s2");  // c never in train: removed
  ev("u3", "b", 150, "s3");
  ev("u3", "d", 210, "s3");  // d unseen; s3 left with 1 event: removed as short
  ev("u4", "a", 205, "s4");  // single-event test session: short
  ev("u5", "e", 207, "");    // no SESSION_ID
  recsys::session_split_options o;
  o.test_seconds = 100;  // newest 210: cutoff 110
  const auto s = recsys::session_time_split(log, o);
  CHECK(tags(s.train) == std::vector<int>{0, 1});
  CHECK(tags(s.test) == std::vector<int>{2, 3});
  CHECK(s.test.report.removed_by(split_names::unseen_item) == 2);
  CHECK(s.test.report.removed_by(split_names::short_session) == 2);
  CHECK(s.test.report.removed_by(split_names::no_session) == 1);
  CHECK(s.train.report.removed_by(split_names::no_session) == 1);
  CHECK(s.train.report.removed_by(split_names::to_test) == 6);
  check_partition(log, s, 5);
  const auto spec = recsys::parse_split_spec("session-time:100");
  CHECK(same(recsys::make_split(log, spec, 0), s));
}

TEST_CASE("session-time split with gap sessions writes them into SESSION_ID on both sides", "[split]") {
  recsys::interaction_log log;
  auto ev = [&](const char* u, const char* item, recsys::timestamp_t t) {
    log.add(u, item, t, "", static_cast<float>(log.size()));
  };
  const recsys::timestamp_t h = 3600;
  ev("u1", "a", 0);
  ev("u1", "b", 60);  // u1 session 1: [0, 60]
  ev("u1", "a", 10 * h);
  ev("u1", "c", 10 * h + 60);  // u1 session 2: ends 10h+60
  ev("u2", "b", 30 * h);
  ev("u2", "x", 30 * h + 10);  // x unseen
  ev("u2", "a", 30 * h + 20);  // u2: test, b and a survive
  ev("u3", "c", 5 * h);
  ev("u3", "a", 5 * h + 1800);  // a gap of exactly 30 min continues the session
  recsys::session_split_options o;
  o.test_seconds = 24 * h;  // cutoff = 30h+20 - 24h = 6h+20: u1's second session is test too
  const auto s = recsys::session_time_split(log, o);
  CHECK(tags(s.train) == std::vector<int>{0, 1, 7, 8});
  CHECK(tags(s.test) == std::vector<int>{2, 3, 4, 6});
  CHECK(s.test.report.removed_by(split_names::unseen_item) == 1);
  REQUIRE(s.train.has_session);
  REQUIRE(s.test.has_session);
  CHECK(s.train.session_ids == s.test.session_ids);
  CHECK(s.train.session_ids.contains("gap:u1:0"));
  CHECK(s.test.session_ids.contains("gap:u2:108000"));
  const auto ts = recsys::build_sessions(s.test);  // the split's sessions, as filtered
  REQUIRE(ts.size() == 2);
  CHECK(ts.length(0) == 2);
  CHECK(ts.length(1) == 2);
  CHECK(s.test.item_ids.id(ts.session(1)[1]) == "a");
  CHECK(recsys::build_sessions(s.train).size() == 2);
  check_partition(log, s, 1);
}

TEST_CASE("parse_split_spec reads the CLI's spec strings and quotes bad ones", "[split]") {
  using m = recsys::split_spec::method;
  auto p = recsys::parse_split_spec("personalize");
  CHECK(p.kind == m::personalize);
  CHECK(p.personalize.user_fraction == 0.1);
  CHECK(recsys::parse_split_spec("personalize:0.25").personalize.user_fraction == 0.25);
  p = recsys::parse_split_spec("leave-last:3");
  CHECK(p.kind == m::leave_last);
  CHECK(p.leave_last_n == 3);
  p = recsys::parse_split_spec("temporal:1700000000");
  CHECK(p.kind == m::temporal);
  CHECK(p.cut == 1700000000);
  CHECK(recsys::parse_split_spec("temporal:-5").cut == -5);
  p = recsys::parse_split_spec("random:0.2");
  CHECK(p.kind == m::random);
  CHECK(p.test_fraction == 0.2);
  p = recsys::parse_split_spec("session-time");
  CHECK(p.kind == m::session_time);
  CHECK(p.sessions.test_seconds == 86400);
  CHECK(recsys::parse_split_spec("session-time:3600").sessions.test_seconds == 3600);

  for (const char* bad : {"",
                          "bogus",
                          "personalize:0",
                          "personalize:1.5",
                          "personalize:",
                          "leave-last",
                          "leave-last:0",
                          "leave-last:x",
                          "leave-last:2.5",
                          "temporal",
                          "temporal:",
                          "temporal:12a",
                          "random:1",
                          "random:0",
                          "random:abc",
                          "random: 0.5",
                          "random:nan",
                          "session-time:-5",
                          "session-time:1h",
                          "Personalize"}) {
    INFO("spec '" << bad << "'");
    try {
      (void)recsys::parse_split_spec(bad);
      FAIL("expected invalid_argument");
    } catch (const recsys::invalid_argument& e) {
      CHECK(std::string(e.what()).find(std::string("'") + bad + "'") != std::string::npos);
    }
  }
}

TEST_CASE("make_split dispatches to the split functions", "[split]") {
  const auto log = random_split_log(recsys::test::seed() + 9, 40, 30, 800);
  CHECK(same(recsys::make_split(log, recsys::parse_split_spec("personalize"), 7), recsys::personalize_split(log, 7)));
  CHECK(same(recsys::make_split(log, recsys::parse_split_spec("leave-last:2"), 7), recsys::leave_last_split(log, 2)));
  CHECK(same(recsys::make_split(log, recsys::parse_split_spec("temporal:100"), 7), recsys::temporal_split(log, 100)));
  CHECK(same(recsys::make_split(log, recsys::parse_split_spec("random:0.5"), 7), recsys::random_split(log, 0.5, 7)));
  const auto st = recsys::make_split(log, recsys::parse_split_spec("session-time:100"), 7);
  std::int64_t removed = 0;
  for (const auto& [name, n] : st.test.report.removed)
    if (name != split_names::to_train) removed += n;
  check_partition(log, st, removed);
}
