// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SELECT_HPP
#define RECSYS_DETAIL_SELECT_HPP

/// @file
/// Internal: keep the best k (score, id) pairs of a stream, in recsys's ranking order
/// (ranks_before: score descending, ties by ascending id, NaN last).

#include <recsys/types.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace recsys::detail {

/// A bounded min-heap of the k best entries seen so far. The root is the worst kept entry, so
/// a candidate is compared once against it (the Faiss / implicit pattern).
class topk_heap {
 public:
  explicit topk_heap(index_t k = 0) { reset(k); }

  void reset(index_t k) {
    k_ = k < 0 ? 0 : k;
    heap_.clear();
    heap_.reserve(static_cast<std::size_t>(k_));
  }

  /// Offers one candidate.
  void push(score_t score, index_t id) {
    if (k_ == 0) return;
    if (static_cast<index_t>(heap_.size()) < k_) {
      heap_.push_back({score, id});
      std::push_heap(heap_.begin(), heap_.end(), worse_first{});
    } else if (ranks_before(score, id, heap_.front().score, heap_.front().id)) {
      std::pop_heap(heap_.begin(), heap_.end(), worse_first{});
      heap_.back() = {score, id};
      std::push_heap(heap_.begin(), heap_.end(), worse_first{});
    }
  }

  /// True when push(score, id) would keep the candidate (the heap is not full, or the candidate
  /// ranks before the worst kept entry): a cheap pre-check for hot loops.
  [[nodiscard]] bool accepts(score_t score, index_t id) const noexcept {
    return static_cast<index_t>(heap_.size()) < k_ ? true
                                                   : k_ > 0 && ranks_before(score, id, heap_.front().score, heap_.front().id);
  }

  /// The score a new candidate must beat once the heap is full (for early rejection).
  [[nodiscard]] bool full() const noexcept { return static_cast<index_t>(heap_.size()) == k_; }
  [[nodiscard]] score_t threshold() const noexcept { return heap_.front().score; }
  [[nodiscard]] index_t threshold_id() const noexcept { return heap_.front().id; }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }

  /// Moves the kept entries out in ranking order and empties the heap.
  void drain_into(topk_result& out) {
    std::sort_heap(heap_.begin(), heap_.end(), worse_first{});  // best first
    out.clear();
    out.reserve(heap_.size());
    for (const auto& e : heap_) out.push_back(e.id, e.score);
    heap_.clear();
  }

  /// Writes the kept entries in ranking order into ids/scores[0..size()) without padding,
  /// empties the heap, and returns how many entries were written (at most k).
  std::size_t drain_to(index_t* ids, score_t* scores) {
    std::sort_heap(heap_.begin(), heap_.end(), worse_first{});
    const std::size_t n = heap_.size();
    for (std::size_t j = 0; j < n; ++j) {
      ids[j] = heap_[j].id;
      scores[j] = heap_[j].score;
    }
    heap_.clear();
    return n;
  }

  /// Empties the heap without reading it (keeps k and the capacity).
  void clear() noexcept { heap_.clear(); }

  /// Writes the kept entries in ranking order into ids/scores[0..k), padding with
  /// invalid_index and the lowest score, and empties the heap.
  void drain_into(index_t* ids, score_t* scores) {
    std::sort_heap(heap_.begin(), heap_.end(), worse_first{});
    std::size_t j = 0;
    for (; j < heap_.size(); ++j) {
      ids[j] = heap_[j].id;
      scores[j] = heap_[j].score;
    }
    for (; j < static_cast<std::size_t>(k_); ++j) {
      ids[j] = invalid_index;
      scores[j] = std::numeric_limits<score_t>::lowest();
    }
    heap_.clear();
  }

 private:
  struct entry {
    score_t score;
    index_t id;
  };
  // Heap comparator: "a is better than b" puts the worst entry at the root of std's max-heap.
  // A function object (not a function pointer) so that the heap algorithms inline it.
  struct worse_first {
    bool operator()(const entry& a, const entry& b) const noexcept { return ranks_before(a.score, a.id, b.score, b.id); }
  };

  index_t k_ = 0;
  std::vector<entry> heap_;
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SELECT_HPP
