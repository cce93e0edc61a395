// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SPLIT_INL_HPP
#define RECSYS_DATA_SPLIT_INL_HPP

/// @file
/// Definitions of data/split.hpp: the train / test splits and the split specs (header-only
/// mode includes this file; the compiled library instantiates it in src/data.cpp).

#include <recsys/data/split.hpp>
#include <recsys/detail/grouping.hpp>
#include <recsys/errors.hpp>
#include <recsys/random.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

enum class side : std::uint8_t { train, test, removed_no_session, removed_unseen, removed_short };

/// Builds the two sides from a per-row assignment, with full accounting.
template <class = void>
[[nodiscard]] split make_sides(const interaction_log& log, const std::vector<side>& where) {
  namespace names = split_rule_names;
  std::vector<bool> in_train(log.size()), in_test(log.size());
  std::int64_t count[5] = {0, 0, 0, 0, 0};
  for (std::size_t r = 0; r < log.size(); ++r) {
    in_train[r] = where[r] == side::train;
    in_test[r] = where[r] == side::test;
    ++count[static_cast<int>(where[r])];
  }
  split s{log.subset(in_train), log.subset(in_test)};
  s.train.report.record_removed(names::to_test, count[1] + count[3] + count[4]);
  s.test.report.record_removed(names::to_train, count[0]);
  if (count[2]) {
    s.train.report.record_removed(names::no_session, count[2]);
    s.test.report.record_removed(names::no_session, count[2]);
  }
  if (count[3]) s.test.report.record_removed(names::unseen_item, count[3]);
  if (count[4]) s.test.report.record_removed(names::short_session, count[4]);
  return s;
}

}  // namespace detail

template <class>
split personalize_split(const interaction_log& log, std::uint64_t seed, const personalize_split_options& o) {
  RECSYS_REQUIRE(o.user_fraction > 0.0 && o.user_fraction <= 1.0, "personalize_split",
                 "user_fraction must be in (0, 1] (got ", o.user_fraction, ")");
  RECSYS_REQUIRE(o.target_fraction > 0.0 && o.target_fraction < 1.0, "personalize_split",
                 "target_fraction must be in (0, 1) (got ", o.target_fraction, ")");
  log.validate();
  const auto groups = detail::rows_by_user_time(log, o.num_threads);
  std::vector<index_t> active;
  for (std::size_t u = 0; u < groups.num_groups(); ++u)
    if (groups.group_size(u) > 0) active.push_back(static_cast<index_t>(u));
  std::size_t held = 0;
  if (!active.empty()) {
    held = static_cast<std::size_t>(std::llround(o.user_fraction * static_cast<double>(active.size())));
    held = std::clamp<std::size_t>(held, 1, active.size());
    rng r(seed, stream_tag("split.personalize"), 0);
    shuffle(active.begin(), active.end(), r);
  }
  std::vector<detail::side> where(log.size(), detail::side::train);
  for (std::size_t k = 0; k < held; ++k) {
    const auto u = static_cast<std::size_t>(active[k]);
    const auto n = static_cast<std::int64_t>(groups.group_size(u));
    std::int64_t targets = 1;
    if (n >= 2) targets = std::clamp<std::int64_t>(std::llround(o.target_fraction * static_cast<double>(n)), 1, n - 1);
    for (std::int64_t j = n - targets; j < n; ++j)
      where[groups.rows[static_cast<std::size_t>(groups.offsets[u] + j)]] = detail::side::test;
  }
  return detail::make_sides(log, where);
}

template <class>
split leave_last_split(const interaction_log& log, std::int64_t n, int num_threads) {
  RECSYS_REQUIRE(n >= 1, "leave_last_split", "n must be >= 1 (got ", n, ")");
  log.validate();
  const auto groups = detail::rows_by_user_time(log, num_threads);
  std::vector<detail::side> where(log.size(), detail::side::train);
  for (std::size_t u = 0; u < groups.num_groups(); ++u) {
    const auto len = static_cast<std::int64_t>(groups.group_size(u));
    if (len <= n) continue;
    for (std::int64_t j = len - n; j < len; ++j)
      where[groups.rows[static_cast<std::size_t>(groups.offsets[u] + j)]] = detail::side::test;
  }
  return detail::make_sides(log, where);
}

