// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_EVALUATOR_HPP
#define RECSYS_EVAL_EVALUATOR_HPP

/// @file
/// Offline evaluation of any recommender on a train/test split, with Personalize's metrics.
///
/// Protocol (docs/evaluation.md):
/// - Every test user with at least one relevant test item is one query.
/// - The query asks the model for its top-N with the user's training items excluded
///   (recommend_options::exclude_seen), N = the largest cutoff among the metrics (at least 25).
/// - The relevant set is the user's distinct test items, minus items the model can never
///   recommend under this protocol, each counted in the result instead of silently dropped:
///   items unknown to training (no training interaction at all) and items the user already had
///   in training (excluded from the recommendations by the protocol).
/// - Test users without training history are still queried (recipes fall back, e.g. to
///   popularity) and counted as cold users.
/// - Multi-threaded over fixed blocks of users; the metrics are identical for any thread count.
///
/// @code
///   recsys::evaluation_options opts;
///   opts.metrics = recsys::personalize_metrics();
///   auto result = recsys::evaluate(model, split.train, split.test, opts, job);
///   double ndcg = result.value("ndcg@10");
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/split.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace recsys {

/// How evaluate() runs.
struct evaluation_options {
  /// What to compute (names: metric_name(), e.g. ndcg@10).
  std::vector<metric> metrics = default_metrics();
  /// Length of the recommendation lists; 0: the largest metric cutoff, at least 25.
  index_t list_length = 0;
  /// Exclude each user's training items from the recommendations (the protocol's default).
  bool exclude_seen = true;
  /// Worker threads (0: all cores). Results do not depend on it.
  int num_threads = 0;
};

/// What evaluate() found.
struct evaluation_result {
  std::vector<metric_value> metrics;        ///< in the order requested
  std::int64_t queries = 0;                 ///< test users evaluated
  std::int64_t cold_users = 0;              ///< of those, users without training interactions
  std::int64_t test_interactions = 0;       ///< rows of the test log
  std::int64_t relevant_items = 0;          ///< distinct (user, item) pairs used as relevant
  std::int64_t unknown_item_pairs = 0;      ///< distinct test (user, item) pairs whose item has no training interaction
  std::int64_t seen_in_training_pairs = 0;  ///< distinct test (user, item) pairs already in the user's training data
  std::int64_t users_without_relevant = 0;  ///< test users left with no relevant item (not queried)
  double seconds = 0;                       ///< wall-clock time of the evaluation

  /// A metric's value by name (e.g. "ndcg@10").
  /// @throws recsys::invalid_argument when it was not computed.
  [[nodiscard]] double value(std::string_view name) const {
    const metric m = parse_metric(name);
    for (const auto& r : metrics)
      if (r.which == m) return r.value;
    detail::throw_invalid_argument("evaluation_result::value", "metric ", name, " was not computed");
  }
};

namespace detail {

/// (user, item) pairs of a log as sorted distinct 64-bit keys.
[[nodiscard]] inline std::vector<std::uint64_t> distinct_pairs(const interaction_log& log) {
  std::vector<std::uint64_t> keys(log.size());
  for (std::size_t r = 0; r < log.size(); ++r)
    keys[r] = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(log.users[r])) << 32) |
              static_cast<std::uint32_t>(log.items[r]);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace detail

/// Evaluates a fitted model on a split. `train` and `test` must share id maps (as recsys's split
/// functions produce), and the model must have been fitted on `train`.
/// @throws recsys::invalid_argument when the logs' id maps differ in size or metrics are invalid;
///         recsys::cancelled through the job's token.
template <recommender M>
[[nodiscard]] evaluation_result evaluate(const M& model, const interaction_log& train, const interaction_log& test,
                                         const evaluation_options& opts = {}, const job_control& job = {}) {
  constexpr const char* where = "evaluate";
  RECSYS_REQUIRE(train.num_items() == test.num_items() && train.num_users() == test.num_users(), where,
                 "train and test must share id maps (got ", train.num_users(), "x", train.num_items(), " and ",
                 test.num_users(), "x", test.num_items(), ")");
  RECSYS_REQUIRE(opts.list_length >= 0, where, "list_length must be >= 0 (got ", opts.list_length, ")");
  const auto start = std::chrono::steady_clock::now();
  const index_t num_items = train.num_items();

  index_t n = opts.list_length;
  if (n == 0) {
    n = 25;
    for (const auto& m : opts.metrics) n = std::max(n, m.k);
  }

  // What training knows.
  std::vector<char> item_known(static_cast<std::size_t>(num_items), 0), user_known(static_cast<std::size_t>(train.num_users()), 0);
  for (std::size_t r = 0; r < train.size(); ++r) {
    item_known[static_cast<std::size_t>(train.items[r])] = 1;
    user_known[static_cast<std::size_t>(train.users[r])] = 1;
  }
  const std::vector<std::uint64_t> train_pairs = opts.exclude_seen ? detail::distinct_pairs(train) : std::vector<std::uint64_t>{};
  std::vector<index_t> seen_count(static_cast<std::size_t>(train.num_users()), 0);
  for (std::uint64_t p : train_pairs) ++seen_count[static_cast<std::size_t>(p >> 32)];

  // Relevant sets per test user: test pairs, minus unknown items and (with exclude_seen) seen pairs.
  evaluation_result result;
  result.test_interactions = static_cast<std::int64_t>(test.size());
  const std::vector<std::uint64_t> test_pairs = detail::distinct_pairs(test);
  std::vector<index_t> users;
  std::vector<std::int64_t> offsets{0};
  std::vector<index_t> relevant;
  for (std::size_t a = 0; a < test_pairs.size();) {
    const auto user = static_cast<index_t>(test_pairs[a] >> 32);
    std::size_t b = a;
    const std::size_t before = relevant.size();
    for (; b < test_pairs.size() && static_cast<index_t>(test_pairs[b] >> 32) == user; ++b) {
      const auto item = static_cast<index_t>(test_pairs[b] & 0xFFFFFFFFu);
      if (!item_known[static_cast<std::size_t>(item)]) {
        ++result.unknown_item_pairs;
      } else if (opts.exclude_seen && std::binary_search(train_pairs.begin(), train_pairs.end(), test_pairs[b])) {
        ++result.seen_in_training_pairs;
      } else {
        relevant.push_back(item);
      }
    }
    if (relevant.size() > before) {
      users.push_back(user);
      offsets.push_back(static_cast<std::int64_t>(relevant.size()));
      if (!user_known[static_cast<std::size_t>(user)]) ++result.cold_users;
    } else {
      ++result.users_without_relevant;
    }
    a = b;
  }
  result.relevant_items = static_cast<std::int64_t>(relevant.size());

  // Queries in fixed blocks; one accumulator per block; merged in block order.
  const bool needs_candidates =
      std::any_of(opts.metrics.begin(), opts.metrics.end(), [](const metric& m) { return m.kind == metric_kind::auc; });
  constexpr std::int64_t block = 256;
  const auto num_queries = static_cast<std::int64_t>(users.size());
  const std::int64_t blocks = (num_queries + block - 1) / block;
  metrics_accumulator total(opts.metrics, num_items);
  std::vector<metrics_accumulator> partial(static_cast<std::size_t>(blocks), total);
  progress_reporter rep(job, "evaluate", num_queries);
  recommend_options ropts;
  ropts.exclude_seen = opts.exclude_seen;
  parallel_options po;
  po.num_threads = opts.num_threads;
  parallel_for(0, blocks, po, [&](std::int64_t b) {
    auto& acc = partial[static_cast<std::size_t>(b)];
    const std::int64_t hi = std::min(num_queries, (b + 1) * block);
    for (std::int64_t q = b * block; q < hi; ++q) {
      const index_t user = users[static_cast<std::size_t>(q)];
      const topk_result top = model.recommend(user, n, ropts);
      const std::span<const index_t> rel(relevant.data() + offsets[static_cast<std::size_t>(q)],
                                         static_cast<std::size_t>(offsets[static_cast<std::size_t>(q) + 1] -
                                                                  offsets[static_cast<std::size_t>(q)]));
      const std::int64_t candidates = needs_candidates ? num_items - seen_count[static_cast<std::size_t>(user)] : -1;
      acc.add(top.ids, rel, candidates);
    }
    rep.advance(hi - b * block);
  });
  for (const auto& p : partial) total.merge(p);
  rep.finish();

  result.metrics = total.results();
  result.queries = total.num_queries();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

/// Evaluates a fitted model on a split (see the other overload).
template <recommender M>
[[nodiscard]] evaluation_result evaluate(const M& model, const split& s, const evaluation_options& opts = {},
                                         const job_control& job = {}) {
  return evaluate(model, s.train, s.test, opts, job);
}

}  // namespace recsys

#endif  // RECSYS_EVAL_EVALUATOR_HPP
