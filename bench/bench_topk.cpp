// SPDX-License-Identifier: Apache-2.0
// The top-K kernel against plain GEMMs of the same shape, measured in the same run.
//
// BM_topk_vs_gemm/<filtered>/<threads>: f = 64, 100k items, k = 10, 2048 users. Each iteration
// runs, interleaved so that machine noise hits all three alike:
//   - the kernel (topk_inner_product; "filtered" adds per-user seen lists of 100 items, a
//     global exclude list of 100 items and an item bias),
//   - gemm_full: Eigen's `S = U * V^T` writing the whole 2048 x 100k score matrix (Eigen's own
//     OpenMP threads, set to the same count),
//   - gemm_blocked: the same multiply in the kernel's cache-sized blocks with the kernel's
//     GEMM, without selection (the multiply-only cost of the kernel).
// Counters: users/s of each and the kernel's fraction of each (target >= 0.8), from wall time;
// the *_cpu fractions divide process CPU time instead (steadier on a shared machine, where
// wall time also counts the time other processes hold the cores).
//
// BM_recommend_all_20k/<threads>: factor_model::recommend_all, top-10 of 20k items at f = 64
// for 50k users with 40 seen items each excluded (implicit's recommend-all figure: 12-14.5k
// users/s on this machine class). users/cpu_s divides by the CPU time of all threads.
//
// BM_recommend_one/<items>: one user's top-10 (factor_model::recommend), latency.
//
// BM_topk_blocks/<query_block>/<item_block>/<items>: the kernel alone at 1 thread for a grid
// of block sizes (users per CPU-second), 2048 users, k = 10.
#include <recsys/detail/gemm.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/topk.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <numeric>
#include <vector>

#include "bench_support.hpp"

namespace {

using recsys::index_t;
using recsys::score_t;
using clock_type = std::chrono::steady_clock;

recsys::row_matrix<float> normal_matrix(Eigen::Index r, Eigen::Index c, std::uint64_t seed) {
  recsys::row_matrix<float> m(r, c);
  recsys::rng g(seed);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(g.normal() * 0.3);
  return m;
}

// `per_user` distinct random items per user, as a compressed CSR matrix.
recsys::csr_matrix random_history(Eigen::Index users, index_t items, int per_user, std::uint64_t seed) {
  recsys::rng g(seed);
  std::vector<Eigen::Triplet<float, index_t>> t;
  t.reserve(static_cast<std::size_t>(users) * static_cast<std::size_t>(per_user));
  for (Eigen::Index u = 0; u < users; ++u)
    for (int j = 0; j < per_user; ++j)
      t.emplace_back(static_cast<index_t>(u), static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(items))),
                     1.0f);
  recsys::csr_matrix m(users, items);
  m.setFromTriplets(t.begin(), t.end(), [](float a, float) { return a; });
  m.makeCompressed();
  return m;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU time of the whole process (all threads).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct topk_data {
  Eigen::Index users = recsys::bench::size<Eigen::Index>(2048, 64);
  index_t items = recsys::bench::size<index_t>(100000, 2000);
  Eigen::Index factors = 64;
  recsys::row_matrix<float> u = normal_matrix(users, factors, 1);
  recsys::row_matrix<float> v = normal_matrix(items, factors, 2);
  std::vector<float> bias = [this] {
    std::vector<float> b(static_cast<std::size_t>(items));
    recsys::rng g(3);
    for (auto& x : b) x = static_cast<float>(g.normal() * 0.1);
    return b;
  }();
  recsys::csr_matrix seen = random_history(users, items, 100, 4);
  std::vector<index_t> exclude = [this] {
    std::vector<index_t> e(100);
    for (std::size_t j = 0; j < e.size(); ++j) e[j] = static_cast<index_t>(j * 997 % static_cast<std::size_t>(items));
    return e;
  }();
};

const topk_data& data() {
  static const topk_data d;
  return d;
}

