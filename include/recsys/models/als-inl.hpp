// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ALS_INL_HPP
#define RECSYS_MODELS_ALS_INL_HPP

/// @file
/// Definitions of models/als.hpp (header-only mode includes this file; the compiled library
/// instantiates als<float> and als<double> in src/als.cpp).

#include <recsys/models/als.hpp>

#include <recsys/detail/als_kernels.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

template <class Scalar>
void als<Scalar>::fit(const csr_matrix& user_items, const job_control& job, const early_stopping<als>& stop) {
  RECSYS_REQUIRE(stop.patience >= 1, "als::fit", "early_stopping.patience must be >= 1 (got ", stop.patience, ")");
  RECSYS_REQUIRE(stop.every >= 1, "als::fit", "early_stopping.every must be >= 1 (got ", stop.every, ")");
  fit_impl(user_items, job, stop.metric ? &stop : nullptr);
}

template <class Scalar>
void als<Scalar>::save(model_writer& out) const {
  require_fitted("save");
  out.set_field("model", "als");
  out.set_field("scalar", std::is_same_v<Scalar, float> ? "float32" : "float64");
  std::vector<std::pair<std::string, std::string>> config;
  for (const auto& p : als_params(config_))
    if (p.name != "num_threads") config.emplace_back(p.name, p.default_value);
  out.set_config(config);
  detail::json::array losses;
  losses.reserve(history_.size());
  for (const auto& h : history_)
    if (std::isfinite(h.loss))  // not ?: here: GCC 12 then reports a false -Wmaybe-uninitialized at -O2
      losses.emplace_back(h.loss);
    else
      losses.emplace_back();
  detail::json::object training;
  detail::json::add(training, "best_iteration", static_cast<std::int64_t>(best_iteration_));
  detail::json::add(training, "iterations", static_cast<std::int64_t>(history_.size()));
  detail::json::add(training, "losses", detail::json::value(std::move(losses)));
  detail::json::add(training, "item_gram_eigenvalue_min", item_eig_min_);
  detail::json::add(training, "item_gram_eigenvalue_max", item_eig_max_);
  out.set_field("training", detail::json::value(std::move(training)));
  out.add_vector("item_gram_eigenvalues", item_eig_);
  this->save_factors(out);
}

template <class Scalar>
void als<Scalar>::load(const model_reader& in) {
  in.require_model_type("als");
  als_config c{};
  c.num_threads = config_.num_threads;
  index_t best = -1;
  double eig_min = 0, eig_max = 0;
  std::vector<als_iteration_stats> hist;
  in.in_manifest([&] {
    const std::string scalar = in.require_field("scalar").as_string("scalar");
    const char* expected = std::is_same_v<Scalar, float> ? "float32" : "float64";
    RECSYS_REQUIRE(scalar == expected, "als::load", "the model was saved as ", scalar, ", this is als<", expected, ">");
    for (const auto& [k, v] : in.config())
      if (!v.empty()) set_param(c, k, v);
    c.validate();
    const auto& t = in.require_field("training");
    best = static_cast<index_t>(t.at("best_iteration").as_int("training.best_iteration"));
    eig_min = t.at("item_gram_eigenvalue_min").as_double("training.item_gram_eigenvalue_min");
    eig_max = t.at("item_gram_eigenvalue_max").as_double("training.item_gram_eigenvalue_max");
    index_t it = 0;
    for (const auto& l : t.at("losses").as_array("training.losses")) {
      als_iteration_stats s;
      s.iteration = it++;
      if (!l.is_null()) s.loss = l.as_double("a loss");
      hist.push_back(s);
    }
  });
  als loaded(c);
  loaded.load_factors(in);
  const std::vector<Scalar> eig = in.vector<Scalar>("item_gram_eigenvalues", loaded.num_factors());
  model_reader::check(std::all_of(eig.begin(), eig.end(), [](Scalar v) { return std::isfinite(v); }) &&
                          std::isfinite(eig_min) && std::isfinite(eig_max),
                      in.array_file("item_gram_eigenvalues"), "holds non-finite values");
  model_reader::check(loaded.item_bias().size() == 0, in.array_file("item_bias"),
                      "is present, but ALS learns no item bias");
  loaded.item_eig_ = Eigen::Map<const vector_type>(eig.data(), static_cast<Eigen::Index>(eig.size()));
  loaded.item_eig_min_ = eig_min;
  loaded.item_eig_max_ = eig_max;
  loaded.best_iteration_ = best;
  loaded.history_ = std::move(hist);
  *this = std::move(loaded);
}

