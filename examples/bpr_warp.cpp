// SPDX-License-Identifier: Apache-2.0
// BPR and WARP on the demo data: train both, print a user's top 5 with scores, recommend for a
// history given at query time, and show the per-epoch progress of a fit.
#include <recsys/data/matrix.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/models/bpr.hpp>

#include <cstdio>
#include <vector>

int main() {
  // 2000 users x 1000 items x 50k events; every distinct (user, item) pair is a positive.
  const recsys::interaction_log log = recsys::generate_interactions(recsys::synthetic_config::demo());
  recsys::matrix_options binary;
  binary.scheme = recsys::weighting::binary;
  const recsys::csr_matrix train = recsys::build_matrix(log, binary);

  recsys::bpr_config cfg;                // the defaults do well out of the box
  recsys::set_param(cfg, "factors=32");  // what `--set factors=32` does
  recsys::bpr_model bpr(cfg);
  recsys::job_control job;
  job.progress = [](const recsys::progress_event& e) {
    if (e.done == e.total && e.metric_name == "auc" && e.step % 10 == 9)
      std::printf("  %s %lld/%lld: sampled AUC %.3f\n", e.stage.c_str(), static_cast<long long>(e.step + 1),
                  static_cast<long long>(e.steps), e.metric);
  };
  bpr.fit(train, job);

  recsys::warp_model warp(recsys::warp_config{.factors = 32});
  warp.fit(train);

  const recsys::index_t user = 7;
  for (const auto* name : {"bpr", "warp"}) {
    const recsys::topk_result top = name[0] == 'b' ? bpr.recommend(user, 5) : warp.recommend(user, 5);
    std::printf("%s top 5 for %s:", name, log.user_ids.id(user).c_str());
    for (std::size_t k = 0; k < top.size(); ++k)
      std::printf(" %s (%.2f)", log.item_ids.id(top.ids[k]).c_str(), top.scores[k]);
    std::printf("\n");
  }

  // A visitor who just viewed three items (no retraining: fold-in against the item factors).
  const std::vector<recsys::index_t> viewed = {3, 17, 42};
  const recsys::topk_result fresh = warp.recommend_for_history(viewed, {}, 5);
  std::printf("warp for a fresh history:");
  for (std::size_t k = 0; k < fresh.size(); ++k)
    std::printf(" %s (%.2f)", log.item_ids.id(fresh.ids[k]).c_str(), fresh.scores[k]);
  std::printf("\n");
  return 0;
}
