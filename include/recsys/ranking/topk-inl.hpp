// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_TOPK_INL_HPP
#define RECSYS_RANKING_TOPK_INL_HPP

/// @file
/// Definitions of ranking/topk.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/topk.cpp, for float and double), and the kernel they share: per-query
/// heaps fed a block of scores at a time, the threshold scan (AVX-512 / AVX compares when the
/// code is compiled for them), the validated filter and candidate set, and the parallel loop
/// over query blocks. The tests include this file for above_mask64.

#include <recsys/ranking/topk.hpp>

#include <recsys/detail/gemm.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys {

template <class T>
basic_item_lists<T>::basic_item_lists(std::span<const index_t> offsets, std::span<const index_t> items) {
  if (offsets.empty()) return;
  RECSYS_REQUIRE(offsets.front() >= 0 && static_cast<std::size_t>(offsets.back()) <= items.size(), "item_lists",
                 "offsets [", offsets.front(), ", ", offsets.back(), "] do not fit ", items.size(), " items");
  RECSYS_REQUIRE(std::is_sorted(offsets.begin(), offsets.end()), "item_lists", "offsets must be non-decreasing");
  offsets_ = offsets.data();
  items_ = items.data();
  size_ = static_cast<index_t>(offsets.size() - 1);
}

template <class T>
basic_item_lists<T>::basic_item_lists(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "item_lists", "the CSR matrix must be compressed (call makeCompressed())");
  offsets_ = m.outerIndexPtr();
  items_ = m.innerIndexPtr();
  size_ = static_cast<index_t>(m.rows());
}

namespace detail {

/// Per-query selection state while the item blocks are walked.
struct topk_query_state {
  heap_ref heap;
  bool fast = false;  // heap full and its worst entry is a number: one comparison rejects
  const index_t* own = nullptr;
  const index_t* own_end = nullptr;
  const index_t* global = nullptr;
  const index_t* global_end = nullptr;

  // Candidates reach this in ascending id order, so both lists are merged with forward cursors.
  bool excluded(index_t id) noexcept {
    while (own != own_end && *own < id) ++own;
    if (own != own_end && *own == id) return true;
    while (global != global_end && *global < id) ++global;
    return global != global_end && *global == id;
  }
};

/// above_mask64 without instruction-set-specific code (the reference for the SIMD versions in
/// the tests, and the path of builds without AVX and of double scores).
template <class Scalar>
[[nodiscard]] inline std::uint64_t above_mask64_portable(const Scalar* p, score_t thr) noexcept {
  int any = 0;  // vectorises even on baseline SSE2: compares OR-ed together, no early exit
  for (int j = 0; j < 64; ++j) any |= static_cast<int>(static_cast<score_t>(p[j]) > thr);
  if (any == 0) return 0;
  std::uint64_t m = 0;
  for (int j = 0; j < 64; ++j) m |= static_cast<std::uint64_t>(static_cast<score_t>(p[j]) > thr) << j;
  return m;
}

/// Bit j set when p[j] rounds to a score above thr, for j < 64; NaN never compares above.
/// With AVX-512 or AVX (float scores): one compare per vector and a mask.
template <class Scalar>
[[nodiscard]] inline std::uint64_t above_mask64(const Scalar* p, score_t thr) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Scalar, float>) {
    const __m512 t = _mm512_set1_ps(thr);
    const auto m0 = static_cast<std::uint64_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(p), t, _CMP_GT_OQ));
    const auto m1 = static_cast<std::uint64_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(p + 16), t, _CMP_GT_OQ));
    const auto m2 = static_cast<std::uint64_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(p + 32), t, _CMP_GT_OQ));
    const auto m3 = static_cast<std::uint64_t>(_mm512_cmp_ps_mask(_mm512_loadu_ps(p + 48), t, _CMP_GT_OQ));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
  }
#elif defined(__AVX__)
  if constexpr (std::is_same_v<Scalar, float>) {
    const __m256 t = _mm256_set1_ps(thr);
    std::uint64_t m = 0;
    for (int j = 0; j < 8; ++j) {
      const __m256 above = _mm256_cmp_ps(_mm256_loadu_ps(p + 8 * j), t, _CMP_GT_OQ);
      m |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(above))) << (8 * j);
    }
    return m;
  }
#endif
  return above_mask64_portable(p, thr);
}

