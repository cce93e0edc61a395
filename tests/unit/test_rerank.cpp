// SPDX-License-Identifier: Apache-2.0
// Re-ranking (ranking/rerank.hpp) and pipelines (ranking/pipeline.hpp): personalized ranking,
// slot arithmetic, promotions and exploration with exact slot counts, MMR against a naive
// reference, and pipelines equal to composing their stages by hand.
#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/data/split.hpp>
#include <recsys/data/synthetic.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/eval/evaluator.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/random.hpp>
#include <recsys/recipes.hpp>
#include <recsys/ranking/filter.hpp>
#include <recsys/ranking/pipeline.hpp>
#include <recsys/ranking/rerank.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <functional>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using recsys::index_t;
using recsys::score_t;
using recsys::slot_kind;

// A small synthetic shop: log, Items metadata (CATEGORY = taste cluster, PRICE, BRAND,
// CREATION_TIMESTAMP for a quarter of the items, some of them recent), fitted models.
struct shop {
  recsys::synthetic_config config;
  recsys::interaction_log log;
  recsys::metadata_table items;
  recsys::popularity_count popular;
  recsys::item_to_item knn;
  recsys::bpr_model bpr;

  shop() {
    config.num_users = 300;
    config.num_items = 240;
    config.num_interactions = 6000;
    config.seed = recsys::test::seed();
    config.num_threads = 1;
    log = recsys::generate_interactions(config);
    const auto truth = recsys::synthetic_ground_truth(config);
    recsys::rng g(config.seed, recsys::stream_tag("test.rerank.items"));
    const auto newest = log.time_range().second;
    std::ostringstream csv;
    csv << "ITEM_ID,CATEGORY,PRICE,BRAND,CREATION_TIMESTAMP\n";
    for (index_t i = 0; i < log.num_items(); ++i) {
      csv << log.item_ids.id(i) << ",c" << truth.item_cluster[static_cast<std::size_t>(i)] << ','
          << g.uniform_index(300) << ',' << (g.uniform_index(4) == 0 ? "velo" : "acme") << ',';
      if (g.uniform_index(4) == 0) csv << newest - static_cast<recsys::timestamp_t>(g.uniform_index(60)) * 86400;
      csv << '\n';
    }
    items = recsys::parse_items_csv(csv.str(), "items.csv");
    popular.fit(log);
    knn.fit(log);
    recsys::bpr_config bc;
    bc.factors = 16;
    bc.epochs = 10;
    bc.num_threads = 1;
    bpr = recsys::bpr_model(bc);
    bpr.fit(recsys::build_matrix(log));
  }
  [[nodiscard]] recsys::filter_data data() const { return {&log, &items}; }
};

const shop& the_shop() {
  static const shop s;
  return s;
}

bool has_duplicates(std::vector<index_t> ids) {
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) != ids.end();
}

// Whether `sub` appears in `seq` in the same relative order.
bool is_subsequence(const std::vector<index_t>& sub, const std::vector<index_t>& seq) {
  std::size_t j = 0;
  for (const index_t x : seq)
    if (j < sub.size() && sub[j] == x) ++j;
  return j == sub.size();
}

std::vector<index_t> of_kind(const recsys::reranked_list& l, slot_kind k) {
  std::vector<index_t> out;
  for (std::size_t j = 0; j < l.size(); ++j)
    if (l.kinds[j] == k) out.push_back(l.ids[j]);
  return out;
}

}  // namespace

