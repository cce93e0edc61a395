// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_HPP

/// @file
/// Item-to-item mining: "frequently bought together", "customers who viewed X also viewed",
/// Personalize's SIMS, item-KNN recommendations, and pair association rules.
///
/// recsys::item_to_item mines, for every item, its top-K neighbours by a co-occurrence score
/// and answers queries from them:
///
/// - **Sources** (one fit per source): baskets (recsys::basket_data), sessions
///   (recsys::session_data), user histories from a user x item recsys::csr_matrix or from an
///   recsys::interaction_log. From a log: a subset of event types, cross-occurrence between
///   event types (viewed X -> purchased Y, Mahout's A'B), and co-occurrence restricted to
///   events within a time window of each other (optionally only "later" events).
/// - **Scores** (item_similarity): raw count, Jaccard, cosine, lift, PMI, normalised PMI,
///   signed log-likelihood ratio (Dunning 1993), confidence P(j | i), SIMS popularity discount
///   count / n_j^d, BM25- and TF-IDF-weighted item vectors (as implicit's item-item models).
/// - **Pruning**: minimum co-occurrence count, percentile pruning of transactions by length and
///   of items by count, a seeded cap on the distinct items of one transaction.
/// - **Algorithm**: Gustavson's row-by-row sparse product X^T X with a per-thread dense
///   accumulator and touched-column list, each row cut to its top-K on the fly, parallel over
///   items; memory O(nnz + items * K); the same result for any thread count.
///
/// Formulas, pruning order and fallbacks are in docs/item-to-item.md.
///
/// @code
///   recsys::item_to_item_config cfg;
///   recsys::set_param(cfg, "similarity", "llr");        // what `--set key=value` calls
///   recsys::set_param(cfg, "neighbours=50");
///   recsys::item_to_item model(cfg);
///   model.fit(baskets);                                   // recsys::basket_data
///   recsys::topk_result fbt = model.frequently_bought_together(basket_items, 5);
///   auto rules = recsys::association_rules(baskets, {.min_support = 0.001, .min_lift = 1.5});
///   recsys::write_rules_csv("rules.csv", rules, baskets.item_ids);
/// @endcode

#include <recsys/data/baskets.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/sparse_accumulator.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <numeric>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys {

// ---------------------------------------------------------------------------------------------
// Scores

/// How a pair (i, j) is scored. With c = transactions holding both, n_i / n_j = transactions
/// holding i / j, N = transactions mined, and v(r, i) the value of item i in transaction r:
enum class item_similarity {
  count,       ///< c
  jaccard,     ///< c / (n_i + n_j - c)
  cosine,      ///< sum_r v(r,i) v(r,j) / (||v(.,i)|| ||v(.,j)||); = c / sqrt(n_i n_j) for 0/1 data
  lift,        ///< c N / (n_i n_j)
  pmi,         ///< ln(c N / (n_i n_j))
  npmi,        ///< pmi / -ln(c / N), in [-1, 1]; 1 when c = N
  llr,         ///< signed G^2 of the 2x2 table (Dunning 1993): +G^2 above independence, -G^2 below
  confidence,  ///< c / n_i = P(j | i)
  sims,        ///< c / n_j^d, d = popularity_discount in [0, 1] (Personalize SIMS)
  bm25,        ///< sum_r w(r,i) w(r,j), w = BM25 weights (implicit's BM25Recommender)
  tfidf,       ///< cosine of TF-IDF weights sqrt(v) idf(r) (implicit's TFIDFRecommender)
};

/// The lower-case name of a score ("llr", "sims", ...).
[[nodiscard]] constexpr std::string_view to_string(item_similarity s) noexcept {
  switch (s) {
    case item_similarity::count:
      return "count";
    case item_similarity::jaccard:
      return "jaccard";
    case item_similarity::cosine:
      return "cosine";
    case item_similarity::lift:
      return "lift";
    case item_similarity::pmi:
      return "pmi";
    case item_similarity::npmi:
      return "npmi";
    case item_similarity::llr:
      return "llr";
    case item_similarity::confidence:
      return "confidence";
    case item_similarity::sims:
      return "sims";
    case item_similarity::bm25:
      return "bm25";
    case item_similarity::tfidf:
      return "tfidf";
  }
  return "?";
}

/// Every score, in declaration order.
inline constexpr std::array<item_similarity, 11> all_item_similarities{
    item_similarity::count, item_similarity::jaccard, item_similarity::cosine, item_similarity::lift,
    item_similarity::pmi,   item_similarity::npmi,    item_similarity::llr,    item_similarity::confidence,
    item_similarity::sims,  item_similarity::bm25,    item_similarity::tfidf};

/// The score named `name` (as printed by to_string).
/// @throws recsys::invalid_argument for an unknown name (the message lists the valid ones).
[[nodiscard]] inline item_similarity parse_item_similarity(std::string_view name) {
  for (item_similarity s : all_item_similarities)
    if (to_string(s) == name) return s;
  std::string names;
  for (item_similarity s : all_item_similarities) names.append(names.empty() ? "" : ", ").append(to_string(s));
  detail::throw_invalid_argument("parse_item_similarity", "unknown similarity '", name, "' (one of: ", names, ")");
}

/// True for the scores computed from entry values (cosine, bm25, tfidf); the others use only
/// the 0/1 incidence (does transaction r hold item i).
[[nodiscard]] constexpr bool uses_values(item_similarity s) noexcept {
  return s == item_similarity::cosine || s == item_similarity::bm25 || s == item_similarity::tfidf;
}

