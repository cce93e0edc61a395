// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_COOCCURRENCE_HPP
#define RECSYS_DETAIL_COOCCURRENCE_HPP

/// @file
/// Internal (do not include directly; use recsys/models/item_to_item.hpp): the machinery of
/// item-to-item mining.
///
/// - detail/cooccurrence_input.hpp: the inputs (transposes, time-ordered events, pruning,
///   BM25 / TF-IDF weighting), included here.
/// - `cooccurrence_rows`: Gustavson's row-by-row sparse product L^T R: for every left item i
///   the sums over rows r containing i of l(r,i) * r(r,j), in a per-thread dense accumulator
///   with a list of touched columns; a callback consumes each finished row (top-K, rules).
///   Each row is computed by one thread in a fixed order, so the result does not depend on
///   the number of threads.

#include <recsys/detail/cooccurrence_input.hpp>
#include <recsys/detail/incidence.hpp>
#include <recsys/detail/platform.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <new>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys::detail {

/// The inputs of the product: left^T (items x rows) and right (rows x items), or, in timed
/// mode, the events and the left postings (item -> event positions).
struct product_input {
  const incidence* left_t = nullptr;  ///< items x rows, values = left values
  const incidence* right = nullptr;   ///< rows x items, values = right values
  const timed_events* events = nullptr;
  const incidence* postings = nullptr;  ///< items x event positions (timed mode)
  bool self = true;                     ///< same item space on both sides: the pair (i, i) is skipped
  std::uint64_t window = 0;             ///< timed: max |t_j - t_i| in seconds, 0 = unlimited
  bool forward_only = false;            ///< timed: only t_j >= t_i
  index_t left_items = 0;
  index_t right_items = 0;
};

/// Left item -> positions of its left-side events, ascending (grouped by row).
[[nodiscard]] inline incidence left_postings(const timed_events& ev, index_t items) {
  incidence p;
  p.cols = static_cast<index_t>(
      std::min<std::size_t>(ev.size(), static_cast<std::size_t>(std::numeric_limits<index_t>::max())));
  p.ptr.assign(static_cast<std::size_t>(items) + 1, 0);
  for (std::size_t e = 0; e < ev.size(); ++e)
    if (ev.side[e] & 1u) ++p.ptr[static_cast<std::size_t>(ev.item[e]) + 1];
  for (std::size_t j = 0; j < static_cast<std::size_t>(items); ++j) p.ptr[j + 1] += p.ptr[j];
  p.idx.resize(static_cast<std::size_t>(p.ptr.back()));
  std::vector<std::int64_t> next(p.ptr.begin(), p.ptr.end() - 1);
  for (std::size_t e = 0; e < ev.size(); ++e)
    if (ev.side[e] & 1u)
      p.idx[static_cast<std::size_t>(next[static_cast<std::size_t>(ev.item[e])]++)] = static_cast<index_t>(e);
  return p;
}

/// Accumulator slot of one right item in weighted mode: the pair's row count and its sum of
/// l * r side by side, so one visit touches one cache line (float sums, as implicit's).
struct weighted_slot {
  float sum;
  std::int32_t count;
};
/// Accumulator slot in count mode.
struct count_slot {
  std::int32_t count;
};
/// Accumulator slot in sum-only weighted mode: for consumers that need no pair counts, on inputs
/// whose every product l * r is a positive normal float (see sum_only_safe), so that a sum is
/// nonzero exactly when the pair was visited. Half the bytes per visit of weighted_slot, and the
/// same sums bit for bit (the same additions in the same order).
struct sum_slot {
  float sum;
};

/// Values at or above this have products with each other that are positive normal floats.
inline constexpr float kSumOnlyMinValue = 1.1e-19f;  // > sqrt(FLT_MIN) = 1.0842e-19

/// True when every value of both incidences is >= kSumOnlyMinValue (and none is NaN): then every
/// product of a left and a right value, and every sum of them, is > 0.
[[nodiscard]] inline bool sum_only_safe(const incidence& left, const incidence& right) noexcept {
  auto ok = [](const incidence& x) {
    return std::all_of(x.val.begin(), x.val.end(), [](float v) { return v >= kSumOnlyMinValue; });
  };
  return ok(left) && ok(right);
}

/// Rows ahead of the current one whose items the product prefetches.
inline constexpr std::int64_t kPrefetch = 8;
/// 4-byte entries (item ids, float values) per 64-byte cache line.
inline constexpr std::int64_t kLineEntries = 16;