// The one query path of the recipes that rank one query at a time (ranking/candidates.hpp)
// against a naive reference: every allowed (score, id), fully sorted by ranks_before, cut to k.
TEST_CASE("query path: allowed_items, rank_dense and rank_items equal a full sort", "[rerank][query]") {
  recsys::rng g(recsys::test::seed() + 41);
  for (const recsys::index_t n : {0, 1, 63, 64, 65, 200, 1000}) {
    std::vector<recsys::score_t> sc(static_cast<std::size_t>(n));
    for (auto& v : sc) {  // few distinct values (ties) and some NaN
      v = g.bernoulli(0.05) ? std::numeric_limits<recsys::score_t>::quiet_NaN()
                            : static_cast<recsys::score_t>(g.uniform_index(10));
    }
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<recsys::index_t> include, exclude, seen;
      for (int j = 0; j < 12; ++j) {  // ids inside and outside the catalogue, duplicates
        const auto pick = [&] { return static_cast<recsys::index_t>(g.uniform_index(static_cast<std::uint32_t>(n + 7))) - 3; };
        if (trial % 2 == 1) include.push_back(pick());
        exclude.push_back(pick());
        seen.push_back(pick());
      }
      recsys::recommend_options o;
      o.include = include;
      o.exclude = exclude;
      o.exclude_seen = trial % 3 != 2;
      const recsys::item_mask allowed = recsys::detail::allowed_items(n, o, seen);
      // the mask: what the rules say, item by item
      for (recsys::index_t i = 0; i < n; ++i) {
        const auto has = [&](const std::vector<recsys::index_t>& v) { return std::find(v.begin(), v.end(), i) != v.end(); };
        const bool want = (include.empty() || has(include)) && !has(exclude) && !(o.exclude_seen && has(seen));
        CHECK(allowed.test(i) == want);
      }
      std::vector<recsys::detail::scored_id> all;
      allowed.for_each([&](recsys::index_t i) { all.push_back({sc[static_cast<std::size_t>(i)], i}); });
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return recsys::detail::ranks_before(a, b); });
      for (const recsys::index_t k : {recsys::index_t{0}, recsys::index_t{1}, recsys::index_t{5}, recsys::index_t{64},
                                      recsys::index_t{65}, n, n + 3}) {
        INFO("n " << n << " trial " << trial << " k " << k);
        recsys::topk_result want;
        for (std::size_t j = 0; j < all.size() && j < static_cast<std::size_t>(k); ++j) want.push_back(all[j].id, all[j].score);
        recsys::detail::topk_heap heap;
        recsys::topk_result dense;
        recsys::detail::rank_dense(allowed, sc, k, heap, dense);
        const auto by_item = recsys::detail::rank_items(allowed, k, [&](recsys::index_t i) { return sc[static_cast<std::size_t>(i)]; });
        REQUIRE(dense.size() == want.size());
        REQUIRE(by_item.size() == want.size());
        for (std::size_t j = 0; j < want.size(); ++j) {  // NaN != NaN: compare ids and bits
          CHECK(dense.ids[j] == want.ids[j]);
          CHECK(by_item.ids[j] == want.ids[j]);
          CHECK(std::bit_cast<std::uint32_t>(dense.scores[j]) == std::bit_cast<std::uint32_t>(want.scores[j]));
        }
      }
    }
  }
  // the popularity order and the first allowed items along it
  const std::vector<recsys::score_t> pop = {3, 5, 5, 0, 3};
  CHECK(recsys::detail::popularity_order(pop) == std::vector<recsys::index_t>{1, 2, 0, 4, 3});
  recsys::item_mask m(5);
  m.set(2, false);
  const auto first = recsys::detail::first_allowed(recsys::detail::popularity_order(pop), pop, m, 3);
  CHECK(first.ids == std::vector<recsys::index_t>{1, 0, 4});
  CHECK(first.scores == std::vector<recsys::score_t>{5, 3, 3});
}

TEST_CASE("rank_candidates sorts scored candidates stably and keeps unscored ones last in input order", "[rerank]") {
  const shop& s = the_shop();
  const index_t n = s.log.num_items();
  for (const index_t user : {index_t{0}, index_t{7}, index_t{-1}}) {
    std::vector<index_t> cands = {5, 17, recsys::invalid_index, 3, 17, n + 4, 100, 42, 9, 2, n, 64};
    for (const auto& scores_of : {0, 1}) {
      const recsys::ranked_candidates r = scores_of == 0 ? recsys::rank_candidates(s.bpr, user, cands)
                                                         : recsys::rank_candidates(s.popular, user, cands);
      const std::vector<score_t> sc = scores_of == 0 ? s.bpr.score(user, cands) : s.popular.score(user, cands);
      // reference: stable sort of the in-catalogue candidates by score, then the others in order
      std::vector<std::size_t> scored, unscored;
      for (std::size_t j = 0; j < cands.size(); ++j)
        (cands[j] >= 0 && cands[j] < n ? scored : unscored).push_back(j);
      std::stable_sort(scored.begin(), scored.end(), [&](std::size_t a, std::size_t b) { return sc[a] > sc[b]; });
      scored.insert(scored.end(), unscored.begin(), unscored.end());
      CHECK(r.positions == scored);
      CHECK(r.num_scored == cands.size() - 3);
      REQUIRE(r.size() == cands.size());
      for (std::size_t j = 0; j < r.size(); ++j) {
        CHECK(r.ids[j] == cands[r.positions[j]]);
        if (j < r.num_scored) CHECK(r.scores[j] == sc[r.positions[j]]);
        else CHECK(std::isnan(r.scores[j]));
      }
    }
  }
  // ties keep the input order: popularity gives equal counts to many items
  std::vector<index_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  std::reverse(all.begin(), all.end());
  const auto r = recsys::rank_candidates(s.popular, 0, all);
  for (std::size_t j = 1; j < r.size(); ++j)
    if (r.scores[j] == r.scores[j - 1]) CHECK(r.positions[j] > r.positions[j - 1]);
  // with a mask: disallowed catalogue items are dropped, outside ones kept unscored
  const recsys::item_mask mask = recsys::item_mask::where(n, [](index_t i) { return i % 2 == 0; });
  const std::vector<index_t> cands = {1, 2, 3, 4, -1, 6};
  const auto m = recsys::rank_candidates(s.bpr, 0, cands, mask);
  CHECK(m.size() == 4);
  CHECK(m.ids.back() == -1);
  CHECK(m.positions.back() == 4);
  for (std::size_t j = 0; j < m.size(); ++j) CHECK(cands[m.positions[j]] == m.ids[j]);
  CHECK(recsys::rank_candidates(s.bpr, 0, std::vector<index_t>{}).size() == 0);
}

