// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_METRICS_HPP
#define RECSYS_EVAL_METRICS_HPP

/// @file
/// Offline ranking metrics with Amazon Personalize's definitions, per query and averaged over
/// queries.
///
/// A query is one ranked list (the recommendations for one user) and the set R of relevant
/// items (the user's test items). Positions count from 1 at the top; rel_i = 1 when the item at
/// position i is in R. With hits@K = sum_{i <= K} rel_i:
///
/// | name          | definition (per query; the reported value is the mean over queries)        |
/// |---------------|-----------------------------------------------------------------------------|
/// | precision@K   | hits@K / K  (K even when the list is shorter: Personalize's precision_at_K) |
/// | recall@K      | hits@K / abs(R)                                                              |
/// | hit@K         | 1 if hits@K > 0, else 0                                                      |
/// | ndcg@K        | DCG@K / IDCG@K, DCG@K = sum_{i<=K} rel_i / log2(1 + i), IDCG@K = the DCG of  |
/// |               | min(abs(R), K) relevant items at the top (Personalize's NDCG; the log base   |
/// |               | cancels)                                                                     |
/// | mrr@K         | 1 / (position of the first relevant item) if it is within the top K, else 0 |
/// |               | (Personalize: mean_reciprocal_rank_at_25)                                    |
/// | map@K         | (1 / min(abs(R), K)) * sum_{i<=K} rel_i * precision@i                        |
/// | auc           | see recsys::auc: the fraction of (relevant, non-relevant) candidate pairs    |
/// |               | ordered correctly, unlisted candidates tied below the list                   |
/// | coverage      | distinct items recommended over all queries / catalogue size                 |
///
/// - `relevant` is a set: its order and duplicates do not matter; it must not be empty.
/// - `ranked` holds distinct item ids, best first. invalid_index entries (the padding of the
///   top-K buffers) are empty positions: never relevant, but they keep their place.
/// - Violations throw recsys::invalid_argument naming the function and the value.
///
/// metrics_accumulator averages over queries with fixed-point sums (2^-32 resolution), so the
/// result is bitwise identical whatever the order of the queries and however partial
/// accumulators are merged: evaluations give the same figures for any thread count.
///
/// @code
/// recsys::metrics_accumulator acc(recsys::default_metrics(), model.num_items());
/// for (user u with test items) acc.add(model.recommend(u, 25).ids, test_items(u), candidates(u));
/// for (const auto& m : acc.results()) std::printf("%s %.4f\n", m.name.c_str(), m.value);
/// @endcode

#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace recsys {

/// The metrics recsys computes.
enum class metric_kind { precision, recall, hit, ndcg, mrr, map, auc, coverage };

/// One metric at one cutoff: {metric_kind::ndcg, 10} is `ndcg@10`. auc uses the whole list and
/// has k = 0; coverage uses the whole list when k = 0 (`coverage`) or the top k (`coverage@k`).
struct metric {
  metric_kind kind = metric_kind::ndcg;
  index_t k = 10;
  friend bool operator==(const metric&, const metric&) = default;
};

namespace detail {
inline constexpr std::string_view metric_short_names[] = {"precision", "recall", "hit", "ndcg",
                                                          "mrr",       "map",    "auc", "coverage"};

inline void validate_metric(const metric& m, const char* where) {
  const auto kind = static_cast<int>(m.kind);
  RECSYS_REQUIRE(kind >= 0 && kind <= static_cast<int>(metric_kind::coverage), where, "unknown metric kind ", kind);
  if (m.kind == metric_kind::auc)
    RECSYS_REQUIRE(m.k == 0, where, "auc has no cutoff (k must be 0, got ", m.k, ")");
  else if (m.kind == metric_kind::coverage)
    RECSYS_REQUIRE(m.k >= 0, where, "coverage cutoff must be >= 0 (got ", m.k, ")");
  else
    RECSYS_REQUIRE(m.k > 0, where, metric_short_names[kind], " needs a cutoff k > 0 (got ", m.k, ")");
}

inline bool parse_k(std::string_view text, index_t& k) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, k);
  return ec == std::errc() && p == end && k > 0;
}
}  // namespace detail

