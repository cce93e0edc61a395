// SPDX-License-Identifier: Apache-2.0
// The synthetic data generator: sizes, determinism, thread independence, and that every planted
// structure (Zipf popularity, taste clusters, next-item transitions, co-purchase pairs, sessions,
// event types, drift) is measurably present in the output.
#include <recsys/data/sessions.hpp>
#include <recsys/data/synthetic.hpp>

#include "recsys_test.hpp"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using recsys::index_t;

recsys::synthetic_config small_config() {
  recsys::synthetic_config c;
  c.num_users = 600;
  c.num_items = 400;
  c.num_interactions = 30000;
  c.num_clusters = 6;
  c.num_baskets = 4000;
  c.num_planted_pairs = 10;
  c.seed = recsys::test::seed();
  return c;
}

bool same_log(const recsys::interaction_log& a, const recsys::interaction_log& b) {
  auto same_values = [](const std::vector<float>& x, const std::vector<float>& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t k = 0; k < x.size(); ++k)
      if (!(x[k] == y[k] || (std::isnan(x[k]) && std::isnan(y[k])))) return false;
    return true;
  };
  return a.users == b.users && a.items == b.items && a.timestamps == b.timestamps && a.event_types == b.event_types &&
         same_values(a.event_values, b.event_values) && a.sessions == b.sessions && a.weights == b.weights &&
         a.user_ids == b.user_ids && a.item_ids == b.item_ids && a.session_ids == b.session_ids &&
         a.event_type_names == b.event_type_names;
}

bool same_baskets(const recsys::basket_data& a, const recsys::basket_data& b) {
  return a.offsets == b.offsets && a.items == b.items && a.item_ids == b.item_ids;
}

bool same_truth(const recsys::synthetic_truth& a, const recsys::synthetic_truth& b) {
  return a.user_cluster == b.user_cluster && a.user_drift_cluster == b.user_drift_cluster &&
         a.user_events == b.user_events && a.item_cluster == b.item_cluster && a.item_rank == b.item_rank &&
         a.item_drift_rank == b.item_drift_rank && a.transitions == b.transitions &&
         a.drift_transitions == b.drift_transitions && a.planted_pairs == b.planted_pairs &&
         a.drift_start == b.drift_start;
}

/// Least-squares slope of y on x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) * (x[k] - mx);
  }
  return sxy / sxx;
}

/// Distinct items of each user.
std::vector<std::set<index_t>> user_item_sets(const recsys::interaction_log& log) {
  std::vector<std::set<index_t>> s(static_cast<std::size_t>(log.num_users()));
  for (std::size_t e = 0; e < log.size(); ++e) s[static_cast<std::size_t>(log.users[e])].insert(log.items[e]);
  return s;
}

}  // namespace

TEST_CASE("synthetic: exact sizes, ids and schema", "[synthetic]") {
  const auto cfg = small_config();
  const auto log = recsys::generate_interactions(cfg);
  const auto truth = recsys::synthetic_ground_truth(cfg);
  REQUIRE(log.size() == 30000);
  CHECK(log.num_users() == 600);
  CHECK(log.num_items() == 400);
  CHECK_NOTHROW(log.validate());
  CHECK(log.has_event_type);
  CHECK(log.has_event_value);
  CHECK(log.has_session);
  CHECK(log.report.rows_read == 30000);
  CHECK(log.report.rows_kept == 30000);
  CHECK(log.user_ids.id(17) == "u17");
  CHECK(log.item_ids.id(399) == "i399");
  CHECK(log.session_ids.id(0) == "s0");
  REQUIRE(log.event_type_names.size() == 3);
  CHECK(log.event_type_names.id(0) == "view");
  CHECK(log.event_type_names.id(1) == "click");
  CHECK(log.event_type_names.id(2) == "purchase");
  for (float w : log.weights) REQUIRE(w == 1.0f);
  for (float v : log.event_values) REQUIRE(std::isfinite(v));

  // Per-user counts match the truth, sum to the total, and respect the minimum.
  std::vector<std::int64_t> per_user(600, 0);
  for (index_t u : log.users) ++per_user[static_cast<std::size_t>(u)];
  CHECK(per_user == truth.user_events);
  CHECK(*std::min_element(per_user.begin(), per_user.end()) >= cfg.min_events_per_user);
  // Activity is skewed (log-normal): the heaviest user has several times the mean.
  CHECK(*std::max_element(per_user.begin(), per_user.end()) > 4 * 50);

  // Every session id is used, and each session belongs to one user.
  std::vector<index_t> session_user(static_cast<std::size_t>(log.session_ids.size()), -1);
  for (std::size_t e = 0; e < log.size(); ++e) {
    auto& su = session_user[static_cast<std::size_t>(log.sessions[e])];
    REQUIRE((su == -1 || su == log.users[e]));
    su = log.users[e];
  }
  CHECK(std::count(session_user.begin(), session_user.end(), -1) == 0);
  // Mean session length as configured (geometric, truncated at the user's last event).
  const double mean_len = 30000.0 / static_cast<double>(log.session_ids.size());
  CHECK(mean_len > 0.85 * cfg.mean_session_length);
  CHECK(mean_len < 1.05 * cfg.mean_session_length);

  const auto baskets = recsys::generate_baskets(cfg);
  REQUIRE(baskets.size() == 4000);
  CHECK(baskets.num_items() == 400);
  CHECK(baskets.offsets.back() == static_cast<std::int64_t>(baskets.items.size()));
  CHECK(baskets.report.rows_kept == 4000);
  double total = 0;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    const auto items = baskets.basket(b);
    REQUIRE(!items.empty());
    REQUIRE(items.size() <= static_cast<std::size_t>(cfg.max_basket_size));
    std::set<index_t> distinct(items.begin(), items.end());
    REQUIRE(distinct.size() == items.size());
    for (index_t i : items) REQUIRE((i >= 0 && i < 400));
    total += static_cast<double>(items.size());
  }
  const double mean_basket = total / 4000.0;
  CHECK(mean_basket > 0.85 * cfg.mean_basket_size);
  CHECK(mean_basket < 1.15 * cfg.mean_basket_size);

  // Truth is consistent: balanced clusters, a permutation of ranks, distinct successors.
  std::vector<int> cluster_size(6, 0);
  for (index_t c : truth.item_cluster) ++cluster_size[static_cast<std::size_t>(c)];
  CHECK(*std::max_element(cluster_size.begin(), cluster_size.end()) -
            *std::min_element(cluster_size.begin(), cluster_size.end()) <=
        1);
  std::vector<index_t> ranks = truth.item_rank;
  std::sort(ranks.begin(), ranks.end());
  for (index_t r = 0; r < 400; ++r) REQUIRE(ranks[static_cast<std::size_t>(r)] == r);
  for (index_t i = 0; i < 400; ++i) {
    const auto next = truth.next_items(i);
    REQUIRE(next.size() == 3);
    std::set<index_t> d(next.begin(), next.end());
    REQUIRE(d.size() == 3);
    REQUIRE(d.count(i) == 0);
    for (index_t j : next)
      REQUIRE(truth.item_cluster[static_cast<std::size_t>(j)] == truth.item_cluster[static_cast<std::size_t>(i)]);
  }
  REQUIRE(truth.planted_pairs.size() == 10);
  for (auto [a, b] : truth.planted_pairs) {
    CHECK(truth.item_rank[static_cast<std::size_t>(a)] >= 40);  // outside the popularity head
    CHECK(truth.item_rank[static_cast<std::size_t>(b)] >= 40);
    CHECK(a < b);
    CHECK(truth.is_planted_pair(a, b));
    CHECK(truth.is_planted_pair(b, a));
  }
  CHECK_THROWS_AS(truth.next_items(400), recsys::invalid_argument);
}

