// SPDX-License-Identifier: Apache-2.0
// Implicit ALS training: the fast solvers against a dense, naive reference ALS; CG against
// Cholesky; the loss; planted structure; determinism; numerical errors; cancellation; early
// stopping; configuration parsing.
#include <recsys/detail/als_kernels.hpp>  // the row solvers (internals)
#include <recsys/models/als.hpp>
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace {

using recsys::index_t;
using recsys::test::Approx;

// Users x items, degrees in [min_deg, max_deg], weights in {1, 2, 3}; rows listed in
// `empty_users` have no interactions.
recsys::csr_matrix random_interactions(index_t users, index_t items, index_t min_deg, index_t max_deg,
                                       std::uint64_t seed, std::vector<index_t> empty_users = {}) {
  recsys::rng g(seed, recsys::stream_tag("test.als.data"));
  std::vector<Eigen::Triplet<float, index_t>> t;
  for (index_t u = 0; u < users; ++u) {
    if (std::find(empty_users.begin(), empty_users.end(), u) != empty_users.end()) continue;
    const auto deg = min_deg + static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(max_deg - min_deg + 1)));
    std::set<index_t> picked;
    while (static_cast<index_t>(picked.size()) < std::min(deg, items))
      picked.insert(static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(items))));
    for (index_t i : picked) t.emplace_back(u, i, 1.0f + static_cast<float>(g.uniform_index(3)));
  }
  recsys::csr_matrix m(users, items);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

double confidence(const recsys::als_config& c, double w) {
  return c.confidence == recsys::als_confidence::hu ? 1.0 + c.alpha * w : c.alpha * w;
}

double row_lambda(const recsys::als_config& c, double n, double others) {
  return c.regularization * std::pow(n + c.unobserved_weight * others, c.regularization_exponent);
}

// One dense half-sweep: every row of w (rows x cols, dense, 0 = unobserved) solved against y
// (cols x f) with the full confidence matrix: (Y^T C_u Y + lambda_u I) x = Y^T C_u p_u.
Eigen::MatrixXd dense_solve_side(const Eigen::MatrixXd& w, const Eigen::MatrixXd& y, const recsys::als_config& c) {
  const Eigen::Index f = y.cols();
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(w.rows(), f);
  for (Eigen::Index u = 0; u < w.rows(); ++u) {
    Eigen::VectorXd cu = Eigen::VectorXd::Ones(w.cols()), pu = Eigen::VectorXd::Zero(w.cols());
    double n = 0;
    for (Eigen::Index i = 0; i < w.cols(); ++i)
      if (w(u, i) != 0) {
        cu[i] = confidence(c, w(u, i));
        pu[i] = 1;
        ++n;
      }
    if (n == 0) continue;
    const Eigen::MatrixXd a = y.transpose() * cu.asDiagonal() * y +
                              row_lambda(c, n, static_cast<double>(w.cols())) * Eigen::MatrixXd::Identity(f, f);
    out.row(u) = a.ldlt().solve(y.transpose() * cu.asDiagonal() * pu).transpose();
  }
  return out;
}

// The documented initialisation: x_u ~ N(0, init_scale^2 / f), one stream per row, zero rows
// for users without interactions.
Eigen::MatrixXd documented_user_init(const Eigen::MatrixXd& w, const recsys::als_config& c) {
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(w.rows(), c.factors);
  const double scale = c.init_scale / std::sqrt(static_cast<double>(c.factors));
  for (Eigen::Index u = 0; u < w.rows(); ++u) {
    if ((w.row(u).array() != 0).count() == 0) continue;
    recsys::rng g(c.seed, recsys::stream_tag("als.init.users"), static_cast<std::uint64_t>(u));
    for (index_t j = 0; j < c.factors; ++j) x(u, j) = g.normal() * scale;
  }
  return x;
}

// Naive dense ALS in double: items against users, then users against items, per iteration.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> dense_reference_fit(const recsys::csr_matrix& m,
                                                                const recsys::als_config& c) {
  const Eigen::MatrixXd w = Eigen::MatrixXd(m.cast<double>());
  Eigen::MatrixXd x = documented_user_init(w, c), y;
  for (index_t it = 0; it < c.iterations; ++it) {
    y = dense_solve_side(w.transpose(), x, c);
    x = dense_solve_side(w, y, c);
  }
  return {x, y};
}