template <class Scalar>
auto als<Scalar>::fold_in(std::span<const index_t> items, std::span<const score_t> weights) const -> vector_type {
  require_fitted("fold_in");
  const history h = normalise_history("fold_in", items, weights, {});
  return solve_history("fold_in", h);
}

template <class Scalar>
auto als<Scalar>::fold_in_user(index_t user, std::span<const index_t> new_items,
                               std::span<const score_t> new_weights) const -> vector_type {
  require_fitted("fold_in_user");
  const history h = normalise_history("fold_in_user", new_items, new_weights, user_row(user));
  return solve_history("fold_in_user", h);
}

template <class Scalar>
topk_result als<Scalar>::recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                               index_t k, const recommend_options& opts) const {
  RECSYS_REQUIRE(k >= 0, "recommend_for_history", "k must be >= 0 (got ", k, ")");
  require_fitted("recommend_for_history");
  const history h = normalise_history("recommend_for_history", items, weights, {});
  if (h.items.empty()) return this->recommend(invalid_index, k, opts);
  const vector_type x = solve_history("recommend_for_history", h);
  return this->recommend_for_vector(x, k, opts, h.items);
}

template <class Scalar>
auto als<Scalar>::explain(index_t user, index_t item, index_t k) const -> explanation {
  RECSYS_REQUIRE(k >= 0, "explain", "k must be >= 0 (got ", k, ")");
  require_fitted("explain");
  explanation e;
  if (!this->is_known_user(user) || item < 0 || item >= this->num_items()) {
    const std::array<index_t, 1> one{item};
    e.score = this->score(user, one)[0];
    return e;
  }
  const history h = normalise_history("explain", {}, {}, user_row(user));
  return explain_history_impl(h, item, k, this->user_factors_.row(user).transpose());
}

template <class Scalar>
auto als<Scalar>::explain_history(std::span<const index_t> items, std::span<const score_t> weights, index_t item,
                                  index_t k) const -> explanation {
  RECSYS_REQUIRE(k >= 0, "explain_history", "k must be >= 0 (got ", k, ")");
  require_fitted("explain_history");
  const history h = normalise_history("explain_history", items, weights, {});
  if (item < 0 || item >= this->num_items()) {
    explanation e;
    e.score = std::numeric_limits<score_t>::quiet_NaN();
    return e;
  }
  const vector_type x = solve_history("explain_history", h);
  return explain_history_impl(h, item, k, x);
}

template <class Scalar>
void als<Scalar>::require_fitted(const char* where) const {
  RECSYS_REQUIRE(this->is_fitted(), where, "the model is not fitted yet (call fit first)");
}

template <class Scalar>
Scalar als<Scalar>::row_lambda(Eigen::Index n, Eigen::Index others) const {
  if (config_.regularization_exponent == 0.0) return static_cast<Scalar>(config_.regularization);
  const double freq = static_cast<double>(n) + config_.unobserved_weight * static_cast<double>(others);
  return static_cast<Scalar>(config_.regularization * std::pow(freq, config_.regularization_exponent));
}

template <class Scalar>
void als<Scalar>::check_weights(const csr_matrix& m, const char* where) {
  const score_t* v = m.valuePtr();
  const auto* outer = m.outerIndexPtr();
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (auto p = outer[r]; p < outer[r + 1]; ++p)
      RECSYS_REQUIRE(std::isfinite(v[p]) && v[p] >= 0.0f, where, "the weight of (row ", r, ", column ",
                     m.innerIndexPtr()[p], ") is ", v[p], "; ALS needs finite weights >= 0");
}