TEST_CASE("synthetic: a user with no events and an empty log are allowed", "[synthetic]") {
  auto cfg = small_config();
  cfg.num_interactions = 0;
  cfg.min_events_per_user = 0;
  cfg.num_baskets = 0;
  const auto log = recsys::generate_interactions(cfg);
  CHECK(log.empty());
  CHECK(log.num_users() == 600);
  CHECK(log.num_items() == 400);
  CHECK(log.session_ids.size() == 0);
  CHECK(recsys::generate_baskets(cfg).empty());
}

TEST_CASE("synthetic: deterministic by seed", "[synthetic]") {
  auto cfg = small_config();
  const auto a = recsys::generate_interactions(cfg);
  const auto b = recsys::generate_interactions(cfg);
  CHECK(same_log(a, b));
  CHECK(same_baskets(recsys::generate_baskets(cfg), recsys::generate_baskets(cfg)));
  CHECK(same_truth(recsys::synthetic_ground_truth(cfg), recsys::synthetic_ground_truth(cfg)));

  auto other = cfg;
  other.seed = cfg.seed + 1;
  const auto c = recsys::generate_interactions(other);
  CHECK(c.size() == a.size());
  CHECK(c.items != a.items);
  CHECK(c.timestamps != a.timestamps);
  CHECK_FALSE(same_baskets(recsys::generate_baskets(other), recsys::generate_baskets(cfg)));
  CHECK(recsys::synthetic_ground_truth(other).user_cluster != recsys::synthetic_ground_truth(cfg).user_cluster);
}

TEST_CASE("synthetic: identical output for 1 and 2 threads", "[synthetic]") {
  auto cfg = small_config();
  cfg.num_users = 3000;  // 47 user blocks
  cfg.num_items = 2000;  // 8 transition blocks
  cfg.num_interactions = 60000;
  cfg.num_baskets = 20000;  // 20 basket blocks
  cfg.drift_days = 20;
  cfg.num_threads = 1;
  const auto log1 = recsys::generate_interactions(cfg);
  const auto baskets1 = recsys::generate_baskets(cfg);
  const auto truth1 = recsys::synthetic_ground_truth(cfg);
  cfg.num_threads = 2;
  CHECK(same_log(log1, recsys::generate_interactions(cfg)));
  CHECK(same_baskets(baskets1, recsys::generate_baskets(cfg)));
  CHECK(same_truth(truth1, recsys::synthetic_ground_truth(cfg)));
  cfg.num_threads = 3;
  CHECK(same_log(log1, recsys::generate_interactions(cfg)));
}

