// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SYNTHETIC_HPP
#define RECSYS_DATA_SYNTHETIC_HPP

/// @file
/// Synthetic interaction logs and baskets with planted, known structure: the demo's default
/// data and the input of every benchmark and of the tests that check a model finds what was
/// planted.
///
/// What is planted (synthetic_truth returns all of it):
/// - **Zipf popularity**: the item of popularity rank r (0-based) has weight (r + 1)^-s.
///   Ranks are a random permutation of the items, so an item's id says nothing about it.
/// - **Taste clusters**: every item belongs to one of K clusters (balanced: sizes differ by at
///   most one) and every user to one cluster. An event draws, with probability
///   `cluster_affinity`, from the user's cluster (items weighted by popularity), otherwise from
///   the whole catalogue by popularity. Users of one cluster therefore share far more items than
///   users of different clusters, and the user x item matrix is close to rank K plus popularity:
///   a factorisation with >= K factors beats popularity on held-out events.
/// - **Sequential patterns**: every item i has `transitions_per_item` successors drawn from its
///   own cluster by popularity (distinct, never i). Inside a session, each event after the first
///   follows a uniformly chosen successor of the previous item with probability
///   `sequential_strength`, otherwise it is a fresh draw as above: a sparse first-order Markov
///   structure that next-item models can learn.
/// - **Sessions and time**: a user's events are cut into sessions of 1 + Geometric length (mean
///   `mean_session_length`); events inside a session are 1 + floor(Exp) seconds apart (mean
///   `mean_event_gap_seconds`), so timestamps strictly increase inside a session; sessions of one
///   user never overlap, are at least `min_session_gap_seconds` apart and are spread uniformly at
///   random over [start_time, start_time + time_span_days days).
/// - **Event types**: each event's EVENT_TYPE is drawn independently with probabilities
///   proportional to the configured rates, and its EVENT_VALUE from that type's distribution
///   (constant, uniform or log-normal; non-constant values are rounded to 2 decimals).
/// - **Drift** (optional): sessions that start in the last `drift_days` days use a second regime:
///   every user switches to another taste cluster, item popularity is re-ranked by a fresh
///   permutation and the successors are redrawn under it. A time-window search should find
///   that training on the last days wins there.
/// - **Baskets**: each basket has a random taste cluster and 1 + Geometric items (mean about
///   `mean_basket_size`, at most `max_basket_size`, distinct) drawn like events; a fraction
///   `planted_pair_rate` of the baskets also holds one of `num_planted_pairs` planted co-purchase
///   pairs (both items, the pair chosen uniformly). Pair items are uniformly random items outside
///   the top tenth of the popularity ranks, so their lift is far above that of any chance pair.
///
/// Ids: user u is "u<u>", item i is "i<i>", session s is "s<s>"; in the generated log and
/// baskets the dense index equals that number (the id maps hold every configured user and item,
/// also those without events). The log is ordered by user, then time.
///
/// Determinism: everything is a function of the config; users are generated in fixed blocks of
/// 64, baskets in blocks of 1024, each block from its own recsys::rng stream, so the output is
/// identical for any num_threads.
///
/// @code
///   auto cfg = recsys::synthetic_config::demo();     // or benchmark(), or set fields
///   cfg.seed = 7;
///   recsys::interaction_log log = recsys::generate_interactions(cfg);
///   recsys::basket_data baskets = recsys::generate_baskets(cfg);
///   recsys::synthetic_truth truth = recsys::synthetic_ground_truth(cfg);
///   recsys::index_t c = truth.user_cluster[0];      // taste cluster of "u0"
/// @endcode

#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// Distribution of EVENT_VALUE for one event type.
enum class value_distribution {
  constant,   ///< always value_a
  uniform,    ///< uniform in [value_a, value_b), rounded to 2 decimals
  lognormal,  ///< exp(value_a + value_b * N(0,1)), rounded to 2 decimals (prices, dwell times)
};

/// One EVENT_TYPE of the synthetic log.
struct synthetic_event_type {
  std::string name;                                          ///< EVENT_TYPE string, e.g. "view"
  double rate = 1.0;                                         ///< relative frequency (>= 0)
  value_distribution values = value_distribution::constant;  ///< EVENT_VALUE distribution
  double value_a = 1.0;  ///< constant: the value; uniform: low end; lognormal: mean of the log
  double value_b = 0.0;  ///< uniform: high end; lognormal: standard deviation of the log
};

