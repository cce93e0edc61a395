// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SYNTHETIC_INL_HPP
#define RECSYS_DATA_SYNTHETIC_INL_HPP

/// @file
/// Definitions of data/synthetic.hpp: the synthetic data generators (header-only mode includes
/// this file; the compiled library instantiates it in src/synthetic.cpp).

#include <recsys/data/synthetic.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

template <class>
void synthetic_config::validate_fields() const {
  constexpr const char* where = "synthetic_config";
  RECSYS_REQUIRE(num_users >= 1, where, "num_users must be >= 1 (got ", num_users, ")");
  RECSYS_REQUIRE(num_items >= 1, where, "num_items must be >= 1 (got ", num_items, ")");
  RECSYS_REQUIRE(num_interactions >= 0, where, "num_interactions must be >= 0 (got ", num_interactions, ")");
  RECSYS_REQUIRE(num_clusters >= 1, where, "num_clusters must be >= 1 (got ", num_clusters, ")");
  RECSYS_REQUIRE(transitions_per_item >= 1, where, "transitions_per_item must be >= 1 (got ", transitions_per_item,
                 ")");
  RECSYS_REQUIRE(
      static_cast<std::int64_t>(num_items) >= static_cast<std::int64_t>(num_clusters) * (transitions_per_item + 1),
      where, "num_items (", num_items, ") must be >= num_clusters (", num_clusters, ") * (transitions_per_item + 1) (",
      transitions_per_item + 1, ") so that every cluster can hold an item's distinct successors");
  RECSYS_REQUIRE(std::isfinite(zipf_exponent) && zipf_exponent >= 0.0, where,
                 "zipf_exponent must be finite and >= 0 (got ", zipf_exponent, ")");
  RECSYS_REQUIRE(cluster_affinity >= 0.0 && cluster_affinity <= 1.0, where, "cluster_affinity must be in [0, 1] (got ",
                 cluster_affinity, ")");
  RECSYS_REQUIRE(min_events_per_user >= 0, where, "min_events_per_user must be >= 0 (got ", min_events_per_user, ")");
  RECSYS_REQUIRE(min_events_per_user <= num_interactions / num_users, where, "num_interactions (", num_interactions,
                 ") is less than num_users (", num_users, ") * min_events_per_user (", min_events_per_user, ")");
  RECSYS_REQUIRE(std::isfinite(activity_sigma) && activity_sigma >= 0.0 && activity_sigma <= 10.0, where,
                 "activity_sigma must be in [0, 10] (got ", activity_sigma, ")");
  RECSYS_REQUIRE(!event_types.empty(), where, "event_types is empty");
  double total_rate = 0.0;
  for (std::size_t t = 0; t < event_types.size(); ++t) {
    const auto& e = event_types[t];
    RECSYS_REQUIRE(!e.name.empty(), where, "event_types[", t, "] has an empty name");
    for (std::size_t o = 0; o < t; ++o)
      RECSYS_REQUIRE(event_types[o].name != e.name, where, "event type name '", e.name, "' repeats");
    RECSYS_REQUIRE(std::isfinite(e.rate) && e.rate >= 0.0, where, "event type '", e.name,
                   "': rate must be finite and >= 0 (got ", e.rate, ")");
    total_rate += e.rate;
    RECSYS_REQUIRE(std::isfinite(e.value_a) && std::isfinite(e.value_b), where, "event type '", e.name,
                   "': value_a and value_b must be finite (got ", e.value_a, ", ", e.value_b, ")");
    if (e.values == value_distribution::uniform)
      RECSYS_REQUIRE(e.value_a <= e.value_b, where, "event type '", e.name,
                     "': uniform values need value_a <= value_b (got ", e.value_a, ", ", e.value_b, ")");
    if (e.values == value_distribution::lognormal)
      RECSYS_REQUIRE(e.value_b >= 0.0 && e.value_a + 6.0 * e.value_b < 80.0, where, "event type '", e.name,
                     "': lognormal needs value_b >= 0 and values that fit a float (got mu ", e.value_a, ", sigma ",
                     e.value_b, ")");
  }
  RECSYS_REQUIRE(total_rate > 0.0, where, "all event type rates are zero");
  RECSYS_REQUIRE(start_time >= 0, where, "start_time must be >= 0 (got ", start_time, ")");
  RECSYS_REQUIRE(time_span_days >= 1 && time_span_days <= 36500, where, "time_span_days must be in [1, 36500] (got ",
                 time_span_days, ")");
  RECSYS_REQUIRE(drift_days >= 0 && drift_days < time_span_days, where,
                 "drift_days must be in [0, time_span_days) = [0, ", time_span_days, ") (got ", drift_days, ")");
  RECSYS_REQUIRE(std::isfinite(mean_session_length) && mean_session_length >= 1.0, where,
                 "mean_session_length must be finite and >= 1 (got ", mean_session_length, ")");
  RECSYS_REQUIRE(
      std::isfinite(mean_event_gap_seconds) && mean_event_gap_seconds >= 1.0 && mean_event_gap_seconds <= 86400.0,
      where, "mean_event_gap_seconds must be in [1, 86400] (got ", mean_event_gap_seconds, ")");
  RECSYS_REQUIRE(min_session_gap_seconds >= 1 && min_session_gap_seconds <= 365 * detail::seconds_per_day, where,
                 "min_session_gap_seconds must be in [1, 31536000] (got ", min_session_gap_seconds, ")");
  RECSYS_REQUIRE(sequential_strength >= 0.0 && sequential_strength <= 1.0, where,
                 "sequential_strength must be in [0, 1] (got ", sequential_strength, ")");
  RECSYS_REQUIRE(num_baskets >= 0, where, "num_baskets must be >= 0 (got ", num_baskets, ")");
  RECSYS_REQUIRE(std::isfinite(mean_basket_size) && mean_basket_size >= 1.0, where,
                 "mean_basket_size must be finite and >= 1 (got ", mean_basket_size, ")");
  RECSYS_REQUIRE(max_basket_size >= 1 && max_basket_size <= num_items, where, "max_basket_size must be in [1, ",
                 num_items, "] (got ", max_basket_size, ")");
  RECSYS_REQUIRE(
      num_planted_pairs >= 0 && static_cast<std::int64_t>(num_planted_pairs) * 2 <= num_items - num_items / 10, where,
      "num_planted_pairs must be in [0, (num_items - num_items / 10) / 2] = [0, ", (num_items - num_items / 10) / 2,
      "] (got ", num_planted_pairs, ")");
  RECSYS_REQUIRE(planted_pair_rate >= 0.0 && planted_pair_rate <= 1.0, where,
                 "planted_pair_rate must be in [0, 1] (got ", planted_pair_rate, ")");
  RECSYS_REQUIRE(num_planted_pairs == 0 || planted_pair_rate == 0.0 || max_basket_size >= 2, where,
                 "planted pairs need max_basket_size >= 2 (got ", max_basket_size, ")");
  RECSYS_REQUIRE(num_planted_pairs > 0 || planted_pair_rate == 0.0, where, "planted_pair_rate is ", planted_pair_rate,
                 " but num_planted_pairs is 0");
  RECSYS_REQUIRE(num_threads >= 0, where, "num_threads must be >= 0 (got ", num_threads, ")");
}