// The objective written out over every (user, item) pair.
double dense_objective(const recsys::csr_matrix& m, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
                       const recsys::als_config& c) {
  const Eigen::MatrixXd w = Eigen::MatrixXd(m.cast<double>());
  const Eigen::MatrixXd s = x * y.transpose();
  double l = 0;
  for (Eigen::Index u = 0; u < w.rows(); ++u)
    for (Eigen::Index i = 0; i < w.cols(); ++i) {
      const bool obs = w(u, i) != 0;
      const double cu = obs ? confidence(c, w(u, i)) : 1.0, p = obs ? 1.0 : 0.0;
      l += cu * (p - s(u, i)) * (p - s(u, i));
    }
  for (Eigen::Index u = 0; u < w.rows(); ++u) {
    const double n = static_cast<double>((w.row(u).array() != 0).count());
    if (n > 0) l += row_lambda(c, n, static_cast<double>(w.cols())) * x.row(u).squaredNorm();
  }
  for (Eigen::Index i = 0; i < w.cols(); ++i) {
    const double n = static_cast<double>((w.col(i).array() != 0).count());
    if (n > 0) l += row_lambda(c, n, static_cast<double>(w.rows())) * y.row(i).squaredNorm();
  }
  return l;
}

template <class Scalar>
Eigen::MatrixXd predictions(const recsys::als<Scalar>& m) {
  return m.user_factors().template cast<double>() * m.item_factors().template cast<double>().transpose();
}

double max_abs(const Eigen::MatrixXd& a) { return a.cwiseAbs().maxCoeff(); }

template <class Scalar>
double tol() {
  return std::is_same_v<Scalar, double> ? 1e-9 : 2e-3;
}

recsys::als_config small_config(recsys::als_solver solver, index_t f = 6, index_t iterations = 4) {
  recsys::als_config c;
  c.factors = f;
  c.iterations = iterations;
  c.solver = solver;
  c.regularization = 0.1;
  c.regularization_exponent = 0;  // the classic constant lambda; tests that scale it say so
  c.alpha = 2.0;
  c.num_threads = 2;
  c.seed = recsys::test::seed();
  return c;
}

}  // namespace

static_assert(recsys::recommender<recsys::als<float>>);
static_assert(recsys::matrix_trainable<recsys::als<float>>);
static_assert(recsys::matrix_trainable<recsys::als<double>>);
static_assert(recsys::history_recommender<recsys::als<float>>);
static_assert(recsys::history_recommender<recsys::als<double>>);

TEMPLATE_TEST_CASE("als: the Cholesky solver reproduces a dense naive ALS", "[als]", float, double) {
  // Degrees 1..20 with f = 6: short rows take the low-rank (Woodbury) path, long rows the direct one.
  const recsys::csr_matrix m = random_interactions(40, 30, 1, 20, recsys::test::seed());
  recsys::als_config c = small_config(recsys::als_solver::cholesky);
  SECTION("hu confidence, constant lambda") {}
  SECTION("frequency-scaled regularization") {
    c.regularization = 0.02;
    c.regularization_exponent = 1.0;
    c.unobserved_weight = 0.1;
  }
  SECTION("linear confidence with c < 1 (negative rank updates)") {
    c.confidence = recsys::als_confidence::linear;
    c.alpha = 0.5;  // w = 1 gives c = 0.5
  }
  SECTION("linear confidence, c >= 1") {
    c.confidence = recsys::als_confidence::linear;
    c.alpha = 3.0;
  }
  recsys::als<TestType> model(c);
  model.fit(m);
  const auto [x, y] = dense_reference_fit(m, c);
  const Eigen::MatrixXd want = x * y.transpose();
  CAPTURE(c.confidence == recsys::als_confidence::hu, c.alpha, c.regularization_exponent);
  REQUIRE(max_abs(predictions(model) - want) <= tol<TestType>() * std::max(1.0, max_abs(want)));
}

