// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_INGEST_HPP
#define RECSYS_DATA_INGEST_HPP

/// @file
/// Ingestion rules: what Amazon Personalize lets a solution choose about its interaction data,
/// applied to a recsys::interaction_log.
///
/// - keep only chosen event types (matched case-insensitively, as Personalize does);
/// - EVENT_VALUE thresholds (global and per event type: keep events with value >= threshold);
/// - per-event-type weights, optionally multiplied by EVENT_VALUE (Personalize's eventsConfig);
/// - a time window: absolute [from, to) and/or "the last N days before the newest event";
/// - a dedupe policy for repeated (user, item) pairs: none, sum, max, latest, count;
/// - percentile pruning of users by history length and items by interaction count
///   (Personalize's min/max_user_history_length_percentile and
///   min/max_item_interaction_count_percentile).
///
/// The rules apply in a fixed order (see apply_rules). Every rule that removes rows records how
/// many in the log's report (load_report::record_removed under the rule's name, listed in
/// ingest_rule_names), and dedupe adds to rows_merged: nothing is dropped silently. Dense user
/// and item indices never change (the id maps are kept whole, so matrices built before and after
/// have equal shapes) unless compact() is called.
///
/// @code
///   recsys::ingest_rules rules;
///   rules.event_types = {"click", "purchase"};
///   rules.event_parameters = {{"click", 1.0f, {}}, {"purchase", 5.0f, {}}};  // type, weight, threshold
///   rules.window.last_days = 90;                       // 3 months beat 1 year in the case study
///   rules.dedupe = recsys::dedupe_policy::sum;
///   rules.pruning.max_user_history_length_percentile = 0.99;   // drop the busiest 1% (bots)
///   recsys::interaction_log clean = recsys::apply_rules(log, rules);
///   std::puts(clean.report.summary().c_str());
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/detail/grouping.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// What to do with repeated (user, item) pairs (any event types). Each group of rows sharing a
/// pair becomes one row; which row's fields survive:
///
/// | policy | row kept (timestamp, event type, value, session) | its weight |
/// |---|---|---|
/// | none   | every row is kept | unchanged |
/// | sum    | the latest row (largest timestamp; ties: last in log order) | sum of the group's weights |
/// | max    | the row with the largest weight (ties: latest, then last in log order) | that weight |
/// | latest | the latest row (ties: last in log order) | its own weight |
/// | count  | the latest row (ties: last in log order) | number of rows in the group |
///
/// The kept row stays at its own position in the log (log order is otherwise preserved).
/// Rows folded into another are counted in load_report::rows_merged.
enum class dedupe_policy { none, sum, max, latest, count };

/// Per-event-type settings, as Personalize's eventsConfig.eventParametersList.
struct event_type_parameters {
  std::string event_type;                ///< matched case-insensitively against EVENT_TYPE
  float weight = 1.0f;                   ///< multiplies the weight of this type's events
  std::optional<float> value_threshold;  ///< keep this type's events with EVENT_VALUE >= threshold
};

/// A time window. All parts are optional; an empty window keeps everything.
struct time_window {
  std::optional<timestamp_t> from;  ///< keep events with TIMESTAMP >= from
  std::optional<timestamp_t> to;    ///< keep events with TIMESTAMP < to
  /// Keep only the last N days: events with TIMESTAMP >= newest - N * 86400 (rounded to whole
  /// seconds), where `newest` is the newest event of the input log inside [from, to). So
  /// {to = T, last_days = 90} is "the 90 days before T". Must be > 0.
  std::optional<double> last_days;

  [[nodiscard]] bool empty() const noexcept { return !from && !to && !last_days; }
};

/// Percentile pruning with Personalize's semantics: users whose history length (rows in the
/// log at that point) is below the min percentile or above the max percentile of all users'
/// history lengths are removed with their events; items likewise by their interaction count.
/// Percentile p of a sample is its sorted value at index floor(p * (n - 1)) (numpy's
/// quantile(method="lower")); bounds are inclusive, so ties with a bound are kept. Users and
/// items without events do not count. The defaults (0 and 1) prune nothing. Personalize's
/// recipe defaults are e.g. 0.0 / 0.99 for users (User-Personalization) and 0.005 / 0.995 for
/// users plus 0.01 / 0.9 for items (SIMS).
struct percentile_pruning {
  double min_user_history_length_percentile = 0.0;
  double max_user_history_length_percentile = 1.0;
  double min_item_interaction_count_percentile = 0.0;
  double max_item_interaction_count_percentile = 1.0;