// The multiply alone, in the kernel's blocks, with the kernel's GEMM and threads.
void blocked_gemm(const recsys::row_matrix<float>& u, const recsys::row_matrix<float>& v, int threads) {
  const index_t qb = recsys::topk_options::default_query_block;
  const index_t ib = recsys::topk_options::default_item_block;
  const Eigen::Index f = u.cols();
  const Eigen::Index n = u.rows();
  const Eigen::Index m = v.rows();
  recsys::parallel_options po;
  po.num_threads = threads;
  std::vector<std::unique_ptr<recsys::detail::gemm_abt<float>>> gemm(static_cast<std::size_t>(recsys::max_threads(po)));
  std::vector<std::vector<float>> block(gemm.size());
  recsys::parallel_for(0, (n + qb - 1) / qb, po, [&](std::int64_t b, int tid) {
    auto& g = gemm[static_cast<std::size_t>(tid)];
    auto& s = block[static_cast<std::size_t>(tid)];
    if (!g) {
      g = std::make_unique<recsys::detail::gemm_abt<float>>(qb, ib, f);
      s.resize(static_cast<std::size_t>(qb) * static_cast<std::size_t>(ib));
    }
    const Eigen::Index q0 = b * qb;
    const Eigen::Index nq = std::min<Eigen::Index>(qb, n - q0);
    for (Eigen::Index j0 = 0; j0 < m; j0 += ib) {
      const Eigen::Index nj = std::min<Eigen::Index>(ib, m - j0);
      for (Eigen::Index q = 0; q < nq; ++q) std::fill_n(s.data() + q * ib, nj, 0.0f);
      g->run(nq, nj, u.data() + q0 * f, f, v.data() + j0 * f, f, s.data(), ib);
      benchmark::DoNotOptimize(s.data());
    }
  });
  benchmark::ClobberMemory();
}

void BM_topk_vs_gemm(benchmark::State& state) {
  const bool filtered = state.range(0) != 0;
  const int threads = static_cast<int>(state.range(1));
  const topk_data& d = data();
  const index_t k = 10;
  std::vector<index_t> ids(static_cast<std::size_t>(d.users) * k);
  std::vector<score_t> scores(ids.size());
  recsys::row_matrix<float> full = recsys::row_matrix<float>::Zero(d.users, d.items);  // touched once, outside timing
  recsys::topk_filter filter;
  if (filtered) {
    filter.exclude_lists = recsys::item_lists(d.seen);
    filter.exclude = d.exclude;
  }
  const std::span<const float> bias = filtered ? std::span<const float>(d.bias) : std::span<const float>{};
  recsys::topk_options opts;
  opts.num_threads = threads;
  const int eigen_threads = Eigen::nbThreads();
  Eigen::setNbThreads(threads);
  double t_topk = 0, t_full = 0, t_blocked = 0, c_topk = 0, c_full = 0, c_blocked = 0;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    double c0 = cpu_seconds();
    recsys::topk_inner_product(d.u, d.v, bias, k, ids.data(), scores.data(), filter, opts);
    const double a = seconds_since(t0);
    c_topk += cpu_seconds() - c0;
    benchmark::DoNotOptimize(ids.data());
    t0 = clock_type::now();
    c0 = cpu_seconds();
    full.noalias() = d.u * d.v.transpose();
    benchmark::DoNotOptimize(full.data());
    t_full += seconds_since(t0);
    c_full += cpu_seconds() - c0;
    t0 = clock_type::now();
    c0 = cpu_seconds();
    blocked_gemm(d.u, d.v, threads);
    t_blocked += seconds_since(t0);
    c_blocked += cpu_seconds() - c0;
    t_topk += a;
    state.SetIterationTime(a);
  }
  Eigen::setNbThreads(eigen_threads);
  const auto users = static_cast<double>(d.users) * static_cast<double>(state.iterations());
  state.counters["topk_users/s"] = users / t_topk;
  state.counters["gemm_full_users/s"] = users / t_full;
  state.counters["gemm_blocked_users/s"] = users / t_blocked;
  state.counters["fraction_of_gemm_full"] = t_full / t_topk;
  state.counters["fraction_of_gemm_blocked"] = t_blocked / t_topk;
  state.counters["fraction_of_gemm_full_cpu"] = c_full / c_topk;
  state.counters["fraction_of_gemm_blocked_cpu"] = c_blocked / c_topk;
  state.counters["topk_users/cpu_s"] = users / c_topk;  // per second of CPU time, all threads
  state.counters["topk_GFLOP/s"] =
      users * 2.0 * static_cast<double>(d.items) * static_cast<double>(d.factors) / t_topk / 1e9;
  state.SetLabel(filtered ? "seen+exclude+bias" : "plain");
}
BENCHMARK(BM_topk_vs_gemm)
    ->ArgNames({"filtered", "threads"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 2})
    ->Args({1, 2})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Block-size sweep (1 thread, CPU time): where the defaults of topk_options come from.
