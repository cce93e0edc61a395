// SPDX-License-Identifier: Apache-2.0
// BPR and WARP (models/bpr.hpp): kernels against finite differences, ranking quality on a
// clustered synthetic set, determinism, negative sampling, verification, errors, cancellation,
// early stopping, fold-in and option parsing.
#include "recsys_test.hpp"

#include <recsys/data/synthetic.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/bpr-inl.hpp>  // the SGD engine, its kernels and resolve_pairwise_settings (internals)

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

using recsys::index_t;
using recsys::test::Approx;

namespace {

// A small set from the shared generator (taste clusters, Zipf popularity): each user's
// distinct items, 20% of them held out at random.
struct split_data {
  recsys::csr_matrix train;
  std::vector<std::vector<index_t>> test;  // held-out items per user
  std::vector<std::vector<index_t>> all;   // train + test, sorted
};

split_data clustered(index_t users, index_t items, std::int64_t events, std::uint64_t seed) {
  recsys::synthetic_config cfg;
  cfg.num_users = users;
  cfg.num_items = items;
  cfg.num_interactions = events;
  cfg.num_clusters = 6;
  cfg.cluster_affinity = 0.85;
  cfg.min_events_per_user = 10;
  cfg.seed = seed;
  const recsys::interaction_log log = recsys::generate_interactions(cfg);
  split_data d;
  d.test.resize(static_cast<std::size_t>(users));
  d.all.resize(static_cast<std::size_t>(users));
  for (std::size_t r = 0; r < log.size(); ++r) d.all[static_cast<std::size_t>(log.users[r])].push_back(log.items[r]);
  recsys::rng rr(seed, recsys::stream_tag("test.bpr.holdout"));
  std::vector<Eigen::Triplet<float, index_t>> trips;
  for (index_t u = 0; u < users; ++u) {
    auto& v = d.all[static_cast<std::size_t>(u)];
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::vector<index_t> order = v;
    recsys::shuffle(order.begin(), order.end(), rr);
    const std::size_t n_test = order.size() / 5;
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k < n_test)
        d.test[static_cast<std::size_t>(u)].push_back(order[k]);
      else
        trips.emplace_back(u, order[k], 1.0f);
    }
  }
  d.train.resize(users, items);
  d.train.setFromTriplets(trips.begin(), trips.end());
  d.train.makeCompressed();
  return d;
}

// Sampled AUC on held-out interactions: each held-out (u, i) against 10 items u never touched.
template <class Model>
double heldout_auc(const Model& m, const split_data& d, std::uint64_t seed) {
  recsys::rng r(seed, recsys::stream_tag("test.bpr.auc"));
  double hits = 0.0;
  double total = 0.0;
  for (index_t u = 0; u < static_cast<index_t>(d.test.size()); ++u) {
    const auto& all = d.all[static_cast<std::size_t>(u)];
    for (index_t i : d.test[static_cast<std::size_t>(u)]) {
      for (int n = 0; n < 10; ++n) {
        index_t j = 0;
        do j = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(m.num_items())));
        while (std::binary_search(all.begin(), all.end(), j));
        const index_t pair[] = {i, j};
        const auto s = m.score(u, pair);
        hits += s[0] > s[1] ? 1.0 : (s[0] == s[1] ? 0.5 : 0.0);
        total += 1.0;
      }
    }
  }
  return hits / total;
}

const split_data& small_data() {
  static const split_data d = clustered(600, 300, 30000, recsys::test::seed());
  return d;
}

template <class A, class B>
bool bitwise_equal(const A& a, const B& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::equal(a.data(), a.data() + a.size(), b.data(),
                    [](float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; });
}

template <class M>
bool same_factors(const M& a, const M& b) {
  return bitwise_equal(a.user_factors(), b.user_factors()) && bitwise_equal(a.item_factors(), b.item_factors()) &&
         bitwise_equal(a.item_bias(), b.item_bias());
}

// The BPR objective of one sample (maximised), in double.
double bpr_objective(const std::vector<double>& p, int f, const recsys::detail::sgd_regularization& reg) {
  // layout: u[f], vi[f], vj[f], bi, bj
  double x = p[3 * f] - p[3 * f + 1];
  double nu = 0, ni = 0, nj = 0;
  for (int k = 0; k < f; ++k) {
    x += p[k] * (p[f + k] - p[2 * f + k]);
    nu += p[k] * p[k];
    ni += p[f + k] * p[f + k];
    nj += p[2 * f + k] * p[2 * f + k];
  }
  const double bias2 = p[3 * f] * p[3 * f] + p[3 * f + 1] * p[3 * f + 1];
  return -std::log1p(std::exp(-x)) - 0.5 * reg.user * nu - 0.5 * reg.positive * ni - 0.5 * reg.negative * nj -
         0.5 * reg.bias * bias2;
}

// WARP's per-pair objective (minimised) with the rank weight held constant.
double warp_objective(const std::vector<double>& p, int f, double weight,
                      const recsys::detail::sgd_regularization& reg) {
  double si = p[3 * f], sj = p[3 * f + 1];
  double nu = 0, ni = 0, nj = 0;
  for (int k = 0; k < f; ++k) {
    si += p[k] * p[f + k];
    sj += p[k] * p[2 * f + k];
    nu += p[k] * p[k];
    ni += p[f + k] * p[f + k];
    nj += p[2 * f + k] * p[2 * f + k];
  }
  const double bias2 = p[3 * f] * p[3 * f] + p[3 * f + 1] * p[3 * f + 1];
  return weight * (1.0 - si + sj) + 0.5 * reg.user * nu + 0.5 * reg.positive * ni + 0.5 * reg.negative * nj +
         0.5 * reg.bias * bias2;
}

