// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_NEXT_ITEM_INL_HPP
#define RECSYS_EVAL_NEXT_ITEM_INL_HPP

/// @file
/// Definitions of eval/next_item.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/next_item.cpp).

#include <recsys/eval/next_item.hpp>

#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

template <class>
double next_item_rank(std::span<const score_t> scores, index_t target, tie_mode mode) {
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

// ---------------------------------------------------------------------------------------------
// basic_next_item_accumulator

template <class T>
void basic_next_item_accumulator<T>::add(double rank) {
  ++n_;
  for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
    if (rank <= static_cast<double>(cutoffs_[i])) {
      ++hits_[i];
      rr_[i] += 1.0 / rank;
    }
  }
}

template <class T>
void basic_next_item_accumulator<T>::merge(const basic_next_item_accumulator& o) {
  n_ += o.n_;
  for (std::size_t i = 0; i < cutoffs_.size(); ++i) {
    hits_[i] += o.hits_[i];
    rr_[i] += o.rr_[i];
  }
}

template <class T>
next_item_metrics basic_next_item_accumulator<T>::finish(tie_mode ties) const {
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

// ---------------------------------------------------------------------------------------------
// The evaluation loop

namespace detail {

template <class>
next_item_metrics evaluate_next_item_any(const next_item_scorer_ref& model, const session_data& test,
                                         const next_item_options& opts, const job_control& job) {
  RECSYS_REQUIRE(!opts.cutoffs.empty(), "evaluate_next_item", "no cutoffs given");
  for (index_t k : opts.cutoffs) RECSYS_REQUIRE(k > 0, "evaluate_next_item", "cutoff must be > 0 (got ", k, ")");
  filter_counts dropped;
  const session_data clean = keep_known_items(
      test,
      [&](index_t i) { return i >= 0 && i < model.num_items(model.model) && model.knows_item(model.model, i); },
      &dropped);
  const std::size_t chunks = model.next_item_chunks(model.model, clean);
  std::vector<next_item_accumulator> acc(chunks, next_item_accumulator(opts.cutoffs));
  progress_reporter progress(job, "evaluate next item", static_cast<std::int64_t>(chunks));
  parallel_for(0, static_cast<std::int64_t>(chunks), parallel_options{opts.num_threads, 1, 2}, [&](std::int64_t c) {
    auto& a = acc[static_cast<std::size_t>(c)];
    model.score_next_items(model.model, clean, static_cast<std::size_t>(c), [&](const next_item_prediction& p) {
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

}  // namespace detail

}  // namespace recsys

#endif  // RECSYS_EVAL_NEXT_ITEM_INL_HPP