void BM_topk_blocks(benchmark::State& state) {
  const topk_data& d = data();
  const auto items = std::min<Eigen::Index>(state.range(2), d.items);
  const index_t k = 10;
  std::vector<index_t> ids(static_cast<std::size_t>(d.users) * k);
  std::vector<score_t> scores(ids.size());
  recsys::topk_options opts;
  opts.num_threads = 1;
  opts.query_block = static_cast<index_t>(state.range(0));
  opts.item_block = static_cast<index_t>(state.range(1));
  double cpu = 0;
  for (auto _ : state) {
    const double c0 = cpu_seconds();
    recsys::topk_inner_product(d.u, d.v.topRows(items), {}, k, ids.data(), scores.data(), {}, opts);
    cpu += cpu_seconds() - c0;
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["users/cpu_s"] = static_cast<double>(d.users) * static_cast<double>(state.iterations()) / cpu;
}
BENCHMARK(BM_topk_blocks)
    ->ArgNames({"query_block", "item_block", "items"})
    ->ArgsProduct({{32, 64, 128, 256, 512, 1024},
                   {256, 512, 1024, 4096},
                   {recsys::bench::size<std::int64_t>(20000, 1000), recsys::bench::size<std::int64_t>(100000, 2000)}})
    ->Unit(benchmark::kMillisecond);

struct fixed_model : recsys::factor_model<float> {
  fixed_model(recsys::row_matrix<float> u, recsys::row_matrix<float> v, const recsys::csr_matrix& seen) {
    set_model(std::move(u), std::move(v), {}, seen);
  }
};

const fixed_model& model_20k() {
  static const fixed_model m = [] {
    const Eigen::Index users = recsys::bench::size<Eigen::Index>(50000, 500);
    const index_t items = recsys::bench::size<index_t>(20000, 2000);
    return fixed_model(normal_matrix(users, 64, 5), normal_matrix(items, 64, 6), random_history(users, items, 40, 7));
  }();
  return m;
}

void BM_recommend_all_20k(benchmark::State& state) {
  const fixed_model& m = model_20k();
  const int threads = static_cast<int>(state.range(0));
  const index_t k = 10;
  std::vector<index_t> ids(static_cast<std::size_t>(m.num_users()) * k);
  std::vector<score_t> scores(ids.size());
  double cpu = 0;
  for (auto _ : state) {
    const double c0 = cpu_seconds();
    m.recommend_all(k, ids.data(), scores.data(), {}, threads);
    cpu += cpu_seconds() - c0;
    benchmark::DoNotOptimize(ids.data());
  }
  const double users = static_cast<double>(m.num_users()) * static_cast<double>(state.iterations());
  state.counters["users/s"] = benchmark::Counter(users, benchmark::Counter::kIsRate);
  // Per second of CPU time summed over threads: threads x this is the rate on dedicated cores.
  state.counters["users/cpu_s"] = users / cpu;
}
BENCHMARK(BM_recommend_all_20k)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_recommend_one(benchmark::State& state) {
  const auto items = static_cast<index_t>(state.range(0));
  const fixed_model m(normal_matrix(16, 64, 8), normal_matrix(items, 64, 9), random_history(16, items, 40, 10));
  index_t user = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.recommend(user, 10));
    user = (user + 1) % 16;
  }
  state.counters["users/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_recommend_one)
    ->ArgName("items")
    ->Arg(recsys::bench::size<int>(20000, 1000))
    ->Arg(recsys::bench::size<int>(100000, 2000))
    ->Unit(benchmark::kMicrosecond);

}  // namespace