/// Offers scores row[0, n) of candidates j0 .. j0 + n (ids: candidate index, or cand[...]).
template <bool Mapped, class Scalar>
inline void scan_scores(const Scalar* row, index_t n, index_t j0, const index_t* cand, topk_query_state& st) noexcept {
  const auto id_at = [&](index_t i) noexcept -> index_t {
    if constexpr (Mapped)
      return cand[j0 + i];
    else
      return j0 + i;
  };
  index_t i = 0;
  if (!st.fast) {
    // Heap not full yet (or its worst entry is NaN): exact comparison for each candidate.
    for (; i < n; ++i) {
      const score_t s = static_cast<score_t>(row[i]);
      const index_t id = id_at(i);
      if (st.heap.full() && !recsys::ranks_before(s, id, st.heap.worst().score, st.heap.worst().id)) continue;
      if (st.excluded(id)) continue;
      st.heap.push(s, id);
      if (st.heap.full() && st.heap.worst().score == st.heap.worst().score) {
        st.fast = true;
        ++i;
        break;
      }
    }
    if (!st.fast) return;
  }
  // Fast path. Ids only grow, so a candidate ranks before the worst kept entry iff its score is
  // strictly greater (a tie loses on id; NaN never compares greater).
  score_t thr = st.heap.worst().score;
  const auto offer = [&](index_t j) noexcept {
    const score_t s = static_cast<score_t>(row[j]);
    if (s > thr) {
      const index_t id = id_at(j);
      if (!st.excluded(id)) {
        st.heap.replace_worst(s, id);
        thr = st.heap.worst().score;
      }
    }
  };
  for (; i + 64 <= n; i += 64) {
    // Usually no bit is set. Otherwise visit the scores above the threshold at the time of the
    // test: thr only rises, so offer() re-tests each against the current one.
    for (std::uint64_t m = above_mask64(row + i, thr); m != 0; m &= m - 1) offer(i + std::countr_zero(m));
  }
  for (; i < n; ++i) offer(i);
}

/// Per-thread scratch, allocated once per call and thread.
template <class Scalar>
struct topk_scratch {
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> block;  // query_block x ld score block
  std::unique_ptr<gemm_abt<Scalar>> gemm;
  std::vector<scored_id> heap_storage;
  std::vector<topk_query_state> states;
};

/// The selection shared by topk_inner_product and topk_select: validated filter, candidate set,
/// block sizes, the parallel loop over query blocks and the output.
template <class Scalar>
class topk_engine {
 public:
  topk_engine(const char* where, Eigen::Index num_queries, Eigen::Index num_items, index_t k, const topk_filter& filter,
              const topk_options& opts)
      : where_(where), filter_(filter), opts_(opts) {
    RECSYS_REQUIRE(k >= 0, where, "k must be >= 0 (got ", k, ")");
    RECSYS_REQUIRE(num_items <= std::numeric_limits<index_t>::max(), where, "more items (", num_items,
                   ") than index_t can address");
    RECSYS_REQUIRE(opts.num_threads >= 0, where, "num_threads must be >= 0 (got ", opts.num_threads, ")");
    RECSYS_REQUIRE(opts.query_block >= 0, where, "query_block must be >= 0 (got ", opts.query_block, ")");
    RECSYS_REQUIRE(opts.item_block >= 0, where, "item_block must be >= 0 (got ", opts.item_block, ")");
    num_queries_ = num_queries;
    num_items_ = static_cast<index_t>(num_items);
    k_ = k;
    validate_rows();
    build_candidates();
    k_eff_ = std::min<index_t>(k_, num_candidates());
    query_block_ = opts.query_block > 0 ? opts.query_block : topk_options::default_query_block;
    item_block_ = opts.item_block > 0 ? opts.item_block : topk_options::default_item_block;
    // Keep a block's heaps within ~1 MiB when k is huge.
    if (k_eff_ > 0) {
      const index_t heap_cap = std::max<index_t>(
          1, static_cast<index_t>((std::size_t{1} << 20) / (sizeof(scored_id) * static_cast<std::size_t>(k_eff_))));
      query_block_ = std::min(query_block_, heap_cap);
    }
    query_block_ = static_cast<index_t>(std::min<Eigen::Index>(query_block_, std::max<Eigen::Index>(1, num_queries_)));
    item_block_ = std::min<index_t>(item_block_, std::max<index_t>(1, num_candidates()));
    ld_ = (item_block_ + 15) / 16 * 16;
  }

  [[nodiscard]] index_t num_candidates() const noexcept {
    return candidates_ ? static_cast<index_t>(candidates_->size()) : num_items_;
  }
  /// Candidate ids in ascending order, or nullptr when every item is a candidate.
  [[nodiscard]] const std::vector<index_t>* candidates() const noexcept {
    return candidates_ ? &*candidates_ : nullptr;
  }
  [[nodiscard]] index_t query_block() const noexcept { return query_block_; }
  [[nodiscard]] index_t item_block() const noexcept { return item_block_; }
  [[nodiscard]] Eigen::Index block_ld() const noexcept { return ld_; }
  [[nodiscard]] index_t effective_k() const noexcept { return k_eff_; }

