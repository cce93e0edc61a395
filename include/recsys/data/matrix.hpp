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
/// Build cost: O(n + U + nnz log d) for n events, U users and rows of d events: a stable
/// counting sort by user, then each row sorted by (item, log order) on its own (in parallel over
/// rows), then duplicates aggregated. The result does not depend on the thread count (each row
/// is computed alone, in a fixed order). bench/bench_matrix.cpp compares it with Eigen's
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

#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <Eigen/SparseCore>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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
  sum,     ///< sum of the (decayed) weights, in log order
  max,     ///< the largest (decayed) weight
  latest,  ///< the (decayed) weight of the newest event (ties: last in log order)
};

/// Options of build_matrix; the defaults give the summed raw weights.
struct matrix_options {
  weighting scheme = weighting::raw;
  duplicate_aggregation duplicates = duplicate_aggregation::sum;
  float alpha = 1.0f;        ///< confidence: 1 + alpha * x (Hu et al. use 40); finite, >= 0
  float bm25_k1 = 100.0f;    ///< BM25 K1 (implicit's default); >= 0
  float bm25_b = 0.8f;       ///< BM25 B (implicit's default); in [0, 1]
  /// Exponential time decay (SAR): each event is weighted by 2^(-(reference - t) / half_life).
  /// 0 = no decay. Events newer than the reference get factors above 1 (no clamping).
  double half_life_seconds = 0.0;
  /// The decay's reference time; default: the newest event of the log.
  std::optional<timestamp_t> reference_time;
  int num_threads = 0;       ///< 0 = default (see parallel.hpp)
};

namespace detail {

inline void check_matrix_options(const matrix_options& o, const char* where) {
  RECSYS_REQUIRE(std::isfinite(o.alpha) && o.alpha >= 0.0f, where, "alpha must be finite and >= 0 (got ", o.alpha, ")");
  RECSYS_REQUIRE(std::isfinite(o.bm25_k1) && o.bm25_k1 >= 0.0f, where, "bm25_k1 must be finite and >= 0 (got ",
                 o.bm25_k1, ")");
  RECSYS_REQUIRE(o.bm25_b >= 0.0f && o.bm25_b <= 1.0f, where, "bm25_b must be in [0, 1] (got ", o.bm25_b, ")");
  RECSYS_REQUIRE(std::isfinite(o.half_life_seconds) && o.half_life_seconds >= 0.0, where,
                 "half_life_seconds must be finite and >= 0 (got ", o.half_life_seconds, ")");
  RECSYS_REQUIRE(o.num_threads >= 0, where, "num_threads must be >= 0 (got ", o.num_threads, ")");
}

[[nodiscard]] inline const char* scheme_name(weighting w) noexcept {
  switch (w) {
    case weighting::raw: return "raw";
    case weighting::binary: return "binary";
    case weighting::count: return "count";
    case weighting::log1p: return "log1p";
    case weighting::confidence: return "confidence";
    case weighting::bm25: return "bm25";
    case weighting::tfidf: return "tfidf";
  }
  return "?";
}

}  // namespace detail

/// Per row: number of stored entries (for build_matrix output: distinct items of each user).
[[nodiscard]] inline std::vector<index_t> user_history_lengths(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "user_history_lengths", "the matrix must be compressed (call makeCompressed())");
  std::vector<index_t> n(static_cast<std::size_t>(m.rows()));
  const index_t* outer = m.outerIndexPtr();
  for (Eigen::Index u = 0; u < m.rows(); ++u) n[static_cast<std::size_t>(u)] = outer[u + 1] - outer[u];
  return n;
}

/// Per column: number of stored entries (for build_matrix output: distinct users of each item,
/// Personalize's Popularity-Count).
[[nodiscard]] inline std::vector<index_t> item_popularity(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "item_popularity", "the matrix must be compressed (call makeCompressed())");
  std::vector<index_t> n(static_cast<std::size_t>(m.cols()), 0);
  const index_t* inner = m.innerIndexPtr();
  for (Eigen::Index k = 0; k < m.nonZeros(); ++k) ++n[static_cast<std::size_t>(inner[k])];
  return n;
}

