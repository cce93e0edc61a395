// SPDX-License-Identifier: Apache-2.0
// The shared top-K kernel against a full sort: random and tied scores, exclusions, include
// lists, k = 0 and k beyond the candidates, NaN, thread counts, block boundaries, float and double.
#include <recsys/detail/gemm.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/topk.hpp>
#include <recsys/ranking/topk-inl.hpp>  // the kernel's internals (above_mask64), also in compiled mode

#include "recsys_test.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace {

using recsys::index_t;
using recsys::score_t;
using entry = recsys::detail::scored_id;

constexpr score_t lowest = std::numeric_limits<score_t>::lowest();
constexpr score_t nan_score = std::numeric_limits<score_t>::quiet_NaN();

template <class Scalar>
recsys::row_matrix<Scalar> normal_matrix(Eigen::Index r, Eigen::Index c, recsys::rng& g) {
  recsys::row_matrix<Scalar> m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<Scalar>(g.normal());
  return m;
}

// Small integers: every product and sum is exact in float and double, so the kernel's scores
// equal the reference bit for bit whatever the summation order, and ties are plentiful.
template <class Scalar>
recsys::row_matrix<Scalar> integer_matrix(Eigen::Index r, Eigen::Index c, recsys::rng& g, int range = 2) {
  recsys::row_matrix<Scalar> m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    m.data()[i] =
        static_cast<Scalar>(static_cast<int>(g.uniform_index(static_cast<std::uint32_t>(2 * range + 1))) - range);
  return m;
}

// What the kernel is asked, in plain terms (the reference knows nothing of blocks or heaps).
struct query_rules {
  std::vector<std::vector<index_t>> own;  // per query, sorted (empty: none)
  std::vector<index_t> exclude;
  std::optional<std::vector<index_t>> include;
  std::vector<char> base_ok;  // include / exclude applied, per item (computed by finish())

  void finish(index_t num_items) {
    base_ok.assign(static_cast<std::size_t>(num_items), include ? 0 : 1);
    if (include)
      for (index_t i : *include)
        if (i >= 0 && i < num_items) base_ok[static_cast<std::size_t>(i)] = 1;
    for (index_t i : exclude)
      if (i >= 0 && i < num_items) base_ok[static_cast<std::size_t>(i)] = 0;
  }
};

bool allowed(const query_rules& rules, std::size_t q, index_t item) {
  if (item < 0 || static_cast<std::size_t>(item) >= rules.base_ok.size() ||
      !rules.base_ok[static_cast<std::size_t>(item)])
    return false;
  if (q < rules.own.size() && std::binary_search(rules.own[q].begin(), rules.own[q].end(), item)) return false;
  return true;
}

using recsys::test::error_of;

// Reference: score every allowed item, sort all of them in ranking order, keep k.
template <class ScoreOf>
std::vector<entry> full_sort(index_t num_items, std::size_t q, index_t k, const query_rules& rules,
                             ScoreOf&& score_of) {
  std::vector<entry> all;
  for (index_t i = 0; i < num_items; ++i)
    if (allowed(rules, q, i)) all.push_back({score_of(i), i});
  std::sort(all.begin(), all.end(), [](const entry& a, const entry& b) { return recsys::detail::ranks_before(a, b); });
  if (all.size() > static_cast<std::size_t>(k)) all.resize(static_cast<std::size_t>(k));
  return all;
}

// The kernel's filter for a set of rules. With `mapped`, the per-query lists are stored in
// reverse order and reached through exclude_rows (queries without exclusions: invalid_index).
struct built_filter {
  std::vector<index_t> offsets{0};
  std::vector<index_t> items;
  std::vector<index_t> rows;
  recsys::topk_filter filter;