  [[nodiscard]] bool prunes_users() const noexcept {
    return min_user_history_length_percentile > 0.0 || max_user_history_length_percentile < 1.0;
  }
  [[nodiscard]] bool prunes_items() const noexcept {
    return min_item_interaction_count_percentile > 0.0 || max_item_interaction_count_percentile < 1.0;
  }
};

/// Everything apply_rules can do; the defaults change nothing.
struct ingest_rules {
  /// Time window (first-class: `recsys windows` sweeps it).
  time_window window;
  /// Keep only events of these types (case-insensitive). Empty: keep every event, including
  /// events without a type. Non-empty: events without a type are removed.
  std::vector<std::string> event_types;
  /// Keep only events with EVENT_VALUE >= this (all types).
  std::optional<float> event_value_threshold;
  /// Per-type weights and thresholds (types not listed get default_weight, no own threshold).
  std::vector<event_type_parameters> event_parameters;
  /// Weight factor of events whose type is not in event_parameters (or who have no type).
  float default_weight = 1.0f;
  /// Multiply each event's weight by its EVENT_VALUE.
  bool event_value_as_weight = false;
  /// With event_value_as_weight: the factor used for events without an EVENT_VALUE. Unset: such
  /// an event is an error (filter the event types, or set this).
  std::optional<float> missing_value_weight;
  /// Repeated (user, item) pairs.
  dedupe_policy dedupe = dedupe_policy::none;
  /// Percentile pruning of users and items.
  percentile_pruning pruning;
};

/// The names under which apply_rules records removals in load_report::removed.
namespace ingest_rule_names {
inline constexpr std::string_view time_window = "time_window";
inline constexpr std::string_view last_days = "time_window_last_days";
inline constexpr std::string_view event_type = "event_type";
inline constexpr std::string_view event_value_missing = "event_value_missing";
inline constexpr std::string_view event_value_threshold = "event_value_threshold";
inline constexpr std::string_view min_user_history = "min_user_history_length_percentile";
inline constexpr std::string_view max_user_history = "max_user_history_length_percentile";
inline constexpr std::string_view min_item_count = "min_item_interaction_count_percentile";
inline constexpr std::string_view max_item_count = "max_item_interaction_count_percentile";
}  // namespace ingest_rule_names

/// The inclusive bounds percentile pruning resolves to on a given log.
struct pruning_bounds {
  std::int64_t min_user_history = 0;
  std::int64_t max_user_history = std::numeric_limits<std::int64_t>::max();
  std::int64_t min_item_count = 0;
  std::int64_t max_item_count = std::numeric_limits<std::int64_t>::max();
};

namespace detail {

/// Per entry of log.event_type_names: does it match `name` case-insensitively?
/// @throws recsys::invalid_argument if nothing in the log's event types matches (a typo).
[[nodiscard]] inline std::vector<bool> match_event_type(const interaction_log& log, std::string_view name,
                                                        std::string_view what) {
  std::vector<bool> match(static_cast<std::size_t>(log.event_type_names.size()), false);
  bool any = false;
  for (index_t t = 0; t < log.event_type_names.size(); ++t)
    if (iequals(log.event_type_names.id(t), name)) match[static_cast<std::size_t>(t)] = any = true;
  if (!any) {
    std::string known;
    for (const auto& k : log.event_type_names.ids()) known += (known.empty() ? "'" : ", '") + k + "'";
    detail::throw_invalid_argument(
        "apply_rules", what, " names event type '", name,
        "', which the log does not have (its event types: ", known.empty() ? std::string("none") : known, ")");
  }
  return match;
}

inline void check_percentile(double p, const char* name) {
  RECSYS_REQUIRE(p >= 0.0 && p <= 1.0, "apply_rules", name, " must be in [0, 1] (got ", p, ")");
}

/// Sorted positive counts of a key column.
[[nodiscard]] inline std::vector<std::int64_t> counts_of(const std::vector<index_t>& keys, index_t n) {
  std::vector<std::int64_t> c(static_cast<std::size_t>(n), 0);
  for (index_t k : keys) ++c[static_cast<std::size_t>(k)];
  return c;
}

}  // namespace detail

