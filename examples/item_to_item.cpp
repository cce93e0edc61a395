// SPDX-License-Identifier: Apache-2.0
// Item-to-item mining on synthetic data: "frequently bought together" and association rules on
// baskets, then SIMS-style similar items, "viewed X also viewed" and item-KNN recommendations
// from an interaction log with view and purchase events.
//
//   ./example_item_to_item            (prints to stdout; writes rules.csv in the working folder)
#include <recsys/data/synthetic.hpp>
#include <recsys/models/item_to_item.hpp>

#include <cstdio>
#include <string>

int main() {
  // --- baskets: frequently bought together + association rules ---
  recsys::synthetic_config data = recsys::synthetic_config::demo();  // 10k baskets, 25 planted pairs
  const recsys::basket_data baskets = recsys::generate_baskets(data);

  recsys::item_to_item_config fbt_config;
  recsys::set_param(fbt_config, "similarity=llr");  // what the CLI's --set similarity=llr will call
  recsys::set_param(fbt_config, "neighbours=20");
  recsys::item_to_item fbt(fbt_config);
  fbt.fit(baskets);

  const recsys::index_t in_cart[] = {*baskets.item_ids.find("i2")};
  const recsys::topk_result together = fbt.frequently_bought_together(in_cart, 3);
  std::printf("bought with %s:", baskets.item_ids.id(in_cart[0]).c_str());
  for (std::size_t k = 0; k < together.size(); ++k)
    std::printf(" %s (llr %.1f)", baskets.item_ids.id(together.ids[k]).c_str(), together.scores[k]);
  std::printf("\n");

  recsys::rule_options rule_opts;
  rule_opts.min_support = 0.01;
  rule_opts.max_rules = 5;
  const auto rules = recsys::association_rules(baskets, rule_opts);
  std::printf("strongest rules (lift):\n");
  for (const auto& r : rules)
    std::printf("  %s -> %s  support %.4f  confidence %.3f  lift %.2f  count %lld\n",
                baskets.item_ids.id(r.antecedent).c_str(), baskets.item_ids.id(r.consequent).c_str(), r.support,
                r.confidence, r.lift, static_cast<long long>(r.count));
  recsys::write_rules_csv("rules.csv", rules, baskets.item_ids);

  // --- a log with views and purchases: SIMS, also-viewed, item-KNN ---
  data.num_users = 1000;
  data.num_items = 500;
  data.num_interactions = 30000;
  const recsys::interaction_log log = recsys::generate_interactions(data);

  recsys::item_to_item_config sims_config = recsys::item_to_item_config::sims();  // Personalize's defaults
  recsys::set_param(sims_config, "event_types=view");
  recsys::set_param(sims_config, "exclude_event_types=purchase");
  recsys::item_to_item sims(sims_config);
  sims.fit(log);
  const recsys::index_t item = sims.popular_items()[0];
  const recsys::topk_result like = sims.similar_items(item, 3);
  std::printf("similar to %s:", log.item_ids.id(item).c_str());
  for (std::size_t k = 0; k < like.size(); ++k) std::printf(" %s", log.item_ids.id(like.ids[k]).c_str());
  std::printf("\n");
  const recsys::topk_result also = sims.also_viewed(/*user*/ 0, item, 3);  // without what user 0 bought
  std::printf("user %s viewed %s, also viewed:", log.user_ids.id(0).c_str(), log.item_ids.id(item).c_str());
  for (std::size_t k = 0; k < also.size(); ++k) std::printf(" %s", log.item_ids.id(also.ids[k]).c_str());
  std::printf("\n");

  recsys::item_to_item_config knn_config;  // cosine, 100 neighbours
  recsys::set_param(knn_config, "recency_half_life=7d");
  recsys::item_to_item knn(knn_config);
  knn.fit(log);
  const recsys::topk_result top = knn.recommend(/*user*/ 0, 5);
  std::printf("item-KNN for %s:", log.user_ids.id(0).c_str());
  for (std::size_t k = 0; k < top.size(); ++k)
    std::printf(" %s (%.3f)", log.item_ids.id(top.ids[k]).c_str(), top.scores[k]);
  std::printf("\nmined %lld transactions, %lld pair visits, %lld neighbour entries in %.3f s\n",
              static_cast<long long>(knn.stats().transactions_mined), static_cast<long long>(knn.stats().pair_visits),
              static_cast<long long>(knn.stats().neighbour_entries), knn.stats().seconds);
  return 0;
}
