// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_TOPK_HPP
#define RECSYS_RANKING_TOPK_HPP

/// @file
/// The top-K kernel every factor model (ALS, BPR, WARP) scores through: the k best items for
/// each of many queries, with exclusions, in recsys's ranking order.
///
/// - topk_inner_product: score(q, i) = queries.row(q) · items.row(i) + item_bias[i]. Queries
///   are processed in blocks (one block per task, spread over threads with parallel_for);
///   for each block the items are walked in blocks: a GEMM writes the block of scores (small
///   enough to stay in cache) and every query of the block selects from it with a k-heap
///   whose worst entry rejects almost every candidate in one comparison.
/// - topk_select: the same selection and filtering over scores the caller computed (a dense
///   queries x items matrix or one score vector), for models that do not score by inner
///   product (popularity, neighbours, sessions).
///
/// Both write ids and scores into caller buffers of n * k entries (row q = query q), padded
/// with invalid_index (-1) and the lowest score when fewer than k candidates remain (Faiss's
/// contract), or return one topk_result per query (no padding).
///
/// Behaviour (the same for every entry point):
/// - Ranking order: score descending, ties by ascending item id; NaN scores rank after every
///   number (ranks_before). Scores are computed in the input scalar type (float or double) and
///   rounded to score_t (float) before ranking, so the returned scores are exactly the order.
/// - Candidates: every item [0, num_items), or the `include` list when it is set (an empty
///   include list means no candidate at all). Then each query drops the items of its sorted
///   exclusion list (e.g. the items the user has seen) and the global `exclude` list.
///   include / exclude are sets: order and duplicates do not matter; ids outside
///   [0, num_items) match no item and are ignored.
/// - k = 0 returns nothing (empty results, nothing written); k larger than the number of
///   remaining candidates returns all of them (rows padded); all items excluded gives rows of
///   padding only.
/// - Deterministic: the block decomposition does not depend on the thread count, so results are
///   bitwise identical for any num_threads. Other block sizes, and the matrix-vector path used
///   for blocks of at most 3 queries (a single query, say), sum the products in another order:
///   scores may then differ in the last bit, and rankings only among near-ties.
/// - The selection uses AVX-512 or AVX compares when the code is compiled for them (e.g.
///   -march=native), a portable loop otherwise; both give the same results. Header-only, that
///   is the calling unit's flags; in compiled mode the kernel is the library's (src/topk.cpp),
///   built with the library's flags.
///
/// Layout (docs/design.md, "How a component is laid out"): this header declares; the kernel
/// (detail::topk_engine) and the definitions are in topk-inl.hpp. The public templates below
/// take any Eigen expression; they hand row-major views to detail::topk_inner_product_impl /
/// topk_select_impl, which exist for float and double only and which the compiled library
/// instantiates for both, so a unit in compiled mode compiles none of the kernel.
///
/// @code
/// // 10 best items for every user, excluding the items each user has interacted with
/// recsys::topk_filter filter;
/// filter.exclude_lists = recsys::item_lists(train);        // row u = items of user u (sorted)
/// std::vector<recsys::index_t> ids(users.rows() * 10);
/// std::vector<recsys::score_t> scores(ids.size());
/// recsys::topk_inner_product(users, items, {}, 10, ids.data(), scores.data(), filter);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace recsys {

/// Read-only view of sorted item lists, one per row, in CSR layout: list r is
/// items[offsets[r] .. offsets[r + 1]). The top-K kernel uses one list per query as that
/// query's exclusions. Lists must be sorted ascending (the kernel checks and throws
/// recsys::invalid_argument otherwise); the viewed data must outlive the view.
/// (`item_lists` is `basic_item_lists<>`; see config.hpp.)
template <class>
class basic_item_lists {
 public:
  /// No lists.
  basic_item_lists() = default;

  /// `offsets` has one entry per list plus one (non-decreasing, within items.size()).
  /// @throws recsys::invalid_argument if the offsets do not describe items.
  basic_item_lists(std::span<const index_t> offsets, std::span<const index_t> items);

  /// The rows of a compressed CSR matrix (the interaction matrix: row u = user u's items).
  /// @throws recsys::invalid_argument if the matrix is not compressed (call makeCompressed()).
  explicit basic_item_lists(const csr_matrix& m);

  /// One list (for a single query).
  [[nodiscard]] static basic_item_lists single(std::span<const index_t> items) noexcept {
    basic_item_lists l;
    l.items_ = items.data();
    l.single_size_ = static_cast<std::int64_t>(items.size());
    l.size_ = 1;
    return l;
  }