/// The metric's name as recsys prints it (CLI tables, --json keys): `ndcg@10`,
/// `precision@10`, `recall@20`, `hit@10`, `map@10`, `mrr@25`, `auc`, `coverage`, `coverage@25`.
/// @throws recsys::invalid_argument for an invalid metric (e.g. ndcg with k = 0).
[[nodiscard]] inline std::string metric_name(const metric& m) {
  detail::validate_metric(m, "metric_name");
  std::string name(detail::metric_short_names[static_cast<int>(m.kind)]);
  if (m.k > 0) {
    name += '@';
    name += std::to_string(m.k);
  }
  return name;
}

/// Personalize's name for the metric (`normalized_discounted_cumulative_gain_at_10`,
/// `precision_at_5`, `mean_reciprocal_rank_at_25`, `coverage`), or an empty string for the
/// metrics Personalize does not define (recall, hit, map, auc, mrr at another cutoff than 25,
/// coverage at a cutoff).
[[nodiscard]] inline std::string personalize_metric_name(const metric& m) {
  detail::validate_metric(m, "personalize_metric_name");
  const auto with_k = [&](std::string prefix) {  // append, not operator+ (GCC 12 false -Wrestrict)
    prefix += std::to_string(m.k);
    return prefix;
  };
  switch (m.kind) {
    case metric_kind::ndcg:
      return with_k("normalized_discounted_cumulative_gain_at_");
    case metric_kind::precision:
      return with_k("precision_at_");
    case metric_kind::mrr:
      return m.k == 25 ? "mean_reciprocal_rank_at_25" : "";
    case metric_kind::coverage:
      return m.k == 0 ? "coverage" : "";
    default:
      return "";
  }
}

/// Parses a metric name: recsys's short form (`ndcg@10`, `auc`, `coverage`, `coverage@25`) or
/// Personalize's long form (`normalized_discounted_cumulative_gain_at_10`, `precision_at_5`,
/// `mean_reciprocal_rank_at_25`, `coverage`).
/// @throws recsys::invalid_argument naming the text when it is not a metric.
[[nodiscard]] inline metric parse_metric(std::string_view name) {
  const auto fail = [&]() -> metric {
    detail::throw_invalid_argument("parse_metric", "unknown metric '", name,
                                   "' (expected e.g. ndcg@10, precision@10, recall@20, hit@10, map@10, mrr@25, auc, "
                                   "coverage, or a Personalize name such as precision_at_10)");
  };
  if (name == "auc") return {metric_kind::auc, 0};
  if (name == "coverage") return {metric_kind::coverage, 0};
  if (name == "mean_reciprocal_rank_at_25") return {metric_kind::mrr, 25};
  constexpr std::pair<std::string_view, metric_kind> long_names[] = {
      {"normalized_discounted_cumulative_gain_at_", metric_kind::ndcg}, {"precision_at_", metric_kind::precision}};
  for (const auto& [prefix, kind] : long_names)
    if (name.starts_with(prefix)) {
      index_t k = 0;
      if (!detail::parse_k(name.substr(prefix.size()), k)) return fail();
      return {kind, k};
    }
  const auto at = name.find('@');
  if (at == std::string_view::npos) return fail();
  const std::string_view base = name.substr(0, at);
  index_t k = 0;
  if (!detail::parse_k(name.substr(at + 1), k)) return fail();
  for (int kind = 0; kind <= static_cast<int>(metric_kind::coverage); ++kind)
    if (base == detail::metric_short_names[kind] && static_cast<metric_kind>(kind) != metric_kind::auc)
      return {static_cast<metric_kind>(kind), k};
  return fail();
}