  built_filter(const query_rules& r, bool mapped) {
    const std::size_t n = r.own.size();
    if (mapped) {
      for (std::size_t l = 0; l < n; ++l) {
        const auto& list = r.own[n - 1 - l];
        items.insert(items.end(), list.begin(), list.end());
        offsets.push_back(static_cast<index_t>(items.size()));
      }
      for (std::size_t q = 0; q < n; ++q)
        rows.push_back(r.own[q].empty() ? recsys::invalid_index : static_cast<index_t>(n - 1 - q));
      filter.exclude_rows = rows;
    } else {
      for (const auto& list : r.own) {
        items.insert(items.end(), list.begin(), list.end());
        offsets.push_back(static_cast<index_t>(items.size()));
      }
    }
    if (n > 0) filter.exclude_lists = recsys::item_lists(offsets, items);
    filter.exclude = r.exclude;
    if (r.include) filter.include = std::span<const index_t>(*r.include);
  }
  built_filter(const built_filter&) = delete;
  built_filter& operator=(const built_filter&) = delete;
};

// Random rules: per-query exclusions, a global exclude list with duplicates and ids outside the
// catalogue, and (variant 1) an unsorted include list with duplicates and foreign ids, or
// (variant 2) an empty include list.
query_rules random_rules(std::size_t nq, index_t ni, int include_variant, recsys::rng& g) {
  query_rules r;
  r.own.resize(nq);
  for (auto& list : r.own) {
    const auto len = g.uniform_index(static_cast<std::uint32_t>(std::min<index_t>(ni, 12) + 1));
    for (std::uint32_t j = 0; j < len; ++j)
      list.push_back(static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(ni))));
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  for (int j = 0; j < 3; ++j)
    r.exclude.push_back(static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(ni))));
  r.exclude.push_back(r.exclude.front());
  r.exclude.push_back(ni + 5);
  r.exclude.push_back(-3);
  if (include_variant == 1) {
    std::vector<index_t> inc;
    for (index_t i = 0; i < ni; ++i)
      if (g.uniform_index(3) == 0) inc.push_back(i);
    inc.push_back(ni);  // outside the catalogue: ignored
    inc.push_back(-1);
    if (!inc.empty()) inc.push_back(inc.front());  // duplicate
    recsys::shuffle(inc.begin(), inc.end(), g);
    r.include = inc;
  } else if (include_variant == 2) {
    r.include = std::vector<index_t>{};
  }
  r.finish(ni);
  return r;
}

bool same_bits(score_t a, score_t b) { return std::memcmp(&a, &b, sizeof a) == 0; }

template <class Scalar>
struct problem {
  recsys::row_matrix<Scalar> u, v;
  std::vector<Scalar> bias;
  [[nodiscard]] double exact(Eigen::Index q, index_t i) const {
    double s = 0;
    for (Eigen::Index d = 0; d < u.cols(); ++d) s += static_cast<double>(u(q, d)) * static_cast<double>(v(i, d));
    if (!bias.empty()) s += static_cast<double>(bias[static_cast<std::size_t>(i)]);
    return s;
  }
};

template <class Scalar>
struct kernel_output {
  std::vector<index_t> ids;
  std::vector<score_t> scores;
};

template <class Scalar>
kernel_output<Scalar> run_kernel(const problem<Scalar>& p, index_t k, const recsys::topk_filter& f,
                                 const recsys::topk_options& o) {
  kernel_output<Scalar> out;
  out.ids.assign(static_cast<std::size_t>(p.u.rows() * k), 4242);
  out.scores.assign(out.ids.size(), 42.0f);
  recsys::topk_inner_product(p.u, p.v, std::span<const Scalar>(p.bias), k, out.ids.data(), out.scores.data(), f, o);
  return out;
}