  /// Number of lists.
  [[nodiscard]] index_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// List r, 0 <= r < size().
  [[nodiscard]] std::span<const index_t> operator[](index_t r) const noexcept {
    if (single_size_ >= 0) return {items_, static_cast<std::size_t>(single_size_)};
    return {items_ + offsets_[r], static_cast<std::size_t>(offsets_[r + 1] - offsets_[r])};
  }

 private:
  const index_t* offsets_ = nullptr;
  const index_t* items_ = nullptr;
  index_t size_ = 0;
  std::int64_t single_size_ = -1;
};

/// Which items each query may return.
struct topk_filter {
  /// Per-query exclusions (usually the items each user has already interacted with).
  item_lists exclude_lists = {};
  /// Query q excludes list exclude_rows[q] of exclude_lists, or nothing when exclude_rows[q] is
  /// invalid_index. When empty, query q uses list q (exclude_lists must then have exactly one
  /// list per query, or none).
  std::span<const index_t> exclude_rows = {};
  /// Items no query may return.
  std::span<const index_t> exclude = {};
  /// When set, the only candidate items (for every query); an empty list leaves no candidate.
  std::optional<std::span<const index_t>> include = std::nullopt;
};

/// How the kernel runs. Results never depend on the thread count; block sizes may change
/// scores in the last bit (see the file comment).
struct topk_options {
  /// Worker threads (0 = default_threads()). Query blocks are spread over them.
  int num_threads = 0;
  /// Queries scored together, the rows of one score block (0 = default_query_block).
  index_t query_block = 0;
  /// Items scored together, the columns of one score block (0 = default_item_block).
  index_t item_block = 0;

  /// Defaults measured at f = 64 on an AVX-512 machine (docs/topk.md, BM_topk_blocks): a
  /// 256 x 256 float score block (256 KiB) stays in L2, and each packed panel of item factors
  /// serves 256 queries. Batches of up to 256 queries are one block, i.e. one thread.
  static constexpr index_t default_query_block = 256;
  static constexpr index_t default_item_block = 256;
};

namespace detail {

template <class Derived>
constexpr void check_scalar() {
  static_assert(std::is_same_v<typename Derived::Scalar, float> || std::is_same_v<typename Derived::Scalar, double>,
                "recsys top-K: float or double scores");
}

template <class Scalar>
using const_row_ref = Eigen::Ref<const row_matrix<Scalar>, 0, Eigen::OuterStride<>>;

/// The kernel behind topk_inner_product, for Scalar = float or double (topk-inl.hpp).
template <class Scalar>
void topk_inner_product_impl(const const_row_ref<Scalar>& queries, const const_row_ref<Scalar>& items,
                             std::span<const Scalar> item_bias, index_t k, index_t* ids, score_t* scores,
                             const topk_filter& filter, const topk_options& opts);

/// The kernel behind topk_select, for Scalar = float or double (topk-inl.hpp).
template <class Scalar>
void topk_select_impl(const const_row_ref<Scalar>& score_rows, index_t k, index_t* ids, score_t* scores,
                      const topk_filter& filter, const topk_options& opts);

/// Splits n x k padded buffers into topk_results (padding dropped).
template <class = void>
[[nodiscard]] std::vector<topk_result> split_results(Eigen::Index n, index_t k, const std::vector<index_t>& ids,
                                                     const std::vector<score_t>& scores);

}  // namespace detail

/// Top-k items by inner product for every query, into caller buffers.
///
/// score(q, i) = queries.row(q) · items.row(i) + item_bias[i] (no bias when item_bias is
/// empty). Row-major inputs are used in place; other layouts are copied once.
///
/// @param queries    n x f query vectors (user factors), float or double.
/// @param items      m x f item vectors, same scalar type.
/// @param item_bias  m per-item biases, or empty.
/// @param k          results per query (>= 0).
/// @param ids        n * k ids: row q holds query q's results best first, padded with invalid_index.
/// @param scores     n * k scores, padded with std::numeric_limits<score_t>::lowest().
/// @param filter     candidates and exclusions (see the file comment).
/// @param opts       threads and block sizes.
/// @throws recsys::invalid_argument on k < 0, mismatched shapes, a bias of the wrong size,
///         null buffers, inconsistent exclusion lists or an unsorted exclusion list.
/// @code
/// recsys::topk_inner_product(user_factors, item_factors, {}, 10, ids.data(), scores.data());
/// @endcode
template <class Queries, class Items>
void topk_inner_product(const Eigen::MatrixBase<Queries>& queries, const Eigen::MatrixBase<Items>& items,
                        std::span<const typename Queries::Scalar> item_bias, index_t k, index_t* ids, score_t* scores,
                        const topk_filter& filter = {}, const topk_options& opts = {}) {
  using Scalar = typename Queries::Scalar;
  detail::check_scalar<Queries>();
  static_assert(std::is_same_v<Scalar, typename Items::Scalar>,
                "topk_inner_product: queries and items must share a scalar type");
  const detail::const_row_ref<Scalar> q(queries.derived());
  const detail::const_row_ref<Scalar> v(items.derived());
  detail::topk_inner_product_impl<Scalar>(q, v, item_bias, k, ids, scores, filter, opts);
}

