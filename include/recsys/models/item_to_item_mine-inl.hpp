// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_MINE_INL_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_MINE_INL_HPP

/// @file
/// Definitions of models/item_to_item.hpp (included by item_to_item-inl.hpp): the mining, the
/// sparse product X^T X of detail/cooccurrence.hpp with each item's row scored and cut to its
/// top-K on the fly.

#include <recsys/models/item_to_item.hpp>

#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/sparse_accumulator.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/parallel.hpp>
#include <recsys/ranking/candidates.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>

namespace recsys {

namespace detail {

/// Scores one pair from its counts: c = count, w = weighted sum, ni/nj = left/right marginals.
struct i2i_pair_scorer {
  item_similarity sim;
  double n;  // N
  double discount;
  const std::int64_t* ni_counts;
  const std::int64_t* nj_counts;
  const double* ni_norms;  ///< cosine: 1 / column norm (0 when the norm is 0)
  const double* nj_norms;

  template <item_similarity S>
  [[nodiscard]] double score(index_t i, index_t j, double c, double w) const {
    const double ni = static_cast<double>(ni_counts[i]);
    const double nj = static_cast<double>(nj_counts[j]);
    if constexpr (S == item_similarity::count) {
      return c;
    } else if constexpr (S == item_similarity::jaccard) {
      return c / (ni + nj - c);
    } else if constexpr (S == item_similarity::cosine) {
      return w * ni_norms[i] * nj_norms[j];  // inverse norms (0 for a zero column)
    } else if constexpr (S == item_similarity::lift) {
      return c * n / (ni * nj);
    } else if constexpr (S == item_similarity::pmi) {
      return std::log((c / ni) * (n / nj));
    } else if constexpr (S == item_similarity::npmi) {
      if (c >= n) return 1.0;
      return std::log((c / ni) * (n / nj)) / -std::log(c / n);
    } else if constexpr (S == item_similarity::llr) {
      const auto k11 = static_cast<std::int64_t>(c);
      const std::int64_t k12 = ni_counts[i] - k11;
      const std::int64_t k21 = nj_counts[j] - k11;
      // in timed mode a pair may share transactions outside the window, so the table can
      // overflow N: the "neither" cell is then empty (see docs)
      const std::int64_t k22 =
          std::max<std::int64_t>(0, static_cast<std::int64_t>(n) - ni_counts[i] - nj_counts[j] + k11);
      const double g2 = log_likelihood_ratio(k11, k12, k21, k22);
      const bool above =
          static_cast<double>(k11) * static_cast<double>(k22) >= static_cast<double>(k12) * static_cast<double>(k21);
      return above ? g2 : -g2;
    } else if constexpr (S == item_similarity::confidence) {
      return c / ni;
    } else if constexpr (S == item_similarity::sims) {
      return c / std::pow(nj, discount);
    } else {  // bm25, tfidf: dot products of weighted vectors (tfidf columns are unit norm)
      return w;
    }
  }
};

}  // namespace detail

template <class T>
std::uint64_t basic_item_to_item<T>::rank_key(score_t score, index_t id) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(score == 0.0f ? 0.0f : score);
  const std::uint32_t ord = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
  return (static_cast<std::uint64_t>(ord) << 32) | static_cast<std::uint32_t>(~static_cast<std::uint32_t>(id));
}

template <class T>
index_t basic_item_to_item<T>::key_id(std::uint64_t key) noexcept {
  return static_cast<index_t>(~static_cast<std::uint32_t>(key));
}

template <class T>
score_t basic_item_to_item<T>::key_score(std::uint64_t key) noexcept {
  const auto ord = static_cast<std::uint32_t>(key >> 32);
  return std::bit_cast<score_t>((ord & 0x80000000u) ? (ord ^ 0x80000000u) : ~ord);
}

