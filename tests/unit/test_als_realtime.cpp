// SPDX-License-Identifier: Apache-2.0
// Implicit ALS after training: real-time fold-in, recommend_for_history, explain and partial
// fit, against dense naive computations.
#include <recsys/data/matrix.hpp>
#include <recsys/models/als.hpp>
#include <recsys/random.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <Eigen/Cholesky>  // the dense reference solves (.ldlt())

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace {

using recsys::index_t;
using recsys::test::Approx;

recsys::csr_matrix realtime_interactions(index_t users, index_t items, index_t min_deg, index_t max_deg,
                                       std::uint64_t seed) {
  recsys::rng g(seed, recsys::stream_tag("test.als.realtime.data"));
  std::vector<Eigen::Triplet<float, index_t>> t;
  for (index_t u = 0; u < users; ++u) {
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

struct row_data {
  std::vector<index_t> items;
  std::vector<float> weights;
};

row_data row_of(const recsys::csr_matrix& m, index_t u) {
  row_data r;
  for (recsys::csr_matrix::InnerIterator it(m, u); it; ++it) {
    r.items.push_back(static_cast<index_t>(it.col()));
    r.weights.push_back(it.value());
  }
  return r;
}

recsys::als_config config(recsys::als_solver solver, index_t f = 8, index_t iterations = 5) {
  recsys::als_config c;
  c.factors = f;
  c.iterations = iterations;
  c.solver = solver;
  c.regularization = 0.1;
  c.regularization_exponent = 0;  // constant lambda unless a test scales it
  c.alpha = 4.0;
  c.num_threads = 2;
  c.seed = recsys::test::seed();
  return c;
}

double realtime_confidence(const recsys::als_config& c, double w) {
  return c.confidence == recsys::als_confidence::hu ? 1.0 + c.alpha * w : c.alpha * w;
}

// The user's system A = Y^T C_u Y + lambda_u I, formed densely (in double) from the model's factors.
template <class Scalar>
Eigen::MatrixXd dense_system(const recsys::als<Scalar>& m, const row_data& r) {
  const recsys::als_config& c = m.config();
  const Eigen::MatrixXd y = m.item_factors().template cast<double>();
  const double n = static_cast<double>(r.items.size());
  const double lambda =
      c.regularization * std::pow(n + c.unobserved_weight * static_cast<double>(y.rows()), c.regularization_exponent);
  Eigen::MatrixXd a = y.transpose() * y + lambda * Eigen::MatrixXd::Identity(y.cols(), y.cols());
  for (std::size_t j = 0; j < r.items.size(); ++j) {
    const Eigen::VectorXd yi = y.row(r.items[j]).transpose();
    a += (realtime_confidence(c, r.weights[j]) - 1) * yi * yi.transpose();
  }
  return a;
}

template <class Scalar>
Eigen::VectorXd dense_fold_in(const recsys::als<Scalar>& m, const row_data& r) {
  const Eigen::MatrixXd y = m.item_factors().template cast<double>();
  Eigen::VectorXd b = Eigen::VectorXd::Zero(y.cols());
  for (std::size_t j = 0; j < r.items.size(); ++j)
    b += realtime_confidence(m.config(), r.weights[j]) * y.row(r.items[j]).transpose();
  return dense_system(m, r).ldlt().solve(b);
}

template <class Scalar>
double rel_tol() {
  return std::is_same_v<Scalar, double> ? 1e-9 : 1e-3;
}

}  // namespace

TEMPLATE_TEST_CASE("als: fold-in of a training user reproduces its trained factors", "[als][realtime]", float, double) {
  // Each iteration ends with the user half-sweep, so a trained user's factors are the exact
  // solution against the final item factors: fold-in of its training row is the same solve.
  const recsys::csr_matrix m = realtime_interactions(60, 40, 1, 25, recsys::test::seed());  // both exact paths (f = 8)
  recsys::als_config c = config(recsys::als_solver::cholesky);
  SECTION("constant lambda") {}
  SECTION("frequency-scaled lambda") {
    c.regularization_exponent = 1;
    c.unobserved_weight = 0.05;
  }
  recsys::als<TestType> model(c);
  model.fit(m);
  for (index_t u = 0; u < m.rows(); ++u) {
    const row_data r = row_of(m, u);
    const recsys::vector<TestType> x = model.fold_in(r.items, r.weights);
    CAPTURE(u, r.items.size());
    // Same solver, same precomputed eigenvalues, same operands: the same bits.
    REQUIRE(x == model.user_factors().row(u).transpose());
    REQUIRE(model.fold_in_user(u, {}) == x);
    // And it is the exact least-squares solution against the final item factors.
    const Eigen::VectorXd want = dense_fold_in(model, r);
    REQUIRE((x.template cast<double>() - want).norm() <= rel_tol<TestType>() * std::max(1.0, want.norm()));
  }
}

TEST_CASE("als: fold-in of a CG-trained user is close to its trained factors", "[als][realtime]") {
  const recsys::csr_matrix m = realtime_interactions(60, 40, 1, 20, recsys::test::seed() + 1);
  recsys::als<double> model(config(recsys::als_solver::cg, 6, 30));
  model.fit(m);
  double worst = 0;
  for (index_t u = 0; u < m.rows(); ++u) {
    const row_data r = row_of(m, u);
    const Eigen::VectorXd x = model.fold_in(r.items, r.weights);
    worst = std::max(worst, (x - model.user_factors().row(u).transpose()).norm() / x.norm());
  }
  REQUIRE(worst < 0.05);  // three warm-started CG steps per iteration, converged over 30 iterations
}

TEST_CASE("als: fold-in merges duplicates, ignores unknown items and validates weights", "[als][realtime]") {
  const recsys::csr_matrix m = realtime_interactions(40, 30, 2, 10, recsys::test::seed() + 2);
  recsys::als<float> model(config(recsys::als_solver::cholesky));
  model.fit(m);
  const std::vector<index_t> dup{3, 5, 3}, merged{3, 5};
  const std::vector<float> wd{1, 2, 2}, wm{3, 2};
  REQUIRE(model.fold_in(dup, wd) == model.fold_in(merged, wm));
  const std::vector<index_t> unknown{5, 1000000, -2, 3};
  REQUIRE(model.fold_in(unknown) == model.fold_in(merged));
  REQUIRE(model.fold_in(std::vector<index_t>{}).isZero(0));
  REQUIRE(model.fold_in(std::vector<index_t>{-1, 30}).isZero(0));
  // An existing user after new events = its training row plus the events.
  row_data r = row_of(m, 7);
  const std::vector<index_t> extra{0, r.items.front()};
  const std::vector<float> we{2, 1};
  row_data all = r;
  all.items.push_back(0);
  all.weights.push_back(2);
  all.items.push_back(r.items.front());
  all.weights.push_back(1);
  REQUIRE(model.fold_in_user(7, extra, we) == model.fold_in(all.items, all.weights));
  REQUIRE(model.fold_in_user(-1, extra, we) == model.fold_in(extra, we));
  const std::vector<float> bad{1, -1};
  REQUIRE_THROWS_AS(model.fold_in(merged, bad), recsys::invalid_argument);
  const std::vector<float> nan{1, std::numeric_limits<float>::quiet_NaN()};
  REQUIRE_THROWS_AS(model.fold_in(merged, nan), recsys::invalid_argument);
  const std::vector<float> short_w{1};
  REQUIRE_THROWS_AS(model.fold_in(merged, short_w), recsys::invalid_argument);
}

TEST_CASE("als: recommend_for_history is the fold-in user's ranking", "[als][realtime]") {
  const recsys::csr_matrix m = realtime_interactions(50, 60, 1, 12, recsys::test::seed() + 3);
  recsys::als<float> model(config(recsys::als_solver::cholesky));
  model.fit(m);
  for (index_t u = 0; u < m.rows(); u += 7) {
    const row_data r = row_of(m, u);
    // A training user's history gives its own recommendations (same factors, same seen items).
    REQUIRE(model.recommend_for_history(r.items, r.weights, 10) == model.recommend(u, 10));
    const auto top = model.recommend_for_history(r.items, r.weights, 60);
    REQUIRE(top.is_sorted());
    for (index_t i : r.items) REQUIRE(std::find(top.ids.begin(), top.ids.end(), i) == top.ids.end());
    recsys::recommend_options keep;
    keep.exclude_seen = false;
    REQUIRE(model.recommend_for_history(r.items, r.weights, 60, keep).size() == 60);
  }
  // No known item: the popularity ranking.
  const std::vector<index_t> none{-5, 99};
  REQUIRE(model.recommend_for_history(none, {}, 10) == model.recommend(recsys::invalid_index, 10));
  REQUIRE(model.recommend_for_history({}, {}, 10) == model.recommend(recsys::invalid_index, 10));
}

TEMPLATE_TEST_CASE("als: explain attributes the score to history items", "[als][realtime]", float, double) {
  const recsys::csr_matrix m = realtime_interactions(40, 30, 3, 15, recsys::test::seed() + 4);
  recsys::als<TestType> model(config(recsys::als_solver::cholesky, 6));
  model.fit(m);
  for (index_t u = 0; u < m.rows(); u += 5)
    for (index_t item : {0, 11, 29}) {
      const row_data r = row_of(m, u);
      const auto e = model.explain(u, item, 1000);
      REQUIRE(e.contributions.size() == r.items.size());
      REQUIRE(e.contributions.is_sorted());
      const std::array<index_t, 1> one{item};
      REQUIRE(e.score == model.score(u, one)[0]);
      // Contributions: c_j y_j . A^-1 y_i, computed densely.
      const Eigen::MatrixXd a = dense_system(model, r);
      const Eigen::VectorXd v = a.ldlt().solve(model.item_factors().row(item).transpose().template cast<double>());
      double sum = 0;
      for (std::size_t j = 0; j < e.contributions.size(); ++j) {
        const index_t hj = e.contributions.ids[j];
        const auto pos = std::find(r.items.begin(), r.items.end(), hj) - r.items.begin();
        const double want = realtime_confidence(model.config(), r.weights[static_cast<std::size_t>(pos)]) *
                            model.item_factors().row(hj).template cast<double>().dot(v);
        REQUIRE(e.contributions.scores[j] == Approx(want).margin(std::is_same_v<TestType, double> ? 1e-9 : 1e-4));
        sum += e.contributions.scores[j];
      }
      // With the exact solver the contributions add up to the score.
      REQUIRE(sum == Approx(e.score).margin(std::is_same_v<TestType, double> ? 1e-9 : 1e-4));
      // k keeps the largest ones.
      const auto top3 = model.explain(u, item, 3);
      REQUIRE(top3.contributions.size() == 3);
      for (std::size_t j = 0; j < 3; ++j) REQUIRE(top3.contributions.ids[j] == e.contributions.ids[j]);
    }
  // Unknown user: the fallback score, no contributions. Unknown item: NaN.
  const auto cold = model.explain(-1, 3);
  REQUIRE(cold.contributions.empty());
  REQUIRE(cold.score == model.score(-1, std::array<index_t, 1>{3})[0]);
  REQUIRE(std::isnan(model.explain(0, 1000).score));
  // explain_history: the folded-in user's score, split over its history.
  const std::vector<index_t> h{1, 4, 9};
  const auto eh = model.explain_history(h, {}, 7);
  const recsys::vector<TestType> x = model.fold_in(h);
  REQUIRE(eh.score == static_cast<recsys::score_t>(model.item_factors().row(7).dot(x.transpose())));
  double sum = 0;
  for (auto s : eh.contributions.scores) sum += s;
  REQUIRE(sum == Approx(eh.score).margin(1e-4));
}

TEST_CASE("als: partial_fit adds users and items and re-solves the given rows", "[als][realtime]") {
  const recsys::csr_matrix full = realtime_interactions(70, 45, 1, 15, recsys::test::seed() + 5);
  // The first model sees 60 users and 40 items.
  recsys::csr_matrix old = full.topLeftCorner(60, 40);
  old.makeCompressed();
  recsys::als_config c = config(recsys::als_solver::cholesky, 6, 6);
  recsys::als<double> model(c);
  model.fit(old);
  const recsys::als<double> before = model;
  const Eigen::MatrixXd x_before = before.user_factors(), y_before = before.item_factors();

  SECTION("new users and items") {
    model.partial_fit(full, {}, {});
    REQUIRE(model.num_users() == 70);
    REQUIRE(model.num_items() == 45);
    // Existing rows keep their factors (up to the change of basis): same scores.
    const Eigen::MatrixXd p_old = x_before * y_before.transpose();
    const Eigen::MatrixXd p_new = model.user_factors().topRows(60) * model.item_factors().topRows(40).transpose();
    REQUIRE((p_old - p_new).cwiseAbs().maxCoeff() < 1e-10);
    // New items were solved against the fixed (old) user factors, new users have zero factors then.
    Eigen::MatrixXd x_ext = Eigen::MatrixXd::Zero(70, c.factors);
    x_ext.topRows(60) = x_before;
    for (index_t i = 40; i < 45; ++i) {
      Eigen::VectorXd cu = Eigen::VectorXd::Ones(70), pu = Eigen::VectorXd::Zero(70);
      double n = 0;
      for (index_t u = 0; u < 70; ++u)
        if (full.coeff(u, i) != 0) {
          cu[u] = realtime_confidence(c, full.coeff(u, i));
          pu[u] = 1;
          ++n;
        }
      Eigen::VectorXd want = Eigen::VectorXd::Zero(c.factors);
      if (n > 0) {
        const double lambda = c.regularization * std::pow(n + c.unobserved_weight * 70, c.regularization_exponent);
        const Eigen::MatrixXd a =
            x_ext.transpose() * cu.asDiagonal() * x_ext + lambda * Eigen::MatrixXd::Identity(c.factors, c.factors);
        want = a.ldlt().solve(x_ext.transpose() * cu.asDiagonal() * pu);
      }
      const Eigen::VectorXd got_scores = model.user_factors().topRows(60) * model.item_factors().row(i).transpose();
      REQUIRE((got_scores - x_before * want).cwiseAbs().maxCoeff() < 1e-9);
    }
    // New users were solved against the updated items: exactly their fold-in.
    for (index_t u = 60; u < 70; ++u) {
      const row_data r = row_of(full, u);
      REQUIRE(model.fold_in(r.items, r.weights) == model.user_factors().row(u).transpose());
    }
  }
  SECTION("updated rows") {
    // Users 3 and 5 get new events; item 2 is listed for an update too.
    recsys::csr_matrix upd = old;
    upd.coeffRef(3, 0) += 2.0f;
    upd.coeffRef(5, 39) += 1.0f;
    upd.makeCompressed();
    const std::vector<index_t> users{3, 5}, items{2};
    model.partial_fit(upd, users, items);
    for (index_t u : users) {
      const row_data r = row_of(upd, u);
      REQUIRE(model.fold_in(r.items, r.weights) == model.user_factors().row(u).transpose());
    }
    // A user not listed kept its scores on the items that were not re-solved.
    const Eigen::VectorXd s_old = y_before.bottomRows(30) * x_before.row(10).transpose();
    const Eigen::VectorXd s_new = model.item_factors().bottomRows(30) * model.user_factors().row(10).transpose();
    REQUIRE((s_old - s_new).cwiseAbs().maxCoeff() < 1e-10);
  }
  SECTION("bad input leaves the model unchanged") {
    REQUIRE_THROWS_AS(model.partial_fit(full.topLeftCorner(50, 45), {}), recsys::invalid_argument);
    const std::vector<index_t> bad{70};
    REQUIRE_THROWS_AS(model.partial_fit(full, bad), recsys::invalid_argument);
    recsys::cancellation_token stop;
    stop.cancel();
    recsys::job_control job;
    job.cancel = stop;
    REQUIRE_THROWS_AS(model.partial_fit(full, {}, {}, job), recsys::cancelled);
    REQUIRE(model.num_users() == 60);
    REQUIRE(model.user_factors() == before.user_factors());
    REQUIRE(model.item_factors() == before.item_factors());
  }
}

TEST_CASE("als: the registry's als recipe is als<float> on the summed interaction matrix", "[als][recipes]") {
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.als.recipe"));
  for (int r = 0; r < 1500; ++r)  // repeated (user, item) pairs: build_matrix sums them
    log.add("u" + std::to_string(g.uniform_index(60)), "i" + std::to_string(g.uniform_index(40)),
            static_cast<recsys::timestamp_t>(r) * 60, "view");
  const recsys::param_map params{{"factors", "8"}, {"iterations", "4"}, {"solver", "cholesky"},
                                 {"alpha", "2"},   {"seed", "7"},       {"num_threads", "2"}};
  auto m = recsys::make_model("als", params);
  REQUIRE(m->recipe() == "als");
  REQUIRE(m->supports_history());
  REQUIRE(m->supports_similar_items());
  // Effective parameters: the registry lists every key of als_params, overrides applied.
  const auto defaults = recsys::als_params();
  REQUIRE(m->params().size() == defaults.size());
  for (std::size_t k = 0; k < defaults.size(); ++k) {
    REQUIRE(m->params()[k].first == defaults[k].name);
    std::string want = defaults[k].default_value;
    for (const auto& [key, value] : params)
      if (key == defaults[k].name) want = value;
    REQUIRE(m->params()[k].second == want);
  }
  m->fit(log);

  recsys::als_config c;
  for (const auto& [key, value] : params) recsys::set_param(c, key, value);
  recsys::als<float> direct(c);
  direct.fit(recsys::build_matrix(log));
  REQUIRE(m->num_users() == direct.num_users());
  REQUIRE(m->num_items() == direct.num_items());
  for (index_t u = 0; u < 10; ++u) REQUIRE(m->recommend(u, 10) == direct.recommend(u, 10));
  const std::vector<index_t> h{1, 5, 5, 9};
  REQUIRE(m->recommend_for_history(h, {}, 6) == direct.recommend_for_history(h, {}, 6));
  REQUIRE(m->similar_items(3, 5) == direct.similar_items(3, 5));
  // The registry's defaults are als_config's defaults.
  auto d = recsys::make_model("als", {{"iterations", "2"}});
  d->fit(log);
  recsys::als_config dc;
  dc.iterations = 2;
  recsys::als<float> dd(dc);
  dd.fit(recsys::build_matrix(log));
  REQUIRE(d->recommend(2, 10) == dd.recommend(2, 10));
  // Bad values and unknown keys fail when the model is made.
  REQUIRE_THROWS_AS(recsys::make_model("als", {{"solver", "lu"}}), recsys::invalid_argument);
  REQUIRE_THROWS_AS(recsys::make_model("als", {{"learning_rate", "0.1"}}), recsys::invalid_argument);
  REQUIRE_THROWS_AS(recsys::make_model("als", {{"factors", "0"}}), recsys::invalid_argument);
}