std::vector<double> random_params(int f, std::uint64_t seed) {
  recsys::rng r(seed, recsys::stream_tag("test.bpr.params"));
  std::vector<double> p(static_cast<std::size_t>(3 * f + 2));
  for (auto& x : p) x = static_cast<float>(r.normal() * 0.3);  // values representable in float
  return p;
}

template <class Objective>
std::vector<double> numeric_gradient(std::vector<double> p, Objective obj) {
  std::vector<double> g(p.size());
  const double h = 1e-5;
  for (std::size_t n = 0; n < p.size(); ++n) {
    const double keep = p[n];
    p[n] = keep + h;
    const double up = obj(p);
    p[n] = keep - h;
    const double down = obj(p);
    p[n] = keep;
    g[n] = (up - down) / (2 * h);
  }
  return g;
}

// Runs one kernel update on float copies of p; returns the new values in the same layout.
template <class Update>
std::vector<double> apply_update(const std::vector<double>& p, int f, Update update) {
  std::vector<float> u(p.begin(), p.begin() + f), vi(p.begin() + f, p.begin() + 2 * f),
      vj(p.begin() + 2 * f, p.begin() + 3 * f);
  float bi = static_cast<float>(p[3 * f]), bj = static_cast<float>(p[3 * f + 1]);
  update(u.data(), vi.data(), vj.data(), &bi, &bj);
  std::vector<double> out;
  out.insert(out.end(), u.begin(), u.end());
  out.insert(out.end(), vi.begin(), vi.end());
  out.insert(out.end(), vj.begin(), vj.end());
  out.push_back(bi);
  out.push_back(bj);
  return out;
}

}  // namespace

TEST_CASE("bpr: one update is lr times the gradient of the BPR objective (finite differences)", "[bpr]") {
  const recsys::detail::sgd_regularization reg{0.03f, 0.02f, 0.05f, 0.01f};
  const float lr = 0.1f;
  for (int f : {7, 32, 64}) {
    const auto p = random_params(f, recsys::test::seed() + static_cast<std::uint64_t>(f));
    const auto grad = numeric_gradient(p, [&](const std::vector<double>& q) { return bpr_objective(q, f, reg); });
    double loss = 0.0;
    const auto after = apply_update(p, f, [&](float* u, float* vi, float* vj, float* bi, float* bj) {
      if (f == 32)
        recsys::detail::bpr_update<32>(u, vi, vj, bi, bj, f, lr, reg, loss);
      else if (f == 64)
        recsys::detail::bpr_update<64>(u, vi, vj, bi, bj, f, lr, reg, loss);
      else
        recsys::detail::bpr_update<0>(u, vi, vj, bi, bj, f, lr, reg, loss);
    });
    for (std::size_t n = 0; n < p.size(); ++n) {
      INFO("f = " << f << ", parameter " << n);
      CHECK((after[n] - p[n]) == Approx(lr * grad[n]).margin(2e-6));
    }
    // The reported loss is -ln sigma(x) at the old parameters.
    double x = p[3 * f] - p[3 * f + 1];
    for (int k = 0; k < f; ++k) x += p[k] * (p[f + k] - p[2 * f + k]);
    CHECK(loss == Approx(std::log1p(std::exp(-x))).epsilon(1e-5));
  }
}

TEST_CASE("bpr: the fixed-size kernels agree with the runtime-size kernel", "[bpr]") {
  for (int f : {32, 64, 128}) {
    const auto p = random_params(f, 99 + static_cast<std::uint64_t>(f));
    std::vector<float> a(p.begin(), p.begin() + f), b(p.begin() + f, p.begin() + 2 * f);
    const float d0 = recsys::detail::dot<0>(a.data(), b.data(), f);
    const float d1 = f == 32   ? recsys::detail::dot<32>(a.data(), b.data(), f)
                     : f == 64 ? recsys::detail::dot<64>(a.data(), b.data(), f)
                               : recsys::detail::dot<128>(a.data(), b.data(), f);
    double ref = 0.0;
    for (int k = 0; k < f; ++k) ref += p[static_cast<std::size_t>(k)] * p[static_cast<std::size_t>(f + k)];
    CHECK(d0 == d1);  // same lanes, same order
    CHECK(d0 == Approx(ref).margin(1e-5));
  }
}

TEST_CASE("warp: one update is -lr times the gradient of the per-pair objective and the rank weight", "[bpr][warp]") {
  const recsys::detail::sgd_regularization reg{0.03f, 0.02f, 0.05f, 0.01f};
  const float lr = 0.05f;
  const float weight = recsys::detail::warp_rank_weight(1001, 4, 10.0f);
  CHECK(weight == Approx(std::log(250.0)));
  for (int f : {9, 64}) {
    const auto p = random_params(f, 7 + static_cast<std::uint64_t>(f));
    const auto grad =
        numeric_gradient(p, [&](const std::vector<double>& q) { return warp_objective(q, f, weight, reg); });
    const auto after = apply_update(p, f, [&](float* u, float* vi, float* vj, float* bi, float* bj) {
      if (f == 64)
        recsys::detail::warp_update<64>(u, vi, vj, bi, bj, f, lr, weight, reg);
      else
        recsys::detail::warp_update<0>(u, vi, vj, bi, bj, f, lr, weight, reg);
    });
    for (std::size_t n = 0; n < p.size(); ++n) {
      INFO("f = " << f << ", parameter " << n);
      CHECK((after[n] - p[n]) == Approx(-lr * grad[n]).margin(2e-6));
    }
  }
  // LightFM's estimate: ln(max(1, floor((n - 1) / trials))), capped.
  CHECK(recsys::detail::warp_rank_weight(101, 1, 10.0f) == Approx(std::log(100.0)));
  CHECK(recsys::detail::warp_rank_weight(101, 3, 10.0f) == Approx(std::log(33.0)));
  CHECK(recsys::detail::warp_rank_weight(101, 200, 10.0f) == 0.0f);
  CHECK(recsys::detail::warp_rank_weight(100000001, 1, 10.0f) == 10.0f);
  CHECK(recsys::detail::warp_rank_weight(100000001, 1, 3.0f) == 3.0f);
}