TEMPLATE_TEST_CASE("als: low-rank and direct exact row solves agree with a dense solve", "[als]", float, double) {
  using S = TestType;
  const index_t f = 12, m = 60;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.als.rows"));
  recsys::row_matrix<S> y0(m, f);
  for (Eigen::Index k = 0; k < y0.size(); ++k) y0.data()[k] = static_cast<S>(g.normal() * 0.5);
  const auto basis = recsys::detail::als_eigenbasis<S>(recsys::detail::als_gram(y0, 1));
  recsys::row_matrix<S> y;
  recsys::detail::als_rotate(y0, basis.q, y, 1);
  for (auto kind : {recsys::detail::als_confidence_kind::hu, recsys::detail::als_confidence_kind::linear}) {
    recsys::detail::als_fixed_side<S> side;
    side.factors = &y;
    side.eig = &basis.eig;
    side.eig_min = basis.eig_min;
    side.eig_max = basis.eig_max;
    side.confidence = kind;
    side.alpha = S(kind == recsys::detail::als_confidence_kind::hu ? 3 : 2);
    recsys::detail::als_row_solver<S> solver(f);
    for (index_t n : {1, 3, 10, 11, 12, 30, 60}) {
      std::vector<index_t> idx(static_cast<std::size_t>(m));
      std::iota(idx.begin(), idx.end(), 0);
      recsys::shuffle(idx.begin(), idx.end(), g);
      idx.resize(static_cast<std::size_t>(n));
      std::sort(idx.begin(), idx.end());
      std::vector<float> w;
      for (index_t j = 0; j < n; ++j)
        w.push_back(0.25f + static_cast<float>(g.uniform_index(4)));  // linear: c = 0.5 .. 6.5
      const recsys::detail::als_row row{idx.data(), w.data(), n};
      const S lambda = S(0.3);
      // Dense reference in double, in the same (rotated) basis.
      const Eigen::MatrixXd yd = y.template cast<double>();
      Eigen::MatrixXd a = yd.transpose() * yd + 0.3 * Eigen::MatrixXd::Identity(f, f);
      Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
      for (index_t j = 0; j < n; ++j) {
        const double c = static_cast<double>(side.confidence_of(w[static_cast<std::size_t>(j)]));
        const Eigen::VectorXd yi = yd.row(idx[static_cast<std::size_t>(j)]).transpose();
        a += (c - 1) * yi * yi.transpose();
        b += c * yi;
      }
      const Eigen::VectorXd want = a.ldlt().solve(b);
      Eigen::VectorXd rhs_d = Eigen::VectorXd::LinSpaced(f, -1.0, 1.0);
      const Eigen::VectorXd want_rhs = a.ldlt().solve(rhs_d);
      const recsys::vector<S> rhs = rhs_d.cast<S>();
      for (int force : {0, 1, 2}) {
        recsys::vector<S> x(f), xr(f);
        REQUIRE(solver.solve_exact(side, row, lambda, x.data(), nullptr, force) == recsys::detail::als_row_status::ok);
        REQUIRE(solver.solve_exact(side, row, lambda, xr.data(), rhs.data(), force) ==
                recsys::detail::als_row_status::ok);
        CAPTURE(n, force, static_cast<int>(kind));
        const double t = std::is_same_v<S, double> ? 1e-10 : 2e-4;
        REQUIRE((x.template cast<double>() - want).norm() <= t * std::max(1.0, want.norm()));
        REQUIRE((xr.template cast<double>() - want_rhs).norm() <= t * std::max(1.0, want_rhs.norm()));
      }
      // CG with f steps from zero solves the f x f system (up to rounding).
      recsys::vector<S> xc = recsys::vector<S>::Zero(f);
      REQUIRE(solver.solve_cg(side, row, lambda, xc.data(), 3 * f) == recsys::detail::als_row_status::ok);
      REQUIRE((xc.template cast<double>() - want).norm() <=
              (std::is_same_v<S, double> ? 1e-8 : 2e-3) * std::max(1.0, want.norm()));
    }
  }
}