TEST_CASE("slot counts: ceil of k times the share, exactly", "[rerank]") {
  for (index_t k = 0; k <= 60; ++k) {
    for (int p = 0; p <= 100; ++p) {
      const index_t s = recsys::promotion_slots(k, p);
      CHECK(static_cast<std::int64_t>(s) * 100 >= static_cast<std::int64_t>(k) * p);
      CHECK((s == 0 || static_cast<std::int64_t>(s - 1) * 100 < static_cast<std::int64_t>(k) * p));
      CHECK(recsys::exploration_slots(k, p / 100.0) == s);  // 0.3 of 10 is 3, not 4
    }
  }
  CHECK(recsys::exploration_slots(10, 0.3) == 3);
  CHECK(recsys::exploration_slots(10, 0.31) == 4);
  CHECK(recsys::exploration_slots(25, 0.001) == 1);
  CHECK(recsys::exploration_slots(25, 0.0) == 0);
  CHECK_THROWS_AS(recsys::promotion_slots(10, 101), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::exploration_slots(10, 1.5), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::exploration_slots(-1, 0.5), recsys::invalid_argument);

  recsys::rng r(1);
  using v = std::vector<index_t>;
  CHECK(recsys::slot_positions(10, 3, recsys::slot_placement::spread, r) == v{1, 5, 8});
  CHECK(recsys::slot_positions(10, 1, recsys::slot_placement::spread, r) == v{5});
  CHECK(recsys::slot_positions(10, 10, recsys::slot_placement::spread, r) == v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(recsys::slot_positions(10, 3, recsys::slot_placement::first, r) == v{0, 1, 2});
  CHECK(recsys::slot_positions(10, 3, recsys::slot_placement::last, r) == v{7, 8, 9});
  CHECK(recsys::slot_positions(10, 0, recsys::slot_placement::random, r).empty());
  for (index_t n = 1; n < 40; ++n)
    for (index_t s = 0; s <= n; ++s)
      for (auto p : {recsys::slot_placement::spread, recsys::slot_placement::random}) {
        const auto pos = recsys::slot_positions(n, s, p, r);
        CHECK(pos.size() == static_cast<std::size_t>(s));
        CHECK(std::is_sorted(pos.begin(), pos.end()));
        CHECK(std::adjacent_find(pos.begin(), pos.end()) == pos.end());
        CHECK((pos.empty() || (pos.front() >= 0 && pos.back() < n)));
      }
  recsys::rng a(7), b(7);
  CHECK(recsys::slot_positions(50, 9, recsys::slot_placement::random, a) ==
        recsys::slot_positions(50, 9, recsys::slot_placement::random, b));
  CHECK_THROWS_AS(recsys::slot_positions(3, 4, recsys::slot_placement::first, r), recsys::invalid_argument);
}

TEST_CASE("blend: exact group counts at the documented positions, no duplicates, shortfalls filled", "[rerank]") {
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.rerank.blend"));
  const auto list = [](index_t from, index_t count) {
    recsys::topk_result r;
    for (index_t j = 0; j < count; ++j) r.push_back(from + j, static_cast<score_t>(1000 - j));
    return r;
  };
  for (int t = 0; t < 400; ++t) {
    const auto k = static_cast<index_t>(g.uniform_index(30));
    const bool plenty = t % 2 == 0;  // every source long enough and disjoint: counts exact
    const auto len = [&] { return plenty ? k : static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(k) + 3)); };
    const recsys::topk_result ranked = list(0, len());
    std::vector<recsys::slot_group> groups(2);
    groups[0].kind = slot_kind::promoted;
    groups[0].slots = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(k) + 1));
    groups[0].placement = static_cast<recsys::slot_placement>(g.uniform_index(4));
    groups[0].items = list(plenty ? 1000 : static_cast<index_t>(g.uniform_index(10)), len());  // may overlap
    groups[1].kind = slot_kind::explored;
    groups[1].slots = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(k) + 1));
    groups[1].placement = static_cast<recsys::slot_placement>(g.uniform_index(4));
    groups[1].items = list(plenty ? 2000 : static_cast<index_t>(g.uniform_index(10)), len());
    const recsys::reranked_list out = recsys::blend(ranked, groups, k, 99, t);
    INFO("t " << t << " k " << k);
    CHECK_FALSE(has_duplicates(out.ids));
    std::set<index_t> distinct(ranked.ids.begin(), ranked.ids.end());
    for (const auto& gr : groups) distinct.insert(gr.items.ids.begin(), gr.items.ids.end());
    CHECK(out.size() == std::min<std::size_t>(static_cast<std::size_t>(k), distinct.size()));
    CHECK(is_subsequence(of_kind(out, slot_kind::ranked), ranked.ids));
    CHECK(is_subsequence(of_kind(out, slot_kind::promoted), groups[0].items.ids));
    CHECK(is_subsequence(of_kind(out, slot_kind::explored), groups[1].items.ids));
    // each entry keeps the score it has in the list it was taken from
    for (std::size_t j = 0; j < out.size(); ++j) {
      const recsys::topk_result& src = out.kinds[j] == slot_kind::ranked     ? ranked
                                       : out.kinds[j] == slot_kind::promoted ? groups[0].items
                                                                             : groups[1].items;
      const auto at = std::find(src.ids.begin(), src.ids.end(), out.ids[j]);
      REQUIRE(at != src.ids.end());
      CHECK(out.scores[j] == src.scores[static_cast<std::size_t>(at - src.ids.begin())]);
    }
    if (plenty) {
      // the documented positions: group 0 among all k, group 1 among the rest
      recsys::rng r = recsys::placement_rng(99, t);
      const index_t s0 = std::min(groups[0].slots, k);
      const auto p0 = recsys::slot_positions(k, s0, groups[0].placement, r);
      std::vector<index_t> rest;
      for (index_t p = 0; p < k; ++p)
        if (std::find(p0.begin(), p0.end(), p) == p0.end()) rest.push_back(p);
      const index_t s1 = std::min(groups[1].slots, static_cast<index_t>(rest.size()));
      const auto p1 = recsys::slot_positions(static_cast<index_t>(rest.size()), s1, groups[1].placement, r);
      CHECK(out.count(slot_kind::promoted) == static_cast<std::size_t>(s0));
      CHECK(out.count(slot_kind::explored) == static_cast<std::size_t>(s1));
      for (const index_t p : p0) CHECK(out.kinds[static_cast<std::size_t>(p)] == slot_kind::promoted);
      for (const index_t p : p1)
        CHECK(out.kinds[static_cast<std::size_t>(rest[static_cast<std::size_t>(p)])] == slot_kind::explored);
    }
  }
  // a group with fewer items than slots hands its positions to the main ranking
  std::vector<recsys::slot_group> one(1);
  one[0].slots = 5;
  one[0].placement = recsys::slot_placement::first;
  one[0].items = list(500, 2);
  const auto out = recsys::blend(list(0, 20), one, 10);
  CHECK(out.ids == std::vector<index_t>{500, 501, 0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(out.count(slot_kind::promoted) == 2);
  // the main ranking running out: the groups' remaining items follow
  const auto out2 = recsys::blend(list(0, 2), one, 10);
  CHECK(out2.ids == std::vector<index_t>{500, 501, 0, 1});
}

TEST_CASE("promotions: exactly ceil(k * percent / 100) promoted items, ranked by the model", "[rerank]") {
  const shop& s = the_shop();
  const index_t n = s.log.num_items();
  const recsys::item_filter velo("INCLUDE ItemID WHERE Items.BRAND IN (\"velo\")", s.data());
  const recsys::item_filter not_velo("EXCLUDE ItemID WHERE Items.BRAND IN (\"velo\")", s.data());
  for (const int percent : {1, 10, 25, 30, 50, 100}) {
    for (const index_t k : {1, 5, 10, 20}) {
      for (const index_t user : {index_t{0}, index_t{13}, index_t{-1}}) {
        recsys::promotion p;
        p.name = "velo";
        p.percent = percent;
        p.placement = static_cast<recsys::slot_placement>((percent + k) % 4);
        p.seed = 5;
        const recsys::item_mask promo = velo.allowed(user);
        const recsys::item_mask request = not_velo.allowed(user);
        const auto list = recsys::recommend_with_promotion(s.bpr, user, k, request, promo, p);
        INFO("percent " << percent << " k " << k << " user " << user);
        const index_t slots = recsys::promotion_slots(k, percent);
        REQUIRE(list.size() == static_cast<std::size_t>(k));
        CHECK(list.count(slot_kind::promoted) == static_cast<std::size_t>(slots));
        CHECK_FALSE(has_duplicates(list.ids));
        // promoted: the model's best velo items, in order; the others: its best non-velo items
        const recsys::filtered_options po(promo, {});
        const recsys::filtered_options ro(request, {});
        const auto best_promo = s.bpr.recommend(user, slots, po.options());
        const auto best_other = s.bpr.recommend(user, k - slots, ro.options());
        CHECK(of_kind(list, slot_kind::promoted) == best_promo.ids);
        CHECK(of_kind(list, slot_kind::ranked) == best_other.ids);
        for (std::size_t j = 0; j < list.size(); ++j)
          CHECK(list.scores[j] ==
                recsys::test::Approx(s.bpr.score(user, std::vector<index_t>{list.ids[j]})[0]).epsilon(1e-5));
        // the same request is the same list
        CHECK(recsys::recommend_with_promotion(s.bpr, user, k, request, promo, p) == list);
      }
    }
  }
  // overlapping masks (the request allows velo items too): counts stay exact, no duplicates
  recsys::promotion p;
  p.percent = 30;
  const auto list = recsys::recommend_with_promotion(s.popular, 0, 10, recsys::item_mask(n), velo.allowed(0), p);
  CHECK(list.size() == 10);
  CHECK(list.count(slot_kind::promoted) == 3);
  CHECK_FALSE(has_duplicates(list.ids));
  // fewer promotable items than slots: as many as exist, the list still full
  const recsys::item_mask two = recsys::item_mask::of(n, std::vector<index_t>{3, 4});
  p.percent = 50;
  const auto short_promo = recsys::recommend_with_promotion(s.bpr, 0, 10, not_velo.allowed(0), two, p);
  CHECK(short_promo.size() == 10);
  CHECK(short_promo.count(slot_kind::promoted) <= 2);
  p.percent = 0;
  CHECK_THROWS_AS(recsys::recommend_with_promotion(s.bpr, 0, 10, two, two, p), recsys::invalid_argument);
}

TEST_CASE("exploration: new items by age and interactions, exact slot counts, seeded draws", "[rerank]") {
  const shop& s = the_shop();
  const index_t n = s.log.num_items();
  recsys::exploration_config cfg;
  cfg.weight = 0.3;
  cfg.item_age_cutoff_days = 30;
  cfg.max_interactions = 40;
  const recsys::new_item_explorer ex(s.log, &s.items, cfg);
  // eligibility against a direct computation
  const auto& created = s.items.field("CREATION_TIMESTAMP");
  const auto newest = s.log.time_range().second;
  index_t eligible = 0;
  for (index_t i = 0; i < n; ++i) {
    std::int64_t events = 0;
    recsys::timestamp_t first = recsys::missing_timestamp;
    for (std::size_t r = 0; r < s.log.size(); ++r)
      if (s.log.items[r] == i) {
        ++events;
        if (first == recsys::missing_timestamp || s.log.timestamps[r] < first) first = s.log.timestamps[r];
      }
    const auto row = static_cast<std::size_t>(*s.items.row_of(s.log.item_ids.id(i)));
    const auto c = created.timestamps[row] != recsys::missing_timestamp ? created.timestamps[row] : first;
    CHECK(ex.created(i) == c);
    CHECK(ex.interactions(i) == events);
    const bool want = c != recsys::missing_timestamp && newest - c < 30 * 86400 && events <= 40;
    CHECK(ex.eligible().test(i) == want);
    eligible += want ? 1 : 0;
  }
  REQUIRE(eligible >= 20);
  CHECK(ex.now() == newest);
  // draws: a sample of eligible & allowed & unseen items, deterministic per (seed, user)
  const recsys::item_mask allowed = recsys::item_mask::where(n, [](index_t i) { return i % 3 != 0; });
  for (const index_t user : {index_t{0}, index_t{5}, index_t{-1}}) {
    const auto d = ex.draw(user, 8, allowed);
    CHECK(d == ex.draw(user, 8, allowed));
    CHECK_FALSE(has_duplicates(d));
    const auto seen = ex.seen_items(user);
    for (const index_t i : d) {
      CHECK(ex.eligible().test(i));
      CHECK(allowed.test(i));
      CHECK(std::find(seen.begin(), seen.end(), i) == seen.end());
    }
    CHECK(d.size() == 8);
    const auto all = ex.draw(user, n, allowed);
    CHECK(std::vector<index_t>(all.begin(), all.begin() + 8) == d);  // one stream: a longer draw extends it
  }
  CHECK(ex.draw(0, 8, allowed) != ex.draw(1, 8, allowed));
  recsys::exploration_config other = cfg;
  other.seed = 43;
  CHECK(recsys::new_item_explorer(s.log, &s.items, other).draw(0, 8, allowed) != ex.draw(0, 8, allowed));
  // recommend_with_exploration: explored slots exact
  for (const double w : {0.0, 0.1, 0.3, 0.5}) {
    recsys::exploration_config c = cfg;
    c.weight = w;
    const recsys::new_item_explorer e(s.log, &s.items, c);
    for (const index_t k : {4, 10, 25}) {
      const auto list = recsys::recommend_with_exploration(s.bpr, 3, k, e, allowed);
      INFO("weight " << w << " k " << k);
      CHECK(list.size() == static_cast<std::size_t>(k));
      const auto explored = of_kind(list, slot_kind::explored);
      CHECK(explored.size() == static_cast<std::size_t>(recsys::exploration_slots(k, w)));
      CHECK(is_subsequence(explored, e.draw(3, k, allowed)));  // in draw order (earlier draws may rank)
      CHECK_FALSE(has_duplicates(list.ids));
      for (const index_t i : list.ids) CHECK(allowed.test(i));
    }
  }
  // without CREATION_TIMESTAMP ages come from first interactions
  const recsys::new_item_explorer by_log(s.log, nullptr, cfg);
  CHECK(by_log.created(0) <= newest);
  recsys::exploration_config bad = cfg;
  bad.item_age_cutoff_days = 0;
  CHECK_THROWS_AS(recsys::new_item_explorer(s.log, nullptr, bad), recsys::invalid_argument);
  bad = cfg;
  bad.weight = -0.1;
  CHECK_THROWS_AS(recsys::new_item_explorer(s.log, nullptr, bad), recsys::invalid_argument);
}

namespace {
// MMR written directly from its definition, with pairwise similarities.
recsys::topk_result naive_mmr(const recsys::topk_result& pool, index_t k, double lambda,
                              const std::function<double(index_t, index_t)>& sim) {
  double lo = 1e300, hi = -1e300;
  for (score_t s : pool.scores) {
    lo = std::min(lo, static_cast<double>(s));
    hi = std::max(hi, static_cast<double>(s));
  }
  std::vector<std::size_t> picked;
  recsys::topk_result out;
  while (static_cast<index_t>(picked.size()) < k && picked.size() < pool.size()) {
    std::size_t best = pool.size();
    double best_v = 0;
    for (std::size_t j = 0; j < pool.size(); ++j) {
      if (std::find(picked.begin(), picked.end(), j) != picked.end()) continue;
      const double rel = hi > lo ? (pool.scores[j] - lo) / (hi - lo) : 1.0;
      double penalty = 0;
      if (!picked.empty()) {
        penalty = -1e300;
        for (std::size_t p : picked) penalty = std::max(penalty, sim(pool.ids[p], pool.ids[j]));
      }
      const double v = lambda * rel - (1 - lambda) * penalty;
      if (best == pool.size() || v > best_v) {
        best = j;
        best_v = v;
      }
    }
    picked.push_back(best);
    out.push_back(pool.ids[best], pool.scores[best]);
  }
  return out;
}
}  // namespace

TEST_CASE("diversify_mmr equals the definition; similarities from factors and co-occurrence", "[rerank]") {
  const shop& s = the_shop();
  const recsys::factor_similarity fsim(s.bpr);
  const recsys::cooccurrence_similarity csim(s.knn);
  const auto& v = s.bpr.item_factors();
  const auto cosine = [&](index_t a, index_t b) {
    return static_cast<double>(v.row(a).dot(v.row(b)) / (v.row(a).norm() * v.row(b).norm()));
  };
  // factor similarity is the cosine
  std::vector<index_t> others = {0, 1, 2, 50, 99};
  std::vector<score_t> out(others.size());
  fsim(7, others, out);
  for (std::size_t j = 0; j < others.size(); ++j) CHECK(out[j] == recsys::test::Approx(cosine(7, others[j])).margin(1e-5));
  // co-occurrence similarity: symmetric, max of both directions, scaled into [-1, 1]
  const auto& S = s.knn.neighbours();
  double scale = 0;
  for (Eigen::Index e = 0; e < S.nonZeros(); ++e) scale = std::max(scale, std::abs(static_cast<double>(S.valuePtr()[e])));
  const auto cooc = [&](index_t a, index_t b) {
    const double ab = S.coeff(a, b), ba = S.coeff(b, a);
    const bool has_ab = ab != 0, has_ba = ba != 0;
    const double raw = has_ab && has_ba ? std::max(ab, ba) : (has_ab ? ab : ba);
    return raw / scale;
  };
  for (index_t a = 0; a < 40; ++a) {
    std::vector<index_t> all(60);
    std::iota(all.begin(), all.end(), 0);
    std::vector<score_t> row(all.size()), col(1);
    csim(a, all, row);
    for (index_t b = 0; b < 60; ++b) {
      CHECK(row[static_cast<std::size_t>(b)] == recsys::test::Approx(cooc(a, b)).margin(1e-6));
      csim(b, std::vector<index_t>{a}, col);
      CHECK(col[0] == row[static_cast<std::size_t>(b)]);
      CHECK(std::abs(row[static_cast<std::size_t>(b)]) <= 1.0f);
    }
  }
  // MMR vs the naive definition, both similarities, several lambdas
  for (const index_t user : {index_t{1}, index_t{2}, index_t{3}}) {
    const recsys::topk_result pool = s.bpr.recommend(user, 60);
    for (const double lambda : {0.0, 0.3, 0.7, 0.95}) {
      INFO("user " << user << " lambda " << lambda);
      // the naive MMR gets the same similarity values (their correctness is checked above)
      const auto pair = [](const auto& sim) {
        return [&sim](index_t a, index_t b) {
          std::vector<score_t> o(1);
          sim(a, std::vector<index_t>{b}, o);
          return static_cast<double>(o[0]);
        };
      };
      CHECK(recsys::diversify_mmr(pool, 10, lambda, fsim).ids == naive_mmr(pool, 10, lambda, pair(fsim)).ids);
      CHECK(recsys::diversify_mmr(pool, 10, lambda, csim).ids == naive_mmr(pool, 10, lambda, pair(csim)).ids);
      if (lambda < 0.9) CHECK(recsys::diversify_mmr(pool, 10, lambda, fsim).ids != std::vector<index_t>(pool.ids.begin(), pool.ids.begin() + 10));
    }
    // lambda 1: the pool unchanged; k larger than the pool: all of it
    CHECK(recsys::diversify_mmr(pool, 10, 1.0, fsim) ==
          recsys::topk_result{{pool.ids.begin(), pool.ids.begin() + 10}, {pool.scores.begin(), pool.scores.begin() + 10}});
    CHECK(recsys::diversify_mmr(pool, 100, 0.5, fsim).size() == pool.size());
  }
  // diversity does what it is for: items of one taste cluster are near-duplicates here
  recsys::topk_result pool;
  for (index_t j = 0; j < 12; ++j) pool.push_back(j, static_cast<score_t>(12 - j));
  const auto same_block = [](index_t a, std::span<const index_t> o, std::span<score_t> out_) {
    for (std::size_t j = 0; j < o.size(); ++j) out_[j] = (a / 4 == o[j] / 4) ? 1.0f : 0.0f;
  };
  CHECK(recsys::diversify_mmr(pool, 3, 0.5, same_block).ids == std::vector<index_t>{0, 4, 8});
  CHECK(recsys::diversify_mmr(pool, 3, 1.0, same_block).ids == std::vector<index_t>{0, 1, 2});
  CHECK_THROWS_AS(recsys::diversify_mmr(pool, 3, 1.5, same_block), recsys::invalid_argument);
}

TEST_CASE("pipeline equals composing its stages by hand", "[pipeline]") {
  const shop& s = the_shop();
  const index_t n = s.log.num_items();
  const recsys::item_filter filter("EXCLUDE ItemID WHERE Items.PRICE > $MAX", s.data());
  const recsys::item_filter promo_filter("INCLUDE ItemID WHERE Items.BRAND IN (\"velo\")", s.data());
  recsys::promotion promo;
  promo.name = "velo";
  promo.percent = 20;
  promo.placement = recsys::slot_placement::random;
  promo.seed = 3;
  recsys::exploration_config ec;
  ec.weight = 0.1;
  ec.max_interactions = 40;
  const recsys::new_item_explorer explorer(s.log, &s.items, ec);
  recsys::trending_config tc;
  tc.window_seconds = 7 * 86400;
  recsys::trending_now trending(tc);
  trending.fit(s.log);
  const double lambda = 0.6;

  recsys::pipeline p(s.bpr);
  p.add_source(recsys::top_n_source("bpr", s.bpr, 40))
      .add_source(recsys::recent_neighbours_source("co-occurrence", s.knn, s.log, 5, 30))
      .add_source(recsys::top_n_source("popular", s.popular, 20))
      .add_source(recsys::top_n_source("trending", trending, 10))
      .set_fallback(s.popular, 50)
      .set_filter(filter, {{"MAX", {"200"}}})
      .set_promotion(promo_filter, promo)
      .set_exploration(explorer)
      .set_diversity(recsys::factor_similarity(s.bpr), lambda);

  const recsys::recent_items recent(s.log, 5);
  const auto seen = recsys::detail::seen_matrix(s.log);
  const recsys::factor_similarity fsim(s.bpr);
  for (const index_t user : {index_t{0}, index_t{11}, index_t{150}, index_t{-1}, index_t{5000}}) {
    for (const bool exclude_seen : {true, false}) {
      recsys::pipeline_request req;
      req.user = user;
      req.k = 10;
      req.options.exclude_seen = exclude_seen;
      const recsys::reranked_list got = p.run(req);

      // --- by hand ---
      const bool known = s.bpr.is_known_user(user);
      const recsys::item_mask allowed = filter.allowed(user, {{"MAX", {"200"}}});
      const recsys::filtered_options fo(allowed, req.options);
      std::vector<index_t> cands;
      const auto merge = [&](const recsys::topk_result& r) {
        for (index_t i : r.ids)
          if (std::find(cands.begin(), cands.end(), i) == cands.end()) cands.push_back(i);
      };
      if (known) {
        merge(s.bpr.recommend(user, 40, fo.options()));
        // recent neighbours: recommend_for_history over the 5 most recent distinct items
        recsys::item_mask m = allowed;
        if (!req.options.include.empty()) m &= recsys::item_mask::of(n, req.options.include);
        if (exclude_seen)
          for (index_t i : recsys::detail::row_items(seen, user)) m.set(i, false);
        recsys::recommend_options unseen_base;
        unseen_base.exclude_seen = false;
        const recsys::filtered_options fo2(m, unseen_base);
        merge(s.knn.recommend_for_history(recent.of(user), {}, 30, exclude_seen ? fo2.options() : fo.options()));
        merge(s.popular.recommend(user, 20, fo.options()));
        merge(trending.recommend(user, 10, fo.options()));
      }
      const recsys::recommender_ref scorer = known ? recsys::recommender_ref(s.bpr) : recsys::recommender_ref(s.popular);
      recsys::topk_result pool;
      if (known) {
        const std::vector<score_t> sc = scorer.score(user, cands);
        std::vector<std::size_t> order(cands.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return recsys::ranks_before(sc[a], cands[a], sc[b], cands[b]); });
        for (std::size_t j : order) pool.push_back(cands[j], sc[j]);
      } else {
        pool = s.popular.recommend(user, 50, fo.options());  // the fallback's ranking as it is
      }
      std::vector<recsys::slot_group> groups;
      const recsys::filtered_options po(promo_filter.allowed(user), req.options);
      groups.push_back({slot_kind::promoted, recsys::promotion_slots(10, 20), promo.placement,
                        scorer.recommend(user, 10, po.options())});
      recsys::slot_group explored;
      explored.kind = slot_kind::explored;
      explored.slots = recsys::exploration_slots(10, 0.1);
      explored.items.ids = explorer.draw(user, 10, allowed, exclude_seen);
      explored.items.scores = scorer.score(user, explored.items.ids);
      groups.push_back(explored);
      const recsys::topk_result regular = recsys::diversify_mmr(pool, 10 + 2 + 1, lambda, fsim);
      const recsys::reranked_list want = recsys::blend(regular, groups, 10, promo.seed, user);

      INFO("user " << user << " exclude_seen " << exclude_seen);
      CHECK(got == want);
      CHECK(got.size() == 10);
      CHECK(got.count(slot_kind::promoted) == 2);
      CHECK(got.count(slot_kind::explored) == 1);
      for (std::size_t j = 0; j < got.size(); ++j)
        if (got.kinds[j] != slot_kind::promoted) CHECK(allowed.test(got.ids[j]));
      CHECK(p.recommend(user, 10, req.options) == got.result());
      CHECK(p.run(req) == got);  // deterministic
    }
  }
  // request values override the defaults
  recsys::pipeline_request req;
  req.user = 0;
  req.filter_values = recsys::filter_params{{"MAX", {"50"}}};
  const auto cheap = p.run(req);
  const recsys::item_mask cheap_mask = filter.allowed(0, {{"MAX", {"50"}}});
  for (std::size_t j = 0; j < cheap.size(); ++j)
    if (cheap.kinds[j] != slot_kind::promoted) CHECK(cheap_mask.test(cheap.ids[j]));
  // stages bound to another catalogue are refused
  recsys::interaction_log other;
  other.add("u0", "i0", 1);
  CHECK_THROWS_AS(recsys::pipeline(s.bpr).set_filter(recsys::item_filter("EXCLUDE ItemID WHERE Items.PRICE > 1",
                                                                         recsys::filter_data{&other, &s.items})),
                  recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::pipeline(s.bpr).set_exploration(recsys::new_item_explorer(other, nullptr)),
                  recsys::invalid_argument);
}

