// SPDX-License-Identifier: Apache-2.0
// Thread safety of const queries: many threads query the same fitted model at once (every
// recipe in recipes() through recsys::model, and the model classes directly) and must get
// exactly the results of a single-threaded run. Labelled "concurrency": scripts/ci-extra.sh
// runs these tests under ThreadSanitizer (std::thread backend), where a data race fails the
// test even when the results happen to agree.
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int num_query_threads = 4;

recsys::interaction_log concurrency_log() {
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.concurrency"), 0);
  for (int r = 0; r < 1500; ++r)
    log.add("u" + std::to_string(g.uniform_index(60)), "i" + std::to_string(g.uniform_index(45)),
            static_cast<recsys::timestamp_t>(r) * 120, r % 4 ? "view" : "buy");
  return log;
}

// Everything a query thread computes for one model, in a fixed order.
struct answers {
  std::vector<recsys::topk_result> results;
  std::vector<std::vector<recsys::score_t>> scores;
  friend bool operator==(const answers&, const answers&) = default;
};

template <class Query>
answers run_queries(const Query& query, recsys::index_t num_users, recsys::index_t num_items) {
  answers a;
  std::vector<recsys::index_t> all_items(static_cast<std::size_t>(num_items));
  for (recsys::index_t i = 0; i < num_items; ++i) all_items[static_cast<std::size_t>(i)] = i;
  const std::vector<recsys::index_t> exclude = {0, 3, 5, 8};
  const std::vector<recsys::index_t> include = {1, 2, 3, 4, 10, 20, 30, 40};
  // Users beyond the catalogue and -1 exercise the documented fallbacks.
  for (recsys::index_t u = -1; u < num_users + 2; ++u) query(u, a, all_items, exclude, include);
  return a;
}

// Queries on `threads` threads at once (all start together); each must equal `expected`.
template <class Query>
void check_concurrent(const Query& query, recsys::index_t num_users, recsys::index_t num_items,
                      const answers& expected) {
  std::atomic<int> ready{0};
  std::vector<answers> got(num_query_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < num_query_threads; ++t)
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < num_query_threads) std::this_thread::yield();
      got[static_cast<std::size_t>(t)] = run_queries(query, num_users, num_items);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < num_query_threads; ++t) {
    INFO("thread " << t);
    CHECK(got[static_cast<std::size_t>(t)] == expected);
  }
}

// The query set of recsys::model: recommend (plain, excluding, including, not excluding seen),
// score, recommend_for_history and similar_items where supported.
struct model_query {
  const recsys::model* m;
  void operator()(recsys::index_t u, answers& a, const std::vector<recsys::index_t>& all,
                  const std::vector<recsys::index_t>& exclude, const std::vector<recsys::index_t>& include) const {
    a.results.push_back(m->recommend(u, 7));
    recsys::recommend_options o;
    o.exclude = exclude;
    a.results.push_back(m->recommend(u, 5, o));
    o = {};
    o.include = include;
    o.exclude_seen = false;
    a.results.push_back(m->recommend(u, 4, o));
    if (u >= 0 && u < m->num_users()) a.scores.push_back(m->score(u, all));
    if (m->supports_history()) {
      const std::vector<recsys::index_t> hist = {u < 0 ? 0 : u % m->num_items(), 1};
      a.results.push_back(m->recommend_for_history(hist, {}, 6));
    }
    if (m->supports_similar_items() && u >= 0 && u < m->num_items()) a.results.push_back(m->similar_items(u, 5));
  }
};

}  // namespace

TEST_CASE("concurrent const queries of every recipe equal the single-threaded answers", "[concurrency]") {
  const auto log = concurrency_log();
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    recsys::param_map params;
    for (const auto& p : r.params)
      if (p.name == "num_threads") params.emplace_back("num_threads", "2");
      else if (p.name == "epochs") params.emplace_back("epochs", "3");
    auto m = r.make(params);
    m->fit(log);
    const model_query q{m.get()};
    const answers expected = run_queries(q, m->num_users(), m->num_items());
    REQUIRE_FALSE(expected.results.empty());
    check_concurrent(q, m->num_users(), m->num_items(), expected);
  }
}

