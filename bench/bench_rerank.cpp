// SPDX-License-Identifier: Apache-2.0
// Filters and re-ranking, measured against the unfiltered kernel in the same run.
//
// Data: 100k items with Items metadata (PRICE uniform in [0, 1000), CATEGORY one of 50 values),
// 2048 users with 100 seen items each (events "view" / "purchase" in an interaction log), a
// factor model with f = 64 (random factors: speed does not depend on what they learned).
//
// BM_filtered_topk/<threads>: the batch of 2048 users' top-10 (exclude_seen), each iteration
//   interleaving factor_model::recommend_batch without a filter and recommend_filtered_batch with
//   `EXCLUDE ItemID WHERE Items.PRICE > 700` (30% of the items; mask evaluation and the
//   exclude list included in the filtered time). Counter filtered_over_plain = time ratio
//   (target <= 1.3); *_cpu divides process CPU time instead (steadier on a shared machine).
// BM_filtered_one/<filter>: one user's top-10, filtered over unfiltered (same interleaving):
//   0 = the static 30% exclusion, 1 = a purchase exclusion from the user's history
//   (Interactions), 2 = INCLUDE Items.CATEGORY IN ($CATEGORY) (2% of the items).
// BM_filter_bind/<filter>: binding time (item_filter construction) of the filters below.
// BM_filter_mask/<filter>: item_filter::allowed() per request.
//   0 static exclusion, 1 Interactions (200 most recent events), 2 $CATEGORY IN,
//   3 PRICE < $MAX, 4 static exclusion IF CurrentUser.AGE > 30.
// BM_rerank/<stage>: one user's top-10 through a re-ranking stage over the plain top-10 (same
//   interleaving; counter over_plain): 0 = MMR (lambda 0.7, cosine of the factors) over the
//   top-200, 1 = a 20% promotion (INCLUDE Items.CATEGORY IN ("c7")) with the static exclusion,
//   2 = exploration (weight 0.3), 3 = a pipeline: top-200 source re-scored, static exclusion,
//   20% promotion, MMR.
// BM_rank_candidates/<n>: re-ranking a caller's list of n candidates (Personalized-Ranking).
#include <recsys/data/metadata.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/pipeline.hpp>
#include <recsys/ranking/rerank.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <ctime>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using recsys::index_t;
using recsys::score_t;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

recsys::row_matrix<float> normal_matrix(Eigen::Index r, Eigen::Index c, std::uint64_t seed) {
  recsys::row_matrix<float> m(r, c);
  recsys::rng g(seed);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(g.normal() * 0.3);
  return m;
}

struct fixed_model : recsys::factor_model<float> {
  fixed_model(recsys::row_matrix<float> u, recsys::row_matrix<float> v, const recsys::csr_matrix& seen) {
    set_model(std::move(u), std::move(v), {}, seen);
  }
};

struct world {
  index_t items = recsys::bench::size<index_t>(100000, 3000);
  index_t users = recsys::bench::size<index_t>(2048, 64);
  recsys::interaction_log log;
  recsys::metadata_table item_meta;
  recsys::metadata_table user_meta;
  recsys::csr_matrix seen;
  std::unique_ptr<fixed_model> model;

  world() {
    recsys::rng g(11);
    for (index_t i = 0; i < items; ++i) log.item_ids.insert("i" + std::to_string(i));
    for (index_t u = 0; u < users; ++u) log.user_ids.insert("u" + std::to_string(u));
    log.event_type_names.insert("view");
    log.event_type_names.insert("purchase");
    for (index_t u = 0; u < users; ++u)
      for (int j = 0; j < 100; ++j)
        log.add_indexed(u, static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(items))), 1000 + j,
                        g.uniform_index(5) == 0 ? 1 : 0);
    log.has_event_type = true;
    std::ostringstream csv;
    csv << "ITEM_ID,PRICE,CATEGORY,CREATION_TIMESTAMP\n";
    for (index_t i = 0; i < items; ++i)
      csv << 'i' << i << ',' << g.uniform_index(1000) << ",c" << g.uniform_index(50) << ','
          << (i % 50 == 0 ? 31 * 86400 : 1) << '\n';  // 2% of the items are new (see BM_rerank)
    item_meta = recsys::parse_items_csv(csv.str(), "items.csv");
    std::ostringstream ucsv;
    ucsv << "USER_ID,AGE\n";
    for (index_t u = 0; u < users; ++u) ucsv << 'u' << u << ',' << 16 + g.uniform_index(50) << '\n';
    user_meta = recsys::parse_users_csv(ucsv.str(), "users.csv");
    std::vector<Eigen::Triplet<float, index_t>> t;
    for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], 1.0f);
    seen.resize(users, items);
    seen.setFromTriplets(t.begin(), t.end(), [](float a, float) { return a; });
    seen.makeCompressed();
    model = std::make_unique<fixed_model>(normal_matrix(users, 64, 12), normal_matrix(items, 64, 13), seen);
  }
  [[nodiscard]] recsys::filter_data data() const { return {&log, &item_meta, &user_meta}; }
};