TEMPLATE_TEST_CASE("als: CG agrees with Cholesky", "[als]", float, double) {
  const recsys::csr_matrix m = random_interactions(60, 40, 2, 15, recsys::test::seed() + 1);
  SECTION("enough CG steps make every row solve exact") {
    recsys::als_config c = small_config(recsys::als_solver::cholesky, 5, 3);
    recsys::als<TestType> chol(c);
    chol.fit(m);
    c.solver = recsys::als_solver::cg;
    c.cg_steps = 3 * c.factors;
    recsys::als<TestType> cg(c);
    cg.fit(m);
    const Eigen::MatrixXd want = predictions(chol);
    REQUIRE(max_abs(predictions(cg) - want) <= (std::is_same_v<TestType, double> ? 1e-7 : 5e-3) * max_abs(want));
  }
  SECTION("three warm-started steps reach the same objective") {
    recsys::als_config c = small_config(recsys::als_solver::cholesky, 5, 25);
    c.compute_loss = true;
    recsys::als<TestType> chol(c);
    chol.fit(m);
    c.solver = recsys::als_solver::cg;
    c.cg_steps = 3;
    recsys::als<TestType> cg(c);
    cg.fit(m);
    const double lc = chol.training_history().back().loss, lg = cg.training_history().back().loss;
    REQUIRE(lg == Approx(lc).epsilon(0.02));
    // Predictions agree where it matters: the observed pairs.
    const Eigen::MatrixXd pc = predictions(chol), pg = predictions(cg);
    double diff = 0, norm = 0;
    for (Eigen::Index u = 0; u < m.outerSize(); ++u)
      for (recsys::csr_matrix::InnerIterator it(m, u); it; ++it) {
        diff += std::pow(pc(u, it.col()) - pg(u, it.col()), 2);
        norm += std::pow(pc(u, it.col()), 2);
      }
    REQUIRE(std::sqrt(diff / norm) < 0.05);
  }
}

TEMPLATE_TEST_CASE("als: the Cholesky loss decreases monotonically and equals the dense objective", "[als]", float,
                   double) {
  const recsys::csr_matrix m = random_interactions(50, 35, 1, 18, recsys::test::seed() + 2, {7});
  recsys::als_config c = small_config(recsys::als_solver::cholesky, 6, 12);
  c.compute_loss = true;
  c.regularization_exponent = 0.5;
  c.unobserved_weight = 0.2;
  recsys::als<TestType> model(c);
  model.fit(m);
  const auto& h = model.training_history();
  REQUIRE(h.size() == 12);
  const double slack = std::is_same_v<TestType, double> ? 1e-12 : 1e-5;
  for (std::size_t k = 1; k < h.size(); ++k) {
    CAPTURE(k, h[k - 1].loss, h[k].loss);
    REQUIRE(h[k].loss <= h[k - 1].loss * (1 + slack));
  }
  REQUIRE(h.front().loss > h.back().loss);
  const double want =
      dense_objective(m, model.user_factors().template cast<double>(), model.item_factors().template cast<double>(), c);
  REQUIRE(h.back().loss == Approx(want).epsilon(std::is_same_v<TestType, double> ? 1e-10 : 1e-4));
}

TEST_CASE("als: a planted cluster structure is recovered", "[als]") {
  // 4 taste clusters of 30 users; each cluster owns 12 of 80 items; users see 6 of their
  // cluster's items and 1 random item.
  const index_t clusters = 4, per = 30, own = 12, items = 80;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.als.planted"));
  std::vector<Eigen::Triplet<float, index_t>> t;
  for (index_t u = 0; u < clusters * per; ++u) {
    const index_t k = u / per;
    std::set<index_t> s;
    while (s.size() < 6) s.insert(k * own + static_cast<index_t>(g.uniform_index(own)));
    s.insert(static_cast<index_t>(g.uniform_index(items)));
    for (index_t i : s) t.emplace_back(u, i, 1.0f);
  }
  recsys::csr_matrix m(clusters * per, items);
  m.setFromTriplets(t.begin(), t.end());
  for (auto solver : {recsys::als_solver::cholesky, recsys::als_solver::cg}) {
    recsys::als_config c = small_config(solver, 4, 10);  // the planted rank
    c.alpha = 3;
    recsys::als<float> model(c);
    model.fit(m);
    int hits = 0, total = 0;
    for (index_t u = 0; u < m.rows(); ++u) {
      const auto top = model.recommend(u, 5);
      REQUIRE(top.size() == 5);
      for (index_t i : top.ids) {
        hits += (i / own == u / per) ? 1 : 0;
        ++total;
      }
    }
    CAPTURE(solver == recsys::als_solver::cg);
    REQUIRE(static_cast<double>(hits) / total > 0.95);  // chance: about 0.15
  }
}

