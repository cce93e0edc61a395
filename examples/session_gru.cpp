// SPDX-License-Identifier: Apache-2.0
// Session GRU (GRU4Rec-style) next-item recommendation.
//
//   example_session_gru                       synthetic sessions: train, evaluate, then a real-time
//                                             session fed one event at a time
//   example_session_gru <dir> [key=value...]  GRU4Rec's RSC15 experiment on the YooChoose sample in
//                                             <dir> (yoochoose-clicks-100k_{train_full,test}.txt):
//                                             the RSC15 paramfile, overridden by key=value pairs
//                                             (set_param keys, e.g. n_epochs=3 num_threads=1)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports false "may be used uninitialized" warnings inside Eigen's AVX-512 GEMM kernels.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <recsys/data/csv.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/split.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/models/session_gru.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

void print_metrics(const char* title, const recsys::next_item_metrics& m) {
  std::printf("%-13s", title);
  for (std::size_t i = 0; i < m.cutoffs.size(); ++i)
    std::printf("  R@%d %.4f MRR@%d %.4f", m.cutoffs[i], m.recall[i], m.cutoffs[i], m.mrr[i]);
  std::printf("   (%lld predictions)\n", static_cast<long long>(m.predictions));
}

int rsc15(const std::filesystem::path& dir, int argc, char** argv) {
  // GRU4Rec's prepared files (SessionId, ItemId, Time), one id space, sessions by start time.
  const auto both = recsys::join_split(recsys::read_delimited(dir / "yoochoose-clicks-100k_train_full.txt", recsys::raw_format::rsc15()),
                                       recsys::read_delimited(dir / "yoochoose-clicks-100k_test.txt", recsys::raw_format::rsc15()));
  const recsys::session_data train = recsys::build_sessions(both.train);
  const recsys::session_data test = recsys::build_sessions(both.test);
  auto cfg = recsys::gru4rec_rsc15_config();
  cfg.num_threads = 2;
  for (int i = 2; i < argc; ++i) recsys::set_param(cfg, argv[i]);
  std::printf("train: %zu sessions, %zu events, %d items; test: %zu sessions, %zu events\n", train.size(),
              train.num_events(), train.num_items, test.size(), test.num_events());
  std::printf("config:");
  for (const auto& [k, v] : recsys::params(cfg)) std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");

  recsys::session_gru model(cfg);
  model.fit(train);
  double seconds = 0;
  for (std::size_t e = 0; e < model.training_log().size(); ++e) {
    const auto& ep = model.training_log()[e];
    seconds += ep.seconds;
    std::printf("epoch %2zu  loss %.4f  %.2f s  %.0f events/s  %.0f predictions/s  (%lld of %lld mini-batches multi-threaded)\n",
                e + 1, ep.loss, ep.seconds, static_cast<double>(ep.events) / ep.seconds,
                static_cast<double>(ep.predictions) / ep.seconds, static_cast<long long>(ep.parallel_batches),
                static_cast<long long>(ep.batches));
  }
  std::printf("training: %.2f s, %.0f events/s\n", seconds,
              static_cast<double>(train.num_events()) * static_cast<double>(model.training_log().size()) / seconds);
  recsys::next_item_options opts;
  opts.num_threads = cfg.num_threads;
  for (auto ties : {recsys::tie_mode::conservative, recsys::tie_mode::standard, recsys::tie_mode::median}) {
    opts.ties = ties;
    const auto t0 = std::chrono::steady_clock::now();
    const auto m = recsys::evaluate_next_item(model, test, opts);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_metrics(recsys::to_string(ties), m);
    std::printf("%-13s  evaluation %.2f s\n", "", dt);
  }
  return 0;
}

int demo() {
  // Synthetic sessions with planted next-item transitions.
  recsys::synthetic_config data;
  data.num_users = 1500;
  data.num_items = 400;
  data.num_interactions = 30000;
  data.sequential_strength = 0.7;
  const recsys::interaction_log log = recsys::generate_interactions(data);
  const recsys::session_data all = recsys::build_sessions(log);
  // Sessions are ordered by start time: the last 10% are the test set.
  recsys::session_data train, test;
  for (std::size_t s = 0; s < all.size(); ++s)
    (s < all.size() * 9 / 10 ? train : test).push_session(all.session(s), all.session_times(s), all.users[s]);
  train.num_items = test.num_items = all.num_items;

  recsys::session_gru_config cfg;  // GRU4Rec's defaults, adjusted with --set style strings
  for (const char* kv : {"layers=64", "batch_size=32", "n_sample=256", "learning_rate=0.1", "momentum=0.2",
                         "logq=1", "dropout_p_hidden=0.2", "n_epochs=4"})
    recsys::set_param(cfg, kv);
  recsys::session_gru model(cfg);
  model.fit(train);
  std::printf("trained on %zu sessions (%zu events) in %.2f s, final loss %.3f\n", train.size(), train.num_events(),
              model.training_log().back().seconds * static_cast<double>(model.training_log().size()),
              model.training_log().back().loss);
  print_metrics("test", recsys::evaluate_next_item(model, test));

  // Real time: a visitor's events arrive one at a time (Personalize's PutEvents).
  recsys::session_gru_state session = model.start_session();
  recsys::recommend_options opts;
  opts.exclude_seen = false;  // repeat views are common in click streams
  const auto first = test.session(0);
  for (std::size_t j = 0; j < std::min<std::size_t>(first.size(), 4); ++j) {
    const auto t0 = std::chrono::steady_clock::now();
    model.put_event(session, first[j]);
    const recsys::topk_result next = model.recommend(session, 5, opts);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("after %-5s next:", log.item_ids.id(first[j]).c_str());
    for (std::size_t r = 0; r < next.size(); ++r)
      std::printf(" %s (%.2f)", log.item_ids.id(next.ids[r]).c_str(), static_cast<double>(next.scores[r]));
    std::printf("   [%.0f us]\n", us);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return argc > 1 ? rsc15(argv[1], argc, argv) : demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
