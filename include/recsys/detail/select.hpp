// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SELECT_HPP
#define RECSYS_DETAIL_SELECT_HPP

/// @file
/// Internal: keep the best k (score, id) pairs of a stream, in recsys's ranking order
/// (ranks_before: score descending, ties by ascending id, NaN last).
///
/// - heap_ref: the heap itself, over caller storage (the top-K kernel keeps one per query of a
///   block in one flat per-thread array, allocated once).
/// - topk_heap: the same heap owning its storage, for code that ranks one query at a time.
///
/// The root is the worst kept entry, so a candidate is compared once against it (the Faiss /
/// implicit pattern) and, when it wins, replaces the root with one sift-down.

#include <recsys/types.hpp>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace recsys::detail {

/// One ranked entry.
struct scored_id {
  score_t score;
  index_t id;
};

[[nodiscard]] constexpr bool ranks_before(const scored_id& a, const scored_id& b) noexcept {
  return recsys::ranks_before(a.score, a.id, b.score, b.id);
}

/// A bounded heap of at most `capacity` entries over caller storage; the root (data[0]) is the
/// worst kept entry. Copying the view does not copy the entries.
class heap_ref {
 public:
  heap_ref() = default;
  heap_ref(scored_id* data, index_t capacity) noexcept : data_(data), capacity_(capacity < 0 ? 0 : capacity) {}
  /// Views `size` entries of `data` that already form a heap (e.g. a copy of another heap).
  heap_ref(scored_id* data, index_t capacity, index_t size) noexcept : heap_ref(data, capacity) {
    size_ = std::clamp<index_t>(size, 0, capacity_);
  }

  [[nodiscard]] index_t size() const noexcept { return size_; }
  [[nodiscard]] index_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool full() const noexcept { return size_ == capacity_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  /// The worst kept entry (the one a candidate must beat once the heap is full). Requires !empty().
  [[nodiscard]] const scored_id& worst() const noexcept { return data_[0]; }

  void clear() noexcept { size_ = 0; }

  /// Offers a candidate: kept if the heap is not full or if it ranks before worst().
  void push(score_t score, index_t id) noexcept {
    const scored_id e{score, id};
    if (size_ < capacity_) {
      index_t i = size_++;
      while (i > 0) {  // sift up: a parent must rank after (be worse than) its children
        const index_t p = (i - 1) / 2;
        if (!ranks_before(data_[p], e)) break;
        data_[i] = data_[p];
        i = p;
      }
      data_[i] = e;
    } else if (capacity_ > 0 && ranks_before(e, data_[0])) {
      sift_down_from_root(e);
    }
  }

  /// Replaces the worst entry by a candidate known to rank before it. Requires full() and
  /// capacity() > 0 (the kernel's fast path, after its own threshold test).
  void replace_worst(score_t score, index_t id) noexcept { sift_down_from_root(scored_id{score, id}); }

  /// Reorders the kept entries best first (ranking order) in data()[0, size()); the heap is
  /// no longer a heap afterwards: clear() it before reuse.
  void sort_best_first() noexcept {
    for (index_t n = size_; n > 1; --n) {
      const scored_id last = data_[n - 1];
      data_[n - 1] = data_[0];  // the current worst goes to the back
      sift_down(last, n - 1);
    }
  }

  [[nodiscard]] const scored_id* data() const noexcept { return data_; }

 private:
  void sift_down_from_root(const scored_id& e) noexcept { sift_down(e, size_); }

  // Places e at the root of data_[0, n) and restores the heap property.
  void sift_down(const scored_id& e, index_t n) noexcept {
    index_t i = 0;
    for (;;) {
      index_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && ranks_before(data_[c], data_[c + 1])) ++c;  // the worse child
      if (!ranks_before(e, data_[c])) break;
      data_[i] = data_[c];
      i = c;
    }
    data_[i] = e;
  }

  scored_id* data_ = nullptr;
  index_t capacity_ = 0;
  index_t size_ = 0;
};