/// Resolves percentile pruning to count bounds on `log` (users: rows per user; items: rows per
/// item; only users / items with at least one row form the samples).
/// @throws recsys::invalid_argument if a percentile is outside [0, 1] or a min exceeds its max.
[[nodiscard]] inline pruning_bounds compute_pruning_bounds(const interaction_log& log, const percentile_pruning& p) {
  detail::check_percentile(p.min_user_history_length_percentile, "min_user_history_length_percentile");
  detail::check_percentile(p.max_user_history_length_percentile, "max_user_history_length_percentile");
  detail::check_percentile(p.min_item_interaction_count_percentile, "min_item_interaction_count_percentile");
  detail::check_percentile(p.max_item_interaction_count_percentile, "max_item_interaction_count_percentile");
  RECSYS_REQUIRE(p.min_user_history_length_percentile <= p.max_user_history_length_percentile, "apply_rules",
                 "min_user_history_length_percentile ", p.min_user_history_length_percentile,
                 " exceeds max_user_history_length_percentile ", p.max_user_history_length_percentile);
  RECSYS_REQUIRE(p.min_item_interaction_count_percentile <= p.max_item_interaction_count_percentile, "apply_rules",
                 "min_item_interaction_count_percentile ", p.min_item_interaction_count_percentile,
                 " exceeds max_item_interaction_count_percentile ", p.max_item_interaction_count_percentile);
  pruning_bounds b;
  auto sample = [](std::vector<std::int64_t> c) {
    c.erase(std::remove(c.begin(), c.end(), 0), c.end());
    std::sort(c.begin(), c.end());
    return c;
  };
  if (log.empty()) return b;
  if (p.prunes_users()) {
    const auto s = sample(detail::counts_of(log.users, log.num_users()));
    b.min_user_history = detail::lower_quantile(s, p.min_user_history_length_percentile);
    b.max_user_history = detail::lower_quantile(s, p.max_user_history_length_percentile);
  }
  if (p.prunes_items()) {
    const auto s = sample(detail::counts_of(log.items, log.num_items()));
    b.min_item_count = detail::lower_quantile(s, p.min_item_interaction_count_percentile);
    b.max_item_count = detail::lower_quantile(s, p.max_item_interaction_count_percentile);
  }
  return b;
}

/// Applies only a time window (the first step of apply_rules), recording removals under
/// "time_window" (absolute bounds) and "time_window_last_days".
/// @throws recsys::invalid_argument if from >= to or last_days is not a positive finite number.
[[nodiscard]] inline interaction_log apply_window(const interaction_log& log, const time_window& w) {
  const timestamp_t lo = w.from.value_or(std::numeric_limits<timestamp_t>::min());
  const timestamp_t hi = w.to.value_or(std::numeric_limits<timestamp_t>::max());
  RECSYS_REQUIRE(!(w.from && w.to) || lo < hi, "apply_window", "empty time window: from ", lo, " >= to ", hi);
  if (w.last_days)
    RECSYS_REQUIRE(std::isfinite(*w.last_days) && *w.last_days > 0.0, "apply_window",
                   "last_days must be a positive number of days (got ", *w.last_days, ")");
  if (w.empty()) return log;
  std::vector<bool> keep(log.size(), true);
  std::int64_t removed_abs = 0, removed_last = 0;
  bool any_inside = false;
  timestamp_t newest = std::numeric_limits<timestamp_t>::min();
  for (std::size_t r = 0; r < log.size(); ++r) {
    const timestamp_t t = log.timestamps[r];
    if (t < lo || (w.to && t >= hi)) {
      keep[r] = false;
      ++removed_abs;
    } else {
      newest = std::max(newest, t);
      any_inside = true;
    }
  }
  if (w.last_days && any_inside) {
    const double span = std::round(*w.last_days * 86400.0);
    const double start_d = static_cast<double>(newest) - span;
    for (std::size_t r = 0; r < log.size(); ++r)
      if (keep[r] && static_cast<double>(log.timestamps[r]) < start_d) {
        keep[r] = false;
        ++removed_last;
      }
  }
  interaction_log out = log.subset(keep);
  if (w.from || w.to) out.report.record_removed(ingest_rule_names::time_window, removed_abs);
  if (w.last_days) out.report.record_removed(ingest_rule_names::last_days, removed_last);
  return out;
}