/// Applies a value transform (binary, log1p, confidence, bm25, tfidf; raw leaves the values) to
/// an aggregated matrix in place, with the formulas of `weighting`. `count` needs the events
/// and is only available through build_matrix. The pattern never changes.
/// @throws recsys::invalid_argument for count, invalid options, a negative value under log1p,
///   bm25 or tfidf (naming the row and column), or bm25 on a matrix whose values sum to 0.
inline void apply_weighting(csr_matrix& m, const matrix_options& o) {
  detail::check_matrix_options(o, "apply_weighting");
  RECSYS_REQUIRE(o.scheme != weighting::count, "apply_weighting",
                 "count needs the events: use build_matrix(log, {.scheme = weighting::count})");
  if (o.scheme == weighting::raw) return;
  m.makeCompressed();
  const Eigen::Index rows = m.rows(), cols = m.cols();
  const index_t* outer = m.outerIndexPtr();
  const index_t* inner = m.innerIndexPtr();
  score_t* val = m.valuePtr();
  if (o.scheme == weighting::log1p || o.scheme == weighting::bm25 || o.scheme == weighting::tfidf) {
    for (Eigen::Index u = 0; u < rows; ++u)
      for (index_t k = outer[u]; k < outer[u + 1]; ++k)
        RECSYS_REQUIRE(val[k] >= 0.0f, "apply_weighting", detail::scheme_name(o.scheme),
                       " needs non-negative values; entry (", u, ", ", inner[k], ") is ", val[k]);
  }
  std::vector<double> idf, norm;
  if (o.scheme == weighting::bm25 || o.scheme == weighting::tfidf) {
    idf.resize(static_cast<std::size_t>(rows));
    for (Eigen::Index u = 0; u < rows; ++u)
      idf[static_cast<std::size_t>(u)] =
          std::log(static_cast<double>(cols) / (1.0 + static_cast<double>(outer[u + 1] - outer[u])));
  }
  if (o.scheme == weighting::bm25 && m.nonZeros() > 0) {
    std::vector<double> col_sum(static_cast<std::size_t>(cols), 0.0);
    for (Eigen::Index k = 0; k < m.nonZeros(); ++k) col_sum[static_cast<std::size_t>(inner[k])] += val[k];
    double total = 0.0;
    for (double s : col_sum) total += s;
    const double avg = total / static_cast<double>(cols);
    RECSYS_REQUIRE(avg > 0.0, "apply_weighting", "bm25 needs a positive total weight (all values are 0)");
    norm.resize(static_cast<std::size_t>(cols));
    const double b = o.bm25_b;
    for (std::size_t i = 0; i < norm.size(); ++i) norm[i] = o.bm25_k1 * ((1.0 - b) + b * col_sum[i] / avg);
  }
  parallel_options po;
  po.num_threads = o.num_threads;
  po.chunk = 1024;
  po.min_parallel = 1 << 14;
  const double k1p1 = static_cast<double>(o.bm25_k1) + 1.0;
  parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u) {
    for (index_t k = outer[u]; k < outer[u + 1]; ++k) {
      const double x = val[k];
      double y = x;
      switch (o.scheme) {
        case weighting::binary: y = 1.0; break;
        case weighting::log1p: y = std::log1p(x); break;
        case weighting::confidence: y = 1.0 + static_cast<double>(o.alpha) * x; break;
        case weighting::bm25:
          y = x * k1p1 / (norm[static_cast<std::size_t>(inner[k])] + x) * idf[static_cast<std::size_t>(u)];
          break;
        case weighting::tfidf: y = std::sqrt(x) * idf[static_cast<std::size_t>(u)]; break;
        default: break;
      }
      val[k] = static_cast<score_t>(y);
    }
  });
}