TEST_CASE("synthetic: item popularity follows the configured Zipf exponent", "[synthetic]") {
  for (double s : {0.7, 1.0}) {
    auto cfg = small_config();
    cfg.num_items = 3000;
    cfg.num_users = 4000;
    cfg.num_interactions = 300000;
    cfg.num_clusters = 10;
    cfg.zipf_exponent = s;
    const auto log = recsys::generate_interactions(cfg);
    std::vector<double> counts(3000, 0.0);
    for (index_t i : log.items) counts[static_cast<std::size_t>(i)] += 1.0;
    std::sort(counts.begin(), counts.end(), std::greater<>());
    std::vector<double> x, y;
    for (std::size_t r = 4; r < 600; ++r) {  // head and tail excluded: finite-sample noise
      x.push_back(std::log(static_cast<double>(r + 1)));
      y.push_back(std::log(counts[r]));
    }
    const double fitted = -slope(x, y);
    INFO("configured " << s << ", fitted " << fitted);
    CHECK(std::abs(fitted - s) < 0.12);
  }
}

TEST_CASE("synthetic: users of one taste cluster share far more items, and cluster signal beats popularity",
          "[synthetic]") {
  auto cfg = small_config();
  cfg.num_users = 1200;
  cfg.num_items = 1200;
  cfg.num_interactions = 60000;
  cfg.num_clusters = 12;
  cfg.cluster_affinity = 0.7;
  const auto log = recsys::generate_interactions(cfg);
  const auto truth = recsys::synthetic_ground_truth(cfg);
  const auto sets = user_item_sets(log);

  // Mean Jaccard overlap of item sets for same-cluster vs different-cluster user pairs, over all
  // items and over the items outside the 50 most popular ones (which everybody shares).
  std::vector<double> global_count(1200, 0.0);
  for (index_t i : log.items) global_count[static_cast<std::size_t>(i)] += 1;
  std::vector<index_t> by_count(1200);
  std::iota(by_count.begin(), by_count.end(), 0);
  std::stable_sort(by_count.begin(), by_count.end(), [&](index_t a, index_t b) {
    return global_count[static_cast<std::size_t>(a)] > global_count[static_cast<std::size_t>(b)];
  });
  const std::set<index_t> head(by_count.begin(), by_count.begin() + 50);
  double same = 0, diff = 0, same_tail = 0, diff_tail = 0;
  int n_same = 0, n_diff = 0;
  auto jaccard = [](const std::set<index_t>& a, const std::set<index_t>& b) {
    std::size_t common = 0;
    for (index_t i : a) common += b.count(i);
    const std::size_t all = a.size() + b.size() - common;
    return all == 0 ? 0.0 : static_cast<double>(common) / static_cast<double>(all);
  };
  std::vector<std::set<index_t>> tails;
  for (std::size_t u = 0; u < 300; ++u) {
    std::set<index_t> t;
    for (index_t i : sets[u])
      if (!head.count(i)) t.insert(i);
    tails.push_back(std::move(t));
  }
  for (std::size_t u = 0; u < 300; ++u)
    for (std::size_t v = u + 1; v < 300; ++v) {
      const bool same_cluster = truth.user_cluster[u] == truth.user_cluster[v];
      (same_cluster ? same : diff) += jaccard(sets[u], sets[v]);
      (same_cluster ? same_tail : diff_tail) += jaccard(tails[u], tails[v]);
      ++(same_cluster ? n_same : n_diff);
    }
  REQUIRE(n_same > 100);
  same /= n_same;
  diff /= n_diff;
  same_tail /= n_same;
  diff_tail /= n_diff;
  INFO("mean Jaccard same cluster " << same << ", different clusters " << diff << "; without the head " << same_tail
                                    << " vs " << diff_tail);
  CHECK(same > 2.5 * diff);
  CHECK(same_tail > 5.0 * diff_tail);

  // Hold out each user's newest 20% of events; recommend 10 items from training counts either
  // globally (popularity) or among users of the same true cluster (what a rank-K model can
  // learn). The cluster recommender must hit far more held-out items.
  std::vector<std::vector<std::size_t>> rows(static_cast<std::size_t>(log.num_users()));
  for (std::size_t e = 0; e < log.size(); ++e) rows[static_cast<std::size_t>(log.users[e])].push_back(e);
  std::vector<bool> train(log.size(), true);
  for (auto& r : rows) {
    std::stable_sort(r.begin(), r.end(),
                     [&](std::size_t a, std::size_t b) { return log.timestamps[a] < log.timestamps[b]; });
    for (std::size_t k = r.size() - r.size() / 5; k < r.size(); ++k) train[r[k]] = false;
  }
  std::vector<double> global(1200, 0.0);
  std::vector<std::vector<double>> by_cluster(12, std::vector<double>(1200, 0.0));
  for (std::size_t e = 0; e < log.size(); ++e)
    if (train[e]) {
      global[static_cast<std::size_t>(log.items[e])] += 1;
      by_cluster[static_cast<std::size_t>(truth.user_cluster[static_cast<std::size_t>(log.users[e])])]
                [static_cast<std::size_t>(log.items[e])] += 1;
    }
  auto top10 = [](const std::vector<double>& score) {
    std::vector<index_t> ids(score.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + 10, ids.end(), [&](index_t a, index_t b) {
      return recsys::ranks_before(static_cast<float>(score[static_cast<std::size_t>(a)]), a,
                                  static_cast<float>(score[static_cast<std::size_t>(b)]), b);
    });
    return std::set<index_t>(ids.begin(), ids.begin() + 10);
  };
  const auto pop = top10(global);
  std::vector<std::set<index_t>> cluster_top;
  for (const auto& c : by_cluster) cluster_top.push_back(top10(c));
  double hits_pop = 0, hits_cluster = 0;
  for (std::size_t e = 0; e < log.size(); ++e)
    if (!train[e]) {
      hits_pop += static_cast<double>(pop.count(log.items[e]));
      hits_cluster += static_cast<double>(
          cluster_top[static_cast<std::size_t>(truth.user_cluster[static_cast<std::size_t>(log.users[e])])].count(
              log.items[e]));
    }
  INFO("held-out hits: popularity " << hits_pop << ", cluster " << hits_cluster);
  CHECK(hits_cluster > 1.5 * hits_pop);
}