  /// Runs the selection. fill(q0, nq, j0, nj, scratch) returns the score block of queries
  /// [q0, q0 + nq) x candidates [j0, j0 + nj) as {pointer to row 0, row stride}.
  template <class Fill>
  void run(index_t* ids, score_t* scores, Fill&& fill) {
    if (num_queries_ == 0 || k_ == 0) return;
    RECSYS_REQUIRE(ids != nullptr && scores != nullptr, where_, "output buffers must not be null");
    const auto k = static_cast<std::size_t>(k_);
    if (k_eff_ == 0) {  // no candidate at all: padding only
      for (Eigen::Index q = 0; q < num_queries_; ++q)
        write_padded(nullptr, 0, k_, ids + static_cast<std::size_t>(q) * k, scores + static_cast<std::size_t>(q) * k);
      return;
    }
    const Eigen::Index blocks = (num_queries_ + query_block_ - 1) / query_block_;
    parallel_options po;
    po.num_threads = opts_.num_threads;
    po.chunk = 1;
    std::vector<std::unique_ptr<topk_scratch<Scalar>>> scratch(static_cast<std::size_t>(max_threads(po)));
    const index_t m = num_candidates();
    const index_t* cand = candidates_ ? candidates_->data() : nullptr;
    parallel_for(0, blocks, po, [&](std::int64_t b, int tid) {
      auto& slot = scratch[static_cast<std::size_t>(tid)];
      if (!slot) slot = make_scratch();
      topk_scratch<Scalar>& s = *slot;
      const Eigen::Index q0 = b * query_block_;
      const auto nq = static_cast<index_t>(std::min<Eigen::Index>(query_block_, num_queries_ - q0));
      for (index_t q = 0; q < nq; ++q) init_state(s.states[static_cast<std::size_t>(q)], s, q, q0 + q);
      for (index_t j0 = 0; j0 < m; j0 += item_block_) {
        const index_t nj = std::min<index_t>(item_block_, m - j0);
        const auto [block, ld] = fill(q0, nq, j0, nj, s);
        for (index_t q = 0; q < nq; ++q) {
          const Scalar* row = block + static_cast<std::ptrdiff_t>(q) * ld;
          if (cand)
            scan_scores<true>(row, nj, j0, cand, s.states[static_cast<std::size_t>(q)]);
          else
            scan_scores<false>(row, nj, j0, cand, s.states[static_cast<std::size_t>(q)]);
        }
      }
      for (index_t q = 0; q < nq; ++q) {
        heap_ref& h = s.states[static_cast<std::size_t>(q)].heap;
        h.sort_best_first();
        const std::size_t off = static_cast<std::size_t>(q0 + q) * k;
        write_padded(h.data(), h.size(), k_, ids + off, scores + off);
        h.clear();
      }
    });
  }

 private:
  void validate_rows() {
    const item_lists& lists = filter_.exclude_lists;
    if (filter_.exclude_rows.empty()) {
      RECSYS_REQUIRE(lists.empty() || lists.size() == num_queries_, where_, "exclude_lists has ", lists.size(),
                     " lists for ", num_queries_, " queries (set exclude_rows to map queries to lists)");
      return;
    }
    RECSYS_REQUIRE(static_cast<Eigen::Index>(filter_.exclude_rows.size()) == num_queries_, where_, "exclude_rows has ",
                   filter_.exclude_rows.size(), " entries for ", num_queries_, " queries");
    for (std::size_t q = 0; q < filter_.exclude_rows.size(); ++q) {
      const index_t r = filter_.exclude_rows[q];
      RECSYS_REQUIRE(r == invalid_index || (r >= 0 && r < lists.size()), where_, "exclude_rows[", q, "] = ", r,
                     " is not a list of exclude_lists (", lists.size(), " lists) nor invalid_index");
    }
  }

  void build_candidates() {
    // Global exclusions, sorted (ids outside the catalogue can never match: dropped).
    for (index_t i : filter_.exclude)
      if (i >= 0 && i < num_items_) global_exclude_.push_back(i);
    // Filters hand over ascending lists (item_mask::items): skip the O(n log n) sort for those.
    if (!std::is_sorted(global_exclude_.begin(), global_exclude_.end()))
      std::sort(global_exclude_.begin(), global_exclude_.end());
    global_exclude_.erase(std::unique(global_exclude_.begin(), global_exclude_.end()), global_exclude_.end());
    if (!filter_.include) return;
    std::vector<index_t> c;
    c.reserve(filter_.include->size());
    for (index_t i : *filter_.include)
      if (i >= 0 && i < num_items_) c.push_back(i);
    if (!std::is_sorted(c.begin(), c.end())) std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    // The global exclusions are applied once here instead of per query.
    std::vector<index_t> kept;
    kept.reserve(c.size());
    std::set_difference(c.begin(), c.end(), global_exclude_.begin(), global_exclude_.end(), std::back_inserter(kept));
    candidates_ = std::move(kept);
    global_exclude_.clear();
  }

