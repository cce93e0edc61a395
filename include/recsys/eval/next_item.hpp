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
///
/// The model side (next_item_scorer, next_item_prediction, next_item_sink) is declared in
/// models/next_item_scorer.hpp; the definitions are in eval/next_item-inl.hpp.

#include <recsys/config.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/metrics.hpp>
#include <recsys/eval/next_item_options.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/next_item_scorer.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// The 1-based rank of `target` among `scores` (fractional in median mode). A NaN target score
/// ranks last (scores.size()).
/// @throws recsys::invalid_argument if target is out of range.
template <class = void>
[[nodiscard]] double next_item_rank(std::span<const score_t> scores, index_t target, tie_mode mode);

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
/// merged in chunk order give results independent of the thread count. (`next_item_accumulator`
/// is `basic_next_item_accumulator<>`; see config.hpp.)
template <class T>
class basic_next_item_accumulator {
 public:
  explicit basic_next_item_accumulator(std::span<const index_t> cutoffs = {})
      : cutoffs_(cutoffs.begin(), cutoffs.end()), hits_(cutoffs.size(), 0), rr_(cutoffs.size(), 0.0) {}

  void add(double rank);
  void merge(const basic_next_item_accumulator& o);
  [[nodiscard]] std::int64_t count() const noexcept { return n_; }
  [[nodiscard]] next_item_metrics finish(tie_mode ties) const;

 private:
  std::vector<index_t> cutoffs_;
  std::vector<std::int64_t> hits_;
  std::vector<double> rr_;
  std::int64_t n_ = 0;
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

namespace detail {

/// A next_item_scorer seen through plain function pointers, so that the evaluation loop
/// (evaluate_next_item_any) is compiled once for every model type.
struct next_item_scorer_ref {
  const void* model = nullptr;
  index_t (*num_items)(const void* model) = nullptr;
  bool (*knows_item)(const void* model, index_t item) = nullptr;
  std::size_t (*next_item_chunks)(const void* model, const session_data& test) = nullptr;
  void (*score_next_items)(const void* model, const session_data& test, std::size_t chunk,
                           const next_item_sink& sink) = nullptr;

  template <next_item_scorer M>
  [[nodiscard]] static next_item_scorer_ref of(const M& m) noexcept {
    next_item_scorer_ref r;
    r.model = &m;
    r.num_items = [](const void* p) -> index_t { return static_cast<const M*>(p)->num_items(); };
    r.knows_item = [](const void* p, index_t i) -> bool { return static_cast<const M*>(p)->knows_item(i); };
    r.next_item_chunks = [](const void* p, const session_data& t) -> std::size_t {
      return static_cast<const M*>(p)->next_item_chunks(t);
    };
    r.score_next_items = [](const void* p, const session_data& t, std::size_t c, const next_item_sink& s) {
      static_cast<const M*>(p)->score_next_items(t, c, s);
    };
    return r;
  }
};

/// evaluate_next_item for any model (see there).
template <class = void>
[[nodiscard]] next_item_metrics evaluate_next_item_any(const next_item_scorer_ref& model, const session_data& test,
                                                       const next_item_options& opts, const job_control& job);

}  // namespace detail

/// Next-item Recall@K / MRR@K of `model` on `test` (see the file comment). Events whose item the
/// model does not know are dropped first, then sessions shorter than 2 (both counted in the
/// result; keep_known_items gives the filtered set the session indices of the predictions refer
/// to). Deterministic: chunks are fixed by the model and merged in order.
/// @throws recsys::invalid_argument on an empty or non-positive cutoff; recsys::cancelled.
template <next_item_scorer M>
[[nodiscard]] next_item_metrics evaluate_next_item(const M& model, const session_data& test,
                                                   const next_item_options& opts = {}, const job_control& job = {}) {
  return detail::evaluate_next_item_any(detail::next_item_scorer_ref::of(model), test, opts, job);
}

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/eval/next_item-inl.hpp>
#else
namespace recsys {
extern template double next_item_rank<>(std::span<const score_t>, index_t, tie_mode);
extern template class basic_next_item_accumulator<void>;
namespace detail {
extern template next_item_metrics evaluate_next_item_any<>(const next_item_scorer_ref&, const session_data&,
                                                           const next_item_options&, const job_control&);
}  // namespace detail
}  // namespace recsys
#endif

#endif  // RECSYS_EVAL_NEXT_ITEM_HPP
