// SPDX-License-Identifier: Apache-2.0
// Thread safety of const queries: many threads query the same fitted object at once and must
// get exactly (bitwise) the results of a single-threaded run. Covered: every recipe in recipes()
// through recsys::model (also after save / load_model), the model classes used directly (bpr,
// warp, als with fold-in and explain, item_to_item, popularity, trending), the session GRU
// (per-thread copies of one session state, whole-session queries, next-item evaluation, HRNN),
// and re-ranking (one bound filter, rank_candidates, promotions, exploration, MMR, one pipeline).
// Labelled "concurrency": scripts/ci-extra.sh runs these tests under ThreadSanitizer
// (std::thread backend), where a data race fails the test even when the results happen to agree.
#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/session_gru.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/pipeline.hpp>
#include <recsys/ranking/rerank.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <atomic>
#include <bit>
#include <cstdint>
#include <filesystem>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using recsys::index_t;
using recsys::score_t;

constexpr int num_query_threads = 4;

recsys::interaction_log concurrency_log() {
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.concurrency"), 0);
  for (int r = 0; r < 1500; ++r)
    log.add("u" + std::to_string(g.uniform_index(60)), "i" + std::to_string(g.uniform_index(45)),
            static_cast<recsys::timestamp_t>(r) * 120, r % 4 ? "view" : "buy");
  return log;
}

bool same_bits(const std::vector<score_t>& a, const std::vector<score_t>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t j = 0; j < a.size(); ++j)
    if (std::bit_cast<std::uint32_t>(a[j]) != std::bit_cast<std::uint32_t>(b[j])) return false;
  return true;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t j = 0; j < a.size(); ++j)
    if (std::bit_cast<std::uint64_t>(a[j]) != std::bit_cast<std::uint64_t>(b[j])) return false;
  return true;
}

// Everything a query thread computes, in a fixed order. Compared bitwise (NaN scores of unknown
// items included).
struct answers {
  std::vector<recsys::topk_result> results;
  std::vector<std::vector<score_t>> scores;
  std::vector<std::vector<std::int64_t>> lists;  // ids, positions, masks, slot kinds, flags, counts
  std::vector<std::vector<double>> values;       // metrics

  void add(const recsys::topk_result& r) { results.push_back(r); }
  void add(const recsys::reranked_list& l) {
    results.push_back(l.result());
    std::vector<std::int64_t> kinds;
    for (const auto k : l.kinds) kinds.push_back(static_cast<std::int64_t>(k));
    lists.push_back(std::move(kinds));
  }
  void add(const recsys::ranked_candidates& r) {
    lists.emplace_back(r.positions.begin(), r.positions.end());
    lists.emplace_back(r.ids.begin(), r.ids.end());
    lists.push_back({static_cast<std::int64_t>(r.num_scored)});
    scores.push_back(r.scores);
  }
  void add(const recsys::item_mask& m) {
    const auto items = m.items();
    lists.emplace_back(items.begin(), items.end());
  }
  void add(const recsys::next_item_metrics& m) {
    values.push_back(m.recall);
    values.push_back(m.mrr);
    lists.push_back({m.predictions, m.sessions, m.events_dropped, m.sessions_dropped});
  }
  void add_scores(std::span<const score_t> s) { scores.emplace_back(s.begin(), s.end()); }
  void add_ids(std::span<const index_t> ids) { lists.emplace_back(ids.begin(), ids.end()); }

  friend bool operator==(const answers& a, const answers& b) {
    if (a.results.size() != b.results.size() || a.scores.size() != b.scores.size() || a.lists != b.lists ||
        a.values.size() != b.values.size())
      return false;
    for (std::size_t j = 0; j < a.results.size(); ++j)
      if (a.results[j].ids != b.results[j].ids || !same_bits(a.results[j].scores, b.results[j].scores)) return false;
    for (std::size_t j = 0; j < a.scores.size(); ++j)
      if (!same_bits(a.scores[j], b.scores[j])) return false;
    for (std::size_t j = 0; j < a.values.size(); ++j)
      if (!same_bits(a.values[j], b.values[j])) return false;
    return true;
  }
};

