// SPDX-License-Identifier: Apache-2.0
// The evaluator's protocol, its accounting, and its agreement with per-query metrics.
#include <recsys/data/split.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/models/popularity.hpp>

#include "recsys_test.hpp"

#include <set>

using recsys::test::Approx;

TEST_CASE("evaluate: protocol and accounting on a hand-made split", "[evaluator]") {
  // train: a is most popular (3 users), then b (2), then c (1); d only appears in test.
  recsys::interaction_log train;
  train.add("u1", "a", 1);
  train.add("u2", "a", 1);
  train.add("u3", "a", 1);
  train.add("u2", "b", 1);
  train.add("u3", "b", 1);
  train.add("u3", "c", 1);
  recsys::interaction_log test_src;
  test_src.add("u1", "b", 2);  // relevant; popularity ranks b first for u1 (a is seen)
  test_src.add("u1", "b", 3);  // repeated: one relevant pair
  test_src.add("u2", "c", 2);  // relevant: u2's list is c, ... (a, b seen)
  test_src.add("u3", "a", 2);  // seen in training: not relevant
  test_src.add("u4", "d", 2);  // unknown item; u4 is cold and has nothing relevant left
  test_src.add("u4", "b", 2);  // relevant for cold user u4: list a, b, c -> b at 2
  const auto s = recsys::join_split(train, test_src);
  REQUIRE(s.train.num_items() == 4);
  REQUIRE(s.test.num_items() == 4);

  recsys::popularity_count pop;
  pop.fit(s.train);
  recsys::evaluation_options o;
  o.metrics = {recsys::parse_metric("precision@1"), recsys::parse_metric("mrr@25"), recsys::parse_metric("hit@2"),
               recsys::parse_metric("coverage")};
  const auto r = recsys::evaluate(pop, s, o);
  CHECK(r.test_interactions == 6);
  CHECK(r.queries == 3);  // u1, u2, u4; u3 has only a seen item
  CHECK(r.cold_users == 1);
  CHECK(r.unknown_item_pairs == 1);
  CHECK(r.seen_in_training_pairs == 1);
  CHECK(r.users_without_relevant == 1);
  CHECK(r.relevant_items == 3);
  // u1: [b, c, d] -> b at 1; u2: [c, d] -> c at 1; u4: [a, b, c, d] -> b at 2
  CHECK(r.value("precision@1") == Approx(2.0 / 3.0));
  CHECK(r.value("mrr@25") == Approx((1.0 + 1.0 + 0.5) / 3.0));
  CHECK(r.value("hit@2") == Approx(1.0));
  CHECK(r.value("coverage") == Approx(4.0 / 4.0));
  CHECK_THROWS_AS(r.value("ndcg@10"), recsys::invalid_argument);

  // without exclude_seen the seen pair counts as relevant and lists keep training items
  o.exclude_seen = false;
  const auto r2 = recsys::evaluate(pop, s, o);
  CHECK(r2.queries == 4);
  CHECK(r2.seen_in_training_pairs == 0);
}