// Exact agreement with the full sort (integer data): same ids, same scores, padding after.
template <class Scalar>
void require_exact(const problem<Scalar>& p, index_t k, const query_rules& rules, const kernel_output<Scalar>& got) {
  const auto ni = static_cast<index_t>(p.v.rows());
  std::vector<index_t> want_ids(got.ids.size(), recsys::invalid_index);
  std::vector<score_t> want_scores(got.ids.size(), lowest);
  for (Eigen::Index q = 0; q < p.u.rows(); ++q) {
    const auto want = full_sort(ni, static_cast<std::size_t>(q), k, rules,
                                [&](index_t i) { return static_cast<score_t>(p.exact(q, i)); });
    for (std::size_t j = 0; j < want.size(); ++j) {
      want_ids[static_cast<std::size_t>(q * k) + j] = want[j].id;
      want_scores[static_cast<std::size_t>(q * k) + j] = want[j].score;
    }
  }
  REQUIRE(got.ids == want_ids);
  bool same = true;  // bitwise (NaN included)
  for (std::size_t j = 0; j < want_scores.size(); ++j) same = same && same_bits(got.scores[j], want_scores[j]);
  REQUIRE(same);
}

}  // namespace

TEMPLATE_TEST_CASE("topk_inner_product equals a full sort with ties, exclusions and include lists", "[topk]", float,
                   double) {
  recsys::rng g(recsys::test::seed());
  struct shape {
    Eigen::Index nq;
    index_t ni;
    Eigen::Index f;
  };
  const shape shapes[] = {{1, 1, 3}, {2, 7, 3}, {5, 63, 8}, {67, 64, 8}, {130, 65, 5}, {33, 1000, 8}, {9, 2049, 4}};
  const std::pair<index_t, index_t> blocks[] = {{0, 0}, {1, 16}, {4, 64}, {7, 100}, {64, 1000}};
  for (const shape& s : shapes) {
    problem<TestType> p{integer_matrix<TestType>(s.nq, s.f, g), integer_matrix<TestType>(s.ni, s.f, g), {}};
    if (s.ni % 2 == 1) {  // integer biases on every other shape
      p.bias.resize(static_cast<std::size_t>(s.ni));
      for (auto& b : p.bias) b = static_cast<TestType>(static_cast<int>(g.uniform_index(5)) - 2);
    }
    for (int include_variant = 0; include_variant < 3; ++include_variant) {
      const query_rules rules = random_rules(static_cast<std::size_t>(s.nq), s.ni, include_variant, g);
      const built_filter plain(rules, false);
      const built_filter mapped(rules, true);
      for (const auto& [qb, ib] : blocks)
        for (index_t k : {index_t{0}, index_t{1}, index_t{5}, s.ni, s.ni + 10}) {
          recsys::topk_options o;
          o.query_block = qb;
          o.item_block = ib;
          o.num_threads = k == s.ni + 10 ? 2 : 1;
          INFO("nq " << s.nq << " ni " << s.ni << " f " << s.f << " include " << include_variant << " blocks " << qb
                     << "x" << ib << " k " << k);
          const auto got = run_kernel(p, k, (k % 2 == 0 ? plain : mapped).filter, o);
          require_exact(p, k, rules, got);
        }
    }
  }
}