template <class Query>
answers run_queries(const Query& query, index_t num_users, index_t num_items) {
  answers a;
  std::vector<index_t> all_items(static_cast<std::size_t>(num_items));
  for (index_t i = 0; i < num_items; ++i) all_items[static_cast<std::size_t>(i)] = i;
  const std::vector<index_t> exclude = {0, 3, 5, 8};
  const std::vector<index_t> include = {1, 2, 3, 4, 10, 20, 30, 40};
  // Users beyond the catalogue and -1 exercise the documented fallbacks.
  for (index_t u = -1; u < num_users + 2; ++u) query(u, a, all_items, exclude, include);
  return a;
}

// Queries on `threads` threads at once (all start together); each must equal `expected`.
template <class Query>
void check_concurrent(const Query& query, index_t num_users, index_t num_items, const answers& expected) {
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

// The users of the batch queries made from query u: known ones, repeats, -1 and past the end.
std::vector<index_t> batch_users(index_t u, index_t num_users) { return {u, 0, 3, u + 1, 3, -1, num_users + 1}; }

// A batch query's rows, one list of ids and one of scores each.
void add_rows(answers& a, std::size_t rows, index_t k, const std::vector<index_t>& ids,
              const std::vector<score_t>& scores) {
  const auto kk = static_cast<std::size_t>(k);
  for (std::size_t r = 0; r < rows; ++r) {
    recsys::topk_result row;
    for (std::size_t j = 0; j < kk; ++j) row.push_back(ids[r * kk + j], scores[r * kk + j]);
    a.add(row);
  }
}

// The query set of recsys::model: recommend (plain, excluding, including, not excluding seen),
// score, recommend_for_history and similar_items where supported.
struct model_query {
  const recsys::model* m;
  const recsys::interaction_log* next_item_test = nullptr;  // for evaluate_next_item (gru4rec)
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
    // The batch paths start worker threads of their own (2) from every query thread.
    if (u % 16 == 0) {
      const std::vector<index_t> users = batch_users(u, m->num_users());
      const index_t k = 4;
      std::vector<index_t> ids(users.size() * k);
      std::vector<score_t> scores(ids.size());
      o = {};
      o.exclude = exclude;
      m->recommend_batch(users, k, ids.data(), scores.data(), o, 2);
      add_rows(a, users.size(), k, ids, scores);
      if (m->supports_user_segments()) {
        const std::vector<index_t> items = {u % m->num_items(), 1, 2};
        std::vector<index_t> seg(items.size() * k);
        std::vector<score_t> seg_scores(seg.size());
        m->recommend_users(items, k, seg.data(), seg_scores.data(), {}, 2);
        add_rows(a, items.size(), k, seg, seg_scores);
      }
    }
    if (m->supports_next_item() && u == 0 && next_item_test != nullptr) {
      recsys::next_item_options no;
      no.num_threads = 2;
      a.add(m->evaluate_next_item(*next_item_test, no));
    }
  }
};

// Sessions of 2-6 events over `n_items` items (mostly following a fixed successor, so the GRU has
// something to learn), users s % n_users, in time order.
recsys::session_data concurrency_sessions(std::size_t n_sessions, index_t n_items, index_t n_users, std::uint64_t block) {
  recsys::session_data d;
  d.num_items = n_items;
  recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.concurrency.sessions"), block);
  recsys::timestamp_t t = 0;
  for (std::size_t s = 0; s < n_sessions; ++s) {
    const auto len = 2 + r.uniform_index(5);
    std::vector<index_t> items;
    std::vector<recsys::timestamp_t> times;
    auto it = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(n_items)));
    for (std::uint32_t j = 0; j < len; ++j) {
      items.push_back(it);
      times.push_back(t += 60);
      it = r.uniform_index(5) != 0 ? (3 * it + 1) % n_items
                                   : static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(n_items)));
    }
    t += 7200;  // a gap of two hours: build_sessions cuts the log back into these sessions
    d.push_session(items, times, static_cast<index_t>(s % static_cast<std::size_t>(n_users)));
  }
  return d;
}

