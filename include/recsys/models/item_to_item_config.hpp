// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_CONFIG_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_CONFIG_HPP

/// @file
/// The settings of item-to-item mining (recsys::item_to_item, models/item_to_item.hpp): the pair
/// scores (item_similarity), item_to_item_config with its validation, the `key=value` settings
/// of the CLI and the recipes (set_param, item_to_item_settings), and recency weights. Apart
/// from the model so that code which configures or describes a model does not include it.

#include <recsys/detail/param_table.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
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
    part = trim(part, " ", " ");
    RECSYS_REQUIRE(!part.empty(), where, "'", key, "' has an empty name in its comma-separated list (got '", value,
                   "')");
    out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
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

using i2i = item_to_item_config;
constexpr std::int64_t i2i_index_max = std::numeric_limits<index_t>::max();

struct item_similarity_names {
  static constexpr auto values = [] {
    std::array<std::pair<std::string_view, item_similarity>, all_item_similarities.size()> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = {to_string(all_item_similarities[i]), all_item_similarities[i]};
    return out;
  }();
};

// A comma-separated list of event types (empty: none).
template <std::vector<std::string> i2i::*Member>
constexpr param_field<i2i> i2i_list_field(std::string_view name, std::string_view help) {
  return custom_field<i2i>(
      name, help,
      [](i2i& c, std::string_view where, std::string_view key, std::string_view value) {
        c.*Member = i2i_list(where, key, value);
      },
      [](const i2i& c) { return i2i_join(c.*Member); });
}

