// SPDX-License-Identifier: Apache-2.0
// The shared factor-model query layer, against brute force.
#include <recsys/models/factor_model.hpp>
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

namespace {
// A factor model with given factors (recipes call set_model the same way after training).
struct fixed_model : recsys::factor_model<float> {
  fixed_model(recsys::row_matrix<float> u, recsys::row_matrix<float> v, recsys::vector<float> b,
              const recsys::csr_matrix& seen) {
    set_model(std::move(u), std::move(v), std::move(b), seen);
  }
};

recsys::row_matrix<float> random_matrix(Eigen::Index r, Eigen::Index c, recsys::rng& g) {
  recsys::row_matrix<float> m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(g.normal());
  return m;
}

recsys::topk_result brute_force(const fixed_model& m, recsys::index_t user, recsys::index_t k, bool exclude_seen) {
  std::vector<std::pair<float, recsys::index_t>> all;
  const auto seen = m.seen_items(user);
  for (recsys::index_t i = 0; i < m.num_items(); ++i) {
    if (exclude_seen && std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
    float s = m.user_factors().row(user).dot(m.item_factors().row(i));
    if (m.item_bias().size()) s += m.item_bias()[i];
    all.push_back({s, i});
  }
  std::sort(all.begin(), all.end(),
            [](auto& a, auto& b) { return recsys::ranks_before(a.first, a.second, b.first, b.second); });
  recsys::topk_result r;
  for (std::size_t j = 0; j < all.size() && j < static_cast<std::size_t>(k); ++j)
    r.push_back(all[j].second, all[j].first);
  return r;
}
}  // namespace

TEST_CASE("factor_model::recommend equals a full sort, with and without seen items", "[factor_model]") {
  recsys::rng g(recsys::test::seed());
  const int users = 20, items = 300, f = 8;
  std::vector<Eigen::Triplet<float, recsys::index_t>> t;
  for (int u = 0; u < users; ++u)
    for (int j = 0; j < 10; ++j) t.emplace_back(u, static_cast<recsys::index_t>(g.uniform_index(items)), 1.f);
  recsys::csr_matrix seen(users, items);
  seen.setFromTriplets(t.begin(), t.end(), [](float a, float) { return a; });
  recsys::vector<float> bias = recsys::vector<float>::Zero(items);
  for (int i = 0; i < items; ++i) bias[i] = static_cast<float>(g.normal()) * 0.1f;
  fixed_model m(random_matrix(users, f, g), random_matrix(items, f, g), bias, seen);
  for (int u = 0; u < users; ++u)
    for (recsys::index_t k : {0, 1, 10, 299, 400}) {
      recsys::recommend_options o;
      const auto got = m.recommend(u, k, o);
      const auto want = brute_force(m, u, k, true);
      REQUIRE(got.ids == want.ids);
      for (std::size_t j = 0; j < got.size(); ++j)
        REQUIRE(got.scores[j] == recsys::test::Approx(want.scores[j]).epsilon(1e-5));
      o.exclude_seen = false;
      REQUIRE(m.recommend(u, k, o).ids == brute_force(m, u, k, false).ids);
      REQUIRE(m.recommend(u, k, o).is_sorted());
    }
}

TEST_CASE("factor_model include/exclude lists and the batch API", "[factor_model]") {
  recsys::rng g(7);
  recsys::csr_matrix seen(3, 6);
  seen.insert(0, 1) = 1;
  seen.insert(1, 1) = 1;
  seen.insert(1, 2) = 1;
  seen.makeCompressed();
  fixed_model m(random_matrix(3, 4, g), random_matrix(6, 4, g), {}, seen);
  const std::vector<recsys::index_t> include{5, 1, 3, 99};
  recsys::recommend_options o;
  o.include = include;
  auto r = m.recommend(0, 10, o);
  CHECK(r.size() == 2);  // 1 is seen, 99 is unknown
  CHECK(std::find(r.ids.begin(), r.ids.end(), 1) == r.ids.end());
  const std::vector<recsys::index_t> exclude{3};
  o.exclude = exclude;
  CHECK(m.recommend(0, 10, o).ids == std::vector<recsys::index_t>{5});

  std::vector<recsys::index_t> users{0, 1, 2, 42};
  std::vector<recsys::index_t> ids(users.size() * 8);
  std::vector<float> scores(ids.size());
  m.recommend_batch(users, 8, ids.data(), scores.data(), {}, 2);
  for (std::size_t r2 = 0; r2 < users.size(); ++r2) {
    const auto single = m.recommend(users[r2], 8);
    for (std::size_t j = 0; j < 8; ++j) {
      const recsys::index_t want = j < single.size() ? single.ids[j] : recsys::invalid_index;
      REQUIRE(ids[r2 * 8 + j] == want);
    }
  }
  CHECK(ids[0 * 8 + 5] == recsys::invalid_index);  // user 0: 6 items - 1 seen = 5 results
}

TEST_CASE("factor_model falls back to popularity for unknown users", "[factor_model]") {
  recsys::rng g(3);
  recsys::csr_matrix seen(4, 5);
  seen.insert(0, 2) = 1;
  seen.insert(1, 2) = 1;
  seen.insert(2, 4) = 1;
  seen.makeCompressed();
  fixed_model m(random_matrix(4, 3, g), random_matrix(5, 3, g), {}, seen);
  const auto r = m.recommend(3, 3);  // user 3 has no history
  CHECK(r.ids == std::vector<recsys::index_t>{2, 4, 0});
  CHECK(r.scores == std::vector<float>{2.f, 1.f, 0.f});
  CHECK(m.recommend(-1, 1).ids == std::vector<recsys::index_t>{2});
  CHECK(m.recommend(100, 1).ids == std::vector<recsys::index_t>{2});
  const std::vector<recsys::index_t> items{4, 7};
  const auto s = m.score(99, items);
  CHECK(s[0] == 1.f);
  CHECK(std::isnan(s[1]));
  CHECK_THROWS_AS(m.recommend(0, -1), recsys::invalid_argument);
}

TEST_CASE("similar_items is cosine on item factors", "[factor_model]") {
  recsys::row_matrix<float> v(4, 2);
  v << 1, 0, 2, 0.1f, 0, 1, -1, 0;
  recsys::row_matrix<float> u = recsys::row_matrix<float>::Ones(1, 2);
  recsys::csr_matrix seen(1, 4);
  fixed_model m(u, v, {}, seen);
  const auto s = m.similar_items(0, 3);
  CHECK(s.ids == std::vector<recsys::index_t>{1, 2, 3});
  CHECK(s.scores[0] == recsys::test::Approx(2.0 / std::sqrt(4.01)));
  CHECK(s.scores[2] == recsys::test::Approx(-1.0));
  // An item outside the catalogue gets the popular items (none seen here: all tie, by id).
  CHECK(m.similar_items(4, 2).ids == std::vector<recsys::index_t>{0, 1});
  CHECK(m.similar_items(-1, 9).size() == 4);
}

TEST_CASE("recommend_batch and recommend_all equal recommend for every user, known or not", "[factor_model]") {
  recsys::rng g(recsys::test::seed() + 11);
  const int users = 300, items = 257, f = 6;
  // Small integer factors and biases: every score is exact, so the batch (GEMM) and the
  // single-user (matrix-vector) paths agree bit for bit and ties are common.
  auto ints = [&](Eigen::Index r, Eigen::Index c) {
    recsys::row_matrix<float> m(r, c);
    for (Eigen::Index i = 0; i < m.size(); ++i)
      m.data()[i] = static_cast<float>(static_cast<int>(g.uniform_index(5)) - 2);
    return m;
  };
  std::vector<Eigen::Triplet<float, recsys::index_t>> t;
  for (int u = 0; u < 290; ++u) {  // users 290.. have no history (280..289: empty rows, 290..: no row)
    if (u >= 280) continue;
    for (int j = 0; j < 15; ++j) t.emplace_back(u, static_cast<recsys::index_t>(g.uniform_index(items)), 1.f);
  }
  recsys::csr_matrix seen(290, items);
  seen.setFromTriplets(t.begin(), t.end(), [](float a, float) { return a; });
  recsys::vector<float> bias(items);
  for (int i = 0; i < items; ++i) bias[i] = static_cast<float>(static_cast<int>(g.uniform_index(3)) - 1);
  const fixed_model m(ints(users, f), ints(items, f), bias, seen);

  std::vector<recsys::index_t> include(80), exclude{3, 5, 7, 3000};
  for (auto& i : include) i = static_cast<recsys::index_t>(g.uniform_index(items + 10));
  for (int variant = 0; variant < 3; ++variant) {
    recsys::recommend_options o;
    if (variant == 1) {
      o.exclude_seen = false;
      o.exclude = exclude;
    }
    if (variant == 2) o.include = include;
    for (recsys::index_t k : {0, 1, 10, 300}) {
      for (int threads : {1, 2}) {
        const auto all = m.recommend_all(k, o, threads);
        REQUIRE(all.size() == static_cast<std::size_t>(users));
        for (int u = 0; u < users; ++u) {
          INFO("variant " << variant << " k " << k << " user " << u);
          const auto one = m.recommend(u, k, o);
          REQUIRE(all[static_cast<std::size_t>(u)] == one);
        }
      }
      // an arbitrary list: unknown ids, duplicates, any order; the buffer form pads
      std::vector<recsys::index_t> list{299, -4, 17, 17, 285, 400, 0, 150, 289, 290};
      std::vector<recsys::index_t> ids(list.size() * static_cast<std::size_t>(k));
      std::vector<float> scores(ids.size());
      m.recommend_batch(list, k, ids.data(), scores.data(), o, 3);
      for (std::size_t r = 0; r < list.size(); ++r) {
        const auto one = m.recommend(list[r], k, o);
        for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
          const std::size_t at = r * static_cast<std::size_t>(k) + j;
          REQUIRE(ids[at] == (j < one.size() ? one.ids[j] : recsys::invalid_index));
          REQUIRE(scores[at] == (j < one.size() ? one.scores[j] : std::numeric_limits<float>::lowest()));
        }
      }
    }
  }
  CHECK_THROWS_AS(m.recommend_all(-1), recsys::invalid_argument);
  CHECK_THROWS_AS(m.recommend_all(3, {}, -2), recsys::invalid_argument);
}

TEST_CASE("recommend_for_vector excludes a history given in any order", "[factor_model]") {
  recsys::row_matrix<float> v(5, 2);
  v << 5, 0, 4, 0, 3, 0, 2, 0, 1, 0;
  recsys::csr_matrix seen(1, 5);
  seen.insert(0, 0) = 1;
  seen.makeCompressed();
  const fixed_model m(recsys::row_matrix<float>::Ones(1, 2), v, {}, seen);
  const recsys::vector<float> user = recsys::vector<float>::Ones(2);
  const std::vector<recsys::index_t> history{3, 0, 42, -1, 0};
  const auto r = m.recommend_for_vector(user, 5, {}, history);
  CHECK(r.ids == std::vector<recsys::index_t>{1, 2, 4});
  CHECK(r.scores == std::vector<float>{4, 3, 1});
  recsys::recommend_options keep;
  keep.exclude_seen = false;
  CHECK(m.recommend_for_vector(user, 2, keep, history).ids == std::vector<recsys::index_t>{0, 1});
}