// The same sessions as an interaction log (for the gru4rec recipe).
recsys::interaction_log log_of(const recsys::session_data& d) {
  recsys::interaction_log log;
  for (std::size_t s = 0; s < d.size(); ++s) {
    const auto items = d.session(s);
    const auto times = d.session_times(s);
    for (std::size_t j = 0; j < items.size(); ++j)
      log.add("u" + std::to_string(d.users[s]), "i" + std::to_string(items[j]), times[j], "view");
  }
  return log;
}

// Session GRU queries. Query u replays test session u (none for u outside the test set) after a
// prefix state shared by all threads: each thread works on its own copy of the prefix, feeds the
// events one at a time (plus an unknown item) and asks the next-item scores and top-k after each;
// copies taken mid-session must not affect the original. Then whole sessions through the shared
// model (recommend_for_history), HRNN session starts and transitions, and once per thread the
// batch evaluation (score_next_items, evaluate_next_item with 2 worker threads).
struct session_query {
  const recsys::session_gru* gru;
  const recsys::session_gru_state* prefix;
  const recsys::session_data* test;

  void operator()(index_t u, answers& a, const std::vector<index_t>&, const std::vector<index_t>& exclude,
                  const std::vector<index_t>& include) const {
    const recsys::session_gru& m = *gru;
    const bool in_test = u >= 0 && static_cast<std::size_t>(u) < test->size();
    std::vector<index_t> seq;
    if (in_test) {
      const auto its = test->session(static_cast<std::size_t>(u));
      seq.assign(its.begin(), its.end());
    }
    std::vector<index_t> fed = seq;
    fed.push_back(u % 2 == 0 ? -1 : m.num_items() + 3);  // unknown: put_event returns false
    recsys::session_gru_state s = *prefix;                 // this thread's own copy
    recsys::recommend_options keep_seen;
    keep_seen.exclude_seen = false;
    keep_seen.include = include;
    recsys::recommend_options excl;
    excl.exclude = exclude;
    std::vector<std::int64_t> used;
    for (const index_t item : fed) {
      used.push_back(m.put_event(s, item) ? 1 : 0);
      a.add(m.recommend(s, 5));
      a.add(m.recommend(s, 4, keep_seen));
      a.add(m.recommend(s, 6, excl));
      a.add_scores(m.scores(s));
    }
    a.lists.push_back(used);
    a.add_ids(s.items());
    for (std::size_t l = 0; l < m.network().layers.size(); ++l) a.add_scores(s.hidden(l));
    if (!seq.empty()) {  // a copy continued elsewhere leaves the original as it was
      recsys::session_gru_state copy = s;
      m.put_event(copy, seq.front());
      a.add(m.recommend(copy, 3));
      a.add(m.recommend(s, 3));
    }
    a.add(m.recommend_for_history(seq, {}, 6));
    a.add(m.recommend_for_history(seq, {}, 6, excl));
    if (m.config().hrnn) {
      recsys::session_gru_state st = m.start_session(u);  // unknown users: the zero user state
      m.put_events(st, seq);
      a.add(m.recommend(st, 5));
      const recsys::session_gru_state next = m.next_session(st);
      a.add_scores(next.user_state());
      recsys::session_gru_state again = m.start_session_from_user_state(next.user_state(), u);
      a.add(m.recommend(again, 5));
      a.add_scores(m.scores(again));
    }
    if (u == 0) {
      for (std::size_t c = 0; c < m.next_item_chunks(*test); ++c)
        m.score_next_items(*test, c, [&](const recsys::next_item_prediction& p) {
          a.lists.push_back({static_cast<std::int64_t>(p.session), static_cast<std::int64_t>(p.position), p.target});
          a.add_scores(p.scores);
        });
      recsys::next_item_options no;
      no.num_threads = 2;
      a.add(recsys::evaluate_next_item(m, *test, no));
    }
  }
};

