// SPDX-License-Identifier: Apache-2.0
// Session GRU: training throughput (events/s over one epoch of GRU4Rec's RSC15 setup), the share
// of a training step spent in GEMMs (plain Eigen GEMMs of the step's shapes timed in the same
// run), and the real-time latency of one event (put_event + top-20) for 3k and 100k items.
//
//   build/bench/bench_session_gru --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Training uses the RSC15 sample (RECSYS_DATA_DIR/yoochoose-rsc15-sample/..._train_full.txt) when
// present, otherwise a synthetic log of the same size.
#include "bench_support.hpp"

#include <benchmark/benchmark.h>
#include <recsys/data/csv.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/detail/session_gru_trainer.hpp>  // the training step, timed directly
#include <recsys/models/session_gru.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

// The RSC15 sample's train_full as session_data (sessions by start time), or empty if absent.
recsys::session_data read_rsc15_train() {
#ifdef RECSYS_DATA_DIR
  const std::filesystem::path path =
      std::filesystem::path(RECSYS_DATA_DIR) / "yoochoose-rsc15-sample" / "yoochoose-clicks-100k_train_full.txt";
  if (std::filesystem::exists(path)) return recsys::build_sessions(recsys::read_delimited(path, recsys::raw_format::rsc15()));
#endif
  return {};
}

// Training data: the RSC15 sample, or synthetic sessions of about its size (smoke: tiny).
const recsys::session_data& train_data() {
  static const recsys::session_data data = [] {
    if (!recsys::bench::smoke()) {
      auto d = read_rsc15_train();
      if (!d.empty()) return d;
    }
    recsys::synthetic_config cfg;
    cfg.num_users = recsys::bench::size<recsys::index_t>(9000, 200);
    cfg.num_items = recsys::bench::size<recsys::index_t>(3000, 300);
    cfg.num_interactions = recsys::bench::size<std::int64_t>(70000, 2000);
    cfg.mean_session_length = 4.0;
    cfg.seed = 1;
    return recsys::build_sessions(recsys::generate_interactions(cfg));
  }();
  return data;
}

recsys::session_gru_config rsc15_config(int threads) {
  auto cfg = recsys::gru4rec_rsc15_config();
  cfg.n_epochs = 1;
  cfg.num_threads = threads;
  if (recsys::bench::smoke()) cfg.n_sample = 64;
  return cfg;
}

// One training epoch with GRU4Rec's RSC15 paramfile. events/s counts every event of the
// training file per epoch (GRU4Rec's "e/s" counts the predictions: see predictions/s).
void BM_train_epoch(benchmark::State& state) {
  const auto& data = train_data();
  const auto cfg = rsc15_config(static_cast<int>(state.range(0)));
  double parallel = 0, batches = 0, predictions = 0, cpu_seconds = 0;
  for (auto _ : state) {
    recsys::session_gru m(cfg);
    const std::clock_t c0 = std::clock();
    m.fit(data);
    cpu_seconds += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const auto& e = m.training_log().back();
    parallel += static_cast<double>(e.parallel_batches);
    batches += static_cast<double>(e.batches);
    predictions += static_cast<double>(e.predictions);
    benchmark::DoNotOptimize(m.network().output_weights.data());
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(data.num_events()) * state.iterations(),
                                                  benchmark::Counter::kIsRate);
  state.counters["predictions/s"] = benchmark::Counter(predictions, benchmark::Counter::kIsRate);
  state.counters["multi_thread_share"] = batches > 0 ? parallel / batches : 0.0;
  // Events per second of process CPU time (all threads): what a quiet machine would show per core.
  state.counters["events/cpu_s"] = static_cast<double>(data.num_events()) * static_cast<double>(state.iterations()) / cpu_seconds;
}
BENCHMARK(BM_train_epoch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// The share of a training step spent in GEMMs: a pass of training steps (one thread) against
// plain Eigen GEMMs with the same shapes (the output layer over the step's distinct candidates,
// the GRU's forward and backward), timed in the same run.
void BM_step_gemm_fraction(benchmark::State& state) {
  using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto& data = train_data();
  const auto cfg = rsc15_config(1);
  const Eigen::Index H = cfg.layers[0], B = cfg.batch_size;
  const std::int64_t steps = recsys::bench::size<std::int64_t>(400, 20);
  std::vector<double> support(static_cast<std::size_t>(data.num_items), 0.0);
  for (auto i : data.items) support[static_cast<std::size_t>(i)] += 1;
  std::vector<std::int64_t> off{0};
  std::vector<recsys::index_t> ses;
  for (std::size_t s = 0; s < data.size(); ++s)
    if (data.length(s) >= 2) {
      ses.push_back(static_cast<recsys::index_t>(s));
      off.push_back(static_cast<std::int64_t>(ses.size()));
    }
  double step_seconds = 0, gemm_seconds = 0;
  for (auto _ : state) {
    recsys::detail::eigen_serial_scope serial;
    auto net = recsys::detail::gru_network<float>::make(recsys::detail::gru_input::constrained, data.num_items, {H}, 0,
                                                        0, cfg.seed);
    recsys::detail::gru_train_options o;
    o.batch_size = cfg.batch_size;
    o.n_sample = cfg.n_sample;
    o.logq = cfg.logq;
    o.dropout_hidden = cfg.dropout_p_hidden;
    o.learning_rate = cfg.learning_rate;
    o.momentum = cfg.momentum;
    o.num_threads = 1;
    recsys::detail::gru_trainer<float> tr(net, o, support);
    recsys::detail::gru_negative_sampler sampler(support, cfg.sample_alpha, cfg.n_sample, cfg.seed, 1);
    recsys::detail::gru_row_walker walker(data, off, ses, cfg.batch_size);
    struct handler {
      recsys::detail::gru_trainer<float>* t;
      void start(Eigen::Index r, std::int64_t, bool same, recsys::index_t last) { t->start_row(r, same, last); }
      void group_end(Eigen::Index, std::int64_t, recsys::index_t) {}
      void compact(std::span<const Eigen::Index> keep) { t->compact_rows(keep); }
    } h{&tr};
    std::vector<recsys::index_t> in, tg;
    std::vector<std::uint8_t> first;
    std::vector<Eigen::Index> distinct;
    walker.begin(h);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t s = 0; s < steps && walker.rows() > 0; ++s) {
      walker.fill(in, tg, first);
      tr.forward_backward(in, tg, sampler.samples(s), first, s, true);
      tr.apply_update();
      distinct.push_back(tr.distinct_candidates());
      walker.advance(h);
    }
    step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The same GEMMs on their own.
    const Eigen::Index U = *std::max_element(distinct.begin(), distinct.end());
    mat w = mat::Random(U, H), hd = mat::Random(B, H), st(U, B), g(U, H), dh(B, H);
    mat x = mat::Random(B, H), wih = mat::Random(H, 3 * H), gi(B, 3 * H), dgi = mat::Random(B, 3 * H), dw(H, 3 * H);
    const auto t1 = std::chrono::steady_clock::now();
    for (Eigen::Index u : distinct) {
      st.topRows(u).noalias() = w.topRows(u) * hd.transpose();          // scores
      g.topRows(u).noalias() = st.topRows(u) * hd;                      // output weights' gradient
      dh.noalias() = st.topRows(u).transpose() * w.topRows(u);          // gradient of the hidden state
      gi.noalias() = x * wih;                                           // GRU forward (input side)
      gi.noalias() = hd * wih;                                          // GRU forward (hidden side)
      dw.noalias() = x.transpose() * dgi;                               // GRU weight gradients
      dw.noalias() = hd.transpose() * dgi;
      x.noalias() = dgi * wih.transpose();                              // gradient of the input
      benchmark::DoNotOptimize(st.data());
    }
    gemm_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  }
  state.counters["gemm_fraction"] = gemm_seconds / step_seconds;
  state.counters["step_us"] = 1e6 * step_seconds / static_cast<double>(steps * state.iterations());
}
BENCHMARK(BM_step_gemm_fraction)->Unit(benchmark::kMillisecond)->UseRealTime();

