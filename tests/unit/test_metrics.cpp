// SPDX-License-Identifier: Apache-2.0
// Ranking metrics against hand-computed values (Personalize's worked example included) and
// brute force; the accumulator's order independence; metric names.
#include <recsys/eval/metrics.hpp>
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

namespace {
using recsys::index_t;
using ids = std::vector<index_t>;
using recsys::test::Approx;

using recsys::test::error_of;

// AUC by enumerating every (relevant, non-relevant) candidate pair. Candidates are 0..n-1; the
// list gives ranks 0..len-1 and every unlisted candidate shares rank len.
double brute_force_auc(const ids& ranked, const ids& relevant, index_t n) {
  std::vector<std::int64_t> rank(static_cast<std::size_t>(n), static_cast<std::int64_t>(ranked.size()));
  for (std::size_t i = 0; i < ranked.size(); ++i)
    rank[static_cast<std::size_t>(ranked[i])] = static_cast<std::int64_t>(i);
  double good = 0, pairs = 0;
  for (index_t a : relevant)
    for (index_t b = 0; b < n; ++b) {
      if (std::find(relevant.begin(), relevant.end(), b) != relevant.end()) continue;
      pairs += 1;
      const auto ra = rank[static_cast<std::size_t>(a)], rb = rank[static_cast<std::size_t>(b)];
      good += ra < rb ? 1.0 : ra == rb ? 0.5 : 0.0;
    }
  return good / pairs;
}
}  // namespace

TEST_CASE("Personalize's worked example: relevant at positions 2 and 5, K = 5", "[metrics]") {
  const ids ranked{10, 20, 30, 40, 50};
  const ids relevant{50, 20};
  // (1/log 3 + 1/log 6) / (1/log 2 + 1/log 3), any log base
  const double want = (1 / std::log(3.0) + 1 / std::log(6.0)) / (1 / std::log(2.0) + 1 / std::log(3.0));
  CHECK(recsys::ndcg_at_k(ranked, relevant, 5) == Approx(want).epsilon(1e-12));
  CHECK(recsys::ndcg_at_k(ranked, relevant, 5) == Approx(0.6241).margin(5e-5));
  CHECK(recsys::precision_at_k(ranked, relevant, 5) == 0.4);
  CHECK(recsys::reciprocal_rank_at_k(ranked, relevant, 25) == 0.5);
  CHECK(recsys::recall_at_k(ranked, relevant, 5) == 1.0);
  CHECK(recsys::hit_at_k(ranked, relevant, 5) == 1.0);
  CHECK(recsys::average_precision_at_k(ranked, relevant, 5) == Approx((1.0 / 2 + 2.0 / 5) / 2));
}