recsys::session_gru_config small_gru_config(bool hrnn) {
  recsys::session_gru_config c;
  c.layers = {16};
  c.batch_size = 8;
  c.n_sample = 16;
  c.n_epochs = 2;
  c.learning_rate = 0.1;
  c.num_threads = 2;
  c.hrnn = hrnn;
  c.seed = recsys::test::seed();
  return c;
}

// Small settings for each recipe (the persistence test fits and saves every one).
recsys::param_map small_params(const recsys::recipe& r) {
  recsys::param_map params;
  for (const auto& p : r.params) {
    if (p.name == "num_threads") params.emplace_back("num_threads", "2");
    else if (p.name == "epochs" || p.name == "iterations") params.emplace_back(p.name, "3");
    else if (p.name == "factors") params.emplace_back("factors", "8");
    else if (p.name == "layers") params.emplace_back("layers", "16");
    else if (p.name == "n_sample") params.emplace_back("n_sample", "16");
    else if (p.name == "batch_size") params.emplace_back("batch_size", "16");
  }
  return params;
}

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
    const model_query q{m.get(), &log};
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

TEST_CASE("concurrent queries of als (fold-in, explain, batches) equal the single-threaded answers", "[concurrency]") {
  const auto x = recsys::build_matrix(concurrency_log());
  recsys::als_config cg;
  cg.factors = 8;
  cg.iterations = 3;
  cg.num_threads = 2;
  recsys::als_config chol = cg;
  chol.solver = recsys::als_solver::cholesky;
  chol.confidence = recsys::als_confidence::linear;
  for (const auto& cfg : {cg, chol}) {
    INFO("solver " << (cfg.solver == recsys::als_solver::cg ? "cg" : "cholesky"));
    recsys::als<float> m(cfg);
    m.fit(x);
    const index_t n = m.num_items();
    const auto q = [&m, n](index_t u, answers& a, const std::vector<index_t>& all, const std::vector<index_t>& exclude,
                           const std::vector<index_t>& include) {
      recsys::recommend_options o;
      o.exclude = exclude;
      o.include = include;
      a.add(m.recommend(u, 6, o));
      a.add(m.recommend(u, 100));
      if (u >= 0 && u < m.num_users()) {
        a.add_scores(m.score(u, all));
        a.add(m.similar_users(u, 4));
      }
      if (u >= 0 && u < n) a.add(m.similar_items(u, 4));
      // The real-time path: a history given at query time (an unknown item, a repeat, weights).
      const index_t first = u < 0 ? 2 : u % n;
      const std::vector<index_t> hist = {first, 1, n + 5, (first + 7) % n, 1};
      const std::vector<score_t> w = {2.0f, 1.0f, 0.5f, 3.0f, 0.25f};
      a.add(m.recommend_for_history(hist, w, 5));
      a.add(m.recommend_for_history(hist, {}, 5, o));
      const auto x_hist = m.fold_in(hist, w);
      a.add_scores(std::span<const float>(x_hist.data(), static_cast<std::size_t>(x_hist.size())));
      const auto x_user = m.fold_in_user(u, hist, w);
      a.add_scores(std::span<const float>(x_user.data(), static_cast<std::size_t>(x_user.size())));
      const index_t item = u < 0 ? 0 : (3 * u) % n;
      const auto e = m.explain(u, item, 4);
      a.add_scores(std::span<const score_t>(&e.score, 1));
      a.add(e.contributions);
      const auto eh = m.explain_history(hist, w, item, 3);
      a.add_scores(std::span<const score_t>(&eh.score, 1));
      a.add(eh.contributions);
      if (u % 16 == 0) {  // batch paths with 2 worker threads of their own
        for (const auto& row : m.recommend_batch(batch_users(u, m.num_users()), 5, o, 2)) a.add(row);
        const std::vector<index_t> items = {first, 1, 2};
        const index_t k = 4;
        std::vector<index_t> users(items.size() * k);
        std::vector<score_t> scores(users.size());
        m.recommend_users(items, k, users.data(), scores.data(), {}, 2);
        add_rows(a, items.size(), k, users, scores);
      }
    };
    const answers expected = run_queries(q, m.num_users(), n);
    REQUIRE_FALSE(expected.results.empty());
    check_concurrent(q, m.num_users(), n, expected);
  }
}

