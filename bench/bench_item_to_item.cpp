// SPDX-License-Identifier: Apache-2.0
// Item-to-item mining speed on the shared synthetic benchmark set (synthetic_config::benchmark():
// 50k users x 20k items x 2M events, = `recsys generate --preset benchmark`; 1M baskets), top-50
// neighbours unless said otherwise:
//   - fit time and pair visits / s per score and thread count;
//   - 1M baskets ("frequently bought together", LLR) and pair association rules;
//   - new vs old: each iteration fits with the library and with the pre-i2i-speed path kept in
//     baseline_item_to_item.hpp, process CPU of each measured separately (old_over_new is the
//     same-run ratio; same_result = 1 when both neighbour matrices are bitwise equal);
//   - the sparse row-by-row product against the naive dense reference (dense X, X^T X by Eigen's
//     GEMM, a heap per row) on a reduced set where the dense matrices fit, ratio in the same run;
//   - the log path against the matrix path (issue 16): fit(interaction_log), the item-knn
//     recipe's fit (what `recsys train` times) and fit(csr_matrix) of the matrix built from the
//     same log beforehand, alternating in every iteration, with K = 20 (implicit's default) and
//     min co-occurrence 1 (implicit has no minimum): the setting docs/item-to-item.md compares
//     with implicit's fits on this same set; log_over_matrix / recipe_over_matrix are the
//     same-run ratios.
// RECSYS_BENCH_SMOKE=1 shrinks every input.
#include <recsys/data/matrix.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/detail/recipe_model.hpp>  // the item-knn recipe's model type
#include <recsys/detail/select.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/recipes.hpp>

#include <benchmark/benchmark.h>

#include "baseline_item_to_item.hpp"
#include "bench_support.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

recsys::synthetic_config benchmark_set() {
  recsys::synthetic_config c = recsys::synthetic_config::benchmark();
  if (recsys::bench::smoke()) {
    c.num_users = 2000;
    c.num_items = 800;
    c.num_interactions = 40000;
    c.num_baskets = 20000;
    c.num_planted_pairs = 20;
  }
  return c;
}

// user x item counts of a log (an event adds 1), the input implicit's models take
recsys::csr_matrix counts_of(const recsys::interaction_log& log) {
  std::vector<Eigen::Triplet<float, recsys::index_t>> t;
  t.reserve(log.size());
  for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], 1.0f);
  recsys::csr_matrix m(log.num_users(), log.num_items());
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

const recsys::csr_matrix& user_items() {
  static const recsys::csr_matrix m = counts_of(recsys::generate_interactions(benchmark_set()));
  return m;
}

// The benchmark set as a log (what `recsys generate --preset benchmark` writes), and the
// matrix build_matrix makes of it (the log's weights summed per user and item).
const recsys::interaction_log& benchmark_log() {
  static const recsys::interaction_log log = recsys::generate_interactions(benchmark_set());
  return log;
}

const recsys::csr_matrix& benchmark_log_matrix() {
  static const recsys::csr_matrix m = recsys::build_matrix(benchmark_log());
  return m;
}

const recsys::basket_data& baskets() {
  static const recsys::basket_data b = recsys::generate_baskets(benchmark_set());
  return b;
}

// A smaller set for the dense reference: dense X is users x items floats, X^T X items x items.
const recsys::csr_matrix& reduced_user_items() {
  static const recsys::csr_matrix m = [] {
    recsys::synthetic_config c = benchmark_set();
    c.num_users = recsys::bench::size<recsys::index_t>(10000, 1000);
    c.num_items = recsys::bench::size<recsys::index_t>(2000, 400);
    c.num_interactions = recsys::bench::size<std::int64_t>(200000, 10000);
    return counts_of(recsys::generate_interactions(c));
  }();
  return m;
}

// CPU seconds of the whole process (every thread). On a shared machine wall time measures the
// other tenants as much as this code; process CPU per iteration is the steadier figure.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void report_cpu(benchmark::State& state, double cpu_seconds) {
  state.counters["process_cpu_ms"] = 1e3 * cpu_seconds / static_cast<double>(state.iterations());
}

