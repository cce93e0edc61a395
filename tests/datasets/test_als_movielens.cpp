// SPDX-License-Identifier: Apache-2.0
// Implicit ALS with its default hyperparameters on MovieLens-100K (every rating is an
// interaction) beats Popularity-Count by a wide margin on NDCG@10, on Personalize's split and on
// leave-last-10. The figures go to docs/als.md; run with `-s` to print them.
#include "recsys_test.hpp"

#include <recsys/data/csv.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/split.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/popularity.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using recsys::index_t;

namespace {

// NDCG@10 by the shared evaluator (the one `recsys evaluate` runs): test users' relevant items,
// each user's training items excluded from the list.
template <class Model>
double ndcg_at_10(const Model& m, const recsys::split& s) {
  recsys::evaluation_options o;
  o.metrics = {recsys::parse_metric("ndcg@10")};
  o.num_threads = 2;
  return recsys::evaluate(m, s, o).value("ndcg@10");
}

struct row {
  double popularity, cg, cholesky, cg_seconds, cholesky_seconds;
};

row evaluate(const recsys::split& s) {
  recsys::popularity_count pop;  // distinct training users per item, seen items excluded
  pop.fit(s.train);
  const recsys::csr_matrix train = recsys::build_matrix(s.train);
  const auto timed_fit = [&](recsys::als<float>& model) {
    const auto t0 = std::chrono::steady_clock::now();
    model.fit(train);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  recsys::als_config cfg;  // the defaults: 64 factors, 15 iterations, CG
  cfg.num_threads = 2;
  recsys::als<float> cg(cfg);
  const double tc = timed_fit(cg);
  cfg.solver = recsys::als_solver::cholesky;
  recsys::als<float> chol(cfg);
  const double th = timed_fit(chol);
  return {ndcg_at_10(pop, s), ndcg_at_10(cg, s), ndcg_at_10(chol, s), tc, th};
}

}  // namespace

TEST_CASE("als beats Popularity-Count on MovieLens-100K NDCG@10", "[als][datasets]") {
  const recsys::interaction_log log =
      recsys::read_delimited(recsys::test::data_dir() / "movielens-100k" / "u.data", recsys::raw_format::movielens());
  REQUIRE(log.size() == 100000);
  const struct {
    const char* name;
    recsys::split s;
  } splits[] = {{"personalize (seed 42)", recsys::personalize_split(log, 42)},
                {"leave-last-10", recsys::leave_last_split(log, 10)}};
  for (const auto& [name, s] : splits) {
    const row r = evaluate(s);
    std::printf("| %s | %.4f | %.4f (%.2fx) | %.4f (%.2fx) | %.2f s | %.2f s |\n", name, r.popularity, r.cg,
                r.cg / r.popularity, r.cholesky, r.cholesky / r.popularity, r.cg_seconds, r.cholesky_seconds);
    INFO(name << ": popularity " << r.popularity << ", als cg " << r.cg << ", als cholesky " << r.cholesky);
    CHECK(r.cg > r.popularity * 1.3);
    CHECK(r.cholesky > r.popularity * 1.3);
  }
}
