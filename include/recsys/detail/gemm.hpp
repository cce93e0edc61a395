// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_GEMM_HPP
#define RECSYS_DETAIL_GEMM_HPP

/// @file
/// Internal: a single-threaded Eigen GEMM with packing buffers owned by the caller.
///
/// Why not `c.noalias() += a * b.transpose()`: when OpenMP is enabled, Eigen's product
/// parallelises itself with omp_get_max_threads() threads whenever it is called outside a
/// parallel region, which would ignore the thread count a recsys caller asked for (a
/// 1-thread query would use every core), and it allocates its packing buffers on every call.
/// The top-K kernel calls this on thousands of small blocks per query batch from its own
/// worker threads, so it goes one level down, to the sequential GEMM Eigen's product itself
/// dispatches to (Eigen::internal::general_matrix_matrix_product, unchanged in signature from
/// Eigen 3.4 to 5.x), with one blocking object per worker thread. Tests compare it with a
/// naive product.

#include <Eigen/Core>

#include <memory>
#include <type_traits>

namespace recsys::detail {

/// C += A * Bᵀ for row-major A (rows x depth), B (cols x depth) and C (rows x cols), each with
/// its own leading dimension. One object per thread; run() is not thread-safe.
template <class Scalar>
class gemm_abt {
  static_assert(std::is_floating_point_v<Scalar>, "gemm_abt: float or double");

 public:
  /// Sizes the packing buffers for products up to max_rows x max_cols with inner size depth.
  gemm_abt(Eigen::Index max_rows, Eigen::Index max_cols, Eigen::Index depth)
      : max_rows_(max_rows), max_cols_(max_cols), depth_(depth) {
    // The product is evaluated as its transpose, Cᵀ (col-major, cols x rows) = B · Aᵀ, so
    // Eigen's "lhs" is B and its "rhs" is Aᵀ.
    blocking_ = std::make_unique<blocking_type>(max_cols, max_rows, depth, 1, true);
    blocking_->allocateAll();
  }

  [[nodiscard]] Eigen::Index max_rows() const noexcept { return max_rows_; }
  [[nodiscard]] Eigen::Index max_cols() const noexcept { return max_cols_; }
  [[nodiscard]] Eigen::Index depth() const noexcept { return depth_; }

  /// C[0:rows, 0:cols] += A[0:rows, :] · B[0:cols, :]ᵀ with rows <= max_rows(), cols <= max_cols().
  void run(Eigen::Index rows, Eigen::Index cols, const Scalar* a, Eigen::Index lda, const Scalar* b, Eigen::Index ldb,
           Scalar* c, Eigen::Index ldc) {
    eigen_assert(rows <= max_rows_ && cols <= max_cols_);
    if (rows == 0 || cols == 0) return;
    if (depth_ == 0) return;
    product_type::run(cols, rows, depth_, b, ldb, a, lda, c, 1, ldc, Scalar(1), *blocking_, nullptr);
  }

 private:
  using blocking_type = Eigen::internal::gemm_blocking_space<Eigen::ColMajor, Scalar, Scalar, Eigen::Dynamic,
                                                             Eigen::Dynamic, Eigen::Dynamic, 1, false>;
  // lhs B: row-major (cols x depth); rhs Aᵀ: col-major (depth x rows); result Cᵀ: col-major.
  using product_type =
      Eigen::internal::general_matrix_matrix_product<Eigen::Index, Scalar, Eigen::RowMajor, false, Scalar,
                                                     Eigen::ColMajor, false, Eigen::ColMajor, 1>;

  Eigen::Index max_rows_;
  Eigen::Index max_cols_;
  Eigen::Index depth_;
  std::unique_ptr<blocking_type> blocking_;
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_GEMM_HPP