const world& data() {
  static const world w;
  return w;
}

const char* const filter_texts[] = {
    "EXCLUDE ItemID WHERE Items.PRICE > 700",
    R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))",
    "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)",
    "EXCLUDE ItemID WHERE Items.PRICE < $MAX",
    "EXCLUDE ItemID WHERE Items.PRICE > 700 IF CurrentUser.AGE > 30",
};

recsys::filter_params params_for(int which) {
  recsys::filter_params p;
  if (which == 2) p.add("CATEGORY", "c7");
  if (which == 3) p.add("MAX", "300");
  return p;
}

void BM_filtered_topk(benchmark::State& state) {
  const world& w = data();
  const int threads = static_cast<int>(state.range(0));
  const recsys::item_filter filter(filter_texts[0], w.data());
  std::vector<index_t> users(static_cast<std::size_t>(w.users));
  std::iota(users.begin(), users.end(), 0);
  double t_plain = 0, t_filtered = 0, c_plain = 0, c_filtered = 0;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    double c0 = cpu_seconds();
    auto plain = w.model->recommend_batch(users, 10, {}, threads);
    t_plain += seconds_since(t0);
    c_plain += cpu_seconds() - c0;
    benchmark::DoNotOptimize(plain.data());
    t0 = clock_type::now();
    c0 = cpu_seconds();
    auto filtered = recsys::recommend_filtered_batch(*w.model, users, 10, filter, {}, {}, threads);
    const double a = seconds_since(t0);
    t_filtered += a;
    c_filtered += cpu_seconds() - c0;
    benchmark::DoNotOptimize(filtered.data());
    state.SetIterationTime(a);
  }
  const double n = static_cast<double>(w.users) * static_cast<double>(state.iterations());
  state.counters["filtered_users/s"] = n / t_filtered;
  state.counters["plain_users/s"] = n / t_plain;
  state.counters["filtered_over_plain"] = t_filtered / t_plain;
  state.counters["filtered_over_plain_cpu"] = c_filtered / c_plain;
  state.counters["allowed_fraction"] =
      static_cast<double>(filter.allowed(0).count()) / static_cast<double>(filter.num_items());
}
BENCHMARK(BM_filtered_topk)->ArgName("threads")->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_filtered_one(benchmark::State& state) {
  const world& w = data();
  const int which = static_cast<int>(state.range(0));
  const recsys::item_filter filter(filter_texts[which], w.data());
  const recsys::filter_params params = params_for(which);
  double t_plain = 0, t_filtered = 0;
  index_t user = 0;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    auto plain = w.model->recommend(user, 10);
    t_plain += seconds_since(t0);
    benchmark::DoNotOptimize(plain.ids.data());
    t0 = clock_type::now();
    auto filtered = recsys::recommend_filtered(*w.model, user, 10, filter, params);
    const double a = seconds_since(t0);
    t_filtered += a;
    benchmark::DoNotOptimize(filtered.ids.data());
    state.SetIterationTime(a);
    user = (user + 1) % w.users;
  }
  state.counters["filtered_over_plain"] = t_filtered / t_plain;
  state.counters["plain_us"] = 1e6 * t_plain / static_cast<double>(state.iterations());
  state.counters["allowed_fraction"] =
      static_cast<double>(filter.allowed(0, params).count()) / static_cast<double>(filter.num_items());
}
BENCHMARK(BM_filtered_one)->ArgName("filter")->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_filter_bind(benchmark::State& state) {
  const world& w = data();
  const int which = static_cast<int>(state.range(0));
  const auto expr = recsys::filter_expression::parse(filter_texts[which]);
  for (auto _ : state) {
    recsys::item_filter f(expr, w.data());
    benchmark::DoNotOptimize(&f);
  }
  state.SetLabel(filter_texts[which]);
}
BENCHMARK(BM_filter_bind)->ArgName("filter")->DenseRange(0, 4)->Unit(benchmark::kMillisecond);

