// SPDX-License-Identifier: Apache-2.0
// The model lifecycle (issue 10):
//   - AutoML over every recipe on MovieLens-100K (RECSYS_DATA_DIR; a synthetic set of the same
//     shape otherwise) on 2 threads: target 30 s wall (Personalize: ~50 min to train one recipe
//     on data of this size). Counters: wall seconds, trials, winner's validation / test NDCG@10.
//   - Batch inference for 100k users, top-25 to JSON Lines, as a batch job: users / s for a
//     factor model (BPR, the block top-K kernel) and item-KNN (one recommend() per user), and the
//     ratio of the batch job to a plain per-user recommend() loop without output in the same run.
//   - Save and load of the 100k-user BPR model (MB / s).
// RECSYS_BENCH_SMOKE=1 shrinks every input.
#include <recsys/data/csv.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/eval/automl.hpp>
#include <recsys/io/batch.hpp>
#include <recsys/recipes.hpp>

#include <benchmark/benchmark.h>

#include "bench_support.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace fs = std::filesystem;

namespace {

recsys::interaction_log movielens_or_synthetic() {
  if (!recsys::bench::smoke()) {
#ifdef RECSYS_DATA_DIR
    const fs::path f = fs::path(RECSYS_DATA_DIR) / "movielens-100k" / "u.data";
    if (fs::exists(f)) return recsys::read_delimited(f, recsys::raw_format::movielens());
#endif
  }
  recsys::synthetic_config c;  // MovieLens-100K's shape
  c.num_users = recsys::bench::size<recsys::index_t>(943, 200);
  c.num_items = recsys::bench::size<recsys::index_t>(1682, 300);
  c.num_interactions = recsys::bench::size<std::int64_t>(100000, 6000);
  c.time_span_days = 210;
  return recsys::generate_interactions(c);
}

void BM_automl_all_recipes(benchmark::State& state) {
  const recsys::interaction_log log = movielens_or_synthetic();
  recsys::automl_options o;  // defaults: every recipe, tune the best 2 with 6 trials each, refit
  o.num_threads = 2;
  double seconds = 0, validation = 0, test = 0;
  std::size_t trials = 0;
  std::string winner;
  for (auto _ : state) {
    const auto r = recsys::automl(log, o);
    seconds = r.seconds;
    trials = r.leaderboard.size();
    validation = r.leaderboard.front().validation;
    test = r.leaderboard.front().test.value("ndcg@10");
    winner = r.leaderboard.front().recipe;
    benchmark::DoNotOptimize(r.winner.get());
  }
  state.counters["wall_s"] = seconds;
  state.counters["trials"] = static_cast<double>(trials);
  state.counters["within_30s"] = seconds <= 30.0 ? 1 : 0;
  state.counters["winner_val_ndcg10"] = validation;
  state.counters["winner_test_ndcg10"] = test;
  state.counters["events"] = static_cast<double>(log.size());
  state.SetLabel("winner " + winner);
}
BENCHMARK(BM_automl_all_recipes)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// 100k users x 10k items x 2M events, fitted once per recipe.
const recsys::interaction_log& batch_log() {
  static const recsys::interaction_log log = [] {
    recsys::synthetic_config c;
    c.num_users = recsys::bench::size<recsys::index_t>(100000, 2000);
    c.num_items = recsys::bench::size<recsys::index_t>(10000, 800);
    c.num_interactions = recsys::bench::size<std::int64_t>(2000000, 40000);
    c.num_clusters = 20;
    return recsys::generate_interactions(c);
  }();
  return log;
}

const recsys::model& fitted(const std::string& recipe) {
  static std::unique_ptr<recsys::model> bpr, knn;
  auto& slot = recipe == "bpr" ? bpr : knn;
  if (!slot) {
    slot = recipe == "bpr" ? recsys::make_model("bpr", {{"epochs", "5"}, {"factors", "64"}, {"num_threads", "2"}})
                           : recsys::make_model("item-knn", {{"num_threads", "2"}});
    slot->fit(batch_log());
  }
  return *slot;
}

void batch_job(benchmark::State& state, const std::string& recipe) {
  const recsys::model& m = fitted(recipe);
  const fs::path out = fs::temp_directory_path() / ("recsys-bench-batch-" + recipe + ".jsonl");
  recsys::batch_options o;
  o.k = 25;
  o.num_threads = 2;
  recsys::batch_report last;
  for (auto _ : state) last = recsys::batch_recommend(m, out, o);
  // the same users through a plain per-user recommend() loop (no output), same run
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t sink = 0;
  recsys::parallel_options po;
  po.num_threads = 2;
  std::vector<std::int64_t> per(static_cast<std::size_t>(m.num_users()), 0);
  recsys::parallel_for(0, m.num_users(), po, [&](std::int64_t u) {
    per[static_cast<std::size_t>(u)] = static_cast<std::int64_t>(m.recommend(static_cast<recsys::index_t>(u), 25).size());
  });
  for (auto x : per) sink += x;
  benchmark::DoNotOptimize(sink);
  const double loop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  state.counters["users_per_s"] = benchmark::Counter(static_cast<double>(last.inputs) * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
  state.counters["users"] = static_cast<double>(last.inputs);
  state.counters["MB_out"] = static_cast<double>(last.bytes) / 1e6;
  state.counters["loop_users_per_s"] = static_cast<double>(m.num_users()) / loop_s;
  state.counters["batch_over_loop"] = (static_cast<double>(last.inputs) / last.seconds) / (static_cast<double>(m.num_users()) / loop_s);
  fs::remove(out);
}
void BM_batch_recommend_bpr(benchmark::State& state) { batch_job(state, "bpr"); }
void BM_batch_recommend_item_knn(benchmark::State& state) { batch_job(state, "item-knn"); }
BENCHMARK(BM_batch_recommend_bpr)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_batch_recommend_item_knn)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_save_load_bpr(benchmark::State& state) {
  const recsys::model& m = fitted("bpr");
  const fs::path dir = fs::temp_directory_path() / "recsys-bench-model";
  std::uintmax_t bytes = 0;
  for (auto _ : state) {
    m.save(dir);
    auto loaded = recsys::load_model(dir);
    benchmark::DoNotOptimize(loaded.get());
    bytes = 0;
    for (const auto& e : fs::directory_iterator(dir)) bytes += e.file_size();
  }
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["save_load_MB_per_s"] =
      benchmark::Counter(static_cast<double>(bytes) / 1e6 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  fs::remove_all(dir);
}
BENCHMARK(BM_save_load_bpr)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