TEST_CASE("als: same seed and thread count give identical factors; the thread count does not matter", "[als]") {
  const recsys::csr_matrix m = random_interactions(300, 120, 1, 60, recsys::test::seed() + 3);
  for (auto solver : {recsys::als_solver::cg, recsys::als_solver::cholesky}) {
    recsys::als_config c = small_config(solver, 16, 3);
    recsys::als<float> a(c), b(c);
    a.fit(m);
    b.fit(m);
    REQUIRE(a.user_factors() == b.user_factors());
    REQUIRE(a.item_factors() == b.item_factors());
    // Initialisation streams are per row, the Gram reductions use fixed blocks and each row's
    // solve is independent of the others: one thread gives the same bits as two.
    c.num_threads = 1;
    recsys::als<float> one(c);
    one.fit(m);
    REQUIRE(one.user_factors() == a.user_factors());
    REQUIRE(one.item_factors() == a.item_factors());
    c.seed += 1;
    recsys::als<float> other(c);
    other.fit(m);
    REQUIRE(other.user_factors() != a.user_factors());
  }
}

TEST_CASE("als: initialisation, Gram reductions and rotations give the same bits for 1, 2 and 3 threads", "[als]") {
  // 6000 users at f = 64: above the row counts where the initialisation (4096 rows), the Gram
  // reduction and the rotation (4096 rows at f = 64) go parallel, so all three are exercised
  // with several threads (the small test above runs them on the calling thread).
  const recsys::csr_matrix m = random_interactions(6000, 300, 1, 12, recsys::test::seed() + 9);
  for (auto solver : {recsys::als_solver::cg, recsys::als_solver::cholesky}) {
    recsys::als_config c = small_config(solver, 64, 2);
    c.num_threads = 1;
    recsys::als<float> one(c);
    one.fit(m);
    for (int threads : {2, 3}) {
      c.num_threads = threads;
      recsys::als<float> many(c);
      many.fit(m);
      CAPTURE(threads, solver == recsys::als_solver::cg);
      REQUIRE(many.user_factors() == one.user_factors());
      REQUIRE(many.item_factors() == one.item_factors());
    }
  }
}

TEST_CASE("als: an unsolvable row raises numerical_error naming the row and the remedy", "[als]") {
  // lambda = 0 and 3 items for 8 factors: Y^T Y has rank 3, every user's system is singular.
  const recsys::csr_matrix m = random_interactions(20, 3, 1, 3, recsys::test::seed() + 4);
  recsys::als_config c = small_config(recsys::als_solver::cholesky, 8, 2);
  c.regularization = 0;
  c.num_threads = 1;
  recsys::als<double> model(c);
  try {
    model.fit(m);
    FAIL("expected recsys::numerical_error");
  } catch (const recsys::numerical_error& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    REQUIRE(msg.find("user ") != std::string::npos);
    REQUIRE(msg.find("singular") != std::string::npos);
    REQUIRE(msg.find("increase the regularization") != std::string::npos);
  }
  REQUIRE_FALSE(model.is_fitted());
  // With some regularization the same data trains.
  c.regularization = 0.1;
  model.set_config(c);
  model.fit(m);
  REQUIRE(model.is_fitted());
  REQUIRE(model.user_factors().allFinite());
}