/// Writes `n` entries (ranking order) into ids/scores[0, k), padding with invalid_index and the
/// lowest score; n <= k.
inline void write_padded(const scored_id* entries, index_t n, index_t k, index_t* ids, score_t* scores) noexcept {
  index_t j = 0;
  for (; j < n; ++j) {
    ids[j] = entries[j].id;
    scores[j] = entries[j].score;
  }
  for (; j < k; ++j) {
    ids[j] = invalid_index;
    scores[j] = std::numeric_limits<score_t>::lowest();
  }
}

/// Writes a ranked list into ids/scores[0, k) with the same padding as write_padded.
inline void write_padded_result(const topk_result& r, index_t k, index_t* ids, score_t* scores) noexcept {
  const auto n = static_cast<index_t>(std::min<std::size_t>(r.size(), static_cast<std::size_t>(k)));
  index_t j = 0;
  for (; j < n; ++j) {
    ids[j] = r.ids[static_cast<std::size_t>(j)];
    scores[j] = r.scores[static_cast<std::size_t>(j)];
  }
  for (; j < k; ++j) {
    ids[j] = invalid_index;
    scores[j] = std::numeric_limits<score_t>::lowest();
  }
}

/// A heap_ref that owns its storage: keeps the best k entries offered one at a time.
class topk_heap {
 public:
  explicit topk_heap(index_t k = 0) { reset(k); }
  topk_heap(const topk_heap& other)
      : k_(other.k_), storage_(other.storage_), heap_(storage_.data(), k_, other.heap_.size()) {}
  topk_heap(topk_heap&& other) noexcept
      : k_(other.k_), storage_(std::move(other.storage_)), heap_(storage_.data(), k_, other.heap_.size()) {
    other.reset(0);
  }
  topk_heap& operator=(topk_heap other) noexcept {
    k_ = other.k_;
    storage_.swap(other.storage_);
    heap_ = heap_ref(storage_.data(), k_, other.heap_.size());
    return *this;
  }
  ~topk_heap() = default;

  void reset(index_t k) {
    k_ = k < 0 ? 0 : k;
    storage_.resize(static_cast<std::size_t>(k_));
    heap_ = heap_ref(storage_.data(), k_);
  }

  /// Offers one candidate.
  void push(score_t score, index_t id) noexcept { heap_.push(score, id); }

  /// The score a new candidate must beat once the heap is full (for early rejection).
  [[nodiscard]] bool full() const noexcept { return heap_.full(); }
  [[nodiscard]] score_t threshold() const noexcept { return heap_.worst().score; }
  [[nodiscard]] index_t threshold_id() const noexcept { return heap_.worst().id; }
  [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(heap_.size()); }

  /// Moves the kept entries out in ranking order and empties the heap.
  void drain_into(topk_result& out) {
    heap_.sort_best_first();
    out.clear();
    out.reserve(size());
    for (index_t j = 0; j < heap_.size(); ++j) out.push_back(heap_.data()[j].id, heap_.data()[j].score);
    heap_.clear();
  }

  /// Writes the kept entries in ranking order into ids/scores[0..size()) without padding,
  /// empties the heap, and returns how many entries were written (at most k): for callers that
  /// pack variable-length rows (item-to-item neighbours).
  std::size_t drain_to(index_t* ids, score_t* scores) noexcept {
    heap_.sort_best_first();
    const index_t n = heap_.size();
    write_padded(heap_.data(), n, n, ids, scores);
    heap_.clear();
    return static_cast<std::size_t>(n);
  }

  /// Writes the kept entries in ranking order into ids/scores[0..k), padding with
  /// invalid_index and the lowest score, and empties the heap.
  void drain_into(index_t* ids, score_t* scores) noexcept {
    heap_.sort_best_first();
    write_padded(heap_.data(), heap_.size(), k_, ids, scores);
    heap_.clear();
  }

 private:
  index_t k_ = 0;
  std::vector<scored_id> storage_;
  heap_ref heap_;
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SELECT_HPP
