// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_TYPES_HPP
#define RECSYS_TYPES_HPP

/// @file
/// The vocabulary types every component shares: dense indices, scores, the interaction
/// matrix, factor matrices, the top-K result and the per-query options.

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace recsys {

/// Dense user / item index. 32 bits keep CSR matrices compact; external ids are mapped to
/// these by recsys::id_map.
using index_t = std::int32_t;

/// Score, weight and factor element type (models that offer double say so).
using score_t = float;

/// Unix time in seconds (Personalize's TIMESTAMP).
using timestamp_t = std::int64_t;

/// The user × item interaction matrix: row-major CSR, int32 indices, float values.
using csr_matrix = Eigen::SparseMatrix<score_t, Eigen::RowMajor, index_t>;

/// Column-major twin of csr_matrix (item × user access without transposing by hand).
using csc_matrix = Eigen::SparseMatrix<score_t, Eigen::ColMajor, index_t>;

/// Dense row-major matrix: one user / item per row, rows contiguous.
template <class Scalar = score_t>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Dense column vector.
template <class Scalar = score_t>
using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Id used to pad result buffers that have fewer than k entries.
inline constexpr index_t invalid_index = -1;

/// The ranking order used for every result in recsys: higher score first, ties by ascending
/// id. NaN scores rank below every number.
[[nodiscard]] constexpr bool ranks_before(score_t score_a, index_t id_a, score_t score_b,
                                          index_t id_b) noexcept {
  const bool nan_a = score_a != score_a;
  const bool nan_b = score_b != score_b;
  if (nan_a != nan_b) return nan_b;
  if (!nan_a && score_a != score_b) return score_a > score_b;
  return id_a < id_b;
}

/// A ranked list: ids[i] has score scores[i]; sorted by score descending, ties by ascending id
/// (see ranks_before). Every query in recsys returns its scores.
struct topk_result {
  std::vector<index_t> ids;
  std::vector<score_t> scores;

  [[nodiscard]] std::size_t size() const noexcept { return ids.size(); }
  [[nodiscard]] bool empty() const noexcept { return ids.empty(); }
  void clear() noexcept {
    ids.clear();
    scores.clear();
  }
  void reserve(std::size_t n) {
    ids.reserve(n);
    scores.reserve(n);
  }
  void push_back(index_t id, score_t score) {
    ids.push_back(id);
    scores.push_back(score);
  }
  /// True when the entries are in ranking order (ranks_before) and the two vectors agree in size.
  [[nodiscard]] bool is_sorted() const noexcept {
    if (ids.size() != scores.size()) return false;
    for (std::size_t i = 1; i < ids.size(); ++i)
      if (!ranks_before(scores[i - 1], ids[i - 1], scores[i], ids[i])) return false;
    return true;
  }
  friend bool operator==(const topk_result&, const topk_result&) = default;
};

/// Per-query options of recommend().
struct recommend_options {
  /// Drop items the user interacted with in the training data.
  bool exclude_seen = true;
  /// Items never to return (e.g. out of stock).
  std::span<const index_t> exclude = {};
  /// When non-empty, only these items are candidates.
  std::span<const index_t> include = {};
};

}  // namespace recsys

#endif  // RECSYS_TYPES_HPP
