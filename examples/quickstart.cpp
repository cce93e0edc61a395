// SPDX-License-Identifier: Apache-2.0
// The README's first command runs this program: the recsys quickstart.
//
// 1. Generate the bundled synthetic sample (Personalize schema: USER_ID, ITEM_ID, TIMESTAMP,
//    EVENT_TYPE, EVENT_VALUE, SESSION_ID) — or pass a Personalize interactions CSV as argv[1].
// 2. Split it with Amazon Personalize's protocol (10% of users held out; their newest 10% of
//    events are the targets).
// 3. Train and evaluate every recipe in the registry with its defaults.
// 4. Print a few users' recommendations from the best recipe, with scores.
#include <recsys/recsys.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  try {
    std::printf("recsys %s quickstart\n\n", recsys::version_string);
    recsys::interaction_log log;
    if (argc > 1) {
      log = recsys::read_interactions_csv(argv[1]);
    } else {
      log = recsys::generate_interactions(recsys::synthetic_config::demo());
      log.report.source = "synthetic demo sample (recsys::synthetic_config::demo(), seed 42)";
    }
    std::printf("data: %s\n", log.report.summary().c_str());
    std::printf("      %d users, %d items, event types:", log.num_users(), log.num_items());
    for (const auto& t : log.event_type_names.ids()) std::printf(" %s", t.c_str());
    std::printf("\n\n");

    const recsys::split s = recsys::personalize_split(log, 42);
    std::printf("Personalize split: %zu training and %zu test interactions\n\n", s.train.size(), s.test.size());

    recsys::evaluation_options eo;
    eo.metrics = {recsys::parse_metric("ndcg@10"), recsys::parse_metric("precision@10"),
                  recsys::parse_metric("recall@20"), recsys::parse_metric("mrr@25"), recsys::parse_metric("coverage")};
    std::printf("%-11s %9s %13s %10s %8s %9s %8s\n", "recipe", "ndcg@10", "precision@10", "recall@20", "mrr@25",
                "coverage", "fit s");
    std::unique_ptr<recsys::model> best;
    double best_ndcg = -1;
    for (const auto& r : recsys::recipes()) {
      auto m = r.make({});
      const auto t0 = std::chrono::steady_clock::now();
      m->fit(s.train);
      const double fit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const auto res = recsys::evaluate(*m, s, eo);
      std::printf("%-11s %9.4f %13.4f %10.4f %8.4f %9.4f %8.3f\n", r.name.c_str(), res.value("ndcg@10"),
                  res.value("precision@10"), res.value("recall@20"), res.value("mrr@25"), res.value("coverage"), fit_s);
      if (res.value("ndcg@10") > best_ndcg) {
        best_ndcg = res.value("ndcg@10");
        best = std::move(m);
      }
    }

    std::printf("\nbest recipe by ndcg@10: %s — top 5 for three held-out users (training items excluded):\n",
                best->recipe().c_str());
    int shown = 0;
    for (std::size_t r = 0; r < s.test.size() && shown < 3; ++r) {
      const recsys::index_t u = s.test.users[r];
      if (r > 0 && s.test.users[r - 1] == u) continue;
      const recsys::topk_result top = best->recommend(u, 5);
      std::printf("  user %s:", log.user_ids.id(u).c_str());
      for (std::size_t j = 0; j < top.size(); ++j)
        std::printf("  %s (%.3f)", log.item_ids.id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]));
      std::printf("\n");
      ++shown;
    }
    std::printf("\nNext: `recsys evaluate --data FILE --recipe bpr --json` (build/bin/recsys), docs/getting-started.md\n");
    return 0;
  } catch (const recsys::error& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
  }
}