void BM_filter_mask(benchmark::State& state) {
  const world& w = data();
  const int which = static_cast<int>(state.range(0));
  const recsys::item_filter filter(filter_texts[which], w.data());
  const recsys::filter_params params = params_for(which);
  index_t user = 0;
  for (auto _ : state) {
    recsys::item_mask m = filter.allowed(user, params);
    benchmark::DoNotOptimize(m.words().data());
    user = (user + 1) % w.users;
  }
  state.SetLabel(filter_texts[which]);
  state.counters["requests/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_filter_mask)->ArgName("filter")->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

void BM_rerank(benchmark::State& state) {
  const world& w = data();
  const int stage = static_cast<int>(state.range(0));
  const recsys::item_filter filter(filter_texts[0], w.data());
  const recsys::item_filter promo_filter(R"(INCLUDE ItemID WHERE Items.CATEGORY IN ("c7"))", w.data());
  recsys::promotion promo;
  promo.percent = 20;
  recsys::exploration_config ec;
  ec.weight = 0.3;
  ec.max_interactions = -1;
  ec.now = 31 * 86400 + 1000;  // items created at 1 are 31 days old, those created at 31 days are new
  const recsys::new_item_explorer explorer(w.log, &w.item_meta, ec);
  const recsys::factor_similarity<float> sim(*w.model);
  recsys::pipeline p(*w.model);
  p.add_source(recsys::top_n_source("top", *w.model, 200)).set_filter(filter).set_promotion(promo_filter, promo);
  p.set_diversity(sim, 0.7);
  double t_plain = 0, t_stage = 0;
  index_t user = 0;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    auto plain = w.model->recommend(user, 10);
    t_plain += seconds_since(t0);
    benchmark::DoNotOptimize(plain.ids.data());
    t0 = clock_type::now();
    recsys::reranked_list out;
    switch (stage) {
      case 0: out.ids = recsys::diversify_mmr(w.model->recommend(user, 200), 10, 0.7, sim).ids; break;
      case 1: out = recsys::recommend_with_promotion(*w.model, user, 10, filter.allowed(user), promo_filter.allowed(user), promo); break;
      case 2: out = recsys::recommend_with_exploration(*w.model, user, 10, explorer, recsys::item_mask(w.items)); break;
      default: out = p.run({.user = user, .k = 10}); break;
    }
    const double a = seconds_since(t0);
    t_stage += a;
    benchmark::DoNotOptimize(out.ids.data());
    state.SetIterationTime(a);
    user = (user + 1) % w.users;
  }
  state.counters["over_plain"] = t_stage / t_plain;
  state.counters["plain_us"] = 1e6 * t_plain / static_cast<double>(state.iterations());
}
BENCHMARK(BM_rerank)->ArgName("stage")->DenseRange(0, 3)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_rank_candidates(benchmark::State& state) {
  const world& w = data();
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<index_t> cands(n);
  recsys::rng g(5);
  for (auto& c : cands) c = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(w.items)));
  index_t user = 0;
  for (auto _ : state) {
    auto r = recsys::rank_candidates(*w.model, user, cands);
    benchmark::DoNotOptimize(r.ids.data());
    user = (user + 1) % w.users;
  }
  state.counters["candidates/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * static_cast<std::int64_t>(n)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_rank_candidates)->ArgName("n")->Arg(25)->Arg(500)->Unit(benchmark::kMicrosecond);

}  // namespace
