// SPDX-License-Identifier: Apache-2.0
// build_matrix and its weightings, time decay, CSC / transposed views, per-row / per-column counts.
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <cmath>
#include <string>
#include <vector>

using recsys::test::Approx;

namespace {

using dense = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

/// A random log: `users` x `items` ids, timestamps with many ties, random weights.
recsys::interaction_log random_log(std::uint64_t seed, int users, int items, int events, bool unit_weights = false) {
  recsys::interaction_log log;
  // (std::string("u") += ...: GCC 12 warns falsely (-Wrestrict) on "u" + std::to_string(u))
  for (int u = 0; u < users; ++u) log.user_ids.insert(std::string("u") += std::to_string(u));
  for (int i = 0; i < items; ++i) log.item_ids.insert(std::string("i") += std::to_string(i));
  recsys::rng r(seed, recsys::stream_tag("test.matrix"), 0);
  for (int e = 0; e < events; ++e) {
    const auto u = static_cast<recsys::index_t>(r.uniform_index(static_cast<std::uint32_t>(users)));
    // skewed items so rows repeat items often
    const auto a = r.uniform_index(static_cast<std::uint32_t>(items));
    const auto i = static_cast<recsys::index_t>(a * r.uniform_index(static_cast<std::uint32_t>(items)) / items);
    const auto t = static_cast<recsys::timestamp_t>(1000 + 100 * r.uniform_index(50));
    const float w = unit_weights ? 1.0f : 0.25f * static_cast<float>(1 + r.uniform_index(12));
    log.add_indexed(u, i, t, recsys::invalid_index, std::nanf(""), recsys::invalid_index, w);
  }
  return log;
}

/// The naive reference: aggregate events into a dense matrix with the documented formulas.
dense naive_matrix(const recsys::interaction_log& log, const recsys::matrix_options& o, dense* pattern = nullptr) {
  const auto U = log.num_users(), I = log.num_items();
  dense x = dense::Zero(U, I), pat = dense::Zero(U, I), latest_t = dense::Constant(U, I, -1e300);
  const double ref = static_cast<double>(o.reference_time ? *o.reference_time : log.time_range().second);
  for (std::size_t r = 0; r < log.size(); ++r) {
    const auto u = log.users[r], i = log.items[r];
    double d = 1.0;
    if (o.half_life_seconds > 0)
      d = std::pow(2.0, -(ref - static_cast<double>(log.timestamps[r])) / o.half_life_seconds);
    const double w = static_cast<double>(static_cast<float>(log.weights[r] * d));
    const double one = static_cast<double>(static_cast<float>(d));
    const bool first = pat(u, i) == 0;
    pat(u, i) = 1;
    switch (o.scheme) {
      case recsys::weighting::count:
        x(u, i) += one;
        break;
      case recsys::weighting::binary:
        x(u, i) = first ? one : std::max(x(u, i), one);
        break;
      default:
        if (o.duplicates == recsys::duplicate_aggregation::sum)
          x(u, i) += w;
        else if (o.duplicates == recsys::duplicate_aggregation::max)
          x(u, i) = first ? w : std::max(x(u, i), w);
        else if (static_cast<double>(log.timestamps[r]) >= latest_t(u, i)) {  // later rows win ties
          latest_t(u, i) = static_cast<double>(log.timestamps[r]);
          x(u, i) = w;
        }
    }
  }
  dense y = x;
  Eigen::VectorXd n_u = pat.rowwise().sum(), col = x.colwise().sum().transpose();
  const double avg = col.sum() / I;
  for (int u = 0; u < U; ++u)
    for (int i = 0; i < I; ++i) {
      if (pat(u, i) == 0) continue;
      const double v = x(u, i), idf = std::log(static_cast<double>(I) / (1.0 + n_u(u)));
      switch (o.scheme) {
        case recsys::weighting::log1p:
          y(u, i) = std::log1p(v);
          break;
        case recsys::weighting::confidence:
          y(u, i) = 1.0 + o.alpha * v;
          break;
        case recsys::weighting::bm25: {
          const double norm = o.bm25_k1 * ((1.0 - o.bm25_b) + o.bm25_b * col(i) / avg);
          y(u, i) = v * (o.bm25_k1 + 1.0) / (norm + v) * idf;
          break;
        }
        case recsys::weighting::tfidf:
          y(u, i) = std::sqrt(v) * idf;
          break;
        default:
          break;
      }
    }
  if (pattern) *pattern = pat;
  return y;
}

void require_matches(const recsys::csr_matrix& m, const dense& ref, const dense& pattern) {
  REQUIRE(m.rows() == ref.rows());
  REQUIRE(m.cols() == ref.cols());
  REQUIRE(m.isCompressed());
  REQUIRE(static_cast<double>(m.nonZeros()) == pattern.sum());
  for (Eigen::Index u = 0; u < m.rows(); ++u) {
    recsys::index_t prev = -1;
    for (recsys::csr_matrix::InnerIterator it(m, u); it; ++it) {
      REQUIRE(it.col() > prev);  // sorted, no duplicates
      prev = static_cast<recsys::index_t>(it.col());
      REQUIRE(pattern(u, it.col()) == 1.0);
      REQUIRE(static_cast<double>(it.value()) == Approx(ref(u, it.col())).epsilon(1e-5).margin(1e-6));
    }
  }
}

}  // namespace

