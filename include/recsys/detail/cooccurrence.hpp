// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_COOCCURRENCE_HPP
#define RECSYS_DETAIL_COOCCURRENCE_HPP

/// @file
/// Internal (do not include directly; use recsys/models/item_to_item.hpp): the machinery of
/// item-to-item mining.
///
/// - `incidence`: transactions (users, baskets, sessions) x items in CSR form with distinct,
///   sorted items per row and positive values.
/// - `timed_events`: the same transactions as time-ordered events, for co-occurrence inside a
///   time window.
/// - `prune`: percentile pruning of rows by length and of items by row count, an absolute
///   minimum item count, and the seeded per-row cap on distinct items.
/// - `apply_weighting`: BM25 and TF-IDF weights as implicit's item-item models compute them.
/// - `cooccurrence_rows`: Gustavson's row-by-row sparse product L^T R: for every left item i
///   the sums over rows r containing i of l(r,i) * r(r,j), in a per-thread dense accumulator
///   with a list of touched columns; a callback consumes each finished row (top-K, rules).
///   Each row is computed by one thread in a fixed order, so the result does not depend on
///   the number of threads.

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

/// The same transpose as transpose(a), computed in parallel: the rows are cut into blocks of
/// about equal entries, each block counts its columns, a prefix over (column, block) turns the
/// counts into write positions, and each block scatters its own entries. Every entry lands where
/// the serial counting sort puts it, so the result is identical for any thread count.
[[nodiscard]] inline incidence transpose(const incidence& a, const parallel_options& po) {
  const std::size_t rows = a.rows();
  const auto cols = static_cast<std::size_t>(a.cols);
  const std::size_t nnz = a.nnz();
  // at most 16 blocks, and block x column counters no more than the entries themselves
  const std::size_t blocks = std::min<std::size_t>({16, rows, nnz / std::max<std::size_t>(cols, 1)});
  if (blocks < 2 || max_threads(po) < 2) return transpose(a);
  std::vector<std::size_t> lo(blocks + 1, rows);
  for (std::size_t b = 0; b < blocks; ++b) {
    const auto target = static_cast<std::int64_t>(nnz * b / blocks);
    lo[b] = static_cast<std::size_t>(std::lower_bound(a.ptr.begin(), a.ptr.end() - 1, target) - a.ptr.begin());
  }
  lo[0] = 0;
  parallel_options one = po;
  one.chunk = 1;
  // block b's count, then its first write offset, of column j (zeroed by the block that counts)
  buffer<std::int64_t> at(blocks * cols);
  parallel_for(0, static_cast<std::int64_t>(blocks), one, [&](std::int64_t b) {
    std::int64_t* c = at.data() + static_cast<std::size_t>(b) * cols;
    std::fill_n(c, cols, std::int64_t{0});
    const auto ub = static_cast<std::size_t>(b);
    for (std::int64_t e = a.ptr[lo[ub]]; e < a.ptr[lo[ub + 1]]; ++e) ++c[static_cast<std::size_t>(a.idx[static_cast<std::size_t>(e)])];
  });
  incidence t;
  t.cols = static_cast<index_t>(rows);
  t.ptr.resize(cols + 1);  // every entry written below
  t.ptr[0] = 0;
  constexpr std::int64_t kColumnChunk = 1024;
  parallel_for(0, static_cast<std::int64_t>((cols + kColumnChunk - 1) / kColumnChunk), one, [&](std::int64_t q) {
    const auto j_end = std::min(cols, static_cast<std::size_t>(q + 1) * kColumnChunk);
    for (auto j = static_cast<std::size_t>(q) * kColumnChunk; j < j_end; ++j) {
      std::int64_t sum = 0;
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::int64_t n = at[b * cols + j];
        at[b * cols + j] = sum;
        sum += n;
      }
      t.ptr[j + 1] = sum;
    }
  });
  for (std::size_t j = 0; j < cols; ++j) t.ptr[j + 1] += t.ptr[j];
  t.idx.resize(nnz);
  t.val.resize(nnz);
  parallel_for(0, static_cast<std::int64_t>(blocks), one, [&](std::int64_t b) {
    std::int64_t* next = at.data() + static_cast<std::size_t>(b) * cols;
    const auto ub = static_cast<std::size_t>(b);
    for (std::size_t r = lo[ub]; r < lo[ub + 1]; ++r)
      for (std::int64_t e = a.ptr[r]; e < a.ptr[r + 1]; ++e) {
        const auto j = static_cast<std::size_t>(a.idx[static_cast<std::size_t>(e)]);
        const auto p = static_cast<std::size_t>(t.ptr[j] + next[j]++);
        t.idx[p] = static_cast<index_t>(r);
        t.val[p] = a.val[static_cast<std::size_t>(e)];
      }
  });
  return t;
}

