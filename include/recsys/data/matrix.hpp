// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_MATRIX_HPP
#define RECSYS_DATA_MATRIX_HPP

/// @file
/// The user x item interaction matrix (recsys::csr_matrix: row-major, int32 indices, float
/// values) built from an interaction log, its weighting schemes, time decay, a CSC copy and a
/// zero-copy transposed view, and the per-user / per-item counts the recipes need.
///
/// Shape: log.num_users() x log.num_items() (the whole id maps, so matrices of a split's train
/// and test sides have equal shapes). Pattern: one entry per distinct (user, item) pair present
/// in the log; columns sorted within each row; the matrix is compressed. Values follow
/// matrix_options (see weighting).
///
/// Build cost: O(n + U + n log d) for n events, U users and rows of d events: a stable counting
/// sort by user (two cache-friendly passes), then each row's (item, value) keys sorted on their
/// own (in parallel over groups of rows), then duplicates aggregated (see build_matrix). The result does not depend on
/// the thread count (each row is computed alone, in a fixed order). bench/bench_matrix.cpp compares it with Eigen's
/// setFromTriplets; docs/data.md has the figures.
///
/// @code
///   recsys::matrix_options o;
///   o.scheme = recsys::weighting::confidence;    // 1 + alpha * x for implicit ALS
///   o.alpha = 40.0f;
///   o.half_life_seconds = 30 * 86400.0;           // SAR-style decay, 30-day half-life
///   recsys::csr_matrix m = recsys::build_matrix(log, o);
///   auto by_item = recsys::transposed_view(m);    // item x user, no copy
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <Eigen/SparseCore>

#include <optional>
#include <vector>