/// Dunning's log-likelihood ratio G^2 = 2 sum_ij k_ij ln(k_ij / E_ij) of a 2x2 contingency
/// table (k11: both, k12: first only, k21: second only, k22: neither), E_ij = row_i col_j / N.
///
/// Computed as 2 sum_ij E_ij phi(u_ij) with phi(u) = (1 + u) ln(1 + u) - u >= 0 and
/// u_ij = (k_ij - E_ij) / E_ij = +-(k11 k22 - k12 k21) / (row_i col_j), the determinant taken in
/// exact integer arithmetic: every term is non-negative, so nothing cancels and the result is
/// accurate near independence (where the textbook entropy form loses all digits for large N).
/// @return G^2 >= 0 (0 for an empty table or a zero margin).
/// @throws recsys::invalid_argument if a count is negative.
[[nodiscard]] inline double log_likelihood_ratio(std::int64_t k11, std::int64_t k12, std::int64_t k21,
                                                 std::int64_t k22) {
  RECSYS_REQUIRE(k11 >= 0 && k12 >= 0 && k21 >= 0 && k22 >= 0, "log_likelihood_ratio", "counts must be >= 0 (got ", k11,
                 ", ", k12, ", ", k21, ", ", k22, ")");
  const double n =
      static_cast<double>(k11) + static_cast<double>(k12) + static_cast<double>(k21) + static_cast<double>(k22);
  const double r1 = static_cast<double>(k11 + k12), r2 = static_cast<double>(k21 + k22);
  const double c1 = static_cast<double>(k11 + k21), c2 = static_cast<double>(k12 + k22);
  if (r1 == 0 || r2 == 0 || c1 == 0 || c2 == 0) return 0.0;
  double det = 0.0;
  constexpr std::int64_t exact_limit = std::int64_t{1} << 31;
  if (k11 < exact_limit && k12 < exact_limit && k21 < exact_limit && k22 < exact_limit)
    det = static_cast<double>(k11 * k22 - k12 * k21);  // products < 2^62: exact
  else
    det = static_cast<double>(static_cast<long double>(k11) * static_cast<long double>(k22) -
                              static_cast<long double>(k12) * static_cast<long double>(k21));
  if (det == 0.0) return 0.0;
  auto term = [&](double k, double row, double col, double sign) {
    const double e = row * col / n;
    if (k == 0.0) return e;  // phi(-1) = 1
    const double u = sign * det / (row * col);
    return e * ((1.0 + u) * std::log1p(u) - u);
  };
  const double g2 = 2.0 * (term(static_cast<double>(k11), r1, c1, 1.0) + term(static_cast<double>(k12), r1, c2, -1.0) +
                           term(static_cast<double>(k21), r2, c1, -1.0) + term(static_cast<double>(k22), r2, c2, 1.0));
  return g2 > 0.0 ? g2 : 0.0;  // each term is >= 0 mathematically; guards only rounding of a 0 result
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// Hyperparameters of item_to_item. An aggregate: set fields directly, or by name with
/// set_param(); validated by fit(). Defaults: cosine, 100 neighbours, Personalize's
/// minimum co-occurrence of 3, no percentile pruning, no cap. item_to_item_config::sims()
/// gives Personalize's SIMS defaults.
struct item_to_item_config {
  /// The pair score.
  item_similarity similarity = item_similarity::cosine;
  /// Neighbours kept per item (K), best first. >= 1.
  index_t neighbours = 100;
  /// Pairs seen together in fewer transactions are never neighbours (Personalize's
  /// min_cointeraction_count, default 3). >= 1.
  std::int64_t min_cooccurrence = 3;
  /// Pairs scoring below this are never neighbours (-infinity: no threshold). Not NaN.
  double min_score = -std::numeric_limits<double>::infinity();
  /// d of the sims score c / n_j^d, in [0, 1]: 0 ranks by raw co-occurrence (popular items
  /// win), 1 by c / n_j (for a fixed query item: the lift order, popularity removed), 0.5 like
  /// cosine. Personalize's popularity_discount_factor (default 0.5).
  double popularity_discount = 0.5;
  /// BM25 saturation k1 (>= 0) and length normalisation b (in [0, 1]); implicit's defaults.
  double bm25_k1 = 1.2;
  double bm25_b = 0.75;
  /// Transactions whose length (distinct items) is below the min / above the max percentile of
  /// the lengths are not mined (Personalize: min/max_user_history_length_percentile). In [0, 1].
  double min_row_length_percentile = 0.0;
  double max_row_length_percentile = 1.0;
  /// Items held by fewer / more transactions than the min / max percentile of item counts are
  /// not mined (Personalize: min/max_item_interaction_count_percentile). In [0, 1].
  double min_item_count_percentile = 0.0;
  double max_item_count_percentile = 1.0;
  /// A transaction with more distinct items keeps a uniform random subset of this many (seeded
  /// by `seed` and the transaction index), bounding the quadratic cost. 0: no cap.
  std::int64_t max_row_length = 0;
  /// Log only: the EVENT_TYPEs whose events are mined (empty: every event). With
  /// cross_event_types set, these are the query side ("viewed X").
  std::vector<std::string> event_types;
  /// Log only: when non-empty, cross-occurrence: neighbours of an item are the items of these
  /// event types ("purchased Y") that the same users had with the query item's event_types.
  std::vector<std::string> cross_event_types;
  /// Log only: the EVENT_TYPEs of "already bought" items that also_viewed() never returns for
  /// that user (e.g. {"purchase"}); empty: also_viewed excludes every item the user has seen.
  /// Types absent from the log are allowed (nothing to exclude yet).
  std::vector<std::string> exclude_event_types;
  /// Log or sessions: when > 0, two events count as co-occurring only if they are at most this
  /// many seconds apart (e.g. 86400: same day). 0: the whole history / session.
  timestamp_t time_window = 0;
  /// Log or sessions: only pairs where the neighbour's event is not earlier than the query
  /// item's event ("viewed X, then Y"). Events with equal timestamps count both ways.
  bool forward_only = false;
  /// Log only: item-KNN recommendations weight a history item by 2^(-age / half_life) where
  /// age = (the user's last event time) - (the user's last event time on that item), seconds.
  /// 0: no recency weighting.
  double recency_half_life = 0.0;
  /// Seed of the max_row_length sampling.
  std::uint64_t seed = 42;
  /// Threads for mining (0: default).
  int num_threads = 0;

  /// Amazon Personalize SIMS's defaults: sims score, popularity_discount 0.5, min co-occurrence
  /// 3, user history length percentiles [0.005, 0.995], item count percentiles [0.01, 0.9].
  [[nodiscard]] static item_to_item_config sims() {
    item_to_item_config c;
    c.similarity = item_similarity::sims;
    c.popularity_discount = 0.5;
    c.min_cooccurrence = 3;
    c.min_row_length_percentile = 0.005;
    c.max_row_length_percentile = 0.995;
    c.min_item_count_percentile = 0.01;
    c.max_item_count_percentile = 0.9;
    return c;
  }

  /// Checks every field and the min <= max pairs.
  /// @throws recsys::invalid_argument naming the first bad field and its value.
  void validate() const {
    constexpr const char* where = "item_to_item_config";
    RECSYS_REQUIRE(neighbours >= 1, where, "neighbours must be >= 1 (got ", neighbours, ")");
    RECSYS_REQUIRE(min_cooccurrence >= 1, where, "min_cooccurrence must be >= 1 (got ", min_cooccurrence, ")");
    RECSYS_REQUIRE(!std::isnan(min_score), where, "min_score must not be NaN");
    RECSYS_REQUIRE(popularity_discount >= 0.0 && popularity_discount <= 1.0, where,
                   "popularity_discount must be in [0, 1] (got ", popularity_discount, ")");
    RECSYS_REQUIRE(std::isfinite(bm25_k1) && bm25_k1 >= 0.0, where, "bm25_k1 must be finite and >= 0 (got ", bm25_k1,
                   ")");
    RECSYS_REQUIRE(bm25_b >= 0.0 && bm25_b <= 1.0, where, "bm25_b must be in [0, 1] (got ", bm25_b, ")");
    auto pct = [&](double p, const char* name) {
      RECSYS_REQUIRE(p >= 0.0 && p <= 1.0, where, name, " must be in [0, 1] (got ", p, ")");
    };
    pct(min_row_length_percentile, "min_row_length_percentile");
    pct(max_row_length_percentile, "max_row_length_percentile");
    pct(min_item_count_percentile, "min_item_count_percentile");
    pct(max_item_count_percentile, "max_item_count_percentile");
    RECSYS_REQUIRE(min_row_length_percentile <= max_row_length_percentile, where, "min_row_length_percentile (",
                   min_row_length_percentile, ") must be <= max_row_length_percentile (", max_row_length_percentile,
                   ")");
    RECSYS_REQUIRE(min_item_count_percentile <= max_item_count_percentile, where, "min_item_count_percentile (",
                   min_item_count_percentile, ") must be <= max_item_count_percentile (", max_item_count_percentile,
                   ")");
    RECSYS_REQUIRE(max_row_length >= 0, where, "max_row_length must be >= 0 (got ", max_row_length, ")");
    RECSYS_REQUIRE(max_row_length <= std::numeric_limits<std::uint32_t>::max(), where,
                   "max_row_length must be < 2^32 (got ", max_row_length, ")");
    RECSYS_REQUIRE(time_window >= 0, where, "time_window must be >= 0 seconds (got ", time_window, ")");
    RECSYS_REQUIRE(std::isfinite(recency_half_life) && recency_half_life >= 0.0, where,
                   "recency_half_life must be finite and >= 0 seconds (got ", recency_half_life, ")");
    RECSYS_REQUIRE(num_threads >= 0, where, "num_threads must be >= 0 (got ", num_threads, ")");
    for (const auto* list : {&event_types, &cross_event_types, &exclude_event_types})
      for (const std::string& s : *list) RECSYS_REQUIRE(!s.empty(), where, "event type names must not be empty");
  }
};

/// One settable field of item_to_item_config, for help texts and the recipe registry.
struct setting_info {
  std::string_view name;
  std::string_view description;
};

/// The names set_param() accepts, in a fixed order (Personalize's SIMS names are accepted as
/// aliases, listed in the descriptions).
[[nodiscard]] inline std::span<const setting_info> item_to_item_settings() noexcept {
  static constexpr setting_info settings[] = {
      {"similarity",
       "pair score: count | jaccard | cosine | lift | pmi | npmi | llr | confidence | sims | bm25 | tfidf"},
      {"neighbours", "neighbours kept per item (K), >= 1"},
      {"min_cooccurrence", "min transactions holding both items, >= 1 (alias: min_cointeraction_count)"},
      {"min_score", "min pair score (a number, or -inf for none)"},
      {"popularity_discount",
       "sims exponent d in [0, 1]: 0 popular items win, 1 pure correlation (alias: popularity_discount_factor)"},
      {"bm25_k1", "BM25 k1, >= 0"},
      {"bm25_b", "BM25 b, in [0, 1]"},
      {"min_row_length_percentile", "drop shorter histories, in [0, 1] (alias: min_user_history_length_percentile)"},
      {"max_row_length_percentile", "drop longer histories, in [0, 1] (alias: max_user_history_length_percentile)"},
      {"min_item_count_percentile", "drop rarer items, in [0, 1] (alias: min_item_interaction_count_percentile)"},
      {"max_item_count_percentile",
       "drop more popular items, in [0, 1] (alias: max_item_interaction_count_percentile)"},
      {"max_row_length", "cap on distinct items per history / basket, sampled; 0 = none (alias: max_history_length)"},
      {"event_types", "comma-separated EVENT_TYPEs to mine (empty: all)"},
      {"cross_event_types", "comma-separated EVENT_TYPEs of the neighbour side (cross-occurrence, e.g. purchase)"},
      {"exclude_event_types", "comma-separated EVENT_TYPEs also_viewed never returns to that user (e.g. purchase)"},
      {"time_window", "max time between co-occurring events, 0 = none: seconds or 30m, 2h, 1d"},
      {"forward_only", "true: only neighbours seen at or after the query item"},
      {"recency_half_life", "item-KNN history weight half-life, 0 = none: seconds or 12h, 7d"},
      {"seed", "seed of the history cap sampling"},
      {"num_threads", "threads for mining, 0 = default"},
  };
  return settings;
}

namespace detail {
// A duration for item_to_item: "0" (off) or what detail::parse_duration accepts.
inline timestamp_t i2i_duration(std::string_view where, std::string_view key, std::string_view value) {
  if (value == "0") return 0;
  return detail::parse_duration(where, key, value);
}

inline std::vector<std::string> i2i_list(std::string_view where, std::string_view key, std::string_view value) {
  std::vector<std::string> out;
  if (value.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = value.find(',', start);
    std::string_view part =
        value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    RECSYS_REQUIRE(!part.empty(), where, "'", key, "' has an empty name in its comma-separated list (got '", value,
                   "')");
    out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

inline double i2i_unit(std::string_view where, std::string_view key, std::string_view value) {
  const double x = parse_double(where, key, value);
  RECSYS_REQUIRE(x >= 0.0 && x <= 1.0, where, "'", key, "' must be in [0, 1] (got ", x, ")");
  return x;
}

// Shortest text that parses back to the same double.
inline std::string i2i_number(double x) {
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

inline std::string i2i_join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out.append(out.empty() ? "" : ",").append(s);
  return out;
}
}  // namespace detail

/// Sets one hyperparameter of `config` from text, validating the value: what the CLI's
/// `--set key=value` and the recipe registry call (the house's set_param convention). Names:
/// item_to_item_settings() (Personalize's SIMS names are aliases). Lists are comma-separated
/// (empty: none); durations are "0" or seconds / 30m / 2h / 1d; min_score takes "-inf".
/// Constraints between fields (min <= max percentiles) are checked by validate() at fit time,
/// so parameters can be set in any order. On error `config` is unchanged.
/// @throws recsys::invalid_argument naming the key and the value, or, for an unknown key,
///         listing the known ones.
/// @code
///   recsys::item_to_item_config c = recsys::item_to_item_config::sims();
///   recsys::set_param(c, "popularity_discount", "0.8");
///   recsys::set_param(c, "time_window=1d");
/// @endcode
inline void set_param(item_to_item_config& config, std::string_view key, std::string_view value) {
  constexpr const char* where = "item_to_item::set_param";
  item_to_item_config c = config;
  if (key == "similarity") {
    bool found = false;
    for (item_similarity s : all_item_similarities)
      if (to_string(s) == value) {
        c.similarity = s;
        found = true;
      }
    if (!found) {
      std::string names;
      for (item_similarity s : all_item_similarities) names.append(names.empty() ? "" : " | ").append(to_string(s));
      detail::throw_invalid_argument(where, "'", key, "' must be one of ", names, " (got '", value, "')");
    }
  } else if (key == "neighbours") {
    c.neighbours = static_cast<index_t>(detail::parse_int(where, key, value, 1, std::numeric_limits<index_t>::max()));
  } else if (key == "min_cooccurrence" || key == "min_cointeraction_count") {
    c.min_cooccurrence = detail::parse_int(where, key, value, 1, std::numeric_limits<std::int32_t>::max());
  } else if (key == "min_score") {
    c.min_score = value == "-inf" ? -std::numeric_limits<double>::infinity() : detail::parse_double(where, key, value);
  } else if (key == "popularity_discount" || key == "popularity_discount_factor") {
    c.popularity_discount = detail::i2i_unit(where, key, value);
  } else if (key == "bm25_k1") {
    c.bm25_k1 = detail::parse_double(where, key, value);
    RECSYS_REQUIRE(c.bm25_k1 >= 0.0, where, "'", key, "' must be >= 0 (got ", c.bm25_k1, ")");
  } else if (key == "bm25_b") {
    c.bm25_b = detail::i2i_unit(where, key, value);
  } else if (key == "min_row_length_percentile" || key == "min_user_history_length_percentile") {
    c.min_row_length_percentile = detail::i2i_unit(where, key, value);
  } else if (key == "max_row_length_percentile" || key == "max_user_history_length_percentile") {
    c.max_row_length_percentile = detail::i2i_unit(where, key, value);
  } else if (key == "min_item_count_percentile" || key == "min_item_interaction_count_percentile") {
    c.min_item_count_percentile = detail::i2i_unit(where, key, value);
  } else if (key == "max_item_count_percentile" || key == "max_item_interaction_count_percentile") {
    c.max_item_count_percentile = detail::i2i_unit(where, key, value);
  } else if (key == "max_row_length" || key == "max_history_length") {
    c.max_row_length = detail::parse_int(where, key, value, 0, std::numeric_limits<std::uint32_t>::max());
  } else if (key == "event_types") {
    c.event_types = detail::i2i_list(where, key, value);
  } else if (key == "cross_event_types") {
    c.cross_event_types = detail::i2i_list(where, key, value);
  } else if (key == "exclude_event_types") {
    c.exclude_event_types = detail::i2i_list(where, key, value);
  } else if (key == "time_window") {
    c.time_window = detail::i2i_duration(where, key, value);
  } else if (key == "forward_only") {
    c.forward_only = detail::parse_bool(where, key, value);
  } else if (key == "recency_half_life") {
    // a plain number of seconds may be fractional; with a unit, what parse_duration accepts
    const bool plain = !value.empty() && ((value.back() >= '0' && value.back() <= '9') || value.back() == '.');
    c.recency_half_life =
        plain ? detail::parse_double(where, key, value) : static_cast<double>(detail::i2i_duration(where, key, value));
    RECSYS_REQUIRE(c.recency_half_life >= 0.0, where, "'", key, "' must be >= 0 (got ", value, ")");
  } else if (key == "seed") {
    c.seed = static_cast<std::uint64_t>(detail::parse_int(where, key, value, 0));
  } else if (key == "num_threads") {
    c.num_threads = static_cast<int>(detail::parse_int(where, key, value, 0, std::numeric_limits<int>::max()));
  } else {
    detail::unknown_param(where, key,
                          {"similarity",
                           "neighbours",
                           "min_cooccurrence",
                           "min_score",
                           "popularity_discount",
                           "bm25_k1",
                           "bm25_b",
                           "min_row_length_percentile",
                           "max_row_length_percentile",
                           "min_item_count_percentile",
                           "max_item_count_percentile",
                           "max_row_length",
                           "event_types",
                           "cross_event_types",
                           "exclude_event_types",
                           "time_window",
                           "forward_only",
                           "recency_half_life",
                           "seed",
                           "num_threads"});
  }
  config = std::move(c);
}

/// set_param(config, key, value) for one "key=value" string (blanks around key and value are
/// ignored).
/// @throws recsys::invalid_argument if there is no '=', or as the three-argument form.
inline void set_param(item_to_item_config& config, std::string_view assignment) {
  const std::size_t eq = assignment.find('=');
  RECSYS_REQUIRE(eq != std::string_view::npos, "item_to_item::set_param", "expected key=value, got '", assignment, "'");
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  set_param(config, trim(assignment.substr(0, eq)), trim(assignment.substr(eq + 1)));
}

/// Every hyperparameter of `config` as text, in item_to_item_settings() order, such that
/// set_param() of each pair on a default config gives back `config` (model manifests, the
/// CLI's effective parameters, the registry's defaults).
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> to_params(const item_to_item_config& c) {
  using detail::i2i_number;
  return {{"similarity", std::string(to_string(c.similarity))},
          {"neighbours", std::to_string(c.neighbours)},
          {"min_cooccurrence", std::to_string(c.min_cooccurrence)},
          {"min_score", i2i_number(c.min_score)},
          {"popularity_discount", i2i_number(c.popularity_discount)},
          {"bm25_k1", i2i_number(c.bm25_k1)},
          {"bm25_b", i2i_number(c.bm25_b)},
          {"min_row_length_percentile", i2i_number(c.min_row_length_percentile)},
          {"max_row_length_percentile", i2i_number(c.max_row_length_percentile)},
          {"min_item_count_percentile", i2i_number(c.min_item_count_percentile)},
          {"max_item_count_percentile", i2i_number(c.max_item_count_percentile)},
          {"max_row_length", std::to_string(c.max_row_length)},
          {"event_types", detail::i2i_join(c.event_types)},
          {"cross_event_types", detail::i2i_join(c.cross_event_types)},
          {"exclude_event_types", detail::i2i_join(c.exclude_event_types)},
          {"time_window", std::to_string(c.time_window)},
          {"forward_only", c.forward_only ? "true" : "false"},
          {"recency_half_life", i2i_number(c.recency_half_life)},
          {"seed", std::to_string(c.seed)},
          {"num_threads", std::to_string(c.num_threads)}};
}

/// Recency weights 2^(-(now - t) / half_life) of events at times `times` (a half_life of 0
/// gives weight 1 everywhere), for recommend_for_history on live events.
/// @throws recsys::invalid_argument if half_life is negative or not finite.
[[nodiscard]] inline std::vector<score_t> recency_weights(std::span<const timestamp_t> times, timestamp_t now,
                                                          double half_life) {
  RECSYS_REQUIRE(std::isfinite(half_life) && half_life >= 0.0, "recency_weights",
                 "half_life must be finite and >= 0 (got ", half_life, ")");
  std::vector<score_t> w(times.size(), 1.0f);
  if (half_life > 0.0)
    for (std::size_t k = 0; k < times.size(); ++k)
      w[k] = static_cast<score_t>(std::exp2(-static_cast<double>(now - times[k]) / half_life));
  return w;
}

// ---------------------------------------------------------------------------------------------
// The model

/// What the last fit did (the load_report of mining).
struct item_to_item_stats {
  std::int64_t transactions = 0;         ///< non-empty transactions in the input
  std::int64_t transactions_mined = 0;   ///< kept by the length percentiles (N of the scores)
  std::int64_t transactions_short = 0;   ///< removed: below min_row_length_percentile
  std::int64_t transactions_long = 0;    ///< removed: above max_row_length_percentile
  std::int64_t transactions_capped = 0;  ///< cut to max_row_length distinct items
  std::int64_t row_length_low = 0;       ///< the length thresholds applied (inclusive)
  std::int64_t row_length_high = 0;
  std::int64_t items_active = 0;    ///< items in at least one mined transaction
  std::int64_t items_mined = 0;     ///< kept by the item count percentiles
  std::int64_t items_rare = 0;      ///< removed: below min_item_count_percentile
  std::int64_t items_popular = 0;   ///< removed: above max_item_count_percentile
  std::int64_t item_count_low = 0;  ///< the item count thresholds applied (inclusive)
  std::int64_t item_count_high = 0;
  std::int64_t pair_visits = 0;  ///< accumulation steps of the sparse product
  std::int64_t items_with_neighbours = 0;
  std::int64_t neighbour_entries = 0;  ///< non-zeros of neighbours()
  double seconds = 0.0;                ///< wall time of the fit (input conversion included)
};

/// Item-to-item neighbours mined from co-occurrence, with the queries of SIMS, "frequently bought
/// together", "viewed X also viewed" and item-KNN.
///
/// Fallbacks (SIMS's rule): whenever a query has no neighbour-based candidate left after its
/// exclusions (unknown item or user, an item with no neighbours after pruning, a history with no
/// known item), it returns the most popular items (popularity = transactions holding the item in
/// the fitted data before pruning; in cross-occurrence the neighbour-side event types), with the
/// same exclusions, scored by that popularity. Results never mix the two kinds of scores, so a
/// neighbour-based result may hold fewer than k items.
///
/// recommend() / score() / recommend_for_history() make it a recsys::recommender and a
/// recsys::history_recommender: score(u, j) = sum over the user's history items i of
/// w(u, i) * S(i, j), where S is the neighbour matrix (0 when j is no neighbour of any history
/// item) and w is 1, or the recency weight when fitted from a log with recency_half_life > 0.
///
/// Thread safety: queries are const and may run concurrently; fit must not.
/// Cancellation (job.cancel): fit throws recsys::cancelled and the model keeps its previous state.
///
/// @code
///   recsys::item_to_item knn(recsys::item_to_item_config{.similarity = recsys::item_similarity::cosine,
///                                                        .neighbours = 50});
///   knn.fit(user_item_matrix);                   // or fit(log), fit(baskets), fit(sessions)
///   recsys::topk_result top = knn.recommend(user, 10);
///   recsys::topk_result like = knn.similar_items(item, 10);
/// @endcode
class item_to_item {
 public:
  item_to_item() = default;
  explicit item_to_item(item_to_item_config config) : config_(std::move(config)) {}

  [[nodiscard]] const item_to_item_config& config() const noexcept { return config_; }
  /// Replaces the configuration (used by the next fit; the fitted neighbours are unchanged).
  void set_config(item_to_item_config config) { config_ = std::move(config); }

  // --- fitting -------------------------------------------------------------------------------

  /// Mines baskets: transactions = baskets, values 1.
  /// @throws recsys::invalid_argument for a bad config, an empty input, an item index out of
  ///         range, or a log-only setting (event types, time window, recency).
  /// @throws recsys::cancelled if job.cancel is set (the model is unchanged).
  void fit(const basket_data& baskets, const job_control& job = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    constexpr const char* where = "item_to_item::fit(basket_data)";
    config_.validate();
    require_no_log_settings(where, false);
    detail::incidence x;
    x.cols = baskets.num_items();
    RECSYS_REQUIRE(baskets.offsets.size() == baskets.size() + 1 && !baskets.offsets.empty() &&
                       baskets.offsets[0] == 0 &&
                       baskets.offsets.back() == static_cast<std::int64_t>(baskets.items.size()),
                   where, "offsets do not describe the items array");
    require_rows_fit(where, baskets.size());
    x.ptr.reserve(baskets.size() + 1);
    x.idx.reserve(baskets.items.size());
    x.val.reserve(baskets.items.size());
    std::vector<std::pair<index_t, float>> row;
    for (std::size_t b = 0; b < baskets.size(); ++b) {
      row.clear();
      for (index_t i : baskets.basket(b)) {
        RECSYS_REQUIRE(i >= 0 && i < x.cols, where, "basket ", b, ": item index ", i, " out of range [0, ", x.cols,
                       ")");
        row.emplace_back(i, 1.0f);
      }
      x.push_row(row);
      // a repeated item counts once per basket
      for (std::int64_t e = x.ptr[b]; e < x.ptr[b + 1]; ++e) x.val[static_cast<std::size_t>(e)] = 1.0f;
    }
    fitted_state s;
    s.num_items = x.cols;
    s.num_users = 0;
    mine(std::move(x), {}, false, {}, false, s, job, t0);
  }

  /// Mines sessions: transactions = sessions, value of an item = its occurrences in the session.
  /// time_window and forward_only apply to the sessions' timestamps.
  /// @throws as fit(basket_data); event types and recency are log-only settings.
  void fit(const session_data& sessions, const job_control& job = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    constexpr const char* where = "item_to_item::fit(session_data)";
    config_.validate();
    require_no_log_settings(where, true);
    RECSYS_REQUIRE(sessions.offsets.size() == sessions.size() + 1 && !sessions.offsets.empty() &&
                       sessions.offsets[0] == 0 &&
                       sessions.offsets.back() == static_cast<std::int64_t>(sessions.items.size()) &&
                       sessions.timestamps.size() == sessions.items.size(),
                   where, "offsets / timestamps do not describe the items array");
    require_rows_fit(where, sessions.size());
    detail::incidence x;
    x.cols = sessions.num_items;
    const bool timed = config_.time_window > 0 || config_.forward_only;
    detail::timed_events ev;
    std::vector<std::pair<index_t, float>> row;
    std::vector<detail::raw_event> raw;
    for (std::size_t s = 0; s < sessions.size(); ++s) {
      row.clear();
      raw.clear();
      const auto items = sessions.session(s);
      const auto times = sessions.session_times(s);
      for (std::size_t k = 0; k < items.size(); ++k) {
        RECSYS_REQUIRE(items[k] >= 0 && items[k] < x.cols, where, "session ", s, ": item index ", items[k],
                       " out of range [0, ", x.cols, ")");
        row.emplace_back(items[k], 1.0f);
        if (timed) raw.push_back({times[k], items[k], 3});
      }
      x.push_row(row);
      if (timed) detail::push_events_row(ev, raw);
    }
    fitted_state st;
    st.num_items = x.cols;
    st.num_users = 0;
    mine(std::move(x), {}, false, std::move(ev), timed, st, job, t0);
  }

  /// Mines user histories from a user x item matrix: transactions = rows (users), value = the
  /// entry (explicit zeros are absent entries). The rows are also the users' histories for
  /// recommend() (weight 1 per item).
  /// @throws recsys::invalid_argument for a negative or non-finite entry, or as fit(basket_data).
  void fit(const csr_matrix& user_items, const job_control& job = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    constexpr const char* where = "item_to_item::fit(csr_matrix)";
    config_.validate();
    require_no_log_settings(where, false);
    require_rows_fit(where, static_cast<std::size_t>(user_items.rows()));
    fitted_state s;
    s.num_items = static_cast<index_t>(user_items.cols());
    s.num_users = static_cast<index_t>(user_items.rows());
    detail::incidence x = convert_rows(user_items, where, s.history);
    mine(std::move(x), {}, false, {}, false, s, job, t0);
  }

  /// Mines user histories from a log: transactions = users; events filtered by event_types,
  /// cross-occurrence when cross_event_types is set, time_window / forward_only on the event
  /// timestamps; value of (user, item) = the sum of the events' weights (added in double in
  /// build_matrix's order, so without log-only settings the model equals fit(build_matrix(log)),
  /// bit for bit). Keeps the histories (with recency weights) for recommend(), and the
  /// exclude_event_types items for also_viewed(). The conversion from the log runs in parallel
  /// over users (config.num_threads) and costs a few percent of the mining (docs/item-to-item.md).
  /// @throws recsys::invalid_argument for a bad config or log, an event type in event_types /
  ///         cross_event_types the log does not have, no selected event, or a selected
  ///         (user, item) whose weights do not sum to a finite value > 0.
  void fit(const interaction_log& log, const job_control& job = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    constexpr const char* where = "item_to_item::fit(interaction_log)";
    config_.validate();
    log.validate();
    require_rows_fit(where, static_cast<std::size_t>(log.num_users()));
    const bool cross = !config_.cross_event_types.empty();
    const bool timed = config_.time_window > 0 || config_.forward_only;
    auto type_mask = [&](const std::vector<std::string>& names, bool must_exist) {
      std::vector<char> mask(static_cast<std::size_t>(log.event_type_names.size()), 0);
      for (const std::string& n : names) {
        const auto t = log.event_type_names.find(n);
        if (!t) {
          if (!must_exist) continue;
          std::string known;
          for (const auto& k : log.event_type_names.ids()) known.append(known.empty() ? "" : ", ").append(k);
          detail::throw_invalid_argument(where, "event type '", n, "' is not in the log (its types: ",
                                         known.empty() ? std::string("none") : known, ")");
        }
        mask[static_cast<std::size_t>(*t)] = 1;
      }
      return mask;
    };
    const std::vector<char> left_types = type_mask(config_.event_types, true);
    const std::vector<char> right_types = type_mask(config_.cross_event_types, true);
    const std::vector<char> bought_types = type_mask(config_.exclude_event_types, false);
    const bool all_left = config_.event_types.empty();
    auto in = [](const std::vector<char>& mask, index_t t) { return t >= 0 && mask[static_cast<std::size_t>(t)] != 0; };
    const bool recency = config_.recency_half_life > 0.0;
    const bool any_bought = std::find(bought_types.begin(), bought_types.end(), 1) != bought_types.end();
    const auto users = static_cast<std::size_t>(log.num_users());
    parallel_options po;
    po.num_threads = config_.num_threads;

    // Every event mined and nothing but (user, item, weight) needed (the recipes' defaults):
    // the rows straight from the columns.
    if (all_left && !cross && !timed && !recency && !any_bought) {
      RECSYS_REQUIRE(!log.empty(), where, "no event of the selected event types in the log (0 events)");
      detail::incidence left, history;
      plain_log_rows(log, where, po, left, history);
      fitted_state s;
      s.num_items = log.num_items();
      s.num_users = log.num_users();
      s.history = std::move(history);
      s.bought.cols = s.num_items;
      s.bought.ptr.assign(users + 1, 0);  // no event of the bought types: every row empty
      s.has_bought_types = !config_.exclude_event_types.empty();
      job.cancel.throw_if_cancelled();
      mine(std::move(left), {}, false, {}, false, s, job, t0);
      return;
    }

    // events grouped by user, in log order (counting sort; serial: a few ms, less than a
    // parallel region costs when the machine is shared)
    std::vector<std::int64_t> start(users + 1, 0);
    for (index_t u : log.users) ++start[static_cast<std::size_t>(u) + 1];
    for (std::size_t u = 0; u < users; ++u) start[u + 1] += start[u];
    detail::buffer<std::size_t> order(log.size());
    {
      std::vector<std::int64_t> next(start.begin(), start.end() - 1);
      const index_t* user = log.users.data();
      for (std::size_t r = 0; r < log.size(); ++r)
        order[static_cast<std::size_t>(next[static_cast<std::size_t>(user[r])]++)] = r;
    }
    job.cancel.throw_if_cancelled();

    // Each user's rows, in parallel over users, written at the user's own event offsets
    // start[u] of "wide" arrays (a user has at most as many entries of each kind as events),
    // then copied together. Per user (the same rows as incidence::push_row of the user's events
    // in log order gives): left / right = the user's distinct items of the query / neighbour
    // side with the sum of their events' weights (summed in double in ascending order of the
    // weights' float bits, as build_matrix sums duplicates, so fit(log) and
    // fit(build_matrix(log)) see the same values); history = the left items, weight 1 or the
    // recency of the user's last event on the item; seen / bought = distinct items, value 1;
    // the timed events sorted by time, then item (stable).
    const index_t items = log.num_items();
    const std::size_t n = log.size();
    const int item_bytes = detail::item_key_bytes(items);
    detail::buffer<index_t> w_left_idx(n), w_right_idx(cross ? n : 0), w_seen_idx(cross ? n : 0),
        w_bought_idx(any_bought ? n : 0), w_ev_item(timed ? n : 0);
    detail::buffer<float> w_left_val(n), w_right_val(cross ? n : 0), w_hist_val(recency ? n : 0);
    detail::buffer<timestamp_t> w_ev_time(timed ? n : 0);
    detail::buffer<std::uint8_t> w_ev_side(timed ? n : 0);
    // per user: entries of left, right, seen, bought, timed events; selected events
    std::vector<std::array<std::int64_t, 5>> len(users);
    std::vector<std::int64_t> selected_of(users);
    std::vector<std::uint8_t> bad_sum(users);  // bit 1: a left sum is not finite > 0, bit 2: a right one
    struct scratch {
      std::vector<std::uint64_t> left, right;  // (item << 32) | weight bits
      std::vector<std::uint64_t> sort_scratch;
      std::vector<index_t> seen, bought;
      std::vector<std::pair<index_t, timestamp_t>> last_seen;
      std::vector<detail::raw_event> raw;
    };
    std::vector<scratch> scratches(static_cast<std::size_t>(max_threads(po)));
    // sorted (item, weight bits) keys -> distinct items with their weight sums, at `idx` / `val`
    auto sum_runs = [](const std::vector<std::uint64_t>& keys, index_t* idx, float* val) {
      std::int64_t out = 0;
      for (std::size_t k = 0; k < keys.size();) {
        const std::uint64_t item = keys[k] >> 32;
        double acc = std::bit_cast<float>(static_cast<std::uint32_t>(keys[k]));
        for (++k; k < keys.size() && (keys[k] >> 32) == item; ++k)
          acc += static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(keys[k])));
        idx[out] = static_cast<index_t>(item);
        val[out] = static_cast<float>(acc);
        ++out;
      }
      return out;
    };
    auto distinct = [](std::vector<index_t>& v, index_t* idx) {
      std::sort(v.begin(), v.end());
      return static_cast<std::int64_t>(std::unique_copy(v.begin(), v.end(), idx) - idx);
    };
    parallel_options pu = po;
    pu.chunk = 64;
    parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64, int tid) {
      const auto u = static_cast<std::size_t>(u64);
      scratch& sc = scratches[static_cast<std::size_t>(tid)];
      sc.left.clear();
      sc.right.clear();
      sc.seen.clear();
      sc.bought.clear();
      sc.last_seen.clear();
      sc.raw.clear();
      timestamp_t user_last = std::numeric_limits<timestamp_t>::min();
      for (std::int64_t k = start[u]; k < start[u + 1]; ++k) {
        const std::size_t r = order[static_cast<std::size_t>(k)];
        const index_t t = log.event_types[r];
        const index_t item = log.items[r];
        const bool is_left = all_left || in(left_types, t);
        const bool is_right = cross && in(right_types, t);
        if (any_bought && in(bought_types, t)) sc.bought.push_back(item);
        if (!is_left && !is_right) continue;
        const std::uint64_t key =
            (static_cast<std::uint64_t>(item) << 32) | std::bit_cast<std::uint32_t>(log.weights[r]);
        if (cross) sc.seen.push_back(item);
        if (is_left) {
          sc.left.push_back(key);
          if (recency) {
            sc.last_seen.emplace_back(item, log.timestamps[r]);
            user_last = std::max(user_last, log.timestamps[r]);
          }
        }
        if (is_right) sc.right.push_back(key);
        if (timed)
          sc.raw.push_back({log.timestamps[r], item,
                            static_cast<std::uint8_t>((is_left ? 1u : 0u) | (cross ? (is_right ? 2u : 0u) : 2u))});
      }
      const auto at = static_cast<std::size_t>(start[u]);
      std::array<std::int64_t, 5>& l = len[u];
      l = {0, 0, 0, 0, 0};
      selected_of[u] = cross ? static_cast<std::int64_t>(sc.seen.size()) : static_cast<std::int64_t>(sc.left.size());
      detail::sort_item_keys(sc.left.data(), sc.left.size(), item_bytes, sc.sort_scratch);
      l[0] = sum_runs(sc.left, w_left_idx.data() + at, w_left_val.data() + at);
      auto bad = [](const float* v, std::int64_t m) {
        return std::any_of(v, v + m, [](float x) { return !(std::isfinite(x) && x > 0.0f); });
      };
      bad_sum[u] = bad(w_left_val.data() + at, l[0]) ? 1 : 0;
      if (cross) {
        detail::sort_item_keys(sc.right.data(), sc.right.size(), item_bytes, sc.sort_scratch);
        l[1] = sum_runs(sc.right, w_right_idx.data() + at, w_right_val.data() + at);
        l[2] = distinct(sc.seen, w_seen_idx.data() + at);
        bad_sum[u] |= bad(w_right_val.data() + at, l[1]) ? 2 : 0;
      }
      if (any_bought) l[3] = distinct(sc.bought, w_bought_idx.data() + at);
      if (recency) {
        // the latest event of each left item (the left items, in the same ascending order)
        std::sort(sc.last_seen.begin(), sc.last_seen.end());
        std::size_t h = at;
        for (std::size_t k = 0; k < sc.last_seen.size(); ++k) {
          if (k + 1 < sc.last_seen.size() && sc.last_seen[k + 1].first == sc.last_seen[k].first) continue;
          w_hist_val[h++] = static_cast<float>(
              std::exp2(-static_cast<double>(user_last - sc.last_seen[k].second) / config_.recency_half_life));
        }
      }
      if (timed) {
        std::stable_sort(sc.raw.begin(), sc.raw.end(), [](const detail::raw_event& a, const detail::raw_event& b) {
          if (a.time != b.time) return a.time < b.time;
          return a.item < b.item;
        });
        for (std::size_t k = 0; k < sc.raw.size(); ++k) {
          w_ev_item[at + k] = sc.raw[k].item;
          w_ev_time[at + k] = sc.raw[k].time;
          w_ev_side[at + k] = sc.raw[k].side;
        }
        l[4] = static_cast<std::int64_t>(sc.raw.size());
      }
    });
    scratches = {};
    order = {};
    job.cancel.throw_if_cancelled();

    const std::int64_t selected = std::accumulate(selected_of.begin(), selected_of.end(), std::int64_t{0});
    RECSYS_REQUIRE(selected > 0, where, "no event of the selected event types in the log (", log.size(), " events)");
    // the first bad sum in row order, of left, then of right (as a check of the finished
    // incidences finds it)
    for (std::size_t side = 0; side < (cross ? 2u : 1u); ++side)
      for (std::size_t u = 0; u < users; ++u) {
        if (!(bad_sum[u] & (1u << side))) continue;
        const auto at = static_cast<std::size_t>(start[u]);
        const float* v = side == 0 ? w_left_val.data() + at : w_right_val.data() + at;
        const index_t* i = side == 0 ? w_left_idx.data() + at : w_right_idx.data() + at;
        for (std::int64_t e = 0; e < len[u][side]; ++e)
          RECSYS_REQUIRE(std::isfinite(v[e]) && v[e] > 0.0f, where, "the weights of an item's events sum to ", v[e],
                         " for a user; co-occurrence needs a finite sum > 0 (item ", i[e], ")");
      }

    // the rows together: offsets, then a parallel copy per user
    detail::incidence left, right, history, seen, bought;
    for (auto* x : {&left, &right, &history, &seen, &bought}) x->cols = items;
    detail::timed_events ev;
    auto offsets = [&](detail::incidence& x, std::size_t kind) {
      x.ptr.resize(users + 1);
      x.ptr[0] = 0;
      for (std::size_t u = 0; u < users; ++u) x.ptr[u + 1] = x.ptr[u] + len[u][kind];
      x.idx.resize(static_cast<std::size_t>(x.ptr[users]));
      x.val.resize(static_cast<std::size_t>(x.ptr[users]));
    };
    offsets(left, 0);
    history.ptr = left.ptr;
    history.idx.resize(left.nnz());
    history.val.resize(left.nnz());
    if (cross) {
      offsets(right, 1);
      offsets(seen, 2);
    }
    offsets(bought, 3);
    if (timed) {
      ev.ptr.resize(users + 1);
      for (std::size_t u = 0; u < users; ++u) ev.ptr[u + 1] = ev.ptr[u] + len[u][4];
      const auto ne = static_cast<std::size_t>(ev.ptr[users]);
      ev.item.resize(ne);
      ev.time.resize(ne);
      ev.side.resize(ne);
      ev.row.resize(ne);
    }
    pu.chunk = 256;
    parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64) {
      const auto u = static_cast<std::size_t>(u64);
      const auto at = static_cast<std::size_t>(start[u]);
      auto copy = [&](const index_t* idx, const float* val, detail::incidence& x, std::size_t kind) {
        const auto to = static_cast<std::size_t>(x.ptr[u]);
        const auto m = static_cast<std::size_t>(len[u][kind]);
        std::copy_n(idx + at, m, x.idx.begin() + static_cast<std::ptrdiff_t>(to));
        if (val)
          std::copy_n(val + at, m, x.val.begin() + static_cast<std::ptrdiff_t>(to));
        else
          std::fill_n(x.val.begin() + static_cast<std::ptrdiff_t>(to), m, 1.0f);
      };
      copy(w_left_idx.data(), w_left_val.data(), left, 0);
      copy(w_left_idx.data(), recency ? w_hist_val.data() : nullptr, history, 0);
      if (cross) {
        copy(w_right_idx.data(), w_right_val.data(), right, 1);
        copy(w_seen_idx.data(), nullptr, seen, 2);
      }
      if (any_bought) copy(w_bought_idx.data(), nullptr, bought, 3);
      if (timed) {
        const auto to = static_cast<std::size_t>(ev.ptr[u]);
        const auto m = static_cast<std::size_t>(len[u][4]);
        std::copy_n(w_ev_item.data() + at, m, ev.item.begin() + static_cast<std::ptrdiff_t>(to));
        std::copy_n(w_ev_time.data() + at, m, ev.time.begin() + static_cast<std::ptrdiff_t>(to));
        std::copy_n(w_ev_side.data() + at, m, ev.side.begin() + static_cast<std::ptrdiff_t>(to));
        std::fill_n(ev.row.begin() + static_cast<std::ptrdiff_t>(to), m, static_cast<std::int32_t>(u));
      }
    });
    fitted_state s;
    s.num_items = items;
    s.num_users = log.num_users();
    s.history = std::move(history);
    if (cross) s.seen = std::move(seen);
    s.bought = std::move(bought);
    s.has_bought_types = !config_.exclude_event_types.empty();
    mine(std::move(left), std::move(right), cross, std::move(ev), timed, s, job, t0);
  }

  // --- state ---------------------------------------------------------------------------------

  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }
  /// Users with histories (fit from a matrix or a log); 0 after fit(baskets / sessions).
  [[nodiscard]] index_t num_users() const noexcept { return state_.num_users; }
  [[nodiscard]] index_t num_items() const noexcept { return state_.num_items; }
  /// The neighbours: item x item CSR, row i = the (at most K) neighbours of i with their scores,
  /// column indices ascending (an ordinary Eigen sparse matrix).
  [[nodiscard]] const csr_matrix& neighbours() const noexcept { return neighbours_; }
  /// Popularity of each item (transactions holding it, before pruning).
  [[nodiscard]] std::span<const score_t> popularity() const noexcept { return popularity_; }
  /// Items by popularity, most popular first (ties: ascending id).
  [[nodiscard]] std::span<const index_t> popular_items() const noexcept { return popular_; }
  [[nodiscard]] const item_to_item_stats& stats() const noexcept { return stats_; }

  /// The items of a user's fitted history (ascending), empty for unknown users.
  [[nodiscard]] std::span<const index_t> seen_items(index_t user) const noexcept {
    const detail::incidence& s = state_.seen.rows() > 0 ? state_.seen : state_.history;
    if (user < 0 || static_cast<std::size_t>(user) >= s.rows()) return {};
    return s.row(static_cast<std::size_t>(user));
  }

  /// True when `user` has at least one history item.
  [[nodiscard]] bool is_known_user(index_t user) const noexcept {
    return user >= 0 && static_cast<std::size_t>(user) < state_.history.rows() &&
           state_.history.length(static_cast<std::size_t>(user)) > 0;
  }

  // --- queries ---------------------------------------------------------------------------------

  /// The k best neighbours of `item` (never the item itself), e.g. SIMS / "customers who
  /// bought X also bought". opts.exclude / opts.include filter; exclude_seen has no user here
  /// and is ignored. Unknown or cold item: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result similar_items(index_t item, index_t k, const recommend_options& opts = {}) const {
    require_query("similar_items", k);
    std::vector<char> allowed = allowed_mask(opts);
    if (in_catalogue(item)) allowed[static_cast<std::size_t>(item)] = 0;
    return neighbours_of(item, k, allowed);
  }

  /// "Customers who viewed X also viewed": the neighbours of `item` for `user`, without the
  /// items the user already bought (events of exclude_event_types; every item the user has
  /// seen when that list is empty) when opts.exclude_seen is true. Unknown user: no user
  /// exclusion; unknown item: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result also_viewed(index_t user, index_t item, index_t k,
                                        const recommend_options& opts = {}) const {
    require_query("also_viewed", k);
    std::vector<char> allowed = allowed_mask(opts);
    if (in_catalogue(item)) allowed[static_cast<std::size_t>(item)] = 0;
    if (opts.exclude_seen)
      for (index_t j : bought_items(user)) allowed[static_cast<std::size_t>(j)] = 0;
    return neighbours_of(item, k, allowed);
  }

  /// "Frequently bought together" for a whole basket: score(j) = sum over the basket's items i of
  /// S(i, j), never a basket item. Items outside the catalogue contribute nothing; no
  /// neighbour at all: popular items (without the basket).
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result frequently_bought_together(std::span<const index_t> basket, index_t k,
                                                       const recommend_options& opts = {}) const {
    require_query("frequently_bought_together", k);
    std::vector<char> allowed = allowed_mask(opts);
    for (index_t i : basket)
      if (in_catalogue(i)) allowed[static_cast<std::size_t>(i)] = 0;
    return from_history(basket, {}, k, allowed);
  }

  /// Item-KNN for a history given at query time (real-time events, a new user): score(j) =
  /// sum_i weights[i] S(items[i], j). `weights` empty means 1 each (see recency_weights()).
  /// opts.exclude_seen drops the history items. Unknown items contribute nothing.
  /// @throws recsys::invalid_argument if k < 0, weights and items differ in size, or unfitted.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const {
    require_query("recommend_for_history", k);
    RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), "item_to_item::recommend_for_history", "got ",
                   items.size(), " items but ", weights.size(), " weights");
    std::vector<char> allowed = allowed_mask(opts);
    if (opts.exclude_seen)
      for (index_t i : items)
        if (in_catalogue(i)) allowed[static_cast<std::size_t>(i)] = 0;
    return from_history(items, weights, k, allowed);
  }

  /// Item-KNN for a fitted user (recsys::recommender): recommend_for_history over the user's
  /// history (recency-weighted when fitted from a log with recency_half_life); exclude_seen drops
  /// every item of the user's fitted history. Unknown user: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    require_query("recommend", k);
    std::vector<char> allowed = allowed_mask(opts);
    if (!is_known_user(user)) return popular_among(k, allowed);
    if (opts.exclude_seen)
      for (index_t j : seen_items(user)) allowed[static_cast<std::size_t>(j)] = 0;
    const auto u = static_cast<std::size_t>(user);
    return from_history(state_.history.row(u), state_.history.row_values(u), k, allowed);
  }

  /// The item-KNN scores of `items` for `user` (same order): the recommend() score, 0 for an item
  /// no history item has as a neighbour, NaN outside the catalogue; popularity for an unknown user.
  /// @throws recsys::invalid_argument if the model is not fitted.
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const {
    require_query("score", 0);
    std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
    if (!is_known_user(user)) {
      for (std::size_t k = 0; k < items.size(); ++k)
        if (in_catalogue(items[k])) out[k] = popularity_[static_cast<std::size_t>(items[k])];
      return out;
    }
    const auto u = static_cast<std::size_t>(user);
    detail::sparse_accumulator<double> acc(num_items());
    accumulate(state_.history.row(u), state_.history.row_values(u), acc);
    for (std::size_t k = 0; k < items.size(); ++k)
      if (in_catalogue(items[k])) out[k] = static_cast<score_t>(acc.value(items[k]));
    return out;
  }

  /// recommend() for many users into caller buffers of users.size() * k entries (row r is
  /// users[r]), padded with invalid_index and the lowest score. Parallel over users.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const {
    require_query("recommend_batch", k);
    parallel_options po;
    po.num_threads = num_threads;
    po.chunk = 16;
    parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
      const topk_result top = recommend(users[static_cast<std::size_t>(r)], k, opts);
      const std::size_t base = static_cast<std::size_t>(r) * static_cast<std::size_t>(k);
      for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
        ids[base + j] = j < top.size() ? top.ids[j] : invalid_index;
        scores[base + j] = j < top.size() ? top.scores[j] : std::numeric_limits<score_t>::lowest();
      }
    });
  }

  /// User segments (Personalize's Item-Affinity): for each item, the k users with the highest
  /// item-KNN score for it, i.e. exactly score(user, {item}) = sum over the user's history items
  /// h of w(u, h) * S(h, item), best first (ties: ascending user). Candidates are the users
  /// with a fitted history; a user scores only when some history item has `item` as a neighbour
  /// (users without such a link have no evidence and are never returned, so a row may be
  /// short). With opts.exclude_seen, users who already have the item are skipped;
  /// opts.include / opts.exclude restrict the candidate users. An item outside the catalogue
  /// gets an empty row. Output: caller buffers of items.size() * k, row r = items[r], padded
  /// with invalid_index and the lowest score. Parallel over items.
  /// @throws recsys::invalid_argument if k < 0, the model is not fitted or has no user
  ///         histories (fitted on baskets or sessions).
  void recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const {
    require_query("recommend_users", k);
    RECSYS_REQUIRE(state_.history.rows() > 0, "item_to_item::recommend_users",
                   "the model has no user histories (fitted on baskets or sessions): no users to rank");
    if (items.empty() || k == 0) return;
    RECSYS_REQUIRE(users != nullptr && scores != nullptr, "item_to_item::recommend_users",
                   "output buffers must not be null");
    const auto n_users = static_cast<index_t>(state_.history.rows());
    // who holds which history item (with the weight), and which items have i as a neighbour
    const detail::incidence by_item = transpose_incidence(state_.history, n_users);
    const csr_matrix reverse = neighbours_.transpose();  // row i: items h with S(h, i), h ascending
    std::vector<char> allowed(static_cast<std::size_t>(n_users), opts.include.empty() ? 1 : 0);
    for (index_t u : opts.include)
      if (u >= 0 && u < n_users) allowed[static_cast<std::size_t>(u)] = 1;
    for (index_t u : opts.exclude)
      if (u >= 0 && u < n_users) allowed[static_cast<std::size_t>(u)] = 0;
    const detail::incidence& seen = state_.seen.rows() > 0 ? state_.seen : state_.history;
    const detail::incidence seen_by_item =
        opts.exclude_seen ? transpose_incidence(seen, n_users) : detail::incidence{};
    const auto kk = static_cast<std::size_t>(k);
    parallel_options po;
    po.num_threads = num_threads;
    po.chunk = 4;
    parallel_for(0, static_cast<std::int64_t>(items.size()), po, [&](std::int64_t r) {
      const index_t item = items[static_cast<std::size_t>(r)];
      topk_result top;
      if (in_catalogue(item)) {
        detail::sparse_accumulator<double> acc(n_users);
        // h ascending, as score() adds a user's history items: the same sums, bit for bit
        for (csr_matrix::InnerIterator it(reverse, item); it; ++it) {
          const auto h = static_cast<std::size_t>(it.col());
          const double s = static_cast<double>(it.value());
          const auto holders = by_item.row(h);
          const auto w = by_item.row_values(h);
          for (std::size_t n = 0; n < holders.size(); ++n) acc.add(holders[n], static_cast<double>(w[n]) * s);
        }
        std::vector<char> skip;
        if (opts.exclude_seen) {
          skip.assign(static_cast<std::size_t>(n_users), 0);
          for (index_t u : seen_by_item.row(static_cast<std::size_t>(item))) skip[static_cast<std::size_t>(u)] = 1;
        }
        detail::topk_heap heap(std::min(k, n_users));  // (allocated whole: never more than exist)
        for (index_t u : acc.touched())
          if (allowed[static_cast<std::size_t>(u)] && (skip.empty() || !skip[static_cast<std::size_t>(u)]))
            heap.push(static_cast<score_t>(acc.value(u)), u);
        heap.drain_into(top);
      }
      const std::size_t base = static_cast<std::size_t>(r) * kk;
      for (std::size_t j = 0; j < kk; ++j) {
        users[base + j] = j < top.size() ? top.ids[j] : invalid_index;
        scores[base + j] = j < top.size() ? top.scores[j] : std::numeric_limits<score_t>::lowest();
      }
    });
  }

  // --- persistence ---------------------------------------------------------------------------

  /// Writes the fitted model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "item_to_item", the config (to_params), field "item_to_item" {num_users,
  /// num_items, has_bought_types, stats}, the neighbour matrix (`neighbours_indptr/indices/
  /// data.npy`, scipy CSR), `popularity.npy` (float32 [items]) and the user histories, seen and
  /// bought lists as `<name>_indptr` (int64), `<name>_indices` (int32), `<name>_data` (float32).
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const {
    require_query("item_to_item::save", 0);
    out.set_field("model", "item_to_item");
    out.set_config(to_params(config_));
    detail::json::object st;
    detail::json::add(st, "num_users", static_cast<std::int64_t>(state_.num_users));
    detail::json::add(st, "num_items", static_cast<std::int64_t>(state_.num_items));
    detail::json::add(st, "has_bought_types", state_.has_bought_types);
    detail::json::object stats;
    const std::pair<const char*, std::int64_t> counts[] = {
        {"transactions", stats_.transactions},
        {"transactions_mined", stats_.transactions_mined},
        {"transactions_short", stats_.transactions_short},
        {"transactions_long", stats_.transactions_long},
        {"transactions_capped", stats_.transactions_capped},
        {"row_length_low", stats_.row_length_low},
        {"row_length_high", stats_.row_length_high},
        {"items_active", stats_.items_active},
        {"items_mined", stats_.items_mined},
        {"items_rare", stats_.items_rare},
        {"items_popular", stats_.items_popular},
        {"item_count_low", stats_.item_count_low},
        {"item_count_high", stats_.item_count_high},
        {"pair_visits", stats_.pair_visits},
        {"items_with_neighbours", stats_.items_with_neighbours},
        {"neighbour_entries", stats_.neighbour_entries}};
    stats.reserve(std::size(counts) + 1);
    for (const auto& [name, value] : counts) detail::json::add(stats, name, value);
    detail::json::add(stats, "seconds", stats_.seconds);
    detail::json::add(st, "stats", detail::json::value(std::move(stats)));
    out.set_field("item_to_item", detail::json::value(std::move(st)));
    out.add_sparse("neighbours", neighbours_);
    out.add_vector("popularity", popularity_);
    save_incidence(out, "history", state_.history);
    save_incidence(out, "seen", state_.seen);
    save_incidence(out, "bought", state_.bought);
  }

  /// Restores a model written by save() (config and fitted state); it then answers every query
  /// exactly as the saved model did.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in) {
    in.require_model_type("item_to_item");
    item_to_item_config c;
    fitted_state st;
    item_to_item_stats stats;
    std::int64_t users = 0, items = 0;
    in.in_manifest([&] {
      for (const auto& [k, v] : in.config())
        if (!v.empty()) set_param(c, k, v);
      c.validate();
      const auto& f = in.require_field("item_to_item");
      users = f.at("num_users").as_int("item_to_item.num_users");
      items = f.at("num_items").as_int("item_to_item.num_items");
      if (users < 0 || items < 0 || users > std::numeric_limits<index_t>::max() ||
          items > std::numeric_limits<index_t>::max())
        throw invalid_argument(detail::str("item_to_item: num_users ", users, " / num_items ", items, " out of range"));
      st.has_bought_types = f.at("has_bought_types").as_bool("item_to_item.has_bought_types");
      const auto& j = f.at("stats");
      stats.transactions = j.at("transactions").as_int("transactions");
      stats.transactions_mined = j.at("transactions_mined").as_int("transactions_mined");
      stats.transactions_short = j.at("transactions_short").as_int("transactions_short");
      stats.transactions_long = j.at("transactions_long").as_int("transactions_long");
      stats.transactions_capped = j.at("transactions_capped").as_int("transactions_capped");
      stats.row_length_low = j.at("row_length_low").as_int("row_length_low");
      stats.row_length_high = j.at("row_length_high").as_int("row_length_high");
      stats.items_active = j.at("items_active").as_int("items_active");
      stats.items_mined = j.at("items_mined").as_int("items_mined");
      stats.items_rare = j.at("items_rare").as_int("items_rare");
      stats.items_popular = j.at("items_popular").as_int("items_popular");
      stats.item_count_low = j.at("item_count_low").as_int("item_count_low");
      stats.item_count_high = j.at("item_count_high").as_int("item_count_high");
      stats.pair_visits = j.at("pair_visits").as_int("pair_visits");
      stats.items_with_neighbours = j.at("items_with_neighbours").as_int("items_with_neighbours");
      stats.neighbour_entries = j.at("neighbour_entries").as_int("neighbour_entries");
      stats.seconds = j.at("seconds").as_double("seconds");
    });
    st.num_users = static_cast<index_t>(users);
    st.num_items = static_cast<index_t>(items);
    csr_matrix nb = in.sparse("neighbours");
    const std::string nb_file = in.array_file("neighbours_data");
    model_reader::check(nb.rows() == items && nb.cols() == items, nb_file,
                        detail::str("neighbour matrix is ", nb.rows(), " x ", nb.cols(), ", the model has ", items,
                                    " items"));
    for (Eigen::Index n = 0; n < nb.nonZeros(); ++n)
      model_reader::check(std::isfinite(nb.valuePtr()[n]), nb_file, detail::str("neighbour score ", n, " is not finite"));
    std::vector<score_t> popularity = in.vector<score_t>("popularity", items);
    for (std::size_t i = 0; i < popularity.size(); ++i)
      model_reader::check(std::isfinite(popularity[i]) && popularity[i] >= 0, in.array_file("popularity"),
                          detail::str("entry ", i, " is not a count"));
    st.history = load_incidence(in, "history", st.num_items, {users});
    st.seen = load_incidence(in, "seen", st.num_items, {0, users});
    st.bought = load_incidence(in, "bought", st.num_items, {0, users});
    std::vector<index_t> popular(static_cast<std::size_t>(items));
    std::iota(popular.begin(), popular.end(), 0);
    std::stable_sort(popular.begin(), popular.end(), [&](index_t a, index_t b) {
      return popularity[static_cast<std::size_t>(a)] > popularity[static_cast<std::size_t>(b)];
    });
    config_ = std::move(c);
    neighbours_ = std::move(nb);
    popularity_ = std::move(popularity);
    popular_ = std::move(popular);
    state_ = std::move(st);
    stats_ = stats;
    fitted_ = true;
  }

 private:
  struct fitted_state {
    index_t num_items = 0;
    index_t num_users = 0;
    detail::incidence history;  ///< users x items: recommend() weights
    detail::incidence seen;     ///< users x items when it differs from history (cross-occurrence)
    detail::incidence bought;   ///< users x items of exclude_event_types
    bool has_bought_types = false;
  };

  // The rows of a log whose every event is mined and that needs only (user, item, weight):
  // left = each user's distinct items with the sums of their events' weights, history = the
  // same items, weight 1 (what fit(interaction_log) builds, in general, for this case). The
  // events' (item << 32 | weight bits) keys are scattered into buckets of users (in parallel
  // over blocks of events); each bucket is grouped by user, and each user's keys sorted and
  // summed in place, in parallel over buckets (a pair's weights are added in ascending order of
  // their float bits, as build_matrix adds them); the rows are then copied together in
  // parallel. The result depends neither on the order of the log's events nor on the threads.
  // @throws recsys::invalid_argument for the first (user, item) in row order whose weights do
  //         not sum to a finite value > 0.
  void plain_log_rows(const interaction_log& log, const char* where, const parallel_options& po,
                      detail::incidence& left, detail::incidence& history) const {
    const auto users = static_cast<std::size_t>(log.num_users());
    const std::size_t n = log.size();
    const index_t* user = log.users.data();
    const index_t* item = log.items.data();
    const float* weight = log.weights.data();
    // Events go to buckets of 2^shift consecutive users (at most 1024 buckets, so at most 1024
    // write streams per thread: the writes stay in cache whatever the log's order; a
    // time-ordered log scattered straight to 50,000 users costs 5x more), with the user's low
    // bits beside the item in the key's high half; when those do not fit in 32 bits, every user
    // is a bucket (shift 0). The scatter is a counting sort over blocks of events in parallel
    // (each block counts its buckets, a prefix over (bucket, block) gives each block its slots,
    // each block writes its own: the first touch of the key array is spread over the threads
    // too, and on a VM first touches are expensive).
    int item_bits = 0;
    while (item_bits < 32 && (std::int64_t{1} << item_bits) < static_cast<std::int64_t>(log.num_items())) ++item_bits;
    int shift = 0;
    while ((users >> shift) > 1024) ++shift;
    if (item_bits + shift > 32) shift = 0;
    const std::size_t buckets = (users + (std::size_t{1} << shift) - 1) >> shift;
    auto first_user = [&](std::size_t b) { return std::min(b << shift, users); };
    // (one block for small logs, and when every user is a bucket: block x bucket counters)
    const auto blocks = static_cast<std::size_t>(n < 65536 || buckets > 4096 ? 1 : std::min(16, max_threads(po)));
    auto block_lo = [&](std::size_t q) { return n * q / blocks; };
    parallel_options pb = po;
    pb.chunk = 1;
    std::vector<std::int64_t> at(blocks * buckets, 0);  // block q's count, then next slot, of bucket b
    parallel_for(0, static_cast<std::int64_t>(blocks), pb, [&](std::int64_t q64) {
      const auto q = static_cast<std::size_t>(q64);
      std::int64_t* c = at.data() + q * buckets;
      for (std::size_t r = block_lo(q); r < block_lo(q + 1); ++r) ++c[static_cast<std::uint32_t>(user[r]) >> shift];
    });
    std::vector<std::int64_t> bucket_start(buckets + 1, 0);
    for (std::size_t b = 0, sum = 0; b < buckets; ++b) {
      bucket_start[b] = static_cast<std::int64_t>(sum);
      for (std::size_t q = 0; q < blocks; ++q) {
        const std::int64_t c = at[q * buckets + b];
        at[q * buckets + b] = static_cast<std::int64_t>(sum);
        sum += static_cast<std::size_t>(c);
      }
    }
    bucket_start[buckets] = static_cast<std::int64_t>(n);
    detail::buffer<std::uint64_t> keys(n);
    parallel_for(0, static_cast<std::int64_t>(blocks), pb, [&](std::int64_t q64) {
      const auto q = static_cast<std::size_t>(q64);
      std::int64_t* next = at.data() + q * buckets;
      const std::uint32_t low = (std::uint32_t{1} << shift) - 1;
      std::uint64_t* k = keys.data();
      for (std::size_t r = block_lo(q); r < block_lo(q + 1); ++r) {
        const auto u = static_cast<std::uint32_t>(user[r]);
        const std::uint32_t tag = static_cast<std::uint32_t>(item[r]) | (shift > 0 ? (u & low) << item_bits : 0u);
        k[next[u >> shift]++] = (static_cast<std::uint64_t>(tag) << 32) | std::bit_cast<std::uint32_t>(weight[r]);
      }
    });
    // In parallel over buckets: the bucket's keys counted and grouped by user (a counting sort
    // through a per-thread scratch, the user bits dropped), which gives the users' offsets
    // start[u]; then per user: sort, and each run of one item -> (sum bits << 32 | item),
    // written over the run's first keys (a run is read before anything is written at or after
    // its start).
    std::vector<std::int64_t> start(users + 1);
    start[users] = static_cast<std::int64_t>(n);
    std::vector<std::int64_t> len(users);
    std::vector<std::uint8_t> bad(users);
    const int item_bytes = detail::item_key_bytes(log.num_items());
    const std::uint32_t item_mask = item_bits >= 32 ? 0xffffffffu : (std::uint32_t{1} << item_bits) - 1;
    parallel_options pu = po;
    pu.chunk = shift > 0 ? 1 : 64;
    struct scratch_t {
      std::vector<std::uint64_t> bucket, sort;
      std::vector<std::int64_t> next;
    };
    std::vector<scratch_t> scratch(static_cast<std::size_t>(max_threads(pu)));
    parallel_for(0, static_cast<std::int64_t>(buckets), pu, [&](std::int64_t b64, int tid) {
      const auto b = static_cast<std::size_t>(b64);
      const std::size_t u0 = first_user(b), u1 = first_user(b + 1);
      const std::int64_t lo = bucket_start[b], hi = bucket_start[b + 1];
      scratch_t& sc = scratch[static_cast<std::size_t>(tid)];
      if (shift > 0) {
        sc.next.assign(u1 - u0, 0);
        for (std::int64_t e = lo; e < hi; ++e)
          ++sc.next[static_cast<std::uint32_t>(keys[static_cast<std::size_t>(e)] >> 32) >> item_bits];
        std::int64_t sum = lo;
        for (std::size_t u = u0; u < u1; ++u) {
          start[u] = sum;
          const std::int64_t c = sc.next[u - u0];
          sc.next[u - u0] = sum - lo;
          sum += c;
        }
        sc.bucket.resize(static_cast<std::size_t>(hi - lo));
        for (std::int64_t e = lo; e < hi; ++e) {
          const std::uint64_t key = keys[static_cast<std::size_t>(e)];
          const auto tag = static_cast<std::uint32_t>(key >> 32);
          sc.bucket[static_cast<std::size_t>(sc.next[tag >> item_bits]++)] =
              (static_cast<std::uint64_t>(tag & item_mask) << 32) | static_cast<std::uint32_t>(key);
        }
        std::copy(sc.bucket.begin(), sc.bucket.end(), keys.begin() + lo);
      } else if (u0 < u1) {
        start[u0] = lo;  // a bucket is one user
      }
      for (std::size_t u = u0; u < u1; ++u) {
        std::uint64_t* const k = keys.data() + start[u];
        const auto m = static_cast<std::size_t>((u + 1 < u1 ? start[u + 1] : hi) - start[u]);
        if (!std::is_sorted(k, k + m)) detail::sort_item_keys(k, m, item_bytes, sc.sort);
        std::size_t out = 0;
        bool any_bad = false;
        for (std::size_t e = 0; e < m;) {
          const std::uint64_t it = k[e] >> 32;
          double acc = std::bit_cast<float>(static_cast<std::uint32_t>(k[e]));
          for (++e; e < m && (k[e] >> 32) == it; ++e)
            acc += static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(k[e])));
          const auto v = static_cast<float>(acc);
          any_bad = any_bad || !(std::isfinite(v) && v > 0.0f);
          k[out++] = (static_cast<std::uint64_t>(std::bit_cast<std::uint32_t>(v)) << 32) | it;
        }
        len[u] = static_cast<std::int64_t>(out);
        bad[u] = any_bad ? 1 : 0;
      }
    });
    for (std::size_t u = 0; u < users; ++u) {
      if (!bad[u]) continue;
      for (std::int64_t e = 0; e < len[u]; ++e) {
        const std::uint64_t key = keys[static_cast<std::size_t>(start[u] + e)];
        const float v = std::bit_cast<float>(static_cast<std::uint32_t>(key >> 32));
        RECSYS_REQUIRE(std::isfinite(v) && v > 0.0f, where, "the weights of an item's events sum to ", v,
                       " for a user; co-occurrence needs a finite sum > 0 (item ", static_cast<index_t>(key), ")");
      }
    }
    left.cols = log.num_items();
    left.ptr.resize(users + 1);
    left.ptr[0] = 0;
    for (std::size_t u = 0; u < users; ++u) left.ptr[u + 1] = left.ptr[u] + len[u];
    const auto nnz = static_cast<std::size_t>(left.ptr[users]);
    left.idx.resize(nnz);
    left.val.resize(nnz);
    history.cols = left.cols;
    history.ptr = left.ptr;
    history.idx.resize(nnz);
    history.val.resize(nnz);
    pu.chunk = 256;
    parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64) {
      const auto u = static_cast<std::size_t>(u64);
      const std::uint64_t* k = keys.data() + start[u];
      const auto to = static_cast<std::size_t>(left.ptr[u]);
      for (std::int64_t e = 0; e < len[u]; ++e) {
        const auto w = to + static_cast<std::size_t>(e);
        const auto it = static_cast<index_t>(static_cast<std::uint32_t>(k[e]));
        left.idx[w] = it;
        left.val[w] = std::bit_cast<float>(static_cast<std::uint32_t>(k[e] >> 32));
        history.idx[w] = it;
        history.val[w] = 1.0f;
      }
    });
  }

  // The positive entries of a user x item matrix as an incidence (the same rows as
  // incidence::push_row builds from them), and `history` with the same items, each of weight 1.
  // Two parallel passes over the rows: count and check, then copy to the row offsets.
  // @throws recsys::invalid_argument for the first negative or non-finite entry in row order.
  detail::incidence convert_rows(const csr_matrix& m, const char* where, detail::incidence& history) const {
    const auto rows = static_cast<std::size_t>(m.rows());
    const index_t* outer = m.outerIndexPtr();
    const index_t* nz = m.innerNonZeroPtr();  // null when compressed
    const index_t* inner = m.innerIndexPtr();
    const score_t* value = m.valuePtr();
    auto bounds = [&](std::size_t u) {
      const auto b = static_cast<std::size_t>(outer[u]);
      return std::pair<std::size_t, std::size_t>{b, nz ? b + static_cast<std::size_t>(nz[u]) : static_cast<std::size_t>(outer[u + 1])};
    };
    // a row that is not ascending (not in a valid compressed matrix) goes through push_row
    auto general_row = [&](std::size_t u) {
      detail::incidence one;
      one.cols = static_cast<index_t>(m.cols());
      std::vector<std::pair<index_t, float>> entries;
      const auto [b, e] = bounds(u);
      for (std::size_t q = b; q < e; ++q)
        if (value[q] > 0.0f) entries.emplace_back(inner[q], value[q]);
      one.push_row(entries);
      return one;
    };
    parallel_options po;
    po.num_threads = config_.num_threads;
    po.chunk = 512;
    enum : std::int8_t { ascending = 0, general = 1, bad = 2 };
    std::vector<std::int8_t> kind(rows, ascending);
    detail::incidence x;
    x.cols = static_cast<index_t>(m.cols());
    x.ptr.assign(rows + 1, 0);
    parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u64) {
      const auto u = static_cast<std::size_t>(u64);
      const auto [b, e] = bounds(u);
      std::int64_t n = 0;
      index_t last = -1;
      bool asc = true;
      for (std::size_t q = b; q < e; ++q) {
        const float v = value[q];
        if (!(std::isfinite(v) && v >= 0.0f)) {
          kind[u] = bad;
          return;
        }
        if (v > 0.0f) {
          asc = asc && inner[q] > last;
          last = inner[q];
          ++n;
        }
      }
      if (!asc) {
        kind[u] = general;
        n = static_cast<std::int64_t>(general_row(u).nnz());
      }
      x.ptr[u + 1] = n;
    });
    for (std::size_t u = 0; u < rows; ++u) {
      if (kind[u] == bad)  // the first bad entry, with the message of the serial check
        for (csr_matrix::InnerIterator it(m, static_cast<Eigen::Index>(u)); it; ++it)
          RECSYS_REQUIRE(std::isfinite(it.value()) && it.value() >= 0.0f, where, "entry (", u, ", ", it.col(),
                         ") is ", it.value(), "; co-occurrence needs finite values >= 0");
      x.ptr[u + 1] += x.ptr[u];
    }
    const auto nnz = static_cast<std::size_t>(x.ptr.back());
    x.idx.resize(nnz);
    x.val.resize(nnz);
    history.cols = x.cols;
    history.ptr = x.ptr;
    history.idx.resize(nnz);
    history.val.resize(nnz);
    parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u64) {
      const auto u = static_cast<std::size_t>(u64);
      auto w = static_cast<std::size_t>(x.ptr[u]);
      if (kind[u] == general) {
        const detail::incidence one = general_row(u);
        std::copy(one.idx.begin(), one.idx.end(), x.idx.begin() + static_cast<std::ptrdiff_t>(w));
        std::copy(one.val.begin(), one.val.end(), x.val.begin() + static_cast<std::ptrdiff_t>(w));
        std::copy(one.idx.begin(), one.idx.end(), history.idx.begin() + static_cast<std::ptrdiff_t>(w));
        std::fill_n(history.val.begin() + static_cast<std::ptrdiff_t>(w), one.nnz(), 1.0f);
        return;
      }
      const auto [b, e] = bounds(u);
      for (std::size_t q = b; q < e; ++q)
        if (value[q] > 0.0f) {
          x.idx[w] = inner[q];
          x.val[w] = value[q];  // = float(0.0 + double(v)), as push_row copies an ascending row
          history.idx[w] = inner[q];
          history.val[w] = 1.0f;
          ++w;
        }
    });
    return x;
  }

  // Column view of an incidence: row j = the rows holding column j (ascending), with values.
  static detail::incidence transpose_incidence(const detail::incidence& x, index_t rows) {
    detail::incidence t;
    t.cols = rows;
    const auto cols = static_cast<std::size_t>(x.cols);
    t.ptr.assign(cols + 1, 0);
    for (index_t j : x.idx) ++t.ptr[static_cast<std::size_t>(j) + 1];
    for (std::size_t j = 0; j < cols; ++j) t.ptr[j + 1] += t.ptr[j];
    t.idx.resize(x.idx.size());
    t.val.resize(x.val.size());
    std::vector<std::int64_t> next(t.ptr.begin(), t.ptr.end() - 1);
    for (std::size_t r = 0; r < x.rows(); ++r)
      for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
        const auto j = static_cast<std::size_t>(x.idx[static_cast<std::size_t>(e)]);
        const auto at = static_cast<std::size_t>(next[j]++);
        t.idx[at] = static_cast<index_t>(r);
        t.val[at] = x.val[static_cast<std::size_t>(e)];
      }
    return t;
  }

  static void save_incidence(model_writer& out, const std::string& name, const detail::incidence& x) {
    auto add = [&](const std::string& array, const auto& v) {
      const std::int64_t shape[1] = {static_cast<std::int64_t>(v.size())};
      out.add_array(array, v.data(), shape);
    };
    add(name + "_indptr", x.ptr);
    add(name + "_indices", x.idx);
    add(name + "_data", x.val);
  }

  // Reads an incidence with `cols` columns whose row count is one of `rows`; checks structure.
  static detail::incidence load_incidence(const model_reader& in, const std::string& name, index_t cols,
                                          std::initializer_list<std::int64_t> rows) {
    detail::incidence x;
    x.cols = cols;
    auto take = [](auto& to, const auto& from) { to.assign(from.begin(), from.end()); };
    take(x.ptr, in.vector<std::int64_t>(name + "_indptr"));
    take(x.idx, in.vector<index_t>(name + "_indices"));
    take(x.val, in.vector<float>(name + "_data", static_cast<std::int64_t>(x.idx.size())));
    const std::string file = in.array_file(name + "_indptr");
    model_reader::check(!x.ptr.empty() && x.ptr.front() == 0 && x.ptr.back() == static_cast<std::int64_t>(x.idx.size()),
                        file, "'" + name + "' offsets do not describe its indices");
    const auto n = static_cast<std::int64_t>(x.ptr.size()) - 1;
    model_reader::check(std::find(rows.begin(), rows.end(), n) != rows.end(), file,
                        detail::str("'", name, "' has ", n, " rows, the model has ", *(rows.end() - 1), " users"));
    for (std::size_t r = 0; r + 1 < x.ptr.size(); ++r) {
      model_reader::check(x.ptr[r] <= x.ptr[r + 1], file, "'" + name + "' offsets decrease");
      for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
        const auto at = static_cast<std::size_t>(e);
        model_reader::check(x.idx[at] >= 0 && x.idx[at] < cols && (e == x.ptr[r] || x.idx[at - 1] < x.idx[at]),
                            in.array_file(name + "_indices"),
                            detail::str("'", name, "' row ", r, ": item indices out of range or not ascending"));
        model_reader::check(std::isfinite(x.val[at]), in.array_file(name + "_data"),
                            detail::str("'", name, "' row ", r, ": a value is not finite"));
      }
    }
    return x;
  }

  void require_no_log_settings(const char* where, bool has_timestamps) const {
    RECSYS_REQUIRE(
        config_.event_types.empty() && config_.cross_event_types.empty() && config_.exclude_event_types.empty(), where,
        "event_types / cross_event_types / exclude_event_types need an interaction_log");
    RECSYS_REQUIRE(config_.recency_half_life == 0.0, where, "recency_half_life needs an interaction_log (got ",
                   config_.recency_half_life, ")");
    RECSYS_REQUIRE(has_timestamps || (config_.time_window == 0 && !config_.forward_only), where,
                   "time_window / forward_only need timestamps: fit an interaction_log or session_data");
  }

  static void require_rows_fit(const char* where, std::size_t rows) {
    RECSYS_REQUIRE(rows < static_cast<std::size_t>(std::numeric_limits<index_t>::max()), where,
                   "more than 2^31-1 transactions (", rows, ")");
  }

  void require_query(const char* where, index_t k) const {
    RECSYS_REQUIRE(k >= 0, where, "k must be >= 0 (got ", k, ")");
    RECSYS_REQUIRE(fitted_, where, "the model is not fitted yet (call fit first)");
  }

  [[nodiscard]] bool in_catalogue(index_t i) const noexcept { return i >= 0 && i < state_.num_items; }

  std::span<const index_t> bought_items(index_t user) const noexcept {
    if (!state_.has_bought_types) return seen_items(user);
    if (user < 0 || static_cast<std::size_t>(user) >= state_.bought.rows()) return {};
    return state_.bought.row(static_cast<std::size_t>(user));
  }

  std::vector<char> allowed_mask(const recommend_options& opts) const {
    const auto n = static_cast<std::size_t>(num_items());
    std::vector<char> allowed(n, opts.include.empty() ? 1 : 0);
    for (index_t i : opts.include)
      if (in_catalogue(i)) allowed[static_cast<std::size_t>(i)] = 1;
    for (index_t i : opts.exclude)
      if (in_catalogue(i)) allowed[static_cast<std::size_t>(i)] = 0;
    return allowed;
  }

  topk_result popular_among(index_t k, const std::vector<char>& allowed) const {
    topk_result out;
    if (k == 0) return out;
    out.reserve(static_cast<std::size_t>(std::min<index_t>(k, num_items())));
    for (index_t i : popular_) {
      if (!allowed[static_cast<std::size_t>(i)]) continue;
      out.push_back(i, popularity_[static_cast<std::size_t>(i)]);
      if (static_cast<index_t>(out.size()) == k) break;
    }
    return out;
  }

  topk_result neighbours_of(index_t item, index_t k, const std::vector<char>& allowed) const {
    detail::topk_heap heap(std::min(k, num_items()));  // (allocated whole: never more than exist)
    bool any = false;
    if (in_catalogue(item)) {
      for (csr_matrix::InnerIterator it(neighbours_, item); it; ++it) {
        const auto j = static_cast<index_t>(it.col());
        if (!allowed[static_cast<std::size_t>(j)]) continue;
        any = true;
        heap.push(it.value(), j);
      }
    }
    if (!any) return popular_among(k, allowed);
    topk_result out;
    heap.drain_into(out);
    return out;
  }

  void accumulate(std::span<const index_t> items, std::span<const score_t> weights,
                  detail::sparse_accumulator<double>& acc) const {
    for (std::size_t h = 0; h < items.size(); ++h) {
      const index_t i = items[h];
      if (!in_catalogue(i)) continue;
      const double w = weights.empty() ? 1.0 : static_cast<double>(weights[h]);
      for (csr_matrix::InnerIterator it(neighbours_, i); it; ++it)
        acc.add(static_cast<index_t>(it.col()), w * static_cast<double>(it.value()));
    }
  }

  topk_result from_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
                           const std::vector<char>& allowed) const {
    detail::sparse_accumulator<double> acc(num_items());
    accumulate(items, weights, acc);
    detail::topk_heap heap(std::min(k, num_items()));  // (allocated whole: never more than exist)
    bool any = false;
    for (index_t j : acc.touched()) {
      if (!allowed[static_cast<std::size_t>(j)]) continue;
      any = true;
      heap.push(static_cast<score_t>(acc.value(j)), j);
    }
    if (!any) return popular_among(k, allowed);
    topk_result out;
    heap.drain_into(out);
    return out;
  }

  /// Per-thread buffers of mine()'s top-K selection.
  struct row_selection {
    std::vector<std::uint64_t> key;  ///< per touched pair: rank_key, 0 = cannot be kept
    std::vector<std::uint64_t> best;  ///< candidates, cut back to the best K when full
    std::vector<index_t> negative_zero;  ///< the row's pairs scored -0.0 (a key holds +0.0)
  };

  /// (score, id) as one integer whose order is ranks_before's for scores that are not NaN
  /// (larger key = ranks first): the score's bits mapped to an ascending unsigned order in the
  /// high half (-0.0 as +0.0: they tie), ~id in the low half. Never 0.
  [[nodiscard]] static std::uint64_t rank_key(score_t score, index_t id) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(score == 0.0f ? 0.0f : score);
    const std::uint32_t ord = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return (static_cast<std::uint64_t>(ord) << 32) | static_cast<std::uint32_t>(~static_cast<std::uint32_t>(id));
  }
  [[nodiscard]] static index_t key_id(std::uint64_t key) noexcept {
    return static_cast<index_t>(~static_cast<std::uint32_t>(key));
  }
  [[nodiscard]] static score_t key_score(std::uint64_t key) noexcept {
    const auto ord = static_cast<std::uint32_t>(key >> 32);
    return std::bit_cast<score_t>((ord & 0x80000000u) ? (ord ^ 0x80000000u) : ~ord);
  }

  /// Scores one pair from its counts: c = count, w = weighted sum, ni/nj = left/right marginals.
  struct pair_scorer {
    item_similarity sim;
    double n;  // N
    double discount;
    const std::int64_t* ni_counts;
    const std::int64_t* nj_counts;
    const double* ni_norms;  ///< cosine: 1 / column norm (0 when the norm is 0)
    const double* nj_norms;

    template <item_similarity S>
    [[nodiscard]] double score(index_t i, index_t j, double c, double w) const {
      const double ni = static_cast<double>(ni_counts[i]);
      const double nj = static_cast<double>(nj_counts[j]);
      if constexpr (S == item_similarity::count) {
        return c;
      } else if constexpr (S == item_similarity::jaccard) {
        return c / (ni + nj - c);
      } else if constexpr (S == item_similarity::cosine) {
        return w * ni_norms[i] * nj_norms[j];  // inverse norms (0 for a zero column)
      } else if constexpr (S == item_similarity::lift) {
        return c * n / (ni * nj);
      } else if constexpr (S == item_similarity::pmi) {
        return std::log((c / ni) * (n / nj));
      } else if constexpr (S == item_similarity::npmi) {
        if (c >= n) return 1.0;
        return std::log((c / ni) * (n / nj)) / -std::log(c / n);
      } else if constexpr (S == item_similarity::llr) {
        const auto k11 = static_cast<std::int64_t>(c);
        const std::int64_t k12 = ni_counts[i] - k11;
        const std::int64_t k21 = nj_counts[j] - k11;
        // in timed mode a pair may share transactions outside the window, so the table can
        // overflow N: the "neither" cell is then empty (see docs)
        const std::int64_t k22 =
            std::max<std::int64_t>(0, static_cast<std::int64_t>(n) - ni_counts[i] - nj_counts[j] + k11);
        const double g2 = log_likelihood_ratio(k11, k12, k21, k22);
        const bool above =
            static_cast<double>(k11) * static_cast<double>(k22) >= static_cast<double>(k12) * static_cast<double>(k21);
        return above ? g2 : -g2;
      } else if constexpr (S == item_similarity::confidence) {
        return c / ni;
      } else if constexpr (S == item_similarity::sims) {
        return c / std::pow(nj, discount);
      } else {  // bm25, tfidf: dot products of weighted vectors (tfidf columns are unit norm)
        return w;
      }
    }
  };

  // t0: when the fit started (stats().seconds is the wall time of the whole fit, conversion included)
  void mine(detail::incidence left, detail::incidence right, bool cross, detail::timed_events events, bool timed,
            fitted_state& st, const job_control& job, std::chrono::steady_clock::time_point t0) {
    const item_to_item_config& c = config_;
    job.cancel.throw_if_cancelled();
    const index_t items = st.num_items;
    RECSYS_REQUIRE(left.nnz() > 0 || right.nnz() > 0, "item_to_item::fit", "the input holds no item");

    // popularity: transactions holding the item (neighbour side), before pruning; when the
    // settings cannot prune anything, the counts come from the transpose below instead
    const bool prune_noop = c.min_row_length_percentile == 0.0 && c.max_row_length_percentile == 1.0 &&
                            c.min_item_count_percentile == 0.0 && c.max_item_count_percentile == 1.0 &&
                            c.max_row_length == 0;
    std::vector<std::int64_t> counts_before;
    if (!prune_noop) counts_before = (cross ? right : left).column_counts();

    // pruning
    detail::prune_options po;
    po.min_row_percentile = c.min_row_length_percentile;
    po.max_row_percentile = c.max_row_length_percentile;
    po.min_item_percentile = c.min_item_count_percentile;
    po.max_item_percentile = c.max_item_count_percentile;
    po.max_row_length = c.max_row_length;
    po.seed = c.seed;
    const detail::prune_report pr = detail::prune(left, cross ? &right : nullptr, timed ? &events : nullptr, po);
    job.cancel.throw_if_cancelled();

    // weights and marginals
    const detail::value_weighting vw = c.similarity == item_similarity::bm25    ? detail::value_weighting::bm25
                                       : c.similarity == item_similarity::tfidf ? detail::value_weighting::tfidf
                                                                                : detail::value_weighting::raw;
    parallel_options par;
    par.num_threads = c.num_threads;
    detail::apply_weighting(left, vw, c.bm25_k1, c.bm25_b, par);
    if (cross) detail::apply_weighting(right, vw, c.bm25_k1, c.bm25_b, par);
    const detail::incidence& rside = cross ? right : left;
    // the item marginals from the transposes (one parallel pass each): counts = row lengths of
    // the transpose, norms summed in ascending transaction order as column_norms() sums them
    detail::incidence left_t = detail::transpose(left, par);
    detail::incidence right_t;
    if (cross) right_t = detail::transpose(right, par);
    auto lengths = [&](const detail::incidence& t) {
      std::vector<std::int64_t> n(t.rows());
      for (std::size_t j = 0; j < n.size(); ++j) n[j] = static_cast<std::int64_t>(t.length(j));
      return n;
    };
    const std::vector<std::int64_t> n_left = lengths(left_t);
    const std::vector<std::int64_t> n_right = cross ? lengths(right_t) : n_left;
    std::vector<double> norm_left, norm_right;
    if (c.similarity == item_similarity::cosine) {
      norm_left = detail::inverse_column_norms(left_t, par);
      norm_right = cross ? detail::inverse_column_norms(right_t, par) : norm_left;
    }
    right_t = {};
    RECSYS_ASSERT(!prune_noop || (pr.rows_short == 0 && pr.rows_long == 0 && pr.items_rare == 0 &&
                                  pr.items_popular == 0 && pr.rows_capped == 0));
    std::vector<score_t> popularity(static_cast<std::size_t>(items), 0.0f);
    {
      const std::vector<std::int64_t>& n = prune_noop ? n_right : counts_before;
      for (std::size_t j = 0; j < n.size(); ++j) popularity[j] = static_cast<score_t>(n[j]);
    }
    std::vector<index_t> popular(static_cast<std::size_t>(items));
    std::iota(popular.begin(), popular.end(), 0);
    std::stable_sort(popular.begin(), popular.end(), [&](index_t a, index_t b) {
      return popularity[static_cast<std::size_t>(a)] > popularity[static_cast<std::size_t>(b)];
    });

    // exact speed-up: an item in fewer than min_cooccurrence transactions has no qualifying pair
    if (c.min_cooccurrence > 1) {
      std::vector<char> drop_l(static_cast<std::size_t>(items), 0), drop_r(static_cast<std::size_t>(items), 0);
      bool any = false;
      for (std::size_t j = 0; j < drop_l.size(); ++j) {
        drop_l[j] = n_left[j] > 0 && n_left[j] < c.min_cooccurrence;
        drop_r[j] = n_right[j] > 0 && n_right[j] < c.min_cooccurrence;
        any = any || drop_l[j] || drop_r[j];
      }
      if (any) {
        if (cross) {
          detail::drop_items(left, drop_l);
          detail::drop_items(right, drop_r);
        } else {
          detail::drop_items(left, drop_l);
        }
        if (!timed) {
          // the transpose of the dropped-from left: the same rows, minus those of the dropped
          // items (exactly the entries removed), compacted in place
          std::size_t w = 0;
          std::int64_t start = 0;
          for (std::size_t j = 0; j < drop_l.size(); ++j) {
            const std::int64_t end = left_t.ptr[j + 1];
            if (!drop_l[j])
              for (std::int64_t e = start; e < end; ++e, ++w) {
                left_t.idx[w] = left_t.idx[static_cast<std::size_t>(e)];
                left_t.val[w] = left_t.val[static_cast<std::size_t>(e)];
              }
            start = end;
            left_t.ptr[j + 1] = static_cast<std::int64_t>(w);
          }
          left_t.idx.resize(w);
          left_t.val.resize(w);
        }
        if (timed)
          for (std::size_t e = 0; e < events.size(); ++e) {
            const auto j = static_cast<std::size_t>(events.item[e]);
            if (drop_l[j]) events.side[e] &= static_cast<std::uint8_t>(~1u);
            if (drop_r[j]) events.side[e] &= static_cast<std::uint8_t>(~2u);
          }
      }
    }

    detail::incidence postings;
    detail::product_input in;
    in.self = !cross;
    in.left_items = items;
    in.right_items = items;
    if (timed) {
      detail::attach_values(events, left, rside);
      postings = detail::left_postings(events, items);
      in.events = &events;
      in.postings = &postings;
      in.window = static_cast<std::uint64_t>(c.time_window);
      in.forward_only = c.forward_only;
      left_t = {};
    } else {
      in.left_t = &left_t;
      in.right = &rside;
    }

    // the product, each row cut to its top-K: every touched pair is scored into a per-thread
    // buffer (clearing its accumulator slot on the way), then a selection keeps the best K
    // (ranks_before: score descending, ties by ascending id), written in ascending id order
    const auto kk = static_cast<std::size_t>(c.neighbours);
    const std::size_t slots = kk * static_cast<std::size_t>(items);
    // (not zero-filled: each row writes its own entries, on the thread that computed it)
    detail::buffer<index_t> nb_ids(slots);
    detail::buffer<score_t> nb_scores(slots);
    std::vector<std::int32_t> nb_len(static_cast<std::size_t>(items), 0);
    const pair_scorer scorer{c.similarity,
                             static_cast<double>(pr.rows_kept),
                             c.popularity_discount,
                             n_left.data(),
                             n_right.data(),
                             norm_left.empty() ? nullptr : norm_left.data(),
                             norm_right.empty() ? nullptr : norm_right.data()};
    par.chunk = 4;
    // candidates buffered before a cut back to the best K
    // (a row has at most `items` candidates: a larger buffer never fills)
    const std::size_t cap = std::min(kk + std::max<std::size_t>(kk, 32), static_cast<std::size_t>(items) + 1);
    std::vector<row_selection> selections(static_cast<std::size_t>(max_threads(par)));
    const std::int64_t min_count = c.min_cooccurrence;
    const double min_score = c.min_score;
    const bool self = !cross;
    auto on_row = [&](const auto& row, int tid) -> bool {
      row_selection& sel = selections[static_cast<std::size_t>(tid)];
      const std::size_t nt = row.touched.size();
      if (sel.key.size() < nt) sel.key.resize(std::max<std::size_t>(nt, static_cast<std::size_t>(items)));
      if (sel.best.size() < cap) sel.best.resize(cap);
      std::uint64_t* const key = sel.key.data();
      sel.negative_zero.clear();
      // pass 1: the rank key of every touched pair, 0 for a pair that cannot be kept (a kept
      // score is never NaN: it passed s >= min_score)
      auto run = [&]<item_similarity S>() {
        for (std::size_t t = 0; t < nt; ++t) {
          const index_t j = row.touched[t];
          const std::int32_t cnt = row.count(j);
          const double w = row.sum(j);
          row.clear(j);
          if (cnt < min_count || (self && j == row.item)) {
            key[t] = 0;
            continue;
          }
          const double sv = scorer.template score<S>(row.item, j, static_cast<double>(cnt), w);
          const auto sf = static_cast<score_t>(sv);
          key[t] = sv >= min_score ? rank_key(sf, j) : 0;
          if (sf == 0.0f && std::signbit(sf)) [[unlikely]]
            sel.negative_zero.push_back(j);
        }
      };
      switch (c.similarity) {
        case item_similarity::count:
          run.template operator()<item_similarity::count>();
          break;
        case item_similarity::jaccard:
          run.template operator()<item_similarity::jaccard>();
          break;
        case item_similarity::cosine:
          run.template operator()<item_similarity::cosine>();
          break;
        case item_similarity::lift:
          run.template operator()<item_similarity::lift>();
          break;
        case item_similarity::pmi:
          run.template operator()<item_similarity::pmi>();
          break;
        case item_similarity::npmi:
          run.template operator()<item_similarity::npmi>();
          break;
        case item_similarity::llr:
          run.template operator()<item_similarity::llr>();
          break;
        case item_similarity::confidence:
          run.template operator()<item_similarity::confidence>();
          break;
        case item_similarity::sims:
          run.template operator()<item_similarity::sims>();
          break;
        case item_similarity::bm25:
          run.template operator()<item_similarity::bm25>();
          break;
        case item_similarity::tfidf:
          run.template operator()<item_similarity::tfidf>();
          break;
      }
      // pass 2: the best K, by a buffer cut back to its best K (nth_element) whenever it fills;
      // a candidate enters only if it ranks before the K-th best of the last cut
      std::uint64_t* const best = sel.best.data();
      std::size_t nb = 0;
      std::uint64_t worst = 0;  // before the first cut: any pair that can be kept
      for (std::size_t t = 0; t < nt; ++t) {
        best[nb] = key[t];
        nb += static_cast<std::size_t>(key[t] > worst);
        if (nb == cap) {
          std::nth_element(best, best + (kk - 1), best + nb, std::greater<>());
          nb = kk;
          worst = best[kk - 1];
        }
      }
      if (nb > kk) {
        std::nth_element(best, best + (kk - 1), best + nb, std::greater<>());
        nb = kk;
      }
      std::sort(best, best + nb, [](std::uint64_t a, std::uint64_t b) {
        return static_cast<std::uint32_t>(a) > static_cast<std::uint32_t>(b);  // ascending id
      });
      const std::size_t base = static_cast<std::size_t>(row.item) * kk;
      for (std::size_t t = 0; t < nb; ++t) {
        const index_t j = key_id(best[t]);
        score_t sv = key_score(best[t]);
        if (sv == 0.0f && !sel.negative_zero.empty() &&
            std::find(sel.negative_zero.begin(), sel.negative_zero.end(), j) != sel.negative_zero.end()) [[unlikely]]
          sv = -0.0f;
        nb_ids[base + t] = j;
        nb_scores[base + t] = sv;
      }
      nb_len[static_cast<std::size_t>(row.item)] = static_cast<std::int32_t>(nb);
      return true;
    };
    progress_reporter progress(job, "item_to_item: neighbours", items);
    const bool weighted = uses_values(c.similarity);
    std::int64_t visits = 0;
    // pair counts are not needed when the minimum is 1 (cosine, bm25, tfidf use the sums only)
    if (weighted && timed)
      visits = detail::cooccurrence_rows<true, true>(in, par, &progress, on_row);
    else if (weighted && min_count <= 1 && detail::sum_only_safe(left, rside))
      visits = detail::cooccurrence_rows<true, false, true>(in, par, &progress, on_row);
    else if (weighted)
      visits = detail::cooccurrence_rows<true, false>(in, par, &progress, on_row);
    else if (timed)
      visits = detail::cooccurrence_rows<false, true>(in, par, &progress, on_row);
    else
      visits = detail::cooccurrence_rows<false, false>(in, par, &progress, on_row);
    progress.finish();

    // compact into CSR (rows are already in ascending column order), rows copied in parallel
    std::int64_t nnz = 0;
    std::int64_t items_with = 0;
    for (std::int32_t l : nb_len) {
      nnz += l;
      items_with += l > 0 ? 1 : 0;
    }
    RECSYS_REQUIRE(nnz < std::numeric_limits<index_t>::max(), "item_to_item::fit",
                   "more than 2^31-1 neighbour entries (", nnz, "); lower neighbours");
    csr_matrix nb(items, items);
    nb.resizeNonZeros(static_cast<Eigen::Index>(nnz));
    index_t* outer = nb.outerIndexPtr();
    index_t* inner = nb.innerIndexPtr();
    score_t* values = nb.valuePtr();
    outer[0] = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(items); ++i) outer[i + 1] = outer[i] + nb_len[i];
    par.chunk = 256;
    parallel_for(0, static_cast<std::int64_t>(items), par, [&](std::int64_t i64) {
      const auto i = static_cast<std::size_t>(i64);
      const auto o = static_cast<std::size_t>(outer[i]);
      const auto len = static_cast<std::size_t>(nb_len[i]);
      std::copy_n(&nb_ids[i * kk], len, inner + o);
      std::copy_n(&nb_scores[i * kk], len, values + o);
    });

    item_to_item_stats stats;
    stats.transactions = pr.rows_nonempty;
    stats.transactions_mined = pr.rows_kept;
    stats.transactions_short = pr.rows_short;
    stats.transactions_long = pr.rows_long;
    stats.transactions_capped = pr.rows_capped;
    stats.row_length_low = pr.row_length_low;
    stats.row_length_high = pr.row_length_high;
    stats.items_active = pr.items_active;
    stats.items_mined = pr.items_kept;
    stats.items_rare = pr.items_rare;
    stats.items_popular = pr.items_popular;
    stats.item_count_low = pr.item_count_low;
    stats.item_count_high = pr.item_count_high;
    stats.pair_visits = visits;
    stats.items_with_neighbours = items_with;
    stats.neighbour_entries = nnz;
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // commit (nothing above touched the model)
    neighbours_ = std::move(nb);
    popularity_ = std::move(popularity);
    popular_ = std::move(popular);
    state_ = std::move(st);
    stats_ = stats;
    fitted_ = true;
  }

  item_to_item_config config_;
  bool fitted_ = false;
  fitted_state state_;
  csr_matrix neighbours_;
  std::vector<score_t> popularity_;
  std::vector<index_t> popular_;
  item_to_item_stats stats_;
};

