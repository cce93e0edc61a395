// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_INCIDENCE_HPP
#define RECSYS_DETAIL_INCIDENCE_HPP

/// @file
/// Internal: `incidence`, transactions (users, baskets, sessions) x items in CSR form with
/// distinct, sorted items per row, and `buffer`, the vector whose resize() does not zero-fill.
/// Apart from detail/cooccurrence.hpp (the mining kernels) so that a model holding an incidence
/// (item_to_item's histories) declares it without the kernels.

#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace recsys::detail {


/// An allocator whose value-initialisation is default-initialisation: `resize(n)` of a vector of
/// a trivial type leaves the new elements uninitialised (no zero-fill pass, no page touched), so
/// that the parallel pass that writes them is the first to touch their pages (the page faults
/// are spread over the threads). Only for buffers whose every element is written before read.
/// On Linux, a block of kHugeBlock bytes or more is aligned to 2 MiB and advised as a transparent
/// huge page candidate (madvise MADV_HUGEPAGE; a no-op where THP is off): a fit's first touch of
/// its ~50 MB of temporaries then costs a few dozen page faults instead of ~12,000 (on a VM a
/// fault costs several microseconds).
template <class T>
struct default_init_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = default_init_allocator<U>;
  };
  default_init_allocator() noexcept = default;
  template <class U>
  default_init_allocator(const default_init_allocator<U>&) noexcept {}  // NOLINT: converting, as std::allocator

  static constexpr std::size_t kHugePage = std::size_t{1} << 21;
  static constexpr std::size_t kHugeBlock = 2 * kHugePage;

  [[nodiscard]] T* allocate(std::size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n <= std::numeric_limits<std::size_t>::max() / sizeof(T) - kHugePage && n * sizeof(T) >= kHugeBlock) {
      const std::size_t bytes = (n * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
      void* p = std::aligned_alloc(kHugePage, bytes);
      if (!p) throw std::bad_alloc();
      ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure changes nothing
      return static_cast<T*>(p);
    }
#endif
    return std::allocator<T>::allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n <= std::numeric_limits<std::size_t>::max() / sizeof(T) - kHugePage && n * sizeof(T) >= kHugeBlock) {
      std::free(p);
      return;
    }
#endif
    std::allocator<T>::deallocate(p, n);
  }
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// A vector whose resize(n) does not zero-fill (see default_init_allocator).
template <class T>
using buffer = std::vector<T, default_init_allocator<T>>;

/// Rows (transactions) x items; row r holds idx[ptr[r] .. ptr[r+1]) ascending and distinct,
/// with values val[...] (> 0 as built; weighting may change them).
struct incidence {
  index_t cols = 0;
  buffer<std::int64_t> ptr{0};  // (buffer: resize() leaves the entries to the pass that writes them)
  buffer<index_t> idx;
  buffer<float> val;

  [[nodiscard]] std::size_t rows() const noexcept { return ptr.size() - 1; }
  [[nodiscard]] std::size_t nnz() const noexcept { return idx.size(); }
  [[nodiscard]] std::size_t length(std::size_t r) const noexcept {
    return static_cast<std::size_t>(ptr[r + 1] - ptr[r]);
  }
  [[nodiscard]] std::span<const index_t> row(std::size_t r) const noexcept { return {idx.data() + ptr[r], length(r)}; }
  [[nodiscard]] std::span<const float> row_values(std::size_t r) const noexcept {
    return {val.data() + ptr[r], length(r)};
  }

  /// Appends a row from (item, value) pairs in any order; repeated items are summed.
  /// Sorts `entries` in place.
  void push_row(std::vector<std::pair<index_t, float>>& entries) {
    // inputs usually arrive sorted and distinct (CSR rows, most baskets): copy them through
    const bool ascending = std::adjacent_find(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
                             return a.first >= b.first;
                           }) == entries.end();
    if (ascending) {
      for (const auto& [item, value] : entries) {
        idx.push_back(item);
        val.push_back(static_cast<float>(0.0 + static_cast<double>(value)));  // as the summing path
      }
      ptr.push_back(static_cast<std::int64_t>(idx.size()));
      return;
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t e = 0; e < entries.size();) {
      const index_t item = entries[e].first;
      double sum = 0.0;
      for (; e < entries.size() && entries[e].first == item; ++e) sum += entries[e].second;
      idx.push_back(item);
      val.push_back(static_cast<float>(sum));
    }
    ptr.push_back(static_cast<std::int64_t>(idx.size()));
  }

  /// Number of rows containing each item (values ignored).
  [[nodiscard]] std::vector<std::int64_t> column_counts() const {
    std::vector<std::int64_t> n(static_cast<std::size_t>(cols), 0);
    for (index_t j : idx) ++n[static_cast<std::size_t>(j)];
    return n;
  }

  /// sqrt(sum over rows of value^2) per item.
  [[nodiscard]] std::vector<double> column_norms() const {
    std::vector<double> n(static_cast<std::size_t>(cols), 0.0);
    for (std::size_t e = 0; e < idx.size(); ++e)
      n[static_cast<std::size_t>(idx[e])] += static_cast<double>(val[e]) * static_cast<double>(val[e]);
    for (double& x : n) x = std::sqrt(x);
    return n;
  }
};

/// The transpose (items x rows) of a rows x items incidence, by counting sort: rows of the
/// result are ascending in the original row index.
[[nodiscard]] inline incidence transpose(const incidence& a) {
  incidence t;
  t.cols = static_cast<index_t>(a.rows());
  t.ptr.assign(static_cast<std::size_t>(a.cols) + 1, 0);
  for (index_t j : a.idx) ++t.ptr[static_cast<std::size_t>(j) + 1];
  for (std::size_t j = 0; j < static_cast<std::size_t>(a.cols); ++j) t.ptr[j + 1] += t.ptr[j];
  t.idx.resize(a.nnz());
  t.val.resize(a.nnz());
  std::vector<std::int64_t> next(t.ptr.begin(), t.ptr.end() - 1);
  for (std::size_t r = 0; r < a.rows(); ++r)
    for (std::int64_t e = a.ptr[r]; e < a.ptr[r + 1]; ++e) {
      const auto j = static_cast<std::size_t>(a.idx[static_cast<std::size_t>(e)]);
      const auto p = static_cast<std::size_t>(next[j]++);
      t.idx[p] = static_cast<index_t>(r);
      t.val[p] = a.val[static_cast<std::size_t>(e)];
    }
  return t;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_INCIDENCE_HPP