TEST_CASE("a plain pipeline is its ranker, and the evaluator scores pipelines like recipes", "[pipeline]") {
  const shop& s = the_shop();
  recsys::pipeline plain(s.bpr);  // no sources: the ranker's own top-k
  for (const index_t user : {index_t{0}, index_t{9}, index_t{-1}}) {
    CHECK(plain.recommend(user, 10) == s.bpr.recommend(user, 10));
    CHECK(plain.recommend(user, 10).is_sorted());
  }
  // one source: its candidates re-scored by score() (equal to recommend()'s up to the last bit)
  recsys::pipeline one_source(s.bpr);
  one_source.add_source(recsys::top_n_source("bpr", s.bpr, 0));  // count 0: the request's k
  const auto via_source = one_source.recommend(4, 7);
  const auto direct = s.bpr.recommend(4, 7);
  CHECK(via_source.ids == direct.ids);
  for (std::size_t j = 0; j < direct.size(); ++j)
    CHECK(via_source.scores[j] == recsys::test::Approx(direct.scores[j]).epsilon(1e-5));

  const recsys::split sp = recsys::random_split(s.log, 0.2, 17);
  recsys::popularity_count popular;
  popular.fit(sp.train);
  recsys::bpr_config bc;
  bc.factors = 16;
  bc.epochs = 10;
  bc.num_threads = 1;
  recsys::bpr_model bpr(bc);
  bpr.fit(recsys::build_matrix(sp.train));
  recsys::evaluation_options eo;
  eo.num_threads = 2;
  recsys::pipeline trivial(bpr);
  const auto a = recsys::evaluate(trivial, sp, eo);
  const auto b = recsys::evaluate(bpr, sp, eo);
  CHECK(a.value("ndcg@10") == b.value("ndcg@10"));
  CHECK(a.value("precision@10") == b.value("precision@10"));
  CHECK(a.value("mrr@25") == b.value("mrr@25"));

  recsys::pipeline blended(bpr);
  blended.add_source(recsys::top_n_source("bpr", bpr, 100)).add_source(recsys::top_n_source("popular", popular, 50));
  blended.set_fallback(popular, 50);
  eo.num_threads = 1;
  const auto c1 = recsys::evaluate(blended, sp, eo);
  eo.num_threads = 2;
  const auto c2 = recsys::evaluate(blended, sp, eo);
  CHECK(c1.value("ndcg@10") == c2.value("ndcg@10"));
  CHECK(c1.value("ndcg@10") > 0.0);
  CHECK(c1.queries == b.queries);
}