TEST_CASE("per-query metrics by hand", "[metrics]") {
  const ids ranked{4, 8, 15, 16, 23, 42};
  const ids relevant{16, 99, 4, 4};  // a set: the duplicate counts once; 99 is never recommended
  SECTION("cutoffs shorter than the list") {
    CHECK(recsys::precision_at_k(ranked, relevant, 1) == 1.0);
    CHECK(recsys::precision_at_k(ranked, relevant, 3) == Approx(1.0 / 3));
    CHECK(recsys::recall_at_k(ranked, relevant, 3) == Approx(1.0 / 3));
    CHECK(recsys::recall_at_k(ranked, relevant, 4) == Approx(2.0 / 3));
    CHECK(recsys::hit_at_k(ranked, ids{42}, 5) == 0.0);
    CHECK(recsys::hit_at_k(ranked, ids{42}, 6) == 1.0);
    CHECK(recsys::reciprocal_rank_at_k(ranked, ids{23, 15}, 25) == Approx(1.0 / 3));
    CHECK(recsys::reciprocal_rank_at_k(ranked, ids{23, 15}, 2) == 0.0);
    // DCG@4 = 1/log2(2) + 1/log2(5); ideal: 3 relevant, K = 4 -> 1 + 1/log2(3) + 1/log2(4)
    CHECK(recsys::ndcg_at_k(ranked, relevant, 4) == Approx((1 + 1 / std::log2(5.0)) / (1 + 1 / std::log2(3.0) + 0.5)));
    // AP@4 = (1/1 + 2/4) / min(3, 4)
    CHECK(recsys::average_precision_at_k(ranked, relevant, 4) == Approx(1.5 / 3));
    // AP@1: min(3, 1) = 1 -> 1/1
    CHECK(recsys::average_precision_at_k(ranked, relevant, 1) == 1.0);
  }
  SECTION("cutoffs beyond the list and padding") {
    const ids padded{4, recsys::invalid_index, 16, recsys::invalid_index, recsys::invalid_index};
    CHECK(recsys::precision_at_k(padded, relevant, 10) == Approx(0.2));  // hits / K even when short
    CHECK(recsys::recall_at_k(padded, relevant, 10) == Approx(2.0 / 3));
    // the padding keeps its position: 16 is at position 3
    CHECK(recsys::ndcg_at_k(padded, relevant, 10) == Approx((1 + 0.5) / (1 + 1 / std::log2(3.0) + 0.5)));
    CHECK(recsys::average_precision_at_k(padded, relevant, 10) == Approx((1 + 2.0 / 3) / 3));
    CHECK(recsys::precision_at_k(ids{}, relevant, 5) == 0.0);
    CHECK(recsys::ndcg_at_k(ids{}, relevant, 5) == 0.0);
  }
  SECTION("perfect and empty lists") {
    CHECK(recsys::ndcg_at_k(ids{99, 4, 16}, relevant, 3) == Approx(1.0));
    CHECK(recsys::ndcg_at_k(ids{99, 4, 16, 7}, relevant, 2) == Approx(1.0));
    CHECK(recsys::average_precision_at_k(ids{99, 4, 16}, relevant, 10) == Approx(1.0));
    CHECK(recsys::reciprocal_rank_at_k(ids{1, 2}, relevant) == 0.0);
  }
}

