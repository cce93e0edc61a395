// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_NEXT_ITEM_HPP
#define RECSYS_EVAL_NEXT_ITEM_HPP

/// @file
/// Next-item evaluation of session models, with GRU4Rec's protocol so that figures compare with
/// published ones: every event of a test session except the last predicts the next item, the
/// target is ranked against **all** items the model knows, and Recall@K / MRR@K are averaged
/// over predictions.
///
/// Tie handling (how the target ranks among items with exactly its score), as GRU4Rec's
/// `batch_eval -e`:
///   - standard:     rank = #(score > target) + 1                    (optimistic)
///   - conservative: rank = #(score ≥ target), the target included   (pessimistic; GRU4Rec's default)
///   - median:       rank = #(score > target) + 1 + (#(score = target) − 1) / 2
/// Recall@K is the share of predictions with rank ≤ K; MRR@K the mean of 1/rank over
/// predictions with rank ≤ K (0 otherwise).
///
/// @code
///   recsys::next_item_options opts;           // cutoffs 1, 5, 10, 20; conservative ties
///   auto m = recsys::evaluate_next_item(model, test_sessions, opts);
///   double r20 = m.recall_at(20), mrr20 = m.mrr_at(20);
///   for (auto& [name, value] : m.named()) std::printf("%s %.4f\n", name.c_str(), value);  // "recall@20" ...
/// @endcode

#include <recsys/data/sessions.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// How a target that shares its score with other items is ranked (see the file comment).
enum class tie_mode { standard, conservative, median };

/// "standard", "conservative" or "median".
[[nodiscard]] inline const char* to_string(tie_mode m) noexcept {
  switch (m) {
    case tie_mode::standard: return "standard";
    case tie_mode::conservative: return "conservative";
    case tie_mode::median: return "median";
  }
  return "?";
}

/// The 1-based rank of `target` among `scores` (fractional in median mode). A NaN target score
/// ranks last (scores.size()).
/// @throws recsys::invalid_argument if target is out of range.
[[nodiscard]] inline double next_item_rank(std::span<const score_t> scores, index_t target, tie_mode mode) {
  RECSYS_REQUIRE(target >= 0 && static_cast<std::size_t>(target) < scores.size(), "next_item_rank", "target ",
                 target, " out of range [0, ", scores.size(), ")");
  const score_t t = scores[static_cast<std::size_t>(target)];
  if (std::isnan(t)) return static_cast<double>(scores.size());
  std::int64_t greater = 0, equal = 0;
  for (const score_t s : scores) {
    greater += s > t ? 1 : 0;
    equal += s == t ? 1 : 0;
  }
  switch (mode) {
    case tie_mode::standard: return static_cast<double>(greater + 1);
    case tie_mode::conservative: return static_cast<double>(greater + equal);
    case tie_mode::median: return static_cast<double>(greater) + 1.0 + 0.5 * static_cast<double>(equal - 1);
  }
  return 0;
}

/// What evaluate_next_item measures.
struct next_item_options {
  std::vector<index_t> cutoffs{1, 5, 10, 20};  ///< the K of Recall@K and MRR@K
  tie_mode ties = tie_mode::conservative;      ///< GRU4Rec's default
  int num_threads = 0;                         ///< 0 = default
};

/// Recall@K and MRR@K for each cutoff, plus the counts behind them.
struct next_item_metrics {
  std::vector<index_t> cutoffs;
  std::vector<double> recall;         ///< recall[i] is Recall@cutoffs[i]
  std::vector<double> mrr;            ///< mrr[i] is MRR@cutoffs[i]
  tie_mode ties = tie_mode::conservative;
  std::int64_t predictions = 0;       ///< ranked targets
  std::int64_t sessions = 0;          ///< test sessions that produced at least one prediction
  std::int64_t events_dropped = 0;    ///< test events whose item the model does not know
  std::int64_t sessions_dropped = 0;  ///< test sessions left with fewer than 2 events