void report(benchmark::State& state, const recsys::item_to_item& m) {
  const auto& s = m.stats();
  state.counters["pair_visits_per_s"] =
      benchmark::Counter(static_cast<double>(s.pair_visits), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["items_per_s"] =
      benchmark::Counter(static_cast<double>(m.num_items()), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pair_visits"] = static_cast<double>(s.pair_visits);
  state.counters["neighbour_entries"] = static_cast<double>(s.neighbour_entries);
}

// Args: similarity index, threads, min co-occurrence.
void BM_fit_user_items(benchmark::State& state) {
  const recsys::csr_matrix& x = user_items();
  recsys::item_to_item_config c;
  c.similarity = recsys::all_item_similarities[static_cast<std::size_t>(state.range(0))];
  c.num_threads = static_cast<int>(state.range(1));
  c.min_cooccurrence = state.range(2);
  c.neighbours = 50;
  recsys::item_to_item m(c);
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    m.fit(x);
    benchmark::DoNotOptimize(m.neighbours().nonZeros());
  }
  report_cpu(state, process_cpu_seconds() - cpu0);
  state.SetLabel(std::string(recsys::to_string(c.similarity)));
  state.counters["users"] = static_cast<double>(x.rows());
  state.counters["items"] = static_cast<double>(x.cols());
  state.counters["nnz"] = static_cast<double>(x.nonZeros());
  report(state, m);
}
constexpr int sim_index(recsys::item_similarity s) {
  for (std::size_t k = 0; k < recsys::all_item_similarities.size(); ++k)
    if (recsys::all_item_similarities[k] == s) return static_cast<int>(k);
  return -1;
}
BENCHMARK(BM_fit_user_items)
    ->ArgNames({"sim", "threads", "min_count"})
    ->Args({sim_index(recsys::item_similarity::cosine), 2, 1})
    ->Args({sim_index(recsys::item_similarity::bm25), 2, 1})
    ->Args({sim_index(recsys::item_similarity::tfidf), 2, 1})
    ->Args({sim_index(recsys::item_similarity::cosine), 1, 1})
    ->Args({sim_index(recsys::item_similarity::llr), 2, 3})
    ->Args({sim_index(recsys::item_similarity::sims), 2, 3})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_fit_baskets(benchmark::State& state) {
  const recsys::basket_data& b = baskets();
  recsys::item_to_item_config c;
  c.similarity = recsys::item_similarity::llr;
  c.num_threads = static_cast<int>(state.range(0));
  c.neighbours = 50;
  recsys::item_to_item m(c);
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    m.fit(b);
    benchmark::DoNotOptimize(m.neighbours().nonZeros());
  }
  report_cpu(state, process_cpu_seconds() - cpu0);
  state.counters["baskets"] = static_cast<double>(b.size());
  state.counters["baskets_per_s"] =
      benchmark::Counter(static_cast<double>(b.size()), benchmark::Counter::kIsIterationInvariantRate);
  report(state, m);
}
BENCHMARK(BM_fit_baskets)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Bitwise equality of two neighbour matrices (structure and float bits).
bool same_matrix(const recsys::csr_matrix& a, const recsys::csr_matrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  const auto n = static_cast<std::size_t>(a.nonZeros());
  return std::equal(a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1, b.outerIndexPtr()) &&
         std::equal(a.innerIndexPtr(), a.innerIndexPtr() + n, b.innerIndexPtr()) &&
         std::memcmp(a.valuePtr(), b.valuePtr(), n * sizeof(float)) == 0;
}