TEST_CASE("als: cancellation keeps the factors of the last completed iteration", "[als]") {
  const recsys::csr_matrix m = random_interactions(200, 80, 1, 30, recsys::test::seed() + 5);
  {
    const auto solver = GENERATE(recsys::als_solver::cg, recsys::als_solver::cholesky);
    recsys::als_config c = small_config(solver, 8, 5);
    recsys::als<float> reference(c);
    {
      recsys::als_config c2 = c;
      c2.iterations = 2;
      reference.set_config(c2);
      reference.fit(m);
    }
    SECTION("cancelled in the middle of the third iteration") {
      recsys::cancellation_token stop;
      recsys::job_control job;
      job.cancel = stop;
      job.report_interval = 0;
      bool fired = false;
      job.progress = [&](const recsys::progress_event& e) {
        // One stage for the whole fit: rows of the third iteration, not yet all of them.
        const std::int64_t per_iteration = e.total / e.steps;
        if (e.stage == "als: fit" && e.step == 2 && e.done > 2 * per_iteration && e.done < 3 * per_iteration) {
          stop.cancel();
          fired = true;
        }
      };
      recsys::als<float> model(c);
      REQUIRE_THROWS_AS(model.fit(m, job), recsys::cancelled);
      REQUIRE(fired);
      REQUIRE(model.training_history().size() == 2);
      REQUIRE(model.user_factors() == reference.user_factors());
      REQUIRE(model.item_factors() == reference.item_factors());
      REQUIRE(model.recommend(0, 5) == reference.recommend(0, 5));
    }
    SECTION("cancelled in the first iteration: the model keeps its previous state") {
      recsys::cancellation_token stop;
      recsys::job_control job;
      job.cancel = stop;
      job.progress = [&](const recsys::progress_event& e) {
        if (e.stage == "als: fit") stop.cancel();
      };
      recsys::als<float> fresh(c);
      REQUIRE_THROWS_AS(fresh.fit(m, job), recsys::cancelled);
      REQUIRE_FALSE(fresh.is_fitted());
      stop.reset();
      recsys::als<float> trained = reference;
      REQUIRE_THROWS_AS(trained.fit(m, job), recsys::cancelled);
      REQUIRE(trained.user_factors() == reference.user_factors());
      REQUIRE(trained.item_factors() == reference.item_factors());
    }
  }
}

TEST_CASE("als: early stopping keeps the best iteration", "[als]") {
  const recsys::csr_matrix m = random_interactions(80, 50, 1, 20, recsys::test::seed() + 6);
  recsys::als_config c = small_config(recsys::als_solver::cholesky, 6, 20);
  const std::vector<double> metric{0.1, 0.3, 0.5, 0.45, 0.5, 0.9, 0.95};
  std::size_t calls = 0;
  recsys::early_stopping<recsys::als<float>> stop;
  stop.patience = 2;
  stop.metric = [&](const recsys::als<float>& model) {
    REQUIRE(model.is_fitted());
    REQUIRE(model.recommend(0, 3).size() == 3);  // the model is queryable during training
    return metric[calls++];
  };
  SECTION("patience and restore_best") {
    recsys::als<float> model(c);
    model.fit(m, {}, stop);
    REQUIRE(calls == 5);  // best at iteration 2; 0.45 and 0.5 (not better) exhaust the patience
    REQUIRE(model.training_history().size() == 5);
    REQUIRE(model.training_history()[2].validation == 0.5);
    REQUIRE(model.best_iteration() == 2);
    c.iterations = 3;
    recsys::als<float> three(c);
    three.fit(m);
    REQUIRE(model.user_factors() == three.user_factors());
    REQUIRE(model.item_factors() == three.item_factors());
    REQUIRE(three.best_iteration() == -1);
  }
  SECTION("without restore_best the last iteration stays") {
    stop.restore_best = false;
    recsys::als<float> model(c);
    model.fit(m, {}, stop);
    REQUIRE(calls == 5);
    c.iterations = 5;
    recsys::als<float> five(c);
    five.fit(m);
    REQUIRE(model.user_factors() == five.user_factors());
    REQUIRE(model.best_iteration() == -1);
  }
  SECTION("every second iteration, and the last") {
    stop.every = 2;
    c.iterations = 5;
    recsys::als<float> model(c);
    model.fit(m, {}, stop);
    REQUIRE(calls == 3);  // after iterations 1, 3 and 4 (the last)
    const auto& h = model.training_history();
    REQUIRE(std::isnan(h[0].validation));
    REQUIRE(h[1].validation == 0.1);
    REQUIRE(std::isnan(h[2].validation));
    REQUIRE(h[4].validation == 0.5);
    REQUIRE(model.best_iteration() == 4);
  }
  SECTION("an empty metric means no early stopping; bad settings are rejected") {
    recsys::als<float> model(c);
    c.iterations = 4;
    model.set_config(c);
    model.fit(m, {}, recsys::early_stopping<recsys::als<float>>{});
    REQUIRE(model.training_history().size() == 4);
    stop.patience = 0;
    REQUIRE_THROWS_AS(model.fit(m, {}, stop), recsys::invalid_argument);
    stop.patience = 1;
    stop.every = 0;
    REQUIRE_THROWS_AS(model.fit(m, {}, stop), recsys::invalid_argument);
  }
}