/// The bytes sort_item_keys needs for item indices in [0, items): 1 to 4.
[[nodiscard]] inline int item_key_bytes(index_t items) noexcept {
  int b = 1;
  while (b < 4 && (std::int64_t{1} << (8 * b)) < static_cast<std::int64_t>(items)) ++b;
  return b;
}

/// Sorts keys (item << 32 | payload) ascending as integers, i.e. by item, then payload: the
/// same order as std::sort. `item_bytes` (1 to 4) bounds the items: every item < 2^(8 item_bytes).
/// Short arrays go to std::sort; longer ones to an LSD radix sort on the item's bytes (one
/// stable counting pass per byte, through `scratch`, branch-free where std::sort mispredicts
/// about one comparison in two), after which the runs of a repeated item (in input order) are
/// sorted by payload. On a log of 2M events in rows of ~40 this halves the sorting time.
inline void sort_item_keys(std::uint64_t* k, std::size_t m, int item_bytes, std::vector<std::uint64_t>& scratch) {
  if (m <= 16 * static_cast<std::size_t>(item_bytes) || m > std::numeric_limits<std::uint32_t>::max()) {
    std::sort(k, k + m);
    return;
  }
  scratch.resize(m);
  std::uint64_t* from = k;
  std::uint64_t* to = scratch.data();
  for (int b = 0; b < item_bytes; ++b) {
    const int shift = 32 + 8 * b;
    std::array<std::uint32_t, 257> at{};
    for (std::size_t e = 0; e < m; ++e) ++at[((from[e] >> shift) & 0xffu) + 1];
    if (at[((from[0] >> shift) & 0xffu) + 1] == m) continue;  // one value of this byte: nothing moves
    for (std::size_t v = 0; v < 256; ++v) at[v + 1] += at[v];
    for (std::size_t e = 0; e < m; ++e) to[at[(from[e] >> shift) & 0xffu]++] = from[e];
    std::swap(from, to);
  }
  if (from != k) std::copy_n(from, m, k);
  for (std::size_t e = 0; e < m;) {
    std::size_t j = e + 1;
    while (j < m && (k[j] >> 32) == (k[e] >> 32)) ++j;
    if (j - e > 1) std::sort(k + e, k + j);
    e = j;
  }
}

/// 1 / column_norms() of the incidence whose transpose is `t` (0 for a zero column), in
/// parallel over items: each item's sum of squares is added in ascending row order, as
/// column_norms() adds it, so the values are identical.
[[nodiscard]] inline std::vector<double> inverse_column_norms(const incidence& t, const parallel_options& po) {
  std::vector<double> inv(t.rows(), 0.0);
  parallel_options o = po;
  o.chunk = 256;
  parallel_for(0, static_cast<std::int64_t>(t.rows()), o, [&](std::int64_t j) {
    const auto u = static_cast<std::size_t>(j);
    double s = 0.0;
    for (std::int64_t e = t.ptr[u]; e < t.ptr[u + 1]; ++e) {
      const auto v = static_cast<double>(t.val[static_cast<std::size_t>(e)]);
      s += v * v;
    }
    const double n = std::sqrt(s);
    inv[u] = n > 0.0 ? 1.0 / n : 0.0;
  });
  return inv;
}

/// Events of each row in time order (ties: item, then input order). side bit 1: the event is
/// on the left (query) side, bit 2: on the right (neighbour) side; lval/rval: the row's
/// (weighted) left/right value of the event's item, filled by attach_values().
struct timed_events {
  std::vector<std::int64_t> ptr{0};
  std::vector<index_t> item;
  std::vector<timestamp_t> time;
  std::vector<std::uint8_t> side;
  std::vector<std::int32_t> row;
  std::vector<float> lval;
  std::vector<float> rval;

