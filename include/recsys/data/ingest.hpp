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

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/types.hpp>

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

/// Resolves percentile pruning to count bounds on `log` (users: rows per user; items: rows per
/// item; only users / items with at least one row form the samples).
/// @throws recsys::invalid_argument if a percentile is outside [0, 1] or a min exceeds its max.
template <class = void>
[[nodiscard]] pruning_bounds compute_pruning_bounds(const interaction_log& log, const percentile_pruning& p);

/// Applies only a time window (the first step of apply_rules), recording removals under
/// "time_window" (absolute bounds) and "time_window_last_days".
/// @throws recsys::invalid_argument if from >= to or last_days is not a positive finite number.
template <class = void>
[[nodiscard]] interaction_log apply_window(const interaction_log& log, const time_window& w);

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
template <class = void>
[[nodiscard]] interaction_log apply_rules(const interaction_log& input, const ingest_rules& rules);

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
template <class = void>
compaction compact(interaction_log& log);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/ingest-inl.hpp>
#else
namespace recsys {
extern template pruning_bounds compute_pruning_bounds<>(const interaction_log&, const percentile_pruning&);
extern template interaction_log apply_window<>(const interaction_log&, const time_window&);
extern template interaction_log apply_rules<>(const interaction_log&, const ingest_rules&);
extern template compaction compact<>(interaction_log&);
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_INGEST_HPP