  /// Recall@k. @throws recsys::invalid_argument if k was not among the cutoffs.
  [[nodiscard]] double recall_at(index_t k) const { return recall[index_of(k)]; }
  /// MRR@k. @throws recsys::invalid_argument if k was not among the cutoffs.
  [[nodiscard]] double mrr_at(index_t k) const { return mrr[index_of(k)]; }

  /// ("recall@K", value) and ("mrr@K", value) for every cutoff, recall first; the names are
  /// recsys::metric_name's (eval/metrics.hpp), as the CLI prints them.
  [[nodiscard]] std::vector<std::pair<std::string, double>> named() const {
    std::vector<std::pair<std::string, double>> out;
    for (std::size_t i = 0; i < cutoffs.size(); ++i)
      out.emplace_back(metric_name(metric{metric_kind::recall, cutoffs[i]}), recall[i]);
    for (std::size_t i = 0; i < cutoffs.size(); ++i)
      out.emplace_back(metric_name(metric{metric_kind::mrr, cutoffs[i]}), mrr[i]);
    return out;
  }

 private:
  [[nodiscard]] std::size_t index_of(index_t k) const {
    for (std::size_t i = 0; i < cutoffs.size(); ++i)
      if (cutoffs[i] == k) return i;
    detail::throw_invalid_argument("next_item_metrics", "cutoff ", k, " was not evaluated");
  }
};

/// Sums ranks into hit counts and reciprocal ranks per cutoff. Accumulators of fixed work chunks
/// merged in chunk order give results independent of the thread count.
class next_item_accumulator {
 public:
  explicit next_item_accumulator(std::span<const index_t> cutoffs = {})
      : cutoffs_(cutoffs.begin(), cutoffs.end()), hits_(cutoffs.size(), 0), rr_(cutoffs.size(), 0.0) {}

  void add(double rank) {
    ++n_;
    for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
      if (rank <= static_cast<double>(cutoffs_[i])) {
        ++hits_[i];
        rr_[i] += 1.0 / rank;
      }
    }
  }
  void merge(const next_item_accumulator& o) {
    n_ += o.n_;
    for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
      hits_[i] += o.hits_[i];
      rr_[i] += o.rr_[i];
    }
  }
  [[nodiscard]] std::int64_t count() const noexcept { return n_; }
  [[nodiscard]] next_item_metrics finish(tie_mode ties) const {
    next_item_metrics m;
    m.cutoffs = cutoffs_;
    m.ties = ties;
    m.predictions = n_;
    for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
      m.recall.push_back(n_ ? static_cast<double>(hits_[i]) / static_cast<double>(n_) : 0.0);
      m.mrr.push_back(n_ ? rr_[i] / static_cast<double>(n_) : 0.0);
    }
    return m;
  }

 private:
  std::vector<index_t> cutoffs_;
  std::vector<std::int64_t> hits_;
  std::vector<double> rr_;
  std::int64_t n_ = 0;
};

/// One prediction of a next-item evaluation.
struct next_item_prediction {
  std::size_t session = 0;            ///< index of the session in the (filtered) test set
  std::size_t position = 0;           ///< the event at this position predicts the one after it
  index_t target = invalid_index;     ///< the next item
  std::span<const score_t> scores;    ///< scores of all items (index = item); NaN for unknown items
};

/// Receives the predictions of a model, one at a time.
using next_item_sink = std::function<void(const next_item_prediction&)>;

/// A model that scores next items for test sessions in independent, fixed chunks of work:
/// next_item_chunks(test) chunks, and score_next_items(test, chunk, sink) calls sink for every
/// prediction of that chunk (const and thread-safe; sessions of one chunk may interleave).
/// knows_item(i) says whether the model can use item i (GRU4Rec drops test events with items
/// unseen in training).
template <class M>
concept next_item_scorer = requires(const M& m, const session_data& test, std::size_t chunk,
                                    const next_item_sink& sink, index_t item) {
  { m.num_items() } -> std::convertible_to<index_t>;
  { m.knows_item(item) } -> std::convertible_to<bool>;
  { m.next_item_chunks(test) } -> std::convertible_to<std::size_t>;
  m.score_next_items(test, chunk, sink);
};