  std::unique_ptr<topk_scratch<Scalar>> make_scratch() const {
    auto s = std::make_unique<topk_scratch<Scalar>>();
    s->block.resize(static_cast<Eigen::Index>(query_block_) * ld_);
    s->heap_storage.resize(static_cast<std::size_t>(query_block_) * static_cast<std::size_t>(k_eff_));
    s->states.resize(static_cast<std::size_t>(query_block_));
    return s;
  }

  void init_state(topk_query_state& st, topk_scratch<Scalar>& s, index_t q, Eigen::Index query) const {
    st.heap = heap_ref(s.heap_storage.data() + static_cast<std::size_t>(q) * static_cast<std::size_t>(k_eff_), k_eff_);
    st.fast = false;
    std::span<const index_t> own;
    const item_lists& lists = filter_.exclude_lists;
    if (!lists.empty()) {
      const index_t r = filter_.exclude_rows.empty() ? static_cast<index_t>(query)
                                                     : filter_.exclude_rows[static_cast<std::size_t>(query)];
      if (r != invalid_index) {
        own = lists[r];
        RECSYS_REQUIRE(std::is_sorted(own.begin(), own.end()), where_, "the exclusion list of query ", query, " (list ",
                       r, ") is not sorted ascending");
      }
    }
    st.own = own.data();
    st.own_end = own.data() + own.size();
    st.global = global_exclude_.data();
    st.global_end = global_exclude_.data() + global_exclude_.size();
  }

  const char* where_;
  const topk_filter& filter_;
  topk_options opts_;
  Eigen::Index num_queries_ = 0;
  index_t num_items_ = 0;
  index_t k_ = 0;
  index_t k_eff_ = 0;
  index_t query_block_ = 0;
  index_t item_block_ = 0;
  Eigen::Index ld_ = 0;
  std::vector<index_t> global_exclude_;
  std::optional<std::vector<index_t>> candidates_;
};

/// Below this many queries in a block, scores come from matrix-vector products (packing the
/// item panel for a GEMM would cost more than the product).
inline constexpr index_t gemv_max_queries = 3;

template <class Scalar>
void topk_inner_product_impl(const const_row_ref<Scalar>& queries, const const_row_ref<Scalar>& items,
                             std::span<const Scalar> item_bias, index_t k, index_t* ids, score_t* scores,
                             const topk_filter& filter, const topk_options& opts) {
  constexpr const char* where = "topk_inner_product";
  RECSYS_REQUIRE(queries.cols() == items.cols(), where, "queries have ", queries.cols(), " factors, items ",
                 items.cols());
  RECSYS_REQUIRE(item_bias.empty() || static_cast<Eigen::Index>(item_bias.size()) == items.rows(), where,
                 "item_bias has ", item_bias.size(), " entries for ", items.rows(), " items");
  topk_engine<Scalar> engine(where, queries.rows(), items.rows(), k, filter, opts);
  if (queries.rows() == 0 || k == 0) return;
  const Eigen::Index f = items.cols();

  // With an include list, the candidates' factors (and biases) are gathered once, in id order.
  row_matrix<Scalar> gathered;
  std::vector<Scalar> gathered_bias;
  const Scalar* v = items.data();
  Eigen::Index ldv = items.outerStride();
  const Scalar* bias = item_bias.empty() ? nullptr : item_bias.data();
  if (const auto* cand = engine.candidates()) {
    gathered.resize(static_cast<Eigen::Index>(cand->size()), f);
    for (std::size_t j = 0; j < cand->size(); ++j) gathered.row(static_cast<Eigen::Index>(j)) = items.row((*cand)[j]);
    if (bias) {
      gathered_bias.resize(cand->size());
      for (std::size_t j = 0; j < cand->size(); ++j) gathered_bias[j] = bias[(*cand)[j]];
      bias = gathered_bias.data();
    }
    v = gathered.data();
    ldv = f;
  }
  const Scalar* u = queries.data();
  const Eigen::Index ldu = queries.outerStride();
  const Eigen::Index ld = engine.block_ld();
  const index_t qb = engine.query_block();
  const index_t ib = engine.item_block();

  engine.run(ids, scores, [&](Eigen::Index q0, index_t nq, index_t j0, index_t nj, topk_scratch<Scalar>& s) {
    Scalar* block = s.block.data();
    for (index_t q = 0; q < nq; ++q) {  // the bias (or zero) is the GEMM's initial value
      Scalar* row = block + static_cast<std::ptrdiff_t>(q) * ld;
      if (bias)
        std::copy(bias + j0, bias + j0 + nj, row);
      else
        std::fill(row, row + nj, Scalar(0));
    }
    if (f > 0) {
      if (nq <= gemv_max_queries) {
        using map_items = Eigen::Map<const row_matrix<Scalar>, 0, Eigen::OuterStride<>>;
        const map_items vb(v + static_cast<std::ptrdiff_t>(j0) * ldv, nj, f, Eigen::OuterStride<>(ldv));
        for (index_t q = 0; q < nq; ++q) {
          Eigen::Map<recsys::vector<Scalar>> out(block + static_cast<std::ptrdiff_t>(q) * ld, nj);
          Eigen::Map<const recsys::vector<Scalar>> uq(u + (q0 + q) * ldu, f);
          out.noalias() += vb * uq;
        }
      } else {
        if (!s.gemm) s.gemm = std::make_unique<gemm_abt<Scalar>>(qb, ib, f);
        s.gemm->run(nq, nj, u + q0 * ldu, ldu, v + static_cast<std::ptrdiff_t>(j0) * ldv, ldv, block, ld);
      }
    }
    return std::pair<const Scalar*, Eigen::Index>{block, ld};
  });
}