  [[nodiscard]] std::size_t rows() const noexcept { return ptr.size() - 1; }
  [[nodiscard]] std::size_t size() const noexcept { return item.size(); }
};

/// One event given to timed_events::push_row.
struct raw_event {
  timestamp_t time;
  index_t item;
  std::uint8_t side;
};

/// Appends a row of events (sorted here by time, then item; stable).
inline void push_events_row(timed_events& ev, std::vector<raw_event>& row_events) {
  std::stable_sort(row_events.begin(), row_events.end(), [](const raw_event& a, const raw_event& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.item < b.item;
  });
  const auto r = static_cast<std::int32_t>(ev.rows());
  for (const raw_event& e : row_events) {
    ev.item.push_back(e.item);
    ev.time.push_back(e.time);
    ev.side.push_back(e.side);
    ev.row.push_back(r);
  }
  ev.ptr.push_back(static_cast<std::int64_t>(ev.item.size()));
}

/// Value of `item` in row r of x, 0 when absent (binary search).
[[nodiscard]] inline float value_at(const incidence& x, std::size_t r, index_t item) noexcept {
  const auto items = x.row(r);
  const auto it = std::lower_bound(items.begin(), items.end(), item);
  if (it == items.end() || *it != item) return 0.0f;
  return x.val[static_cast<std::size_t>(x.ptr[r] + (it - items.begin()))];
}

/// Fills ev.lval / ev.rval from the (weighted) incidences.
inline void attach_values(timed_events& ev, const incidence& left, const incidence& right) {
  ev.lval.assign(ev.size(), 0.0f);
  ev.rval.assign(ev.size(), 0.0f);
  for (std::size_t e = 0; e < ev.size(); ++e) {
    const auto r = static_cast<std::size_t>(ev.row[e]);
    if (ev.side[e] & 1u) ev.lval[e] = value_at(left, r, ev.item[e]);
    if (ev.side[e] & 2u) ev.rval[e] = value_at(right, r, ev.item[e]);
  }
}

/// What prune() may remove.
struct prune_options {
  double min_row_percentile = 0.0;   ///< rows shorter than this percentile of lengths go
  double max_row_percentile = 1.0;   ///< rows longer than this percentile go
  double min_item_percentile = 0.0;  ///< items in fewer rows than this percentile of counts go
  double max_item_percentile = 1.0;  ///< items in more rows than this percentile go
  std::int64_t min_item_rows = 0;    ///< items in fewer rows than this go (absolute)
  std::int64_t max_row_length = 0;   ///< rows with more distinct items keep a random subset (0: no cap)
  std::uint64_t seed = 0;            ///< for the cap's sampling
};

/// What prune() did.
struct prune_report {
  std::int64_t rows_nonempty = 0;   ///< rows with at least one item before pruning
  std::int64_t rows_kept = 0;       ///< non-empty rows kept by the row-length rule (= N)
  std::int64_t rows_short = 0;      ///< removed: shorter than the min percentile length
  std::int64_t rows_long = 0;       ///< removed: longer than the max percentile length
  std::int64_t rows_capped = 0;     ///< kept rows cut down to max_row_length items
  std::int64_t items_active = 0;    ///< items in at least one kept row
  std::int64_t items_kept = 0;      ///< items kept by the item rules
  std::int64_t items_rare = 0;      ///< removed: below the min percentile / min count
  std::int64_t items_popular = 0;   ///< removed: above the max percentile
  std::int64_t row_length_low = 0;  ///< the length thresholds used (inclusive)
  std::int64_t row_length_high = 0;
  std::int64_t item_count_low = 0;  ///< the item count thresholds used (inclusive)
  std::int64_t item_count_high = 0;
};

/// The index round(p * (n - 1)) of the nearest rank p in n ascending values (n > 0).
[[nodiscard]] inline std::size_t nearest_rank_index(std::size_t n, double p) {
  const double pos = std::floor(p * static_cast<double>(n - 1) + 0.5);
  return std::min(n - 1, static_cast<std::size_t>(std::max(0.0, pos)));
}

/// The value at rank round(p * (n - 1)) of an ascending sequence (nearest rank); 0 when empty.
[[nodiscard]] inline std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[nearest_rank_index(sorted.size(), p)];
}