namespace detail {
/// view / click / purchase, e-commerce-like: views carry a dwell time in seconds (median 20 s),
/// clicks the value 1, purchases a price (median about 25).
inline std::vector<synthetic_event_type> default_synthetic_event_types() {
  return {{"view", 0.70, value_distribution::lognormal, 3.0, 1.0},
          {"click", 0.22, value_distribution::constant, 1.0, 0.0},
          {"purchase", 0.08, value_distribution::lognormal, 3.2, 0.8}};
}
inline constexpr std::int64_t synthetic_user_block = 64;
inline constexpr std::int64_t synthetic_basket_block = 1024;
inline constexpr std::int64_t seconds_per_day = 86400;
}  // namespace detail

/// Everything generate_interactions / generate_baskets / synthetic_ground_truth depend on.
/// An aggregate: set fields, or start from demo() / benchmark(). Validated when used.
struct synthetic_config {
  // --- volume ---
  index_t num_users = 2000;               ///< users "u0".."u<n-1>" (>= 1)
  index_t num_items = 1000;               ///< items "i0".."i<n-1>" (>= 1)
  std::int64_t num_interactions = 50000;  ///< exact number of events in the log (>= 0)

  // --- taste structure ---
  index_t num_clusters = 12;      ///< taste clusters K (>= 1)
  double zipf_exponent = 1.0;     ///< s in weight(rank r) = (r+1)^-s (>= 0; 0 = uniform)
  double cluster_affinity = 0.7;  ///< probability that a fresh draw comes from the user's cluster

  // --- user activity ---
  std::int64_t min_events_per_user = 3;  ///< every user gets at least this many events
  /// The remaining events are shared in proportion to exp(activity_sigma * N(0,1)) per user
  /// (log-normal activity: a few heavy users, many light ones). 0 = equal shares.
  double activity_sigma = 1.0;

  // --- event types ---
  std::vector<synthetic_event_type> event_types = detail::default_synthetic_event_types();

  // --- time and sessions ---
  timestamp_t start_time = 1'700'000'000;  ///< first possible timestamp (Unix seconds, >= 0)
  std::int64_t time_span_days = 90;        ///< timestamps lie in [start, start + span days)
  double mean_session_length = 5.0;        ///< mean events per session (>= 1)
  double mean_event_gap_seconds = 45.0;    ///< mean seconds between events of a session (>= 1)
  /// Minimum seconds between two sessions of a user; above 30 minutes, cutting at inactivity
  /// gaps recovers exactly the SESSION_IDs.
  timestamp_t min_session_gap_seconds = 3600;

  // --- sequential (next-item) structure ---
  double sequential_strength = 0.5;  ///< probability that an event follows a successor of the previous one
  index_t transitions_per_item = 3;  ///< successors per item (>= 1)

  // --- drift ---
  /// Sessions starting in the last drift_days days use drifted tastes and popularity
  /// (0 = no drift; must be < time_span_days).
  std::int64_t drift_days = 0;

  // --- baskets (generate_baskets) ---
  std::int64_t num_baskets = 10000;  ///< exact number of baskets (>= 0)
  double mean_basket_size = 4.0;     ///< mean items per basket before truncation (>= 1)
  index_t max_basket_size = 32;      ///< at most this many items per basket (1..num_items)
  index_t num_planted_pairs = 25;    ///< planted co-purchase pairs (2 * pairs <= num_items - num_items / 10)
  double planted_pair_rate = 0.25;   ///< fraction of baskets that hold one planted pair

  // --- reproducibility ---
  std::uint64_t seed = 42;  ///< everything is a function of the config, seed included
  int num_threads = 0;      ///< threads for generation (0 = default); the output does not depend on it

  /// The demo's default data: 2000 users x 1000 items x 50k events over 90 days (about 2 MB as
  /// a Personalize CSV) and 10k baskets with 25 planted pairs.
  [[nodiscard]] static synthetic_config demo() { return synthetic_config{}; }

  /// The benchmark set of issues 5-7: 50k users x 20k items x 2M events, Zipf popularity
  /// (s = 1), 20 taste clusters; 1M baskets with 200 planted pairs.
  [[nodiscard]] static synthetic_config benchmark() {
    synthetic_config c;
    c.num_users = 50000;
    c.num_items = 20000;
    c.num_interactions = 2'000'000;
    c.num_clusters = 20;
    c.zipf_exponent = 1.0;
    c.min_events_per_user = 5;
    c.num_baskets = 1'000'000;
    c.num_planted_pairs = 200;
    return c;
  }

