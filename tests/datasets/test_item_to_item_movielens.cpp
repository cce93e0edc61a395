// SPDX-License-Identifier: Apache-2.0
// Item-KNN on MovieLens 100k (Personalize's split: 10% of the users, their newest 10% of events
// held out) beats Popularity-Count on NDCG@10.
//
// NDCG@10 comes from recsys::evaluate (Personalize's definition and the documented protocol).
#include <recsys/data/split.hpp>
#include <recsys/data/csv.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>

#include "recsys_test.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {

recsys::interaction_log movielens() {
  auto log = recsys::read_delimited(recsys::test::data_dir() / "movielens-100k" / "u.data", recsys::raw_format::movielens());
  REQUIRE(log.size() == 100000);
  return log;
}

template <class Model>
double ndcg_at_10(const Model& m, const recsys::split& s) {
  recsys::evaluation_options o;
  o.metrics = {recsys::parse_metric("ndcg@10")};
  return recsys::evaluate(m, s, o).value("ndcg@10");
}

}  // namespace

TEST_CASE("item-KNN beats Popularity-Count on NDCG@10 on MovieLens 100k", "[item_to_item][datasets]") {
  const recsys::interaction_log log = movielens();
  const recsys::split s = recsys::personalize_split(log, 42);
  REQUIRE(s.test.size() > 0);

  recsys::popularity_count pop;
  pop.fit(s.train);
  recsys::item_to_item knn;  // cosine, 100 neighbours, min co-occurrence 3
  knn.fit(s.train);
  recsys::item_to_item sims(recsys::item_to_item_config::sims());
  sims.fit(s.train);

  const double ndcg_pop = ndcg_at_10(pop, s);
  const double ndcg_knn = ndcg_at_10(knn, s);
  const double ndcg_sims = ndcg_at_10(sims, s);
  std::printf("MovieLens 100k, Personalize split (seed 42), NDCG@10: popularity %.4f, item-knn %.4f, sims %.4f\n",
              ndcg_pop, ndcg_knn, ndcg_sims);
  CHECK(ndcg_knn > ndcg_pop);
  CHECK(ndcg_knn > 1.2 * ndcg_pop);
}