TEST_CASE("bpr/warp: sampled AUC on held-out interactions of a clustered set > 0.85", "[bpr][warp]") {
  const auto& d = small_data();
  for (bool hogwild : {false, true}) {
    INFO("hogwild = " << hogwild);
    recsys::bpr_config bc;
    bc.hogwild = hogwild;
    bc.num_threads = 2;
    recsys::bpr_model bpr(bc);
    bpr.fit(d.train);
    const double auc_bpr = heldout_auc(bpr, d, 5);
    recsys::warp_config wc;
    wc.hogwild = hogwild;
    wc.num_threads = 2;
    recsys::warp_model warp(wc);
    warp.fit(d.train);
    const double auc_warp = heldout_auc(warp, d, 5);
    // Popularity (the same list for everyone) through the same protocol: scores of an unknown user.
    struct popularity_scores {
      const recsys::bpr_model* m;
      index_t num_items() const { return m->num_items(); }
      std::vector<float> score(index_t, std::span<const index_t> items) const {
        return m->score(recsys::invalid_index, items);
      }
    };
    const double auc_pop = heldout_auc(popularity_scores{&bpr}, d, 5);
    INFO("held-out AUC: bpr " << auc_bpr << ", warp " << auc_warp << ", popularity " << auc_pop);
    CHECK(auc_bpr > 0.85);
    CHECK(auc_warp > 0.85);
    CHECK(auc_bpr > auc_pop + 0.02);
    CHECK(auc_warp > auc_pop + 0.02);
    // The training metric is reported and grows.
    REQUIRE(bpr.history().size() == static_cast<std::size_t>(bc.epochs));
    CHECK(bpr.history().back().auc > bpr.history().front().auc);
    CHECK(bpr.history().back().loss < bpr.history().front().loss);
    CHECK(warp.history().back().auc > 0.85);
    CHECK(warp.history().back().mean_trials > 1.0);
    CHECK(bpr.history().front().samples == d.train.nonZeros());
  }
}

TEST_CASE("bpr: a Hogwild epoch visits every user's interactions once, in a random user order", "[bpr][hogwild]") {
  // The training set plus a user without interactions, who must not be scheduled.
  recsys::csr_matrix x = small_data().train;
  x.conservativeResize(x.rows() + 1, x.cols());
  x.makeCompressed();
  const index_t* outer = x.outerIndexPtr();
  const auto count = [&](index_t u) { return static_cast<std::int64_t>(outer[u + 1] - outer[u]); };
  std::vector<index_t> active;
  for (index_t u = 0; u < x.rows(); ++u)
    if (count(u) > 0) active.push_back(u);
  REQUIRE(active.size() + 1 == static_cast<std::size_t>(x.rows()));

  recsys::bpr_config cfg;
  cfg.hogwild = true;
  recsys::detail::pairwise_engine engine(recsys::detail::resolve_pairwise_settings(cfg, "test"), x);
  constexpr std::int64_t chunk = recsys::detail::pairwise_engine::hogwild_chunk;
  std::vector<std::vector<index_t>> orders;
  for (int epoch : {0, 1}) {
    engine.plan_hogwild(epoch);
    const auto users = engine.hogwild_users();
    const auto cuts = engine.hogwild_cuts();
    std::vector<index_t> sorted(users.begin(), users.end());
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == active);  // every user with interactions exactly once
    REQUIRE(cuts.size() >= 2);
    CHECK(cuts.front() == 0);
    CHECK(cuts.back() == static_cast<std::int64_t>(users.size()));
    for (std::size_t b = 0; b + 1 < cuts.size(); ++b) {
      INFO("epoch " << epoch << ", chunk " << b);
      REQUIRE(cuts[b] < cuts[b + 1]);
      std::int64_t n = 0;
      for (auto k = cuts[b]; k < cuts[b + 1]; ++k) n += count(users[static_cast<std::size_t>(k)]);
      // A chunk closes at the user that brings it to `chunk` interactions; only the last may hold fewer.
      if (b + 2 < cuts.size()) CHECK(n >= chunk);
      CHECK(n - count(users[static_cast<std::size_t>(cuts[b + 1] - 1)]) < chunk);
    }
    orders.emplace_back(users.begin(), users.end());
  }
  CHECK(orders[0] != orders[1]);  // a fresh order every epoch

  // Through fit: every epoch visits each interaction once.
  cfg.epochs = 3;
  cfg.num_threads = 2;
  recsys::bpr_model m(cfg);
  m.fit(x);
  for (const auto& e : m.history()) {
    CHECK(e.samples == x.nonZeros());
    CHECK(e.skipped + e.updates == e.samples);
  }
}