/// nearest_rank of the values as if sorted, without sorting them all: the minimum / maximum for
/// p = 0 / 1 (the defaults: one pass), else a selection. Reorders `values`.
[[nodiscard]] inline std::int64_t nearest_rank_unsorted(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) return 0;
  const std::size_t k = nearest_rank_index(values.size(), p);
  if (k == 0) return *std::min_element(values.begin(), values.end());
  if (k == values.size() - 1) return *std::max_element(values.begin(), values.end());
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

namespace cooc {
// Sorted union of two ascending distinct lists into out.
inline void sorted_union(std::span<const index_t> a, std::span<const index_t> b, std::vector<index_t>& out) {
  out.clear();
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
}

// Keeps the entries of row r of x whose item is in `allowed` (ascending).
inline void filter_row(const incidence& x, std::size_t r, std::span<const index_t> allowed, incidence& out) {
  std::size_t a = 0;
  for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
    const index_t j = x.idx[static_cast<std::size_t>(e)];
    while (a < allowed.size() && allowed[a] < j) ++a;
    if (a < allowed.size() && allowed[a] == j) {
      out.idx.push_back(j);
      out.val.push_back(x.val[static_cast<std::size_t>(e)]);
    }
  }
  out.ptr.push_back(static_cast<std::int64_t>(out.idx.size()));
}
}  // namespace cooc