TEST_CASE("build_matrix: shape, pattern and summed weights on a hand example", "[matrix]") {
  recsys::interaction_log log;
  log.add("alice", "x", 10);
  log.add("bob", "y", 20);
  log.add("alice", "x", 30);
  log.add("alice", "z", 5);
  log.user_ids.insert("carol");  // a user without events: an empty row
  log.item_ids.insert("w");      // an item without events: an empty column
  log.weights[1] = 2.5f;
  log.weights[2] = 3.0f;
  const auto m = recsys::build_matrix(log);
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 4);
  CHECK(m.nonZeros() == 3);
  CHECK(m.coeff(0, 0) == 4.0f);  // 1 + 3
  CHECK(m.coeff(1, 1) == 2.5f);
  CHECK(m.coeff(0, 2) == 1.0f);
  CHECK(m.outerIndexPtr()[3] == m.outerIndexPtr()[2]);  // carol's row is empty
  CHECK(m.innerIndexPtr()[0] == 0);                     // alice: x before z
  CHECK(m.innerIndexPtr()[1] == 2);

  recsys::matrix_options o;
  o.duplicates = recsys::duplicate_aggregation::max;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == 3.0f);
  o.duplicates = recsys::duplicate_aggregation::latest;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == 3.0f);  // t = 30
  log.timestamps[2] = 10;                                   // now a tie: the later row wins
  log.weights[0] = 7.0f;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == 3.0f);
  log.timestamps[2] = 5;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == 7.0f);

  CHECK(recsys::user_history_lengths(m) == std::vector<recsys::index_t>{2, 1, 0});
  CHECK(recsys::item_popularity(m) == std::vector<recsys::index_t>{1, 1, 1, 0});
}

TEST_CASE("build_matrix: binary, count, log1p and confidence against hand-computed values", "[matrix]") {
  recsys::interaction_log log;
  log.add("u", "a", 1);
  log.add("u", "a", 2);
  log.add("u", "a", 3);
  log.add("u", "b", 4);
  log.add("v", "a", 5);
  log.weights = {2.0f, 2.0f, 3.0f, 0.5f, 0.0f};
  recsys::matrix_options o;
  o.scheme = recsys::weighting::binary;
  auto m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == 1.0f);
  CHECK(m.coeff(0, 1) == 1.0f);
  CHECK(m.coeff(1, 0) == 1.0f);  // weight 0 still an entry
  CHECK(m.nonZeros() == 3);
  o.scheme = recsys::weighting::count;
  m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == 3.0f);
  CHECK(m.coeff(0, 1) == 1.0f);
  CHECK(m.coeff(1, 0) == 1.0f);
  o.scheme = recsys::weighting::log1p;
  m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == Approx(std::log(8.0)));
  CHECK(m.coeff(0, 1) == Approx(std::log(1.5)));
  CHECK(m.coeff(1, 0) == 0.0f);
  CHECK(m.nonZeros() == 3);  // explicit zero kept: the pattern is the set of pairs in the log
  o.scheme = recsys::weighting::confidence;
  o.alpha = 40.0f;
  m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == Approx(1.0 + 40.0 * 7.0));
  CHECK(m.coeff(0, 1) == Approx(21.0));
  CHECK(m.coeff(1, 0) == 1.0f);
}

TEST_CASE("build_matrix: BM25 and TF-IDF by hand (implicit's item-user orientation)", "[matrix]") {
  // 2 users x 3 items; u0: a=4, b=1; u1: a=2. I = 3.
  recsys::interaction_log log;
  log.add("u0", "a", 1);
  log.add("u0", "b", 1);
  log.add("u1", "a", 1);
  log.item_ids.insert("c");
  log.weights = {4.0f, 1.0f, 2.0f};
  recsys::matrix_options o;
  o.scheme = recsys::weighting::tfidf;
  auto m = recsys::build_matrix(log, o);
  const double idf0 = std::log(3.0 / 3.0), idf1 = std::log(3.0 / 2.0);
  CHECK(m.coeff(0, 0) == Approx(2.0 * idf0).margin(1e-7));
  CHECK(m.coeff(1, 0) == Approx(std::sqrt(2.0) * idf1));
  o.scheme = recsys::weighting::bm25;
  o.bm25_k1 = 1.2f;
  o.bm25_b = 0.75f;
  m = recsys::build_matrix(log, o);
  const double avg = 7.0 / 3.0;  // column sums a=6, b=1, c=0 over 3 items
  const double norm_a = 1.2 * (0.25 + 0.75 * 6.0 / avg);
  CHECK(m.coeff(1, 0) == Approx(2.0 * 2.2 / (norm_a + 2.0) * idf1));
  CHECK(m.coeff(0, 0) == Approx(0.0).margin(1e-7));  // idf of u0 is log(1) = 0
}

