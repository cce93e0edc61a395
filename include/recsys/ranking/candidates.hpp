// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_CANDIDATES_HPP
#define RECSYS_RANKING_CANDIDATES_HPP

/// @file
/// Internal: the one query path of the recipes that rank items one query at a time (the
/// baselines, item-to-item, the session GRU; factor models rank blocks of users with the top-K
/// kernel of ranking/topk.hpp, whose topk_filter follows the same rules).
///
/// 1. allowed_items: recommend_options -> the recsys::item_mask of items a query may return:
///    opts.include when non-empty (else every item), minus opts.exclude, minus the seen items
///    when opts.exclude_seen. Ids outside [0, num_items) are ignored and duplicates count once,
///    everywhere.
/// 2. One selection of the best k allowed items, in ranking order (score descending, ties by
///    ascending id, NaN after every number, as the top-K kernel), through detail::topk_heap: rank_items when scores are
///    computed per item, rank_dense over a dense score vector (the scan skips a word of 64
///    items at once when none of them can enter the heap), first_allowed along a fixed order.
/// 3. The popularity fallback order: popularity_order (descending popularity, ties by ascending
///    id), which every recipe with a popularity fallback serves through first_allowed.
///
/// Small inline helpers and templates; not part of the public API (namespace recsys::detail).

#include <recsys/detail/select.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

namespace recsys::detail {

/// Sets `out` to the items a query may return (see the file comment). Reuses out's storage.
inline void allowed_items_into(item_mask& out, index_t num_items, const recommend_options& opts,
                               std::span<const index_t> seen = {}) {
  out.assign(num_items, opts.include.empty());
  for (const index_t i : opts.include) out.set(i);
  for (const index_t i : opts.exclude) out.set(i, false);
  if (opts.exclude_seen)
    for (const index_t i : seen) out.set(i, false);
}

/// The items a query may return (see the file comment).
[[nodiscard]] inline item_mask allowed_items(index_t num_items, const recommend_options& opts,
                                             std::span<const index_t> seen = {}) {
  item_mask out;
  allowed_items_into(out, num_items, opts, seen);
  return out;
}

/// The best min(k, allowed) allowed items by score_of(item), called once per allowed item, into
/// `out` through the caller's heap (reset here; a per-query state keeps one to avoid allocating).
template <class ScoreOf>
void rank_items(const item_mask& allowed, index_t k, ScoreOf&& score_of, topk_heap& heap, topk_result& out) {
  heap.reset(std::min(k, allowed.size()));  // (allocated whole: never more than exist)
  if (k > 0) allowed.for_each([&](index_t i) { heap.push(score_of(i), i); });
  heap.drain_into(out);
}

template <class ScoreOf>
[[nodiscard]] topk_result rank_items(const item_mask& allowed, index_t k, ScoreOf&& score_of) {
  topk_heap heap;
  topk_result out;
  rank_items(allowed, k, score_of, heap, out);
  return out;
}

/// The same over recommend_options directly: for recipes that score items one at a time.
template <class ScoreOf>
[[nodiscard]] topk_result rank_items(index_t num_items, index_t k, const recommend_options& opts,
                                     std::span<const index_t> seen, ScoreOf&& score_of) {
  if (k <= 0 || num_items <= 0) return {};
  return rank_items(allowed_items(num_items, opts, seen), k, score_of);
}

/// The best k allowed items of a dense score vector (scores.size() == allowed.size()) into
/// `out`, through the caller's heap (reset to min(k, items) here; a per-query state keeps one to
/// avoid allocating).
inline void rank_dense(const item_mask& allowed, std::span<const score_t> scores, index_t k, topk_heap& heap,
                       topk_result& out) {
  const index_t n = allowed.size();
  heap.reset(std::min(k, n));
  if (k <= 0) {  // an empty heap is "full" and has no threshold to read
    heap.drain_into(out);
    return;
  }
  const std::span<const std::uint64_t> words = allowed.words();
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::uint64_t bits = words[w];
    if (bits == 0) continue;
    const auto base = static_cast<index_t>(w * 64);
    const score_t* sc = scores.data() + base;
    const index_t len = std::min<index_t>(64, n - base);
    if (heap.full() && heap.threshold() == heap.threshold()) {
      // Which of the 64 scores beat the current worst (NaN never does): one pass the compiler
      // vectorises; only those are offered. (A NaN worst is beaten by any number: no skipping.)
      const score_t thr = heap.threshold();
      std::uint64_t beat = 0;
      for (index_t j = 0; j < len; ++j) beat |= static_cast<std::uint64_t>(sc[j] > thr) << j;
      bits &= beat;
    }
    for (; bits != 0; bits &= bits - 1) {
      const int j = std::countr_zero(bits);
      heap.push(sc[j], base + j);  // compares with the worst kept entry (ranks_before)
    }
  }
  heap.drain_into(out);
}

/// Items by descending popularity, ties by ascending id: the popularity fallback order.
[[nodiscard]] inline std::vector<index_t> popularity_order(std::span<const score_t> popularity) {
  std::vector<index_t> order(popularity.size());
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
    return popularity[static_cast<std::size_t>(a)] > popularity[static_cast<std::size_t>(b)];
  });
  return order;
}

/// The first k allowed items along `order` (a ranking such as popularity_order), each with its
/// score from `scores`.
[[nodiscard]] inline topk_result first_allowed(std::span<const index_t> order, std::span<const score_t> scores,
                                               const item_mask& allowed, index_t k) {
  topk_result out;
  if (k <= 0) return out;
  out.reserve(static_cast<std::size_t>(std::min<index_t>(k, allowed.size())));
  for (const index_t i : order) {
    if (!allowed.test(i)) continue;
    out.push_back(i, scores[static_cast<std::size_t>(i)]);
    if (static_cast<index_t>(out.size()) == k) break;
  }
  return out;
}

/// Sorted, distinct items of row `row` of a compressed CSR matrix (empty when out of range).
[[nodiscard]] inline std::span<const index_t> row_items(const csr_matrix& m, index_t row) noexcept {
  if (row < 0 || row >= m.rows() || !m.isCompressed()) return {};
  const auto* outer = m.outerIndexPtr();
  return {m.innerIndexPtr() + outer[row], static_cast<std::size_t>(outer[row + 1] - outer[row])};
}

}  // namespace recsys::detail

#endif  // RECSYS_RANKING_CANDIDATES_HPP