/// The metrics Personalize reports for a solution version: coverage, mrr@25, ndcg@5/10/25,
/// precision@5/10/25.
[[nodiscard]] inline std::vector<metric> personalize_metrics() {
  return {{metric_kind::coverage, 0},   {metric_kind::mrr, 25},      {metric_kind::ndcg, 5},
          {metric_kind::ndcg, 10},      {metric_kind::ndcg, 25},     {metric_kind::precision, 5},
          {metric_kind::precision, 10}, {metric_kind::precision, 25}};
}

/// recsys's default report: ndcg@10, precision@10, recall@20, mrr@25, coverage, hit@10, map@10,
/// auc (needs the lists to be at least 25 long to be exact for mrr@25).
[[nodiscard]] inline std::vector<metric> default_metrics() {
  return {{metric_kind::ndcg, 10},    {metric_kind::precision, 10}, {metric_kind::recall, 20}, {metric_kind::mrr, 25},
          {metric_kind::coverage, 0}, {metric_kind::hit, 10},       {metric_kind::map, 10},    {metric_kind::auc, 0}};
}

namespace detail {

/// Sorted distinct copy of a relevant set, validated.
inline void relevant_set(std::span<const index_t> relevant, std::vector<index_t>& out, const char* where) {
  RECSYS_REQUIRE(!relevant.empty(), where, "the relevant set is empty (a query needs at least one relevant item)");
  out.assign(relevant.begin(), relevant.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  RECSYS_REQUIRE(out.front() >= 0, where, "relevant item ids must be >= 0 (got ", out.front(), ")");
}

/// rel_i for every position of `ranked`; checks the list (distinct ids, invalid_index padding).
inline void mark_hits(std::span<const index_t> ranked, const std::vector<index_t>& relevant_sorted,
                      std::vector<char>& hits, std::vector<index_t>& scratch, const char* where) {
  scratch.clear();
  for (index_t id : ranked) {
    if (id == invalid_index) continue;
    RECSYS_REQUIRE(id >= 0, where, "ranked item ids must be >= 0 or invalid_index (got ", id, ")");
    scratch.push_back(id);
  }
  std::sort(scratch.begin(), scratch.end());
  const auto dup = std::adjacent_find(scratch.begin(), scratch.end());
  RECSYS_REQUIRE(dup == scratch.end(), where, "item ", dup == scratch.end() ? 0 : *dup,
                 " appears more than once in the ranked list");
  hits.resize(ranked.size());
  for (std::size_t i = 0; i < ranked.size(); ++i)
    hits[i] =
        ranked[i] != invalid_index && std::binary_search(relevant_sorted.begin(), relevant_sorted.end(), ranked[i]);
}

inline std::size_t cutoff(std::size_t list, index_t k) noexcept { return std::min(list, static_cast<std::size_t>(k)); }

inline double log2_discount(std::size_t position) noexcept {  // 1-based position
  return 1.0 / std::log2(static_cast<double>(position) + 1.0);
}

/// Per-query metric values from the hit vector (hits[i] for position i + 1).
struct query_hits {
  const std::vector<char>& hits;
  std::size_t num_relevant;

  [[nodiscard]] std::size_t hits_at(index_t k) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < cutoff(hits.size(), k); ++i) n += static_cast<std::size_t>(hits[i]);
    return n;
  }
  [[nodiscard]] double precision(index_t k) const noexcept { return static_cast<double>(hits_at(k)) / k; }
  [[nodiscard]] double recall(index_t k) const noexcept {
    return static_cast<double>(hits_at(k)) / static_cast<double>(num_relevant);
  }
  [[nodiscard]] double hit(index_t k) const noexcept { return hits_at(k) > 0 ? 1.0 : 0.0; }
  [[nodiscard]] double ndcg(index_t k) const noexcept {
    double dcg = 0, ideal = 0;
    for (std::size_t i = 0; i < cutoff(hits.size(), k); ++i)
      if (hits[i]) dcg += log2_discount(i + 1);
    for (std::size_t i = 0; i < cutoff(num_relevant, k); ++i) ideal += log2_discount(i + 1);
    return dcg / ideal;
  }
  [[nodiscard]] double reciprocal_rank(index_t k) const noexcept {
    for (std::size_t i = 0; i < cutoff(hits.size(), k); ++i)
      if (hits[i]) return 1.0 / static_cast<double>(i + 1);
    return 0.0;
  }
  [[nodiscard]] double average_precision(index_t k) const noexcept {
    double sum = 0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < cutoff(hits.size(), k); ++i)
      if (hits[i]) sum += static_cast<double>(++found) / static_cast<double>(i + 1);
    return sum / static_cast<double>(cutoff(num_relevant, k));
  }
  /// NaN when there is no non-relevant candidate.
  [[nodiscard]] double auc(std::int64_t num_candidates, std::span<const index_t> ranked, const char* where) const {
    std::int64_t listed = 0, listed_relevant = 0;
    for (std::size_t i = 0; i < hits.size(); ++i) {
      if (ranked[i] == invalid_index) continue;
      ++listed;
      listed_relevant += hits[i];
    }
    const auto r = static_cast<std::int64_t>(num_relevant);
    const std::int64_t listed_other = listed - listed_relevant;
    RECSYS_REQUIRE(num_candidates >= r + listed_other, where, "num_candidates = ", num_candidates,
                   " but the query has ", r, " relevant and ", listed_other, " other listed items");
    const std::int64_t m = num_candidates - r;  // non-relevant candidates
    if (m == 0) return std::numeric_limits<double>::quiet_NaN();
    double correct = 0;  // (relevant, non-relevant) pairs with the relevant item ranked above
    std::int64_t others_above = 0;
    for (std::size_t i = 0; i < hits.size(); ++i) {
      if (ranked[i] == invalid_index) continue;
      if (hits[i])
        correct += static_cast<double>(m - others_above);
      else
        ++others_above;
    }
    const auto unlisted_relevant = static_cast<double>(r - listed_relevant);
    correct += 0.5 * unlisted_relevant * static_cast<double>(m - listed_other);  // ties below the list
    return correct / (static_cast<double>(r) * static_cast<double>(m));
  }
};