TEST_CASE("per-thread copies of one session state and shared session GRU queries equal the single-threaded answers",
          "[concurrency]") {
  const index_t n_items = 40;
  const recsys::session_data train = concurrency_sessions(240, n_items, 24, 0);
  const recsys::session_data test = concurrency_sessions(30, n_items, 30, 1);  // users 24..29: unknown
  for (const bool hrnn : {false, true}) {
    INFO("hrnn " << hrnn);
    recsys::session_gru gru(small_gru_config(hrnn));
    gru.fit(train);
    // The shared prefix: a session two events in, built before the threads start.
    recsys::session_gru_state prefix = gru.start_session(hrnn ? 5 : recsys::invalid_index);
    const std::vector<index_t> first = {3, 10};
    REQUIRE(gru.put_events(prefix, first) == 2);
    const session_query q{&gru, &prefix, &test};
    const auto n_query = static_cast<index_t>(test.size());
    const answers expected = run_queries(q, n_query, gru.num_items());
    REQUIRE_FALSE(expected.results.empty());
    REQUIRE_FALSE(expected.values.empty());  // the evaluation ran
    check_concurrent(q, n_query, gru.num_items(), expected);
  }

  // The gru4rec recipe (recsys::session_gru_model) on the same sessions as a log.
  const recsys::interaction_log log = log_of(train);
  for (const char* hrnn : {"false", "true"}) {
    INFO("gru4rec hrnn=" << hrnn);
    auto m = recsys::make_model("gru4rec", {{"epochs", "2"},
                                            {"layers", "16"},
                                            {"n_sample", "16"},
                                            {"batch_size", "8"},
                                            {"hrnn", hrnn},
                                            {"num_threads", "2"}});
    m->fit(log);
    const model_query q{m.get(), &log};
    const answers expected = run_queries(q, m->num_users(), m->num_items());
    REQUIRE_FALSE(expected.values.empty());
    check_concurrent(q, m->num_users(), m->num_items(), expected);
  }
}