template <class Scalar>
auto als<Scalar>::make_source(const csr_matrix& m, Eigen::Index others, const char* noun) const -> row_source {
  row_source s;
  s.rows = &m;
  s.noun = noun;
  const auto* outer = m.outerIndexPtr();
  s.lambda.resize(static_cast<std::size_t>(m.rows()));
  for (index_t r = 0; r < m.rows(); ++r) {
    const auto n = outer[r + 1] - outer[r];
    s.lambda[static_cast<std::size_t>(r)] = row_lambda(n, others);
    (n > 0 ? s.order : s.empty).push_back(r);
  }
  // Longest rows first: dynamic scheduling then balances skewed degrees.
  std::stable_sort(s.order.begin(), s.order.end(),
                   [&](index_t a, index_t b) { return outer[a + 1] - outer[a] > outer[b + 1] - outer[b]; });
  return s;
}

template <class Scalar>
detail::als_row als<Scalar>::row_of(const csr_matrix& m, index_t r) {
  const auto* outer = m.outerIndexPtr();
  return {m.innerIndexPtr() + outer[r], m.valuePtr() + outer[r], static_cast<Eigen::Index>(outer[r + 1] - outer[r])};
}

template <class Scalar>
auto als<Scalar>::make_side(const matrix_type& factors, const basis_t& b) const -> side_t {
  side_t s;
  s.factors = &factors;
  s.eig = &b.eig;
  s.eig_min = b.eig_min;
  s.eig_max = b.eig_max;
  s.confidence =
      config_.confidence == als_confidence::hu ? detail::als_confidence_kind::hu : detail::als_confidence_kind::linear;
  s.alpha = static_cast<Scalar>(config_.alpha);
  return s;
}

template <class Scalar>
[[noreturn]] void als<Scalar>::throw_row_error(const char* where, detail::als_row_status st, const std::string& subject,
                                               double lambda, const side_t& side) const {
  const std::string reg =
      detail::str(" (regularization ", config_.regularization, ", lambda of this row ", lambda, ")");
  switch (st) {
    case detail::als_row_status::singular:
      detail::throw_numerical_error(
          where, "the system of ", subject, " is numerically singular: Y^T Y + lambda I has eigenvalues from ",
          side.eig_min + lambda, " to ", side.eig_max + lambda, reg, "; increase the regularization");
    case detail::als_row_status::not_positive_definite:
      detail::throw_numerical_error(where, "the system of ", subject, " is not positive definite", reg,
                                    "; increase the regularization (or use confidence hu, whose weights "
                                    "never lower a pair below the unobserved weight)");
    default:
      detail::throw_numerical_error(where, "solving the system of ", subject, " produced NaN or infinity", reg,
                                    "; check the scale of the weights and alpha, or increase the regularization");
  }
}

template <class Scalar>
double als<Scalar>::half_sweep(const char* where, const row_source& src, const side_t& side, matrix_type& out, bool cg,
                               progress_reporter& rep, const char* what, index_t iteration,
                               std::vector<solver_t>& scratch) const {
  for (index_t r : src.empty) out.row(r).setZero();
  constexpr std::int64_t block = 16;
  const auto n = static_cast<std::int64_t>(src.order.size());
  parallel_options po;
  po.num_threads = config_.num_threads;
  const int steps = config_.cg_steps;
  parallel_for(0, (n + block - 1) / block, po, [&](std::int64_t b, int tid) {
    solver_t& s = scratch[static_cast<std::size_t>(tid)];
    const std::int64_t lo = b * block, hi = std::min(n, lo + block);
    for (std::int64_t k = lo; k < hi; ++k) {
      rep.check();
      const index_t r = src.order[static_cast<std::size_t>(k)];
      const Scalar lambda = src.lambda[static_cast<std::size_t>(r)];
      const detail::als_row row = row_of(*src.rows, r);
      const auto st = cg ? s.solve_cg(side, row, lambda, out.row(r).data(), steps)
                         : s.solve_exact(side, row, lambda, out.row(r).data());
      if (st != detail::als_row_status::ok)
        throw_row_error(where, st, detail::str(src.noun, " ", r, " (iteration ", iteration, ", ", what, ")"),
                        static_cast<double>(lambda), side);
    }
    rep.advance(hi - lo);
  });
  double flops = 0;
  for (auto& s : scratch) {
    flops += s.flops();
    s.reset_flops();
  }
  return flops;
}

