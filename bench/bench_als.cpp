// SPDX-License-Identifier: Apache-2.0
// Implicit ALS: per-iteration time (CG and Cholesky, f = 64 and 128, 2 threads) on the shared
// synthetic benchmark set (50k users x 20k items x 2M events, Zipf popularity), the solve
// phase's GFLOP/s and its ratio to an Eigen GEMM measured in the same run, the speed-up over a
// same-run re-implementation of implicit's per-row kernels, and real-time fold-in latency.
#include <recsys/data/synthetic.hpp>
#include <recsys/models/als.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>

#include <Eigen/Cholesky>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <numeric>
#include <vector>

#include "bench_support.hpp"

namespace {

constexpr int bench_threads = 2;

// The shared benchmark set (data/synthetic.hpp): 50k users x 20k items x 2M events, Zipf
// popularity (s = 1), 20 taste clusters, log-normal user activity. The matrix holds the number
// of events of each (user, item) pair.
const recsys::csr_matrix& bench_matrix() {
  static const recsys::csr_matrix m = [] {
    recsys::synthetic_config cfg =
        recsys::bench::smoke() ? recsys::synthetic_config::demo() : recsys::synthetic_config::benchmark();
    cfg.num_threads = bench_threads;
    const recsys::interaction_log log = recsys::generate_interactions(cfg);
    std::vector<Eigen::Triplet<float, recsys::index_t>> t;
    t.reserve(log.size());
    for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], log.weights[r]);
    recsys::csr_matrix x(log.num_users(), log.num_items());
    x.setFromTriplets(t.begin(), t.end());
    x.makeCompressed();
    return x;
  }();
  return m;
}

// GFLOP/s of Eigen's GEMM (512^3 per thread, one product per thread, bench_threads threads).
double eigen_gemm_gflops() {
  const Eigen::Index n = recsys::bench::size<Eigen::Index>(512, 64);
  std::vector<Eigen::MatrixXf> a(bench_threads), b(bench_threads), c(bench_threads);
  for (int t = 0; t < bench_threads; ++t) {
    a[static_cast<std::size_t>(t)] = Eigen::MatrixXf::Random(n, n);
    b[static_cast<std::size_t>(t)] = Eigen::MatrixXf::Random(n, n);
    c[static_cast<std::size_t>(t)] = Eigen::MatrixXf::Zero(n, n);
  }
  const int reps = recsys::bench::size(20, 1);
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    recsys::parallel_options po;
    po.num_threads = bench_threads;
    recsys::parallel_for(0, bench_threads, po, [&](std::int64_t t) {
      const auto k = static_cast<std::size_t>(t);
      for (int r = 0; r < reps; ++r) c[k].noalias() += a[k] * b[k];
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(n * n * n) * reps * bench_threads / s / 1e9);
  }
  benchmark::DoNotOptimize(c[0].data());
  return best;
}

// Flops of the textbook per-row algorithms (implicit's): Cholesky n f^2 + f^3/3 (+ 2 f^2 solves);
// CG (steps + 1) (2 f^2 + 4 n f).
double textbook_flops(const recsys::csr_matrix& m, recsys::als_solver solver, double f, int steps) {
  double fl = 0;
  const auto count = [&](const recsys::csr_matrix& x) {
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const double n = x.outerIndexPtr()[r + 1] - x.outerIndexPtr()[r];
      if (n == 0) continue;
      fl += solver == recsys::als_solver::cholesky ? n * f * f + f * f * f / 3 + 2 * f * f
                                                   : (steps + 1) * (2 * f * f + 4 * n * f);
    }
  };
  count(m);
  const recsys::csr_matrix t = m.transpose();
  count(t);
  return fl;
}

