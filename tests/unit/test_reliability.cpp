// SPDX-License-Identifier: Apache-2.0
// Reliability sweeps over the recipe registry and the data readers (docs/reliability.md):
// - determinism: every recipe fitted twice with the same seed and thread count answers every
//   query bitwise identically, and (as each recipe documents) identically for 1 and 2 threads;
//   the thread-count-independent building blocks (synthetic data, splits) too;
// - bad input: empty inputs, k = 0, k beyond the catalogue, unknown ids, NaN/Inf/negative
//   hyperparameters and weights, mismatched sizes, empty / truncated / wrong-version /
//   wrong-recipe files. Each gets its documented outcome: a recsys:: exception (never another
//   type) or the documented fallback; nothing crashes (the ASan/UBSan build checks memory).
#include <recsys/data/csv.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/data/split.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/pipeline.hpp>
#include <recsys/ranking/rerank.hpp>
#include <recsys/recipes.hpp>

#include "recsys_test.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <set>
#include <limits>
#include <string>
#include <vector>

namespace {

recsys::interaction_log reliability_log(std::uint64_t salt = 0) {
  recsys::synthetic_config c;
  c.num_users = 80;
  c.num_items = 60;
  c.num_interactions = 2500;
  c.seed = recsys::test::seed() + salt;
  c.num_threads = 1;
  return recsys::generate_interactions(c);
}

bool has_param(const recsys::recipe& r, std::string_view name) {
  for (const auto& p : r.params)
    if (p.name == name) return true;
  return false;
}

// Parameters that make a recipe quick and reproducible: a seed, a thread count, few epochs.
recsys::param_map quick_params(const recsys::recipe& r, int threads) {
  recsys::param_map p;
  if (has_param(r, "seed")) p.emplace_back("seed", "7");
  if (has_param(r, "num_threads")) p.emplace_back("num_threads", std::to_string(threads));
  if (has_param(r, "epochs")) p.emplace_back("epochs", "4");
  return p;
}

// Every answer of a fitted model, with scores compared bit for bit.
struct fingerprint {
  std::vector<recsys::index_t> ids;
  std::vector<std::uint32_t> bits;
  void add(const recsys::topk_result& t) {
    ids.insert(ids.end(), t.ids.begin(), t.ids.end());
    ids.push_back(-7);  // separator
    add_scores(t.scores);
  }
  void add_scores(const std::vector<recsys::score_t>& s) {
    for (const float x : s) {
      std::uint32_t b = 0;
      std::memcpy(&b, &x, sizeof b);
      bits.push_back(b);
    }
    bits.push_back(0xdeadbeef);
  }
  friend bool operator==(const fingerprint&, const fingerprint&) = default;
};

fingerprint answers(const recsys::model& m) {
  fingerprint f;
  std::vector<recsys::index_t> all(static_cast<std::size_t>(m.num_items()));
  for (recsys::index_t i = 0; i < m.num_items(); ++i) all[static_cast<std::size_t>(i)] = i;
  for (recsys::index_t u = 0; u < m.num_users(); ++u) {
    f.add(m.recommend(u, m.num_items()));
    f.add_scores(m.score(u, all));
  }
  if (m.supports_similar_items())
    for (recsys::index_t i = 0; i < m.num_items(); ++i) f.add(m.similar_items(i, 10));
  if (m.supports_history()) {
    const std::vector<recsys::index_t> hist = {1, 4, 9};
    f.add(m.recommend_for_history(hist, {}, 20));
  }
  return f;
}

// Runs f; passes when it returns or throws a recsys::error; fails on any other exception type.
// Returns whether it threw.
template <class F>
bool recsys_error_or_value(F&& f) {
  try {
    f();
    return false;
  } catch (const recsys::error&) {
    return true;
  } catch (const std::exception& e) {
    FAIL("a non-recsys exception escaped: " << e.what());
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Determinism

TEST_CASE("determinism: every recipe, same seed and threads, gives bitwise identical answers", "[determinism]") {
  const auto log = reliability_log();
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto a = r.make(quick_params(r, 2));
    auto b = r.make(quick_params(r, 2));
    a->fit(log);
    b->fit(log);
    CHECK(answers(*a) == answers(*b));
  }
}

TEST_CASE("determinism: recipes give the same answers for 1 and 2 threads", "[determinism]") {
  // Every recipe on main documents thread-count independence: popularity/trending and
  // item-to-item are exact, BPR/WARP's deterministic schedule gives identical factors for any
  // thread count (models/bpr.hpp).
  const auto log = reliability_log(1);
  for (const auto& r : recsys::recipes()) {
    if (!has_param(r, "num_threads")) continue;
    INFO("recipe " << r.name);
    auto one = r.make(quick_params(r, 1));
    auto two = r.make(quick_params(r, 2));
    one->fit(log);
    two->fit(log);
    CHECK(answers(*one) == answers(*two));
  }
}

TEST_CASE("determinism: synthetic data and splits do not depend on the thread count", "[determinism]") {
  recsys::synthetic_config c;
  c.num_users = 300;
  c.num_items = 200;
  c.num_interactions = 20000;
  c.seed = recsys::test::seed();
  c.num_threads = 1;
  const auto one = recsys::generate_interactions(c);
  c.num_threads = 2;
  const auto two = recsys::generate_interactions(c);
  CHECK(one.users == two.users);
  CHECK(one.items == two.items);
  CHECK(one.timestamps == two.timestamps);
  CHECK(one.event_types == two.event_types);
  CHECK(one.sessions == two.sessions);
  CHECK(one.user_ids.ids() == two.user_ids.ids());
  CHECK(one.item_ids.ids() == two.item_ids.ids());

  recsys::personalize_split_options o;
  o.num_threads = 1;
  const auto s1 = recsys::personalize_split(one, 5, o);
  o.num_threads = 2;
  const auto s2 = recsys::personalize_split(one, 5, o);
  CHECK(s1.train.users == s2.train.users);
  CHECK(s1.train.items == s2.train.items);
  CHECK(s1.test.users == s2.test.users);
  CHECK(s1.test.items == s2.test.items);
  CHECK(s1.test.timestamps == s2.test.timestamps);
  const auto l1 = recsys::leave_last_split(one, 2, 1);
  const auto l2 = recsys::leave_last_split(one, 2, 2);
  CHECK(l1.test.users == l2.test.users);
  CHECK(l1.test.items == l2.test.items);
  CHECK(l1.train.items == l2.train.items);
}

// ---------------------------------------------------------------------------------------------
// Bad input: recipes

TEST_CASE("bad input: queries with k = 0, k beyond the catalogue, negative k and unknown ids", "[sweep]") {
  const auto log = reliability_log(2);
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto m = r.make(quick_params(r, 2));
    m->fit(log);
    const recsys::index_t n = m->num_items();
    const std::vector<recsys::index_t> users = {0, m->num_users() - 1, -1, m->num_users(), 1 << 30,
                                                std::numeric_limits<recsys::index_t>::max(),
                                                std::numeric_limits<recsys::index_t>::min()};
    for (const auto u : users) {
      INFO("user " << u);
      CHECK(m->recommend(u, 0).empty());
      const auto big = m->recommend(u, n + 1000);  // unknown users: documented fallback, no throw
      CHECK(big.size() <= static_cast<std::size_t>(n));
      CHECK(big.is_sorted());
      for (const float s : big.scores) CHECK(std::isfinite(s));
      // the largest k: the same list, and no buffer sized by k (the ASan build would run out)
      const auto biggest = m->recommend(u, std::numeric_limits<recsys::index_t>::max());
      CHECK(biggest.ids == big.ids);
      CHECK_THROWS_AS(m->recommend(u, -1), recsys::invalid_argument);
      // include/exclude lists with ids outside the catalogue
      const std::vector<recsys::index_t> odd = {-5, n, n + 7, 0, 0};
      recsys::recommend_options o;
      o.include = odd;
      recsys_error_or_value([&] {
        const auto t = m->recommend(u, 5, o);
        for (const auto id : t.ids) CHECK(id == 0);
      });
      o = {};
      o.exclude = odd;
      recsys_error_or_value([&] {
        const auto t = m->recommend(u, 5, o);
        CHECK(t.size() <= 5);
      });
    }
    // score(): items outside the catalogue give NaN or a recsys::invalid_argument, never garbage
    const std::vector<recsys::index_t> items = {0, -1, n, n + 100};
    for (const auto u : users) {
      recsys_error_or_value([&] {
        const auto s = m->score(u, items);
        REQUIRE(s.size() == items.size());
        CHECK(std::isfinite(s[0]));
        for (std::size_t j = 1; j < s.size(); ++j) CHECK(std::isnan(s[j]));
      });
      CHECK(m->score(u, {}).empty());
    }
    if (m->supports_history()) {
      const std::vector<recsys::index_t> hist = {0, -3, n, n + 9};
      const auto h = m->recommend_for_history(hist, {}, 5);  // unknown items are ignored
      CHECK(h.size() <= 5);
      CHECK(m->recommend_for_history({}, {}, 5).size() <= 5);
      CHECK(m->recommend_for_history(hist, {}, 0).empty());
      CHECK(m->recommend_for_history(hist, {}, std::numeric_limits<recsys::index_t>::max()).size() <=
            static_cast<std::size_t>(n));
      CHECK_THROWS_AS(m->recommend_for_history(hist, {}, -2), recsys::invalid_argument);
      const std::vector<recsys::score_t> short_weights = {1.0f};
      CHECK_THROWS_AS(m->recommend_for_history(hist, short_weights, 5), recsys::invalid_argument);
    }
    if (m->supports_similar_items()) {
      CHECK(m->similar_items(0, 0).empty());
      CHECK(m->similar_items(0, n + 10).size() <= static_cast<std::size_t>(n - 1));
      CHECK(m->similar_items(0, std::numeric_limits<recsys::index_t>::max()).size() <= static_cast<std::size_t>(n - 1));
      CHECK_THROWS_AS(m->similar_items(0, -1), recsys::invalid_argument);
      // Unknown items: popular items (item-to-item) or recsys::invalid_argument (factor models).
      for (const auto i : {recsys::index_t{-1}, n, std::numeric_limits<recsys::index_t>::max()})
        recsys_error_or_value([&] {
          const auto t = m->similar_items(i, 3);
          CHECK(t.size() <= 3);
        });
    }
  }
}

// The one query path (ranking/candidates.hpp and the top-K kernel's filter): every recipe applies
// recommend_options, k and unknown ids by the same rules (docs/reranking.md, "Query rules").
TEST_CASE("query rules: every recipe treats include, exclude, k, padding and unknown ids alike", "[sweep][query]") {
  const auto log = reliability_log(3);
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    auto m = r.make(quick_params(r, 1));
    m->fit(log);
    const recsys::index_t n = m->num_items();
    const recsys::index_t nu = m->num_users();
    const auto valid = [&](const recsys::topk_result& t, recsys::index_t k) {
      CHECK(t.is_sorted());  // score descending, ties by ascending id
      CHECK(t.size() <= static_cast<std::size_t>(k));
      std::set<recsys::index_t> distinct(t.ids.begin(), t.ids.end());
      CHECK(distinct.size() == t.size());
      for (const auto id : t.ids) CHECK((id >= 0 && id < n));
      for (const float sc : t.scores) CHECK(std::isfinite(sc));
    };
    for (const recsys::index_t u : {recsys::index_t{0}, nu / 2, nu - 1, recsys::index_t{-1}, nu}) {
      INFO("user " << u);
      // include: duplicates count once, ids outside the catalogue are ignored, so the answer is
      // the one for the clean list; only listed items come back.
      const std::vector<recsys::index_t> messy = {7, -4, 3, n, 7, 11, n + 9, 3, 0};
      const std::vector<recsys::index_t> clean = {7, 3, 11, 0};
      recsys::recommend_options a, b;
      a.include = messy;
      b.include = clean;
      const auto ta = m->recommend(u, 10, a);
      valid(ta, 10);
      CHECK(ta == m->recommend(u, 10, b));
      for (const auto id : ta.ids) CHECK(std::find(clean.begin(), clean.end(), id) != clean.end());
      // exclude: ids outside the catalogue are ignored; listed items never come back
      const std::vector<recsys::index_t> ex_messy = {-1, 2, n, 5, 5, n + 100};
      const std::vector<recsys::index_t> ex_clean = {2, 5};
      a = {};
      b = {};
      a.exclude = ex_messy;
      b.exclude = ex_clean;
      const auto te = m->recommend(u, 12, a);
      valid(te, 12);
      CHECK(te == m->recommend(u, 12, b));
      for (const auto id : te.ids) CHECK((id != 2 && id != 5));
      // k: the top k is a prefix of the top k + 10, and k beyond the catalogue is capped
      const auto t5 = m->recommend(u, 5);
      const auto t15 = m->recommend(u, 15);
      valid(t15, 15);
      REQUIRE(t5.size() <= t15.size());
      CHECK(std::equal(t5.ids.begin(), t5.ids.end(), t15.ids.begin()));
      const auto all = m->recommend(u, n + 50);
      valid(all, n);
      CHECK(all == m->recommend(u, std::numeric_limits<recsys::index_t>::max()));
      // caller buffers: the same list, padded with invalid_index and the lowest score
      const recsys::index_t kb = n + 3;
      std::vector<recsys::index_t> ids(static_cast<std::size_t>(kb));
      std::vector<recsys::score_t> scores(static_cast<std::size_t>(kb));
      const recsys::index_t one[] = {u};
      m->recommend_batch(one, kb, ids.data(), scores.data());
      for (std::size_t j = 0; j < ids.size(); ++j) {
        if (j < all.size()) {
          CHECK(ids[j] == all.ids[j]);
          CHECK(scores[j] == all.scores[j]);
        } else {
          CHECK(ids[j] == recsys::invalid_index);
          CHECK(scores[j] == std::numeric_limits<recsys::score_t>::lowest());
        }
      }
    }
    // unknown users are an empty history, whatever the index
    recsys::recommend_options o;
    const std::vector<recsys::index_t> ex = {0, 1, 2};
    o.exclude = ex;
    const auto unknown = m->recommend(-1, 8, o);
    valid(unknown, 8);
    CHECK(unknown == m->recommend(nu, 8, o));
    CHECK(unknown == m->recommend(std::numeric_limits<recsys::index_t>::min(), 8, o));
    if (m->supports_history()) CHECK(unknown == m->recommend_for_history({}, {}, 8, o));
    // an item the model knows nothing of has the popular items as its similar items
    if (m->supports_similar_items()) {
      recsys::recommend_options none;
      none.exclude_seen = false;
      const auto popular = m->recommend(-1, 6, none);
      for (const recsys::index_t i : {recsys::index_t{-1}, n, std::numeric_limits<recsys::index_t>::max()}) {
        INFO("item " << i);
        const auto t = m->similar_items(i, 6);
        valid(t, 6);
        CHECK(t.ids == popular.ids);
      }
    }
  }
}