template <class Scalar>
auto als<Scalar>::init_factors(const row_source& src, index_t f, std::string_view tag) const -> matrix_type {
  matrix_type m = matrix_type::Zero(src.rows->rows(), f);
  const double scale = config_.init_scale / std::sqrt(static_cast<double>(f));
  parallel_options po;
  po.num_threads = config_.num_threads;
  po.chunk = 256;
  po.min_parallel = 4096;  // rows: below this a thread start costs more than the draws
  const std::uint64_t t = stream_tag(tag);
  parallel_for(0, static_cast<std::int64_t>(src.order.size()), po, [&](std::int64_t k) {
    const index_t r = src.order[static_cast<std::size_t>(k)];
    rng g(config_.seed, t, static_cast<std::uint64_t>(r));  // one stream per row
    for (index_t j = 0; j < f; ++j) m(r, j) = static_cast<Scalar>(g.normal() * scale);
  });
  return m;
}

template <class Scalar>
double als<Scalar>::objective(const row_source& users, const row_source& items, const matrix_type& x,
                              const matrix_type& y, const Eigen::MatrixXd& gram_x,
                              const Eigen::MatrixXd& gram_y) const {
  const basis_t none;
  const side_t side = make_side(y, none);
  parallel_options po;
  po.num_threads = config_.num_threads;
  const double dense = (gram_x.array() * gram_y.array()).sum();
  const double obs = parallel_reduce(
      0, static_cast<std::int64_t>(x.rows()), 256, po, 0.0,
      [&](std::int64_t lo, std::int64_t hi) {
        double acc = 0;
        for (std::int64_t u = lo; u < hi; ++u) {
          const auto r = row_of(*users.rows, static_cast<index_t>(u));
          if (r.size == 0) continue;
          acc += static_cast<double>(users.lambda[static_cast<std::size_t>(u)]) *
                 static_cast<double>(x.row(u).squaredNorm());
          for (Eigen::Index j = 0; j < r.size; ++j) {
            const double s = static_cast<double>(x.row(u).dot(y.row(r.index[j])));
            const double c = static_cast<double>(side.confidence_of(r.weight[j]));
            acc += c * (1.0 - s) * (1.0 - s) - s * s;
          }
        }
        return acc;
      },
      [](double a, double b) { return a + b; });
  const double reg_items = parallel_reduce(
      0, static_cast<std::int64_t>(y.rows()), 1024, po, 0.0,
      [&](std::int64_t lo, std::int64_t hi) {
        double acc = 0;
        for (std::int64_t i = lo; i < hi; ++i)
          acc += static_cast<double>(items.lambda[static_cast<std::size_t>(i)]) *
                 static_cast<double>(y.row(i).squaredNorm());
        return acc;
      },
      [](double a, double b) { return a + b; });
  return dense + obs + reg_items;
}

template <class Scalar>
void als<Scalar>::install(matrix_type x, matrix_type y, const basis_t& b, const csr_matrix& seen, bool same_seen) {
  if (same_seen) {
    this->user_factors_ = std::move(x);
    this->item_factors_ = std::move(y);
    this->refresh_derived();
  } else {
    this->set_model(std::move(x), std::move(y), vector_type{}, seen);
  }
  item_eig_ = b.eig;
  item_eig_min_ = b.eig_min;
  item_eig_max_ = b.eig_max;
}

template <class Scalar>
auto als<Scalar>::user_row(index_t user) const -> row_ref {
  if (user < 0 || user >= this->seen_.rows()) return {};
  const auto* outer = this->seen_.outerIndexPtr();
  const auto b = outer[user], n = outer[user + 1] - b;
  return {{this->seen_.innerIndexPtr() + b, static_cast<std::size_t>(n)},
          {this->seen_.valuePtr() + b, static_cast<std::size_t>(n)}};
}