namespace recsys {

/// How the matrix values are computed. Each event e first gets a base value b_e (below),
/// multiplied by its time decay d_e = 2^(-(reference - t_e) / half_life) when a half-life is
/// set (d_e = 1 otherwise); the events of one (user, item) pair are aggregated into x; then:
///
/// | scheme     | b_e        | aggregation of a pair     | value |
/// |------------|------------|---------------------------|-------|
/// | raw        | weight     | matrix_options::duplicates | x |
/// | binary     | 1          | max (the newest event's decay) | x (1 without decay) |
/// | count      | 1          | sum                       | x (number of events without decay) |
/// | log1p      | weight     | duplicates                | log(1 + x) |
/// | confidence | weight     | duplicates                | 1 + alpha * x |
/// | bm25       | weight     | duplicates                | BM25, below |
/// | tfidf      | weight     | duplicates                | TF-IDF, below |
///
/// BM25 and TF-IDF follow implicit's bm25_weight / tfidf_weight applied to the *item x user*
/// matrix (items are the "documents", users the "terms"), written in our user x item
/// orientation with I = number of items (columns), n_u = entries in user u's row, and
/// S_i = sum of column i, avg = mean of S over all I columns:
///   idf(u)   = log(I / (1 + n_u))
///   bm25     = x * (K1 + 1) / (K1 * ((1 - B) + B * S_i / avg) + x) * idf(u)
///   tfidf    = sqrt(x) * idf(u)
/// (idf is negative for users with n_u + 1 > I, as in implicit.) This damps heavy users and
/// normalises by item popularity, which is what implicit's item-item recommenders expect.
enum class weighting { raw, binary, count, log1p, confidence, bm25, tfidf };

/// How the events of one (user, item) pair are combined for the weight-based schemes.
enum class duplicate_aggregation {
  sum,     ///< sum of the (decayed) weights (in a fixed order: ascending float bits, so bitwise reproducible)
  max,     ///< the largest (decayed) weight
  latest,  ///< the (decayed) weight of the newest event (ties: last in log order)
};

/// Options of build_matrix; the defaults give the summed raw weights.
struct matrix_options {
  weighting scheme = weighting::raw;
  duplicate_aggregation duplicates = duplicate_aggregation::sum;
  float alpha = 1.0f;      ///< confidence: 1 + alpha * x (Hu et al. use 40); finite, >= 0
  float bm25_k1 = 100.0f;  ///< BM25 K1 (implicit's default); >= 0
  float bm25_b = 0.8f;     ///< BM25 B (implicit's default); in [0, 1]
  /// Exponential time decay (SAR): each event is weighted by 2^(-(reference - t) / half_life).
  /// 0 = no decay. Events newer than the reference get factors above 1 (no clamping).
  double half_life_seconds = 0.0;
  /// The decay's reference time; default: the newest event of the log.
  std::optional<timestamp_t> reference_time;
  int num_threads = 0;  ///< 0 = default (see parallel.hpp)
};

namespace detail {

[[nodiscard]] inline const char* scheme_name(weighting w) noexcept {
  switch (w) {
    case weighting::raw:
      return "raw";
    case weighting::binary:
      return "binary";
    case weighting::count:
      return "count";
    case weighting::log1p:
      return "log1p";
    case weighting::confidence:
      return "confidence";
    case weighting::bm25:
      return "bm25";
    case weighting::tfidf:
      return "tfidf";
  }
  return "?";
}

/// Binary user x item matrix of every (user, item) pair in the log: what "seen" means for the
/// baselines and the re-ranking layer.
template <class = void>
[[nodiscard]] csr_matrix seen_matrix(const interaction_log& log);

/// The body of build_matrix. `force_user_column` takes the general path that keeps a user index
/// per event even when it would fit beside the item bits (used by the tests).
template <class = void>
[[nodiscard]] csr_matrix build_matrix_impl(const interaction_log& log, const matrix_options& o, bool force_user_column);

}  // namespace detail

/// Per row: number of stored entries (for build_matrix output: distinct items of each user).
template <class = void>
[[nodiscard]] std::vector<index_t> user_history_lengths(const csr_matrix& m);

/// Per column: number of stored entries (for build_matrix output: distinct users of each item,
/// Personalize's Popularity-Count).
template <class = void>
[[nodiscard]] std::vector<index_t> item_popularity(const csr_matrix& m);

/// Applies a value transform (binary, log1p, confidence, bm25, tfidf; raw leaves the values) to
/// an aggregated matrix in place, with the formulas of `weighting`. `count` needs the events
/// and is only available through build_matrix. The pattern never changes.
/// @throws recsys::invalid_argument for count, invalid options, a negative value under log1p,
///   bm25 or tfidf (naming the row and column), or bm25 on a matrix whose values sum to 0.
template <class = void>
void apply_weighting(csr_matrix& m, const matrix_options& o);

/// Builds the user x item matrix of a log (see the file comment and `weighting`).
///
/// How: the matrix's own storage, sized for one slot per event, is the working array. (a) One
/// pass scatters the events into at most 1024 buckets of consecutive users (few write streams,
/// so the scatter stays in cache); (b) each bucket, in parallel, is counting-sorted by user in
/// a per-thread scratch (stable, log order kept), each row's (item, value) keys are sorted and
/// their duplicates aggregated, and the row's entries are written back over the start of its
/// own range; (c) rows are shifted left into place and the storage shrunk to nnz. Extra memory:
/// a user index per event when (item bits + bucket bits) > 32, and the per-thread scratch.
/// @throws recsys::invalid_argument for invalid options, a log whose columns disagree in length
///   or hold an index outside the id maps or a non-finite weight, a negative aggregated value
///   under log1p / bm25 / tfidf, or a value that does not fit a float.
template <class = void>
[[nodiscard]] csr_matrix build_matrix(const interaction_log& log, const matrix_options& o = {});

/// A column-major copy of `m` (same shape and values): O(nnz), for fast column (item) access.
template <class = void>
[[nodiscard]] csc_matrix to_csc(const csr_matrix& m);

/// The transpose of `m` as a row-major matrix (items x users, each item's users sorted): O(nnz).
template <class = void>
[[nodiscard]] csr_matrix transpose_csr(const csr_matrix& m);

/// The transpose of a compressed `m` without copying: CSR storage of A is the CSC storage of
/// A^T, so this maps m's arrays as an items x users column-major matrix whose column u is row u
/// of m. Valid while `m` is alive and unchanged.
/// @throws recsys::invalid_argument if m is not compressed.
[[nodiscard]] inline Eigen::Map<const csc_matrix> transposed_view(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "transposed_view", "the matrix must be compressed (call makeCompressed())");
  return Eigen::Map<const csc_matrix>(m.cols(), m.rows(), m.nonZeros(), m.outerIndexPtr(), m.innerIndexPtr(),
                                      m.valuePtr());
}

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/data/matrix-inl.hpp>
#else
namespace recsys {
extern template std::vector<index_t> user_history_lengths<>(const csr_matrix&);
extern template std::vector<index_t> item_popularity<>(const csr_matrix&);
extern template void apply_weighting<>(csr_matrix&, const matrix_options&);
extern template csr_matrix build_matrix<>(const interaction_log&, const matrix_options&);
extern template csc_matrix to_csc<>(const csr_matrix&);
extern template csr_matrix transpose_csr<>(const csr_matrix&);
namespace detail {
extern template csr_matrix seen_matrix<>(const interaction_log&);
extern template csr_matrix build_matrix_impl<>(const interaction_log&, const matrix_options&, bool);
}  // namespace detail
}  // namespace recsys
#endif

#endif  // RECSYS_DATA_MATRIX_HPP