TEST_CASE("build_matrix: exponential time decay (SAR) with default and explicit reference", "[matrix]") {
  recsys::interaction_log log;
  const double day = 86400.0;
  log.add("u", "a", 0);
  log.add("u", "a", static_cast<recsys::timestamp_t>(30 * day));
  log.add("u", "b", static_cast<recsys::timestamp_t>(60 * day));  // newest event = reference
  recsys::matrix_options o;
  o.half_life_seconds = 30 * day;
  auto m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == Approx(0.25 + 0.5));
  CHECK(m.coeff(0, 1) == Approx(1.0));
  o.reference_time = static_cast<recsys::timestamp_t>(90 * day);
  m = recsys::build_matrix(log, o);
  CHECK(m.coeff(0, 0) == Approx(0.125 + 0.25));
  CHECK(m.coeff(0, 1) == Approx(0.5));
  o.scheme = recsys::weighting::count;  // decay combines with the schemes
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == Approx(0.375));
  o.scheme = recsys::weighting::binary;  // the newest event's decay
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == Approx(0.25));
  o.scheme = recsys::weighting::confidence;
  o.alpha = 2.0f;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == Approx(1.75));
  o.scheme = recsys::weighting::raw;
  o.reference_time = 0;  // events after the reference get factors above 1 (no clamping)
  CHECK(recsys::build_matrix(log, o).coeff(0, 1) == Approx(4.0));
}

TEST_CASE("build_matrix matches a dense naive reference on random logs, every scheme", "[matrix]") {
  const auto seed = recsys::test::seed();
  INFO("seed " << seed);
  const std::vector<recsys::weighting> schemes{
      recsys::weighting::raw,        recsys::weighting::binary, recsys::weighting::count, recsys::weighting::log1p,
      recsys::weighting::confidence, recsys::weighting::bm25,   recsys::weighting::tfidf};
  for (std::uint64_t trial = 0; trial < 4; ++trial) {
    const auto log = random_log(seed + trial, 17 + static_cast<int>(trial), 23, 400);
    for (auto scheme : schemes)
      for (auto agg : {recsys::duplicate_aggregation::sum, recsys::duplicate_aggregation::max,
                       recsys::duplicate_aggregation::latest})
        for (double half_life : {0.0, 1500.0}) {
          recsys::matrix_options o;
          o.scheme = scheme;
          o.duplicates = agg;
          o.half_life_seconds = half_life;
          o.alpha = 3.0f;
          o.bm25_k1 = 1.5f;
          o.bm25_b = 0.6f;
          INFO("trial " << trial << " scheme " << static_cast<int>(scheme) << " agg " << static_cast<int>(agg)
                        << " half-life " << half_life);
          dense pattern;
          const dense ref = naive_matrix(log, o, &pattern);
          require_matches(recsys::build_matrix(log, o), ref, pattern);
          // the general path (a user index per event instead of bits beside the item)
          require_matches(recsys::detail::build_matrix_impl(log, o, true), ref, pattern);
        }
  }
}

TEST_CASE("build_matrix on a log with many duplicates and many users (storage shrunk, buckets)", "[matrix]") {
  // 3000 users -> 2-user buckets; 20 events per (user, item) pair -> nnz << events
  recsys::interaction_log log;
  for (int u = 0; u < 3000; ++u) log.user_ids.insert(std::string("u") += std::to_string(u));
  for (int i = 0; i < 5; ++i) log.item_ids.insert(std::string("i") += std::to_string(i));
  for (int rep = 0; rep < 20; ++rep)
    for (int u = 0; u < 3000; u += 3)
      log.add_indexed(u, (u + rep) % 2, rep, recsys::invalid_index, std::nanf(""), recsys::invalid_index,
                      static_cast<float>(rep));
  for (bool general : {false, true}) {
    const auto m = recsys::detail::build_matrix_impl(log, {}, general);
    CHECK(m.nonZeros() == 2000);
    CHECK(m.data().allocatedSize() == 2000);  // the slack was given back
    CHECK(m.coeff(3, 1) == 0 + 2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18);
    CHECK(m.coeff(3, 0) == 1 + 3 + 5 + 7 + 9 + 11 + 13 + 15 + 17 + 19);
    CHECK(m.coeff(4, 0) == 0.0f);
    CHECK(recsys::user_history_lengths(m)[2997] == 2);
  }
}