TEST_CASE("evaluate equals a per-query loop and is identical for any thread count", "[evaluator][determinism]") {
  recsys::synthetic_config c = recsys::synthetic_config::demo();
  c.num_users = 600;
  c.num_items = 300;
  c.num_interactions = 12000;
  c.seed = recsys::test::seed();
  const auto log = recsys::generate_interactions(c);
  const auto s = recsys::make_split(log, recsys::parse_split_spec("personalize:0.3"), 7);
  recsys::popularity_count pop;
  pop.fit(s.train);

  recsys::evaluation_options o;  // default metrics, including auc and coverage
  o.num_threads = 1;
  const auto one = recsys::evaluate(pop, s, o);
  for (int threads : {2, 3}) {
    o.num_threads = threads;
    const auto many = recsys::evaluate(pop, s, o);
    REQUIRE(many.metrics.size() == one.metrics.size());
    for (std::size_t m = 0; m < one.metrics.size(); ++m) CHECK(many.metrics[m].value == one.metrics[m].value);
  }

  // naive reference: per-query functions over the same relevant sets
  std::set<std::pair<recsys::index_t, recsys::index_t>> seen, rel;
  std::set<recsys::index_t> known_items;
  for (std::size_t r = 0; r < s.train.size(); ++r) {
    seen.insert({s.train.users[r], s.train.items[r]});
    known_items.insert(s.train.items[r]);
  }
  for (std::size_t r = 0; r < s.test.size(); ++r)
    if (known_items.count(s.test.items[r]) && !seen.count({s.test.users[r], s.test.items[r]}))
      rel.insert({s.test.users[r], s.test.items[r]});
  double ndcg = 0, prec = 0;
  std::int64_t queries = 0;
  for (auto it = rel.begin(); it != rel.end();) {
    const recsys::index_t u = it->first;
    std::vector<recsys::index_t> items;
    for (; it != rel.end() && it->first == u; ++it) items.push_back(it->second);
    const auto top = pop.recommend(u, 25);
    ndcg += recsys::ndcg_at_k(top.ids, items, 10);
    prec += recsys::precision_at_k(top.ids, items, 10);
    ++queries;
  }
  CHECK(one.queries == queries);
  CHECK(one.value("ndcg@10") == Approx(ndcg / static_cast<double>(queries)).epsilon(1e-9));
  CHECK(one.value("precision@10") == Approx(prec / static_cast<double>(queries)).epsilon(1e-9));
  CHECK(one.value("ndcg@10") > 0.0);
}

TEST_CASE("evaluate rejects logs with different id maps and reports progress", "[evaluator]") {
  recsys::interaction_log a, b;
  a.add("u", "i", 1);
  b.add("u", "i", 1);
  b.add("v", "j", 1);
  recsys::popularity_count pop;
  pop.fit(a);
  CHECK_THROWS_AS(recsys::evaluate(pop, a, b), recsys::invalid_argument);
  const auto s = recsys::join_split(a, b);
  pop.fit(s.train);
  recsys::job_control job;
  int reports = 0;
  job.progress = [&](const recsys::progress_event& e) {
    ++reports;
    CHECK(e.stage == "evaluate");
  };
  const auto r = recsys::evaluate(pop, s, {}, job);
  CHECK(reports >= 2);
  // (u, i) was seen in training and j is unknown to training: nothing is left to query
  CHECK(r.queries == 0);
  CHECK(r.seen_in_training_pairs == 1);
  CHECK(r.unknown_item_pairs == 1);
  CHECK(r.users_without_relevant == 2);
  job.cancel.cancel();
  CHECK_THROWS_AS(recsys::evaluate(pop, s, {}, job), recsys::cancelled);
}

TEST_CASE("join_split shares id maps and keeps test-only ids", "[split]") {
  recsys::interaction_log train, test;
  train.add("u1", "a", 1, "view");
  train.add("u2", "b", 2);
  test.add("u3", "b", 3, "buy");
  test.add("u1", "z", 4, "view");
  const auto s = recsys::join_split(train, test);
  CHECK(s.train.user_ids == s.test.user_ids);
  CHECK(s.train.item_ids == s.test.item_ids);
  CHECK(s.train.user_ids.ids() == std::vector<std::string>{"u1", "u2", "u3"});
  CHECK(s.test.size() == 2);
  CHECK(s.test.user_ids.id(s.test.users[0]) == "u3");
  CHECK(s.test.item_ids.id(s.test.items[1]) == "z");
  CHECK(s.test.event_type_names.id(s.test.event_types[0]) == "buy");
  CHECK(s.train.size() == 2);
  CHECK(s.test.report.rows_read == 2);
  CHECK_NOTHROW(s.test.validate());
  CHECK_NOTHROW(s.train.validate());
}