namespace detail {

/// Samplers for one popularity regime (normal or drift).
struct synthetic_regime {
  alias_table global;                 ///< over all items
  std::vector<alias_table> clusters;  ///< per cluster, over its members (positions in members[c])
};

/// Truth plus the samplers the generators draw from.
struct synthetic_model {
  synthetic_truth truth;
  std::vector<std::vector<index_t>> members;  ///< items of each cluster, ascending
  synthetic_regime normal;
  synthetic_regime drift;  ///< only built when drift_days > 0
  alias_table event_type;
};

/// Number of failures before the first success with success probability p (mean (1-p)/p).
template <class = void>
std::int64_t synthetic_geometric(rng& r, double p, std::int64_t cap) noexcept {
  if (p >= 1.0) return 0;
  const double u = 1.0 - r.uniform_double();  // (0, 1]
  const double k = std::floor(std::log(u) / std::log1p(-p));
  return k >= static_cast<double>(cap) ? cap : static_cast<std::int64_t>(k);
}

/// Standard exponential deviate.
template <class = void>
double synthetic_exponential(rng& r) noexcept {
  return -std::log(1.0 - r.uniform_double());
}

template <class = void>
synthetic_regime make_synthetic_regime(const std::vector<index_t>& rank,
                                       const std::vector<std::vector<index_t>>& members, double s) {
  std::vector<double> w(rank.size());
  for (std::size_t i = 0; i < rank.size(); ++i) w[i] = std::pow(static_cast<double>(rank[i]) + 1.0, -s);
  synthetic_regime g;
  g.global = alias_table(w);
  g.clusters.reserve(members.size());
  std::vector<double> cw;
  for (const auto& m : members) {
    cw.clear();
    for (index_t i : m) cw.push_back(w[static_cast<std::size_t>(i)]);
    g.clusters.emplace_back(cw);
  }
  return g;
}

/// A random permutation of 0..n-1 as ranks: rank[perm[r]] = r.
template <class = void>
std::vector<index_t> synthetic_ranks(index_t n, rng& r) {
  std::vector<index_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  shuffle(perm.begin(), perm.end(), r);
  std::vector<index_t> rank(perm.size());
  for (std::size_t k = 0; k < perm.size(); ++k) rank[static_cast<std::size_t>(perm[k])] = static_cast<index_t>(k);
  return rank;
}

/// One fresh (non-sequential) item draw for a user of `cluster` under a regime.
template <class = void>
index_t synthetic_draw_item(const synthetic_model& m, const synthetic_regime& g, index_t cluster, double affinity,
                            rng& r) {
  if (r.uniform_double() < affinity) {
    const auto c = static_cast<std::size_t>(cluster);
    return m.members[c][g.clusters[c](r)];
  }
  return static_cast<index_t>(g.global(r));
}

/// T distinct successors per item (never the item itself), drawn from its cluster under regime g.
template <class = void>
std::vector<index_t> synthetic_transitions(const synthetic_config& cfg, const synthetic_model& m,
                                           const synthetic_regime& g, std::uint64_t tag) {
  const auto N = static_cast<std::int64_t>(cfg.num_items);
  const index_t T = cfg.transitions_per_item;
  std::vector<index_t> out(static_cast<std::size_t>(N) * static_cast<std::size_t>(T), invalid_index);
  constexpr std::int64_t item_block = 256;
  const std::int64_t item_blocks = (N + item_block - 1) / item_block;
  parallel_for(0, item_blocks, parallel_options{cfg.num_threads}, [&](std::int64_t b) {
    rng r(cfg.seed, tag, static_cast<std::uint64_t>(b));
    const std::int64_t end = std::min(N, (b + 1) * item_block);
    for (std::int64_t i = b * item_block; i < end; ++i) {
      const auto c = static_cast<std::size_t>(m.truth.item_cluster[static_cast<std::size_t>(i)]);
      const auto& mem = m.members[c];
      index_t* succ = out.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(T);
      auto taken = [&](index_t j, index_t upto) {
        if (j == static_cast<index_t>(i)) return true;
        for (index_t k = 0; k < upto; ++k)
          if (succ[k] == j) return true;
        return false;
      };
      for (index_t k = 0; k < T; ++k) {
        index_t j = invalid_index;
        for (int attempt = 0; attempt < 64 && j == invalid_index; ++attempt) {
          const index_t cand = mem[g.clusters[c](r)];
          if (!taken(cand, k)) j = cand;
        }
        if (j == invalid_index) {  // a very skewed cluster: scan from a random member
          auto p = static_cast<std::size_t>(r.uniform_index(static_cast<std::uint32_t>(mem.size())));
          while (taken(mem[p], k)) p = (p + 1) % mem.size();
          j = mem[p];
        }
        succ[k] = j;
      }
    }
  });
  return out;
}

template <class = void>
synthetic_model build_synthetic_model(const synthetic_config& cfg) {
  cfg.validate();
  synthetic_model m;
  synthetic_truth& t = m.truth;
  const auto U = static_cast<std::size_t>(cfg.num_users);
  const auto N = static_cast<std::size_t>(cfg.num_items);
  const auto K = cfg.num_clusters;
  const index_t T = cfg.transitions_per_item;

  // Items: popularity ranks and balanced clusters from two independent permutations.
  rng item_rng(cfg.seed, stream_tag("synthetic.items"), 0);
  t.item_rank = synthetic_ranks(cfg.num_items, item_rng);
  const std::vector<index_t> cluster_slot = synthetic_ranks(cfg.num_items, item_rng);
  t.item_cluster.resize(N);
  m.members.assign(static_cast<std::size_t>(K), {});
  for (std::size_t i = 0; i < N; ++i) {
    t.item_cluster[i] = cluster_slot[i] % K;
    m.members[static_cast<std::size_t>(t.item_cluster[i])].push_back(static_cast<index_t>(i));
  }
  m.normal = make_synthetic_regime(t.item_rank, m.members, cfg.zipf_exponent);

  // Users: clusters and activity.
  rng user_rng(cfg.seed, stream_tag("synthetic.users"), 0);
  t.user_cluster.resize(U);
  std::vector<double> activity(U);
  for (std::size_t u = 0; u < U; ++u) {
    t.user_cluster[u] = static_cast<index_t>(user_rng.uniform_index(static_cast<std::uint32_t>(K)));
    activity[u] = cfg.activity_sigma > 0.0 ? std::exp(cfg.activity_sigma * user_rng.normal()) : 1.0;
  }
  // Exact total: user u gets min + floor(extra * S_u / S) - floor(extra * S_{u-1} / S).
  const std::int64_t extra = cfg.num_interactions - cfg.min_events_per_user * cfg.num_users;
  const double total_activity = std::accumulate(activity.begin(), activity.end(), 0.0);
  t.user_events.resize(U);
  double cum = 0.0;
  std::int64_t given = 0;
  for (std::size_t u = 0; u < U; ++u) {
    cum += activity[u];
    std::int64_t upto =
        u + 1 == U ? extra : static_cast<std::int64_t>(std::floor(static_cast<double>(extra) * (cum / total_activity)));
    upto = std::clamp<std::int64_t>(upto, given, extra);  // guards against rounding in the last bits
    t.user_events[u] = cfg.min_events_per_user + (upto - given);
    given = upto;
  }

  // Drift regime.
  t.drift_start = cfg.start_time + (cfg.time_span_days - cfg.drift_days) * seconds_per_day;
  if (cfg.drift_days > 0) {
    rng drift_rng(cfg.seed, stream_tag("synthetic.drift"), 0);
    t.item_drift_rank = synthetic_ranks(cfg.num_items, drift_rng);
    t.user_drift_cluster.resize(U);
    for (std::size_t u = 0; u < U; ++u)
      t.user_drift_cluster[u] =
          K == 1 ? 0
                 : static_cast<index_t>(
                       (t.user_cluster[u] + 1 +
                        static_cast<index_t>(drift_rng.uniform_index(static_cast<std::uint32_t>(K - 1)))) %
                       K);
    m.drift = make_synthetic_regime(t.item_drift_rank, m.members, cfg.zipf_exponent);
  } else {
    t.item_drift_rank = t.item_rank;
    t.user_drift_cluster = t.user_cluster;
  }

  // Transitions: T distinct successors per item, from its cluster, by popularity (the drift
  // regime draws its own under the drifted popularity).
  t.transitions_per_item = T;
  t.transitions = synthetic_transitions(cfg, m, m.normal, stream_tag("synthetic.transitions"));
  t.drift_transitions = cfg.drift_days > 0
                            ? synthetic_transitions(cfg, m, m.drift, stream_tag("synthetic.drift_transitions"))
                            : t.transitions;

  // Planted co-purchase pairs: disjoint, uniformly random items outside the popularity head
  // (the top tenth of the ranks), where co-purchase is not drowned by sheer popularity.
  rng pair_rng(cfg.seed, stream_tag("synthetic.pairs"), 0);
  std::vector<index_t> candidates;
  for (std::size_t i = 0; i < N; ++i)
    if (t.item_rank[i] >= cfg.num_items / 10) candidates.push_back(static_cast<index_t>(i));
  shuffle(candidates.begin(), candidates.end(), pair_rng);
  t.planted_partner.assign(N, invalid_index);
  for (index_t p = 0; p < cfg.num_planted_pairs; ++p) {
    const index_t a = candidates[static_cast<std::size_t>(2 * p)];
    const index_t b = candidates[static_cast<std::size_t>(2 * p + 1)];
    t.planted_pairs.emplace_back(std::min(a, b), std::max(a, b));
    t.planted_partner[static_cast<std::size_t>(a)] = b;
    t.planted_partner[static_cast<std::size_t>(b)] = a;
  }

  std::vector<double> rates;
  for (const auto& e : cfg.event_types) rates.push_back(e.rate);
  m.event_type = alias_table(rates);
  return m;
}

template <class = void>
float synthetic_value(const synthetic_event_type& e, rng& r) {
  switch (e.values) {
    case value_distribution::constant:
      return static_cast<float>(e.value_a);
    case value_distribution::uniform:
      return static_cast<float>(std::round((e.value_a + (e.value_b - e.value_a) * r.uniform_double()) * 100.0) / 100.0);
    case value_distribution::lognormal:
      return static_cast<float>(std::round(std::exp(e.value_a + e.value_b * r.normal()) * 100.0) / 100.0);
  }
  return static_cast<float>(e.value_a);
}

template <class Prefix>
id_map<std::string> synthetic_ids(Prefix prefix, std::int64_t n) {
  id_map<std::string> ids;
  ids.reserve(static_cast<std::size_t>(n));
  std::string key;
  for (std::int64_t k = 0; k < n; ++k) {
    key = prefix;
    key += std::to_string(k);
    ids.insert(key);
  }
  return ids;
}

}  // namespace detail