template <class F>
double per_query(std::span<const index_t> ranked, std::span<const index_t> relevant, const char* where, F&& f) {
  std::vector<index_t> rel, scratch;
  std::vector<char> hits;
  relevant_set(relevant, rel, where);
  mark_hits(ranked, rel, hits, scratch, where);
  return f(query_hits{hits, rel.size()});
}

inline void require_cutoff(index_t k, const char* where) {
  RECSYS_REQUIRE(k > 0, where, "k must be > 0 (got ", k, ")");
}

}  // namespace detail

/// precision@k = (relevant items in the top k) / k (Personalize's precision_at_K).
/// @throws recsys::invalid_argument on k <= 0, an empty relevant set or a malformed list.
/// @code
/// const recsys::index_t ranked[] = {7, 3, 9, 4, 1}, relevant[] = {3, 1};
/// recsys::precision_at_k(ranked, relevant, 5);  // 0.4
/// @endcode
[[nodiscard]] inline double precision_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant,
                                           index_t k) {
  detail::require_cutoff(k, "precision_at_k");
  return detail::per_query(ranked, relevant, "precision_at_k",
                           [&](const detail::query_hits& h) { return h.precision(k); });
}

/// recall@k = (relevant items in the top k) / (number of relevant items).
[[nodiscard]] inline double recall_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant, index_t k) {
  detail::require_cutoff(k, "recall_at_k");
  return detail::per_query(ranked, relevant, "recall_at_k", [&](const detail::query_hits& h) { return h.recall(k); });
}

/// hit@k = 1 when at least one relevant item is in the top k, else 0.
[[nodiscard]] inline double hit_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant, index_t k) {
  detail::require_cutoff(k, "hit_at_k");
  return detail::per_query(ranked, relevant, "hit_at_k", [&](const detail::query_hits& h) { return h.hit(k); });
}

