// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_RANK_HPP
#define RECSYS_DETAIL_RANK_HPP

/// @file
/// Internal: the one implementation of recommend_options (exclude_seen, exclude, include) over a
/// per-item score function, for recipes that score items one at a time (baselines, neighbour
/// models). Factor models score blocks of items with the top-K kernel instead.

#include <recsys/detail/select.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <span>
#include <vector>

namespace recsys::detail {

/// Items a query may not return: seen items (when opts.exclude_seen) and opts.exclude.
/// Ids outside [0, num_items) are ignored.
[[nodiscard]] inline std::vector<char> blocked_items(index_t num_items, const recommend_options& opts,
                                                     std::span<const index_t> seen) {
  std::vector<char> blocked(static_cast<std::size_t>(num_items > 0 ? num_items : 0), 0);
  auto block = [&](std::span<const index_t> ids) {
    for (index_t i : ids)
      if (i >= 0 && i < num_items) blocked[static_cast<std::size_t>(i)] = 1;
  };
  if (opts.exclude_seen) block(seen);
  block(opts.exclude);
  return blocked;
}

/// The top-k candidates by score_of(item) in ranking order. Candidates are opts.include (when
/// non-empty; ids outside the catalogue skipped) or every item; blocked items never appear.
template <class ScoreOf>
[[nodiscard]] topk_result rank_items(index_t num_items, index_t k, const recommend_options& opts,
                                     std::span<const index_t> seen, ScoreOf&& score_of) {
  topk_result out;
  if (k <= 0 || num_items <= 0) return out;
  const std::vector<char> blocked = blocked_items(num_items, opts, seen);
  topk_heap heap(std::min(k, num_items));  // a heap of k entries would be allocated whole
  if (!opts.include.empty()) {
    std::vector<char> offered(static_cast<std::size_t>(num_items), 0);
    for (index_t i : opts.include) {
      if (i < 0 || i >= num_items || blocked[static_cast<std::size_t>(i)] || offered[static_cast<std::size_t>(i)])
        continue;
      offered[static_cast<std::size_t>(i)] = 1;
      heap.push(score_of(i), i);
    }
  } else {
    for (index_t i = 0; i < num_items; ++i)
      if (!blocked[static_cast<std::size_t>(i)]) heap.push(score_of(i), i);
  }
  heap.drain_into(out);
  return out;
}

/// Sorted, distinct items of row `row` of a compressed CSR matrix (empty when out of range).
[[nodiscard]] inline std::span<const index_t> row_items(const csr_matrix& m, index_t row) noexcept {
  if (row < 0 || row >= m.rows() || !m.isCompressed()) return {};
  const auto* outer = m.outerIndexPtr();
  return {m.innerIndexPtr() + outer[row], static_cast<std::size_t>(outer[row + 1] - outer[row])};
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_RANK_HPP