/// Applies ingestion rules and returns the resulting log (same id maps, so same dense indices).
///
/// Order (fixed):
///  1. time window: absolute [from, to), then the last N days (apply_window); first, so that
///     "the newest event" is that of the data as delivered, whatever types are chosen later;
///  2. event types (rows of other types, or without a type, are removed);
///  3. EVENT_VALUE thresholds, global and per type (value >= threshold is kept; rows without a
///     value under a threshold are removed as "event_value_missing");
///  4. weights: weight *= (type's weight, else default_weight) * (EVENT_VALUE if
///     event_value_as_weight). Weights multiply the log's existing weights (1 for a freshly read
///     log), so applying rules twice applies the factors twice;
///  5. dedupe of repeated (user, item) pairs (see dedupe_policy), after weighting so that sum and
///     max see the weighted events;
///  6. percentile pruning of users and items: both bounds are computed on the log after step 5
///     (history length = distinct items when deduped), then rows are removed, each charged to
///     the first rule it fails in the order min user, max user, min item, max item.
/// Rules that are not set are skipped and do not appear in the report; a set rule appears even
/// when it removed nothing.
///
/// @throws recsys::invalid_argument when a rule is invalid (percentiles outside [0, 1], an
///   event type the log does not have, thresholds on a log without EVENT_VALUE, a weight that
///   is not finite, an event without value under event_value_as_weight with no
///   missing_value_weight), naming the rule and the value; or when the log is inconsistent
///   (interaction_log::validate).
[[nodiscard]] inline interaction_log apply_rules(const interaction_log& input, const ingest_rules& rules) {
  namespace names = ingest_rule_names;
  input.validate();
  for (const auto& p : rules.event_parameters) {
    RECSYS_REQUIRE(std::isfinite(p.weight), "apply_rules", "weight of event type '", p.event_type,
                   "' must be finite (got ", p.weight, ")");
    if (p.value_threshold)
      RECSYS_REQUIRE(std::isfinite(*p.value_threshold), "apply_rules", "value_threshold of event type '", p.event_type,
                     "' must be finite (got ", *p.value_threshold, ")");
  }
  RECSYS_REQUIRE(std::isfinite(rules.default_weight), "apply_rules", "default_weight must be finite (got ",
                 rules.default_weight, ")");
  if (rules.event_value_threshold)
    RECSYS_REQUIRE(std::isfinite(*rules.event_value_threshold), "apply_rules",
                   "event_value_threshold must be finite (got ", *rules.event_value_threshold, ")");
  if (rules.missing_value_weight)
    RECSYS_REQUIRE(std::isfinite(*rules.missing_value_weight), "apply_rules",
                   "missing_value_weight must be finite (got ", *rules.missing_value_weight, ")");
  // Validates the percentiles before any work.
  (void)compute_pruning_bounds(interaction_log{}, rules.pruning);

  // 1. time window
  interaction_log log = apply_window(input, rules.window);
  const std::size_t n = log.size();
  const auto num_types = static_cast<std::size_t>(log.event_type_names.size());

  // 2. event types
  if (!rules.event_types.empty()) {
    RECSYS_REQUIRE(log.has_event_type, "apply_rules", "event_types given but the log has no EVENT_TYPE column");
    std::vector<bool> type_kept(num_types, false);
    for (const auto& name : rules.event_types) {
      const auto m = detail::match_event_type(log, name, "event_types");
      for (std::size_t t = 0; t < num_types; ++t) type_kept[t] = type_kept[t] || m[t];
    }
    std::vector<bool> keep(n);
    for (std::size_t r = 0; r < n; ++r)
      keep[r] = log.event_types[r] >= 0 && type_kept[static_cast<std::size_t>(log.event_types[r])];
    log = log.subset(keep, names::event_type);
  }

  // Per-type parameters, resolved to the log's event type indices.
  std::vector<float> type_weight(num_types, rules.default_weight);
  std::vector<std::optional<float>> type_threshold(num_types);
  {
    std::vector<bool> seen(num_types, false);
    for (const auto& p : rules.event_parameters) {
      RECSYS_REQUIRE(log.has_event_type, "apply_rules", "event_parameters given but the log has no EVENT_TYPE column");
      const auto m = detail::match_event_type(log, p.event_type, "event_parameters");
      for (std::size_t t = 0; t < num_types; ++t) {
        if (!m[t]) continue;
        RECSYS_REQUIRE(!seen[t], "apply_rules", "event_parameters lists event type '", p.event_type,
                       "' twice (case-insensitively)");
        seen[t] = true;
        type_weight[t] = p.weight;
        type_threshold[t] = p.value_threshold;
      }
    }
  }

  // 3. EVENT_VALUE thresholds
  bool any_threshold = rules.event_value_threshold.has_value();
  for (const auto& t : type_threshold) any_threshold = any_threshold || t.has_value();
  if (any_threshold) {
    RECSYS_REQUIRE(log.has_event_value, "apply_rules",
                   "an EVENT_VALUE threshold is set but the log has no EVENT_VALUE column");
    std::vector<bool> keep(log.size(), true);
    std::int64_t missing = 0, below = 0;
    for (std::size_t r = 0; r < log.size(); ++r) {
      std::optional<float> th = rules.event_value_threshold;
      const index_t type = log.event_types[r];
      if (type >= 0 && type_threshold[static_cast<std::size_t>(type)]) {
        const float t = *type_threshold[static_cast<std::size_t>(type)];
        th = th ? std::max(*th, t) : t;
      }
      if (!th) continue;
      const float v = log.event_values[r];
      if (std::isnan(v)) {
        keep[r] = false;
        ++missing;
      } else if (v < *th) {
        keep[r] = false;
        ++below;
      }
    }
    log = log.subset(keep);
    log.report.record_removed(names::event_value_missing, missing);
    log.report.record_removed(names::event_value_threshold, below);
  }

  // 4. weights
  {
    bool typed = !rules.event_parameters.empty() || rules.default_weight != 1.0f;
    if (typed || rules.event_value_as_weight) {
      for (std::size_t r = 0; r < log.size(); ++r) {
        const index_t type = log.event_types[r];
        double w = log.weights[r];
        w *= type >= 0 ? type_weight[static_cast<std::size_t>(type)] : rules.default_weight;
        if (rules.event_value_as_weight) {
          const float v = log.event_values[r];
          if (std::isnan(v)) {
            RECSYS_REQUIRE(rules.missing_value_weight.has_value(), "apply_rules", "event_value_as_weight: row ", r,
                           " (user '", log.user_ids.id(log.users[r]), "', item '", log.item_ids.id(log.items[r]),
                           "') has no EVENT_VALUE; set missing_value_weight or filter its event type");
            w *= *rules.missing_value_weight;
          } else {
            w *= v;
          }
        }
        RECSYS_REQUIRE(std::isfinite(static_cast<float>(w)), "apply_rules", "row ", r, ": weight ", w,
                       " is not a finite float");
        log.weights[r] = static_cast<float>(w);
      }
    }
  }

  // 5. dedupe
  if (rules.dedupe != dedupe_policy::none && !log.empty()) {
    const auto groups = detail::rows_by_user_item(log, 0);
    std::vector<bool> keep(log.size(), false);
    std::vector<float> new_weight(log.weights);
    std::int64_t merged = 0;
    const auto& ts = log.timestamps;
    const auto& wt = log.weights;
    auto later = [&](std::size_t a, std::size_t b) {  // is row a later than row b?
      return ts[a] != ts[b] ? ts[a] > ts[b] : a > b;
    };
    for (std::size_t g = 0; g < groups.num_groups(); ++g) {
      for (auto k = groups.offsets[g]; k < groups.offsets[g + 1];) {
        auto e = k + 1;
        const std::size_t first = groups.rows[static_cast<std::size_t>(k)];
        while (e < groups.offsets[g + 1] && log.items[groups.rows[static_cast<std::size_t>(e)]] == log.items[first])
          ++e;
        std::size_t rep = first;
        double sum = 0.0;
        for (auto j = k; j < e; ++j) {
          const std::size_t r = groups.rows[static_cast<std::size_t>(j)];
          sum += wt[r];  // rows are in log order within the pair: a deterministic sum
          if (rules.dedupe == dedupe_policy::max) {
            if (wt[r] > wt[rep] || (wt[r] == wt[rep] && later(r, rep))) rep = r;
          } else if (later(r, rep)) {
            rep = r;
          }
        }
        keep[rep] = true;
        if (rules.dedupe == dedupe_policy::sum) new_weight[rep] = static_cast<float>(sum);
        if (rules.dedupe == dedupe_policy::count) new_weight[rep] = static_cast<float>(e - k);
        RECSYS_REQUIRE(std::isfinite(new_weight[rep]), "apply_rules", "dedupe: merged weight of user '",
                       log.user_ids.id(log.users[rep]), "', item '", log.item_ids.id(log.items[rep]),
                       "' overflows float");
        merged += (e - k) - 1;
        k = e;
      }
    }
    log.weights = std::move(new_weight);
    log = log.subset(keep);
    log.report.rows_merged += merged;
    log.report.rows_kept -= merged;
  }

  // 6. percentile pruning
  if (rules.pruning.prunes_users() || rules.pruning.prunes_items()) {
    const pruning_bounds b = compute_pruning_bounds(log, rules.pruning);
    const auto uc = detail::counts_of(log.users, log.num_users());
    const auto ic = detail::counts_of(log.items, log.num_items());
    std::int64_t removed[4] = {0, 0, 0, 0};
    std::vector<bool> keep(log.size(), true);
    for (std::size_t r = 0; r < log.size(); ++r) {
      const std::int64_t u = uc[static_cast<std::size_t>(log.users[r])];
      const std::int64_t i = ic[static_cast<std::size_t>(log.items[r])];
      int rule = -1;
      if (u < b.min_user_history)
        rule = 0;
      else if (u > b.max_user_history)
        rule = 1;
      else if (i < b.min_item_count)
        rule = 2;
      else if (i > b.max_item_count)
        rule = 3;
      if (rule >= 0) {
        keep[r] = false;
        ++removed[rule];
      }
    }
    log = log.subset(keep);
    const auto& p = rules.pruning;
    if (p.min_user_history_length_percentile > 0.0) log.report.record_removed(names::min_user_history, removed[0]);
    if (p.max_user_history_length_percentile < 1.0) log.report.record_removed(names::max_user_history, removed[1]);
    if (p.min_item_interaction_count_percentile > 0.0) log.report.record_removed(names::min_item_count, removed[2]);
    if (p.max_item_interaction_count_percentile < 1.0) log.report.record_removed(names::max_item_count, removed[3]);
  }
  return log;
}

