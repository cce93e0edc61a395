// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_COOCCURRENCE_INPUT_HPP
#define RECSYS_DETAIL_COOCCURRENCE_INPUT_HPP

/// @file
/// Internal (do not include directly; use recsys/models/item_to_item.hpp): the inputs of
/// item-to-item mining, before the product (detail/cooccurrence.hpp).
///
/// - `transpose`: items x rows of a rows x items `incidence` (serial and parallel, same result).
/// - `sort_item_keys`: the radix sort of (item, payload) keys the conversions use.
/// - `timed_events`: the transactions as time-ordered events, for co-occurrence inside a time
///   window.
/// - `prune`: percentile pruning of rows by length and of items by row count, an absolute
///   minimum item count, and the seeded per-row cap on distinct items.
/// - `apply_weighting`: BM25 and TF-IDF weights as implicit's item-item models compute them.

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
/// The per-entry passes run in parallel over rows; the per-item sums and the total are added
/// serially in entry order, so every weight is the same for any thread count.
inline void apply_weighting(incidence& x, value_weighting w, double k1, double b, const parallel_options& po) {
  if (w == value_weighting::raw || x.cols == 0) return;
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

/// apply_weighting() on the calling thread.
inline void apply_weighting(incidence& x, value_weighting w, double k1, double b) {
  parallel_options one;
  one.num_threads = 1;
  apply_weighting(x, w, k1, b, one);
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

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_COOCCURRENCE_INPUT_HPP