TEST_CASE("bpr/warp: Hogwild ranks held-out interactions as well as the deterministic schedule",
          "[bpr][warp][hogwild]") {
  const auto& d = small_data();
  const auto both = [&](auto cfg) {
    cfg.num_threads = 2;
    cfg.hogwild = false;
    recsys::pairwise_model<decltype(cfg)> det(cfg);
    det.fit(d.train);
    cfg.hogwild = true;
    recsys::pairwise_model<decltype(cfg)> hog(cfg);
    hog.fit(d.train);
    return std::pair{heldout_auc(det, d, 7), heldout_auc(hog, d, 7)};
  };
  const auto [bpr_det, bpr_hog] = both(recsys::bpr_config{});
  const auto [warp_det, warp_hog] = both(recsys::warp_config{});
  INFO("held-out AUC: bpr " << bpr_det << " (deterministic) " << bpr_hog << " (hogwild); warp " << warp_det << " "
                            << warp_hog);
  CHECK(bpr_hog > bpr_det - 0.01);
  CHECK(warp_hog > warp_det - 0.01);
}

TEST_CASE("bpr/warp: deterministic mode gives bitwise identical factors for a seed and any thread count",
          "[bpr][warp][determinism]") {
  const auto& d = small_data();
  recsys::bpr_config bc;
  bc.epochs = 5;
  bc.sample_alpha = 0.5f;
  std::vector<recsys::bpr_model> bprs;
  for (int threads : {1, 2, 3, 8}) {
    bc.num_threads = threads;
    bprs.emplace_back(bc).fit(d.train);
  }
  for (std::size_t n = 1; n < bprs.size(); ++n) CHECK(same_factors(bprs[0], bprs[n]));
  CHECK(bprs[0].history().back().loss == bprs[1].history().back().loss);

  bc.seed += 1;
  recsys::bpr_model other(bc);
  other.fit(d.train);
  CHECK_FALSE(same_factors(bprs[0], other));

  recsys::warp_config wc;
  wc.epochs = 5;
  std::vector<recsys::warp_model> warps;
  for (int threads : {1, 2, 2}) {
    wc.num_threads = threads;
    warps.emplace_back(wc).fit(d.train);
  }
  CHECK(same_factors(warps[0], warps[1]));
  CHECK(same_factors(warps[0], warps[2]));
}

TEST_CASE("bpr: negative sampling follows popularity^alpha overall and within strata", "[bpr][sampling]") {
  const auto& d = small_data();
  std::vector<double> pop(static_cast<std::size_t>(d.train.cols()), 0.0);
  for (Eigen::Index n = 0; n < d.train.nonZeros(); ++n) pop[static_cast<std::size_t>(d.train.innerIndexPtr()[n])] += 1;
  for (float alpha : {0.0f, 0.5f, 1.0f}) {
    INFO("alpha = " << alpha);
    recsys::detail::pairwise_settings s;
    s.sample_alpha = alpha;
    s.seed = 11;
    recsys::detail::pairwise_engine engine(s, d.train);
    std::vector<double> want(pop.size());
    for (std::size_t i = 0; i < pop.size(); ++i) want[i] = pop[i] > 0 ? std::pow(pop[i], double(alpha)) : 0.0;
    const double total = std::accumulate(want.begin(), want.end(), 0.0);
    for (auto& w : want) w /= total;

    // Whole-catalogue sampler (hogwild, fold-in): empirical frequencies.
    recsys::detail::negative_sampler neg;
    neg.n = static_cast<std::uint32_t>(pop.size());
    neg.table = alpha != 0.0f ? &engine.global_table() : nullptr;
    recsys::rng r(3);
    const int draws = 600000;
    std::vector<double> got(pop.size(), 0.0);
    for (int n = 0; n < draws; ++n) got[static_cast<std::size_t>(neg(r))] += 1.0 / draws;
    double worst = 0.0;
    for (std::size_t i = 0; i < pop.size(); ++i) {
      const double sd = std::sqrt(want[i] * (1 - want[i]) / draws);
      worst = std::max(worst, std::abs(got[i] - want[i]) / std::max(sd, 1e-12));
      if (want[i] == 0.0) CHECK(got[i] == 0.0);
    }
    CHECK(worst < 5.5);  // every item within 5.5 standard deviations (300 items)

    // Stratified schedule: a positive of item block h draws from block h only. Expected
    // number of times item j is drawn in an epoch = nnz(stratum column h(j)) * P(j | h);
    // averaged over epochs it must match the configured distribution.
    std::vector<double> acc(pop.size(), 0.0);
    const int epochs = 300;
    for (int e = 0; e < epochs; ++e) {
      engine.plan(e);
      const auto items = engine.plan_items();
      const auto begin = engine.plan_item_begin();
      for (std::size_t h = 0; h + 1 < begin.size(); ++h) {
        double nnz_h = 0.0, w_h = 0.0;
        for (auto p = begin[h]; p < begin[h + 1]; ++p) {
          nnz_h += pop[static_cast<std::size_t>(items[static_cast<std::size_t>(p)])];
          w_h += alpha == 0.0f ? 1.0 : want[static_cast<std::size_t>(items[static_cast<std::size_t>(p)])];
        }
        for (auto p = begin[h]; p < begin[h + 1]; ++p) {
          const auto i = static_cast<std::size_t>(items[static_cast<std::size_t>(p)]);
          if (w_h > 0) acc[i] += nnz_h * (alpha == 0.0f ? 1.0 : want[i]) / w_h;
        }
      }
    }
    double max_rel = 0.0;
    const double nnz = static_cast<double>(d.train.nonZeros());
    for (std::size_t i = 0; i < pop.size(); ++i) {
      const double marginal = acc[i] / (epochs * nnz);
      if (want[i] > 0) max_rel = std::max(max_rel, std::abs(marginal - want[i]) / want[i]);
    }
    INFO("largest relative deviation of the stratified marginal: " << max_rel);
    CHECK(max_rel < (alpha == 1.0f ? 1e-9 : 0.25));

    // The per-block alias tables draw within their block by the block's weights.
    if (alpha != 0.0f) {
      engine.plan(0);
      const auto items = engine.plan_items();
      const auto begin = engine.plan_item_begin();
      const auto& table = engine.plan_tables()[0];
      std::map<index_t, double> freq;
      recsys::rng rr(5);
      for (int n = 0; n < 200000; ++n) freq[items[static_cast<std::size_t>(begin[0]) + table(rr)]] += 1.0 / 200000;
      double w0 = 0.0;
      for (auto p = begin[0]; p < begin[1]; ++p)
        w0 += want[static_cast<std::size_t>(items[static_cast<std::size_t>(p)])];
      for (auto [item, f] : freq) CHECK(f == Approx(want[static_cast<std::size_t>(item)] / w0).margin(0.01));
    }
  }
}