/// Applies, in this order: (1) row-length percentiles over non-empty rows (length = distinct
/// items over both sides), (2) item-count percentiles and min_item_rows over the kept rows
/// (count = rows holding the item on either side), (3) the per-row cap: a row with more than
/// max_row_length remaining items keeps a uniform random subset drawn from
/// rng(seed, stream_tag("item_to_item.history_cap"), row). Row indices are preserved (removed
/// rows become empty). `right` is null for self co-occurrence; `events` may be null.
inline prune_report prune(incidence& left, incidence* right, timed_events* events, const prune_options& o) {
  const std::size_t rows = left.rows();
  RECSYS_ASSERT(!right || right->rows() == rows);
  const index_t cols = left.cols;
  prune_report rep;
  std::vector<index_t> tmp;
  auto items_of = [&](std::size_t r) -> std::span<const index_t> {
    if (!right) return left.row(r);
    cooc::sorted_union(left.row(r), right->row(r), tmp);
    return tmp;
  };

  // (1) rows by length
  std::vector<std::int64_t> len(rows, 0);
  std::vector<std::int64_t> lengths;
  for (std::size_t r = 0; r < rows; ++r) {
    len[r] = static_cast<std::int64_t>(items_of(r).size());
    if (len[r] > 0) lengths.push_back(len[r]);
  }
  rep.rows_nonempty = static_cast<std::int64_t>(lengths.size());
  // (no full sort: 1M baskets made it a visible share of a fit)
  rep.row_length_low = nearest_rank_unsorted(lengths, o.min_row_percentile);
  rep.row_length_high = nearest_rank_unsorted(lengths, o.max_row_percentile);
  const std::int64_t longest = lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  std::vector<char> row_keep(rows, 0);
  for (std::size_t r = 0; r < rows; ++r) {
    if (len[r] == 0) continue;
    if (len[r] < rep.row_length_low) {
      ++rep.rows_short;
    } else if (len[r] > rep.row_length_high) {
      ++rep.rows_long;
    } else {
      row_keep[r] = 1;
      ++rep.rows_kept;
    }
  }

  // (2) items by count over kept rows
  std::vector<std::int64_t> count(static_cast<std::size_t>(cols), 0);
  for (std::size_t r = 0; r < rows; ++r)
    if (row_keep[r])
      for (index_t j : items_of(r)) ++count[static_cast<std::size_t>(j)];
  std::vector<std::int64_t> counts;
  for (std::int64_t c : count)
    if (c > 0) counts.push_back(c);
  rep.items_active = static_cast<std::int64_t>(counts.size());
  rep.item_count_low = std::max(nearest_rank_unsorted(counts, o.min_item_percentile), o.min_item_rows);
  rep.item_count_high = nearest_rank_unsorted(counts, o.max_item_percentile);
  std::vector<char> item_keep(static_cast<std::size_t>(cols), 0);
  for (std::size_t j = 0; j < item_keep.size(); ++j) {
    if (count[j] == 0) continue;
    if (count[j] < rep.item_count_low) {
      ++rep.items_rare;
    } else if (count[j] > rep.item_count_high) {
      ++rep.items_popular;
    } else {
      item_keep[j] = 1;
      ++rep.items_kept;
    }
  }

  // (3) allowed items per row, capped
  const bool no_change = rep.rows_short == 0 && rep.rows_long == 0 && rep.items_rare == 0 && rep.items_popular == 0 &&
                         (o.max_row_length <= 0 || longest <= o.max_row_length);
  if (no_change) return rep;

  incidence allowed;
  allowed.cols = cols;
  allowed.ptr.reserve(rows + 1);
  std::vector<index_t> kept;
  const std::uint64_t tag = stream_tag("item_to_item.history_cap");
  for (std::size_t r = 0; r < rows; ++r) {
    kept.clear();
    if (row_keep[r])
      for (index_t j : items_of(r))
        if (item_keep[static_cast<std::size_t>(j)]) kept.push_back(j);
    if (o.max_row_length > 0 && static_cast<std::int64_t>(kept.size()) > o.max_row_length) {
      rng g(o.seed, tag, r);
      const auto cap = static_cast<std::size_t>(o.max_row_length);
      for (std::size_t t = 0; t < cap; ++t) {
        const std::size_t pick = t + g.uniform_index(static_cast<std::uint32_t>(kept.size() - t));
        std::swap(kept[t], kept[pick]);
      }
      kept.resize(cap);
      std::sort(kept.begin(), kept.end());
      ++rep.rows_capped;
    }
    allowed.idx.insert(allowed.idx.end(), kept.begin(), kept.end());
    allowed.ptr.push_back(static_cast<std::int64_t>(allowed.idx.size()));
  }

  auto rebuild = [&](incidence& x) {
    incidence out;
    out.cols = x.cols;
    out.ptr.reserve(rows + 1);
    out.idx.reserve(x.nnz());
    out.val.reserve(x.nnz());
    for (std::size_t r = 0; r < rows; ++r) cooc::filter_row(x, r, allowed.row(r), out);
    x = std::move(out);
  };
  rebuild(left);
  if (right) rebuild(*right);

  if (events) {
    timed_events out;
    for (std::size_t r = 0; r < events->rows(); ++r) {
      const auto ok = allowed.row(r);
      for (std::int64_t e = events->ptr[r]; e < events->ptr[r + 1]; ++e) {
        const auto u = static_cast<std::size_t>(e);
        if (!std::binary_search(ok.begin(), ok.end(), events->item[u])) continue;
        out.item.push_back(events->item[u]);
        out.time.push_back(events->time[u]);
        out.side.push_back(events->side[u]);
        out.row.push_back(events->row[u]);
      }
      out.ptr.push_back(static_cast<std::int64_t>(out.item.size()));
    }
    *events = std::move(out);
  }
  return rep;
}

/// How entry values are transformed before the product.
enum class value_weighting { raw, bm25, tfidf };

/// In place, with the transactions as implicit's "terms" and the items as its "documents"
/// (implicit 0.7 weights counts.T, item x user): idf(r) = log(cols) - log1p(items in row r);
///   bm25:  w = v (k1 + 1) / (k1 ((1 - b) + b s_j / mean_s) + v) * idf(r),
///          s_j = sum of item j's values, mean_s = sum of all values / cols;
///   tfidf: w = sqrt(v) idf(r), then each item's column scaled to unit L2 norm (a column of
///          zero norm stays zero).
inline void apply_weighting(incidence& x, value_weighting w, double k1, double b) {
  if (w == value_weighting::raw || x.cols == 0) return;
  const double log_cols = std::log(static_cast<double>(x.cols));
  if (w == value_weighting::bm25) {
    std::vector<double> s(static_cast<std::size_t>(x.cols), 0.0);
    double total = 0.0;
    for (std::size_t e = 0; e < x.nnz(); ++e) {
      s[static_cast<std::size_t>(x.idx[e])] += x.val[e];
      total += x.val[e];
    }
    const double mean_s = total / static_cast<double>(x.cols);
    for (std::size_t r = 0; r < x.rows(); ++r) {
      const double idf = log_cols - std::log1p(static_cast<double>(x.length(r)));
      for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
        const auto u = static_cast<std::size_t>(e);
        const double v = x.val[u];
        const double norm = (1.0 - b) + b * s[static_cast<std::size_t>(x.idx[u])] / mean_s;
        x.val[u] = static_cast<float>(v * (k1 + 1.0) / (k1 * norm + v) * idf);
      }
    }
    return;
  }
  for (std::size_t r = 0; r < x.rows(); ++r) {
    const double idf = log_cols - std::log1p(static_cast<double>(x.length(r)));
    for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
      const auto u = static_cast<std::size_t>(e);
      x.val[u] = static_cast<float>(std::sqrt(static_cast<double>(x.val[u])) * idf);
    }
  }
  const std::vector<double> norm = x.column_norms();
  for (std::size_t e = 0; e < x.nnz(); ++e) {
    const double n = norm[static_cast<std::size_t>(x.idx[e])];
    x.val[e] = n > 0.0 ? static_cast<float>(x.val[e] / n) : 0.0f;
  }
}