/// Per-thread scratch of the product: the dense accumulator over right items.
template <class Slot>
struct product_scratch {
  std::vector<Slot> slot;
  std::vector<index_t> touched;    ///< columns with count > 0, first-touch order
  std::vector<std::int64_t> mark;  ///< timed mode: last (item, row) token that counted column j
  std::int64_t token = 0;
  std::int64_t visits = 0;  ///< events visited (timed mode), right entries visited (plain mode)
};

/// One finished row of the product, handed to the row callback. Valid during the call only.
/// In plain self mode `touched` includes the item itself (the diagonal); consumers skip it.
template <class Slot>
struct product_row {
  index_t item;                      ///< the left item i
  std::span<const index_t> touched;  ///< right items j with count(i, j) > 0
  Slot* slot;

  /// Rows holding both i and j (within the window in timed mode). sum_slot keeps no count: 1
  /// (the pair was visited at least once), for consumers whose minimum count is 1.
  [[nodiscard]] std::int32_t count(index_t j) const noexcept {
    if constexpr (std::is_same_v<Slot, sum_slot>)
      return 1;
    else
      return slot[j].count;
  }
  /// sum of l(r,i) r(r,j) over those rows (weighted mode; 0 in count mode).
  [[nodiscard]] double sum(index_t j) const noexcept {
    if constexpr (!std::is_same_v<Slot, count_slot>)
      return static_cast<double>(slot[j].sum);
    else
      return 0.0;
  }
  /// Zeroes j's accumulator slot (for a consumer that clears the slots itself as it reads them
  /// and returns true from its callback: the product then skips its own clearing pass).
  void clear(index_t j) const noexcept { slot[j] = Slot{}; }
};