TEMPLATE_TEST_CASE("topk_inner_product on random scores matches a full sort and ignores the thread count", "[topk]",
                   float, double) {
  recsys::rng g(recsys::test::seed() + 1);
  const Eigen::Index f = 16;
  for (const auto& [nq, ni] :
       std::vector<std::pair<Eigen::Index, index_t>>{{1, 5000}, {3, 777}, {150, 3001}, {300, 1024}}) {
    problem<TestType> p{normal_matrix<TestType>(nq, f, g), normal_matrix<TestType>(ni, f, g), {}};
    p.bias.resize(static_cast<std::size_t>(ni));
    for (auto& b : p.bias) b = static_cast<TestType>(g.normal() * 0.5);
    const query_rules rules = random_rules(static_cast<std::size_t>(nq), ni, 0, g);
    const built_filter filter(rules, false);
    const index_t k = 20;
    recsys::topk_options o;
    o.item_block = 500;  // not a divisor of any item count above
    o.num_threads = 1;
    const auto got = run_kernel(p, k, filter.filter, o);
    for (Eigen::Index q = 0; q < nq; ++q) {
      const auto want = full_sort(ni, static_cast<std::size_t>(q), k, rules,
                                  [&](index_t i) { return static_cast<score_t>(p.exact(q, i)); });
      REQUIRE(want.size() == static_cast<std::size_t>(k));
      recsys::topk_result row;
      for (index_t j = 0; j < k; ++j)
        row.push_back(got.ids[static_cast<std::size_t>(q * k + j)], got.scores[static_cast<std::size_t>(q * k + j)]);
      REQUIRE(row.is_sorted());
      for (index_t j = 0; j < k; ++j) {
        const index_t id = row.ids[static_cast<std::size_t>(j)];
        REQUIRE(allowed(rules, static_cast<std::size_t>(q), id));
        const double exact = p.exact(q, id);
        const double tol = 1e-4 * (1.0 + std::abs(exact));
        // the returned score is this item's score ...
        REQUIRE(std::abs(static_cast<double>(row.scores[static_cast<std::size_t>(j)]) - exact) <= tol);
        // ... and the j-th best score of the full sort (ids may only differ on near-ties)
        REQUIRE(std::abs(exact - static_cast<double>(want[static_cast<std::size_t>(j)].score)) <= 2 * tol);
      }
      for (index_t j = 1; j < k; ++j)
        REQUIRE(row.ids[static_cast<std::size_t>(j)] != row.ids[static_cast<std::size_t>(j - 1)]);
    }
    // Same blocks, other thread counts: bit-identical output.
    for (int threads : {2, 3, 8}) {
      o.num_threads = threads;
      const auto again = run_kernel(p, k, filter.filter, o);
      REQUIRE(again.ids == got.ids);
      for (std::size_t j = 0; j < got.scores.size(); ++j) REQUIRE(same_bits(again.scores[j], got.scores[j]));
    }
    // Convenience form: one topk_result per query, the same rows.
    o.num_threads = 2;
    const auto results = recsys::topk_inner_product(p.u, p.v, std::span<const TestType>(p.bias), k, filter.filter, o);
    REQUIRE(results.size() == static_cast<std::size_t>(nq));
    for (Eigen::Index q = 0; q < nq; ++q)
      REQUIRE(results[static_cast<std::size_t>(q)].ids ==
              std::vector<index_t>(got.ids.begin() + q * k, got.ids.begin() + (q + 1) * k));
  }
}

TEMPLATE_TEST_CASE("topk_inner_product: NaN and infinite scores rank last, ties by id", "[topk]", float, double) {
  recsys::rng g(recsys::test::seed() + 2);
  const index_t ni = 150;
  problem<TestType> p{integer_matrix<TestType>(6, 4, g), integer_matrix<TestType>(ni, 4, g), {}};
  const TestType nan = std::numeric_limits<TestType>::quiet_NaN();
  const TestType inf = std::numeric_limits<TestType>::infinity();
  for (index_t i = 3; i < ni; i += 7) p.v(i, 1) = nan;  // NaN scores for every query
  p.u.row(5).setConstant(nan);                          // a query whose every score is NaN
  p.bias.assign(static_cast<std::size_t>(ni), TestType(0));
  p.bias[10] = -inf;
  p.bias[11] = inf;
  p.bias[12] = -inf;
  const query_rules rules = random_rules(6, ni, 0, g);
  const built_filter filter(rules, false);
  for (index_t k : {index_t{1}, index_t{3}, index_t{40}, index_t{149}, index_t{400}})
    for (index_t ib : {index_t{0}, index_t{16}, index_t{33}}) {
      recsys::topk_options o;
      o.item_block = ib;
      INFO("k " << k << " item block " << ib);
      const auto got = run_kernel(p, k, filter.filter, o);
      require_exact(p, k, rules, got);
      // NaN entries come after every number
      for (Eigen::Index q = 0; q < 6; ++q) {
        bool seen_nan = false;
        for (index_t j = 0; j < k; ++j) {
          const score_t s = got.scores[static_cast<std::size_t>(q * k + j)];
          if (got.ids[static_cast<std::size_t>(q * k + j)] == recsys::invalid_index) break;
          if (std::isnan(s))
            seen_nan = true;
          else
            REQUIRE_FALSE(seen_nan);
        }
      }
    }
  // A best item with +inf, worst finite with -inf: +inf first for a finite query.
  const auto one = run_kernel(p, 1, filter.filter, recsys::topk_options{});
  if (allowed(rules, 0, 11)) CHECK(one.ids[0] == 11);
}