/// ndcg@k: DCG of the top k (weight 1 / log2(1 + position), position 1 at the top) divided by
/// the DCG of min(|relevant|, k) relevant items at the top (Personalize's NDCG).
[[nodiscard]] inline double ndcg_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant, index_t k) {
  detail::require_cutoff(k, "ndcg_at_k");
  return detail::per_query(ranked, relevant, "ndcg_at_k", [&](const detail::query_hits& h) { return h.ndcg(k); });
}

/// Reciprocal rank of the first relevant item within the top k (0 when none); its mean over
/// queries is Personalize's mean_reciprocal_rank_at_25 for k = 25.
[[nodiscard]] inline double reciprocal_rank_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant,
                                                 index_t k = 25) {
  detail::require_cutoff(k, "reciprocal_rank_at_k");
  return detail::per_query(ranked, relevant, "reciprocal_rank_at_k",
                           [&](const detail::query_hits& h) { return h.reciprocal_rank(k); });
}

/// Average precision at k: the mean of precision@i over the positions i <= k holding a relevant
/// item, divided by min(|relevant|, k) rather than the number found (so missing items count).
[[nodiscard]] inline double average_precision_at_k(std::span<const index_t> ranked, std::span<const index_t> relevant,
                                                   index_t k) {
  detail::require_cutoff(k, "average_precision_at_k");
  return detail::per_query(ranked, relevant, "average_precision_at_k",
                           [&](const detail::query_hits& h) { return h.average_precision(k); });
}

/// AUC of a ranked list against a catalogue of `num_candidates` items the model could have
/// recommended for this query (typically the catalogue minus the query's excluded items).
///
/// With R the relevant items and M = num_candidates - |R| the non-relevant candidates, AUC is
/// the fraction of the |R| * M (relevant, non-relevant) pairs in which the relevant item ranks
/// above the non-relevant one. Candidates missing from the list all rank below it, tied with
/// each other (a tied pair counts 1/2). It equals the usual ROC AUC when the list holds every
/// candidate, is 0.5 for an empty list, and 1 when the relevant items lead the list.
/// Relevant items outside the list count as candidates (tied below the list).
///
/// @return the AUC, or NaN when there is no non-relevant candidate (M = 0: undefined).
/// @throws recsys::invalid_argument when num_candidates is smaller than the relevant items
///         plus the listed non-relevant items, or for the usual malformed inputs.
[[nodiscard]] inline double auc(std::span<const index_t> ranked, std::span<const index_t> relevant,
                                std::int64_t num_candidates) {
  return detail::per_query(ranked, relevant, "auc",
                           [&](const detail::query_hits& h) { return h.auc(num_candidates, ranked, "auc"); });
}

/// One reported figure.
struct metric_value {
  metric which;
  std::string name;          ///< metric_name(which)
  double value = 0;          ///< mean over `queries` queries (coverage: the fraction of the catalogue)
  std::int64_t queries = 0;  ///< queries averaged (auc leaves out queries where it is undefined)
};