template <class Scalar>
void topk_select_impl(const const_row_ref<Scalar>& score_rows, index_t k, index_t* ids, score_t* scores,
                      const topk_filter& filter, const topk_options& opts) {
  topk_engine<Scalar> engine("topk_select", score_rows.rows(), score_rows.cols(), k, filter, opts);
  if (score_rows.rows() == 0 || k == 0) return;
  const Eigen::Index ld = engine.block_ld();
  const auto* cand = engine.candidates();
  engine.run(ids, scores, [&](Eigen::Index q0, index_t nq, index_t j0, index_t nj, topk_scratch<Scalar>& s) {
    if (!cand)  // the caller's rows are used in place
      return std::pair<const Scalar*, Eigen::Index>{score_rows.data() + q0 * score_rows.outerStride() + j0,
                                                    score_rows.outerStride()};
    Scalar* block = s.block.data();
    for (index_t q = 0; q < nq; ++q) {
      const Scalar* src = score_rows.data() + (q0 + q) * score_rows.outerStride();
      Scalar* row = block + static_cast<std::ptrdiff_t>(q) * ld;
      for (index_t j = 0; j < nj; ++j) row[j] = src[(*cand)[static_cast<std::size_t>(j0 + j)]];
    }
    return std::pair<const Scalar*, Eigen::Index>{block, ld};
  });
}

template <class>
std::vector<topk_result> split_results(Eigen::Index n, index_t k, const std::vector<index_t>& ids,
                                       const std::vector<score_t>& scores) {
  std::vector<topk_result> out(static_cast<std::size_t>(n));
  for (Eigen::Index q = 0; q < n; ++q) {
    const std::size_t off = static_cast<std::size_t>(q) * static_cast<std::size_t>(k);
    std::size_t len = 0;
    while (len < static_cast<std::size_t>(k) && ids[off + len] != invalid_index) ++len;
    out[static_cast<std::size_t>(q)].ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(off),
                                                ids.begin() + static_cast<std::ptrdiff_t>(off + len));
    out[static_cast<std::size_t>(q)].scores.assign(scores.begin() + static_cast<std::ptrdiff_t>(off),
                                                   scores.begin() + static_cast<std::ptrdiff_t>(off + len));
  }
  return out;
}

}  // namespace detail

template <class>
topk_result topk_select(std::span<const score_t> item_scores, index_t k, const topk_filter& filter) {
  RECSYS_REQUIRE(item_scores.size() <= static_cast<std::size_t>(std::numeric_limits<index_t>::max()), "topk_select",
                 "more items (", item_scores.size(), ") than index_t can address");
  const Eigen::Map<const row_matrix<score_t>> row(item_scores.data(), 1, static_cast<Eigen::Index>(item_scores.size()));
  topk_options opts;
  opts.num_threads = 1;
  auto all = topk_select(row, k, filter, opts);
  return std::move(all.front());
}

}  // namespace recsys

#endif  // RECSYS_RANKING_TOPK_INL_HPP