TEST_CASE("als: users and items without interactions get zero factors and the popularity fallback", "[als]") {
  recsys::csr_matrix m = random_interactions(30, 25, 1, 8, recsys::test::seed() + 7, {4, 9});
  // Drop item 24 entirely.
  m.prune([](index_t, index_t col, float) { return col != 24; });
  m.makeCompressed();
  for (auto solver : {recsys::als_solver::cg, recsys::als_solver::cholesky}) {
    recsys::als<float> model(small_config(solver, 5, 3));
    model.fit(m);
    REQUIRE(model.user_factors().row(4).isZero(0));
    REQUIRE(model.user_factors().row(9).isZero(0));
    REQUIRE(model.item_factors().row(24).isZero(0));
    REQUIRE_FALSE(model.user_factors().row(0).isZero(0));
    REQUIRE(model.recommend(4, 10) == model.recommend(recsys::invalid_index, 10));
  }
}

TEST_CASE("als: progress is one stage over every half-sweep of every iteration, with the loss", "[als]") {
  const recsys::csr_matrix m = random_interactions(70, 30, 1, 10, recsys::test::seed() + 8);
  recsys::als_config c = small_config(recsys::als_solver::cg, 4, 3);
  c.compute_loss = true;
  std::vector<recsys::progress_event> events;
  recsys::job_control job;
  job.progress = [&](const recsys::progress_event& e) { events.push_back(e); };
  recsys::als<float> model(c);
  model.fit(m, job);
  // One stage ("als: fit") whose total is every row of both half-sweeps of every iteration:
  // a display draws one bar per fit. done never goes back; the step follows the iteration.
  REQUIRE(events.size() >= 2);
  // (rows with interactions: users and items without any are not solved)
  const std::int64_t per_iteration = events.front().total / 3;
  CHECK(events.front().total == 3 * per_iteration);
  CHECK(per_iteration > m.rows());
  CHECK(per_iteration <= m.rows() + m.cols());
  std::int64_t last_done = 0, last_step = 0;
  std::set<std::int64_t> steps;
  for (const auto& e : events) {
    CHECK(e.stage == "als: fit");
    CHECK(e.steps == 3);
    CHECK(e.total == events.front().total);
    CHECK(e.done >= last_done);
    CHECK(e.step >= last_step);
    CHECK(e.done <= (e.step + 1) * per_iteration);
    last_done = e.done;
    last_step = e.step;
    steps.insert(e.step);
  }
  CHECK(steps == std::set<std::int64_t>{0, 1, 2});
  CHECK(events.back().done == events.back().total);
  CHECK(std::count_if(events.begin(), events.end(), [](const auto& e) { return e.done == e.total; }) >= 1);
  const auto loss = std::find_if(events.begin(), events.end(), [](const auto& e) { return e.metric_name == "loss"; });
  REQUIRE(loss != events.end());
  REQUIRE(loss->metric == Approx(model.training_history()[static_cast<std::size_t>(loss->step)].loss));
  for (const auto& h : model.training_history()) {
    REQUIRE(h.solve_flops > 0);
    REQUIRE(h.seconds >= h.solve_seconds);
  }
}

TEST_CASE("als: bad input is rejected", "[als]") {
  recsys::als<float> model(small_config(recsys::als_solver::cg));
  recsys::csr_matrix m = random_interactions(10, 10, 1, 3, recsys::test::seed());
  SECTION("negative weight") {
    m.valuePtr()[3] = -1.0f;
    REQUIRE_THROWS_AS(model.fit(m), recsys::invalid_argument);
  }
  SECTION("NaN weight") {
    m.valuePtr()[0] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_AS(model.fit(m), recsys::invalid_argument);
  }
  SECTION("empty matrix") { REQUIRE_THROWS_AS(model.fit(recsys::csr_matrix(0, 5)), recsys::invalid_argument); }
  SECTION("queries before fit") {
    const std::vector<index_t> h{1};
    REQUIRE_THROWS_AS(model.fold_in(h), recsys::invalid_argument);
    REQUIRE_THROWS_AS(model.partial_fit(m, {}), recsys::invalid_argument);
    REQUIRE_THROWS_AS(model.explain(0, 1), recsys::invalid_argument);
  }
  SECTION("invalid config") {
    recsys::als_config c;
    c.factors = 0;
    REQUIRE_THROWS_AS(recsys::als<float>(c), recsys::invalid_argument);
    c = {};
    c.regularization = -1;
    REQUIRE_THROWS_AS(model.set_config(c), recsys::invalid_argument);
  }
  REQUIRE_FALSE(model.is_fitted());
}