/// Builds the user x item matrix of a log (see the file comment and `weighting`).
/// @throws recsys::invalid_argument for invalid options, an inconsistent log
///   (interaction_log::validate), a negative aggregated value under log1p / bm25 / tfidf, or a
///   value that does not fit a float.
[[nodiscard]] inline csr_matrix build_matrix(const interaction_log& log, const matrix_options& o = {}) {
  detail::check_matrix_options(o, "build_matrix");
  log.validate();
  const auto n = log.size();
  const index_t num_users = log.num_users(), num_items = log.num_items();
  RECSYS_REQUIRE(n < (std::size_t{1} << 32), "build_matrix", "more than 2^32-1 events (", n, ")");

  const bool decay = o.half_life_seconds > 0.0;
  const timestamp_t ref = o.reference_time ? *o.reference_time : log.time_range().second;
  const bool weight_based = o.scheme != weighting::binary && o.scheme != weighting::count;
  const duplicate_aggregation agg = o.scheme == weighting::count    ? duplicate_aggregation::sum
                                    : o.scheme == weighting::binary ? duplicate_aggregation::max
                                                                    : o.duplicates;

  // 1. Counting sort by user (stable: log order within a row). Each slot gets the event's
  //    sort key (item << 32 | position in row), its base value and, for `latest`, its time.
  std::vector<std::int64_t> row_start(static_cast<std::size_t>(num_users) + 1, 0);
  for (index_t u : log.users) ++row_start[static_cast<std::size_t>(u) + 1];
  for (std::size_t u = 0; u < static_cast<std::size_t>(num_users); ++u) row_start[u + 1] += row_start[u];
  std::vector<std::uint64_t> key(n);
  std::vector<float> value(n);
  std::vector<timestamp_t> time;
  if (agg == duplicate_aggregation::latest) time.resize(n);
  {
    std::vector<std::int64_t> next(row_start.begin(), row_start.end() - 1);
    const double inv_half_life = decay ? 1.0 / o.half_life_seconds : 0.0;
    for (std::size_t r = 0; r < n; ++r) {
      const auto u = static_cast<std::size_t>(log.users[r]);
      const auto slot = static_cast<std::size_t>(next[u]++);
      const auto pos = static_cast<std::uint64_t>(static_cast<std::int64_t>(slot) - row_start[u]);
      key[slot] = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(log.items[r])) << 32) | pos;
      double v = weight_based ? static_cast<double>(log.weights[r]) : 1.0;
      if (decay) v *= std::exp2(-static_cast<double>(ref - log.timestamps[r]) * inv_half_life);
      value[slot] = static_cast<float>(v);
      if (!time.empty()) time[slot] = log.timestamps[r];
    }
  }

  // 2. Per row: sort by (item, position) and count distinct items.
  parallel_options po;
  po.num_threads = o.num_threads;
  po.chunk = 512;
  po.min_parallel = 4096;
  std::vector<index_t> row_nnz(static_cast<std::size_t>(num_users), 0);
  parallel_for(0, static_cast<std::int64_t>(num_users), po, [&](std::int64_t u) {
    auto b = key.begin() + row_start[static_cast<std::size_t>(u)];
    auto e = key.begin() + row_start[static_cast<std::size_t>(u) + 1];
    if (e - b > 1) std::sort(b, e);
    index_t d = 0;
    for (auto it = b; it != e; ++it)
      if (it == b || (*it >> 32) != (*(it - 1) >> 32)) ++d;
    row_nnz[static_cast<std::size_t>(u)] = d;
  });

  // 3. Allocate the compressed matrix and aggregate each row into it.
  csr_matrix m(num_users, num_items);
  std::int64_t nnz = 0;
  for (index_t d : row_nnz) nnz += d;
  RECSYS_REQUIRE(nnz <= std::numeric_limits<index_t>::max(), "build_matrix", "more than 2^31-1 distinct pairs (",
                 nnz, ")");
  m.resizeNonZeros(static_cast<Eigen::Index>(nnz));
  index_t* outer = m.outerIndexPtr();
  outer[0] = 0;
  for (std::size_t u = 0; u < row_nnz.size(); ++u) outer[u + 1] = outer[u] + row_nnz[u];
  index_t* inner = m.innerIndexPtr();
  score_t* val = m.valuePtr();
  parallel_for(0, static_cast<std::int64_t>(num_users), po, [&](std::int64_t u) {
    const std::int64_t base = row_start[static_cast<std::size_t>(u)];
    const std::int64_t end = row_start[static_cast<std::size_t>(u) + 1];
    index_t out = outer[u];
    for (std::int64_t k = base; k < end;) {
      const std::uint64_t item = key[static_cast<std::size_t>(k)] >> 32;
      double acc = 0.0;
      std::size_t best = 0;
      bool first = true;
      std::int64_t j = k;
      for (; j < end && (key[static_cast<std::size_t>(j)] >> 32) == item; ++j) {
        const auto slot = static_cast<std::size_t>(base + static_cast<std::int64_t>(key[static_cast<std::size_t>(j)] & 0xffffffffu));
        const double v = value[slot];
        switch (agg) {
          case duplicate_aggregation::sum: acc += v; break;
          case duplicate_aggregation::max: acc = first ? v : std::max(acc, v); break;
          case duplicate_aggregation::latest:
            // positions ascend within the item, so ">=" keeps the last of equal times
            if (first || time[slot] >= time[best]) {
              best = slot;
              acc = v;
            }
            break;
        }
        first = false;
      }
      inner[out] = static_cast<index_t>(item);
      val[out] = static_cast<score_t>(acc);
      ++out;
      k = j;
    }
  });
  for (Eigen::Index k = 0; k < m.nonZeros(); ++k)
    RECSYS_REQUIRE(std::isfinite(val[k]), "build_matrix", "aggregated value ", val[k], " is not a finite float at entry ",
                   k, " (weights or time decay overflow; check half_life_seconds and reference_time)");

  // 4. Value transform.
  if (o.scheme != weighting::raw && o.scheme != weighting::count && o.scheme != weighting::binary) {
    try {
      apply_weighting(m, o);
    } catch (const invalid_argument& e) {
      throw invalid_argument(std::string(e.what()) + " (build_matrix)");
    }
  }
  return m;
}

/// A column-major copy of `m` (same shape and values): O(nnz), for fast column (item) access.
[[nodiscard]] inline csc_matrix to_csc(const csr_matrix& m) {
  csc_matrix c(m);
  c.makeCompressed();
  return c;
}

/// The transpose of `m` as a row-major matrix (items x users, each item's users sorted): O(nnz).
[[nodiscard]] inline csr_matrix transpose_csr(const csr_matrix& m) {
  csr_matrix t = m.transpose();
  t.makeCompressed();
  return t;
}

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

#endif  // RECSYS_DATA_MATRIX_HPP