// ---------------------------------------------------------------------------------------------
// Association rules

/// One pair rule antecedent -> consequent ("whoever buys A also buys B").
struct association_rule {
  index_t antecedent = invalid_index;
  index_t consequent = invalid_index;
  std::int64_t count = 0;  ///< transactions holding both
  double support = 0;      ///< count / N
  double confidence = 0;   ///< count / (transactions holding the antecedent) = P(B | A)
  double lift = 0;         ///< confidence / P(B) = count N / (n_A n_B)
  friend bool operator==(const association_rule&, const association_rule&) = default;
};

/// Which measure ranks rules first ("strongest first").
enum class rule_order {
  lift,        ///< lift, then confidence, then count
  confidence,  ///< confidence, then lift, then count
  support,     ///< support, then confidence, then lift
};

/// Thresholds of association_rules(); a rule is kept when it meets all of them.
struct rule_options {
  double min_support = 0.001;   ///< in [0, 1]
  double min_confidence = 0.0;  ///< in [0, 1]
  double min_lift = 1.0;        ///< >= 0 (1: only positively associated pairs)
  std::int64_t min_count = 1;   ///< >= 1
  std::size_t max_rules = 0;    ///< keep the strongest this many (0: all)
  rule_order order = rule_order::lift;
  int num_threads = 0;  ///< 0: default