// A same-run reference: implicit 0.7's CPU per-row kernels (implicit/cpu/_als.pyx, least_squares
// and least_squares_cg) re-implemented with Eigen, parallel over rows like implicit's prange.
// YtY + lambda I once per half-sweep; Cholesky: A = YtY + lambda I + sum (c - 1) y y^T by full
// rank-1 updates, b = sum c y, LLT; CG: r = b - A x with a symv on YtY plus per-nonzero dot/axpy,
// then `steps` steps. Not implicit itself (its BLAS calls go through OpenBLAS), but the same work.
void implicit_style_half_sweep(const recsys::csr_matrix& m, recsys::row_matrix<float>& x,
                               const recsys::row_matrix<float>& y, bool cg, float lambda, float alpha, int steps) {
  const Eigen::Index f = y.cols();
  const Eigen::MatrixXf yty =
      y.transpose() * y + lambda * Eigen::MatrixXf::Identity(f, f);  // outside the row loop, as in implicit
  recsys::parallel_options po;
  po.num_threads = bench_threads;
  po.chunk = 8;
  struct scratch {  // per thread, allocated once (implicit mallocs its buffers per thread)
    Eigen::MatrixXf a;
    Eigen::VectorXf b, x, r, p, ap;
  };
  std::vector<scratch> tls(static_cast<std::size_t>(recsys::max_threads(po)));
  for (auto& t : tls) {
    t.a.resize(f, f);
    t.b.resize(f);
    t.x.resize(f);
    t.r.resize(f);
    t.p.resize(f);
    t.ap.resize(f);
  }
  recsys::parallel_for(0, m.rows(), po, [&](std::int64_t u, int tid) {
    scratch& s = tls[static_cast<std::size_t>(tid)];
    const auto* outer = m.outerIndexPtr();
    const auto* idx = m.innerIndexPtr();
    const float* w = m.valuePtr();
    auto xu = x.row(u);
    if (outer[u + 1] == outer[u]) {
      xu.setZero();
      return;
    }
    if (!cg) {
      s.a = yty;
      s.b.setZero();
      for (auto p = outer[u]; p < outer[u + 1]; ++p) {
        const float c = 1 + alpha * w[p];
        const auto yi = y.row(idx[p]);
        s.a.noalias() += ((c - 1) * yi.transpose()) * yi;  // rank-1 update of the full matrix
        s.b += c * yi.transpose();
      }
      Eigen::LLT<Eigen::Ref<Eigen::MatrixXf>> llt(s.a);  // posv: factorise in place, solve
      llt.solveInPlace(s.b);
      xu = s.b.transpose();
      return;
    }
    s.x = xu.transpose();
    s.r.noalias() = -(yty.selfadjointView<Eigen::Lower>() * s.x);
    for (auto p = outer[u]; p < outer[u + 1]; ++p) {
      const float c = 1 + alpha * w[p];
      const auto yi = y.row(idx[p]);
      s.r += (c - (c - 1) * yi.dot(s.x.transpose())) * yi.transpose();
    }
    s.p = s.r;
    float rsold = s.r.squaredNorm();
    for (int it = 0; it < steps && rsold >= 1e-20f; ++it) {
      s.ap.noalias() = yty.selfadjointView<Eigen::Lower>() * s.p;
      for (auto p = outer[u]; p < outer[u + 1]; ++p) {
        const float c = 1 + alpha * w[p];
        const auto yi = y.row(idx[p]);
        s.ap += ((c - 1) * yi.dot(s.p.transpose())) * yi.transpose();
      }
      const float a = rsold / s.p.dot(s.ap);
      s.x += a * s.p;
      s.r -= a * s.ap;
      const float rsnew = s.r.squaredNorm();
      s.p = s.r + (rsnew / rsold) * s.p;
      rsold = rsnew;
    }
    xu = s.x.transpose();
  });
}