  /// Checks every field.
  /// @throws recsys::invalid_argument naming the first bad field and its value.
  void validate() const {
    constexpr const char* where = "synthetic_config";
    RECSYS_REQUIRE(num_users >= 1, where, "num_users must be >= 1 (got ", num_users, ")");
    RECSYS_REQUIRE(num_items >= 1, where, "num_items must be >= 1 (got ", num_items, ")");
    RECSYS_REQUIRE(num_interactions >= 0, where, "num_interactions must be >= 0 (got ", num_interactions, ")");
    RECSYS_REQUIRE(num_clusters >= 1, where, "num_clusters must be >= 1 (got ", num_clusters, ")");
    RECSYS_REQUIRE(transitions_per_item >= 1, where, "transitions_per_item must be >= 1 (got ", transitions_per_item,
                   ")");
    RECSYS_REQUIRE(
        static_cast<std::int64_t>(num_items) >= static_cast<std::int64_t>(num_clusters) * (transitions_per_item + 1),
        where, "num_items (", num_items, ") must be >= num_clusters (", num_clusters,
        ") * (transitions_per_item + 1) (", transitions_per_item + 1,
        ") so that every cluster can hold an item's distinct successors");
    RECSYS_REQUIRE(std::isfinite(zipf_exponent) && zipf_exponent >= 0.0, where,
                   "zipf_exponent must be finite and >= 0 (got ", zipf_exponent, ")");
    RECSYS_REQUIRE(cluster_affinity >= 0.0 && cluster_affinity <= 1.0, where,
                   "cluster_affinity must be in [0, 1] (got ", cluster_affinity, ")");
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
};

/// The structure planted by the generators: a function of the config alone.
/// Users and items are dense indices (= the number in "u<k>" / "i<k>").
struct synthetic_truth {
  std::vector<index_t> user_cluster;        ///< taste cluster of each user
  std::vector<index_t> user_drift_cluster;  ///< cluster in the drift window (= user_cluster without drift)
  std::vector<std::int64_t> user_events;    ///< events of each user in generate_interactions
  std::vector<index_t> item_cluster;        ///< cluster of each item
  std::vector<index_t> item_rank;           ///< popularity rank of each item (0 = most popular)
  std::vector<index_t> item_drift_rank;     ///< rank in the drift window (= item_rank without drift)
  index_t transitions_per_item = 0;         ///< successors per item
  std::vector<index_t> transitions;         ///< successors of item i: [i*T, (i+1)*T)
  std::vector<index_t> drift_transitions;   ///< successors in the drift window (= transitions without drift)
  std::vector<std::pair<index_t, index_t>> planted_pairs;  ///< (a, b) with a < b
  std::vector<index_t> planted_partner;                    ///< per item: its planted partner, or -1
  /// Sessions starting at or after this use the drift regime (start + span when there is no drift).
  timestamp_t drift_start = 0;