TEMPLATE_TEST_CASE("topk_inner_product edge cases: k = 0, no candidates, no queries, no factors", "[topk]", float,
                   double) {
  recsys::rng g(recsys::test::seed() + 3);
  problem<TestType> p{normal_matrix<TestType>(4, 3, g), normal_matrix<TestType>(10, 3, g), {}};
  // k = 0: nothing written, empty results
  std::vector<index_t> ids(4, 7);
  std::vector<score_t> scores(4, 7.0f);
  recsys::topk_inner_product(p.u, p.v, {}, 0, ids.data(), scores.data());
  CHECK(ids == std::vector<index_t>(4, 7));
  const auto none = recsys::topk_inner_product(p.u, p.v, {}, 0);
  REQUIRE(none.size() == 4);
  for (const auto& r : none) CHECK(r.empty());
  // every item excluded: rows of padding
  std::vector<index_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  recsys::topk_filter f;
  f.exclude = all;
  ids.assign(4 * 3, 7);
  scores.assign(ids.size(), 7.0f);
  recsys::topk_inner_product(p.u, p.v, {}, 3, ids.data(), scores.data(), f);
  CHECK(ids == std::vector<index_t>(12, recsys::invalid_index));
  CHECK(scores == std::vector<score_t>(12, lowest));
  // an empty include list leaves no candidate; an unset one leaves every item
  recsys::topk_filter inc;
  inc.include = std::span<const index_t>{};
  for (const auto& r : recsys::topk_inner_product(p.u, p.v, {}, 3, inc)) CHECK(r.empty());
  for (const auto& r : recsys::topk_inner_product(p.u, p.v, {}, 3)) CHECK(r.size() == 3);
  // include list naming only excluded or unknown items: no candidate
  const index_t some[] = {2, 2, 99, -1};
  const index_t two[] = {2};
  recsys::topk_filter both;
  both.include = std::span<const index_t>(some);
  both.exclude = two;
  for (const auto& r : recsys::topk_inner_product(p.u, p.v, {}, 3, both)) CHECK(r.empty());
  // no queries; no items; zero factors (every score is the bias, or 0)
  const recsys::row_matrix<TestType> no_queries(0, 3);
  CHECK(recsys::topk_inner_product(no_queries, p.v, {}, 3).empty());
  const recsys::row_matrix<TestType> no_items(0, 3);
  for (const auto& r : recsys::topk_inner_product(p.u, no_items, {}, 3)) CHECK(r.empty());
  const recsys::row_matrix<TestType> u0(2, 0), v0(5, 0);
  const std::vector<TestType> b{1, 3, 2, 3, 0};
  for (const auto& r : recsys::topk_inner_product(u0, v0, std::span<const TestType>(b), 3)) {
    CHECK(r.ids == std::vector<index_t>{1, 3, 2});
    CHECK(r.scores == std::vector<score_t>{3, 3, 2});
  }
  // column-major and expression inputs are accepted (copied once)
  const Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> vc = p.v;
  const auto a = recsys::topk_inner_product(p.u, vc, {}, 4);
  const auto b2 = recsys::topk_inner_product(p.u.topRows(4), p.v, {}, 4);
  for (std::size_t q = 0; q < 4; ++q) CHECK(a[q].ids == b2[q].ids);
}