/// apply_weighting() with its per-entry passes in parallel over rows. The per-item sums and the
/// total are still added serially in entry order, so every weight is identical.
inline void apply_weighting(incidence& x, value_weighting w, double k1, double b, const parallel_options& po) {
  if (w == value_weighting::raw || x.cols == 0) return;
  if (max_threads(po) < 2) return apply_weighting(x, w, k1, b);
  const double log_cols = std::log(static_cast<double>(x.cols));
  parallel_options o = po;
  o.chunk = 256;
  const auto rows = static_cast<std::int64_t>(x.rows());
  if (w == value_weighting::bm25) {
    std::vector<double> s(static_cast<std::size_t>(x.cols), 0.0);
    double total = 0.0;
    for (std::size_t e = 0; e < x.nnz(); ++e) {
      s[static_cast<std::size_t>(x.idx[e])] += x.val[e];
      total += x.val[e];
    }
    const double mean_s = total / static_cast<double>(x.cols);
    parallel_for(0, rows, o, [&](std::int64_t r64) {
      const auto r = static_cast<std::size_t>(r64);
      const double idf = log_cols - std::log1p(static_cast<double>(x.length(r)));
      for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
        const auto u = static_cast<std::size_t>(e);
        const double v = x.val[u];
        const double norm = (1.0 - b) + b * s[static_cast<std::size_t>(x.idx[u])] / mean_s;
        x.val[u] = static_cast<float>(v * (k1 + 1.0) / (k1 * norm + v) * idf);
      }
    });
    return;
  }
  parallel_for(0, rows, o, [&](std::int64_t r64) {
    const auto r = static_cast<std::size_t>(r64);
    const double idf = log_cols - std::log1p(static_cast<double>(x.length(r)));
    for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
      const auto u = static_cast<std::size_t>(e);
      x.val[u] = static_cast<float>(std::sqrt(static_cast<double>(x.val[u])) * idf);
    }
  });
  const std::vector<double> norm = x.column_norms();
  parallel_for(0, rows, o, [&](std::int64_t r64) {
    const auto r = static_cast<std::size_t>(r64);
    for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
      const auto u = static_cast<std::size_t>(e);
      const double n = norm[static_cast<std::size_t>(x.idx[u])];
      x.val[u] = n > 0.0 ? static_cast<float>(x.val[u] / n) : 0.0f;
    }
  });
}

/// Removes the entries of items flagged in `drop` (values of the others are untouched).
inline void drop_items(incidence& x, const std::vector<char>& drop) {
  std::size_t w = 0;
  std::int64_t start = 0;
  for (std::size_t r = 0; r < x.rows(); ++r) {
    const std::int64_t end = x.ptr[r + 1];
    for (std::int64_t e = start; e < end; ++e) {
      const auto u = static_cast<std::size_t>(e);
      if (drop[static_cast<std::size_t>(x.idx[u])]) continue;
      x.idx[w] = x.idx[u];
      x.val[w] = x.val[u];
      ++w;
    }
    start = end;
    x.ptr[r + 1] = static_cast<std::int64_t>(w);
  }
  x.idx.resize(w);
  x.val.resize(w);
}

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
