// SPDX-License-Identifier: Apache-2.0
// The recipe registry: every entry can be made, fitted and queried through recsys::model.
#include <recsys/eval/next_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/session_gru_model.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <limits>
#include <map>
#include <set>
#include <string>

namespace {
recsys::interaction_log recipes_log() {
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
  const auto log = recipes_log();
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    // gru4rec's defaults (GRU4Rec's RSC15 paramfile: 10 epochs, 2,048 negatives) take seconds here.
    auto m = r.make(r.name == "gru4rec" ? recsys::param_map{{"epochs", "2"}, {"n_sample", "128"}} : recsys::param_map{});
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
  const auto log = recipes_log();
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

TEST_CASE("a mistyped recipe or parameter name suggests the nearest known one", "[recipes]") {
  using recsys::detail::closest_name;
  using recsys::detail::edit_distance;
  CHECK(edit_distance("factor", "factors") == 1);
  CHECK(edit_distance("itmes", "items") == 1);  // a swap of two neighbours is one edit
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  const std::vector<std::string> names{"factors", "iterations", "regularization", "alpha"};
  CHECK(closest_name("factor", names) == "factors");
  CHECK(closest_name("regularisation", names) == "regularization");
  CHECK(closest_name("iter", names) == "iterations");  // the only name it begins
  CHECK(closest_name("alpah", names) == "alpha");
  CHECK(closest_name("colour", names).empty());
  CHECK(closest_name("x", names).empty());
  // Every recipe's set_param and the registry say it, with the full list still given.
  struct expect {
    const char* recipe;
    const char* key;
    const char* guess;
  };
  // Plain members, not structured bindings: clang before 16 cannot capture those in the lambda.
  for (const expect& e : {expect{"als", "factor", "factors"}, expect{"bpr", "factor", "factors"},
                          expect{"warp", "max_trial", "max_trials"}, expect{"item-knn", "neighbors", "neighbours"},
                          expect{"popularity", "last_day", "last_days"}, expect{"gru4rec", "layer", "layers"}}) {
    INFO(e.recipe << " " << e.key);
    const std::string msg = recsys::test::error_of([&] { (void)recsys::make_model(e.recipe, {{e.key, "1"}}); });
    CHECK(msg.find(std::string("unknown parameter '") + e.key + "'; did you mean '" + e.guess + "'?") !=
          std::string::npos);
    CHECK(msg.find("(known: ") != std::string::npos);
  }
  const std::string msg = recsys::test::error_of([] { (void)recsys::make_model("itemknn"); });
  CHECK(msg.find("unknown recipe 'itemknn'; did you mean 'item-knn'? (known: popularity") != std::string::npos);
  CHECK(recsys::test::error_of([] { (void)recsys::make_model("colour"); }).find("did you mean") == std::string::npos);
}

TEST_CASE("gru4rec: GRU4Rec's parameter names, session predictions and next-item evaluation", "[recipes][session_gru]") {
  // Defaults are GRU4Rec's RSC15 parameter file; momentum and logq follow the optimiser / loss.
  auto params_of = [](const recsys::model& m) {
    std::map<std::string, std::string> p;
    for (const auto& [k, v] : m.params()) p[k] = v;
    return p;
  };
  auto d = params_of(*recsys::make_model("gru4rec"));
  CHECK(d["loss"] == "cross-entropy");
  CHECK(d["batch_size"] == "32");
  CHECK(d["dropout_hidden"] == "0.4");
  CHECK(d["momentum"] == "0.2");
  CHECK(d["logq"] == "1");
  auto bpr = params_of(*recsys::make_model("gru4rec", {{"loss", "bpr-max"}, {"optimizer", "adam"}}));
  CHECK(bpr["logq"] == "0");
  CHECK(bpr["momentum"] == "0");
  CHECK_THROWS_AS(recsys::make_model("gru4rec", {{"loss", "bpr-max"}, {"logq", "1"}}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::make_model("gru4rec", {{"hidden", "-3"}}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::make_model("gru4rec", {{"n_epochs_typo", "3"}}), recsys::invalid_argument);
  CHECK_FALSE(recsys::make_model("popularity")->supports_next_item());
  CHECK_THROWS_AS(recsys::make_model("popularity")->evaluate_next_item(recsys::interaction_log{}), recsys::invalid_argument);

  // Sessions with a SESSION_ID: user u's sessions follow item chains i -> i+1 -> ...
  recsys::interaction_log log;
  recsys::rng g(recsys::test::seed());
  recsys::timestamp_t t = 0;
  for (int s = 0; s < 400; ++s) {
    const int user = s % 40;
    int item = static_cast<int>(g.uniform_index(30));
    const int len = 2 + static_cast<int>(g.uniform_index(4));
    for (int j = 0; j < len; ++j, ++t) {
      log.add("u" + std::to_string(user), "i" + std::to_string(item), t, "click", std::numeric_limits<float>::quiet_NaN(), "s" + std::to_string(s));
      item = (item + 1) % 30;
    }
  }
  const recsys::param_map small = {{"hidden", "16"}, {"batch_size", "8"}, {"n_sample", "16"}, {"epochs", "4"},
                                   {"learning_rate", "0.1"}, {"dropout_hidden", "0"}, {"num_threads", "1"},
                                   {"seed", "7"}};
  auto m = recsys::make_model("gru4rec", small);
  CHECK(params_of(*m)["hidden"] == "16");
  m->fit(log);
  REQUIRE(m->supports_next_item());
  REQUIRE(m->supports_history());
  const auto* gm = dynamic_cast<const recsys::session_gru_model*>(m.get());
  REQUIRE(gm != nullptr);
  CHECK(gm->get().config().layers == std::vector<recsys::index_t>{16});
  CHECK(gm->get().config().n_epochs == 4);

  // The same network evaluated directly gives the same metrics.
  const auto sessions = recsys::build_sessions(log);
  const auto direct = recsys::evaluate_next_item(gm->get(), sessions);
  const auto via = m->evaluate_next_item(log);
  CHECK(via.predictions == direct.predictions);
  CHECK(via.predictions == static_cast<std::int64_t>(log.size()) - 400);
  CHECK(via.recall == direct.recall);
  CHECK(via.mrr == direct.mrr);
  CHECK(via.recall_at(5) > 0.5);  // the chains are learnable

  // recommend(user) = the next item after the user's latest session; the history path equals it.
  const recsys::index_t u = *log.user_ids.find("u3");
  std::size_t latest = 0;
  for (std::size_t s = 0; s < sessions.size(); ++s)
    if (sessions.users[s] == u) latest = s;
  const auto items = sessions.session(latest);
  const auto top = m->recommend(u, 5);
  CHECK(top == m->recommend_for_history(items, {}, 5));
  CHECK(top.size() == 5);
  // The chain continues from the latest session's last item.
  const recsys::index_t expected = *log.item_ids.find(
      "i" + std::to_string((std::stoi(log.item_ids.id(items.back()).substr(1)) + 1) % 30));
  CHECK(top.ids.front() == expected);
  // Unknown users get the empty-session prediction, not an error.
  CHECK(m->recommend(log.num_users() + 5, 5).size() == 5);
}