  void validate() const {
    constexpr const char* where = "rule_options";
    RECSYS_REQUIRE(min_support >= 0.0 && min_support <= 1.0, where, "min_support must be in [0, 1] (got ", min_support,
                   ")");
    RECSYS_REQUIRE(min_confidence >= 0.0 && min_confidence <= 1.0, where, "min_confidence must be in [0, 1] (got ",
                   min_confidence, ")");
    RECSYS_REQUIRE(std::isfinite(min_lift) && min_lift >= 0.0, where, "min_lift must be finite and >= 0 (got ",
                   min_lift, ")");
    RECSYS_REQUIRE(min_count >= 1, where, "min_count must be >= 1 (got ", min_count, ")");
    RECSYS_REQUIRE(num_threads >= 0, where, "num_threads must be >= 0 (got ", num_threads, ")");
  }
};

namespace detail {
/// Pair rules of a 0/1 transactions x items incidence (N = non-empty transactions).
inline std::vector<association_rule> mine_rules(incidence x, const rule_options& o, const job_control& job) {
  o.validate();
  job.cancel.throw_if_cancelled();
  for (float& v : x.val) v = 1.0f;
  std::int64_t n = 0;
  for (std::size_t r = 0; r < x.rows(); ++r) n += x.length(r) > 0 ? 1 : 0;
  if (n == 0) return {};
  const double nd = static_cast<double>(n);
  // exact pre-filter: count >= min_support N implies count >= floor(min_support N)
  const std::int64_t threshold = std::max(o.min_count, static_cast<std::int64_t>(std::floor(o.min_support * nd)));
  const std::vector<std::int64_t> n_item = x.column_counts();  // before the apriori pruning
  prune_options po;
  po.min_item_rows = threshold;  // an item rarer than the threshold is in no kept pair
  prune(x, nullptr, nullptr, po);
  const incidence xt = transpose(x);
  product_input in;
  in.left_t = &xt;
  in.right = &x;
  in.self = true;
  in.left_items = x.cols;
  in.right_items = x.cols;
  std::vector<std::vector<association_rule>> per_item(static_cast<std::size_t>(x.cols));
  parallel_options par;
  par.num_threads = o.num_threads;
  par.chunk = 4;
  progress_reporter progress(job, "association_rules: pairs", x.cols);
  cooccurrence_rows<false, false>(in, par, &progress, [&](const product_row<count_slot>& row, int) {
    auto& out = per_item[static_cast<std::size_t>(row.item)];
    const double na = static_cast<double>(n_item[static_cast<std::size_t>(row.item)]);
    for (index_t j : row.touched) {
      const std::int32_t c = row.count(j);
      if (j == row.item || c < threshold) continue;
      association_rule r;
      r.antecedent = row.item;
      r.consequent = j;
      r.count = c;
      r.support = static_cast<double>(c) / nd;
      r.confidence = static_cast<double>(c) / na;
      r.lift = static_cast<double>(c) * nd / (na * static_cast<double>(n_item[static_cast<std::size_t>(j)]));
      if (r.support >= o.min_support && r.confidence >= o.min_confidence && r.lift >= o.min_lift) out.push_back(r);
    }
  });
  progress.finish();
  std::vector<association_rule> rules;
  for (const auto& v : per_item) rules.insert(rules.end(), v.begin(), v.end());
  auto key = [&](const association_rule& r) {
    switch (o.order) {
      case rule_order::confidence:
        return std::array<double, 3>{r.confidence, r.lift, static_cast<double>(r.count)};
      case rule_order::support:
        return std::array<double, 3>{r.support, r.confidence, r.lift};
      case rule_order::lift:
        break;
    }
    return std::array<double, 3>{r.lift, r.confidence, static_cast<double>(r.count)};
  };
  std::sort(rules.begin(), rules.end(), [&](const association_rule& a, const association_rule& b) {
    const auto ka = key(a), kb = key(b);
    if (ka != kb) return ka > kb;
    if (a.antecedent != b.antecedent) return a.antecedent < b.antecedent;
    return a.consequent < b.consequent;
  });
  if (o.max_rules > 0 && rules.size() > o.max_rules) rules.resize(o.max_rules);
  return rules;
}

inline bool csv_needs_quotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

inline void write_csv_field(std::ostream& os, std::string_view s) {
  if (!csv_needs_quotes(s)) {
    os << s;
    return;
  }
  os << '"';
  for (char ch : s) {
    if (ch == '"') os << '"';
    os << ch;
  }
  os << '"';
}
}  // namespace detail