TEST_CASE("build_matrix does not depend on the thread count", "[matrix]") {
  const auto log = random_log(recsys::test::seed(), 9000, 300, 80000);  // >= 65536 events: parallel path
  for (auto scheme : {recsys::weighting::raw, recsys::weighting::bm25}) {
    recsys::matrix_options o;
    o.scheme = scheme;
    o.half_life_seconds = 2000.0;
    o.num_threads = 1;
    const auto a = recsys::build_matrix(log, o);
    o.num_threads = 2;
    const auto b = recsys::build_matrix(log, o);
    o.num_threads = 3;
    const auto c = recsys::build_matrix(log, o);
    REQUIRE(a.nonZeros() == b.nonZeros());
    REQUIRE(a.nonZeros() == c.nonZeros());
    const auto nnz = static_cast<std::size_t>(a.nonZeros());
    CHECK(std::equal(a.innerIndexPtr(), a.innerIndexPtr() + nnz, b.innerIndexPtr()));
    CHECK(std::equal(a.valuePtr(), a.valuePtr() + nnz, b.valuePtr()));  // bitwise
    CHECK(std::equal(a.valuePtr(), a.valuePtr() + nnz, c.valuePtr()));
  }
}

TEST_CASE("to_csc, transpose_csr and transposed_view equal the dense matrix", "[matrix]") {
  const auto log = random_log(recsys::test::seed() + 7, 31, 19, 300);
  const auto m = recsys::build_matrix(log);
  const Eigen::MatrixXf d = Eigen::MatrixXf(m);
  const recsys::csc_matrix c = recsys::to_csc(m);
  CHECK(c.isCompressed());
  CHECK(Eigen::MatrixXf(c) == d);
  for (Eigen::Index i = 0; i < c.cols(); ++i) {  // each column's users sorted
    Eigen::Index prev = -1;
    for (recsys::csc_matrix::InnerIterator it(c, i); it; ++it) {
      CHECK(it.row() > prev);
      prev = it.row();
    }
  }
  const recsys::csr_matrix t = recsys::transpose_csr(m);
  CHECK(t.rows() == m.cols());
  CHECK(Eigen::MatrixXf(t) == d.transpose());
  const auto v = recsys::transposed_view(m);
  CHECK(v.rows() == m.cols());
  CHECK(v.cols() == m.rows());
  CHECK(Eigen::MatrixXf(v) == d.transpose());
  CHECK(v.valuePtr() == m.valuePtr());  // no copy

  // counts against the dense pattern
  const auto pop = recsys::item_popularity(m);
  const auto len = recsys::user_history_lengths(m);
  for (Eigen::Index i = 0; i < d.cols(); ++i) {
    int users = 0;
    for (Eigen::Index u = 0; u < d.rows(); ++u) users += d(u, i) != 0.0f ? 1 : 0;
    CHECK(pop[static_cast<std::size_t>(i)] == users);
  }
  for (Eigen::Index u = 0; u < d.rows(); ++u)
    CHECK(len[static_cast<std::size_t>(u)] == (d.row(u).array() != 0.0f).count());
}

TEST_CASE("build_matrix and apply_weighting reject what they cannot compute", "[matrix]") {
  recsys::interaction_log log;
  log.add("u", "a", 1);
  log.weights[0] = -2.0f;
  recsys::matrix_options o;
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == -2.0f);  // raw keeps it
  for (auto s : {recsys::weighting::log1p, recsys::weighting::bm25, recsys::weighting::tfidf}) {
    o.scheme = s;
    CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);
  }
  o = {};
  o.alpha = -1.0f;
  CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);
  o = {};
  o.bm25_b = 1.5f;
  CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);
  o = {};
  o.half_life_seconds = -1.0;
  CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);
  o = {};
  o.half_life_seconds = 1.0;
  o.reference_time = 100000;  // 2^-99999 underflows to 0: allowed; overflow is not
  CHECK(recsys::build_matrix(log, o).coeff(0, 0) == 0.0f);
  o.reference_time = -100000;
  CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);

  auto m = recsys::build_matrix(log);
  o = {};
  o.scheme = recsys::weighting::count;
  CHECK_THROWS_AS(recsys::apply_weighting(m, o), recsys::invalid_argument);
  log.weights[0] = 0.0f;
  o.scheme = recsys::weighting::bm25;
  CHECK_THROWS_AS(recsys::build_matrix(log, o), recsys::invalid_argument);  // total weight 0

  recsys::interaction_log empty;
  const auto e = recsys::build_matrix(empty, o);
  CHECK(e.rows() == 0);
  CHECK(e.nonZeros() == 0);
}