/// item_to_item_config's hyperparameters, once (detail/param_table.hpp): set_param,
/// item_to_item_settings and to_params are derived from this table. Personalize SIMS's names
/// are aliases.
inline constexpr std::array item_to_item_fields{
    choice_field<&i2i::similarity, item_similarity_names>(
        "similarity", "pair score: count | jaccard | cosine | lift | pmi | npmi | llr | confidence | sims | bm25 | tfidf"),
    int_field<&i2i::neighbours, 1, i2i_index_max>("neighbours", "neighbours kept per item (K), >= 1"),
    with_alias(int_field<&i2i::min_cooccurrence, 1, std::numeric_limits<std::int32_t>::max()>(
                   "min_cooccurrence", "min transactions holding both items, >= 1 (alias: min_cointeraction_count)"),
               "min_cointeraction_count"),
    custom_field<i2i>(
        "min_score", "min pair score (a number, or -inf for none)",
        [](i2i& c, std::string_view where, std::string_view key, std::string_view value) {
          c.min_score = value == "-inf" ? -std::numeric_limits<double>::infinity() : parse_double(where, key, value);
        },
        [](const i2i& c) { return i2i_number(c.min_score); }),
    with_alias(unit_field<&i2i::popularity_discount>(
                   "popularity_discount",
                   "sims exponent d in [0, 1]: 0 popular items win, 1 pure correlation (alias: popularity_discount_factor)"),
               "popularity_discount_factor"),
    custom_field<i2i>(
        "bm25_k1", "BM25 k1, >= 0",
        [](i2i& c, std::string_view where, std::string_view key, std::string_view value) {
          const double x = parse_double(where, key, value);
          RECSYS_REQUIRE(x >= 0.0, where, "'", key, "' must be >= 0 (got ", x, ")");
          c.bm25_k1 = x;
        },
        [](const i2i& c) { return i2i_number(c.bm25_k1); }),
    unit_field<&i2i::bm25_b>("bm25_b", "BM25 b, in [0, 1]"),
    with_alias(unit_field<&i2i::min_row_length_percentile>(
                   "min_row_length_percentile",
                   "drop shorter histories, in [0, 1] (alias: min_user_history_length_percentile)"),
               "min_user_history_length_percentile"),
    with_alias(unit_field<&i2i::max_row_length_percentile>(
                   "max_row_length_percentile",
                   "drop longer histories, in [0, 1] (alias: max_user_history_length_percentile)"),
               "max_user_history_length_percentile"),
    with_alias(unit_field<&i2i::min_item_count_percentile>(
                   "min_item_count_percentile",
                   "drop rarer items, in [0, 1] (alias: min_item_interaction_count_percentile)"),
               "min_item_interaction_count_percentile"),
    with_alias(unit_field<&i2i::max_item_count_percentile>(
                   "max_item_count_percentile",
                   "drop more popular items, in [0, 1] (alias: max_item_interaction_count_percentile)"),
               "max_item_interaction_count_percentile"),
    with_alias(int_field<&i2i::max_row_length, 0, std::numeric_limits<std::uint32_t>::max()>(
                   "max_row_length",
                   "cap on distinct items per history / basket, sampled; 0 = none (alias: max_history_length)"),
               "max_history_length"),
    i2i_list_field<&i2i::event_types>("event_types", "comma-separated EVENT_TYPEs to mine (empty: all)"),
    i2i_list_field<&i2i::cross_event_types>(
        "cross_event_types", "comma-separated EVENT_TYPEs of the neighbour side (cross-occurrence, e.g. purchase)"),
    i2i_list_field<&i2i::exclude_event_types>(
        "exclude_event_types", "comma-separated EVENT_TYPEs also_viewed never returns to that user (e.g. purchase)"),
    custom_field<i2i>(
        "time_window", "max time between co-occurring events, 0 = none: seconds or 30m, 2h, 1d",
        [](i2i& c, std::string_view where, std::string_view key, std::string_view value) {
          c.time_window = i2i_duration(where, key, value);
        },
        [](const i2i& c) { return std::to_string(c.time_window); }),
    bool_field<&i2i::forward_only>("forward_only", "true: only neighbours seen at or after the query item"),
    custom_field<i2i>(
        "recency_half_life", "item-KNN history weight half-life, 0 = none: seconds or 12h, 7d",
        [](i2i& c, std::string_view where, std::string_view key, std::string_view value) {
          // a plain number of seconds may be fractional; with a unit, what parse_duration accepts
          const bool plain = !value.empty() && ((value.back() >= '0' && value.back() <= '9') || value.back() == '.');
          const double x = plain ? parse_double(where, key, value) : static_cast<double>(i2i_duration(where, key, value));
          RECSYS_REQUIRE(x >= 0.0, where, "'", key, "' must be >= 0 (got ", value, ")");
          c.recency_half_life = x;
        },
        [](const i2i& c) { return i2i_number(c.recency_half_life); }),
    u64_field<&i2i::seed>("seed", "seed of the history cap sampling"),
    int_field<&i2i::num_threads, 0, std::numeric_limits<int>::max()>("num_threads", "threads for mining, 0 = default"),
};
}  // namespace detail

/// The names set_param() accepts, in a fixed order (Personalize's SIMS names are accepted as
/// aliases, listed in the descriptions).
[[nodiscard]] inline std::span<const setting_info> item_to_item_settings() noexcept {
  static constexpr auto settings = [] {
    std::array<setting_info, detail::item_to_item_fields.size()> out{};
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = {detail::item_to_item_fields[i].name, detail::item_to_item_fields[i].help};
    return out;
  }();
  return settings;
}

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
  detail::set_param_from(detail::item_to_item_fields, config, "item_to_item::set_param", key, value,
                         [](const item_to_item_config&) {});  // each field checks its own range
}

/// set_param(config, key, value) for one "key=value" string (blanks around key and value are
/// ignored).
/// @throws recsys::invalid_argument if there is no '=', or as the three-argument form.
inline void set_param(item_to_item_config& config, std::string_view assignment) {
  const auto [key, value] = detail::split_assignment("item_to_item::set_param", assignment);
  set_param(config, key, value);
}

/// Every hyperparameter of `config` as text, in item_to_item_settings() order, such that
/// set_param() of each pair on a default config gives back `config` (model manifests, the
/// CLI's effective parameters, the registry's defaults).
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> to_params(const item_to_item_config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : detail::item_to_item_fields) out.emplace_back(std::string(f.name), f.get(c));
  return out;
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

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_CONFIG_HPP