TEST_CASE("bpr: verify_negatives never contrasts a positive of the user", "[bpr][sampling]") {
  // User 0 has every item but the last; user 1 has item 0 only.
  const index_t items = 100;
  std::vector<Eigen::Triplet<float, index_t>> trips;
  for (index_t i = 0; i + 1 < items; ++i) trips.emplace_back(0, i, 1.0f);
  trips.emplace_back(1, 0, 1.0f);
  recsys::csr_matrix x(2, items);
  x.setFromTriplets(trips.begin(), trips.end());
  x.makeCompressed();

  recsys::detail::pass_context c;
  c.outer = x.outerIndexPtr();
  c.inner = x.innerIndexPtr();
  c.verify = true;
  recsys::detail::negative_sampler neg;
  neg.n = static_cast<std::uint32_t>(items);
  recsys::rng r(1);
  int found = 0, skipped = 0;
  for (int n = 0; n < 2000; ++n) {
    const index_t j = recsys::detail::draw_bpr_negative(c, neg, r, {0, 5});
    if (j < 0)
      ++skipped;
    else {
      CHECK(j == items - 1);
      ++found;
    }
  }
  CHECK(found > 0);
  CHECK(skipped > 0);  // 32 draws all positive happens with probability 0.99^32 = 0.72
  c.verify = false;
  int positives = 0;
  for (int n = 0; n < 2000; ++n) {
    const index_t j = recsys::detail::draw_bpr_negative(c, neg, r, {0, 5});
    CHECK(j != 5);
    positives += j != items - 1 ? 1 : 0;
  }
  CHECK(positives > 1900);

  // Through fit: each deterministic epoch visits every positive once, and every sample of
  // user 0 that found no non-positive is skipped; without verification none is.
  recsys::bpr_config cfg;
  cfg.epochs = 3;
  cfg.blocks = 1;
  recsys::bpr_model m(cfg);
  m.fit(x);
  for (const auto& e : m.history()) {
    CHECK(e.samples == x.nonZeros());
    CHECK(e.skipped > 0);
    CHECK(e.skipped + e.updates == e.samples);
  }
  cfg.verify_negatives = false;
  recsys::bpr_model m2(cfg);
  m2.fit(x);
  for (const auto& e : m2.history()) CHECK(e.skipped == 0);
}

TEST_CASE("bpr/warp: an absurd learning rate raises numerical_error with advice", "[bpr][errors]") {
  const auto& d = small_data();
  recsys::bpr_config bc;
  bc.learning_rate = 1e30f;
  bc.epochs = 3;
  recsys::bpr_model bpr(bc);
  try {
    bpr.fit(d.train);
    FAIL("no numerical_error");
  } catch (const recsys::numerical_error& e) {
    const std::string what = e.what();
    CHECK(what.find("epoch 0") != std::string::npos);
    CHECK(what.find("lower the learning rate") != std::string::npos);
  }
  CHECK_FALSE(bpr.is_fitted());  // no epoch completed: the model is as before the call

  recsys::warp_config wc;
  wc.learning_rate = 1e30f;
  wc.hogwild = true;
  recsys::warp_model warp(wc);
  CHECK_THROWS_AS(warp.fit(d.train), recsys::numerical_error);
}

TEST_CASE("bpr: cancellation keeps the factors of the last completed epoch", "[bpr][cancel]") {
  const auto& d = small_data();
  recsys::bpr_config cfg;
  cfg.epochs = 10;
  cfg.num_threads = 2;
  recsys::bpr_model m(cfg);
  recsys::job_control job;
  std::vector<std::int64_t> finished;
  job.progress = [&](const recsys::progress_event& e) {
    // One stage for the fit: an epoch is complete when done reaches its end (reported with the
    // epoch's AUC; a throttled report may have reached it first).
    if (e.stage == "bpr: fit" && e.done == (e.step + 1) * d.train.nonZeros() && e.metric_name == "auc" &&
        (finished.empty() || finished.back() != e.step)) {
      finished.push_back(e.step);
      if (e.step == 2) job.cancel.cancel();
    }
  };
  CHECK_THROWS_AS(m.fit(d.train, job), recsys::cancelled);
  CHECK(finished == std::vector<std::int64_t>{0, 1, 2});
  REQUIRE(m.is_fitted());
  CHECK(m.history().size() == 3);

  cfg.epochs = 3;
  recsys::bpr_model ref(cfg);
  ref.fit(d.train);
  CHECK(same_factors(m, ref));

  // Cancelled mid-epoch (from a worker's progress report): still the last completed epoch.
  recsys::bpr_config c2 = cfg;
  c2.epochs = 10;
  recsys::bpr_model m2(c2);
  recsys::job_control job2;
  job2.report_interval = 0.0;
  job2.progress = [&](const recsys::progress_event& e) {
    if (e.stage == "bpr: fit" && e.step == 3 && e.done > 3 * d.train.nonZeros() && e.done < 4 * d.train.nonZeros())
      job2.cancel.cancel();
  };
  CHECK_THROWS_AS(m2.fit(d.train, job2), recsys::cancelled);
  CHECK(same_factors(m2, ref));

  // Cancelled before the first epoch: the model is untouched.
  recsys::bpr_model m3(cfg);
  recsys::job_control job3;
  job3.cancel.cancel();
  CHECK_THROWS_AS(m3.fit(d.train, job3), recsys::cancelled);
  CHECK_FALSE(m3.is_fitted());
}