TEST_CASE("synthetic: a low-rank factorisation learned from the data beats popularity on held-out events",
          "[synthetic]") {
  // PureSVD (project each user's training row on the top right singular vectors of the binary
  // user x item matrix) stands in for ALS: no oracle, only what a factorisation can learn.
  auto cfg = small_config();
  cfg.num_users = 1000;
  cfg.num_items = 500;
  cfg.num_interactions = 40000;
  cfg.num_clusters = 10;
  const auto log = recsys::generate_interactions(cfg);
  std::vector<std::vector<std::size_t>> rows(1000);
  for (std::size_t e = 0; e < log.size(); ++e) rows[static_cast<std::size_t>(log.users[e])].push_back(e);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(1000, 500);
  std::vector<std::vector<index_t>> held_out(1000);
  for (std::size_t u = 0; u < rows.size(); ++u) {
    auto& r = rows[u];
    std::stable_sort(r.begin(), r.end(),
                     [&](std::size_t a, std::size_t b) { return log.timestamps[a] < log.timestamps[b]; });
    const std::size_t cut = r.size() - r.size() / 5;
    for (std::size_t k = 0; k < r.size(); ++k)
      if (k < cut)
        x(static_cast<Eigen::Index>(u), log.items[r[k]]) = 1.0;
      else
        held_out[u].push_back(log.items[r[k]]);
  }
  const Eigen::VectorXd popularity = x.colwise().sum().transpose();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(x.transpose() * x);
  REQUIRE(eig.info() == Eigen::Success);
  const Eigen::MatrixXd v = eig.eigenvectors().rightCols(cfg.num_clusters + 1);  // largest eigenvalues
  auto top10 = [](const Eigen::VectorXd& score) {
    std::vector<index_t> ids(static_cast<std::size_t>(score.size()));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + 10, ids.end(), [&](index_t a, index_t b) {
      return recsys::ranks_before(static_cast<float>(score(a)), a, static_cast<float>(score(b)), b);
    });
    return std::set<index_t>(ids.begin(), ids.begin() + 10);
  };
  const auto pop = top10(popularity);
  double hits_pop = 0, hits_svd = 0;
  for (std::size_t u = 0; u < 1000; ++u) {
    const Eigen::VectorXd score = v * (v.transpose() * x.row(static_cast<Eigen::Index>(u)).transpose());
    const auto mine = top10(score);
    for (index_t i : held_out[u]) {
      hits_pop += static_cast<double>(pop.count(i));
      hits_svd += static_cast<double>(mine.count(i));
    }
  }
  INFO("held-out hits@10: popularity " << hits_pop << ", rank-" << cfg.num_clusters + 1 << " SVD " << hits_svd);
  CHECK(hits_svd > 1.3 * hits_pop);
}

TEST_CASE("synthetic: planted co-purchase pairs have far higher co-count and lift than other pairs", "[synthetic]") {
  auto cfg = small_config();
  cfg.num_items = 1000;
  cfg.num_baskets = 20000;
  cfg.num_planted_pairs = 20;
  cfg.planted_pair_rate = 0.2;
  const auto baskets = recsys::generate_baskets(cfg);
  const auto truth = recsys::synthetic_ground_truth(cfg);

  std::vector<double> count(1000, 0.0);
  std::map<std::pair<index_t, index_t>, double> co;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    const auto items = baskets.basket(b);
    for (std::size_t x = 0; x < items.size(); ++x) {
      count[static_cast<std::size_t>(items[x])] += 1;
      for (std::size_t y = x + 1; y < items.size(); ++y)
        co[{std::min(items[x], items[y]), std::max(items[x], items[y])}] += 1;
    }
  }
  const double n = static_cast<double>(baskets.size());
  auto lift = [&](std::pair<index_t, index_t> p, double c) {
    return c * n / (count[static_cast<std::size_t>(p.first)] * count[static_cast<std::size_t>(p.second)]);
  };
  // Each planted pair appears in about n * rate / pairs = 200 baskets.
  double planted_lift = 0;
  for (auto p : truth.planted_pairs) {
    const double c = co[p];
    CHECK(c > 120);
    planted_lift += lift(p, c);
  }
  planted_lift /= static_cast<double>(truth.planted_pairs.size());
  // Random non-planted pairs of items that occur: mean lift and co-count.
  recsys::rng r(recsys::test::seed(), 1);
  double other_lift = 0, other_co = 0;
  int others = 0;
  while (others < 5000) {
    const auto a = static_cast<index_t>(r.uniform_index(1000)), b = static_cast<index_t>(r.uniform_index(1000));
    if (a == b || truth.is_planted_pair(a, b) || count[static_cast<std::size_t>(a)] == 0 ||
        count[static_cast<std::size_t>(b)] == 0)
      continue;
    const auto p = std::make_pair(std::min(a, b), std::max(a, b));
    const auto it = co.find(p);
    const double c = it == co.end() ? 0.0 : it->second;
    other_lift += lift(p, c);
    other_co += c;
    ++others;
  }
  other_lift /= others;
  other_co /= others;
  INFO("mean lift planted " << planted_lift << ", random pairs " << other_lift << "; mean co-count of random pairs "
                            << other_co);
  CHECK(planted_lift > 10 * other_lift);
  CHECK(other_co < 5);
  // The top pairs by lift among pairs seen at least 20 times are exactly the planted ones.
  std::vector<std::pair<double, std::pair<index_t, index_t>>> ranked;
  for (const auto& [p, c] : co)
    if (c >= 20) ranked.push_back({lift(p, c), p});
  std::sort(ranked.begin(), ranked.end(), std::greater<>());
  REQUIRE(ranked.size() >= 20);
  for (std::size_t k = 0; k < 20; ++k) CHECK(truth.is_planted_pair(ranked[k].second.first, ranked[k].second.second));
}

