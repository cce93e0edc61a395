// SPDX-License-Identifier: Apache-2.0
// The same work in both units of the ODR / mixed-mode test: fit models and describe their
// answers as text. The header-only unit instantiates recsys's templates itself, the compiled-mode
// unit only refers to the library's explicit instantiations; the linker keeps one copy of each
// specialisation (they are the same code). The test is that this links, runs and agrees.
#ifndef RECSYS_TESTS_ODR_COMMON_HPP
#define RECSYS_TESTS_ODR_COMMON_HPP

#include <recsys/recsys.hpp>

#include <string>

static std::string odr_fingerprint() {
  recsys::synthetic_config cfg;
  cfg.num_users = 60;
  cfg.num_items = 60;
  cfg.num_interactions = 900;
  const recsys::interaction_log log = recsys::generate_interactions(cfg);
  std::string out = std::to_string(recsys::rng(1).uniform_index(100));
  recsys::popularity_count pop;
  pop.fit(log);
  for (const recsys::index_t user : {0, 7, 59, -1}) {
    const recsys::topk_result top = pop.recommend(user, 5);
    for (std::size_t j = 0; j < top.size(); ++j) out += " " + std::to_string(top.ids[j]) + ":" + std::to_string(top.scores[j]);
    out += ";";
  }
  recsys::item_to_item knn;
  knn.fit(log);
  for (const recsys::index_t item : {0, 3, 42}) {
    const recsys::topk_result like = knn.similar_items(item, 3);
    for (std::size_t j = 0; j < like.size(); ++j) out += " " + std::to_string(like.ids[j]) + ":" + std::to_string(like.scores[j]);
    out += ";";
  }
  const recsys::csr_matrix user_items = recsys::build_matrix(log);
  recsys::als_config ac;
  ac.factors = 8;
  ac.iterations = 3;
  ac.num_threads = 1;
  recsys::als<float> als(ac);
  als.fit(user_items);
  recsys::bpr_config bc;
  bc.factors = 8;
  bc.epochs = 2;
  bc.num_threads = 1;
  recsys::bpr_model bpr(bc);
  bpr.fit(user_items);
  for (const recsys::index_t user : {0, 7}) {
    for (const recsys::topk_result& top : {als.recommend(user, 3), bpr.recommend(user, 3)})
      for (std::size_t j = 0; j < top.size(); ++j) out += " " + std::to_string(top.ids[j]) + ":" + std::to_string(top.scores[j]);
    out += ";";
  }
  recsys::trending_now trending;
  trending.fit(log);
  out += trending.is_fallback() ? " fallback" : " trending";
  return out;
}

#endif