template <class>
synthetic_truth synthetic_ground_truth(const synthetic_config& cfg) {
  return detail::build_synthetic_model(cfg).truth;
}

template <class>
interaction_log generate_interactions(const synthetic_config& cfg) {
  const detail::synthetic_model m = detail::build_synthetic_model(cfg);
  const synthetic_truth& t = m.truth;
  const auto U = static_cast<std::int64_t>(cfg.num_users);
  const auto n = static_cast<std::size_t>(cfg.num_interactions);
  const std::int64_t block = detail::synthetic_user_block;
  const std::int64_t blocks = (U + block - 1) / block;
  const parallel_options par{cfg.num_threads};

  std::vector<std::int64_t> user_offset(static_cast<std::size_t>(U) + 1, 0);
  for (std::int64_t u = 0; u < U; ++u)
    user_offset[static_cast<std::size_t>(u) + 1] =
        user_offset[static_cast<std::size_t>(u)] + t.user_events[static_cast<std::size_t>(u)];

  // Pass 1: session lengths (own stream), so that session numbers are known before pass 2; the
  // columns are allocated (zero-filled, page-faulted) by tasks running alongside.
  interaction_log log;
  const double p_session = 1.0 / cfg.mean_session_length;
  std::vector<std::vector<std::int32_t>> lengths(static_cast<std::size_t>(blocks));
  constexpr std::int64_t column_tasks = 7;
  parallel_for(0, column_tasks + blocks, par, [&](std::int64_t task) {
    switch (task) {
      case 0:
        log.users.resize(n);
        return;
      case 1:
        log.items.resize(n);
        return;
      case 2:
        log.timestamps.resize(n);
        return;
      case 3:
        log.event_types.resize(n);
        return;
      case 4:
        log.event_values.resize(n);
        return;
      case 5:
        log.sessions.resize(n);
        return;
      case 6:
        log.weights.assign(n, 1.0f);
        return;
      default:
        break;
    }
    const std::int64_t b = task - column_tasks;
    rng r(cfg.seed, stream_tag("synthetic.sessions"), static_cast<std::uint64_t>(b));
    auto& len = lengths[static_cast<std::size_t>(b)];
    const std::int64_t u_end = std::min(U, (b + 1) * block);
    for (std::int64_t u = b * block; u < u_end; ++u)
      for (std::int64_t left = user_offset[static_cast<std::size_t>(u) + 1] - user_offset[static_cast<std::size_t>(u)];
           left > 0;) {
        const std::int64_t l = 1 + detail::synthetic_geometric(r, p_session, left - 1);
        len.push_back(static_cast<std::int32_t>(l));
        left -= l;
      }
  });
  std::vector<std::int64_t> session_base(static_cast<std::size_t>(blocks) + 1, 0);
  for (std::int64_t b = 0; b < blocks; ++b)
    session_base[static_cast<std::size_t>(b) + 1] =
        session_base[static_cast<std::size_t>(b)] +
        static_cast<std::int64_t>(lengths[static_cast<std::size_t>(b)].size());
  const std::int64_t num_sessions = session_base.back();
  RECSYS_REQUIRE(num_sessions < std::numeric_limits<index_t>::max(), "generate_interactions", num_sessions,
                 " sessions exceed the index range");

  const std::int64_t span_seconds = cfg.time_span_days * detail::seconds_per_day;
  const double gap_scale = cfg.mean_event_gap_seconds - 1.0;
  const auto T = static_cast<std::uint32_t>(t.transitions_per_item);

  // Pass 2: three id-map tasks (serial work, overlapped with the blocks), then the user blocks.
  constexpr std::int64_t id_tasks = 3;
  parallel_for(0, id_tasks + blocks, par, [&](std::int64_t task) {
    if (task == 0) {
      log.session_ids = detail::synthetic_ids("s", num_sessions);
      return;
    }
    if (task == 1) {
      log.user_ids = detail::synthetic_ids("u", cfg.num_users);
      return;
    }
    if (task == 2) {
      log.item_ids = detail::synthetic_ids("i", cfg.num_items);
      return;
    }
    const std::int64_t b = task - id_tasks;
    rng r(cfg.seed, stream_tag("synthetic.events"), static_cast<std::uint64_t>(b));
    const auto& len = lengths[static_cast<std::size_t>(b)];
    std::size_t next_session = 0;  // into len
    auto session_number = static_cast<index_t>(session_base[static_cast<std::size_t>(b)]);
    std::vector<std::int64_t> durations;
    std::vector<double> spacing;
    const std::int64_t u_end = std::min(U, (b + 1) * block);
    for (std::int64_t u = b * block; u < u_end; ++u) {
      const auto us = static_cast<std::size_t>(u);
      const std::int64_t first = user_offset[us];
      const std::int64_t count = user_offset[us + 1] - first;
      if (count == 0) continue;
      // This user's sessions: len[s0 .. s1). In-session offsets go to timestamps for now.
      const std::size_t s0 = next_session;
      for (std::int64_t seen = 0; seen < count; ++next_session) seen += len[next_session];
      const std::size_t s1 = next_session;
      durations.clear();
      std::int64_t e = first, required = 0;
      for (std::size_t s = s0; s < s1; ++s) {
        std::int64_t off = 0;
        for (std::int32_t k = 0; k < len[s]; ++k, ++e) {
          if (k > 0) off += 1 + static_cast<std::int64_t>(std::floor(detail::synthetic_exponential(r) * gap_scale));
          log.timestamps[static_cast<std::size_t>(e)] = off;
        }
        durations.push_back(off);
        required += off;
      }
      const auto k_sessions = static_cast<std::int64_t>(s1 - s0);
      required += (k_sessions - 1) * cfg.min_session_gap_seconds;
      const std::int64_t slack_total = span_seconds - 1 - required;
      RECSYS_REQUIRE(slack_total >= 0, "generate_interactions", "user u", u, " has ", count, " events in ", k_sessions,
                     " sessions needing ", required, " s, more than time_span_days (", cfg.time_span_days,
                     " days); raise time_span_days or lower min_session_gap_seconds / mean_event_gap_seconds");
      // Spread the slack uniformly: sorted uniforms from normalised exponential spacings.
      spacing.resize(static_cast<std::size_t>(k_sessions) + 1);
      double total = 0.0;
      for (auto& s : spacing) total += (s = detail::synthetic_exponential(r));
      double cum = 0.0;
      std::int64_t used = 0;  // durations + gaps of this user's earlier sessions
      e = first;
      for (std::int64_t s = 0; s < k_sessions; ++s, ++session_number) {
        const auto ss = static_cast<std::size_t>(s);
        cum += spacing[ss];
        const auto slack = std::min<std::int64_t>(
            slack_total, static_cast<std::int64_t>(std::floor(static_cast<double>(slack_total) * (cum / total))));
        const timestamp_t start = cfg.start_time + slack + used;
        used += durations[ss] + cfg.min_session_gap_seconds;
        const bool drifted = start >= t.drift_start;
        const detail::synthetic_regime& g = drifted ? m.drift : m.normal;
        const index_t cluster = drifted ? t.user_drift_cluster[us] : t.user_cluster[us];
        index_t prev = invalid_index;
        for (std::int32_t k = 0; k < len[s0 + ss]; ++k, ++e) {
          const auto es = static_cast<std::size_t>(e);
          index_t item;
          if (prev != invalid_index && r.uniform_double() < cfg.sequential_strength)
            item = (drifted ? t.drift_transitions
                            : t.transitions)[static_cast<std::size_t>(prev) * T + r.uniform_index(T)];
          else
            item = detail::synthetic_draw_item(m, g, cluster, cfg.cluster_affinity, r);
          const auto type = static_cast<index_t>(m.event_type(r));
          log.users[es] = static_cast<index_t>(u);
          log.items[es] = item;
          log.timestamps[es] += start;
          log.event_types[es] = type;
          log.event_values[es] = detail::synthetic_value(cfg.event_types[static_cast<std::size_t>(type)], r);
          log.sessions[es] = session_number;
          prev = item;
        }
      }
    }
  });

  for (const auto& e : cfg.event_types) log.event_type_names.insert(e.name);
  log.has_event_type = log.has_event_value = log.has_session = true;
  log.report.source = detail::str("synthetic (seed ", cfg.seed, ")");
  log.report.rows_read = log.report.rows_kept = cfg.num_interactions;
  return log;
}