/// Top-k items by inner product for every query, one topk_result per query (no padding).
/// @code
/// std::vector<recsys::topk_result> top = recsys::topk_inner_product(user_factors, item_factors, {}, 10);
/// @endcode
template <class Queries, class Items>
[[nodiscard]] std::vector<topk_result> topk_inner_product(const Eigen::MatrixBase<Queries>& queries,
                                                          const Eigen::MatrixBase<Items>& items,
                                                          std::span<const typename Queries::Scalar> item_bias,
                                                          index_t k, const topk_filter& filter = {},
                                                          const topk_options& opts = {}) {
  RECSYS_REQUIRE(k >= 0, "topk_inner_product", "k must be >= 0 (got ", k, ")");
  const auto n = queries.rows();
  // at most every item per query: a larger k only adds padding, which split_results drops
  k = static_cast<index_t>(std::min<Eigen::Index>(k, items.rows()));
  std::vector<index_t> ids(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  std::vector<score_t> scores(ids.size());
  topk_inner_product(queries, items, item_bias, k, ids.data(), scores.data(), filter, opts);
  return detail::split_results<>(n, k, ids, scores);
}

/// Top-k items by precomputed scores: row q of `score_rows` (n x num_items) holds query q's
/// score of every item. Same filter, order and padding as topk_inner_product.
/// @code
/// recsys::row_matrix<float> s = user_factors * item_factors.transpose();
/// recsys::topk_select(s, 10, ids.data(), scores.data());
/// @endcode
template <class Scores>
void topk_select(const Eigen::MatrixBase<Scores>& score_rows, index_t k, index_t* ids, score_t* scores,
                 const topk_filter& filter = {}, const topk_options& opts = {}) {
  using Scalar = typename Scores::Scalar;
  detail::check_scalar<Scores>();
  const detail::const_row_ref<Scalar> s(score_rows.derived());
  detail::topk_select_impl<Scalar>(s, k, ids, scores, filter, opts);
}

/// Top-k items by precomputed scores, one topk_result per row of `score_rows`.
template <class Scores>
[[nodiscard]] std::vector<topk_result> topk_select(const Eigen::MatrixBase<Scores>& score_rows, index_t k,
                                                   const topk_filter& filter = {}, const topk_options& opts = {}) {
  RECSYS_REQUIRE(k >= 0, "topk_select", "k must be >= 0 (got ", k, ")");
  const auto n = score_rows.rows();
  k = static_cast<index_t>(std::min<Eigen::Index>(k, score_rows.cols()));  // as topk_inner_product
  std::vector<index_t> ids(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  std::vector<score_t> scores(ids.size());
  topk_select(score_rows, k, ids.data(), scores.data(), filter, opts);
  return detail::split_results<>(n, k, ids, scores);
}

/// Top-k of one score vector (scores[i] = score of item i); the filter describes one query
/// (its exclude_lists, if any, hold one list: see item_lists::single).
/// @code
/// std::vector<recsys::score_t> popularity = ...;
/// recsys::topk_result top = recsys::topk_select(std::span<const float>(popularity), 10);
/// @endcode
template <class = void>
[[nodiscard]] topk_result topk_select(std::span<const score_t> item_scores, index_t k, const topk_filter& filter = {});

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/topk-inl.hpp>
#else
namespace recsys {
extern template class basic_item_lists<void>;
extern template topk_result topk_select<>(std::span<const score_t>, index_t, const topk_filter&);
namespace detail {
extern template void topk_inner_product_impl<float>(const const_row_ref<float>&, const const_row_ref<float>&,
                                                    std::span<const float>, index_t, index_t*, score_t*,
                                                    const topk_filter&, const topk_options&);
extern template void topk_inner_product_impl<double>(const const_row_ref<double>&, const const_row_ref<double>&,
                                                     std::span<const double>, index_t, index_t*, score_t*,
                                                     const topk_filter&, const topk_options&);
extern template void topk_select_impl<float>(const const_row_ref<float>&, index_t, index_t*, score_t*,
                                             const topk_filter&, const topk_options&);
extern template void topk_select_impl<double>(const const_row_ref<double>&, index_t, index_t*, score_t*,
                                              const topk_filter&, const topk_options&);
extern template std::vector<topk_result> split_results<>(Eigen::Index, index_t, const std::vector<index_t>&,
                                                         const std::vector<score_t>&);
}  // namespace detail
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_TOPK_HPP
