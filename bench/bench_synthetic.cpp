// SPDX-License-Identifier: Apache-2.0
// Synthetic data generation speed: every benchmark of issues 5-7 and the demo start with it.
//
// Reported: events/s (baskets/s) at 1 and 2 threads on the benchmark preset (50k users x 20k
// items x 2M events; 1M baskets), and, measured in the same iterations, the ratio of the full
// generator's time to a bare Zipf fill of the same size (uniform user, alias-table item,
// uniform timestamp into plain arrays: the least any "Zipf popularity" generator must do).
#include <recsys/data/synthetic.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "bench_support.hpp"

namespace {

recsys::synthetic_config bench_config(int threads) {
  auto cfg = recsys::synthetic_config::benchmark();
  if (recsys::bench::smoke()) {
    cfg.num_users = 2000;
    cfg.num_items = 1000;
    cfg.num_interactions = 40000;
    cfg.num_baskets = 20000;
    cfg.num_planted_pairs = 20;
  }
  cfg.num_threads = threads;
  return cfg;
}

/// The bare minimum: users uniform, items Zipf by alias table, timestamps uniform.
double naive_zipf_fill_seconds(const recsys::synthetic_config& cfg) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<double> w(static_cast<std::size_t>(cfg.num_items));
  for (std::size_t r = 0; r < w.size(); ++r) w[r] = std::pow(static_cast<double>(r + 1), -cfg.zipf_exponent);
  const recsys::alias_table items(w);
  const auto n = static_cast<std::size_t>(cfg.num_interactions);
  std::vector<recsys::index_t> u(n), i(n);
  std::vector<recsys::timestamp_t> t(n);
  recsys::rng r(cfg.seed);
  const auto span = static_cast<std::uint32_t>(cfg.time_span_days * 86400);
  for (std::size_t e = 0; e < n; ++e) {
    u[e] = static_cast<recsys::index_t>(r.uniform_index(static_cast<std::uint32_t>(cfg.num_users)));
    i[e] = static_cast<recsys::index_t>(items(r));
    t[e] = cfg.start_time + r.uniform_index(span);
  }
  benchmark::DoNotOptimize(u.data());
  benchmark::DoNotOptimize(i.data());
  benchmark::DoNotOptimize(t.data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

static void BM_generate_interactions(benchmark::State& state) {
  const auto cfg = bench_config(static_cast<int>(state.range(0)));
  double generator = 0, naive = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto log = recsys::generate_interactions(cfg);
    benchmark::DoNotOptimize(log.items.data());
    generator += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.PauseTiming();
    { auto dispose = std::move(log); }  // freeing 80 MB is not generation
    naive += naive_zipf_fill_seconds(cfg);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * cfg.num_interactions);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(cfg.num_interactions) *
                                                      static_cast<double>(state.iterations()) / generator);
  state.counters["vs_naive_zipf_1thread"] = generator / naive;
}
BENCHMARK(BM_generate_interactions)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_generate_baskets(benchmark::State& state) {
  const auto cfg = bench_config(static_cast<int>(state.range(0)));
  std::size_t items = 0;
  for (auto _ : state) {
    auto baskets = recsys::generate_baskets(cfg);
    items = baskets.items.size();
    benchmark::DoNotOptimize(baskets.items.data());
  }
  state.SetItemsProcessed(state.iterations() * cfg.num_baskets);
  state.counters["basket_items"] = static_cast<double>(items);
}
BENCHMARK(BM_generate_baskets)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_ground_truth(benchmark::State& state) {
  const auto cfg = bench_config(1);
  for (auto _ : state) {
    auto truth = recsys::synthetic_ground_truth(cfg);
    benchmark::DoNotOptimize(truth.transitions.data());
  }
}
BENCHMARK(BM_ground_truth)->Unit(benchmark::kMillisecond)->UseRealTime();