  /// The successors of `item` (the planted next-item structure), in the drift window if `drift`.
  [[nodiscard]] std::span<const index_t> next_items(index_t item, bool drift = false) const {
    RECSYS_REQUIRE(item >= 0 && static_cast<std::size_t>(item) < item_cluster.size(), "synthetic_truth::next_items",
                   "item ", item, " out of range");
    const auto t = static_cast<std::size_t>(transitions_per_item);
    return {(drift ? drift_transitions : transitions).data() + static_cast<std::size_t>(item) * t, t};
  }
  /// True when j is a planted successor of i (in the drift window if `drift`).
  [[nodiscard]] bool is_transition(index_t i, index_t j, bool drift = false) const {
    for (index_t s : next_items(i, drift))
      if (s == j) return true;
    return false;
  }
  /// True when {a, b} is a planted co-purchase pair (either order).
  [[nodiscard]] bool is_planted_pair(index_t a, index_t b) const noexcept {
    return a >= 0 && static_cast<std::size_t>(a) < planted_partner.size() &&
           planted_partner[static_cast<std::size_t>(a)] == b && b != invalid_index;
  }
  /// The taste cluster user u draws from in a session starting at time t.
  [[nodiscard]] index_t cluster_of_user_at(index_t user, timestamp_t t) const {
    RECSYS_REQUIRE(user >= 0 && static_cast<std::size_t>(user) < user_cluster.size(),
                   "synthetic_truth::cluster_of_user_at", "user ", user, " out of range");
    const auto u = static_cast<std::size_t>(user);
    return t >= drift_start ? user_drift_cluster[u] : user_cluster[u];
  }
};

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
inline std::int64_t synthetic_geometric(rng& r, double p, std::int64_t cap) noexcept {
  if (p >= 1.0) return 0;
  const double u = 1.0 - r.uniform_double();  // (0, 1]
  const double k = std::floor(std::log(u) / std::log1p(-p));
  return k >= static_cast<double>(cap) ? cap : static_cast<std::int64_t>(k);
}

/// Standard exponential deviate.
inline double synthetic_exponential(rng& r) noexcept { return -std::log(1.0 - r.uniform_double()); }

inline synthetic_regime make_synthetic_regime(const std::vector<index_t>& rank,
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
inline std::vector<index_t> synthetic_ranks(index_t n, rng& r) {
  std::vector<index_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  shuffle(perm.begin(), perm.end(), r);
  std::vector<index_t> rank(perm.size());
  for (std::size_t k = 0; k < perm.size(); ++k) rank[static_cast<std::size_t>(perm[k])] = static_cast<index_t>(k);
  return rank;
}

/// One fresh (non-sequential) item draw for a user of `cluster` under a regime.
inline index_t synthetic_draw_item(const synthetic_model& m, const synthetic_regime& g, index_t cluster,
                                   double affinity, rng& r) {
  if (r.uniform_double() < affinity) {
    const auto c = static_cast<std::size_t>(cluster);
    return m.members[c][g.clusters[c](r)];
  }
  return static_cast<index_t>(g.global(r));
}

/// T distinct successors per item (never the item itself), drawn from its cluster under regime g.
inline std::vector<index_t> synthetic_transitions(const synthetic_config& cfg, const synthetic_model& m,
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

inline synthetic_model build_synthetic_model(const synthetic_config& cfg) {
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

inline float synthetic_value(const synthetic_event_type& e, rng& r) {
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

/// The planted structure of the data generate_interactions / generate_baskets produce for `cfg`
/// (cheap: O(users + items)).
/// @throws recsys::invalid_argument if the config is invalid.
[[nodiscard]] inline synthetic_truth synthetic_ground_truth(const synthetic_config& cfg) {
  return detail::build_synthetic_model(cfg).truth;
}

/// Generates an interaction log in Personalize's schema (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE,
/// EVENT_VALUE, SESSION_ID all present) with exactly cfg.num_interactions events. See the file
/// comment for the structure. Weights are 1; the report's source is "synthetic (seed <seed>)".
/// @throws recsys::invalid_argument if the config is invalid, or if a user's sessions do not fit
///         into the time span (raise time_span_days or lower min_session_gap_seconds).
///
/// @code
///   auto log = recsys::generate_interactions(recsys::synthetic_config::benchmark());
///   // log.size() == 2'000'000, log.num_users() == 50'000, log.num_items() == 20'000
/// @endcode
[[nodiscard]] inline interaction_log generate_interactions(const synthetic_config& cfg) {
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

/// Generates cfg.num_baskets baskets over the items "i0".."i<n-1>" with the planted pairs of
/// synthetic_ground_truth(cfg) on a clustered Zipf background (see the file comment). Items in
/// a basket are distinct and in random order; a basket with a planted pair has >= 2 items.
/// @throws recsys::invalid_argument if the config is invalid.
///
/// @code
///   auto cfg = recsys::synthetic_config::demo();
///   recsys::basket_data baskets = recsys::generate_baskets(cfg);
///   auto pairs = recsys::synthetic_ground_truth(cfg).planted_pairs;   // what mining should find
/// @endcode
[[nodiscard]] inline basket_data generate_baskets(const synthetic_config& cfg) {
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

/// Items metadata (Personalize's Items schema: ITEM_ID, CATEGORY, PRICE, CREATION_TIMESTAMP)
/// for the catalogue of cfg, consistent with `log` (what generate_interactions(cfg) returned,
/// possibly filtered), one row per item "i0".."i<n-1>":
/// - CATEGORY: the item's planted taste cluster, "c0".."c<K-1>" (real structure for filters
///   and metadata-aware models);
/// - PRICE: log-normal per item (median 25, two decimals);
/// - CREATION_TIMESTAMP: 0-30 days before the item's first event in `log`; an item `log` never
///   mentions was created during the log's last 7 days (a new item, with no interactions yet).
/// Deterministic: a function of cfg (seed included) and `log`.
/// @throws recsys::invalid_argument if the config is invalid.
///
/// @code
///   auto cfg = recsys::synthetic_config::demo();
///   auto log = recsys::generate_interactions(cfg);
///   recsys::write_items_csv(recsys::generate_item_metadata(cfg, log), "items.csv");
/// @endcode
[[nodiscard]] inline metadata_table generate_item_metadata(const synthetic_config& cfg, const interaction_log& log) {
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
  const timestamp_t end = log.empty() ? cfg.start_time + cfg.time_span_days * detail::seconds_per_day
                                      : log.time_range().second;
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

#endif  // RECSYS_DATA_SYNTHETIC_HPP