TEST_CASE("bad input: NaN, Inf, negative and malformed hyperparameters are rejected", "[sweep]") {
  const auto log = reliability_log(3);
  // Documented exceptions: event-type lists take free text (any name is a valid EVENT_TYPE), and
  // item-to-item's min_score takes "-inf" for "no minimum" (models/item_to_item.hpp).
  const auto free_text = [](const recsys::recipe_param& p) {
    return p.help.find("EVENT_TYPE") != std::string::npos;
  };
  for (const auto& r : recsys::recipes()) {
    for (const auto& p : r.params) {
      if (free_text(p)) continue;
      for (const std::string bad : {"nan", "inf", "-inf", "1e999", "abc", "-1e999"}) {
        if (p.name == "min_score" && bad == "-inf") continue;
        INFO("recipe " << r.name << ", " << p.name << "=" << bad);
        // Either make() rejects the value or fit() does; a model must never train with it.
        bool rejected = false;
        try {
          auto m = r.make({{p.name, bad}});
          m->fit(log);
        } catch (const recsys::invalid_argument&) {
          rejected = true;
        }
        CHECK(rejected);
      }
    }
    INFO("recipe " << r.name);
    CHECK_THROWS_AS(r.make({{"no_such_parameter", "1"}}), recsys::invalid_argument);
  }
}