template <class>
basket_data generate_baskets(const synthetic_config& cfg) {
  const detail::synthetic_model m = detail::build_synthetic_model(cfg);
  const synthetic_truth& t = m.truth;
  const std::int64_t block = detail::synthetic_basket_block;
  const std::int64_t blocks = (cfg.num_baskets + block - 1) / block;
  std::vector<std::vector<index_t>> block_items(static_cast<std::size_t>(blocks));
  std::vector<std::vector<std::int64_t>> block_sizes(static_cast<std::size_t>(blocks));
  const double p_size = 1.0 / cfg.mean_basket_size;
  const auto K = static_cast<std::uint32_t>(cfg.num_clusters);
  const auto P = static_cast<std::uint32_t>(cfg.num_planted_pairs);
  const index_t N = cfg.num_items;

  parallel_for(0, blocks, parallel_options{cfg.num_threads}, [&](std::int64_t b) {
    rng r(cfg.seed, stream_tag("synthetic.baskets"), static_cast<std::uint64_t>(b));
    auto& items = block_items[static_cast<std::size_t>(b)];
    auto& sizes = block_sizes[static_cast<std::size_t>(b)];
    const std::int64_t end = std::min(cfg.num_baskets, (b + 1) * block);
    for (std::int64_t k = b * block; k < end; ++k) {
      const bool planted = P > 0 && r.uniform_double() < cfg.planted_pair_rate;
      std::int64_t size = 1 + detail::synthetic_geometric(r, p_size, cfg.max_basket_size - 1);
      const std::size_t start = items.size();
      if (planted) {
        size = std::max<std::int64_t>(size, 2);
        const auto& pair = t.planted_pairs[r.uniform_index(P)];
        items.push_back(pair.first);
        items.push_back(pair.second);
      }
      const auto cluster = static_cast<index_t>(r.uniform_index(K));
      auto contains = [&](index_t i) {
        return std::find(items.begin() + static_cast<std::ptrdiff_t>(start), items.end(), i) != items.end();
      };
      while (static_cast<std::int64_t>(items.size() - start) < size) {
        index_t i = invalid_index;
        for (int attempt = 0; attempt < 32 && i == invalid_index; ++attempt) {
          const index_t cand = detail::synthetic_draw_item(m, m.normal, cluster, cfg.cluster_affinity, r);
          if (!contains(cand)) i = cand;
        }
        if (i == invalid_index) {  // basket nearly as large as a skewed catalogue: next free item
          i = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(N)));
          while (contains(i)) i = (i + 1) % N;
        }
        items.push_back(i);
      }
      shuffle(items.begin() + static_cast<std::ptrdiff_t>(start), items.end(), r);
      sizes.push_back(size);
    }
  });

  basket_data out;
  std::size_t total = 0;
  for (const auto& v : block_items) total += v.size();
  out.items.resize(total);
  out.offsets.resize(static_cast<std::size_t>(cfg.num_baskets) + 1);
  out.offsets[0] = 0;
  std::vector<std::size_t> item_base(static_cast<std::size_t>(blocks) + 1, 0);
  for (std::int64_t b = 0; b < blocks; ++b)
    item_base[static_cast<std::size_t>(b) + 1] =
        item_base[static_cast<std::size_t>(b)] + block_items[static_cast<std::size_t>(b)].size();
  parallel_for(0, blocks, parallel_options{cfg.num_threads}, [&](std::int64_t b) {
    const auto bs = static_cast<std::size_t>(b);
    std::copy(block_items[bs].begin(), block_items[bs].end(),
              out.items.begin() + static_cast<std::ptrdiff_t>(item_base[bs]));
    auto off = static_cast<std::int64_t>(item_base[bs]);
    std::size_t basket = bs * static_cast<std::size_t>(block);
    for (std::int64_t s : block_sizes[bs]) out.offsets[++basket] = (off += s);
  });
  out.item_ids = detail::synthetic_ids("i", cfg.num_items);
  out.report.source = detail::str("synthetic baskets (seed ", cfg.seed, ")");
  out.report.rows_read = out.report.rows_kept = cfg.num_baskets;
  return out;
}

