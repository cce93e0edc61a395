// SPDX-License-Identifier: Apache-2.0
// The item-to-item mining path as it was before the i2i-speed work (main at c148e84): its
// product kernel (touched list, prefetch of each row's first line) and its per-row top-K
// (a binary heap fed every candidate that beats the current worst), driven like
// item_to_item::fit for untimed self co-occurrence with the default pruning. Kept in bench/
// only, so bench_item_to_item can report "new vs old in the same run" and check that both give
// the same neighbour matrix. Supports cosine, bm25, tfidf, llr, sims (the benchmarked scores).
#ifndef RECSYS_BENCH_BASELINE_ITEM_TO_ITEM_HPP
#define RECSYS_BENCH_BASELINE_ITEM_TO_ITEM_HPP

#include <recsys/detail/cooccurrence.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/models/item_to_item.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace recsys::bench::baseline {

struct old_weighted_slot {
  float sum;
  std::int32_t count;
};
struct old_count_slot {
  std::int32_t count;
};
template <class Slot>
struct old_scratch {
  std::vector<Slot> slot;
  std::vector<index_t> touched;
};

// detail::cooccurrence_rows<Weighted, false> as it was (plain mode only).
template <bool Weighted, class OnRow>
void old_cooccurrence_rows(const detail::incidence& lt, const detail::incidence& rm, index_t items,
                           const parallel_options& po, OnRow&& on_row) {
  using slot_t = std::conditional_t<Weighted, old_weighted_slot, old_count_slot>;
  const int threads = max_threads(po);
  std::vector<old_scratch<slot_t>> scratch(static_cast<std::size_t>(threads));
  const auto m = static_cast<std::size_t>(items);
  parallel_for(0, items, po, [&](std::int64_t i64, int tid) {
    old_scratch<slot_t>& s = scratch[static_cast<std::size_t>(tid)];
    if (s.slot.size() != m) {
      s.slot.assign(m, slot_t{});
      s.touched.assign(m + 1, 0);
    }
    const auto i = static_cast<index_t>(i64);
    slot_t* const slot = s.slot.data();
    index_t* const touched = s.touched.data();
    std::size_t nt = 0;
    const std::int64_t* rptr = rm.ptr.data();
    const index_t* ridx = rm.idx.data();
    [[maybe_unused]] const float* rval = rm.val.data();
    const index_t* lidx = lt.idx.data();
    const std::int64_t p_end = lt.ptr[static_cast<std::size_t>(i) + 1];
    constexpr std::int64_t kPrefetch = 8;
    for (std::int64_t p = lt.ptr[static_cast<std::size_t>(i)]; p < p_end; ++p) {
      if (p + 2 * kPrefetch < p_end) detail::prefetch(rptr + lidx[p + 2 * kPrefetch]);
      if (p + kPrefetch < p_end) detail::prefetch(ridx + rptr[lidx[p + kPrefetch]]);
      const auto r = static_cast<std::size_t>(lidx[p]);
      const std::int64_t b = rptr[r], e = rptr[r + 1];
      if constexpr (Weighted) {
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
    on_row(i, std::span<const index_t>(touched, nt), slot, tid);
    for (std::size_t t = 0; t < nt; ++t) slot[touched[t]] = slot_t{};
  });
}

// item_to_item::fit's mining of x (rows x items, values > 0) as it was: popularity, pruning,
// weighting, marginals, min-count item drop, transpose, product + heap top-K, CSR compaction.
inline csr_matrix old_mine(detail::incidence left, const item_to_item_config& c) {
  const index_t items = left.cols;
  std::vector<score_t> popularity(static_cast<std::size_t>(items), 0.0f);
  {
    const std::vector<std::int64_t> n = left.column_counts();
    for (std::size_t j = 0; j < n.size(); ++j) popularity[j] = static_cast<score_t>(n[j]);
  }
  std::vector<index_t> popular(static_cast<std::size_t>(items));
  std::iota(popular.begin(), popular.end(), 0);
  std::stable_sort(popular.begin(), popular.end(), [&](index_t a, index_t b) {
    return popularity[static_cast<std::size_t>(a)] > popularity[static_cast<std::size_t>(b)];
  });
  detail::prune_options po;
  po.min_row_percentile = c.min_row_length_percentile;
  po.max_row_percentile = c.max_row_length_percentile;
  po.min_item_percentile = c.min_item_count_percentile;
  po.max_item_percentile = c.max_item_count_percentile;
  po.max_row_length = c.max_row_length;
  po.seed = c.seed;
  const detail::prune_report pr = detail::prune(left, nullptr, nullptr, po);
  const detail::value_weighting vw = c.similarity == item_similarity::bm25    ? detail::value_weighting::bm25
                                     : c.similarity == item_similarity::tfidf ? detail::value_weighting::tfidf
                                                                              : detail::value_weighting::raw;
  detail::apply_weighting(left, vw, c.bm25_k1, c.bm25_b);
  const std::vector<std::int64_t> n_left = left.column_counts();
  std::vector<double> inv_norm;
  if (c.similarity == item_similarity::cosine) {
    inv_norm = left.column_norms();
    for (double& x : inv_norm) x = x > 0.0 ? 1.0 / x : 0.0;
  }
  if (c.min_cooccurrence > 1) {
    std::vector<char> drop(static_cast<std::size_t>(items), 0);
    bool any = false;
    for (std::size_t j = 0; j < drop.size(); ++j) {
      drop[j] = n_left[j] > 0 && n_left[j] < c.min_cooccurrence;
      any = any || drop[j];
    }
    if (any) detail::drop_items(left, drop);
  }
  const detail::incidence left_t = detail::transpose(left);
  const auto kk = static_cast<std::size_t>(c.neighbours);
  std::vector<index_t> nb_ids(kk * static_cast<std::size_t>(items));
  std::vector<score_t> nb_scores(kk * static_cast<std::size_t>(items));
  std::vector<std::int32_t> nb_len(static_cast<std::size_t>(items), 0);
  parallel_options par;
  par.num_threads = c.num_threads;
  par.chunk = 4;
  std::vector<detail::topk_heap> heaps(static_cast<std::size_t>(max_threads(par)), detail::topk_heap(c.neighbours));
  const double n = static_cast<double>(pr.rows_kept);
  auto score = [&](index_t i, index_t j, double cnt, double w) -> double {
    switch (c.similarity) {
      case item_similarity::cosine:
        return w * inv_norm[static_cast<std::size_t>(i)] * inv_norm[static_cast<std::size_t>(j)];
      case item_similarity::llr: {
        const auto k11 = static_cast<std::int64_t>(cnt);
        const std::int64_t k12 = n_left[static_cast<std::size_t>(i)] - k11;
        const std::int64_t k21 = n_left[static_cast<std::size_t>(j)] - k11;
        const std::int64_t k22 = std::max<std::int64_t>(
            0, static_cast<std::int64_t>(n) - n_left[static_cast<std::size_t>(i)] - n_left[static_cast<std::size_t>(j)] + k11);
        const double g2 = log_likelihood_ratio(k11, k12, k21, k22);
        const bool above =
            static_cast<double>(k11) * static_cast<double>(k22) >= static_cast<double>(k12) * static_cast<double>(k21);
        return above ? g2 : -g2;
      }
      case item_similarity::sims:
        return cnt / std::pow(static_cast<double>(n_left[static_cast<std::size_t>(j)]), c.popularity_discount);
      default:  // bm25, tfidf
        return w;
    }
  };
  auto on_row = [&](index_t i, std::span<const index_t> touched, const auto* slot, int tid) {
    detail::topk_heap& heap = heaps[static_cast<std::size_t>(tid)];
    bool full = false;
    score_t worst = 0;
    index_t worst_id = 0;
    for (index_t j : touched) {
      const std::int32_t cnt = slot[j].count;
      if (cnt < c.min_cooccurrence || j == i) continue;
      double w = 0.0;
      if constexpr (std::is_same_v<std::remove_cvref_t<decltype(*slot)>, old_weighted_slot>)
        w = static_cast<double>(slot[j].sum);
      const double s = score(i, j, static_cast<double>(cnt), w);
      const auto sf = static_cast<score_t>(s);
      if (!(s >= c.min_score) || (full && !ranks_before(sf, j, worst, worst_id))) continue;
      heap.push(sf, j);
      if (heap.full()) {
        full = true;
        worst = heap.threshold();
        worst_id = heap.threshold_id();
      }
    }
    const std::size_t base = static_cast<std::size_t>(i) * kk;
    nb_len[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(heap.drain_to(&nb_ids[base], &nb_scores[base]));
  };
  if (uses_values(c.similarity))
    old_cooccurrence_rows<true>(left_t, left, items, par, on_row);
  else
    old_cooccurrence_rows<false>(left_t, left, items, par, on_row);

  std::int64_t nnz = 0;
  for (std::int32_t l : nb_len) nnz += l;
  csr_matrix nb(items, items);
  nb.resizeNonZeros(static_cast<Eigen::Index>(nnz));
  index_t* outer = nb.outerIndexPtr();
  index_t* inner = nb.innerIndexPtr();
  score_t* values = nb.valuePtr();
  outer[0] = 0;
  std::vector<std::pair<index_t, score_t>> tmp;
  for (std::size_t i = 0; i < static_cast<std::size_t>(items); ++i) {
    const auto len = static_cast<std::size_t>(nb_len[i]);
    tmp.clear();
    for (std::size_t t = 0; t < len; ++t) tmp.emplace_back(nb_ids[i * kk + t], nb_scores[i * kk + t]);
    std::sort(tmp.begin(), tmp.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const index_t o = outer[i];
    for (std::size_t t = 0; t < len; ++t) {
      inner[static_cast<std::size_t>(o) + t] = tmp[t].first;
      values[static_cast<std::size_t>(o) + t] = tmp[t].second;
    }
    outer[i + 1] = o + static_cast<index_t>(len);
  }
  return nb;
}

// item_to_item::fit(csr_matrix) as it was (the input conversion and the kept histories).
inline csr_matrix old_fit(const csr_matrix& user_items, const item_to_item_config& c) {
  detail::incidence x;
  x.cols = static_cast<index_t>(user_items.cols());
  x.ptr.reserve(static_cast<std::size_t>(user_items.rows()) + 1);
  x.idx.reserve(static_cast<std::size_t>(user_items.nonZeros()));
  x.val.reserve(static_cast<std::size_t>(user_items.nonZeros()));
  std::vector<std::pair<index_t, float>> row;
  for (Eigen::Index u = 0; u < user_items.rows(); ++u) {
    row.clear();
    for (csr_matrix::InnerIterator it(user_items, u); it; ++it)
      if (it.value() > 0.0f) row.emplace_back(static_cast<index_t>(it.col()), it.value());
    x.push_row(row);
  }
  detail::incidence history = x;
  std::fill(history.val.begin(), history.val.end(), 1.0f);
  return old_mine(std::move(x), c);
}

// item_to_item::fit(basket_data) as it was.
inline csr_matrix old_fit(const basket_data& baskets, const item_to_item_config& c) {
  detail::incidence x;
  x.cols = baskets.num_items();
  x.ptr.reserve(baskets.size() + 1);
  x.idx.reserve(baskets.items.size());
  x.val.reserve(baskets.items.size());
  std::vector<std::pair<index_t, float>> row;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    row.clear();
    for (index_t i : baskets.basket(b)) row.emplace_back(i, 1.0f);
    x.push_row(row);
    for (std::int64_t e = x.ptr[b]; e < x.ptr[b + 1]; ++e) x.val[static_cast<std::size_t>(e)] = 1.0f;
  }
  return old_mine(std::move(x), c);
}

}  // namespace recsys::bench::baseline

#endif  // RECSYS_BENCH_BASELINE_ITEM_TO_ITEM_HPP