// New (library) and old (baseline_item_to_item.hpp) fits alternate in every iteration (two of
// each), so the ratio of their process CPU shares the machine's noise; *_cpu_ms are per fit.
// *_wall_ms (and old_over_new_wall) are the wall-clock figures of the same fits: with 2 threads
// they show what parallelising the serial parts bought, which process CPU does not (the same
// work on two cores costs the same CPU), but they also count every moment another tenant held
// a core.
template <class Input>
void new_vs_old(benchmark::State& state, const Input& input, const recsys::item_to_item_config& c) {
  recsys::item_to_item m(c);
  double new_s = 0, old_s = 0, new_wall = 0, old_wall = 0;
  bool same = true;
  recsys::csr_matrix old;
  auto wall_since = [](std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto fit_new = [&] {
    const auto w0 = std::chrono::steady_clock::now();
    const double t0 = process_cpu_seconds();
    m.fit(input);
    new_s += process_cpu_seconds() - t0;
    new_wall += wall_since(w0);
  };
  auto fit_old = [&] {
    const auto w0 = std::chrono::steady_clock::now();
    const double t0 = process_cpu_seconds();
    old = recsys::bench::baseline::old_fit(input, c);
    old_s += process_cpu_seconds() - t0;
    old_wall += wall_since(w0);
  };
  for (auto _ : state) {
    // new, old, old, new: whichever runs second finds the allocator warm, so both go first once
    fit_new();
    fit_old();
    fit_old();
    fit_new();
    same = same && same_matrix(m.neighbours(), old);
  }
  const double n = 2.0 * static_cast<double>(state.iterations());
  state.counters["new_cpu_ms"] = 1e3 * new_s / n;
  state.counters["old_cpu_ms"] = 1e3 * old_s / n;
  state.counters["old_over_new"] = old_s / new_s;
  state.counters["new_wall_ms"] = 1e3 * new_wall / n;
  state.counters["old_wall_ms"] = 1e3 * old_wall / n;
  state.counters["old_over_new_wall"] = old_wall / new_wall;
  state.counters["same_result"] = same ? 1.0 : 0.0;
  state.counters["pair_visits"] = static_cast<double>(m.stats().pair_visits);
  state.SetLabel(std::string(recsys::to_string(c.similarity)));
}

// Args: similarity index, threads, min co-occurrence.
void BM_new_vs_old_user_items(benchmark::State& state) {
  recsys::item_to_item_config c;
  c.similarity = recsys::all_item_similarities[static_cast<std::size_t>(state.range(0))];
  c.num_threads = static_cast<int>(state.range(1));
  c.min_cooccurrence = state.range(2);
  c.neighbours = 50;
  new_vs_old(state, user_items(), c);
}
BENCHMARK(BM_new_vs_old_user_items)
    ->ArgNames({"sim", "threads", "min_count"})
    ->Args({sim_index(recsys::item_similarity::cosine), 2, 1})
    ->Args({sim_index(recsys::item_similarity::bm25), 2, 1})
    ->Args({sim_index(recsys::item_similarity::cosine), 1, 1})
    ->Args({sim_index(recsys::item_similarity::bm25), 1, 1})
    ->Args({sim_index(recsys::item_similarity::tfidf), 2, 1})
    ->Args({sim_index(recsys::item_similarity::llr), 2, 3})
    ->Args({sim_index(recsys::item_similarity::sims), 2, 3})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_new_vs_old_baskets(benchmark::State& state) {
  recsys::item_to_item_config c;
  c.similarity = recsys::item_similarity::llr;
  c.num_threads = static_cast<int>(state.range(0));
  c.neighbours = 50;
  new_vs_old(state, baskets(), c);
}
BENCHMARK(BM_new_vs_old_baskets)->ArgName("threads")->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_association_rules_baskets(benchmark::State& state) {
  const recsys::basket_data& b = baskets();
  recsys::rule_options o;
  o.min_support = 1e-4;
  o.min_lift = 1.0;
  o.num_threads = 2;
  std::size_t n = 0;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    const auto rules = recsys::association_rules(b, o);
    n = rules.size();
    benchmark::DoNotOptimize(rules.data());
  }
  report_cpu(state, process_cpu_seconds() - cpu0);
  state.counters["rules"] = static_cast<double>(n);
  state.counters["baskets_per_s"] =
      benchmark::Counter(static_cast<double>(b.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_association_rules_baskets)->Unit(benchmark::kMillisecond)->UseRealTime();

// The log path against the matrix path on the same data, in the same iteration: fit(log),
// the item-knn recipe's fit(log) (what `recsys train` reports as its fit time: conversion,
// mining, the id maps and the training summary) and fit(matrix) of the matrix built from the
// log before the loop (the conversion a caller of fit(csr_matrix) did beforehand is not timed).
// The order is mirrored (matrix, log, recipe, recipe, log, matrix) so that no path always finds
// the allocator warm. *_wall_ms are wall clock per fit, *_cpu_ms process CPU per fit;
// log_over_matrix and recipe_over_matrix are ratios of wall clock, *_cpu of CPU;
// same_result = 1 when all three neighbour matrices are bitwise equal.
// Args: similarity index, threads.
void BM_log_vs_matrix(benchmark::State& state) {
  const recsys::interaction_log& log = benchmark_log();
  const recsys::csr_matrix& x = benchmark_log_matrix();
  recsys::item_to_item_config c;
  c.similarity = recsys::all_item_similarities[static_cast<std::size_t>(state.range(0))];
  c.num_threads = static_cast<int>(state.range(1));
  c.neighbours = 20;
  c.min_cooccurrence = 1;
  recsys::item_to_item from_matrix(c), from_log(c);
  const recsys::param_map params = {{"similarity", std::string(recsys::to_string(c.similarity))},
                                    {"neighbours", std::to_string(c.neighbours)},
                                    {"min_cooccurrence", std::to_string(c.min_cooccurrence)},
                                    {"num_threads", std::to_string(c.num_threads)}};
  const std::unique_ptr<recsys::model> recipe = recsys::make_model("item-knn", params);
  struct timing {
    double wall = 0, cpu = 0;
  };
  timing t_matrix, t_log, t_recipe;
  auto timed = [](timing& t, auto&& fit) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds();
    fit();
    t.cpu += process_cpu_seconds() - c0;
    t.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  };
  auto fit_matrix = [&] { timed(t_matrix, [&] { from_matrix.fit(x); }); };
  auto fit_log = [&] { timed(t_log, [&] { from_log.fit(log); }); };
  auto fit_recipe = [&] { timed(t_recipe, [&] { recipe->fit(log, {}); }); };
  bool same = true;
  for (auto _ : state) {
    fit_matrix();
    fit_log();
    fit_recipe();
    fit_recipe();
    fit_log();
    fit_matrix();
    const auto* knn = dynamic_cast<const recsys::detail::recipe_model<recsys::item_to_item, recsys::item_to_item_config,
                                                                      recsys::detail::fit_on_log>*>(recipe.get());
    same = same && knn != nullptr && same_matrix(from_log.neighbours(), from_matrix.neighbours()) &&
           same_matrix(knn->get().neighbours(), from_matrix.neighbours());
  }
  const double n = 2.0 * static_cast<double>(state.iterations());
  state.counters["matrix_wall_ms"] = 1e3 * t_matrix.wall / n;
  state.counters["log_wall_ms"] = 1e3 * t_log.wall / n;
  state.counters["recipe_wall_ms"] = 1e3 * t_recipe.wall / n;
  state.counters["matrix_cpu_ms"] = 1e3 * t_matrix.cpu / n;
  state.counters["log_cpu_ms"] = 1e3 * t_log.cpu / n;
  state.counters["recipe_cpu_ms"] = 1e3 * t_recipe.cpu / n;
  state.counters["log_over_matrix"] = t_log.wall / t_matrix.wall;
  state.counters["recipe_over_matrix"] = t_recipe.wall / t_matrix.wall;
  state.counters["log_over_matrix_cpu"] = t_log.cpu / t_matrix.cpu;
  state.counters["recipe_over_matrix_cpu"] = t_recipe.cpu / t_matrix.cpu;
  state.counters["same_result"] = same ? 1.0 : 0.0;
  state.counters["events"] = static_cast<double>(log.size());
  state.counters["nnz"] = static_cast<double>(x.nonZeros());
  state.SetLabel(std::string(recsys::to_string(c.similarity)));
}
BENCHMARK(BM_log_vs_matrix)
    ->ArgNames({"sim", "threads"})
    ->Args({sim_index(recsys::item_similarity::cosine), 2})
    ->Args({sim_index(recsys::item_similarity::bm25), 2})
    ->Args({sim_index(recsys::item_similarity::cosine), 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The naive dense reference of the cosine top-K: dense X, C = X^T X by GEMM, scaled by the
// norms, a heap per row. Returns the entries kept (to defeat dead-code elimination).
std::int64_t dense_cosine_topk(const recsys::csr_matrix& x, recsys::index_t k) {
  const recsys::row_matrix<float> d = recsys::row_matrix<float>(x);
  const Eigen::MatrixXf c = d.transpose() * d;
  const Eigen::VectorXf norm = c.diagonal().cwiseSqrt();
  recsys::detail::topk_heap heap(k);
  std::vector<recsys::index_t> ids(static_cast<std::size_t>(k));
  std::vector<float> scores(static_cast<std::size_t>(k));
  std::int64_t kept = 0;
  for (Eigen::Index i = 0; i < c.cols(); ++i) {
    for (Eigen::Index j = 0; j < c.rows(); ++j) {
      const float v = c(j, i);
      if (j == i || v == 0.0f) continue;
      heap.push(v / (norm[i] * norm[j]), static_cast<recsys::index_t>(j));
    }
    kept += static_cast<std::int64_t>(heap.drain_to(ids.data(), scores.data()));
  }
  return kept;
}

// Both paths in the same iteration (one thread each), so the ratio shares the machine's noise.
void BM_sparse_vs_dense(benchmark::State& state) {
  const recsys::csr_matrix& x = reduced_user_items();
  recsys::item_to_item_config c;
  c.similarity = recsys::item_similarity::cosine;
  c.min_cooccurrence = 1;
  c.neighbours = 50;
  c.num_threads = 1;
  recsys::item_to_item m(c);
  double sparse_s = 0, dense_s = 0;
  std::int64_t kept = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    m.fit(x);
    const auto t1 = std::chrono::steady_clock::now();
    kept = dense_cosine_topk(x, c.neighbours);
    const auto t2 = std::chrono::steady_clock::now();
    sparse_s += std::chrono::duration<double>(t1 - t0).count();
    dense_s += std::chrono::duration<double>(t2 - t1).count();
    benchmark::DoNotOptimize(kept);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["sparse_ms"] = 1e3 * sparse_s / n;
  state.counters["dense_ms"] = 1e3 * dense_s / n;
  state.counters["dense_over_sparse"] = dense_s / sparse_s;
  state.counters["same_entries"] = kept == m.stats().neighbour_entries ? 1.0 : 0.0;
  state.counters["users"] = static_cast<double>(x.rows());
  state.counters["items"] = static_cast<double>(x.cols());
  state.counters["nnz"] = static_cast<double>(x.nonZeros());
}
BENCHMARK(BM_sparse_vs_dense)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
