// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_SPLIT_HPP
#define RECSYS_DATA_SPLIT_HPP

/// @file
/// Train / test splits of an interaction log: Amazon Personalize's protocol, leave-last-n per
/// user, a global temporal cut, a random per-interaction split, and the session split by time
/// of GRU4Rec's RSC15 preprocessing; plus the CLI's spec strings.
///
/// Every split returns two logs that keep the input's id maps whole (so matrices built from
/// train and test have equal shapes and indices mean the same thing on both sides) and whose
/// reports account for every input row: train.report charges the rows that went to test (and
/// any rows the split removed) and test.report the rows that went to train (and any rows
/// removed), each under a "split: ..." rule name (split_rule_names).
///
/// Determinism: every split is a pure function of (log, options, seed). Random choices come from
/// recsys::rng streams "split.personalize" and "split.random"; per-user work may run in parallel
/// but each user is processed alone, so the result is identical for any thread count. Ties on
/// equal timestamps are broken by log order (the earlier row counts as older).
///
/// @code
///   auto s = recsys::make_split(log, recsys::parse_split_spec("personalize"), /*seed=*/42);
///   recsys::csr_matrix train = recsys::build_matrix(s.train);   // same shape as build_matrix(s.test)
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace recsys {

/// A train / test pair over the same id maps.
struct split {
  interaction_log train;
  interaction_log test;
};

/// Rule names under which splits account for rows in the two sides' reports.
namespace split_rule_names {
inline constexpr std::string_view to_test = "split: assigned to test";
inline constexpr std::string_view to_train = "split: assigned to train";
inline constexpr std::string_view no_session = "split: event without session";
inline constexpr std::string_view unseen_item = "split: test item not in train";
inline constexpr std::string_view short_session = "split: test session too short";
}  // namespace split_rule_names

/// Options of personalize_split.
struct personalize_split_options {
  double user_fraction = 0.1;    ///< share of users held out, in (0, 1]
  double target_fraction = 0.1;  ///< share of each held-out user's newest events used as targets, in (0, 1)
  int num_threads = 0;
};

/// Options of session_time_split.
struct session_split_options {
  timestamp_t test_seconds = 86400;         ///< sessions ending at or after newest - test_seconds are test
  session_options sessions;                 ///< how sessions are formed (SESSION_ID or inactivity gaps)
  std::size_t min_test_session_length = 2;  ///< shorter test sessions (after the item filter) are dropped
};

/// Amazon Personalize's evaluation split: a random user_fraction (10%) of the users with events
/// is held out; for each held-out user the oldest (1 - target_fraction) of their events, in
/// (timestamp, log order), go to train as the user's history and the newest target_fraction
/// (10%) go to test as the targets. Every other user's events are in train.
///
/// Why the held-out users' histories go to *train*: Personalize feeds them to the trained model
/// as input at query time. recsys recipes take a user's history from the training matrix (a
/// factor model learns the user's vector from it; item-to-item and popularity read it), so the
/// equivalent is to train on it; the targets are strictly newer than that history. (Models that
/// fold users in at query time see the same data either way.) The evaluator excludes train
/// items from a user's recommendations as usual.
///
/// Counts: round(user_fraction * users) users held out, at least 1 when there are users; a
/// held-out user with n >= 2 events gets round(target_fraction * n) targets clamped to
/// [1, n - 1] (at least one event on each side); with n = 1 the single event is a target (a
/// user with no history, as Personalize would also score it).
/// @throws recsys::invalid_argument for fractions outside their ranges.
template <class = void>
[[nodiscard]] split personalize_split(const interaction_log& log, std::uint64_t seed,
                                      const personalize_split_options& o = {});

/// Leave-last-n: for every user with more than n events, the newest n (by timestamp, ties by
/// log order) go to test and the rest to train; users with at most n events stay entirely in
/// train (so every test user has exactly n targets and at least one history event).
/// @throws recsys::invalid_argument if n < 1.
template <class = void>
[[nodiscard]] split leave_last_split(const interaction_log& log, std::int64_t n, int num_threads = 0);

/// Global temporal cut: events with TIMESTAMP < cut go to train, the others to test.
template <class = void>
[[nodiscard]] split temporal_split(const interaction_log& log, timestamp_t cut);

/// Random per-interaction split: exactly round(test_fraction * n) events, drawn uniformly
/// without replacement (seeded partial Fisher-Yates over log rows), go to test.
/// @throws recsys::invalid_argument if test_fraction is not in (0, 1).
template <class = void>
[[nodiscard]] split random_split(const interaction_log& log, double test_fraction, std::uint64_t seed);

/// The session split by time of GRU4Rec's RSC15 preprocessing: sessions (from SESSION_ID, or
/// each user's events cut at inactivity gaps, see build_sessions) whose last event is at or
/// after newest - test_seconds (newest = the log's newest event) are test sessions, the others
/// train sessions; then test events whose item never occurs in train are removed, and test
/// sessions left shorter than min_test_session_length (2) are removed.
///
/// Both sides carry the sessions in SESSION_ID: with gap cutting, the split writes session ids
/// "gap:<user>:<first timestamp>" into a fresh session map, so build_sessions on either side
/// returns exactly the split's sessions (train sessions whole, test sessions as filtered).
/// Rows without a SESSION_ID (column mode) belong to no session and are removed (reported).
/// @throws recsys::invalid_argument if test_seconds < 0 or min_test_session_length < 1, or for
///   invalid session options.
template <class = void>
[[nodiscard]] split session_time_split(const interaction_log& log, const session_split_options& o = {});

/// A parsed split spec (see parse_split_spec).
struct split_spec {
  enum class method { personalize, leave_last, temporal, random, session_time };
  method kind = method::personalize;
  personalize_split_options personalize;  ///< personalize (its num_threads is replaced by split_spec::num_threads)
  std::int64_t leave_last_n = 1;          ///< leave-last:N
  timestamp_t cut = 0;                    ///< temporal:TS
  double test_fraction = 0.1;             ///< random:FRAC
  session_split_options sessions;         ///< session-time[:SECONDS]
  int num_threads = 0;                    ///< per-user work of personalize / leave-last (0 = default)
};

/// Parses the CLI's split spec strings:
///   `personalize[:USER_FRACTION]`   Personalize's protocol (default 10% of users)
///   `leave-last:N`                  the newest N events of each user
///   `temporal:TS`                   global cut at Unix time TS
///   `random:FRAC`                   a random FRAC (0 < FRAC < 1) of the events
///   `session-time[:SECONDS]`        sessions ending in the last SECONDS (default 86400)
/// @throws recsys::invalid_argument quoting the spec when it is malformed or out of range.
template <class = void>
[[nodiscard]] split_spec parse_split_spec(std::string_view spec);

/// Runs the split a spec describes. `seed` drives the random ones (personalize, random) and is
/// ignored by the others.
template <class = void>
[[nodiscard]] split make_split(const interaction_log& log, const split_spec& spec, std::uint64_t seed);

/// A split from two separately loaded logs (the CLI's --train / --test files): both sides end up
/// with the same id maps — train's ids first, in their order, then ids that only the test log
/// has — so matrices built from either side have equal shapes and test rows about unseen users
/// or items stay visible (the evaluator counts them). Each side keeps its own load report.
template <class = void>
[[nodiscard]] split join_split(const interaction_log& train, const interaction_log& test);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/split-inl.hpp>
#else
namespace recsys {
extern template split personalize_split<>(const interaction_log&, std::uint64_t, const personalize_split_options&);
extern template split leave_last_split<>(const interaction_log&, std::int64_t, int);
extern template split temporal_split<>(const interaction_log&, timestamp_t);
extern template split random_split<>(const interaction_log&, double, std::uint64_t);
extern template split session_time_split<>(const interaction_log&, const session_split_options&);
extern template split_spec parse_split_spec<>(std::string_view);
extern template split make_split<>(const interaction_log&, const split_spec&, std::uint64_t);
extern template split join_split<>(const interaction_log&, const interaction_log&);
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_SPLIT_HPP