/// Runs the product row by row over left items in parallel; `on_row(const product_row<Slot>&,
/// int thread)` consumes each row (it must not keep pointers). A callback that returns bool and
/// returns true has cleared every touched slot itself (product_row::clear). Returns the number of (row, j)
/// accumulation steps: sum over rows of |left row| x |right row| in plain mode, events visited
/// in timed mode. SumOnly (plain weighted mode only) accumulates into sum_slot: the caller
/// checks sum_only_safe() and needs no counts.
template <bool Weighted, bool Timed, bool SumOnly = false, class OnRow>
std::int64_t cooccurrence_rows(const product_input& in, const parallel_options& po, progress_reporter* progress,
                               OnRow&& on_row) {
  static_assert(!SumOnly || (Weighted && !Timed), "sum-only accumulation is for the plain weighted product");
  using slot_t = std::conditional_t<SumOnly, sum_slot, std::conditional_t<Weighted, weighted_slot, count_slot>>;
  const int threads = max_threads(po);
  std::vector<product_scratch<slot_t>> scratch(static_cast<std::size_t>(threads));
  const auto m = static_cast<std::size_t>(in.right_items);
  parallel_for(0, in.left_items, po, [&](std::int64_t i64, int tid) {
    product_scratch<slot_t>& s = scratch[static_cast<std::size_t>(tid)];
    if (s.slot.size() != m) {
      s.slot.assign(m, slot_t{});
      s.touched.assign(m + 1, 0);  // +1: the branchless append writes one slot past the last touched column
      if constexpr (Timed) s.mark.assign(m, -1);
    }
    const auto i = static_cast<index_t>(i64);
    slot_t* const slot = s.slot.data();
    index_t* const touched = s.touched.data();
    std::size_t nt = 0;
    if constexpr (!Timed) {
      const incidence& lt = *in.left_t;
      const incidence& rm = *in.right;
      const std::int64_t* rptr = rm.ptr.data();
      const index_t* ridx = rm.idx.data();
      [[maybe_unused]] const float* rval = rm.val.data();
      const index_t* lidx = lt.idx.data();
      const std::int64_t p_end = lt.ptr[static_cast<std::size_t>(i) + 1];
      std::int64_t visits = 0;
      for (std::int64_t p = lt.ptr[static_cast<std::size_t>(i)]; p < p_end; ++p) {
        // rows are short and far apart (1M baskets: a cache miss per basket): fetch the row
        // pointer kPrefetch * 2 rows ahead and the row's items kPrefetch rows ahead
        if (p + 2 * kPrefetch < p_end) detail::prefetch(rptr + lidx[p + 2 * kPrefetch]);
        if (p + kPrefetch < p_end) {
          // the whole row ahead (its items, and its values in weighted mode), not just its
          // first line: user histories span several lines, and each missed line stalls the loop
          // (baskets: mostly one line, so the loop over further lines is usually skipped)
          const auto ra = static_cast<std::size_t>(lidx[p + kPrefetch]);
          const std::int64_t ba = rptr[ra], ea = rptr[ra + 1];
          detail::prefetch(ridx + ba);
          if constexpr (Weighted) detail::prefetch(rval + ba);
          if (ea - ba > 1) {
            for (std::int64_t q = ba + kLineEntries; q < ea; q += kLineEntries) {
              detail::prefetch(ridx + q);
              if constexpr (Weighted) detail::prefetch(rval + q);
            }
            detail::prefetch(ridx + ea - 1);  // the row need not start on a line boundary
            if constexpr (Weighted) detail::prefetch(rval + ea - 1);
          }
        }
        const auto r = static_cast<std::size_t>(lidx[p]);
        const std::int64_t b = rptr[r], e = rptr[r + 1];
        visits += e - b;
        if constexpr (SumOnly) {
          const float wl = lt.val[static_cast<std::size_t>(p)];
          for (std::int64_t q = b; q < e; ++q) {
            const index_t j = ridx[q];
            slot_t& sl = slot[j];
            touched[nt] = j;
            nt += static_cast<std::size_t>(sl.sum == 0.0f);  // first visit: every sum is > 0 after one
            sl.sum += wl * rval[q];
          }
        } else if constexpr (Weighted) {
          const float wl = lt.val[static_cast<std::size_t>(p)];
          for (std::int64_t q = b; q < e; ++q) {
            const index_t j = ridx[q];
            slot_t& sl = slot[j];
            sl.sum += wl * rval[q];
            touched[nt] = j;
            nt += static_cast<std::size_t>(sl.count++ == 0);
          }
        } else {
          for (std::int64_t q = b; q < e; ++q) {
            const index_t j = ridx[q];
            touched[nt] = j;
            nt += static_cast<std::size_t>(slot[j].count++ == 0);
          }
        }
      }
      s.visits += visits;
    } else {
      const timed_events& ev = *in.events;
      const incidence& post = *in.postings;
      std::int64_t* const mark = s.mark.data();
      const std::uint64_t w = in.window;
      const bool limited = w > 0;
      std::int32_t current_row = -1;
      std::int64_t visits = 0;
      for (std::int64_t pp = post.ptr[static_cast<std::size_t>(i)]; pp < post.ptr[static_cast<std::size_t>(i) + 1];
           ++pp) {
        const auto p = static_cast<std::size_t>(post.idx[static_cast<std::size_t>(pp)]);
        const std::int32_t r = ev.row[p];
        if (r != current_row) {
          current_row = r;
          ++s.token;
        }
        const std::int64_t token = s.token;
        [[maybe_unused]] const float wl = ev.lval[p];
        const timestamp_t t = ev.time[p];
        const auto lo = static_cast<std::size_t>(ev.ptr[static_cast<std::size_t>(r)]);
        const auto hi = static_cast<std::size_t>(ev.ptr[static_cast<std::size_t>(r) + 1]);
        auto visit = [&](std::size_t q) {
          ++visits;
          if (!(ev.side[q] & 2u)) return;
          const index_t j = ev.item[q];
          if (in.self && j == i) return;
          if (mark[j] == token) return;
          mark[j] = token;
          slot_t& sl = slot[j];
          if constexpr (Weighted) sl.sum += wl * ev.rval[q];
          touched[nt] = j;
          nt += static_cast<std::size_t>(sl.count++ == 0);
        };
        // backward: earlier events (same timestamp only when forward_only)
        for (std::size_t q = p; q-- > lo;) {
          const std::uint64_t dt = static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(ev.time[q]);
          if (in.forward_only ? dt > 0 : (limited && dt > w)) break;
          visit(q);
        }
        // the event itself pairs with itself only across two different item spaces
        if (!in.self) visit(p);
        for (std::size_t q = p + 1; q < hi; ++q) {
          const std::uint64_t dt = static_cast<std::uint64_t>(ev.time[q]) - static_cast<std::uint64_t>(t);
          if (limited && dt > w) break;
          visit(q);
        }
      }
      s.visits += visits;
    }
    const product_row<slot_t> row{i, std::span<const index_t>(touched, nt), slot};
    bool cleared = false;
    if constexpr (std::is_same_v<decltype(on_row(row, tid)), bool>)
      cleared = on_row(row, tid);
    else
      on_row(row, tid);
    if (!cleared)
      for (std::size_t t = 0; t < nt; ++t) slot[touched[t]] = slot_t{};
    if (progress) progress->advance();
  });
  // (plain mode: every left entry (i, r) visits the whole right row r; integer sums, so the
  // total does not depend on which thread ran which row)
  std::int64_t visits = 0;
  for (const auto& s : scratch) visits += s.visits;
  return visits;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_COOCCURRENCE_HPP