template <class T>
void basic_item_to_item<T>::mine(detail::incidence left, detail::incidence right, bool cross, detail::timed_events events, bool timed,
    fitted_state& st, const job_control& job, std::chrono::steady_clock::time_point t0) {
  const item_to_item_config& c = config_;
  job.cancel.throw_if_cancelled();
  const index_t items = st.num_items;
  RECSYS_REQUIRE(left.nnz() > 0 || right.nnz() > 0, "item_to_item::fit", "the input holds no item");

  // popularity: transactions holding the item (neighbour side), before pruning; when the
  // settings cannot prune anything, the counts come from the transpose below instead
  const bool prune_noop = c.min_row_length_percentile == 0.0 && c.max_row_length_percentile == 1.0 &&
                          c.min_item_count_percentile == 0.0 && c.max_item_count_percentile == 1.0 &&
                          c.max_row_length == 0;
  std::vector<std::int64_t> counts_before;
  if (!prune_noop) counts_before = (cross ? right : left).column_counts();

  // pruning
  detail::prune_options po;
  po.min_row_percentile = c.min_row_length_percentile;
  po.max_row_percentile = c.max_row_length_percentile;
  po.min_item_percentile = c.min_item_count_percentile;
  po.max_item_percentile = c.max_item_count_percentile;
  po.max_row_length = c.max_row_length;
  po.seed = c.seed;
  const detail::prune_report pr = detail::prune(left, cross ? &right : nullptr, timed ? &events : nullptr, po);
  job.cancel.throw_if_cancelled();

  // weights and marginals
  const detail::value_weighting vw = c.similarity == item_similarity::bm25    ? detail::value_weighting::bm25
                                     : c.similarity == item_similarity::tfidf ? detail::value_weighting::tfidf
                                                                              : detail::value_weighting::raw;
  parallel_options par;
  par.num_threads = c.num_threads;
  detail::apply_weighting(left, vw, c.bm25_k1, c.bm25_b, par);
  if (cross) detail::apply_weighting(right, vw, c.bm25_k1, c.bm25_b, par);
  const detail::incidence& rside = cross ? right : left;
  // the item marginals from the transposes (one parallel pass each): counts = row lengths of
  // the transpose, norms summed in ascending transaction order as column_norms() sums them
  detail::incidence left_t = detail::transpose(left, par);
  detail::incidence right_t;
  if (cross) right_t = detail::transpose(right, par);
  auto lengths = [&](const detail::incidence& t) {
    std::vector<std::int64_t> n(t.rows());
    for (std::size_t j = 0; j < n.size(); ++j) n[j] = static_cast<std::int64_t>(t.length(j));
    return n;
  };
  const std::vector<std::int64_t> n_left = lengths(left_t);
  const std::vector<std::int64_t> n_right = cross ? lengths(right_t) : n_left;
  std::vector<double> norm_left, norm_right;
  if (c.similarity == item_similarity::cosine) {
    norm_left = detail::inverse_column_norms(left_t, par);
    norm_right = cross ? detail::inverse_column_norms(right_t, par) : norm_left;
  }
  right_t = {};
  RECSYS_ASSERT(!prune_noop || (pr.rows_short == 0 && pr.rows_long == 0 && pr.items_rare == 0 &&
                                pr.items_popular == 0 && pr.rows_capped == 0));
  std::vector<score_t> popularity(static_cast<std::size_t>(items), 0.0f);
  {
    const std::vector<std::int64_t>& n = prune_noop ? n_right : counts_before;
    for (std::size_t j = 0; j < n.size(); ++j) popularity[j] = static_cast<score_t>(n[j]);
  }
  std::vector<index_t> popular = detail::popularity_order(popularity);

  // exact speed-up: an item in fewer than min_cooccurrence transactions has no qualifying pair
  if (c.min_cooccurrence > 1) {
    std::vector<char> drop_l(static_cast<std::size_t>(items), 0), drop_r(static_cast<std::size_t>(items), 0);
    bool any = false;
    for (std::size_t j = 0; j < drop_l.size(); ++j) {
      drop_l[j] = n_left[j] > 0 && n_left[j] < c.min_cooccurrence;
      drop_r[j] = n_right[j] > 0 && n_right[j] < c.min_cooccurrence;
      any = any || drop_l[j] || drop_r[j];
    }
    if (any) {
      if (cross) {
        detail::drop_items(left, drop_l);
        detail::drop_items(right, drop_r);
      } else {
        detail::drop_items(left, drop_l);
      }
      if (!timed) {
        // the transpose of the dropped-from left: the same rows, minus those of the dropped
        // items (exactly the entries removed), compacted in place
        std::size_t w = 0;
        std::int64_t start = 0;
        for (std::size_t j = 0; j < drop_l.size(); ++j) {
          const std::int64_t end = left_t.ptr[j + 1];
          if (!drop_l[j])
            for (std::int64_t e = start; e < end; ++e, ++w) {
              left_t.idx[w] = left_t.idx[static_cast<std::size_t>(e)];
              left_t.val[w] = left_t.val[static_cast<std::size_t>(e)];
            }
          start = end;
          left_t.ptr[j + 1] = static_cast<std::int64_t>(w);
        }
        left_t.idx.resize(w);
        left_t.val.resize(w);
      }
      if (timed)
        for (std::size_t e = 0; e < events.size(); ++e) {
          const auto j = static_cast<std::size_t>(events.item[e]);
          if (drop_l[j]) events.side[e] &= static_cast<std::uint8_t>(~1u);
          if (drop_r[j]) events.side[e] &= static_cast<std::uint8_t>(~2u);
        }
    }
  }

  detail::incidence postings;
  detail::product_input in;
  in.self = !cross;
  in.left_items = items;
  in.right_items = items;
  if (timed) {
    detail::attach_values(events, left, rside);
    postings = detail::left_postings(events, items);
    in.events = &events;
    in.postings = &postings;
    in.window = static_cast<std::uint64_t>(c.time_window);
    in.forward_only = c.forward_only;
    left_t = {};
  } else {
    in.left_t = &left_t;
    in.right = &rside;
  }

  // the product, each row cut to its top-K: every touched pair is scored into a per-thread
  // buffer (clearing its accumulator slot on the way), then a selection keeps the best K
  // (ranks_before: score descending, ties by ascending id), written in ascending id order
  const auto kk = static_cast<std::size_t>(c.neighbours);
  const std::size_t slots = kk * static_cast<std::size_t>(items);
  // (not zero-filled: each row writes its own entries, on the thread that computed it)
  detail::buffer<index_t> nb_ids(slots);
  detail::buffer<score_t> nb_scores(slots);
  std::vector<std::int32_t> nb_len(static_cast<std::size_t>(items), 0);
  const detail::i2i_pair_scorer scorer{c.similarity,
                           static_cast<double>(pr.rows_kept),
                           c.popularity_discount,
                           n_left.data(),
                           n_right.data(),
                           norm_left.empty() ? nullptr : norm_left.data(),
                           norm_right.empty() ? nullptr : norm_right.data()};
  par.chunk = 4;
  // candidates buffered before a cut back to the best K
  // (a row has at most `items` candidates: a larger buffer never fills)
  const std::size_t cap = std::min(kk + std::max<std::size_t>(kk, 32), static_cast<std::size_t>(items) + 1);
  std::vector<row_selection> selections(static_cast<std::size_t>(max_threads(par)));
  const std::int64_t min_count = c.min_cooccurrence;
  const double min_score = c.min_score;
  const bool self = !cross;
  auto on_row = [&](const auto& row, int tid) -> bool {
    row_selection& sel = selections[static_cast<std::size_t>(tid)];
    const std::size_t nt = row.touched.size();
    if (sel.key.size() < nt) sel.key.resize(std::max<std::size_t>(nt, static_cast<std::size_t>(items)));
    if (sel.best.size() < cap) sel.best.resize(cap);
    std::uint64_t* const key = sel.key.data();
    sel.negative_zero.clear();
    // pass 1: the rank key of every touched pair, 0 for a pair that cannot be kept (a kept
    // score is never NaN: it passed s >= min_score)
    auto run = [&]<item_similarity S>() {
      for (std::size_t t = 0; t < nt; ++t) {
        const index_t j = row.touched[t];
        const std::int32_t cnt = row.count(j);
        const double w = row.sum(j);
        row.clear(j);
        if (cnt < min_count || (self && j == row.item)) {
          key[t] = 0;
          continue;
        }
        const double sv = scorer.template score<S>(row.item, j, static_cast<double>(cnt), w);
        const auto sf = static_cast<score_t>(sv);
        key[t] = sv >= min_score ? rank_key(sf, j) : 0;
        if (sf == 0.0f && std::signbit(sf)) [[unlikely]]
          sel.negative_zero.push_back(j);
      }
    };
    switch (c.similarity) {
      case item_similarity::count:
        run.template operator()<item_similarity::count>();
        break;
      case item_similarity::jaccard:
        run.template operator()<item_similarity::jaccard>();
        break;
      case item_similarity::cosine:
        run.template operator()<item_similarity::cosine>();
        break;
      case item_similarity::lift:
        run.template operator()<item_similarity::lift>();
        break;
      case item_similarity::pmi:
        run.template operator()<item_similarity::pmi>();
        break;
      case item_similarity::npmi:
        run.template operator()<item_similarity::npmi>();
        break;
      case item_similarity::llr:
        run.template operator()<item_similarity::llr>();
        break;
      case item_similarity::confidence:
        run.template operator()<item_similarity::confidence>();
        break;
      case item_similarity::sims:
        run.template operator()<item_similarity::sims>();
        break;
      case item_similarity::bm25:
        run.template operator()<item_similarity::bm25>();
        break;
      case item_similarity::tfidf:
        run.template operator()<item_similarity::tfidf>();
        break;
    }
    // pass 2: the best K, by a buffer cut back to its best K (nth_element) whenever it fills;
    // a candidate enters only if it ranks before the K-th best of the last cut
    std::uint64_t* const best = sel.best.data();
    std::size_t nb = 0;
    std::uint64_t worst = 0;  // before the first cut: any pair that can be kept
    for (std::size_t t = 0; t < nt; ++t) {
      best[nb] = key[t];
      nb += static_cast<std::size_t>(key[t] > worst);
      if (nb == cap) {
        std::nth_element(best, best + (kk - 1), best + nb, std::greater<>());
        nb = kk;
        worst = best[kk - 1];
      }
    }
    if (nb > kk) {
      std::nth_element(best, best + (kk - 1), best + nb, std::greater<>());
      nb = kk;
    }
    std::sort(best, best + nb, [](std::uint64_t a, std::uint64_t b) {
      return static_cast<std::uint32_t>(a) > static_cast<std::uint32_t>(b);  // ascending id
    });
    const std::size_t base = static_cast<std::size_t>(row.item) * kk;
    for (std::size_t t = 0; t < nb; ++t) {
      const index_t j = key_id(best[t]);
      score_t sv = key_score(best[t]);
      if (sv == 0.0f && !sel.negative_zero.empty() &&
          std::find(sel.negative_zero.begin(), sel.negative_zero.end(), j) != sel.negative_zero.end()) [[unlikely]]
        sv = -0.0f;
      nb_ids[base + t] = j;
      nb_scores[base + t] = sv;
    }
    nb_len[static_cast<std::size_t>(row.item)] = static_cast<std::int32_t>(nb);
    return true;
  };
  progress_reporter progress(job, "item_to_item: neighbours", items);
  const bool weighted = uses_values(c.similarity);
  std::int64_t visits = 0;
  // pair counts are not needed when the minimum is 1 (cosine, bm25, tfidf use the sums only)
  if (weighted && timed)
    visits = detail::cooccurrence_rows<true, true>(in, par, &progress, on_row);
  else if (weighted && min_count <= 1 && detail::sum_only_safe(left, rside))
    visits = detail::cooccurrence_rows<true, false, true>(in, par, &progress, on_row);
  else if (weighted)
    visits = detail::cooccurrence_rows<true, false>(in, par, &progress, on_row);
  else if (timed)
    visits = detail::cooccurrence_rows<false, true>(in, par, &progress, on_row);
  else
    visits = detail::cooccurrence_rows<false, false>(in, par, &progress, on_row);
  progress.finish();

  // compact into CSR (rows are already in ascending column order), rows copied in parallel
  std::int64_t nnz = 0;
  std::int64_t items_with = 0;
  for (std::int32_t l : nb_len) {
    nnz += l;
    items_with += l > 0 ? 1 : 0;
  }
  RECSYS_REQUIRE(nnz < std::numeric_limits<index_t>::max(), "item_to_item::fit",
                 "more than 2^31-1 neighbour entries (", nnz, "); lower neighbours");
  csr_matrix nb(items, items);
  nb.resizeNonZeros(static_cast<Eigen::Index>(nnz));
  index_t* outer = nb.outerIndexPtr();
  index_t* inner = nb.innerIndexPtr();
  score_t* values = nb.valuePtr();
  outer[0] = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(items); ++i) outer[i + 1] = outer[i] + nb_len[i];
  par.chunk = 256;
  parallel_for(0, static_cast<std::int64_t>(items), par, [&](std::int64_t i64) {
    const auto i = static_cast<std::size_t>(i64);
    const auto o = static_cast<std::size_t>(outer[i]);
    const auto len = static_cast<std::size_t>(nb_len[i]);
    std::copy_n(&nb_ids[i * kk], len, inner + o);
    std::copy_n(&nb_scores[i * kk], len, values + o);
  });

  item_to_item_stats stats;
  stats.transactions = pr.rows_nonempty;
  stats.transactions_mined = pr.rows_kept;
  stats.transactions_short = pr.rows_short;
  stats.transactions_long = pr.rows_long;
  stats.transactions_capped = pr.rows_capped;
  stats.row_length_low = pr.row_length_low;
  stats.row_length_high = pr.row_length_high;
  stats.items_active = pr.items_active;
  stats.items_mined = pr.items_kept;
  stats.items_rare = pr.items_rare;
  stats.items_popular = pr.items_popular;
  stats.item_count_low = pr.item_count_low;
  stats.item_count_high = pr.item_count_high;
  stats.pair_visits = visits;
  stats.items_with_neighbours = items_with;
  stats.neighbour_entries = nnz;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // commit (nothing above touched the model)
  neighbours_ = std::move(nb);
  popularity_ = std::move(popularity);
  popular_ = std::move(popular);
  state_ = std::move(st);
  stats_ = stats;
  fitted_ = true;
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_MINE_INL_HPP
