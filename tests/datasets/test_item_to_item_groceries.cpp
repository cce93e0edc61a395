// SPDX-License-Identifier: Apache-2.0
// Pair association rules and "frequently bought together" on the arules Groceries baskets
// (9,835 transactions, 169 items): the counts match the oracle values of the data's
// PROVENANCE.md, the strongest lift rules do not depend on the thread count, and they are the
// sensible ones (produce with produce, dairy with dairy).
#include <recsys/data/csv.hpp>
#include <recsys/models/item_to_item.hpp>

#include "recsys_test.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {

recsys::basket_data groceries() {
  return recsys::read_baskets(recsys::test::data_dir() / "groceries" / "groceries.csv");
}

const recsys::association_rule* find_rule(const std::vector<recsys::association_rule>& rules,
                                          const recsys::basket_data& b, const char* a, const char* c) {
  const auto ia = b.item_ids.find(a), ic = b.item_ids.find(c);
  if (!ia || !ic) return nullptr;
  for (const auto& r : rules)
    if (r.antecedent == *ia && r.consequent == *ic) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("groceries: pair rules match the data's oracle counts, strongest lift first", "[item_to_item][datasets]") {
  const recsys::basket_data b = groceries();
  REQUIRE(b.size() == 9835);
  REQUIRE(b.num_items() == 169);

  recsys::rule_options o;
  o.min_support = 0.01;  // the customary threshold for this data
  o.min_lift = 1.0;
  o.num_threads = 1;
  const auto rules = recsys::association_rules(b, o);
  o.num_threads = 2;
  CHECK(recsys::association_rules(b, o) == rules);  // stable for any thread count
  REQUIRE(rules.size() > 20);

  // PROVENANCE.md: {other vegetables, whole milk} 736, {rolls/buns, whole milk} 557,
  // {whole milk, yogurt} 551; whole milk in 2513 baskets
  const auto* milk_veg = find_rule(rules, b, "other vegetables", "whole milk");
  REQUIRE(milk_veg != nullptr);
  CHECK(milk_veg->count == 736);
  CHECK(milk_veg->support == recsys::test::Approx(736.0 / 9835.0));
  const auto* veg_milk = find_rule(rules, b, "whole milk", "other vegetables");
  REQUIRE(veg_milk != nullptr);
  CHECK(veg_milk->confidence == recsys::test::Approx(736.0 / 2513.0));
  const auto* yogurt_milk = find_rule(rules, b, "yogurt", "whole milk");
  REQUIRE(yogurt_milk != nullptr);
  CHECK(yogurt_milk->count == 551);
  const auto* buns_milk = find_rule(rules, b, "rolls/buns", "whole milk");
  REQUIRE(buns_milk != nullptr);
  CHECK(buns_milk->count == 557);

  std::printf("groceries, pair rules with support >= 0.01, strongest lift first:\n");
  for (std::size_t k = 0; k < 12; ++k) {
    const auto& r = rules[k];
    std::printf("| %s | %s | %.4f | %.3f | %.2f | %lld |\n", b.item_ids.id(r.antecedent).c_str(),
                b.item_ids.id(r.consequent).c_str(), r.support, r.confidence, r.lift, static_cast<long long>(r.count));
  }
  // sensible: the strongest pairs are produce with produce or dairy with dairy, never a pair with
  // a bag or a catch-all
  const std::vector<std::string> produce_dairy = {"citrus fruit",
                                                  "tropical fruit",
                                                  "pip fruit",
                                                  "root vegetables",
                                                  "other vegetables",
                                                  "whole milk",
                                                  "yogurt",
                                                  "curd",
                                                  "butter",
                                                  "whipped/sour cream",
                                                  "domestic eggs",
                                                  "beef",
                                                  "pork",
                                                  "frankfurter",
                                                  "cream cheese",
                                                  "hard cheese",
                                                  "sliced cheese",
                                                  "fruit/vegetable juice",
                                                  "onions",
                                                  "herbs",
                                                  "berries",
                                                  "grapes",
                                                  "white bread",
                                                  "brown bread"};
  auto is_fresh = [&](recsys::index_t i) {
    for (const auto& n : produce_dairy)
      if (b.item_ids.id(i) == n) return true;
    return false;
  };
  for (std::size_t k = 0; k < 6; ++k) {
    INFO("rule " << k << ": " << b.item_ids.id(rules[k].antecedent) << " -> " << b.item_ids.id(rules[k].consequent));
    CHECK(is_fresh(rules[k].antecedent));
    CHECK(is_fresh(rules[k].consequent));
    CHECK(rules[k].lift > 2.0);
  }

  // "frequently bought together" agrees with the lift order for a fixed basket item
  recsys::item_to_item_config c;
  c.similarity = recsys::item_similarity::lift;
  c.min_cooccurrence = 99;  // support >= 0.01
  recsys::item_to_item m(c);
  m.fit(b);
  const recsys::index_t a = rules[0].antecedent;
  const recsys::index_t basket[] = {a};
  recsys::recommend_options none;
  const auto fbt = m.frequently_bought_together(basket, 1, none);
  REQUIRE(fbt.size() == 1);
  CHECK(fbt.ids[0] == rules[0].consequent);
  CHECK(fbt.scores[0] == recsys::test::Approx(rules[0].lift).epsilon(1e-5));
}
