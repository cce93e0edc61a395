// SPDX-License-Identifier: Apache-2.0
// Implicit ALS end to end on the synthetic demo data: train, recommend, fold in a new user in
// real time, explain a recommendation, and add a user with a partial fit.
#include <recsys/data/matrix.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/models/als.hpp>

#include <cstdio>
#include <vector>

int main() {
  // 2000 users x 1000 items x 50k events; the matrix holds each (user, item) pair's event count.
  const recsys::interaction_log log = recsys::generate_interactions(recsys::synthetic_config::demo());
  const recsys::csr_matrix user_items = recsys::build_matrix(log);  // summed weights per (user, item)

  recsys::als_config cfg;                        // defaults: 64 factors, 15 CG iterations
  recsys::set_param(cfg, "solver", "cholesky");  // what the CLI's --set solver=cholesky does
  cfg.compute_loss = true;
  recsys::als<float> model(cfg);
  model.fit(user_items);
  std::printf("loss after %zu iterations: %.1f\n", model.training_history().size(),
              model.training_history().back().loss);

  const recsys::topk_result top = model.recommend(0, 5);  // excludes user 0's items
  std::printf("user u0:");
  for (std::size_t k = 0; k < top.size(); ++k) std::printf(" i%d (%.3f)", top.ids[k], top.scores[k]);
  std::printf("\n");

  // Real time: a visitor who just viewed three items (no refit).
  const std::vector<recsys::index_t> viewed{10, 42, 77};
  const recsys::topk_result live = model.recommend_for_history(viewed, {}, 5);
  std::printf("new visitor:");
  for (std::size_t k = 0; k < live.size(); ++k) std::printf(" i%d", live.ids[k]);
  std::printf("\n");

  // Why the top item: which of the visitor's items contributed most to its score.
  const auto why = model.explain_history(viewed, {}, live.ids[0], 3);
  std::printf("i%d scores %.3f:", live.ids[0], why.score);
  for (std::size_t k = 0; k < why.contributions.size(); ++k)
    std::printf(" i%d %+.3f", why.contributions.ids[k], why.contributions.scores[k]);
  std::printf("\n");

  // The visitor signs up: append a row and solve it against the fixed item factors.
  recsys::csr_matrix grown = user_items;
  grown.conservativeResize(user_items.rows() + 1, user_items.cols());
  for (recsys::index_t i : viewed) grown.insert(user_items.rows(), i) = 1.0f;
  grown.makeCompressed();
  model.partial_fit(grown, {});
  std::printf("after partial_fit: %d users, new user's top item i%d\n", model.num_users(),
              model.recommend(model.num_users() - 1, 1).ids[0]);
  return 0;
}
