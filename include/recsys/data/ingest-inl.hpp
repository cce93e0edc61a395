// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_INGEST_INL_HPP
#define RECSYS_DATA_INGEST_INL_HPP

/// @file
/// Definitions of data/ingest.hpp: the ingestion rules (header-only mode includes this file;
/// the compiled library instantiates it in src/data.cpp).

#include <recsys/data/ingest.hpp>
#include <recsys/detail/grouping.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

/// Per entry of log.event_type_names: does it match `name` case-insensitively?
/// @throws recsys::invalid_argument if nothing in the log's event types matches (a typo).
template <class = void>
[[nodiscard]] std::vector<bool> match_event_type(const interaction_log& log, std::string_view name,
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

template <class = void>
void check_percentile(double p, const char* name) {
  RECSYS_REQUIRE(p >= 0.0 && p <= 1.0, "apply_rules", name, " must be in [0, 1] (got ", p, ")");
}

/// Sorted positive counts of a key column.
template <class = void>
[[nodiscard]] std::vector<std::int64_t> counts_of(const std::vector<index_t>& keys, index_t n) {
  std::vector<std::int64_t> c(static_cast<std::size_t>(n), 0);
  for (index_t k : keys) ++c[static_cast<std::size_t>(k)];
  return c;
}

}  // namespace detail

template <class>
pruning_bounds compute_pruning_bounds(const interaction_log& log, const percentile_pruning& p) {
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

template <class>
interaction_log apply_window(const interaction_log& log, const time_window& w) {
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

template <class>
interaction_log apply_rules(const interaction_log& input, const ingest_rules& rules) {
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

template <class>
compaction compact(interaction_log& log) {
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

#endif  // RECSYS_DATA_INGEST_INL_HPP
