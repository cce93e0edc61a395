// SPDX-License-Identifier: Apache-2.0
// Interaction-matrix build time for 10 million events (Zipf-like items), per weighting scheme,
// against a naive build with Eigen's setFromTriplets measured in the same run.
//
//   ./build/bench/bench_matrix --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Counters: items_per_second (= events/s, wall clock), and on our builds `vs_eigen` = the
// Eigen build's wall time / this build's wall time and `vs_eigen_cpu` = the same with process
// CPU time (steadier on a shared machine; for multi-threaded runs it compares CPU spent, not
// speed), both measured in this process, best of 3 for Eigen (> 1: we are faster).
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/random.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

constexpr double day = 86400.0;

struct timing {
  double wall = 0.0, cpu = 0.0;
};

/// 10M events: users uniform over 200k, items Zipf(0.9) over 100k, a year of timestamps,
/// weights 1..4 (event types).
const recsys::interaction_log& make_log() {
  static const recsys::interaction_log log = [] {
    const auto events = recsys::bench::size<std::size_t>(10'000'000, 20'000);
    const auto users = recsys::bench::size<std::uint32_t>(200'000, 2'000);
    const auto items = recsys::bench::size<std::uint32_t>(100'000, 1'000);
    recsys::interaction_log l;
    l.user_ids.reserve(users);
    l.item_ids.reserve(items);
    for (std::uint32_t u = 0; u < users; ++u) l.user_ids.insert(std::to_string(u));
    for (std::uint32_t i = 0; i < items; ++i) l.item_ids.insert(std::to_string(i));
    std::vector<double> zipf(items);
    for (std::uint32_t i = 0; i < items; ++i) zipf[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.9);
    const recsys::alias_table item_dist(zipf);
    recsys::rng r(7, recsys::stream_tag("bench.matrix"), 0);
    l.reserve(events);
    const float nan = std::nanf("");
    for (std::size_t e = 0; e < events; ++e) {
      const auto u = static_cast<recsys::index_t>(r.uniform_index(users));
      const auto i = static_cast<recsys::index_t>(item_dist(r));
      const auto t = static_cast<recsys::timestamp_t>(1'600'000'000 + r.uniform_index(365 * 86400));
      l.add_indexed(u, i, t, recsys::invalid_index, nan, recsys::invalid_index,
                    static_cast<float>(1 + r.uniform_index(4)));
    }
    return l;
  }();
  return log;
}

/// The naive build from a log: one triplet per event, Eigen sums duplicates.
recsys::csr_matrix eigen_build(const recsys::interaction_log& log) {
  std::vector<Eigen::Triplet<float, recsys::index_t>> t;
  t.reserve(log.size());
  for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], log.weights[r]);
  recsys::csr_matrix m(log.num_users(), log.num_items());
  m.setFromTriplets(t.begin(), t.end());
  return m;
}

double cpu_now() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

timing eigen_timing() {
  static const timing best = [] {
    timing b{1e300, 1e300};
    for (int k = 0; k < 3; ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_now();
      auto m = eigen_build(make_log());
      benchmark::DoNotOptimize(m.valuePtr());
      b.cpu = std::min(b.cpu, cpu_now() - c0);
      b.wall = std::min(b.wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return b;
  }();
  return best;
}

void BM_eigen_set_from_triplets(benchmark::State& state) {
  const auto& log = make_log();
  for (auto _ : state) {
    auto m = eigen_build(log);
    benchmark::DoNotOptimize(m.valuePtr());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * log.size()));
}

void BM_build_matrix(benchmark::State& state) {
  const auto& log = make_log();
  recsys::matrix_options o;
  o.scheme = static_cast<recsys::weighting>(state.range(0));
  o.num_threads = static_cast<int>(state.range(1));
  if (state.range(2)) o.half_life_seconds = 30 * day;
  const timing eigen = eigen_timing();
  timing total;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    auto m = recsys::build_matrix(log, o);
    benchmark::DoNotOptimize(m.valuePtr());
    total.cpu += cpu_now() - c0;
    total.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const auto iters = static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * log.size()));
  state.counters["vs_eigen"] = eigen.wall / (total.wall / iters);
  state.counters["vs_eigen_cpu"] = eigen.cpu / (total.cpu / iters);
  state.SetLabel(std::string(recsys::detail::scheme_name(o.scheme)) + (state.range(2) ? "+decay" : "") +
                 " threads=" + std::to_string(state.range(1)));
}

void build_args(benchmark::internal::Benchmark* b) {
  for (int scheme = 0; scheme <= static_cast<int>(recsys::weighting::tfidf); ++scheme) b->Args({scheme, 1, 0});
  b->Args({static_cast<int>(recsys::weighting::raw), 1, 1});  // raw + 30-day half-life decay
  b->Args({static_cast<int>(recsys::weighting::raw), 2, 0});  // two threads
  b->Args({static_cast<int>(recsys::weighting::bm25), 2, 1});
}

}  // namespace

BENCHMARK(BM_eigen_set_from_triplets)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_build_matrix)->Apply(build_args)->Unit(benchmark::kMillisecond)->UseRealTime();