/// old -> new index maps returned by compact(); invalid_index marks a dropped id.
struct compaction {
  std::vector<index_t> user_map;
  std::vector<index_t> item_map;
};

/// Drops users and items that have no event left in `log` and renumbers the rest densely,
/// keeping their relative order. Invalidates every matrix, model or split built on the old
/// indices: apply the returned maps to anything that must survive. Event type and session
/// maps are left as they are.
/// @code
///   auto maps = recsys::compact(log);
///   // maps.user_map[old] == new index, or recsys::invalid_index if the user was dropped
/// @endcode
inline compaction compact(interaction_log& log) {
  compaction c;
  auto remap = [](const std::vector<index_t>& col, const id_map<std::string>& ids, std::vector<index_t>& map) {
    std::vector<bool> used(static_cast<std::size_t>(ids.size()), false);
    for (index_t x : col) used[static_cast<std::size_t>(x)] = true;
    map.assign(used.size(), invalid_index);
    std::vector<std::string> kept;
    for (std::size_t k = 0; k < used.size(); ++k)
      if (used[k]) {
        map[k] = static_cast<index_t>(kept.size());
        kept.push_back(ids.ids()[k]);
      }
    return id_map<std::string>::from_keys(kept);
  };
  log.validate();
  log.user_ids = remap(log.users, log.user_ids, c.user_map);
  log.item_ids = remap(log.items, log.item_ids, c.item_map);
  for (auto& u : log.users) u = c.user_map[static_cast<std::size_t>(u)];
  for (auto& i : log.items) i = c.item_map[static_cast<std::size_t>(i)];
  return c;
}

}  // namespace recsys

#endif  // RECSYS_DATA_INGEST_HPP
