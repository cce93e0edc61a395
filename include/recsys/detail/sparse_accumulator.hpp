// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SPARSE_ACCUMULATOR_HPP
#define RECSYS_DETAIL_SPARSE_ACCUMULATOR_HPP

/// @file
/// Internal (do not include directly): the sparse accumulator of Gustavson's row-by-row sparse
/// product (SMMP): a dense array of sums over a fixed index range plus the list of indices
/// touched since the last clear(), so that reading and resetting cost O(touched), not O(range).

#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace recsys::detail {

/// Sums of values scattered into [0, size()). An index is "touched" once add() has been called
/// for it, even when the added values sum to zero; touched() lists indices in first-touch order.
template <class Value = double>
class sparse_accumulator {
 public:
  explicit sparse_accumulator(index_t size = 0) { resize(size); }

  /// Sets the index range to [0, size) and clears everything.
  void resize(index_t size) {
    RECSYS_ASSERT(size >= 0);
    sums_.assign(static_cast<std::size_t>(size), Value(0));
    flags_.assign(static_cast<std::size_t>(size), 0);
    touched_.clear();
    touched_.reserve(static_cast<std::size_t>(size));
  }

  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(sums_.size()); }

  /// sums[j] += v; j must be in [0, size()).
  void add(index_t j, Value v) {
    RECSYS_ASSERT(j >= 0 && j < size());
    const auto u = static_cast<std::size_t>(j);
    if (!flags_[u]) {
      flags_[u] = 1;
      touched_.push_back(j);
    }
    sums_[u] += v;
  }

  [[nodiscard]] bool touched(index_t j) const noexcept { return flags_[static_cast<std::size_t>(j)] != 0; }
  [[nodiscard]] Value value(index_t j) const noexcept { return sums_[static_cast<std::size_t>(j)]; }
  /// The touched indices, in first-touch order.
  [[nodiscard]] std::span<const index_t> touched() const noexcept { return touched_; }

  /// Resets the touched entries (O(touched)).
  void clear() noexcept {
    for (index_t j : touched_) {
      sums_[static_cast<std::size_t>(j)] = Value(0);
      flags_[static_cast<std::size_t>(j)] = 0;
    }
    touched_.clear();
  }

 private:
  std::vector<Value> sums_;
  std::vector<unsigned char> flags_;
  std::vector<index_t> touched_;
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SPARSE_ACCUMULATOR_HPP