TEST_CASE("topk_inner_product rejects bad arguments", "[topk]") {
  recsys::rng g(5);
  const auto u = normal_matrix<float>(3, 4, g);
  const auto v = normal_matrix<float>(8, 4, g);
  std::vector<index_t> ids(3 * 2);
  std::vector<score_t> scores(ids.size());
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, {}, -1), recsys::invalid_argument);
  const auto v5 = normal_matrix<float>(8, 5, g);
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v5, {}, 2), recsys::invalid_argument);
  const std::vector<float> short_bias(7, 0.0f);
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, std::span<const float>(short_bias), 2), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, {}, 2, nullptr, scores.data()), recsys::invalid_argument);
  recsys::topk_options bad;
  bad.num_threads = -1;
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, {}, 2, {}, bad), recsys::invalid_argument);
  // exclusion lists: wrong count, unsorted list, bad row mapping
  const std::vector<index_t> offsets{0, 2, 2};
  const std::vector<index_t> items{5, 1};
  recsys::topk_filter f;
  f.exclude_lists = recsys::item_lists(offsets, items);  // 2 lists for 3 queries
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, {}, 2, f), recsys::invalid_argument);
  const std::vector<index_t> rows{0, 1, recsys::invalid_index};
  f.exclude_rows = rows;  // list 0 = {5, 1} is not sorted
  CHECK(error_of([&] { (void)recsys::topk_inner_product(u, v, {}, 2, f); }).find("not sorted") != std::string::npos);
  const std::vector<index_t> bad_rows{0, 2, 1};
  f.exclude_rows = bad_rows;
  CHECK_THROWS_AS(recsys::topk_inner_product(u, v, {}, 2, f), recsys::invalid_argument);
  const std::vector<index_t> bad_offsets{0, 3};
  CHECK_THROWS_AS(recsys::item_lists(bad_offsets, items), recsys::invalid_argument);
  recsys::csr_matrix m(2, 3);
  m.insert(0, 1) = 1;  // uncompressed
  CHECK_THROWS_AS(recsys::item_lists(m), recsys::invalid_argument);
}

TEMPLATE_TEST_CASE("topk_select equals a full sort of precomputed scores", "[topk]", float, double) {
  recsys::rng g(recsys::test::seed() + 4);
  const Eigen::Index nq = 40;
  const index_t ni = 517;
  recsys::row_matrix<TestType> s(nq, ni);
  for (Eigen::Index i = 0; i < s.size(); ++i)
    s.data()[i] = static_cast<TestType>(static_cast<int>(g.uniform_index(30)));  // many ties
  for (Eigen::Index i = 0; i < s.size(); i += 13) s.data()[i] = std::numeric_limits<TestType>::quiet_NaN();
  for (int include_variant = 0; include_variant < 3; ++include_variant) {
    const query_rules rules = random_rules(static_cast<std::size_t>(nq), ni, include_variant, g);
    const built_filter filter(rules, include_variant == 1);
    for (index_t k : {index_t{0}, index_t{1}, index_t{7}, index_t{600}}) {
      recsys::topk_options o;
      o.item_block = 100;
      o.query_block = 6;
      o.num_threads = 2;
      const auto got = recsys::topk_select(s, k, filter.filter, o);
      REQUIRE(got.size() == static_cast<std::size_t>(nq));
      for (Eigen::Index q = 0; q < nq; ++q) {
        const auto want = full_sort(ni, static_cast<std::size_t>(q), k, rules,
                                    [&](index_t i) { return static_cast<score_t>(s(q, i)); });
        const auto& r = got[static_cast<std::size_t>(q)];
        REQUIRE(r.size() == want.size());
        for (std::size_t j = 0; j < want.size(); ++j) {
          REQUIRE(r.ids[j] == want[j].id);
          REQUIRE(same_bits(r.scores[j], want[j].score));
        }
      }
    }
  }
}

TEST_CASE("topk_select on one score vector", "[topk]") {
  const std::vector<score_t> s{3, 1, nan_score, 3, 5, 1};
  CHECK(recsys::topk_select(std::span<const score_t>(s), 10).ids == std::vector<index_t>{4, 0, 3, 1, 5, 2});
  const index_t seen[] = {0, 4};
  recsys::topk_filter f;
  f.exclude_lists = recsys::item_lists::single(seen);
  const auto r = recsys::topk_select(std::span<const score_t>(s), 2, f);
  CHECK(r.ids == std::vector<index_t>{3, 1});
  CHECK(r.scores == std::vector<score_t>{3, 1});
  CHECK(recsys::topk_select(std::span<const score_t>(s), 0).empty());
  CHECK(recsys::topk_select(std::span<const score_t>{}, 3).empty());
}