TEST_CASE("synthetic: sequential transitions appear as configured", "[synthetic]") {
  // Share of consecutive in-session pairs (i, j) with j a planted successor of i. A fresh draw hits
  // a successor by chance (same cluster, popular) with probability c0, measured at strength 0, so
  // at strength s the share must be s + (1 - s) * c0.
  double chance = -1;
  for (double strength : {0.0, 0.5, 0.9}) {
    auto cfg = small_config();
    cfg.num_items = 1000;
    cfg.num_interactions = 60000;
    cfg.sequential_strength = strength;
    const auto log = recsys::generate_interactions(cfg);
    const auto truth = recsys::synthetic_ground_truth(cfg);
    double pairs = 0, planted = 0;
    std::map<index_t, std::map<index_t, int>> next;
    for (std::size_t e = 1; e < log.size(); ++e)
      if (log.sessions[e] == log.sessions[e - 1]) {
        pairs += 1;
        planted += truth.is_transition(log.items[e - 1], log.items[e]) ? 1 : 0;
        ++next[log.items[e - 1]][log.items[e]];
      }
    const double share = planted / pairs;
    INFO("sequential_strength " << strength << ": share of consecutive pairs that are planted " << share
                                << ", chance share " << chance);
    if (strength == 0.0) {
      chance = share;
      CHECK(chance < 0.12);
    } else {
      CHECK(std::abs(share - (strength + (1 - strength) * chance)) < 0.02);
    }
    if (strength >= 0.5) {
      // The most frequent next item of a well-observed item is one of its planted successors.
      int observed = 0, found = 0;
      for (const auto& [i, row] : next) {
        int total = 0;
        for (const auto& kv : row) total += kv.second;
        if (total < 40) continue;
        const auto best = std::max_element(row.begin(), row.end(), [](const auto& a, const auto& b) {
          return a.second < b.second || (a.second == b.second && a.first > b.first);
        });
        ++observed;
        found += truth.is_transition(i, best->first) ? 1 : 0;
      }
      REQUIRE(observed > 20);
      CHECK(found >= observed * 95 / 100);
    }
  }
}

TEST_CASE("synthetic: timestamps, sessions and gaps", "[synthetic]") {
  const auto cfg = small_config();
  const auto log = recsys::generate_interactions(cfg);
  const auto end = cfg.start_time + cfg.time_span_days * 86400;
  for (auto ts : log.timestamps) REQUIRE((ts >= cfg.start_time && ts < end));
  std::vector<recsys::timestamp_t> last_end(600, -1);
  for (std::size_t e = 0; e < log.size(); ++e) {
    const auto u = static_cast<std::size_t>(log.users[e]);
    if (e > 0 && log.sessions[e] == log.sessions[e - 1]) {
      REQUIRE(log.timestamps[e] > log.timestamps[e - 1]);  // strictly increasing inside a session
    } else if (last_end[u] >= 0) {
      REQUIRE(log.timestamps[e] - last_end[u] >= cfg.min_session_gap_seconds);  // sessions of a user apart
    }
    last_end[u] = log.timestamps[e];
  }
  // Cutting at 30-minute inactivity gaps recovers exactly the SESSION_ID sessions.
  recsys::session_options by_gap;
  by_gap.from = recsys::session_options::source::inactivity_gap;
  const auto cut = recsys::build_sessions(log, by_gap);
  const auto given = recsys::build_sessions(log);
  REQUIRE(cut.size() == static_cast<std::size_t>(log.session_ids.size()));
  REQUIRE(given.size() == cut.size());
  CHECK(cut.items == given.items);
  CHECK(cut.offsets == given.offsets);
  // Sessions are spread over the span: each tenth of it holds 5-15% of the events.
  std::vector<int> decile(10, 0);
  for (auto ts : log.timestamps)
    ++decile[static_cast<std::size_t>((ts - cfg.start_time) * 10 / (end - cfg.start_time))];
  for (int d : decile) {
    CHECK(d > 1500);
    CHECK(d < 4500);
  }
}