TEST_CASE("bpr and warp: progress is one stage over all epochs, with the epoch's AUC", "[bpr]") {
  const auto& d = small_data();
  const auto check = [&](auto model, const std::string& stage) {
    std::vector<recsys::progress_event> events;
    recsys::job_control job;
    job.report_interval = 0.0;
    job.progress = [&](const recsys::progress_event& e) { events.push_back(e); };
    model.fit(d.train, job);
    REQUIRE(events.size() >= 4);
    for (std::size_t k = 0; k < events.size(); ++k) {
      CHECK(events[k].stage == stage);
      CHECK(events[k].steps == 4);
      CHECK(events[k].total == 4 * d.train.nonZeros());
      if (k > 0) CHECK(events[k].done >= events[k - 1].done);
    }
    CHECK(events.back().done == events.back().total);
    CHECK(events.back().step == 3);
    CHECK(events.back().metric_name == "auc");
    CHECK(events.back().metric == Approx(model.history().back().auc));
  };
  recsys::bpr_config b;
  b.epochs = 4;
  b.num_threads = 2;
  check(recsys::bpr_model(b), "bpr: fit");
  recsys::warp_config w;
  w.epochs = 4;
  w.num_threads = 2;
  check(recsys::warp_model(w), "warp: fit");
}

TEST_CASE("bpr: early stopping stops after `patience` evaluations and restores the best epoch", "[bpr]") {
  const auto& d = small_data();
  const std::vector<double> script = {0.1, 0.3, 0.2, 0.25, 0.9, 0.9};
  recsys::bpr_config cfg;
  cfg.epochs = 6;
  cfg.early_stop.patience = 2;
  int calls = 0;
  cfg.early_stop.metric = [&](const recsys::bpr_model& model) {
    CHECK(model.is_fitted());
    return script[static_cast<std::size_t>(calls++)];
  };
  recsys::bpr_model m(cfg);
  m.fit(d.train);
  CHECK(calls == 4);  // epochs 0..3; epochs 2 and 3 did not improve on epoch 1
  CHECK(m.best_epoch() == 1);
  REQUIRE(m.history().size() == 2);
  CHECK(m.history().back().validation == 0.3);

  recsys::bpr_config plain;
  plain.epochs = 2;
  recsys::bpr_model ref(plain);
  ref.fit(d.train);
  CHECK(same_factors(m, ref));

  // Without restore_best the last evaluated epoch is kept.
  calls = 0;
  cfg.early_stop.restore_best = false;
  recsys::bpr_model last(cfg);
  last.fit(d.train);
  CHECK(last.history().size() == 4);
  // A real metric: held-out AUC, evaluated every 2 epochs.
  recsys::warp_config wc;
  wc.epochs = 8;
  wc.early_stop.every = 2;
  wc.early_stop.metric = [&](const recsys::warp_model& model) { return heldout_auc(model, d, 9); };
  recsys::warp_model w(wc);
  w.fit(d.train);
  int evaluated = 0;
  for (const auto& e : w.history()) evaluated += std::isnan(e.validation) ? 0 : 1;
  CHECK(evaluated >= 1);
  CHECK(w.best_epoch() % 2 == 1);
}

TEST_CASE("bpr/warp: fold-in recommends for a history given at query time", "[bpr][fold-in]") {
  const auto& d = small_data();
  recsys::bpr_model bpr;
  bpr.fit(d.train);
  recsys::warp_model warp;
  warp.fit(d.train);

  const auto check_model = [&](const auto& m) {
    // Deterministic.
    const auto hist = m.seen_items(3);
    const auto a = m.fold_in(hist);
    const auto b = m.fold_in(hist);
    CHECK(bitwise_equal(a, b));
    CHECK(a.norm() > 0.0f);

    // Folded-in vectors of training users rank their held-out items well.
    double hits = 0, total = 0;
    recsys::rng r(17);
    for (index_t u = 0; u < 200; ++u) {
      const auto v = m.fold_in(m.seen_items(u));
      const auto& all = d.all[static_cast<std::size_t>(u)];
      for (index_t i : d.test[static_cast<std::size_t>(u)]) {
        index_t j = 0;
        do j = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(m.num_items())));
        while (std::binary_search(all.begin(), all.end(), j));
        const float si = m.item_factors().row(i).dot(v.transpose()) + m.item_bias()[i];
        const float sj = m.item_factors().row(j).dot(v.transpose()) + m.item_bias()[j];
        hits += si > sj ? 1 : 0;
        total += 1;
      }
    }
    INFO("fold-in held-out AUC " << hits / total);
    CHECK(hits / total > 0.8);

    // recommend_for_history = recommend_for_vector(fold_in(...)) excluding the history.
    const std::vector<index_t> h(hist.begin(), hist.end());
    const auto top = m.recommend_for_history(h, {}, 10);
    CHECK(top.size() == 10);
    CHECK(top.is_sorted());
    for (index_t i : top.ids) CHECK(std::find(h.begin(), h.end(), i) == h.end());
    CHECK(top == m.recommend_for_vector(a, 10, {}, hist));

    // Weights scale the updates; zero weights and unknown items are ignored.
    std::vector<index_t> h2 = h;
    std::vector<float> w(h.size(), 1.0f);
    h2.push_back(m.num_items() + 5);
    w.push_back(3.0f);
    h2.push_back(h[0]);
    w.push_back(0.0f);
    CHECK(bitwise_equal(m.fold_in(h2, w), a));

    // Nothing known: the popularity ranking, history excluded.
    const std::vector<index_t> unknown = {-1, m.num_items()};
    const auto pop = m.recommend_for_history(unknown, {}, 5);
    CHECK(pop == m.recommend(recsys::invalid_index, 5));
    const std::vector<index_t> zero_w_items = {m.popular_items()[0]};
    const std::vector<float> zero_w = {0.0f};
    const auto pop2 = m.recommend_for_history(zero_w_items, zero_w, 5);
    CHECK(std::find(pop2.ids.begin(), pop2.ids.end(), m.popular_items()[0]) == pop2.ids.end());

    // Bad weights.
    const std::vector<float> two = {1.0f, 1.0f};
    CHECK_THROWS_AS(m.fold_in(h, two), recsys::invalid_argument);
    std::vector<float> neg(h.size(), 1.0f);
    neg[0] = -1.0f;
    CHECK_THROWS_AS(m.fold_in(h, neg), recsys::invalid_argument);
    CHECK_THROWS_AS(m.recommend_for_history(h, {}, -1), recsys::invalid_argument);
  };
  check_model(bpr);
  check_model(warp);

  recsys::bpr_model unfitted;
  const std::vector<index_t> one = {1};
  CHECK_THROWS_AS(unfitted.fold_in(one), recsys::invalid_argument);
}