TEST_CASE("one bound filter, re-ranking and one pipeline evaluated from many threads equal the single-threaded answers",
          "[concurrency]") {
  const recsys::interaction_log log = concurrency_log();
  const index_t n = log.num_items();
  // Items metadata (a third of the items created in the last hours: exploration candidates) and
  // Users metadata (for IF CurrentUser).
  const recsys::timestamp_t newest = log.time_range().second;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.concurrency.metadata"), 0);
  std::ostringstream items_csv, users_csv;
  items_csv << "ITEM_ID,CATEGORY,PRICE,BRAND,CREATION_TIMESTAMP\n";
  for (index_t i = 0; i < n; ++i) {
    items_csv << log.item_ids.id(i) << ",c" << i % 5 << ',' << g.uniform_index(300) << ','
              << (g.uniform_index(3) == 0 ? "velo" : "acme") << ',';
    if (i % 3 == 0) items_csv << newest - static_cast<recsys::timestamp_t>(g.uniform_index(6)) * 3600;
    items_csv << '\n';
  }
  users_csv << "USER_ID,TIER\n";
  for (index_t u = 0; u < log.num_users(); ++u) users_csv << log.user_ids.id(u) << ',' << (u % 3 ? "basic" : "gold") << '\n';
  const recsys::metadata_table items = recsys::parse_items_csv(items_csv.str(), "items.csv");
  const recsys::metadata_table users = recsys::parse_users_csv(users_csv.str(), "users.csv");
  const recsys::filter_data data{&log, &items, &users};

  recsys::bpr_config bc;
  bc.factors = 8;
  bc.epochs = 3;
  bc.num_threads = 2;
  recsys::bpr_model bpr(bc);
  bpr.fit(recsys::build_matrix(log));
  recsys::item_to_item knn(recsys::item_to_item_config::sims());
  knn.fit(log);
  recsys::popularity_count pop;
  pop.fit(log);

  // Per request: a parameter, the user's history (Interactions) and the user's metadata.
  const recsys::item_filter request(
      R"(EXCLUDE ItemID WHERE Items.PRICE > $MAX | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("buy") | )"
      R"(INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS) IF CurrentUser.TIER IN ("gold"))",
      data);
  const recsys::item_filter same_category("INCLUDE ItemID WHERE Items.CATEGORY IN (CurrentItem.CATEGORY)", data);
  const recsys::item_filter fixed(R"(EXCLUDE ItemID WHERE Items.BRAND IN ("acme") AND Items.PRICE > 250)", data);
  const recsys::item_filter promoted(R"(INCLUDE ItemID WHERE Items.BRAND IN ("velo"))", data);
  REQUIRE(request.depends_on_user());
  REQUIRE(fixed.is_static());
  const auto params_for = [](index_t u) {
    return recsys::filter_params{{"MAX", {std::to_string(60 + ((u + 1) * 37) % 240)}},
                                 {"CATS", {"c0", "c" + std::to_string((u + 1) % 5)}}};
  };

  std::vector<recsys::new_item_explorer> explorers;
  for (const std::uint64_t seed : {11u, 12u, 13u}) {
    recsys::exploration_config ec;
    ec.weight = 0.3;
    ec.item_age_cutoff_days = 0.5;
    ec.max_interactions = -1;
    ec.seed = seed;
    ec.placement = recsys::slot_placement::random;
    explorers.emplace_back(log, &items, ec);
  }
  REQUIRE(explorers[0].eligible().count() > 0);
  const recsys::factor_similarity fsim(bpr);
  const recsys::cooccurrence_similarity csim(knn);

  recsys::promotion promo;
  promo.percent = 25;
  promo.placement = recsys::slot_placement::random;
  promo.seed = 5;
  recsys::pipeline pl(bpr);
  pl.add_source(recsys::top_n_source("bpr", bpr, 20))
      .add_source(recsys::recent_neighbours_source("recent", knn, log, 5, 15))
      .add_source(recsys::top_n_source("popular", pop, 10))
      .set_fallback(pop, 30)
      .set_filter(request, {{"MAX", {"200"}}, {"CATS", {"c1"}}})
      .set_promotion(promoted, promo)
      .set_exploration(explorers[0])
      .set_diversity(fsim, 0.7);

  const auto q = [&](index_t u, answers& a, const std::vector<index_t>& all, const std::vector<index_t>& exclude,
                     const std::vector<index_t>& include) {
    const recsys::filter_params p = params_for(u);
    recsys::recommend_options excl;
    excl.exclude = exclude;
    const recsys::item_mask allowed = request.allowed(u, p);
    a.add(allowed);
    a.add(recsys::recommend_filtered(bpr, u, 6, request, p));
    a.add(recsys::recommend_filtered(knn, u, 6, request, p, excl));
    a.add(recsys::recommend_filtered(pop, u, 6, fixed));
    // Item-to-item with CurrentItem.
    const index_t current = u < 0 ? 0 : u % n;
    const recsys::item_mask same = same_category.allowed(u, {}, current);
    a.add(same);
    const recsys::filtered_options fo(same);
    a.add(knn.similar_items(current, 5, fo.options()));
    // Personalized ranking of a caller's list (an unknown id, a duplicate, one past the end).
    const std::vector<index_t> cands = {current, 7, recsys::invalid_index, 2, 7, n, 30, 11, 41};
    a.add(recsys::rank_candidates(bpr, u, cands));
    a.add(recsys::rank_candidates(knn, u, cands, allowed));
    // Promotion and exploration; the seed of the slot placement is chosen per call.
    const recsys::item_mask promo_mask = promoted.allowed(u);
    recsys::promotion per_call = promo;
    per_call.seed = static_cast<std::uint64_t>(u + 1) * 7919u;
    a.add(recsys::recommend_with_promotion(bpr, u, 8, allowed, promo_mask, per_call));
    const recsys::new_item_explorer& ex = explorers[static_cast<std::size_t>(u + 1) % explorers.size()];
    a.add(recsys::recommend_with_exploration(bpr, u, 8, ex, allowed));
    a.add_ids(ex.draw(u, 5, allowed));
    const recsys::slot_group group = recsys::explore_group(bpr, u, 6, ex, allowed);
    a.add(recsys::blend(bpr.recommend(u, 6, excl), std::span<const recsys::slot_group>(&group, 1), 6,
                        static_cast<std::uint64_t>(u + 2) * 104729u, u));
    // MMR over both similarities.
    const recsys::topk_result pool = bpr.recommend(u, 20);
    a.add(recsys::diversify_mmr(pool, 6, 0.7, fsim));
    a.add(recsys::diversify_mmr(pool, 6, 0.4, csim));
    // One pipeline: sources, fallback, filter, promotion, exploration, MMR.
    recsys::pipeline_request req;
    req.user = u;
    req.k = 8;
    req.filter_values = p;
    a.add(pl.run(req));
    req.options.include = include;
    req.options.exclude_seen = false;
    req.filter_values.reset();
    a.add(pl.run(req));
    a.add(pl.recommend(u, 5, excl));
    a.add_scores(pl.score(u, all));
    a.add_ids(std::vector<index_t>{pl.uses_ranker(u) ? 1 : 0});
    if (u % 16 == 0) {  // batches with 2 worker threads: static filter (one mask) and per-user filter
      const std::vector<index_t> us = batch_users(u, log.num_users());
      for (const auto& r : recsys::recommend_filtered_batch(bpr, us, 5, fixed, {}, {}, 2)) a.add(r);
      for (const auto& r : recsys::recommend_filtered_batch(bpr, us, 5, request, p, excl, 2)) a.add(r);
      for (const auto& r : recsys::recommend_filtered_batch(knn, us, 5, request, p, {}, 2)) a.add(r);
    }
  };
  // The slots the threads compare are really there (a known user, a gold one: index 0).
  recsys::pipeline_request first;
  first.user = 0;
  first.k = 8;
  first.filter_values = params_for(0);
  const recsys::reranked_list sample = pl.run(first);
  REQUIRE(sample.count(recsys::slot_kind::promoted) > 0);
  REQUIRE(sample.count(recsys::slot_kind::explored) > 0);
  std::size_t explored = 0;
  for (index_t u = 0; u < log.num_users(); ++u)
    explored += recsys::recommend_with_exploration(bpr, u, 8, explorers[1], request.allowed(u, params_for(u)))
                    .count(recsys::slot_kind::explored);
  REQUIRE(explored > 0);

  const answers expected = run_queries(q, log.num_users(), n);
  REQUIRE_FALSE(expected.results.empty());
  check_concurrent(q, log.num_users(), n, expected);
}

TEST_CASE("loaded models of every recipe queried from many threads equal the original's single-threaded answers",
          "[concurrency]") {
  const auto log = concurrency_log();
  const std::filesystem::path root = recsys::test::scratch_dir("concurrency-loaded");
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto original = r.make(small_params(r));
    original->fit(log);
    const answers expected = run_queries(model_query{original.get(), &log}, original->num_users(), original->num_items());
    REQUIRE_FALSE(expected.results.empty());
    const std::filesystem::path dir = root / r.name;
    original->save(dir);
    original.reset();  // the loaded model must stand on its own
    const auto loaded = recsys::load_model(dir, r.name);
    REQUIRE(loaded->recipe() == r.name);
    check_concurrent(model_query{loaded.get(), &log}, loaded->num_users(), loaded->num_items(), expected);
  }
  std::filesystem::remove_all(root);
}
