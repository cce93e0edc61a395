// SPDX-License-Identifier: Apache-2.0
// Case study: re-rank a search engine's results for the user who searched (Personalize's
// Personalized-Ranking), with any recipe.
//
// The "search engine" here returns 20 products in its own (text-relevance) order: a user's
// held-out products hidden among random others, plus one product the model has never seen (a
// new SKU). rank_candidates re-orders them by a BPR model trained on the other interactions:
// scored products by score, unknown ones kept at the end in their search order, without a score.
// Over 300 searches the held-out products move up: the program prints the mean reciprocal rank
// of the first held-out product before and after re-ranking and exits 1 if re-ranking does not
// improve it (or if a list is not a permutation of the search results).
//
//   ./example_rerank_search_results
#include <recsys/data/split.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/rerank.hpp>
#include <recsys/recipes.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main() {
  recsys::synthetic_config c;
  c.num_users = 1500;
  c.num_items = 600;
  c.num_interactions = 60000;
  const recsys::interaction_log log = recsys::generate_interactions(c);
  const recsys::split sp = recsys::random_split(log, 0.2, 7);

  // Any recipe works: here BPR through the recipe registry (the type-erased recsys::model).
  auto model = recsys::make_model("bpr", {{"factors", "32"}, {"epochs", "20"}});
  model->fit(sp.train);
  const recsys::interaction_log& train = sp.train;

  recsys::rng r(c.seed, recsys::stream_tag("example.search"));
  double rr_search = 0, rr_ranked = 0;
  int searches = 0, failures = 0;
  for (std::size_t row = 0; row < sp.test.size() && searches < 300; row += 37) {
    const std::string& user_id = sp.test.user_ids.id(sp.test.users[row]);
    const auto user = train.user_ids.find(user_id);
    const auto wanted = train.item_ids.find(sp.test.item_ids.id(sp.test.items[row]));
    if (!user || !wanted) continue;
    // The search results: the held-out product among 18 random others (none twice), then shuffled
    // (the engine's order knows nothing about the user), and a new SKU the model never saw.
    std::vector<recsys::index_t> results = {*wanted};
    while (results.size() < 19) {
      const auto i = static_cast<recsys::index_t>(r.uniform_index(static_cast<std::uint32_t>(train.num_items())));
      if (std::find(results.begin(), results.end(), i) == results.end()) results.push_back(i);
    }
    recsys::shuffle(results.begin(), results.end(), r);
    results.insert(results.begin() + 3, recsys::invalid_index);  // "new-sku-1": unknown to the model

    const recsys::ranked_candidates ranked = recsys::rank_candidates(*model, *user, results);

    // a permutation of the search results, scored first and sorted, the new SKU last
    std::vector<std::size_t> positions = ranked.positions;
    std::sort(positions.begin(), positions.end());
    bool ok = ranked.size() == results.size() && ranked.num_scored == results.size() - 1 &&
              ranked.ids.back() == recsys::invalid_index && std::isnan(ranked.scores.back());
    for (std::size_t j = 0; j < positions.size(); ++j) ok = ok && positions[j] == j;
    for (std::size_t j = 1; j < ranked.num_scored; ++j) ok = ok && ranked.scores[j - 1] >= ranked.scores[j];
    if (!ok) {
      std::printf("FAIL: search %d\n", searches);
      ++failures;
    }
    const auto rank_in = [&](const std::vector<recsys::index_t>& list) {
      return static_cast<double>(std::find(list.begin(), list.end(), *wanted) - list.begin()) + 1;
    };
    rr_search += 1.0 / rank_in(results);
    rr_ranked += 1.0 / rank_in(ranked.ids);
    if (searches == 0) {
      std::printf("user %s searched; the engine's order -> re-ranked (score):\n", user_id.c_str());
      for (std::size_t j = 0; j < 8; ++j) {
        const auto name = [&](recsys::index_t i) { return i < 0 ? std::string("new-sku-1") : train.item_ids.id(i); };
        std::printf("  %2zu. %-10s -> %-10s %s%s\n", j + 1, name(results[j]).c_str(), name(ranked.ids[j]).c_str(),
                    std::isnan(ranked.scores[j]) ? "(no score)" : std::to_string(ranked.scores[j]).c_str(),
                    ranked.ids[j] == *wanted ? "  <- bought later" : "");
      }
      std::printf("  ... the new SKU is last: %s\n", ranked.ids.back() == recsys::invalid_index ? "yes" : "no");
    }
    ++searches;
  }
  rr_search /= searches;
  rr_ranked /= searches;
  std::printf("%d searches: mean reciprocal rank of the product bought later %.3f in search order, %.3f re-ranked\n",
              searches, rr_search, rr_ranked);
  if (searches < 100 || !(rr_ranked > rr_search)) ++failures;
  std::printf("%s\n", failures == 0 ? "all checks passed" : "CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}
