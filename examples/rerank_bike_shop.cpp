// SPDX-License-Identifier: Apache-2.0
// Case study: a bicycle shop's "frequently bought together" on the product page, and a weekly
// personalized e-mail with one slot promoting the shop's own brand.
//
// - Catalogue: Items metadata with CATEGORY, BRAND and PRICE (the shop's brand is "velo").
// - Frequently bought together: item-to-item co-occurrence (log-likelihood ratio) over baskets.
// - E-mail: a pipeline ranked by BPR. Candidates: BPR's top 100, co-occurrence neighbours of the
//   user's 5 latest items, the 30 most popular items; new customers get popular items.
//   Filter: EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase") (nothing they bought),
//   promotion: 20% of the slots for INCLUDE ItemID WHERE Items.BRAND IN ("velo") (and not
//   purchased), ranked by BPR among themselves, placed at evenly spread positions.
//
// The program checks its lists (exactly one promoted "velo" item per e-mail of 5, nothing
// purchased, no duplicates) and exits 1 if a check fails.
//
//   ./example_rerank_bike_shop
#include <recsys/data/baskets.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/pipeline.hpp>
#include <recsys/ranking/rerank.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

int main() {
  recsys::synthetic_config c;
  c.num_users = 1500;
  c.num_items = 400;
  c.num_interactions = 45000;
  c.num_baskets = 8000;
  const recsys::interaction_log log = recsys::generate_interactions(c);  // view, click, purchase
  const recsys::basket_data baskets = recsys::generate_baskets(c);

  // The catalogue: every 5th product is the shop's own brand.
  const char* const categories[] = {"bike", "helmet", "lock", "light", "pump", "tyre", "bottle"};
  std::ostringstream csv;
  csv << "ITEM_ID,CATEGORY,BRAND,PRICE\n";
  for (recsys::index_t i = 0; i < c.num_items; ++i)
    csv << 'i' << i << ',' << categories[i % 7] << ',' << (i % 5 == 0 ? "velo" : "other") << ','
        << (i % 7 == 0 ? 400 + i : 10 + i % 90) << '\n';
  const recsys::metadata_table items = recsys::parse_items_csv(csv.str(), "items.csv");

  // --- product page: frequently bought together ---
  recsys::item_to_item_config fbt_config;
  recsys::set_param(fbt_config, "similarity=llr");
  recsys::item_to_item fbt(fbt_config);
  fbt.fit(baskets);
  const recsys::index_t bike = *baskets.item_ids.find("i7");
  const recsys::index_t cart[] = {bike};
  const recsys::topk_result together = fbt.frequently_bought_together(cart, 3);
  std::printf("frequently bought with %s:", baskets.item_ids.id(bike).c_str());
  for (std::size_t j = 0; j < together.size(); ++j)
    std::printf(" %s (llr %.1f)", baskets.item_ids.id(together.ids[j]).c_str(), static_cast<double>(together.scores[j]));
  std::printf("\n");
  int failures = together.empty() ? 1 : 0;

  // --- the e-mail pipeline ---
  recsys::bpr_config bc;
  bc.factors = 32;
  bc.epochs = 15;
  recsys::bpr_model bpr(bc);
  bpr.fit(recsys::build_matrix(log));
  recsys::item_to_item knn;
  knn.fit(log);
  recsys::popularity_count popular;
  popular.fit(log);

  const recsys::filter_data data{.log = &log, .items = &items};
  const recsys::item_filter not_bought(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))", data);
  // The promotion filter applies to the promoted slots only (the request filter to the others),
  // so it repeats the purchase exclusion: `|` chains the two expressions.
  const recsys::item_filter house_brand(
      R"(INCLUDE ItemID WHERE Items.BRAND IN ("velo") | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))",
      data);
  recsys::promotion promo;
  promo.name = "house brand";
  promo.percent = 20;

  recsys::pipeline email(bpr);
  email.add_source(recsys::top_n_source("bpr", bpr, 100))
      .add_source(recsys::recent_neighbours_source("bought-with-recent", knn, log, 5, 50))
      .add_source(recsys::top_n_source("popular", popular, 30))
      .set_fallback(popular, 100)
      .set_filter(not_bought)
      .set_promotion(house_brand, promo);

  const recsys::index_t k = 5;
  const recsys::index_t velo_slots = recsys::promotion_slots(k, promo.percent);  // ceil(5 * 20%) = 1
  const auto& brand = items.field("BRAND");
  const auto is_velo = [&](recsys::index_t i) {
    const auto row = static_cast<std::size_t>(*items.row_of(log.item_ids.id(i)));
    const auto vals = brand.values(row);
    return !vals.empty() && brand.dictionary.id(vals[0]) == "velo";
  };
  for (recsys::index_t u = -1; u < 300; ++u) {  // -1: a customer without history
    recsys::pipeline_request req;
    req.user = u;
    req.k = k;
    const recsys::reranked_list mail = email.run(req);
    const recsys::item_mask allowed = not_bought.allowed(u);
    std::vector<recsys::index_t> ids = mail.ids;
    std::sort(ids.begin(), ids.end());
    const bool duplicates = std::adjacent_find(ids.begin(), ids.end()) != ids.end();
    bool ok = mail.size() == static_cast<std::size_t>(k) && !duplicates &&
              mail.count(recsys::slot_kind::promoted) == static_cast<std::size_t>(velo_slots);
    for (std::size_t j = 0; j < mail.size(); ++j) {
      ok = ok && allowed.test(mail.ids[j]);  // nothing the customer bought, promoted or not
      if (mail.kinds[j] == recsys::slot_kind::promoted) ok = ok && is_velo(mail.ids[j]);
    }
    if (!ok) {
      std::printf("FAIL: e-mail of user %d\n", u);
      ++failures;
    }
    if (u < 2) {
      std::printf("e-mail for %s:\n", u < 0 ? "a new customer" : log.user_ids.id(u).c_str());
      for (std::size_t j = 0; j < mail.size(); ++j)
        std::printf("  %zu. %-5s %-7s %-5s score %.3f%s\n", j + 1, log.item_ids.id(mail.ids[j]).c_str(),
                    categories[std::stoi(log.item_ids.id(mail.ids[j]).substr(1)) % 7], is_velo(mail.ids[j]) ? "velo" : "",
                    static_cast<double>(mail.scores[j]),
                    mail.kinds[j] == recsys::slot_kind::promoted ? "  <- promoted" : "");
    }
  }
  std::printf("%s\n", failures == 0 ? "all checks passed" : "CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}
