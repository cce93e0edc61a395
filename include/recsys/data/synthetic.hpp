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

#include <recsys/config.hpp>
#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cstdint>
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
  void validate() const { validate_fields(); }

 private:
  // The body of validate(): a template, compiled only where it is used (see config.hpp).
  template <class = void>
  void validate_fields() const;
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

/// The planted structure of the data generate_interactions / generate_baskets produce for `cfg`
/// (cheap: O(users + items)).
/// @throws recsys::invalid_argument if the config is invalid.
template <class = void>
[[nodiscard]] synthetic_truth synthetic_ground_truth(const synthetic_config& cfg);

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
template <class = void>
[[nodiscard]] interaction_log generate_interactions(const synthetic_config& cfg);

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
template <class = void>
[[nodiscard]] basket_data generate_baskets(const synthetic_config& cfg);

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
template <class = void>
[[nodiscard]] metadata_table generate_item_metadata(const synthetic_config& cfg, const interaction_log& log);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/synthetic-inl.hpp>
#else
namespace recsys {
extern template void synthetic_config::validate_fields<>() const;
extern template synthetic_truth synthetic_ground_truth<>(const synthetic_config&);
extern template interaction_log generate_interactions<>(const synthetic_config&);
extern template basket_data generate_baskets<>(const synthetic_config&);
extern template metadata_table generate_item_metadata<>(const synthetic_config&, const interaction_log&);
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_SYNTHETIC_HPP