TEST_CASE("auc: worked example, brute force over pairs, and edge cases", "[metrics]") {
  // 10 candidates; relevant {2, 7}; the list is [5, 2, 9]. 8 non-relevant candidates.
  // 2 (position 2) beats every non-relevant item but 5: 7 pairs; 7 (unlisted) loses to 5 and 9
  // and ties with the 6 other unlisted ones: 3 pairs. AUC = 10 / 16.
  CHECK(recsys::auc(ids{5, 2, 9}, ids{2, 7}, 10) == Approx(10.0 / 16));
  CHECK(recsys::auc(ids{}, ids{3}, 10) == Approx(0.5));
  CHECK(recsys::auc(ids{3, 1}, ids{3, 1}, 10) == Approx(1.0));
  CHECK(recsys::auc(ids{0, 1, 2}, ids{2}, 3) == Approx(0.0));
  CHECK(std::isnan(recsys::auc(ids{1}, ids{0, 1}, 2)));  // no non-relevant candidate: undefined
  CHECK_THROWS_AS(recsys::auc(ids{5, 6, 7}, ids{1, 2}, 4), recsys::invalid_argument);  // 2 + 3 > 4 candidates

  recsys::rng g(recsys::test::seed());
  for (int trial = 0; trial < 200; ++trial) {
    const auto n = static_cast<index_t>(2 + g.uniform_index(30));
    ids all(static_cast<std::size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    recsys::shuffle(all.begin(), all.end(), g);
    const auto len =
        static_cast<std::size_t>(g.uniform_index(static_cast<std::uint32_t>(n + 1)));  // up to the full list
    const ids ranked(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(len));
    recsys::shuffle(all.begin(), all.end(), g);
    const auto nrel = static_cast<std::size_t>(1 + g.uniform_index(static_cast<std::uint32_t>(n - 1)));
    const ids relevant(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(nrel));
    INFO("trial " << trial << " n " << n << " list " << len << " relevant " << nrel);
    CHECK(recsys::auc(ranked, relevant, n) == Approx(brute_force_auc(ranked, relevant, n)).epsilon(1e-12));
  }
}

TEST_CASE("metrics reject malformed queries", "[metrics]") {
  const ids ranked{1, 2, 3};
  CHECK_THROWS_AS(recsys::precision_at_k(ranked, ids{}, 3), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::precision_at_k(ranked, ids{1}, 0), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::ndcg_at_k(ranked, ids{-2}, 3), recsys::invalid_argument);
  CHECK(error_of([] { (void)recsys::ndcg_at_k(ids{1, 2, 1}, ids{1}, 3); }).find("more than once") != std::string::npos);
  CHECK_THROWS_AS(recsys::hit_at_k(ids{1, -5}, ids{1}, 3), recsys::invalid_argument);
  CHECK_NOTHROW(recsys::hit_at_k(ids{1, recsys::invalid_index, recsys::invalid_index}, ids{1}, 3));
}

TEST_CASE("metric names: the CLI's keys, Personalize's names, parsing", "[metrics]") {
  std::vector<std::string> names;
  for (const auto& m : recsys::default_metrics()) names.push_back(recsys::metric_name(m));
  CHECK(names == std::vector<std::string>{"ndcg@10", "precision@10", "recall@20", "mrr@25", "coverage", "hit@10",
                                          "map@10", "auc"});
  for (const auto& m : recsys::default_metrics()) CHECK(recsys::parse_metric(recsys::metric_name(m)) == m);
  CHECK(recsys::metric_name({recsys::metric_kind::coverage, 25}) == "coverage@25");
  CHECK(recsys::parse_metric("coverage@25") == recsys::metric{recsys::metric_kind::coverage, 25});

  std::vector<std::string> long_names;
  for (const auto& m : recsys::personalize_metrics()) {
    long_names.push_back(recsys::personalize_metric_name(m));
    CHECK(recsys::parse_metric(long_names.back()) == m);
  }
  CHECK(long_names == std::vector<std::string>{
                          "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
                          "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
                          "precision_at_5", "precision_at_10", "precision_at_25"});
  CHECK(recsys::personalize_metric_name({recsys::metric_kind::recall, 20}).empty());
  CHECK(recsys::personalize_metric_name({recsys::metric_kind::mrr, 10}).empty());

  for (const char* bad :
       {"ndcg", "ndcg@", "ndcg@0", "ndcg@-3", "ndcg@1x", "auc@10", "nDCG@10", "precision_at_", "mrr_at_25", ""})
    CHECK_THROWS_AS(recsys::parse_metric(bad), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::metric_name({recsys::metric_kind::ndcg, 0}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::metric_name({recsys::metric_kind::auc, 5}), recsys::invalid_argument);
}

TEST_CASE("metrics_accumulator: means of the per-query values, counts, coverage", "[metrics]") {
  recsys::metrics_accumulator acc(recsys::default_metrics(), 100);
  const ids r1{10, 20, 30, 40, 50}, rel1{50, 20};
  const ids r2{1, 2, 3, recsys::invalid_index}, rel2{7};
  const ids r3{7, 8}, rel3{8, 9, 10};
  acc.add(r1, rel1, 98);
  acc.add(r2, rel2, 95);
  acc.add(r3, rel3, 100);
  CHECK(acc.num_queries() == 3);
  CHECK(acc.num_relevant() == 6);
  CHECK(acc.num_recommended() == 10);
  const auto mean = [&](auto f) { return (f(r1, rel1) + f(r2, rel2) + f(r3, rel3)) / 3; };
  CHECK(acc.value("ndcg@10") ==
        Approx(mean([](auto& a, auto& b) { return recsys::ndcg_at_k(a, b, 10); })).epsilon(1e-9));
  CHECK(acc.value("precision@10") ==
        Approx(mean([](auto& a, auto& b) { return recsys::precision_at_k(a, b, 10); })).epsilon(1e-9));
  CHECK(acc.value("recall@20") ==
        Approx(mean([](auto& a, auto& b) { return recsys::recall_at_k(a, b, 20); })).epsilon(1e-9));
  CHECK(acc.value("mrr@25") == Approx((0.5 + 0 + 0.5) / 3).epsilon(1e-9));
  CHECK(acc.value("hit@10") == Approx(2.0 / 3).epsilon(1e-9));
  CHECK(acc.value("map@10") ==
        Approx(mean([](auto& a, auto& b) { return recsys::average_precision_at_k(a, b, 10); })).epsilon(1e-9));
  const double auc_mean = (recsys::auc(r1, rel1, 98) + recsys::auc(r2, rel2, 95) + recsys::auc(r3, rel3, 100)) / 3;
  CHECK(acc.value("auc") == Approx(auc_mean).epsilon(1e-9));
  CHECK(acc.value("coverage") == Approx(10.0 / 100));  // 10 distinct items of 100
  const auto res = acc.results();
  REQUIRE(res.size() == 8);
  CHECK(res[0].name == "ndcg@10");
  CHECK(res[0].queries == 3);
  CHECK_THROWS_AS(acc.value("ndcg@5"), recsys::invalid_argument);

  // auc needs the candidate count; coverage needs ids inside the catalogue
  CHECK_THROWS_AS(acc.add(r1, rel1), recsys::invalid_argument);
  CHECK_THROWS_AS(acc.add(ids{100}, rel1, 50), recsys::invalid_argument);
  CHECK(acc.num_queries() == 3);
  // queries where auc is undefined are left out of its mean and counted
  acc.add(ids{0}, ids{0, 1}, 2);
  CHECK(acc.results().back().queries == 3);
  CHECK(acc.results().front().queries == 4);

  CHECK_THROWS_AS(recsys::metrics_accumulator({{recsys::metric_kind::coverage, 0}}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::metrics_accumulator({{recsys::metric_kind::ndcg, 5}, {recsys::metric_kind::ndcg, 5}}),
                  recsys::invalid_argument);
  recsys::metrics_accumulator empty({{recsys::metric_kind::ndcg, 5}});
  CHECK(std::isnan(empty.value("ndcg@5")));
  empty.add(ids{3}, ids{3});  // no auc: no candidate count needed
  CHECK(empty.value("ndcg@5") == 1.0);
}

TEST_CASE("metrics_accumulator is independent of query order and of how partials merge", "[metrics]") {
  recsys::rng g(recsys::test::seed() + 1);
  const index_t catalogue = 500;
  struct query {
    ids ranked, relevant;
    std::int64_t candidates;
  };
  std::vector<query> queries(700);
  for (auto& q : queries) {
    ids all(static_cast<std::size_t>(catalogue));
    std::iota(all.begin(), all.end(), 0);
    recsys::shuffle(all.begin(), all.end(), g);
    q.ranked.assign(all.begin(), all.begin() + 25);
    recsys::shuffle(all.begin(), all.end(), g);
    q.relevant.assign(all.begin(), all.begin() + 1 + static_cast<std::ptrdiff_t>(g.uniform_index(8)));
    q.relevant.push_back(q.ranked[g.uniform_index(25)]);  // at least some hits
    q.candidates = catalogue;
  }
  auto metrics = recsys::default_metrics();
  metrics.push_back({recsys::metric_kind::ndcg, 25});
  recsys::metrics_accumulator forward(metrics, catalogue);
  for (const auto& q : queries) forward.add(q.ranked, q.relevant, q.candidates);
  // reversed order, in 7 partial accumulators merged in a scrambled order
  std::vector<recsys::metrics_accumulator> parts(7, recsys::metrics_accumulator(metrics, catalogue));
  for (std::size_t i = queries.size(); i-- > 0;)
    parts[i % 7].add(queries[i].ranked, queries[i].relevant, queries[i].candidates);
  recsys::metrics_accumulator merged(metrics, catalogue);
  for (std::size_t p : {3u, 0u, 6u, 1u, 5u, 2u, 4u}) merged.merge(parts[p]);
  const auto a = forward.results(), b = merged.results();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(std::memcmp(&a[i].value, &b[i].value, sizeof(double)) == 0);
    CHECK(a[i].queries == b[i].queries);
  }
  CHECK(merged.num_queries() == 700);
  CHECK(merged.num_recommended() == forward.num_recommended());
  // and the fixed-point mean is the double mean to ~1e-10
  double ndcg = 0;
  for (const auto& q : queries) ndcg += recsys::ndcg_at_k(q.ranked, q.relevant, 10);
  CHECK(forward.value("ndcg@10") == Approx(ndcg / 700).epsilon(1e-9));
  recsys::metrics_accumulator other({{recsys::metric_kind::ndcg, 10}}, catalogue);
  CHECK_THROWS_AS(merged.merge(other), recsys::invalid_argument);
}