// Seconds per iteration (items then users) of the implicit-style kernels.
double implicit_style_iteration_seconds(const recsys::csr_matrix& m, recsys::index_t f, bool cg,
                                        const recsys::als_config& cfg) {
  static std::map<std::pair<recsys::index_t, bool>, double> cache;
  const auto key = std::make_pair(f, cg);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const recsys::csr_matrix t = m.transpose();
  recsys::rng g(1, recsys::stream_tag("bench.als.implicit_style"));
  recsys::row_matrix<float> x(m.rows(), f), y(m.cols(), f);
  for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(g.normal() * 0.01);
  for (Eigen::Index k = 0; k < y.size(); ++k) y.data()[k] = static_cast<float>(g.normal() * 0.01);
  const int iterations = recsys::bench::size(2, 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < iterations; ++it) {
    implicit_style_half_sweep(t, y, x, cg, static_cast<float>(cfg.regularization), static_cast<float>(cfg.alpha),
                              cfg.cg_steps);
    implicit_style_half_sweep(m, x, y, cg, static_cast<float>(cfg.regularization), static_cast<float>(cfg.alpha),
                              cfg.cg_steps);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iterations;
  benchmark::DoNotOptimize(x.data());
  cache[key] = s;
  return s;
}

void BM_als_iteration(benchmark::State& state) {
  const auto solver = state.range(0) == 0 ? recsys::als_solver::cg : recsys::als_solver::cholesky;
  const auto f = static_cast<recsys::index_t>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  const recsys::csr_matrix& m = bench_matrix();
  const double gemm = eigen_gemm_gflops();
  recsys::als_config cfg;
  cfg.factors = f;
  cfg.iterations = recsys::bench::size(4, 2);
  cfg.solver = solver;
  cfg.num_threads = threads;
  double iter_seconds = 0, solve_seconds = 0, solve_flops = 0, prepare_seconds = 0, fit_seconds = 0;
  double cpu_full = 0, cpu_one = 0;
  std::int64_t iters = 0, fits = 0;
  for (auto _ : state) {
    // Process CPU time (all threads) of a one-iteration fit and of the full fit: their
    // difference is the work of the steady-state iterations, set-up excluded.
    {
      recsys::als_config one = cfg;
      one.iterations = 1;
      recsys::als<float> model(one);
      const std::clock_t c0 = std::clock();
      model.fit(m);
      cpu_one += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    }
    recsys::als<float> model(cfg);
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    model.fit(m);
    cpu_full += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fit_seconds += s;
    ++fits;
    for (const auto& h : model.training_history()) {
      iter_seconds += h.seconds;
      solve_seconds += h.solve_seconds;
      prepare_seconds += h.prepare_seconds;
      solve_flops += h.solve_flops;
      ++iters;
    }
    state.SetIterationTime(s / cfg.iterations);
  }
  const double per_iter = iter_seconds / static_cast<double>(iters);
  const double solve_gflops = solve_flops / solve_seconds / 1e9;
  const double textbook = textbook_flops(m, solver, f, cfg.cg_steps);
  state.counters["s_per_iter"] = per_iter;
  state.counters["fit_s_per_iter"] = fit_seconds / static_cast<double>(fits * cfg.iterations);
  // On a busy machine wall time includes waiting for a core. CPU time does not: the steady-state
  // CPU seconds per iteration (all threads; OpenMP spinning included) divided by the thread
  // count is what an idle machine would take, at best.
  state.counters["cpu_s_per_iter"] = (cpu_full - cpu_one) / static_cast<double>(fits * (cfg.iterations - 1));
  state.counters["prepare_s_per_iter"] = prepare_seconds / static_cast<double>(iters);
  state.counters["solve_GFLOPs"] = solve_gflops;
  state.counters["textbook_GFLOPs"] = textbook / (solve_seconds / static_cast<double>(iters)) / 1e9;
  state.counters["gemm_GFLOPs"] = gemm;
  state.counters["solve_vs_gemm"] = solve_gflops / gemm;
  state.counters["nnz"] = static_cast<double>(m.nonZeros());
  if (threads == bench_threads) {
    const double ref = implicit_style_iteration_seconds(m, f, solver == recsys::als_solver::cg, cfg);
    state.counters["implicit_style_s_per_iter"] = ref;
    state.counters["speedup_vs_implicit_style"] = ref / per_iter;
  }
  state.SetLabel(solver == recsys::als_solver::cg ? "cg" : "cholesky");
}
BENCHMARK(BM_als_iteration)
    ->ArgNames({"cholesky", "f", "threads"})
    ->Args({0, 64, 2})
    ->Args({1, 64, 2})
    ->Args({0, 128, 2})
    ->Args({1, 128, 2})
    ->Args({0, 64, 1})
    ->Args({1, 64, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// Real-time fold-in of a user with 50 interactions at f = 64, and the full query
// (fold-in + scoring the catalogue + top-10).
const recsys::als<float>& fold_in_model() {
  static const recsys::als<float> model = [] {
    recsys::als_config cfg;
    cfg.factors = 64;
    cfg.iterations = 2;
    cfg.num_threads = bench_threads;
    recsys::als<float> m(cfg);
    m.fit(bench_matrix());
    return m;
  }();
  return model;
}

std::vector<recsys::index_t> history_of(recsys::index_t n, recsys::index_t items) {
  recsys::rng g(3, recsys::stream_tag("bench.als.history"));
  std::vector<recsys::index_t> h;
  while (static_cast<recsys::index_t>(h.size()) < n) {
    const auto i = static_cast<recsys::index_t>(g.uniform_index(static_cast<std::uint32_t>(items)));
    if (std::find(h.begin(), h.end(), i) == h.end()) h.push_back(i);
  }
  return h;
}

void BM_als_fold_in(benchmark::State& state) {
  const auto& model = fold_in_model();
  const auto h = history_of(static_cast<recsys::index_t>(state.range(0)), model.num_items());
  for (auto _ : state) benchmark::DoNotOptimize(model.fold_in(h).data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_als_fold_in)->ArgName("history")->Arg(10)->Arg(50)->Arg(200)->Unit(benchmark::kMicrosecond);

void BM_als_recommend_for_history(benchmark::State& state) {
  const auto& model = fold_in_model();
  const auto h = history_of(static_cast<recsys::index_t>(state.range(0)), model.num_items());
  for (auto _ : state) benchmark::DoNotOptimize(model.recommend_for_history(h, {}, 10).ids.data());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_als_recommend_for_history)->ArgName("history")->Arg(50)->Unit(benchmark::kMicrosecond);

// Top-10 for every user (50k users, 20k items, f = 64) through factor_model::recommend_all (the
// shared top-K kernel), seen items excluded. The reference: implicit does 12-14.5k
// users/s with 2 threads on this shape.
void BM_als_recommend_all(benchmark::State& state) {
  const auto& model = fold_in_model();
  const int threads = static_cast<int>(state.range(0));
  const recsys::index_t k = 10;
  std::vector<recsys::index_t> ids(static_cast<std::size_t>(model.num_users()) * k);
  std::vector<recsys::score_t> scores(ids.size());
  double cpu = 0;
  for (auto _ : state) {
    const std::clock_t c0 = std::clock();
    model.recommend_all(k, ids.data(), scores.data(), {}, threads);
    cpu += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    benchmark::DoNotOptimize(ids.data());
  }
  const double users = static_cast<double>(model.num_users()) * static_cast<double>(state.iterations());
  state.counters["users/s"] = benchmark::Counter(users, benchmark::Counter::kIsRate);
  state.counters["users/cpu_s"] = users / cpu;  // per CPU second over all threads
}
BENCHMARK(BM_als_recommend_all)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