TEST_CASE("bpr: queries come from factor_model and include the item bias", "[bpr]") {
  const auto& d = small_data();
  recsys::bpr_config cfg;
  cfg.epochs = 3;
  recsys::bpr_model m(cfg);
  m.fit(d.train);
  REQUIRE(m.item_bias().size() == m.num_items());
  CHECK(m.item_bias().cwiseAbs().maxCoeff() > 0.0f);
  const index_t items[] = {0, 7, 299};
  const auto s = m.score(4, items);
  for (std::size_t n = 0; n < 3; ++n)
    CHECK(s[n] == Approx(m.user_factors().row(4).dot(m.item_factors().row(items[n])) + m.item_bias()[items[n]]));
  const auto top = m.recommend(4, 5);
  CHECK(top.is_sorted());
  for (index_t i : top.ids) CHECK_FALSE(std::binary_search(m.seen_items(4).begin(), m.seen_items(4).end(), i));

  cfg.item_bias = false;
  recsys::bpr_model nb(cfg);
  nb.fit(d.train);
  CHECK(nb.item_bias().size() == 0);

  // Users without interactions get zero factors and the popularity fallback.
  recsys::csr_matrix x = d.train;
  x.conservativeResize(d.train.rows() + 2, d.train.cols());
  x.makeCompressed();
  recsys::bpr_model extra(cfg);
  extra.fit(x);
  CHECK(extra.user_factors().row(x.rows() - 1).isZero());
  CHECK(extra.recommend(static_cast<index_t>(x.rows() - 1), 5) == extra.recommend(recsys::invalid_index, 5));
}