TEMPLATE_TEST_CASE("gemm_abt equals a naive product", "[topk]", float, double) {
  recsys::rng g(recsys::test::seed() + 5);
  for (const auto& [rows, cols, depth] :
       std::vector<std::array<Eigen::Index, 3>>{{1, 1, 1}, {5, 17, 3}, {64, 300, 64}, {33, 129, 70}, {7, 2, 0}}) {
    const auto a = normal_matrix<TestType>(rows, depth, g);
    const auto b = normal_matrix<TestType>(cols, depth, g);
    recsys::detail::gemm_abt<TestType> gemm(rows + 3, cols + 5, depth);
    const Eigen::Index ldc = cols + 7;
    recsys::row_matrix<TestType> c = recsys::row_matrix<TestType>::Constant(rows, ldc, TestType(0.5));
    gemm.run(rows, cols, a.data(), depth, b.data(), depth, c.data(), ldc);
    for (Eigen::Index i = 0; i < rows; ++i)
      for (Eigen::Index j = 0; j < ldc; ++j) {
        double want = 0.5;
        if (j < cols)
          for (Eigen::Index d = 0; d < depth; ++d) want += static_cast<double>(a(i, d)) * static_cast<double>(b(j, d));
        REQUIRE(static_cast<double>(c(i, j)) == recsys::test::Approx(want).margin(1e-4));
      }
  }
}

TEST_CASE("topk_heap keeps the k best of a stream in ranking order", "[topk]") {
  recsys::rng g(recsys::test::seed() + 6);
  for (index_t k : {0, 1, 2, 5, 50, 300}) {
    std::vector<entry> stream;
    for (index_t i = 0; i < 200; ++i) {
      const score_t s = g.uniform_index(10) == 0 ? nan_score : static_cast<score_t>(g.uniform_index(20));
      stream.push_back({s, static_cast<index_t>(g.uniform_index(100000))});
    }
    recsys::shuffle(stream.begin(), stream.end(), g);
    recsys::detail::topk_heap heap(k);
    for (const auto& e : stream) heap.push(e.score, e.id);
    recsys::detail::topk_heap copy = heap;  // copies keep their own storage
    std::sort(stream.begin(), stream.end(),
              [](const entry& a, const entry& b) { return recsys::detail::ranks_before(a, b); });
    stream.resize(std::min<std::size_t>(stream.size(), static_cast<std::size_t>(k)));
    for (recsys::detail::topk_heap* h : {&heap, &copy}) {
      recsys::topk_result r;
      h->drain_into(r);
      REQUIRE(r.size() == stream.size());
      for (std::size_t j = 0; j < r.size(); ++j) {
        REQUIRE(r.ids[j] == stream[j].id);
        REQUIRE(same_bits(r.scores[j], stream[j].score));
      }
    }
  }
}

#if defined(__AVX512F__) || defined(__AVX__)
TEST_CASE("the SIMD threshold masks equal the portable loop", "[topk]") {
  recsys::rng g(recsys::test::seed() + 7);
  std::vector<float> row(64 * 200);
  for (auto& x : row) x = g.uniform_index(20) == 0 ? nan_score : static_cast<float>(g.uniform_index(9)) - 4.0f;
  for (float thr : {-5.0f, -1.0f, 0.0f, 2.5f, 4.0f, lowest, -std::numeric_limits<float>::infinity()})
    for (std::size_t c = 0; c < row.size(); c += 64) {
      const std::uint64_t want = recsys::detail::above_mask64_portable(row.data() + c, thr);
      REQUIRE(recsys::detail::above_mask64(row.data() + c, thr) == want);
      std::uint64_t by_hand = 0;
      for (int j = 0; j < 64; ++j)
        by_hand |= static_cast<std::uint64_t>(row[c + static_cast<std::size_t>(j)] > thr) << j;
      REQUIRE(want == by_hand);
    }
}
#endif
