// SPDX-License-Identifier: Apache-2.0
// Implicit ALS: per-iteration time (CG and Cholesky, f = 64 and 128, 2 threads) on a synthetic
// 50k users x 20k items x 2M interactions set with Zipf popularity, the solve phase's GFLOP/s and
// its ratio to an Eigen GEMM measured in the same run, and real-time fold-in latency.
#include <recsys/models/als.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "bench_support.hpp"

namespace {

constexpr int bench_threads = 2;

// Users x items with Zipf item popularity (exponent 1) and Zipf user activity (exponent 0.5),
// `nnz` distinct pairs, weight 1 + (number of repeats).
recsys::csr_matrix zipf_matrix(recsys::index_t users, recsys::index_t items, std::int64_t nnz, std::uint64_t seed) {
  std::vector<double> wu(static_cast<std::size_t>(users)), wi(static_cast<std::size_t>(items));
  for (std::size_t u = 0; u < wu.size(); ++u) wu[u] = 1.0 / std::pow(static_cast<double>(u + 1), 0.5);
  for (std::size_t i = 0; i < wi.size(); ++i) wi[i] = 1.0 / static_cast<double>(i + 1);
  // Popular items and active users are spread over the index range.
  std::vector<recsys::index_t> pu(wu.size()), pi(wi.size());
  std::iota(pu.begin(), pu.end(), 0);
  std::iota(pi.begin(), pi.end(), 0);
  recsys::rng g(seed, recsys::stream_tag("bench.als.zipf"));
  recsys::shuffle(pu.begin(), pu.end(), g);
  recsys::shuffle(pi.begin(), pi.end(), g);
  const recsys::alias_table au(wu), ai(wi);
  std::vector<std::int64_t> keys;
  keys.reserve(static_cast<std::size_t>(nnz) * 2);
  std::int64_t drawn = 0;
  while (static_cast<std::int64_t>(keys.size()) < nnz) {
    const std::int64_t need = nnz - static_cast<std::int64_t>(keys.size());
    for (std::int64_t k = 0; k < need + need / 4 + 16; ++k)
      keys.push_back(static_cast<std::int64_t>(pu[au(g)]) * items + pi[ai(g)]);
    drawn += need;
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (static_cast<std::int64_t>(keys.size()) > nnz) {
      recsys::shuffle(keys.begin(), keys.end(), g);
      keys.resize(static_cast<std::size_t>(nnz));
      std::sort(keys.begin(), keys.end());
    }
  }
  std::vector<Eigen::Triplet<float, recsys::index_t>> t;
  t.reserve(keys.size());
  for (auto k : keys)
    t.emplace_back(static_cast<recsys::index_t>(k / items), static_cast<recsys::index_t>(k % items),
                   1.0f + static_cast<float>(g.uniform_index(3)));
  recsys::csr_matrix m(users, items);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

const recsys::csr_matrix& bench_matrix() {
  static const recsys::csr_matrix m = zipf_matrix(recsys::bench::size(50000, 2000), recsys::bench::size(20000, 1000),
                                                  recsys::bench::size<std::int64_t>(2000000, 40000), 7);
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

void BM_als_iteration(benchmark::State& state) {
  const auto solver = state.range(0) == 0 ? recsys::als_solver::cg : recsys::als_solver::cholesky;
  const auto f = static_cast<recsys::index_t>(state.range(1));
  const recsys::csr_matrix& m = bench_matrix();
  const double gemm = eigen_gemm_gflops();
  recsys::als_config cfg;
  cfg.factors = f;
  cfg.iterations = recsys::bench::size(3, 1);
  cfg.solver = solver;
  cfg.num_threads = bench_threads;
  double iter_seconds = 0, solve_seconds = 0, solve_flops = 0, prepare_seconds = 0, fit_seconds = 0;
  std::int64_t iters = 0, fits = 0;
  for (auto _ : state) {
    recsys::als<float> model(cfg);
    const auto t0 = std::chrono::steady_clock::now();
    model.fit(m);
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
  state.counters["prepare_s_per_iter"] = prepare_seconds / static_cast<double>(iters);
  state.counters["solve_GFLOPs"] = solve_gflops;
  state.counters["textbook_GFLOPs"] = textbook / (solve_seconds / static_cast<double>(iters)) / 1e9;
  state.counters["gemm_GFLOPs"] = gemm;
  state.counters["solve_vs_gemm"] = solve_gflops / gemm;
  state.counters["nnz"] = static_cast<double>(m.nonZeros());
  state.SetLabel(solver == recsys::als_solver::cg ? "cg" : "cholesky");
}
BENCHMARK(BM_als_iteration)
    ->ArgNames({"cholesky", "f"})
    ->Args({0, 64})
    ->Args({1, 64})
    ->Args({0, 128})
    ->Args({1, 128})
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

}  // namespace