/// Pair association rules of baskets: every antecedent -> consequent with support, confidence
/// and lift at or above the thresholds, strongest first (options.order; ties by ascending
/// antecedent, then consequent). N = non-empty baskets.
/// @throws recsys::invalid_argument for bad options or an item index out of range.
/// @throws recsys::cancelled if job.cancel is set.
[[nodiscard]] inline std::vector<association_rule> association_rules(const basket_data& baskets,
                                                                     const rule_options& options = {},
                                                                     const job_control& job = {}) {
  detail::incidence x;
  x.cols = baskets.num_items();
  std::vector<std::pair<index_t, float>> row;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    row.clear();
    for (index_t i : baskets.basket(b)) {
      RECSYS_REQUIRE(i >= 0 && i < x.cols, "association_rules", "basket ", b, ": item index ", i, " out of range");
      row.emplace_back(i, 1.0f);
    }
    x.push_row(row);
  }
  return detail::mine_rules(std::move(x), options, job);
}

/// Pair association rules of sessions (transactions = sessions; repeats count once).
[[nodiscard]] inline std::vector<association_rule> association_rules(const session_data& sessions,
                                                                     const rule_options& options = {},
                                                                     const job_control& job = {}) {
  detail::incidence x;
  x.cols = sessions.num_items;
  std::vector<std::pair<index_t, float>> row;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    row.clear();
    for (index_t i : sessions.session(s)) {
      RECSYS_REQUIRE(i >= 0 && i < x.cols, "association_rules", "session ", s, ": item index ", i, " out of range");
      row.emplace_back(i, 1.0f);
    }
    x.push_row(row);
  }
  return detail::mine_rules(std::move(x), options, job);
}