TEST_CASE("synthetic: event type proportions and values as configured", "[synthetic]") {
  auto cfg = small_config();
  cfg.event_types = {{"view", 6.0, recsys::value_distribution::lognormal, 3.0, 1.0},
                     {"click", 3.0, recsys::value_distribution::constant, 1.0, 0.0},
                     {"rate", 1.0, recsys::value_distribution::uniform, 1.0, 5.0},
                     {"never", 0.0, recsys::value_distribution::constant, 2.0, 0.0}};
  const auto log = recsys::generate_interactions(cfg);
  REQUIRE(log.event_type_names.size() == 4);
  std::vector<double> n(4, 0.0);
  std::vector<float> views;
  for (std::size_t e = 0; e < log.size(); ++e) {
    const auto t = static_cast<std::size_t>(log.event_types[e]);
    n[t] += 1;
    const float v = log.event_values[e];
    if (t == 0) views.push_back(v);
    if (t == 1) REQUIRE(v == 1.0f);
    if (t == 2) {
      REQUIRE((v >= 1.0f && v <= 5.0f));
      REQUIRE(std::abs(v * 100.0f - std::round(v * 100.0f)) < 1e-2f);  // 2 decimals
    }
  }
  const double total = static_cast<double>(log.size());
  CHECK(std::abs(n[0] / total - 0.6) < 0.01);
  CHECK(std::abs(n[1] / total - 0.3) < 0.01);
  CHECK(std::abs(n[2] / total - 0.1) < 0.01);
  CHECK(n[3] == 0);
  std::nth_element(views.begin(), views.begin() + static_cast<std::ptrdiff_t>(views.size() / 2), views.end());
  const float median = views[views.size() / 2];
  INFO("median view value " << median << " (exp(3) = 20.1)");
  CHECK(std::abs(median - 20.09f) < 2.0f);
}

