// SPDX-License-Identifier: Apache-2.0
// BPR and WARP with their default hyperparameters on MovieLens-100K (every rating is an
// interaction) beat Popularity-Count on NDCG@10, on Personalize's split and on leave-last-10.
// The figures go to docs/bpr.md; run with `-s` to print them.
#include "recsys_test.hpp"

#include <recsys/data/csv.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/split.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/popularity.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using recsys::index_t;

namespace {

recsys::interaction_log read_movielens() {
  recsys::interaction_log log =
      recsys::read_delimited(recsys::test::data_dir() / "movielens-100k" / "u.data", recsys::raw_format::movielens());
  REQUIRE(log.size() == 100000);
  return log;
}

// Mean NDCG@10 (recsys::ndcg_at_k) over the users with at least one test item; each query
// excludes the user's training items (the recommenders' exclude_seen).
template <class Model>
double ndcg_at_10(const Model& m, const recsys::split& s) {
  std::vector<std::vector<index_t>> relevant(static_cast<std::size_t>(s.test.num_users()));
  for (std::size_t r = 0; r < s.test.size(); ++r)
    relevant[static_cast<std::size_t>(s.test.users[r])].push_back(s.test.items[r]);
  double sum = 0.0;
  int users = 0;
  for (index_t u = 0; u < static_cast<index_t>(relevant.size()); ++u) {
    const auto& rel = relevant[static_cast<std::size_t>(u)];
    if (rel.empty()) continue;
    sum += recsys::ndcg_at_k(m.recommend(u, 10).ids, rel, 10);
    ++users;
  }
  return sum / users;
}

struct row {
  double popularity, bpr, warp, bpr_seconds, warp_seconds;
};

row evaluate(const recsys::split& s) {
  recsys::popularity_count pop;
  pop.fit(s.train);
  const recsys::csr_matrix train = recsys::build_matrix(s.train);
  const auto timed_fit = [&](auto& model) {
    const auto t0 = std::chrono::steady_clock::now();
    model.fit(train);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  recsys::bpr_model bpr;
  const double tb = timed_fit(bpr);
  recsys::warp_model warp;
  const double tw = timed_fit(warp);
  return {ndcg_at_10(pop, s), ndcg_at_10(bpr, s), ndcg_at_10(warp, s), tb, tw};
}

}  // namespace

TEST_CASE("bpr/warp beat Popularity-Count on MovieLens-100K NDCG@10", "[bpr][warp][datasets]") {
  const recsys::interaction_log log = read_movielens();
  const struct {
    const char* name;
    recsys::split s;
  } splits[] = {{"personalize (seed 42)", recsys::personalize_split(log, 42)},
                {"leave-last-10", recsys::leave_last_split(log, 10)}};
  for (const auto& [name, s] : splits) {
    const row r = evaluate(s);
    std::printf("| %s | %.4f | %.4f | %.4f | %.2f s | %.2f s |\n", name, r.popularity, r.bpr, r.warp, r.bpr_seconds,
                r.warp_seconds);
    INFO(name << ": popularity " << r.popularity << ", bpr " << r.bpr << ", warp " << r.warp);
    CHECK(r.bpr > r.popularity * 1.1);
    CHECK(r.warp > r.popularity * 1.1);
  }
}
