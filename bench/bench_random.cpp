// SPDX-License-Identifier: Apache-2.0
// Random streams are on the hot path of BPR/WARP and GRU negative sampling.
#include <recsys/random.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "bench_support.hpp"

static void BM_rng_next(benchmark::State& state) {
  recsys::rng r(1);
  for (auto _ : state) benchmark::DoNotOptimize(r());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_rng_next);

static void BM_std_mt19937_64_next(benchmark::State& state) {  // reference point
  std::mt19937_64 r(1);
  for (auto _ : state) benchmark::DoNotOptimize(r());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_std_mt19937_64_next);

static void BM_uniform_index(benchmark::State& state) {
  recsys::rng r(1);
  const auto n = static_cast<std::uint32_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(r.uniform_index(n));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_uniform_index)->Arg(20000);

static void BM_alias_table_draw(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.8);  // Zipf-like
  recsys::alias_table t(w);
  recsys::rng r(1);
  for (auto _ : state) benchmark::DoNotOptimize(t(r));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_alias_table_draw)->Arg(20000)->Arg(1000000);

static void BM_std_discrete_distribution_draw(benchmark::State& state) {  // reference point
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<double> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
  std::discrete_distribution<std::uint32_t> d(w.begin(), w.end());
  std::mt19937_64 r(1);
  for (auto _ : state) benchmark::DoNotOptimize(d(r));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_std_discrete_distribution_draw)->Arg(20000)->Arg(1000000);