TEST_CASE("concurrent queries of the model classes used directly equal the single-threaded answers", "[concurrency]") {
  const auto log = concurrency_log();
  const auto x = recsys::build_matrix(log);

  recsys::bpr_config bc;
  bc.epochs = 3;
  bc.num_threads = 2;
  recsys::bpr_model bpr(bc);
  bpr.fit(x);
  recsys::warp_config wc;
  wc.epochs = 3;
  wc.num_threads = 2;
  recsys::warp_model warp(wc);
  warp.fit(x);
  recsys::item_to_item knn(recsys::item_to_item_config::sims());
  knn.fit(log);
  recsys::popularity_count pop;
  pop.fit(log);
  recsys::trending_now trend;
  trend.fit(log);

  const auto factor_query = [](const auto& m) {
    return [&m](recsys::index_t u, answers& a, const std::vector<recsys::index_t>& all,
                const std::vector<recsys::index_t>& exclude, const std::vector<recsys::index_t>& include) {
      recsys::recommend_options o;
      o.exclude = exclude;
      o.include = include;
      a.results.push_back(m.recommend(u, 6, o));
      a.results.push_back(m.recommend(u, 100));
      if (u >= 0 && u < m.num_users()) a.scores.push_back(m.score(u, all));
      if (u >= 0 && u < m.num_items()) a.results.push_back(m.similar_items(u, 4));
      const std::vector<recsys::index_t> hist = {u < 0 ? 2 : u % m.num_items()};
      const std::vector<recsys::score_t> w = {2.0f};
      a.results.push_back(m.recommend_for_history(hist, w, 5));
    };
  };
  SECTION("bpr") {
    const auto q = factor_query(bpr);
    check_concurrent(q, bpr.num_users(), bpr.num_items(), run_queries(q, bpr.num_users(), bpr.num_items()));
  }
  SECTION("warp") {
    const auto q = factor_query(warp);
    check_concurrent(q, warp.num_users(), warp.num_items(), run_queries(q, warp.num_users(), warp.num_items()));
  }
  SECTION("item_to_item (sims)") {
    const auto q = [&](recsys::index_t u, answers& a, const std::vector<recsys::index_t>& all,
                       const std::vector<recsys::index_t>& exclude, const std::vector<recsys::index_t>&) {
      recsys::recommend_options o;
      o.exclude = exclude;
      a.results.push_back(knn.recommend(u, 8, o));
      if (u >= 0 && u < knn.num_users()) a.scores.push_back(knn.score(u, all));
      if (u >= 0 && u < knn.num_items()) a.results.push_back(knn.similar_items(u, 6, o));
      const std::vector<recsys::index_t> hist = {1, u < 0 ? 2 : u % knn.num_items()};
      a.results.push_back(knn.recommend_for_history(hist, {}, 5));
    };
    check_concurrent(q, knn.num_users(), knn.num_items(), run_queries(q, knn.num_users(), knn.num_items()));
  }
  SECTION("popularity and trending") {
    const auto q = [&](recsys::index_t u, answers& a, const std::vector<recsys::index_t>& all,
                       const std::vector<recsys::index_t>&, const std::vector<recsys::index_t>& include) {
      recsys::recommend_options o;
      o.include = include;
      a.results.push_back(pop.recommend(u, 5));
      a.results.push_back(pop.recommend(u, 5, o));
      a.results.push_back(trend.recommend(u, 5));
      a.scores.push_back(pop.score(u, all));
      a.scores.push_back(trend.score(u, all));
    };
    check_concurrent(q, pop.num_users(), pop.num_items(), run_queries(q, pop.num_users(), pop.num_items()));
  }
}
