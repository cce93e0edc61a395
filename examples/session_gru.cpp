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
#include <recsys/data/id_map.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/models/session_gru.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

// The sample's TSV (SessionId, ItemId, Time; header) as sessions ordered by start time.
recsys::session_data read_sessions(const std::filesystem::path& path, recsys::id_map<std::string>& items) {
  std::ifstream in(path);
  if (!in) throw recsys::io_error(path.string(), "cannot open");
  struct click {
    long long session;
    recsys::index_t item;
    double time;
    std::size_t row;
  };
  std::vector<click> clicks;
  std::string line;
  std::getline(in, line);
  std::int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos)
      throw recsys::io_error(path.string(), line_no, 0, "expected 3 tab-separated fields");
    clicks.push_back({std::stoll(line.substr(0, t1)), items.insert(line.substr(t1 + 1, t2 - t1 - 1)),
                      std::stod(line.substr(t2 + 1)), clicks.size()});
  }
  std::stable_sort(clicks.begin(), clicks.end(), [](const click& a, const click& b) {
    return a.session != b.session ? a.session < b.session : a.time < b.time;
  });
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  for (std::size_t k = 0; k < clicks.size();) {
    std::size_t e = k + 1;
    while (e < clicks.size() && clicks[e].session == clicks[k].session) ++e;
    runs.emplace_back(k, e);
    k = e;
  }
  std::stable_sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
    const click &x = clicks[a.first], &y = clicks[b.first];
    return x.time != y.time ? x.time < y.time : x.row < y.row;
  });
  recsys::session_data d;
  for (const auto& [b, e] : runs) {
    std::vector<recsys::index_t> its;
    std::vector<recsys::timestamp_t> ts;
    for (std::size_t k = b; k < e; ++k) {
      its.push_back(clicks[k].item);
      ts.push_back(static_cast<recsys::timestamp_t>(std::floor(clicks[k].time)));
    }
    d.push_session(its, ts);
  }
  d.num_items = items.size();
  return d;
}

void print_metrics(const char* title, const recsys::next_item_metrics& m) {
  std::printf("%-13s", title);
  for (std::size_t i = 0; i < m.cutoffs.size(); ++i)
    std::printf("  R@%d %.4f MRR@%d %.4f", m.cutoffs[i], m.recall[i], m.cutoffs[i], m.mrr[i]);
  std::printf("   (%lld predictions)\n", static_cast<long long>(m.predictions));
}

int rsc15(const std::filesystem::path& dir, int argc, char** argv) {
  recsys::id_map<std::string> items;
  const auto train = read_sessions(dir / "yoochoose-clicks-100k_train_full.txt", items);
  const auto test = read_sessions(dir / "yoochoose-clicks-100k_test.txt", items);
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