template <class>
split temporal_split(const interaction_log& log, timestamp_t cut) {
  log.validate();
  std::vector<detail::side> where(log.size());
  for (std::size_t r = 0; r < log.size(); ++r)
    where[r] = log.timestamps[r] < cut ? detail::side::train : detail::side::test;
  return detail::make_sides(log, where);
}

template <class>
split random_split(const interaction_log& log, double test_fraction, std::uint64_t seed) {
  RECSYS_REQUIRE(test_fraction > 0.0 && test_fraction < 1.0, "random_split", "test_fraction must be in (0, 1) (got ",
                 test_fraction, ")");
  log.validate();
  const std::size_t n = log.size();
  RECSYS_REQUIRE(n < (std::size_t{1} << 32), "random_split", "more than 2^32-1 events");
  const auto k = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  std::vector<std::uint32_t> rows(n);
  for (std::size_t r = 0; r < n; ++r) rows[r] = static_cast<std::uint32_t>(r);
  rng g(seed, stream_tag("split.random"), 0);
  for (std::size_t i = 0; i < k; ++i) {  // the first k slots become a uniform k-subset
    const std::size_t j = i + g.uniform_index(static_cast<std::uint32_t>(n - i));
    std::swap(rows[i], rows[j]);
  }
  std::vector<detail::side> where(n, detail::side::train);
  for (std::size_t i = 0; i < k; ++i) where[rows[i]] = detail::side::test;
  return detail::make_sides(log, where);
}

template <class>
split session_time_split(const interaction_log& log, const session_split_options& o) {
  RECSYS_REQUIRE(o.test_seconds >= 0, "session_time_split", "test_seconds must be >= 0 (got ", o.test_seconds, ")");
  RECSYS_REQUIRE(o.min_test_session_length >= 1, "session_time_split", "min_test_session_length must be >= 1");
  log.validate();
  const detail::session_cut cut = detail::cut_sessions(log, o.sessions);
  const timestamp_t cutoff = log.time_range().second - o.test_seconds;

  interaction_log base;
  const interaction_log* src = &log;
  if (!cut.by_column) {  // materialise the gap sessions as SESSION_IDs
    base = log;
    base.session_ids = id_map<std::string>();
    base.sessions.assign(log.size(), invalid_index);
    for (const auto& run : cut.runs) {
      const std::size_t first = cut.order[run.begin];
      const index_t id = base.session_ids.insert("gap:" + log.user_ids.id(log.users[first]) + ":" +
                                                 std::to_string(log.timestamps[first]));
      for (std::size_t k = run.begin; k < run.end; ++k) base.sessions[cut.order[k]] = id;
    }
    base.has_session = true;
    src = &base;
  }

  std::vector<detail::side> where(log.size(), detail::side::removed_no_session);
  std::vector<bool> test_run(cut.runs.size());
  for (std::size_t s = 0; s < cut.runs.size(); ++s) {
    const auto& run = cut.runs[s];
    test_run[s] = log.timestamps[cut.order[run.end - 1]] >= cutoff;  // last event of the session
    for (std::size_t k = run.begin; k < run.end; ++k)
      where[cut.order[k]] = test_run[s] ? detail::side::test : detail::side::train;
  }
  std::vector<bool> in_train(static_cast<std::size_t>(log.num_items()), false);
  for (std::size_t r = 0; r < log.size(); ++r)
    if (where[r] == detail::side::train) in_train[static_cast<std::size_t>(log.items[r])] = true;
  for (std::size_t s = 0; s < cut.runs.size(); ++s) {
    if (!test_run[s]) continue;
    const auto& run = cut.runs[s];
    std::size_t left = 0;
    for (std::size_t k = run.begin; k < run.end; ++k) {
      const std::size_t r = cut.order[k];
      if (!in_train[static_cast<std::size_t>(log.items[r])])
        where[r] = detail::side::removed_unseen;
      else
        ++left;
    }
    if (left < o.min_test_session_length)
      for (std::size_t k = run.begin; k < run.end; ++k)
        if (where[cut.order[k]] == detail::side::test) where[cut.order[k]] = detail::side::removed_short;
  }
  return detail::make_sides(*src, where);
}

namespace detail {
template <class T>
[[nodiscard]] bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  if constexpr (std::is_floating_point_v<T>) {
    // from_chars for double is in libstdc++ 11+; strtod needs a terminated copy.
    const std::string copy(s);
    char* end = nullptr;
    out = static_cast<T>(std::strtod(copy.c_str(), &end));
    return end == copy.c_str() + copy.size() && std::isfinite(out) &&
           !std::isspace(static_cast<unsigned char>(copy[0]));
  } else {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
  }
}
}  // namespace detail