// A fitted-looking model with random weights (latency does not depend on the values).
const recsys::session_gru& model_with_items(recsys::index_t n_items) {
  static std::map<recsys::index_t, std::unique_ptr<recsys::session_gru>> cache;
  auto& m = cache[n_items];
  if (!m) {
    auto cfg = recsys::gru4rec_rsc15_config();
    auto net = recsys::detail::gru_network<float>::make(recsys::detail::gru_input::constrained, n_items, {100}, 0, 0, 3);
    std::vector<std::int64_t> support(static_cast<std::size_t>(n_items), 1);
    m = std::make_unique<recsys::session_gru>(cfg, std::move(net), std::move(support));
  }
  return *m;
}

// Real time: one event in (put_event) and the next-item top-20 out; the time column is per event.
void BM_event_latency(benchmark::State& state) {
  const auto n = static_cast<recsys::index_t>(state.range(0));
  const auto& m = model_with_items(n);
  auto s = m.start_session();
  recsys::recommend_options opts;
  opts.exclude_seen = false;
  recsys::topk_result out;
  recsys::index_t item = 0;
  for (auto _ : state) {
    if (s.size() >= 50) s = m.start_session();
    m.put_event(s, item);
    m.recommend(s, 20, opts, out);
    benchmark::DoNotOptimize(out.ids.data());
    item = (item * 7 + 13) % n;
  }
}
BENCHMARK(BM_event_latency)->Arg(3000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// The two halves of an event: the GRU step alone, and the scoring + top-20 alone.
void BM_event_put_only(benchmark::State& state) {
  const auto n = static_cast<recsys::index_t>(state.range(0));
  const auto& m = model_with_items(n);
  auto s = m.start_session();
  recsys::index_t item = 0;
  for (auto _ : state) {
    if (s.size() >= 50) s = m.start_session();
    m.put_event(s, item);
    benchmark::DoNotOptimize(s.hidden(0).data());
    item = (item * 7 + 13) % n;
  }
}
BENCHMARK(BM_event_put_only)->Arg(3000)->Arg(100000)->Unit(benchmark::kMicrosecond);

void BM_event_top20_only(benchmark::State& state) {
  const auto n = static_cast<recsys::index_t>(state.range(0));
  const auto& m = model_with_items(n);
  auto s = m.start_session();
  m.put_event(s, 1);
  recsys::recommend_options opts;
  opts.exclude_seen = false;
  recsys::topk_result out;
  for (auto _ : state) {
    m.recommend(s, 20, opts, out);
    benchmark::DoNotOptimize(out.ids.data());
  }
}
BENCHMARK(BM_event_top20_only)->Arg(3000)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace
