// SPDX-License-Identifier: Apache-2.0
// Item-KNN on MovieLens 100k (Personalize's split: 10% of the users, their newest 10% of events
// held out) beats Popularity-Count on NDCG@10.
//
// u.data is read inline (tab-separated user, item, rating, timestamp), as test_split_real_data
// does; NDCG@10 is recsys::ndcg_at_k (Personalize's definition), averaged over the held-out users.
#include <recsys/data/split.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>

#include "recsys_test.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace {

recsys::interaction_log movielens() {
  std::ifstream in(recsys::test::data_dir() / "movielens-100k" / "u.data");
  REQUIRE(in.good());
  recsys::interaction_log log;
  std::string u, i;
  float rating = 0;
  recsys::timestamp_t t = 0;
  while (in >> u >> i >> rating >> t) log.add(u, i, t, "rating", rating);
  REQUIRE(log.size() == 100000);
  return log;
}

template <class Model>
double ndcg_at_10(const Model& m, const recsys::split& s) {
  std::map<recsys::index_t, std::vector<recsys::index_t>> targets;
  for (std::size_t r = 0; r < s.test.size(); ++r) targets[s.test.users[r]].push_back(s.test.items[r]);
  double total = 0;
  for (const auto& [user, items] : targets) total += recsys::ndcg_at_k(m.recommend(user, 10).ids, items, 10);
  return total / static_cast<double>(targets.size());
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