TEST_CASE("als: set_param applies key=value hyperparameters with validation", "[als]") {
  recsys::als_config c;
  recsys::set_param(c, "factors", "128");
  recsys::set_param(c, " iterations = 7 ");  // one splitter for every recipe: spaces around either side trimmed
  recsys::set_param(c, "regularization", "1e-3");
  recsys::set_param(c, "alpha", "40");
  recsys::set_param(c, "solver", "cholesky");
  recsys::set_param(c, "cg_steps", "5");
  recsys::set_param(c, "confidence", "linear");
  recsys::set_param(c, "regularization_exponent", "1");
  recsys::set_param(c, "unobserved_weight", "0.25");
  recsys::set_param(c, "seed", "18446744073709551615");
  recsys::set_param(c, "num_threads", "2");
  recsys::set_param(c, "init_scale", "0.5");
  recsys::set_param(c, "compute_loss", "true");
  REQUIRE(c.factors == 128);
  REQUIRE(c.iterations == 7);
  REQUIRE(c.regularization == 1e-3);
  REQUIRE(c.alpha == 40);
  REQUIRE(c.solver == recsys::als_solver::cholesky);
  REQUIRE(c.cg_steps == 5);
  REQUIRE(c.confidence == recsys::als_confidence::linear);
  REQUIRE(c.regularization_exponent == 1);
  REQUIRE(c.unobserved_weight == 0.25);
  REQUIRE(c.seed == 18446744073709551615ULL);
  REQUIRE(c.num_threads == 2);
  REQUIRE(c.init_scale == 0.5);
  REQUIRE(c.compute_loss);
  const recsys::als_config before = c;
  for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{{"factors", "0"},
                                                                      {"factors", "12x"},
                                                                      {"factors", " 12"},
                                                                      {"factors", ""},
                                                                      {"iterations", "-1"},
                                                                      {"regularization", "-0.1"},
                                                                      {"regularization", "nan"},
                                                                      {"alpha", "0"},
                                                                      {"solver", "lu"},
                                                                      {"confidence", "log"},
                                                                      {"cg_steps", "0"},
                                                                      {"compute_loss", "maybe"},
                                                                      {"learning_rate", "0.1"}}) {
    CAPTURE(k, v);
    REQUIRE_THROWS_AS(recsys::set_param(c, k, v), recsys::invalid_argument);
  }
  REQUIRE_THROWS_AS(recsys::set_param(c, "factors"), recsys::invalid_argument);
  REQUIRE(c.factors == before.factors);
  REQUIRE(c.solver == before.solver);
  try {
    recsys::set_param(c, "learning_rate", "0.1");
  } catch (const recsys::invalid_argument& e) {
    REQUIRE(std::string(e.what()).find("cg_steps") != std::string::npos);  // lists the known keys
  }
  // als_params lists every key in order, as text that set_param reads back exactly.
  const auto params = recsys::als_params(before);
  REQUIRE(params.size() == recsys::als_param_keys.size());
  recsys::als_config back;
  for (std::size_t k = 0; k < params.size(); ++k) {
    REQUIRE(params[k].name == recsys::als_param_keys[k]);
    REQUIRE_FALSE(params[k].help.empty());
    recsys::set_param(back, params[k].name, params[k].default_value);
  }
  REQUIRE(recsys::als_params(back)[2].default_value == "0.001");
  for (std::size_t k = 0; k < params.size(); ++k)
    REQUIRE(recsys::als_params(back)[k].default_value == params[k].default_value);
  REQUIRE(back.regularization == before.regularization);
  REQUIRE(back.seed == before.seed);
  REQUIRE(back.solver == before.solver);
  REQUIRE(back.confidence == before.confidence);
  REQUIRE(back.compute_loss == before.compute_loss);
  REQUIRE(recsys::als_params()[0].default_value == "64");
}