template <class Scalar>
auto als<Scalar>::normalise_history(const char* where, std::span<const index_t> items, std::span<const score_t> weights,
                                    row_ref base_row) const -> history {
  RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), where, "got ", items.size(), " items but ",
                 weights.size(), " weights");
  std::vector<std::pair<index_t, score_t>> all;
  all.reserve(items.size() + base_row.items.size());
  for (std::size_t j = 0; j < base_row.items.size(); ++j) all.emplace_back(base_row.items[j], base_row.weights[j]);
  for (std::size_t j = 0; j < items.size(); ++j) {
    const score_t w = weights.empty() ? score_t(1) : weights[j];
    RECSYS_REQUIRE(std::isfinite(w) && w >= 0.0f, where, "weight ", j, " is ", w, "; weights must be finite and >= 0");
    if (items[j] >= 0 && items[j] < this->num_items()) all.emplace_back(items[j], w);
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  history h;
  for (const auto& [i, w] : all) {
    if (!h.items.empty() && h.items.back() == i)
      h.weights.back() += w;
    else {
      h.items.push_back(i);
      h.weights.push_back(w);
    }
  }
  return h;
}

template <class Scalar>
auto als<Scalar>::query_basis() const -> basis_t {
  basis_t b;
  b.eig = item_eig_;
  b.eig_min = item_eig_min_;
  b.eig_max = item_eig_max_;
  return b;
}

template <class Scalar>
auto als<Scalar>::solve_history(const char* where, const history& h, const Scalar* rhs) const -> vector_type {
  const basis_t b = query_basis();
  const side_t side = make_side(this->item_factors_, b);
  solver_t s(this->num_factors());
  vector_type x(this->num_factors());
  const detail::als_row row{h.items.data(), h.weights.data(), static_cast<Eigen::Index>(h.items.size())};
  const Scalar lambda = row_lambda(row.size, this->num_items());
  const auto st = s.solve_exact(side, row, lambda, x.data(), rhs);
  if (st != detail::als_row_status::ok)
    throw_row_error(where, st, detail::str("the folded-in history (", row.size, " known items)"),
                    static_cast<double>(lambda), side);
  return x;
}

template <class Scalar>
auto als<Scalar>::explain_history_impl(const history& h, index_t item, index_t k, const vector_type& x) const
    -> explanation {
  explanation e;
  e.score = static_cast<score_t>(this->item_factors_.row(item).dot(x.transpose()));
  if (h.items.empty()) return e;
  const vector_type yi = this->item_factors_.row(item).transpose();
  const vector_type v = solve_history("explain", h, yi.data());  // A^-1 y_i
  const basis_t b = query_basis();
  const side_t side = make_side(this->item_factors_, b);
  detail::topk_heap heap(std::min<index_t>(k, static_cast<index_t>(h.items.size())));
  for (std::size_t j = 0; j < h.items.size(); ++j) {
    const Scalar c = side.confidence_of(h.weights[j]);
    heap.push(static_cast<score_t>(c * this->item_factors_.row(h.items[j]).dot(v.transpose())), h.items[j]);
  }
  heap.drain_into(e.contributions);
  return e;
}