TEST_CASE("pipelines compose type-erased recipe models and other pipelines", "[pipeline]") {
  const shop& s = the_shop();
  // recipes through recsys::model (recipes.hpp): the same as the concrete models
  auto bpr = recsys::make_model("bpr", {{"factors", "16"}, {"epochs", "10"}, {"num_threads", "1"}});
  auto pop = recsys::make_model("popularity");
  auto knn = recsys::make_model("item-knn");
  bpr->fit(s.log);
  pop->fit(s.log);
  knn->fit(s.log);
  recsys::pipeline erased(*bpr);
  erased.add_source(recsys::top_n_source("bpr", *bpr, 40))
      .add_source(recsys::top_n_source("knn", *knn, 40))
      .set_fallback(*pop, 30);
  for (const index_t user : {index_t{0}, index_t{42}, index_t{-1}}) {
    // by hand: union of both sources' top-40, scored by the ranker, sorted; unknown: popularity's top-30
    const recsys::topk_result got = erased.recommend(user, 10);
    recsys::topk_result want;
    if (user >= 0) {
      std::vector<index_t> cands;
      for (const auto* m : {bpr.get(), knn.get()})
        for (const index_t i : m->recommend(user, 40).ids)
          if (std::find(cands.begin(), cands.end(), i) == cands.end()) cands.push_back(i);
      const auto sc = bpr->score(user, cands);
      std::vector<std::size_t> order(cands.size());
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(),
                [&](std::size_t a, std::size_t b) { return recsys::ranks_before(sc[a], cands[a], sc[b], cands[b]); });
      for (std::size_t j = 0; j < 10; ++j) want.push_back(cands[order[j]], sc[order[j]]);
    } else {
      want = pop->recommend(user, 10);
    }
    INFO("user " << user);
    CHECK(got == want);
    CHECK(got.is_sorted());
  }
  // a pipeline is a recommender: it can be the source (and ranker) of another pipeline
  recsys::pipeline outer(erased);
  outer.add_source(recsys::top_n_source("inner", erased, 0));
  for (const index_t user : {index_t{3}, index_t{-1}}) {
    const auto a = outer.recommend(user, 8);
    const auto b = erased.recommend(user, 8);
    CHECK(a.ids == b.ids);
  }
  // personalized ranking through the type-erased model and through a pipeline agree
  const std::vector<index_t> cands = {4, 8, 15, 16, 23, 42, -1};
  const auto r1 = recsys::rank_candidates(*bpr, 5, cands);
  const auto r2 = recsys::rank_candidates(erased, 5, cands);
  CHECK(r1.positions == r2.positions);
  CHECK(r1.num_scored == 6);
}