TEST_CASE("bpr: bad matrices and configurations are refused", "[bpr][errors]") {
  recsys::bpr_model m;
  recsys::csr_matrix empty(3, 4);
  empty.makeCompressed();
  CHECK_THROWS_AS(m.fit(empty), recsys::invalid_argument);
  recsys::csr_matrix one_item(3, 1);
  one_item.insert(0, 0) = 1.0f;
  one_item.makeCompressed();
  CHECK_THROWS_AS(m.fit(one_item), recsys::invalid_argument);
  recsys::csr_matrix zero(3, 4);
  zero.insert(1, 2) = 0.0f;
  zero.insert(0, 1) = 1.0f;
  zero.makeCompressed();
  try {
    m.fit(zero);
    FAIL("accepted a zero entry");
  } catch (const recsys::invalid_argument& e) {
    CHECK(std::string(e.what()).find("user 1, item 2") != std::string::npos);
  }
  recsys::csr_matrix negative(3, 4);
  negative.insert(1, 2) = -1.0f;
  negative.makeCompressed();
  CHECK_THROWS_AS(m.fit(negative), recsys::invalid_argument);
  CHECK_FALSE(m.is_fitted());

  CHECK_THROWS_AS(recsys::bpr_model(recsys::bpr_config{.factors = 0}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::bpr_model(recsys::bpr_config{.learning_rate = -1.0f}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::bpr_model(recsys::bpr_config{.learning_rate_decay = 1.5f}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::bpr_model(recsys::bpr_config{.sample_alpha = -0.5f}), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::warp_model(recsys::warp_config{.max_trials = 0}), recsys::invalid_argument);
  recsys::bpr_config bad;
  bad.user_regularization = -1.0f;
  CHECK_THROWS_AS(recsys::validate(bad), recsys::invalid_argument);
}

TEST_CASE("bpr: set_param applies key=value strings with validation", "[bpr][params]") {
  recsys::bpr_config c;
  recsys::set_param(c, "factors=128");
  recsys::set_param(c, " epochs = 12 ");
  recsys::set_param(c, "learning_rate=1e-2");
  recsys::set_param(c, "regularization=0.02");
  recsys::set_param(c, "sample_alpha=0.75");
  recsys::set_param(c, "verify_negatives=false");
  recsys::set_param(c, "hogwild=on");
  recsys::set_param(c, "user_regularization", "0.5");
  recsys::set_param(c, "seed=18446744073709551615");
  CHECK(c.factors == 128);
  CHECK(c.epochs == 12);
  CHECK(c.learning_rate == 0.01f);
  CHECK(c.regularization == 0.02f);
  CHECK(c.sample_alpha == 0.75f);
  CHECK_FALSE(c.verify_negatives);
  CHECK(c.hogwild);
  CHECK(c.user_regularization == 0.5f);
  CHECK(c.seed == 18446744073709551615ULL);

  const recsys::bpr_config before = c;
  const auto unchanged = [&] {
    return c.factors == before.factors && c.epochs == before.epochs && c.learning_rate == before.learning_rate;
  };
  for (const char* bad : {"factors=0", "factors=12x", "factors=", "epochs=-1", "learning_rate=nan", "learning_rate=inf",
                          "learning_rate=0", "sample_alpha=9", "verify_negatives=maybe", "max_trials=5",
                          "no_such_key=1", "factors", "=3"}) {
    INFO(bad);
    CHECK_THROWS_AS(recsys::set_param(c, bad), recsys::invalid_argument);
    CHECK(unchanged());
  }
  try {
    recsys::set_param(c, "fators=3");
  } catch (const recsys::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("fators") != std::string::npos);
    CHECK(what.find("factors") != std::string::npos);  // lists the known keys
  }

  recsys::warp_config w;
  recsys::set_param(w, "max_trials=50");
  recsys::set_param(w, "max_rank_weight=5");
  CHECK(w.max_trials == 50);
  CHECK(w.max_rank_weight == 5.0f);
  CHECK_THROWS_AS(recsys::set_param(w, "max_trials=0"), recsys::invalid_argument);

  // Every listed key is accepted by set_param with its listed default, which round-trips.
  recsys::warp_config fresh;
  for (const auto& p : recsys::warp_params()) {
    INFO(p.name << " = " << p.default_value);
    if (!p.default_value.empty()) CHECK_NOTHROW(recsys::set_param(fresh, p.name, p.default_value));
  }
  for (std::size_t n = 0; n < recsys::warp_params().size(); ++n)
    CHECK(recsys::warp_params(fresh)[n].default_value == recsys::warp_params()[n].default_value);
  recsys::bpr_config tuned;
  recsys::set_param(tuned, "learning_rate=0.0123");
  recsys::set_param(tuned, "user_regularization=0.25");
  recsys::bpr_config copy;
  for (const auto& p : recsys::bpr_params(tuned))
    if (!p.default_value.empty()) recsys::set_param(copy, p.name, p.default_value);
  CHECK(copy.learning_rate == tuned.learning_rate);
  CHECK(copy.user_regularization == tuned.user_regularization);
  std::set<std::string> names;
  for (const auto& o : recsys::bpr_params()) names.insert(o.name);
  for (const char* k :
       {"factors", "epochs", "learning_rate", "regularization", "sample_alpha", "verify_negatives", "hogwild"})
    CHECK(names.count(k) == 1);
  CHECK(names.count("max_trials") == 0);
}

TEST_CASE("bpr/warp: odd shapes and refits and concurrent queries", "[bpr][warp]") {
  const auto& d = small_data();
  // A factor count without a fixed-size kernel, more strata than the auto choice, popularity
  // sampling: still deterministic across thread counts and learning.
  recsys::warp_config wc;
  wc.factors = 10;
  wc.blocks = 50;
  wc.epochs = 8;
  wc.sample_alpha = 0.75f;
  wc.num_threads = 1;
  recsys::warp_model a(wc);
  a.fit(d.train);
  wc.num_threads = 2;
  recsys::warp_model b(wc);
  b.fit(d.train);
  CHECK(same_factors(a, b));
  CHECK(a.num_factors() == 10);
  CHECK(a.history().back().auc > a.history().front().auc);

  // A tiny matrix: 3 users, 2 items (one stratum), every user has one item.
  recsys::csr_matrix tiny(3, 2);
  tiny.insert(0, 0) = 1.0f;
  tiny.insert(1, 1) = 1.0f;
  tiny.insert(2, 0) = 1.0f;
  tiny.makeCompressed();
  recsys::bpr_model t(recsys::bpr_config{.factors = 4, .epochs = 200, .learning_rate_decay = 1.0f, .item_bias = false});
  t.fit(tiny);
  CHECK(t.score(0, std::vector<index_t>{0, 1})[0] > t.score(0, std::vector<index_t>{0, 1})[1]);
  CHECK(t.score(1, std::vector<index_t>{0, 1})[1] > t.score(1, std::vector<index_t>{0, 1})[0]);

  // A refit replaces the model, its shape and its history.
  t.fit(d.train);
  CHECK(t.num_users() == d.train.rows());
  CHECK(t.num_items() == d.train.cols());
  CHECK(t.history().size() == 200);

  // Hogwild with popularity sampling learns too.
  recsys::bpr_config hc;
  hc.hogwild = true;
  hc.sample_alpha = 0.5f;
  hc.epochs = 10;
  recsys::bpr_model h(hc);
  h.fit(d.train);
  CHECK(heldout_auc(h, d, 3) > 0.85);

  // Const queries from many threads at once give what a single thread gets.
  std::vector<recsys::topk_result> serial(64), parallel(64);
  for (index_t u = 0; u < 64; ++u) {
    const auto hist = a.seen_items(u);
    serial[static_cast<std::size_t>(u)] =
        a.recommend_for_history(std::vector<index_t>(hist.begin(), hist.end()), {}, 10);
  }
  recsys::parallel_for(64, 4, [&](std::int64_t u) {
    const auto hist = a.seen_items(static_cast<index_t>(u));
    parallel[static_cast<std::size_t>(u)] =
        a.recommend_for_history(std::vector<index_t>(hist.begin(), hist.end()), {}, 10);
  });
  CHECK(serial == parallel);
}