/// Averages metrics over queries. Not thread-safe: use one per thread (or per fixed block of
/// queries) and merge(); sums are fixed-point integers (each query's value rounded to a
/// multiple of 2^-32), so results do not depend on the order of add() and merge() calls, and
/// means are exact to about 1e-10. At most 2^31 queries per accumulator.
class metrics_accumulator {
 public:
  /// @param metrics         what to compute (e.g. default_metrics() or personalize_metrics()).
  /// @param catalogue_size  number of items in the catalogue, needed for coverage (Personalize:
  ///                        unique items of the Interactions and Items datasets).
  /// @throws recsys::invalid_argument for an invalid metric, a duplicate, or coverage without
  ///         a catalogue size.
  explicit metrics_accumulator(std::vector<metric> metrics, index_t catalogue_size = 0)
      : metrics_(std::move(metrics)), catalogue_size_(catalogue_size) {
    RECSYS_REQUIRE(catalogue_size >= 0, "metrics_accumulator", "catalogue_size must be >= 0 (got ", catalogue_size,
                   ")");
    for (std::size_t i = 0; i < metrics_.size(); ++i) {
      detail::validate_metric(metrics_[i], "metrics_accumulator");
      for (std::size_t j = 0; j < i; ++j)
        RECSYS_REQUIRE(!(metrics_[j] == metrics_[i]), "metrics_accumulator", "metric ", metric_name(metrics_[i]),
                       " is listed twice");
      if (metrics_[i].kind == metric_kind::coverage) {
        RECSYS_REQUIRE(catalogue_size > 0, "metrics_accumulator", metric_name(metrics_[i]),
                       " needs the catalogue size (got ", catalogue_size, ")");
        coverage_.emplace_back(static_cast<std::size_t>(catalogue_size), 0);
      }
      if (metrics_[i].kind == metric_kind::auc) needs_candidates_ = true;
    }
    sums_.assign(metrics_.size(), 0);
    counts_.assign(metrics_.size(), 0);
    distinct_.assign(coverage_.size(), 0);
  }

  /// Adds one query: its ranked list (best first) and its relevant items.
  /// @param num_candidates  items the model could have ranked for this query (needed by auc;
  ///                        -1 when auc is not computed).
  /// @throws recsys::invalid_argument on an empty relevant set, a malformed list, an item id
  ///         outside the catalogue (with coverage), or a missing num_candidates (with auc).
  void add(std::span<const index_t> ranked, std::span<const index_t> relevant, std::int64_t num_candidates = -1) {
    constexpr const char* where = "metrics_accumulator::add";
    RECSYS_REQUIRE(queries_ < max_queries, where, "more than ", max_queries,
                   " queries (the fixed-point sums would overflow)");
    RECSYS_REQUIRE(!needs_candidates_ || num_candidates >= 0, where,
                   "auc needs the number of candidate items of each query (got ", num_candidates, ")");
    detail::relevant_set(relevant, rel_, where);
    detail::mark_hits(ranked, rel_, hits_, scratch_, where);
    if (!coverage_.empty() && !scratch_.empty())  // scratch_: the listed ids, sorted
      RECSYS_REQUIRE(scratch_.back() < catalogue_size_, where, "item ", scratch_.back(),
                     " is outside the catalogue of ", catalogue_size_, " items");
    const detail::query_hits h{hits_, rel_.size()};
    std::size_t cov = 0;
    for (std::size_t i = 0; i < metrics_.size(); ++i) {
      const metric& m = metrics_[i];
      double v = 0;
      switch (m.kind) {
        case metric_kind::precision:
          v = h.precision(m.k);
          break;
        case metric_kind::recall:
          v = h.recall(m.k);
          break;
        case metric_kind::hit:
          v = h.hit(m.k);
          break;
        case metric_kind::ndcg:
          v = h.ndcg(m.k);
          break;
        case metric_kind::mrr:
          v = h.reciprocal_rank(m.k);
          break;
        case metric_kind::map:
          v = h.average_precision(m.k);
          break;
        case metric_kind::auc:
          v = h.auc(num_candidates, ranked, where);
          break;
        case metric_kind::coverage: {
          auto& seen = coverage_[cov];
          const std::size_t n = m.k == 0 ? ranked.size() : detail::cutoff(ranked.size(), m.k);
          for (std::size_t j = 0; j < n; ++j) {
            const index_t id = ranked[j];
            if (id == invalid_index || seen[static_cast<std::size_t>(id)]) continue;
            seen[static_cast<std::size_t>(id)] = 1;
            ++distinct_[cov];
          }
          ++cov;
          ++counts_[i];
          continue;
        }
      }
      if (v != v) continue;  // undefined for this query (auc without a non-relevant candidate)
      sums_[i] += to_fixed(v);
      ++counts_[i];
    }
    ++queries_;
    relevant_total_ += static_cast<std::int64_t>(rel_.size());
    for (index_t id : ranked) recommended_total_ += id != invalid_index;
  }