template <class>
metadata_table generate_item_metadata(const synthetic_config& cfg, const interaction_log& log) {
  const synthetic_truth t = synthetic_ground_truth(cfg);
  const auto n = static_cast<std::size_t>(cfg.num_items);
  constexpr timestamp_t never = std::numeric_limits<timestamp_t>::max();
  std::vector<timestamp_t> first(n, never);
  for (std::size_t r = 0; r < log.size(); ++r) {
    // Items of the log by their external id "i<k>" (the log's own indices may differ).
    const std::string& id = log.item_ids.id(log.items[r]);
    std::size_t k = 0;
    const bool ours = id.size() > 1 && id[0] == 'i' &&
                      std::from_chars(id.data() + 1, id.data() + id.size(), k).ptr == id.data() + id.size() && k < n;
    if (ours) first[k] = std::min(first[k], log.timestamps[r]);
  }
  const timestamp_t end =
      log.empty() ? cfg.start_time + cfg.time_span_days * detail::seconds_per_day : log.time_range().second;
  metadata_table out;
  out.id_column = "ITEM_ID";
  out.ids = detail::synthetic_ids("i", cfg.num_items);
  metadata_field category, price, created;
  category.name = "CATEGORY";
  category.type = field_type::categorical;
  for (index_t c = 0; c < cfg.num_clusters; ++c) category.dictionary.insert("c" + std::to_string(c));
  price.name = "PRICE";
  price.type = field_type::numeric;
  created.name = "CREATION_TIMESTAMP";
  created.type = field_type::timestamp;
  category.offsets.reserve(n + 1);
  category.codes.reserve(n);
  price.numbers.reserve(n);
  created.timestamps.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    rng r(cfg.seed, stream_tag("synthetic.item_metadata"), k);
    category.codes.push_back(t.item_cluster[k]);
    category.offsets.push_back(static_cast<std::int64_t>(category.codes.size()));
    price.numbers.push_back(std::round(25.0 * std::exp(0.8 * r.normal()) * 100.0) / 100.0);
    constexpr auto month = static_cast<std::uint32_t>(30 * detail::seconds_per_day);
    constexpr auto week = static_cast<std::uint32_t>(7 * detail::seconds_per_day);
    const auto lag = static_cast<timestamp_t>(r.uniform_index(month));
    const auto age = static_cast<timestamp_t>(r.uniform_index(week));
    created.timestamps.push_back(first[k] != never ? first[k] - lag : end - age);
  }
  out.fields = {std::move(category), std::move(price), std::move(created)};
  out.report.source = detail::str("synthetic items metadata (seed ", cfg.seed, ")");
  out.report.rows_read = out.report.rows_kept = static_cast<std::int64_t>(n);
  return out;
}

}  // namespace recsys

#endif  // RECSYS_DATA_SYNTHETIC_INL_HPP