TEST_CASE("synthetic: the last drift_days behave differently", "[synthetic]") {
  auto cfg = small_config();
  cfg.num_interactions = 60000;
  cfg.time_span_days = 60;
  cfg.drift_days = 15;
  cfg.cluster_affinity = 0.8;
  const auto log = recsys::generate_interactions(cfg);
  const auto truth = recsys::synthetic_ground_truth(cfg);
  CHECK(truth.drift_start == cfg.start_time + 45 * 86400);
  for (std::size_t u = 0; u < truth.user_cluster.size(); ++u)
    REQUIRE(truth.user_drift_cluster[u] != truth.user_cluster[u]);
  CHECK(truth.item_drift_rank != truth.item_rank);
  CHECK(truth.drift_transitions != truth.transitions);

  // Regime of each event = regime of its session's start.
  std::vector<recsys::timestamp_t> session_start(static_cast<std::size_t>(log.session_ids.size()),
                                                 std::numeric_limits<recsys::timestamp_t>::max());
  for (std::size_t e = 0; e < log.size(); ++e) {
    auto& s = session_start[static_cast<std::size_t>(log.sessions[e])];
    s = std::min(s, log.timestamps[e]);
  }
  double before = 0, after = 0, before_orig = 0, after_orig = 0, after_drift = 0, before_drift = 0;
  std::vector<double> pop_before(400, 0), pop_after(400, 0);
  for (std::size_t e = 0; e < log.size(); ++e) {
    const auto u = static_cast<std::size_t>(log.users[e]);
    const auto c = truth.item_cluster[static_cast<std::size_t>(log.items[e])];
    const bool drifted = session_start[static_cast<std::size_t>(log.sessions[e])] >= truth.drift_start;
    REQUIRE(truth.cluster_of_user_at(log.users[e], session_start[static_cast<std::size_t>(log.sessions[e])]) ==
            (drifted ? truth.user_drift_cluster[u] : truth.user_cluster[u]));
    (drifted ? after : before) += 1;
    (drifted ? after_orig : before_orig) += c == truth.user_cluster[u] ? 1 : 0;
    (drifted ? after_drift : before_drift) += c == truth.user_drift_cluster[u] ? 1 : 0;
    (drifted ? pop_after : pop_before)[static_cast<std::size_t>(log.items[e])] += 1;
  }
  INFO("events before/after drift start: " << before << " / " << after);
  CHECK(after / (before + after) > 0.2);  // about 15 of 60 days
  CHECK(after / (before + after) < 0.3);
  CHECK(before_orig / before > 0.75);
  CHECK(before_drift / before < 0.15);
  CHECK(after_drift / after > 0.75);
  CHECK(after_orig / after < 0.15);
  // Popularity is re-ranked: the 20 most popular items before and after barely overlap.
  auto top = [](const std::vector<double>& c) {
    std::vector<index_t> ids(c.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::stable_sort(ids.begin(), ids.end(), [&](index_t a, index_t b) {
      return c[static_cast<std::size_t>(a)] > c[static_cast<std::size_t>(b)];
    });
    return std::set<index_t>(ids.begin(), ids.begin() + 20);
  };
  const auto tb = top(pop_before), ta = top(pop_after);
  std::size_t common = 0;
  for (index_t i : tb) common += ta.count(i);
  CHECK(common <= 5);

  // Without drift nothing changes at the end of the span.
  cfg.drift_days = 0;
  const auto t0 = recsys::synthetic_ground_truth(cfg);
  CHECK(t0.user_drift_cluster == t0.user_cluster);
  CHECK(t0.item_drift_rank == t0.item_rank);
  CHECK(t0.drift_transitions == t0.transitions);
  CHECK(t0.drift_start == cfg.start_time + 60 * 86400);
}

TEST_CASE("synthetic: bad configs throw recsys::invalid_argument", "[synthetic]") {
  using cfg_t = recsys::synthetic_config;
  const std::vector<std::pair<const char*, void (*)(cfg_t&)>> bad = {
      {"users", [](cfg_t& c) { c.num_users = 0; }},
      {"items", [](cfg_t& c) { c.num_items = 0; }},
      {"interactions", [](cfg_t& c) { c.num_interactions = -1; }},
      {"clusters", [](cfg_t& c) { c.num_clusters = 0; }},
      {"items per cluster", [](cfg_t& c) { c.num_clusters = 300; }},
      {"zipf", [](cfg_t& c) { c.zipf_exponent = -0.5; }},
      {"zipf nan", [](cfg_t& c) { c.zipf_exponent = std::nan(""); }},
      {"affinity", [](cfg_t& c) { c.cluster_affinity = 1.5; }},
      {"min events", [](cfg_t& c) { c.min_events_per_user = 26; }},
      {"min events negative", [](cfg_t& c) { c.min_events_per_user = -1; }},
      {"activity", [](cfg_t& c) { c.activity_sigma = -1; }},
      {"no event types", [](cfg_t& c) { c.event_types.clear(); }},
      {"empty name", [](cfg_t& c) { c.event_types[0].name.clear(); }},
      {"duplicate name", [](cfg_t& c) { c.event_types[1].name = "view"; }},
      {"negative rate", [](cfg_t& c) { c.event_types[0].rate = -1; }},
      {"zero rates",
       [](cfg_t& c) {
         for (auto& e : c.event_types) e.rate = 0;
       }},
      {"uniform bounds",
       [](cfg_t& c) {
         c.event_types[0] = {"view", 1.0, recsys::value_distribution::uniform, 5.0, 1.0};
       }},
      {"lognormal sigma",
       [](cfg_t& c) {
         c.event_types[0] = {"view", 1.0, recsys::value_distribution::lognormal, 1.0, -1.0};
       }},
      {"value inf", [](cfg_t& c) { c.event_types[1].value_a = INFINITY; }},
      {"start", [](cfg_t& c) { c.start_time = -1; }},
      {"span", [](cfg_t& c) { c.time_span_days = 0; }},
      {"drift", [](cfg_t& c) { c.drift_days = c.time_span_days; }},
      {"drift negative", [](cfg_t& c) { c.drift_days = -1; }},
      {"session length", [](cfg_t& c) { c.mean_session_length = 0.5; }},
      {"event gap", [](cfg_t& c) { c.mean_event_gap_seconds = 0.0; }},
      {"session gap", [](cfg_t& c) { c.min_session_gap_seconds = 0; }},
      {"sequential", [](cfg_t& c) { c.sequential_strength = -0.1; }},
      {"transitions", [](cfg_t& c) { c.transitions_per_item = 0; }},
      {"baskets", [](cfg_t& c) { c.num_baskets = -1; }},
      {"basket size", [](cfg_t& c) { c.mean_basket_size = 0.5; }},
      {"max basket 0", [](cfg_t& c) { c.max_basket_size = 0; }},
      {"max basket > items", [](cfg_t& c) { c.max_basket_size = 1001; }},
      {"pairs", [](cfg_t& c) { c.num_planted_pairs = 451; }},
      {"pair rate", [](cfg_t& c) { c.planted_pair_rate = 2; }},
      {"pair rate without pairs", [](cfg_t& c) { c.num_planted_pairs = 0; }},
      {"pairs need 2 slots", [](cfg_t& c) { c.max_basket_size = 1; }},
      {"threads", [](cfg_t& c) { c.num_threads = -1; }},
  };
  CHECK_NOTHROW(cfg_t::demo().validate());
  for (const auto& [name, mutate] : bad) {
    INFO(name);
    cfg_t c = cfg_t::demo();
    mutate(c);
    CHECK_THROWS_AS(c.validate(), recsys::invalid_argument);
    CHECK_THROWS_AS(recsys::generate_interactions(c), recsys::invalid_argument);
    CHECK_THROWS_AS(recsys::generate_baskets(c), recsys::invalid_argument);
    CHECK_THROWS_AS(recsys::synthetic_ground_truth(c), recsys::invalid_argument);
  }
  // The message names the function and the value.
  cfg_t c = cfg_t::demo();
  c.zipf_exponent = -0.5;
  std::string message;
  try {
    c.validate();
  } catch (const recsys::invalid_argument& e) {
    message = e.what();
  }
  CHECK(message.find("synthetic_config") != std::string::npos);
  CHECK(message.find("-0.5") != std::string::npos);

  // Sessions that cannot fit into the span: one day cannot hold 100+ sessions an hour apart.
  c = cfg_t::demo();
  c.num_users = 10;
  c.num_interactions = 10000;
  c.time_span_days = 1;
  CHECK_THROWS_AS(recsys::generate_interactions(c), recsys::invalid_argument);
}

TEST_CASE("synthetic: presets", "[synthetic]") {
  const auto demo = recsys::synthetic_config::demo();
  const auto log = recsys::generate_interactions(demo);
  CHECK(log.size() == 50000);
  // Size as a Personalize CSV (header + USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,SESSION_ID):
  // a few MB at most.
  std::size_t bytes = std::string("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,SESSION_ID\n").size();
  for (std::size_t e = 0; e < log.size(); ++e)
    bytes += log.user_ids.id(log.users[e]).size() + log.item_ids.id(log.items[e]).size() + 10 +
             log.event_type_names.id(log.event_types[e]).size() + std::to_string(log.event_values[e]).size() +
             log.session_ids.id(log.sessions[e]).size() + 6;
  INFO("demo CSV about " << bytes << " bytes");
  CHECK(bytes < 4'000'000);

  const auto bench = recsys::synthetic_config::benchmark();
  CHECK(bench.num_users == 50000);
  CHECK(bench.num_items == 20000);
  CHECK(bench.num_interactions == 2'000'000);
  CHECK(bench.zipf_exponent == 1.0);
  const auto big = recsys::generate_interactions(bench);  // must fit its time span, ~0.5 s
  CHECK(big.size() == 2'000'000);
  CHECK(big.num_users() == 50000);
  CHECK(big.num_items() == 20000);
}

TEST_CASE("synthetic Items metadata: planted clusters as CATEGORY, creation before the first event", "[synthetic]") {
  recsys::synthetic_config cfg;
  cfg.num_users = 300;
  cfg.num_items = 200;
  cfg.num_interactions = 6000;
  // Drop a handful of items from the log: they must come out as new (created in the last week).
  recsys::interaction_log full = recsys::generate_interactions(cfg);
  recsys::interaction_log log = full.empty_like();
  const std::set<std::string> dropped{full.item_ids.id(full.items[0]), full.item_ids.id(full.items[2000]),
                                      full.item_ids.id(full.items[4000])};
  REQUIRE(dropped.size() >= 2);
  for (std::size_t r = 0; r < full.size(); ++r)
    if (!dropped.count(full.item_ids.id(full.items[r]))) log.push_row(full, r);
  const recsys::metadata_table t = recsys::generate_item_metadata(cfg, log);
  const recsys::synthetic_truth truth = recsys::synthetic_ground_truth(cfg);
  REQUIRE(t.size() == 200);
  CHECK(t.id_column == "ITEM_ID");
  const auto& category = t.field("CATEGORY");
  const auto& price = t.field("PRICE");
  const auto& created = t.field("CREATION_TIMESTAMP");
  CHECK(category.type == recsys::field_type::categorical);
  CHECK(price.type == recsys::field_type::numeric);
  CHECK(created.type == recsys::field_type::timestamp);
  std::map<std::string, recsys::timestamp_t> first;
  for (std::size_t r = 0; r < log.size(); ++r) {
    const auto& id = log.item_ids.id(log.items[r]);
    const auto it = first.find(id);
    if (it == first.end() || log.timestamps[r] < it->second) first[id] = log.timestamps[r];
  }
  std::set<std::string> in_full;
  for (std::size_t r = 0; r < full.size(); ++r) in_full.insert(full.item_ids.id(full.items[r]));
  for (const auto& id : dropped) REQUIRE(in_full.count(id) == 1);
  const recsys::timestamp_t end = log.time_range().second;
  for (std::size_t k = 0; k < t.size(); ++k) {
    const std::string& id = t.ids.id(static_cast<index_t>(k));
    INFO(id);
    CHECK(id == "i" + std::to_string(k));
    REQUIRE(category.values(k).size() == 1);
    CHECK(category.dictionary.id(category.values(k)[0]) == "c" + std::to_string(truth.item_cluster[k]));
    CHECK(price.numbers[k] > 0.0);
    CHECK(price.numbers[k] == std::round(price.numbers[k] * 100.0) / 100.0);
    const auto f = first.find(id);
    if (f != first.end()) {
      CHECK(created.timestamps[k] <= f->second);
      CHECK(created.timestamps[k] > f->second - 30 * 86400);
    } else {
      CHECK(dropped.count(id) == in_full.count(id));  // dropped here, or never drawn at all
      CHECK(created.timestamps[k] <= end);
      CHECK(created.timestamps[k] > end - 7 * 86400);
    }
  }
  CHECK(first.size() == in_full.size() - dropped.size());
  // Deterministic, and it survives the Items CSV round trip.
  const recsys::metadata_table again = recsys::generate_item_metadata(cfg, log);
  CHECK(again.field("PRICE").numbers == price.numbers);
  CHECK(again.field("CREATION_TIMESTAMP").timestamps == created.timestamps);
  const auto dir = recsys::test::scratch_dir("synthetic-items");
  recsys::write_items_csv(t, dir / "items.csv");
  const recsys::metadata_table read = recsys::read_items_csv(dir / "items.csv");
  CHECK(read.size() == 200);
  CHECK(read.field("PRICE").numbers == price.numbers);
  CHECK(read.field("CREATION_TIMESTAMP").timestamps == created.timestamps);
  CHECK(read.field("CATEGORY").dictionary.size() == category.dictionary.size());
}