template <class>
split_spec parse_split_spec(std::string_view spec) {
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  const bool has_arg = colon != std::string_view::npos;
  const std::string_view arg = has_arg ? spec.substr(colon + 1) : std::string_view{};
  auto fail = [&](const char* why) -> split_spec {
    detail::throw_invalid_argument("parse_split_spec", "bad split spec '", spec, "': ", why,
                                   " (expected personalize[:USER_FRACTION], leave-last:N, temporal:TS, random:FRAC "
                                   "or session-time[:SECONDS])");
  };
  split_spec s;
  if (name == "personalize") {
    s.kind = split_spec::method::personalize;
    if (has_arg && (!detail::parse_number(arg, s.personalize.user_fraction) || s.personalize.user_fraction <= 0.0 ||
                    s.personalize.user_fraction > 1.0))
      return fail("USER_FRACTION must be a number in (0, 1]");
  } else if (name == "leave-last") {
    s.kind = split_spec::method::leave_last;
    if (!has_arg || !detail::parse_number(arg, s.leave_last_n) || s.leave_last_n < 1)
      return fail("N must be an integer >= 1");
  } else if (name == "temporal") {
    s.kind = split_spec::method::temporal;
    if (!has_arg || !detail::parse_number(arg, s.cut)) return fail("TS must be an integer Unix time in seconds");
  } else if (name == "random") {
    s.kind = split_spec::method::random;
    if (!has_arg || !detail::parse_number(arg, s.test_fraction) || s.test_fraction <= 0.0 || s.test_fraction >= 1.0)
      return fail("FRAC must be a number in (0, 1)");
  } else if (name == "session-time") {
    s.kind = split_spec::method::session_time;
    if (has_arg && (!detail::parse_number(arg, s.sessions.test_seconds) || s.sessions.test_seconds < 0))
      return fail("SECONDS must be an integer >= 0");
  } else {
    return fail("unknown split method");
  }
  return s;
}

template <class>
split make_split(const interaction_log& log, const split_spec& spec, std::uint64_t seed) {
  switch (spec.kind) {
    case split_spec::method::personalize: {
      personalize_split_options o = spec.personalize;
      o.num_threads = spec.num_threads;
      return personalize_split(log, seed, o);
    }
    case split_spec::method::leave_last:
      return leave_last_split(log, spec.leave_last_n, spec.num_threads);
    case split_spec::method::temporal:
      return temporal_split(log, spec.cut);
    case split_spec::method::random:
      return random_split(log, spec.test_fraction, seed);
    case split_spec::method::session_time:
      return session_time_split(log, spec.sessions);
  }
  detail::throw_invalid_argument("make_split", "unknown split method");
}

template <class>
split join_split(const interaction_log& train, const interaction_log& test) {
  split out;
  out.train = train;
  interaction_log& t = out.train;  // its id maps become the shared ones
  auto remap = [](id_map<std::string>& into, const id_map<std::string>& from) {
    std::vector<index_t> to(static_cast<std::size_t>(from.size()));
    for (index_t i = 0; i < from.size(); ++i) to[static_cast<std::size_t>(i)] = into.insert(from.id(i));
    return to;
  };
  const auto users = remap(t.user_ids, test.user_ids);
  const auto items = remap(t.item_ids, test.item_ids);
  const auto types = remap(t.event_type_names, test.event_type_names);
  const auto sessions = remap(t.session_ids, test.session_ids);
  t.has_event_type = t.has_event_type || test.has_event_type;
  t.has_event_value = t.has_event_value || test.has_event_value;
  t.has_session = t.has_session || test.has_session;
  out.test = t.empty_like();
  out.test.reserve(test.size());
  auto at = [](const std::vector<index_t>& m, index_t i) {
    return i < 0 ? invalid_index : m[static_cast<std::size_t>(i)];
  };
  for (std::size_t r = 0; r < test.size(); ++r)
    out.test.add_indexed(users[static_cast<std::size_t>(test.users[r])], items[static_cast<std::size_t>(test.items[r])],
                         test.timestamps[r], at(types, test.event_types[r]), test.event_values[r],
                         at(sessions, test.sessions[r]), test.weights[r]);
  out.test.report = test.report;
  return out;
}

}  // namespace recsys

#endif  // RECSYS_DATA_SPLIT_INL_HPP