template <class Scalar>
void als<Scalar>::fit_impl(const csr_matrix& input, const job_control& job, const early_stopping<als>* stop) {
  config_.validate();
  RECSYS_REQUIRE(input.rows() > 0 && input.cols() > 0, "als::fit", "the interaction matrix is empty (", input.rows(),
                 " x ", input.cols(), ")");
  csr_matrix compressed;
  const csr_matrix* xp = &input;
  if (!input.isCompressed()) {
    compressed = input;
    compressed.makeCompressed();
    xp = &compressed;
  }
  const csr_matrix& x = *xp;
  check_weights(x, "als::fit");
  csr_matrix xt = x.transpose();
  xt.makeCompressed();

  const index_t f = config_.factors;
  const bool cg = config_.solver == als_solver::cg;
  const index_t iterations = config_.iterations;
  const row_source users = make_source(x, x.cols(), "user");
  const row_source items = make_source(xt, x.rows(), "item");
  const int threads = max_threads(parallel_options{config_.num_threads});
  std::vector<solver_t> scratch;
  scratch.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) scratch.emplace_back(f);

  // Committed state (the last completed iteration) and two work buffers; they swap roles at
  // every commit, so memory is touched (and page-faulted) in the first iteration only.
  matrix_type xc = init_factors(users, f, "als.init.users");
  matrix_type yc = init_factors(items, f, "als.init.items");
  matrix_type xw, yw;
  basis_t committed_basis;
  Eigen::MatrixXd gram_x = detail::als_gram(xc, config_.num_threads);

  std::vector<als_iteration_stats> hist;
  index_t completed = 0;
  bool installed = false;
  // Early stopping.
  double best_metric = -std::numeric_limits<double>::infinity();
  index_t best_iter = -1, since_best = 0;
  matrix_type best_x, best_y;
  basis_t best_basis;

  const auto install_current = [&](bool copy) {
    if (copy)
      install(xc, yc, committed_basis, x, installed);
    else
      install(std::move(xc), std::move(yc), committed_basis, x, installed);
    installed = true;
  };

  // Installs the best evaluated iteration (early stopping with restore_best) or the last completed one.
  const auto finish = [&](bool failed) {
    const bool restore = stop && stop->restore_best && best_iter >= 0 && best_iter + 1 != completed;
    if (restore)
      install(std::move(best_x), std::move(best_y), best_basis, x, installed);
    else
      install_current(false);
    best_iteration_ = stop && stop->restore_best && best_iter >= 0 ? best_iter : -1;
    if (failed)
      history_ = hist;
    else
      history_ = std::move(hist);
  };

  // One progress stage for the whole fit: every iteration's item and user rows.
  progress_reporter rep(
      job, "als: fit",
      static_cast<std::int64_t>(iterations) * static_cast<std::int64_t>(items.order.size() + users.order.size()), 0,
      iterations);
  try {
    for (index_t it = 0; it < iterations; ++it) {
      rep.set_step(it);
      als_iteration_stats st;
      st.iteration = it;
      const auto t0 = clock::now();
      // Item half-sweep: items against the fixed users, in the eigenbasis of X^T X.
      auto tp = clock::now();
      const basis_t bx = detail::als_eigenbasis<Scalar>(gram_x);
      detail::als_rotate(xc, bx.q, xw, config_.num_threads);
      if (cg)
        detail::als_rotate(yc, bx.q, yw, config_.num_threads);  // warm start
      else
        yw.resize(yc.rows(), f);
      st.prepare_seconds += seconds_since(tp);
      tp = clock::now();
      st.solve_flops += half_sweep("als::fit", items, make_side(xw, bx), yw, cg, rep, "item half-sweep", it, scratch);
      st.solve_seconds += seconds_since(tp);
      // User half-sweep: users against the new items, in the eigenbasis of Y^T Y. The rotated old
      // user factors in xw are the CG warm start; the Cholesky solver simply overwrites them.
      tp = clock::now();
      basis_t by = detail::als_eigenbasis<Scalar>(detail::als_gram(yw, config_.num_threads));
      detail::als_rotate(yw, by.q, yw, config_.num_threads);
      if (cg) detail::als_rotate(xw, by.q, xw, config_.num_threads);
      st.prepare_seconds += seconds_since(tp);
      tp = clock::now();
      st.solve_flops += half_sweep("als::fit", users, make_side(yw, by), xw, cg, rep, "user half-sweep", it, scratch);
      st.solve_seconds += seconds_since(tp);
      tp = clock::now();
      gram_x = detail::als_gram(xw, config_.num_threads);  // for the loss and the next item half-sweep
      st.prepare_seconds += seconds_since(tp);
      // Commit.
      std::swap(xc, xw);
      std::swap(yc, yw);
      committed_basis = std::move(by);
      completed = it + 1;
      st.seconds = seconds_since(t0);
      if (config_.compute_loss) {
        st.loss = objective(users, items, xc, yc, gram_x, detail::als_gram(yc, config_.num_threads));
        rep.set_metric("loss", st.loss);
        rep.report();
      }
      bool stop_now = false;
      if (stop && ((it + 1) % stop->every == 0 || it + 1 == iterations)) {
        install_current(true);
        st.validation = stop->metric(*this);
        rep.set_metric("validation", st.validation);
        rep.report();
        if (st.validation > best_metric) {
          best_metric = st.validation;
          best_iter = it;
          since_best = 0;
          if (stop->restore_best) {
            best_x = xc;
            best_y = yc;
            best_basis = committed_basis;
          }
        } else if (++since_best >= stop->patience) {
          stop_now = true;
        }
      }
      hist.push_back(st);
      if (stop_now) break;
    }
  } catch (...) {
    if (completed > 0) finish(true);
    throw;
  }
  rep.finish();
  finish(false);
}