/// Counts of what keep_known_items removed.
struct filter_counts {
  std::int64_t events_dropped = 0;
  std::int64_t sessions_dropped = 0;
};

/// A copy of `sessions` without the events whose item fails `known(item)`, and without the
/// sessions that are left with fewer than `min_length` events (both counted in `counts`).
template <class Known>
[[nodiscard]] session_data keep_known_items(const session_data& sessions, Known&& known, filter_counts* counts = nullptr,
                                            std::size_t min_length = 2) {
  session_data out;
  out.num_items = sessions.num_items;
  filter_counts c;
  std::vector<index_t> items;
  std::vector<timestamp_t> times;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    items.clear();
    times.clear();
    const auto its = sessions.session(s);
    const auto ts = sessions.session_times(s);
    for (std::size_t j = 0; j < its.size(); ++j) {
      if (known(its[j])) {
        items.push_back(its[j]);
        times.push_back(j < ts.size() ? ts[j] : 0);
      } else {
        ++c.events_dropped;
      }
    }
    if (items.size() < min_length) {
      ++c.sessions_dropped;
      continue;
    }
    out.push_session(items, times, s < sessions.users.size() ? sessions.users[s] : invalid_index,
                     s < sessions.session_ids.size() ? sessions.session_ids[s] : invalid_index);
  }
  if (counts) *counts = c;
  return out;
}

/// Next-item Recall@K / MRR@K of `model` on `test` (see the file comment). Events whose item the
/// model does not know are dropped first, then sessions shorter than 2 (both counted in the
/// result; keep_known_items gives the filtered set the session indices of the predictions refer
/// to). Deterministic: chunks are fixed by the model and merged in order.
/// @throws recsys::invalid_argument on an empty or non-positive cutoff; recsys::cancelled.
template <next_item_scorer M>
[[nodiscard]] next_item_metrics evaluate_next_item(const M& model, const session_data& test,
                                                   const next_item_options& opts = {}, const job_control& job = {}) {
  RECSYS_REQUIRE(!opts.cutoffs.empty(), "evaluate_next_item", "no cutoffs given");
  for (index_t k : opts.cutoffs) RECSYS_REQUIRE(k > 0, "evaluate_next_item", "cutoff must be > 0 (got ", k, ")");
  filter_counts dropped;
  const session_data clean = keep_known_items(
      test, [&](index_t i) { return i >= 0 && i < model.num_items() && model.knows_item(i); }, &dropped);
  const std::size_t chunks = model.next_item_chunks(clean);
  std::vector<next_item_accumulator> acc(chunks, next_item_accumulator(opts.cutoffs));
  progress_reporter progress(job, "evaluate next item", static_cast<std::int64_t>(chunks));
  parallel_for(0, static_cast<std::int64_t>(chunks), parallel_options{opts.num_threads, 1, 2}, [&](std::int64_t c) {
    auto& a = acc[static_cast<std::size_t>(c)];
    model.score_next_items(clean, static_cast<std::size_t>(c), [&](const next_item_prediction& p) {
      a.add(next_item_rank(p.scores, p.target, opts.ties));
    });
    progress.advance();
  });
  next_item_accumulator total(opts.cutoffs);
  for (const auto& a : acc) total.merge(a);
  next_item_metrics m = total.finish(opts.ties);
  m.sessions = static_cast<std::int64_t>(clean.size());
  m.events_dropped = dropped.events_dropped;
  m.sessions_dropped = dropped.sessions_dropped;
  progress.finish();
  return m;
}

}  // namespace recsys

#endif  // RECSYS_EVAL_NEXT_ITEM_HPP
