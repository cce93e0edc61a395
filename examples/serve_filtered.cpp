// SPDX-License-Identifier: Apache-2.0
// Train through the recipe registry, save, serve the saved model with a Personalize filter.
//
// What a shop's recommendation service does: a nightly job trains the `als` recipe on the
// interactions and saves the model; the service loads it and answers each request with a
// filter bound to the shop's Items metadata ("nothing above the customer's budget, nothing out
// of the requested category"). The program checks that every answer obeys the filter, is sorted
// by score, and that the loaded model answers exactly as the trained one, and exits 1 if not.
//
// It is also the user program of the compile-time table in docs/getting-started.md (ALS + a
// filter + the recipe registry): built against recsys::compiled, its unit parses declarations
// only.
//
//   ./example_serve_filtered
#include <recsys/data/metadata.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/recipes.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

int main() {
  // The shop's data: interactions and Items metadata (CATEGORY, PRICE, CREATION_TIMESTAMP).
  recsys::synthetic_config cfg = recsys::synthetic_config::demo();
  cfg.num_users = 800;
  cfg.num_items = 400;
  cfg.num_interactions = 20000;
  const recsys::interaction_log log = recsys::generate_interactions(cfg);
  const recsys::metadata_table items = recsys::generate_item_metadata(cfg, log);

  // Nightly: train the registry's ALS recipe and save it.
  const auto dir = std::filesystem::temp_directory_path() / "recsys-example-serve-filtered";
  auto trained = recsys::make_model("als", {{"factors", "32"}, {"iterations", "10"}, {"seed", "7"}});
  trained->fit(log);
  trained->save(dir);

  // Service: load the model, bind the filter once, answer requests.
  const auto model = recsys::load_model(dir, "als");
  const recsys::item_filter filter(
      R"(INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | EXCLUDE ItemID WHERE Items.PRICE > $BUDGET)",
      {.log = &log, .items = &items});
  const recsys::metadata_field& category = items.field("CATEGORY");
  const recsys::metadata_field& price = items.field("PRICE");

  int failures = 0;
  const char* categories[] = {"c1", "c4", "c7"};
  for (recsys::index_t user = 0; user < 30; ++user) {
    const std::string wanted = categories[user % 3];
    const double budget = 20.0 + 5.0 * (user % 5);
    const recsys::filter_params params{{"CATEGORY", {wanted}}, {"BUDGET", {std::to_string(budget)}}};
    const recsys::topk_result top = recsys::recommend_filtered(*model, user, 5, filter, params);
    const recsys::topk_result again = recsys::recommend_filtered(*trained, user, 5, filter, params);
    if (!top.is_sorted() || top != again) ++failures;
    for (std::size_t j = 0; j < top.size(); ++j) {
      // The log's item indices and the metadata rows are both "i<k>" -> k here.
      const auto row = items.row_of(log.item_ids.id(top.ids[j]));
      const bool ok = row && category.dictionary.id(category.values(static_cast<std::size_t>(*row))[0]) == wanted &&
                      price.numbers[static_cast<std::size_t>(*row)] <= budget;
      if (!ok) ++failures;
    }
    if (user < 3) {
      std::printf("user u%d, %s under %.0f:", user, wanted.c_str(), budget);
      for (std::size_t j = 0; j < top.size(); ++j)
        std::printf(" %s (%.3f)", log.item_ids.id(top.ids[j]).c_str(), static_cast<double>(top.scores[j]));
      std::printf("\n");
    }
  }
  std::filesystem::remove_all(dir);
  std::printf("%s\n", failures == 0 ? "every answer obeys the filter and the loaded model answers as the trained one"
                                    : "FAILED");
  return failures == 0 ? 0 : 1;
}