template <class Scalar>
void als<Scalar>::partial_fit(const csr_matrix& input, std::span<const index_t> users, std::span<const index_t> items,
                              const job_control& job) {
  require_fitted("partial_fit");
  config_.validate();
  const index_t old_users = this->num_users(), old_items = this->num_items();
  RECSYS_REQUIRE(input.rows() >= old_users && input.cols() >= old_items, "als::partial_fit", "the matrix is ",
                 input.rows(), " x ", input.cols(), " but the model already has ", old_users, " users and ", old_items,
                 " items (new users and items are appended, never removed)");
  csr_matrix x = input;
  x.makeCompressed();
  check_weights(x, "als::partial_fit");
  csr_matrix xt = x.transpose();
  xt.makeCompressed();
  const index_t nu = static_cast<index_t>(x.rows()), ni = static_cast<index_t>(x.cols()), f = this->num_factors();

  const auto select = [&](std::span<const index_t> given, index_t old_n, index_t new_n, const char* noun) {
    std::vector<index_t> rows;
    for (index_t r : given) {
      RECSYS_REQUIRE(r >= 0 && r < new_n, "als::partial_fit", noun, " ", r, " out of range [0, ", new_n, ")");
      rows.push_back(r);
    }
    for (index_t r = old_n; r < new_n; ++r) rows.push_back(r);
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    return rows;
  };
  const std::vector<index_t> user_rows = select(users, old_users, nu, "user");
  const std::vector<index_t> item_rows = select(items, old_items, ni, "item");

  row_source usrc = make_source(x, ni, "user");
  row_source isrc = make_source(xt, nu, "item");
  // Restrict each source to the rows to update (keeping longest-first order).
  const auto restrict_to = [](row_source& s, const std::vector<index_t>& rows) {
    std::vector<char> keep(s.lambda.size(), 0);
    for (index_t r : rows) keep[static_cast<std::size_t>(r)] = 1;
    std::erase_if(s.order, [&](index_t r) { return !keep[static_cast<std::size_t>(r)]; });
    std::erase_if(s.empty, [&](index_t r) { return !keep[static_cast<std::size_t>(r)]; });
  };
  restrict_to(usrc, user_rows);
  restrict_to(isrc, item_rows);

  matrix_type xw = matrix_type::Zero(nu, f), yw = matrix_type::Zero(ni, f);
  xw.topRows(old_users) = this->user_factors_;
  yw.topRows(old_items) = this->item_factors_;
  std::vector<solver_t> scratch;
  const int threads = max_threads(parallel_options{config_.num_threads});
  for (int t = 0; t < threads; ++t) scratch.emplace_back(f);

  progress_reporter rep(job, "als: partial fit", static_cast<std::int64_t>(isrc.order.size() + usrc.order.size()));
  if (!item_rows.empty()) {
    const basis_t bx = detail::als_eigenbasis<Scalar>(detail::als_gram(xw, config_.num_threads));
    detail::als_rotate(xw, bx.q, xw, config_.num_threads);
    detail::als_rotate(yw, bx.q, yw, config_.num_threads);
    half_sweep("als::partial_fit", isrc, make_side(xw, bx), yw, false, rep, "partial item update", 0, scratch);
  }
  // Always end in the eigenbasis of the final item Gram matrix (what fold-in relies on).
  const basis_t by = detail::als_eigenbasis<Scalar>(detail::als_gram(yw, config_.num_threads));
  detail::als_rotate(yw, by.q, yw, config_.num_threads);
  detail::als_rotate(xw, by.q, xw, config_.num_threads);
  if (!user_rows.empty())
    half_sweep("als::partial_fit", usrc, make_side(yw, by), xw, false, rep, "partial user update", 0, scratch);
  rep.finish();
  install(std::move(xw), std::move(yw), by, x, false);
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ALS_INL_HPP