TEST_CASE("bad input: fitting on an empty log or a log with non-finite weights", "[sweep]") {
  for (const auto& r : recsys::recipes()) {
    INFO("recipe " << r.name);
    {
      // An empty log: a recsys::error, or a model that answers with nothing.
      auto m = r.make(quick_params(r, 2));
      const bool threw = recsys_error_or_value([&] { m->fit(recsys::interaction_log{}); });
      if (!threw) {
        CHECK(m->num_items() == 0);
        CHECK(m->recommend(0, 5).empty());
      }
    }
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      auto log = reliability_log(4);
      log.weights[3] = bad;
      auto m = r.make(quick_params(r, 2));
      // validate() refuses such a log; a recipe that does not use weights may ignore them, but
      // no score may become non-finite.
      const bool threw = recsys_error_or_value([&] { m->fit(log); });
      if (!threw)
        for (recsys::index_t u = 0; u < m->num_users(); ++u)
          for (const float s : m->recommend(u, 10).scores) CHECK(std::isfinite(s));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input: re-ranking, filters and pipelines

namespace {

// A re-ranked list is well formed: at most `limit` entries, catalogue items only, no repeats.
void check_list(const std::vector<recsys::index_t>& ids, std::size_t limit, recsys::index_t n) {
  CHECK(ids.size() <= limit);
  CHECK(std::set<recsys::index_t>(ids.begin(), ids.end()).size() == ids.size());
  for (const auto i : ids) CHECK((i >= 0 && i < n));
}

}  // namespace

TEST_CASE("bad input: re-ranking with k = 0, huge k, unknown candidates, bad settings and mismatched masks",
          "[sweep]") {
  using recsys::index_t;
  const auto log = reliability_log(5);
  recsys::bpr_config bc;
  bc.epochs = 3;
  bc.factors = 8;
  bc.num_threads = 1;
  recsys::bpr_model bpr(bc);
  bpr.fit(recsys::build_matrix(log));
  recsys::item_to_item knn;
  knn.fit(log);
  const index_t n = bpr.num_items();
  constexpr index_t huge = std::numeric_limits<index_t>::max();
  const std::vector<index_t> users = {0, -1, bpr.num_users(), huge};
  const std::vector<index_t> ks = {0, 1, n, n + 5, huge};
  const recsys::item_mask all(n, true);
  const auto some = recsys::item_mask::where(n, [](index_t i) { return i % 3 == 0; });
  const recsys::factor_similarity fsim(bpr);
  const recsys::cooccurrence_similarity csim(knn);

  // rank_candidates keeps ids the model does not know (and repeats), unscored, after the others;
  // MMR over such a pool must not look them up in the model (similarity 0).
  const std::vector<index_t> candidates = {3, -1, n, 3, huge, 1};
  for (const auto u : users) {
    INFO("user " << u);
    const auto ranked = recsys::rank_candidates(bpr, u, candidates);
    REQUIRE(ranked.ids.size() == candidates.size());
    CHECK(ranked.num_scored <= 3);
    for (std::size_t j = ranked.num_scored; j < ranked.ids.size(); ++j) CHECK(std::isnan(ranked.scores[j]));
    CHECK(recsys::rank_candidates(bpr, u, std::vector<index_t>{}).ids.empty());
    CHECK_THROWS_AS(recsys::rank_candidates(bpr, u, candidates, recsys::item_mask(n + 1)), recsys::invalid_argument);
    recsys::topk_result pool;
    for (std::size_t j = 0; j < ranked.ids.size(); ++j) pool.push_back(ranked.ids[j], ranked.scores[j]);
    for (const double lambda : {0.0, 0.5, 1.0}) {
      CHECK(recsys::diversify_mmr(pool, huge, lambda, fsim).size() == pool.size());
      CHECK(recsys::diversify_mmr(pool, huge, lambda, csim).size() == pool.size());
      CHECK(recsys::diversify_mmr(pool, 0, lambda, fsim).empty());
    }
  }
  recsys::topk_result pool = bpr.recommend(0, 10);
  for (const double bad : {std::nan(""), -0.1, 1.5, std::numeric_limits<double>::infinity()})
    CHECK_THROWS_AS(recsys::diversify_mmr(pool, 3, bad, fsim), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::diversify_mmr(pool, -1, 0.5, fsim), recsys::invalid_argument);
  std::vector<recsys::score_t> short_out(1);
  const std::vector<index_t> two = {0, 1};
  CHECK_THROWS_AS(fsim(0, two, short_out), recsys::invalid_argument);
  CHECK_THROWS_AS(csim(0, two, short_out), recsys::invalid_argument);

  // blend: a huge k costs no more than the entries given; negative slots and k are errors
  std::vector<recsys::slot_group> groups(1);
  groups[0].slots = huge;
  groups[0].items = bpr.recommend(1, 5);
  const auto blended = recsys::blend(pool, groups, huge, 7, 0);
  check_list(blended.ids, pool.size() + groups[0].items.size(), n);
  CHECK(recsys::blend(pool, groups, 0).ids.empty());
  CHECK_THROWS_AS(recsys::blend(pool, groups, -1), recsys::invalid_argument);
  groups[0].slots = -1;
  CHECK_THROWS_AS(recsys::blend(pool, groups, 5), recsys::invalid_argument);

  // promotions
  for (const int percent : {0, -5, 101}) {
    recsys::promotion p;
    p.percent = percent;
    CHECK_THROWS_AS(recsys::recommend_with_promotion(bpr, 0, 5, all, some, p), recsys::invalid_argument);
  }
  recsys::promotion promo;
  promo.percent = 30;
  promo.placement = recsys::slot_placement::random;
  for (const auto u : users)
    for (const auto k : ks) {
      INFO("user " << u << ", k " << k);
      check_list(recsys::recommend_with_promotion(bpr, u, k, all, some, promo).ids,
                 static_cast<std::size_t>(std::min(k, n)), n);
    }
  CHECK_THROWS_AS(recsys::recommend_with_promotion(bpr, 0, -1, all, some, promo), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::recommend_with_promotion(bpr, 0, 5, recsys::item_mask(n - 1), some, promo),
                  recsys::invalid_argument);

  // exploration
  const auto bad_config = [](auto&& change) {
    recsys::exploration_config c;
    change(c);
    return c;
  };
  const double nan = std::nan("");
  for (const auto& c : {bad_config([&](auto& c) { c.weight = nan; }), bad_config([](auto& c) { c.weight = -0.1; }),
                        bad_config([](auto& c) { c.weight = 1.1; }),
                        bad_config([](auto& c) { c.item_age_cutoff_days = 0; }),
                        bad_config([&](auto& c) { c.item_age_cutoff_days = nan; }),
                        bad_config([](auto& c) { c.item_age_cutoff_days = std::numeric_limits<double>::infinity(); }),
                        bad_config([](auto& c) { c.max_interactions = -2; })})
    CHECK_THROWS_AS(recsys::new_item_explorer(log, nullptr, c), recsys::invalid_argument);
  recsys::exploration_config ec;
  ec.weight = 0.5;
  ec.max_interactions = -1;
  const recsys::new_item_explorer explorer(log, nullptr, ec);
  for (const auto u : users)
    for (const auto k : ks) {
      INFO("user " << u << ", k " << k);
      check_list(recsys::recommend_with_exploration(bpr, u, k, explorer, all).ids,
                 static_cast<std::size_t>(std::min(k, n)), n);
    }
  CHECK_THROWS_AS(recsys::recommend_with_exploration(bpr, 0, -1, explorer, all), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::recommend_with_exploration(bpr, 0, 5, explorer, recsys::item_mask(n + 3)),
                  recsys::invalid_argument);

  // filters: malformed expressions, missing $PARAMETER values, unknown users and items
  for (const char* text : {"", "EXCLUDE", "EXCLUDE ItemID WHERE", "INCLUDE ItemID WHERE Items.X IN", "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"a\""})
    CHECK_THROWS_AS(recsys::item_filter(text, {&log, nullptr}), recsys::error);
  const recsys::item_filter by_type("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($TYPES)", {&log, nullptr});
  for (const auto u : users) {
    INFO("user " << u);
    recsys_error_or_value([&] { CHECK(by_type.allowed(u).size() == n); });  // $TYPES missing
    const recsys::filter_params values{{"TYPES", {"view", "no-such-type"}}};
    CHECK(by_type.allowed(u, values).size() == n);
    for (const auto i : {index_t{-1}, n, huge}) CHECK_FALSE(by_type.allows(u, i, values));
  }

  // a pipeline: every stage, any user, any k
  recsys::pipeline pl(bpr);
  pl.add_source(recsys::recent_neighbours_source("neighbours", knn, log, 3, 20));
  pl.set_promotion(recsys::item_filter("INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"view\")", {&log, nullptr}),
                   promo);
  pl.set_exploration(explorer);
  pl.set_diversity(fsim, 0.7);
  for (const auto u : users)
    for (const auto k : ks) {
      INFO("user " << u << ", k " << k);
      check_list(pl.recommend(u, k).ids, static_cast<std::size_t>(std::min(k, n)), n);
    }
  CHECK_THROWS_AS(pl.recommend(0, -1), recsys::invalid_argument);
  CHECK_THROWS_AS(pl.set_diversity(fsim, nan), recsys::invalid_argument);
  CHECK_THROWS_AS(pl.set_exploration(recsys::new_item_explorer()), recsys::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Bad input: readers and files

TEST_CASE("bad input: readers on empty, truncated and missing inputs", "[sweep]") {
  CHECK_THROWS_AS(recsys::parse_interactions_csv("", "empty"), recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_interactions_csv("\xef\xbb\xbf", "bom only"), recsys::io_error);
  CHECK(recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP\n", "header").empty());
  CHECK_THROWS_AS(recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP\nu1,i1", "truncated row"), recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP\n\"u1,i1,3\n", "open quote"),
                  recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP\nu,i,99999999999999999999\n", "overflow"),
                  recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_interactions_csv("USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\nu,i,1,nan\n", "nan"),
                  recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_delimited("", "empty", recsys::raw_format::movielens()), recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_items_csv("", "empty"), recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_items_csv("ITEM_ID,PRICE\ni1,3\ni2", "truncated"), recsys::io_error);
  CHECK(recsys::parse_baskets("", "empty").empty());
  CHECK_THROWS_AS(recsys::filter_expression::parse(""), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::filter_expression::parse("EXCLUDE ItemID WHERE Items.PRICE >"), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::detail::json::parse(""), recsys::io_error);
  CHECK_THROWS_AS(recsys::detail::json::parse("{\"a\": [1, 2"), recsys::io_error);
  CHECK_THROWS_AS(recsys::parse_npy<float>("", "empty"), recsys::io_error);

  const auto dir = recsys::test::scratch_dir("sweep-readers");
  CHECK_THROWS_AS(recsys::read_interactions_csv(dir / "missing.csv"), recsys::io_error);
  CHECK_THROWS_AS(recsys::read_items_csv(dir / "missing.csv"), recsys::io_error);
  CHECK_THROWS_AS(recsys::read_baskets(dir / "missing.csv", {}), recsys::io_error);
  CHECK_THROWS_AS(recsys::read_npy<float>(dir / "missing.npy"), recsys::io_error);
  CHECK_THROWS_AS(recsys::read_interactions_csv(dir), recsys::io_error);  // a directory
  // Every prefix of a valid .npy file (but the whole) is rejected with io_error.
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  const std::int64_t shape[2] = {2, 3};
  const std::string bytes = recsys::detail::npy_bytes<float>(v.data(), shape);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    INFO("prefix " << len);
    CHECK_THROWS_AS(recsys::parse_npy<float>(std::string_view(bytes).substr(0, len), "prefix"), recsys::io_error);
  }
  CHECK(recsys::parse_npy<float>(bytes, "whole").data == v);
  CHECK_THROWS_AS(recsys::parse_npy<double>(bytes, "wrong type"), recsys::io_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad input: model directories that are empty, truncated, of another version or recipe", "[sweep]") {
  namespace fs = std::filesystem;
  const auto dir = recsys::test::scratch_dir("sweep-model");
  const auto model = dir / "model";
  const auto write_model = [&] {
    recsys::model_writer w(model, "bpr");
    recsys::row_matrix<float> f(3, 2);
    f << 1, 2, 3, 4, 5, 6;
    w.add_matrix("item_factors", f);
    w.commit();
  };
  const auto read_manifest = [&] {
    std::ifstream in(model / "manifest.json");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const auto write_file = [](const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
  };
  write_model();
  const std::string manifest = read_manifest();
  CHECK(recsys::model_reader(model, "bpr").matrix<float>("item_factors", 3, 2)(2, 1) == 6.0f);

  CHECK_THROWS_AS(recsys::model_reader(dir / "nothing"), recsys::io_error);
  CHECK_THROWS_AS(recsys::model_reader(model, "warp"), recsys::io_error);  // wrong recipe
  {
    const recsys::model_reader r(model);
    CHECK_THROWS_AS(r.matrix<float>("item_factors", 4, 2), recsys::io_error);  // mismatched dims
    CHECK_THROWS_AS(r.matrix<double>("item_factors"), recsys::io_error);       // wrong dtype
    CHECK_THROWS_AS(r.vector<float>("item_factors"), recsys::io_error);        // wrong rank
    CHECK_THROWS_AS(r.matrix<float>("user_factors"), recsys::io_error);        // missing entry
  }
  const std::vector<std::pair<std::string, std::string>> bad_manifests = {
      {"empty", ""},
      {"truncated", manifest.substr(0, manifest.size() / 2)},
      {"not an object", "[1, 2]"},
      {"version 2", [&] {
         auto s = manifest;
         s.replace(s.find("\"format_version\": 1"), 19, "\"format_version\": 2");
         return s;
       }()},
      {"other format", [&] {
         auto s = manifest;
         s.replace(s.find("recsys-model"), 12, "other-format");
         return s;
       }()},
  };
  for (const auto& [what, text] : bad_manifests) {
    INFO("manifest: " << what);
    write_file(model / "manifest.json", text);
    CHECK_THROWS_AS(recsys::model_reader(model), recsys::io_error);
  }
  // A truncated or modified array file: the size / checksum check catches it.
  write_model();
  const auto npy = model / "item_factors.npy";
  const auto size = fs::file_size(npy);
  fs::resize_file(npy, size - 4);
  CHECK_THROWS_AS(recsys::model_reader(model).matrix<float>("item_factors"), recsys::io_error);
  write_model();
  {
    std::fstream f(npy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 1));
    f.put('\x7f');
  }
  CHECK_THROWS_AS(recsys::model_reader(model).matrix<float>("item_factors"), recsys::io_error);
  // A commit never leaves a half-written model behind: the directory only ever holds a whole one.
  write_model();
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Regressions found by these sweeps under AddressSanitizer

TEST_CASE("item_to_item: an item that co-occurs with every item, repeatedly, stays inside the scratch buffers",
          "[item_to_item][sweep]") {
  // The co-occurrence product wrote touched[nt] before knowing whether column j was new, into a
  // buffer of exactly m entries: once all m columns of a row were touched, the next repeated
  // column was written at index m (heap-buffer-overflow, found by the determinism test on a
  // 60-item synthetic log). Only AddressSanitizer sees the overflow; the result checks guard
  // the fix itself.
  recsys::interaction_log log;
  for (int u = 0; u < 4; ++u)
    for (int i = 0; i < 3; ++i)
      log.add("u" + std::to_string(u), "i" + std::to_string(i), u * 10 + i);  // every user has every item
  for (const char* recipe : {"item-knn", "sims"}) {
    INFO(recipe);
    auto m = recsys::make_model(recipe, {{"num_threads", "1"}});
    m->fit(log);
    const auto s = m->similar_items(0, 5);
    CHECK(s.size() <= 2);
    for (const auto id : s.ids) CHECK((id == 1 || id == 2));
  }
}
