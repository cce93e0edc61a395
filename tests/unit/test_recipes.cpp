// SPDX-License-Identifier: Apache-2.0
// The recipe registry: every entry can be made, fitted and queried through recsys::model.
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <set>
#include <string>

namespace {
recsys::interaction_log small_log() {
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed());
  for (int r = 0; r < 2000; ++r)
    log.add("u" + std::to_string(g.uniform_index(50)), "i" + std::to_string(g.uniform_index(40)),
            static_cast<recsys::timestamp_t>(r) * 60, r % 3 ? "view" : "purchase");
  return log;
}
}  // namespace

TEST_CASE("every recipe has a unique name, a description and documented parameters", "[recipes]") {
  std::set<std::string> names;
  for (const auto& r : recsys::recipes()) {
    CHECK(names.insert(r.name).second);
    CHECK_FALSE(r.description.empty());
    CHECK_FALSE(r.personalize.empty());
    for (const auto& p : r.params) CHECK_FALSE(p.help.empty());
  }
  CHECK(names.count("popularity"));
  CHECK(names.count("trending"));
}

TEST_CASE("every recipe fits and recommends through recsys::model", "[recipes]") {
  const auto log = small_log();
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto m = r.make({});
    CHECK(m->recipe() == r.name);
    CHECK(m->params().size() >= r.params.size());
    m->fit(log);
    CHECK(m->num_items() == log.num_items());
    const auto top = m->recommend(0, 10);
    CHECK(top.size() <= 10);
    CHECK(top.is_sorted());
    const auto scores = m->score(0, top.ids);
    for (std::size_t j = 0; j < top.size(); ++j) CHECK(scores[j] == recsys::test::Approx(top.scores[j]));
    // unknown users are a normal case
    CHECK_NOTHROW(m->recommend(log.num_users() + 100, 5));
  }
}

TEST_CASE("make_model applies parameters and reports the effective ones", "[recipes]") {
  auto m = recsys::make_model("popularity", {{"last_days", "7"}});
  bool found = false;
  for (const auto& [k, v] : m->params())
    if (k == "last_days") found = v == "7";
  CHECK(found);
  // the registry's defaults equal the config's defaults
  const auto log = small_log();
  auto a = recsys::make_model("trending");
  a->fit(log);
  recsys::trending_now b;
  b.fit(log);
  CHECK(a->recommend(3, 20) == b.recommend(3, 20));
}

TEST_CASE("the registry rejects unknown recipes and parameters with the known names", "[recipes]") {
  try {
    (void)recsys::make_model("nope");
    FAIL("no throw");
  } catch (const recsys::invalid_argument& e) {
    CHECK(std::string(e.what()).find("popularity") != std::string::npos);
  }
  CHECK_THROWS_AS(recsys::make_model("popularity", {{"colour", "red"}}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::make_model("trending", {{"window", "soon"}}), recsys::invalid_argument);
  auto m = recsys::make_model("popularity");
  CHECK_FALSE(m->supports_similar_items());
  CHECK_THROWS_AS(m->similar_items(0, 3), recsys::invalid_argument);
  CHECK(m->supports_history());
}