  /// Adds another accumulator's queries (same metrics and catalogue size).
  /// @throws recsys::invalid_argument when the two were built differently.
  void merge(const metrics_accumulator& other) {
    RECSYS_REQUIRE(other.metrics_ == metrics_ && other.catalogue_size_ == catalogue_size_, "metrics_accumulator::merge",
                   "the accumulators compute different metrics or catalogues");
    for (std::size_t i = 0; i < sums_.size(); ++i) {
      sums_[i] += other.sums_[i];
      counts_[i] += other.counts_[i];
    }
    for (std::size_t c = 0; c < coverage_.size(); ++c) {
      for (std::size_t i = 0; i < coverage_[c].size(); ++i)
        if (other.coverage_[c][i] && !coverage_[c][i]) {
          coverage_[c][i] = 1;
          ++distinct_[c];
        }
    }
    queries_ += other.queries_;
    relevant_total_ += other.relevant_total_;
    recommended_total_ += other.recommended_total_;
  }

  [[nodiscard]] const std::vector<metric>& metrics() const noexcept { return metrics_; }
  /// Number of queries added.
  [[nodiscard]] std::int64_t num_queries() const noexcept { return queries_; }
  /// Sum over queries of the number of (distinct) relevant items.
  [[nodiscard]] std::int64_t num_relevant() const noexcept { return relevant_total_; }
  /// Sum over queries of the listed items (padding excluded).
  [[nodiscard]] std::int64_t num_recommended() const noexcept { return recommended_total_; }
  [[nodiscard]] index_t catalogue_size() const noexcept { return catalogue_size_; }

  /// The figures, in the order of metrics(). A metric without any query reports NaN.
  [[nodiscard]] std::vector<metric_value> results() const {
    std::vector<metric_value> out;
    std::size_t cov = 0;
    for (std::size_t i = 0; i < metrics_.size(); ++i) {
      metric_value r{metrics_[i], metric_name(metrics_[i]), 0.0, counts_[i]};
      if (metrics_[i].kind == metric_kind::coverage)
        r.value = static_cast<double>(distinct_[cov++]) / static_cast<double>(catalogue_size_);
      else
        r.value = counts_[i] == 0 ? std::numeric_limits<double>::quiet_NaN()
                                  : static_cast<double>(sums_[i]) / fixed_one / static_cast<double>(counts_[i]);
      out.push_back(std::move(r));
    }
    return out;
  }

  /// One figure by metric or by name (`ndcg@10`).
  /// @throws recsys::invalid_argument when the metric is not computed here.
  [[nodiscard]] double value(const metric& m) const {
    for (const auto& r : results())
      if (r.which == m) return r.value;
    detail::throw_invalid_argument("metrics_accumulator::value", "metric ", metric_name(m), " is not computed");
  }
  [[nodiscard]] double value(std::string_view name) const { return value(parse_metric(name)); }

 private:
  static constexpr double fixed_one = 4294967296.0;                   // 2^32: a value in [0, 1] -> [0, 2^32]
  static constexpr std::int64_t max_queries = std::int64_t{1} << 31;  // sums stay below 2^63
  static std::uint64_t to_fixed(double v) noexcept { return static_cast<std::uint64_t>(std::llround(v * fixed_one)); }

  std::vector<metric> metrics_;
  index_t catalogue_size_ = 0;
  bool needs_candidates_ = false;
  std::vector<std::uint64_t> sums_;
  std::vector<std::int64_t> counts_;
  std::vector<std::vector<char>> coverage_;
  std::vector<std::int64_t> distinct_;
  std::int64_t queries_ = 0;
  std::int64_t relevant_total_ = 0;
  std::int64_t recommended_total_ = 0;
  // scratch reused across add() calls
  std::vector<index_t> rel_;
  std::vector<index_t> scratch_;
  std::vector<char> hits_;
};

}  // namespace recsys

#endif  // RECSYS_EVAL_METRICS_HPP