/// Pair association rules of a transactions x items matrix (an entry > 0 means "holds").
/// @throws recsys::invalid_argument for a negative or non-finite entry, or bad options.
[[nodiscard]] inline std::vector<association_rule> association_rules(const csr_matrix& transactions,
                                                                     const rule_options& options = {},
                                                                     const job_control& job = {}) {
  detail::incidence x;
  x.cols = static_cast<index_t>(transactions.cols());
  std::vector<std::pair<index_t, float>> row;
  for (Eigen::Index r = 0; r < transactions.rows(); ++r) {
    row.clear();
    for (csr_matrix::InnerIterator it(transactions, r); it; ++it) {
      RECSYS_REQUIRE(std::isfinite(it.value()) && it.value() >= 0.0f, "association_rules", "entry (", r, ", ", it.col(),
                     ") is ", it.value());
      if (it.value() > 0.0f) row.emplace_back(static_cast<index_t>(it.col()), 1.0f);
    }
    x.push_row(row);
  }
  return detail::mine_rules(std::move(x), options, job);
}

/// Writes rules as CSV: header `antecedent,consequent,support,confidence,lift,count`, one rule
/// per line in the given order, item names from `items` (RFC 4180 quoting when a name holds a
/// comma, a quote, a line break, or leading/trailing blanks), numbers with 9 significant digits.
/// @throws recsys::invalid_argument if a rule's item is not in `items`.
inline void write_rules_csv(std::ostream& os, std::span<const association_rule> rules,
                            const id_map<std::string>& items) {
  const auto precision = os.precision(9);
  os << "antecedent,consequent,support,confidence,lift,count\n";
  for (const association_rule& r : rules) {
    detail::write_csv_field(os, items.id(r.antecedent));
    os << ',';
    detail::write_csv_field(os, items.id(r.consequent));
    os << ',' << r.support << ',' << r.confidence << ',' << r.lift << ',' << r.count << '\n';
  }
  os.precision(precision);
}

/// write_rules_csv to a file.
/// @throws recsys::io_error if the file cannot be written.
inline void write_rules_csv(const std::string& path, std::span<const association_rule> rules,
                            const id_map<std::string>& items) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw io_error(path, "cannot open for writing");
  write_rules_csv(f, rules, items);
  f.flush();
  if (!f) throw io_error(path, "write failed");
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_HPP
