// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_ALS_KERNELS_HPP
#define RECSYS_DETAIL_ALS_KERNELS_HPP

/// @file
/// Internal: the numerical kernels of implicit ALS (recsys::als).
///
/// One half-sweep solves, for every row u of the side being updated (users or items),
///
///     (G + lambda_u I + Yb^T D Yb) x_u = Yb^T c_u,      G = Y^T Y,  D = diag(c_u - 1),
///
/// where Y is the fixed other side and Yb the rows of Y the row interacted with. Dense C is
/// never formed. Before the half-sweep, G is computed in double precision (fixed blocks, so
/// the result does not depend on the thread count), diagonalised (G = Q diag(eig) Q^T), and
/// both factor matrices are rotated by Q. In that basis G is diagonal, which the solvers use:
///
/// - exact, low rank (rows with fewer interactions than factors, all c >= 1): with
///   S = diag(sqrt(eig + lambda_u)), Z = Yb S^-1 and Zd = D^1/2 Z, the system is
///   S (I + Zd^T Zd) S x = S Z^T c, solved with the n x n Woodbury form
///   x = S^-1 (g - Zd^T (I + Zd Zd^T)^-1 Zd g), g = Z^T c. I + Zd Zd^T has eigenvalues >= 1.
/// - exact, direct: A = diag(eig + lambda_u) + Yb^T D Yb built by rank-k updates of the
///   gathered block (SYRK), factorised in place (LLT), solved.
/// - conjugate gradient: a fixed number of CG steps warm-started from the previous factors;
///   the product with G is a diagonal scaling in this basis. The iterates are those of CG in
///   the original basis (CG is invariant under orthogonal changes of basis).
///
/// Eigen's GEMM may start its own OpenMP threads when called outside a parallel region; every
/// product here is a SYRK, GEMV, TRSM, LLT (none of which Eigen parallelises) or the shared
/// sequential GEMM of detail/gemm.hpp, so `num_threads` is the only source of threads.

#include <recsys/detail/gemm.hpp>
#include <recsys/detail/platform.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace recsys::detail {

/// How a weight w becomes a confidence c: c = 1 + alpha w (Hu et al.) or c = alpha w (implicit).
enum class als_confidence_kind { hu, linear };

/// Outcome of one row solve.
enum class als_row_status {
  ok,
  singular,               ///< G + lambda I is numerically singular (lambda too small)
  not_positive_definite,  ///< the row's system is not positive definite
  not_finite              ///< a NaN or infinity appeared
};

/// Rows processed by the Gram reduction per block (fixed: results do not depend on threads).
inline constexpr std::int64_t als_gram_block = 1024;
/// Bytes of the per-thread gathered block: rows longer than this are processed in chunks
/// (CG then gathers them again at every step).
inline constexpr std::size_t als_max_block_bytes = std::size_t(64) << 20;

/// Row count below which an O(rows f^2) preparation step (Gram matrix, rotation) runs on the
/// calling thread: about 16 M flops. Waking a second thread costs microseconds on an idle
/// machine but milliseconds on a busy one, and small models fit many times (searches, tests).
[[nodiscard]] constexpr std::int64_t als_parallel_rows(Eigen::Index f) noexcept {
  return std::max<std::int64_t>(1024, (std::int64_t(16) << 20) / std::max<std::int64_t>(1, std::int64_t(f) * f));
}

/// True when the n x n (Woodbury) form of the exact solve is cheaper than the f x f one.
/// Both cost about n^2 f + n^3/3 versus n f^2 + f^3/3 flops; they cross near n = f, and the
/// small form has an extra O(n f) of scaling, hence the margin.
[[nodiscard]] constexpr bool als_use_low_rank(Eigen::Index n, Eigen::Index f) noexcept { return 8 * n < 7 * f; }

/// The fixed side of a half-sweep: its factors in the basis where their Gram matrix is
/// diagonal, and that diagonal.
template <class Scalar>
struct als_fixed_side {
  const row_matrix<Scalar>* factors = nullptr;  ///< m x f, rotated
  const recsys::vector<Scalar>* eig = nullptr;  ///< f eigenvalues of factors^T factors
  double eig_min = 0.0;                         ///< smallest eigenvalue (double precision)
  double eig_max = 0.0;                         ///< largest eigenvalue (double precision)
  als_confidence_kind confidence = als_confidence_kind::hu;
  Scalar alpha = Scalar(1);

  [[nodiscard]] Scalar confidence_of(score_t w) const noexcept {
    return confidence == als_confidence_kind::hu ? Scalar(1) + alpha * static_cast<Scalar>(w)
                                                 : alpha * static_cast<Scalar>(w);
  }
  /// True when G + lambda I is numerically singular: its smallest eigenvalue is at the
  /// rounding level of the double-precision Gram matrix.
  [[nodiscard]] bool singular(double lambda) const noexcept {
    const double f = static_cast<double>(eig ? eig->size() : 0);
    const double tol = 16.0 * (f + 1.0) * std::numeric_limits<double>::epsilon();
    return !(eig_min + lambda > tol * std::max(eig_max + lambda, 0.0)) || !(eig_max + lambda > 0.0);
  }
};

/// The sparse row being solved: item (or user) indices and raw weights.
struct als_row {
  const index_t* index = nullptr;
  const score_t* weight = nullptr;
  Eigen::Index size = 0;
};

/// Per-thread scratch and the row solvers. Grows on demand and never shrinks; reusing one
/// object across rows avoids allocation in the loop.
template <class Scalar>
class alignas(64) als_row_solver {  // one per thread: no false sharing between neighbours
 public:
  using vec = recsys::vector<Scalar>;
  using rmat = row_matrix<Scalar>;
  using cmat = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  explicit als_row_solver(Eigen::Index factors)
      : f_(factors),
        max_rows_(std::max<Eigen::Index>(256, static_cast<Eigen::Index>(als_max_block_bytes / sizeof(Scalar)) /
                                                  std::max<Eigen::Index>(factors, 1))) {
    g_.resize(f_);
    w_.resize(f_);
    s_inv_.resize(f_);
    diag_.resize(f_);
    r_.resize(f_);
    p_.resize(f_);
    ap_.resize(f_);
  }

  /// Floating-point operations executed by the solves so far (for throughput reports).
  [[nodiscard]] double flops() const noexcept { return flops_; }
  void reset_flops() noexcept { flops_ = 0; }

  /// Exact solve of the row's system into x (f entries). With `rhs` given, solves A x = rhs
  /// instead of A x = Yb^T c (used by explain). `force` selects a path for tests: 0 automatic,
  /// 1 low rank, 2 direct (low rank falls back to direct when some confidence is below 1).
  als_row_status solve_exact(const als_fixed_side<Scalar>& side, const als_row& row, Scalar lambda, Scalar* x,
                             const Scalar* rhs = nullptr, int force = 0) {
    Eigen::Map<vec> out(x, f_);
    if (row.size == 0 && rhs == nullptr) {
      out.setZero();
      return als_row_status::ok;
    }
    if (side.singular(static_cast<double>(lambda))) return als_row_status::singular;
    const Eigen::Index n = row.size;
    bool any_negative = false;
    if (side.confidence == als_confidence_kind::linear)
      for (Eigen::Index j = 0; j < n; ++j) any_negative = any_negative || side.confidence_of(row.weight[j]) < Scalar(1);
    const bool low_rank = !any_negative && (force == 1 || (force == 0 && als_use_low_rank(n, f_)));
    const als_row_status st =
        low_rank ? solve_low_rank(side, row, lambda, out, rhs) : solve_direct(side, row, lambda, out, rhs);
    if (st != als_row_status::ok) return st;
    return out.allFinite() ? als_row_status::ok : als_row_status::not_finite;
  }

  /// `steps` conjugate-gradient steps on the row's system, starting from x (in place).
  als_row_status solve_cg(const als_fixed_side<Scalar>& side, const als_row& row, Scalar lambda, Scalar* x, int steps) {
    Eigen::Map<vec> xv(x, f_);
    const Eigen::Index n = row.size;
    if (n == 0) {
      xv.setZero();
      return als_row_status::ok;
    }
    load_confidences(side, row);
    diag_ = side.eig->array() + lambda;
    const bool gathered = n <= max_rows_;
    if (gathered) gather(side, row, 0, n);
    // r = b - A x
    mul_yb(side, row, gathered, xv, q_);  // q = Yb x
    t_.head(n) = c_.head(n) - d_.head(n).cwiseProduct(q_.head(n));
    mul_ybt(side, row, gathered, t_, r_);  // r = Yb^T (c - d q)
    r_.array() -= diag_.array() * xv.array();
    p_ = r_;
    Scalar rs = r_.squaredNorm();
    // Stop at an exact solution or once the residual is at the rounding level.
    const Scalar eps = std::numeric_limits<Scalar>::epsilon();
    const Scalar rs_stop = std::max(Scalar(1e-20), rs * Scalar(16) * eps * eps);
    double fl = 4.0 * static_cast<double>(n * f_) + 4.0 * static_cast<double>(f_) + 2.0 * static_cast<double>(n);
    als_row_status st = als_row_status::ok;
    for (int it = 0; it < steps; ++it) {
      if (!(rs > rs_stop)) {
        if (!std::isfinite(static_cast<double>(rs))) st = als_row_status::not_finite;
        break;
      }
      mul_yb(side, row, gathered, p_, q_);
      q_.head(n).array() *= d_.head(n).array();
      mul_ybt(side, row, gathered, q_, ap_);
      ap_.array() += diag_.array() * p_.array();
      const Scalar pap = p_.dot(ap_);
      fl += 4.0 * static_cast<double>(n * f_) + 11.0 * static_cast<double>(f_) + static_cast<double>(n);
      if (!(pap > Scalar(0))) {
        st = std::isfinite(static_cast<double>(pap)) ? als_row_status::not_positive_definite
                                                     : als_row_status::not_finite;
        break;
      }
      const Scalar a = rs / pap;
      xv.noalias() += a * p_;
      r_.noalias() -= a * ap_;
      const Scalar rs_new = r_.squaredNorm();
      p_ = r_ + (rs_new / rs) * p_;
      rs = rs_new;
    }
    flops_ += fl;
    if (st != als_row_status::ok) return st;
    return xv.allFinite() ? als_row_status::ok : als_row_status::not_finite;
  }

 private:
  void ensure_rows(Eigen::Index n) {
    if (block_.rows() < n || block_.cols() != f_) block_.resize(std::max<Eigen::Index>(n, 64), f_);
  }

  void load_confidences(const als_fixed_side<Scalar>& side, const als_row& row) {
    const Eigen::Index n = row.size;
    ensure_rows(std::min(n, max_rows_));
    if (c_.size() < n) {
      c_.resize(n);
      d_.resize(n);
      q_.resize(n);
      t_.resize(n);
      sd_.resize(n);
    }
    const auto w = Eigen::Map<const Eigen::Array<score_t, Eigen::Dynamic, 1>>(row.weight, n).template cast<Scalar>();
    if (side.confidence == als_confidence_kind::hu)
      c_.head(n).array() = Scalar(1) + side.alpha * w;
    else
      c_.head(n).array() = side.alpha * w;
    d_.head(n).array() = c_.head(n).array() - Scalar(1);
  }

  static void prefetch_row(const rmat& y, index_t r, Eigen::Index bytes) {
    const char* p = reinterpret_cast<const char*>(y.data() + static_cast<Eigen::Index>(r) * y.cols());
    for (Eigen::Index b = 0; b < bytes; b += 64) prefetch(p + b);
  }

  void gather(const als_fixed_side<Scalar>& side, const als_row& row, Eigen::Index lo, Eigen::Index hi) {
    const rmat& y = *side.factors;
    constexpr Eigen::Index ahead = 8;
    const Eigen::Index row_bytes = f_ * static_cast<Eigen::Index>(sizeof(Scalar));
    for (Eigen::Index j = lo; j < std::min(hi, lo + ahead); ++j) prefetch_row(y, row.index[j], row_bytes);
    for (Eigen::Index j = lo; j < hi; ++j) {
      if (j + ahead < hi) prefetch_row(y, row.index[j + ahead], row_bytes);
      block_.row(j - lo) = y.row(row.index[j]);
    }
  }

  // out(n) = Yb v
  template <class V>
  void mul_yb(const als_fixed_side<Scalar>& side, const als_row& row, bool gathered, const V& v, vec& out) {
    const Eigen::Index n = row.size;
    if (gathered) {
      out.head(n).noalias() = block_.topRows(n) * v;
      return;
    }
    for (Eigen::Index lo = 0; lo < n; lo += max_rows_) {
      const Eigen::Index hi = std::min(n, lo + max_rows_);
      gather(side, row, lo, hi);
      out.segment(lo, hi - lo).noalias() = block_.topRows(hi - lo) * v;
    }
  }

  // out(f) = Yb^T v
  void mul_ybt(const als_fixed_side<Scalar>& side, const als_row& row, bool gathered, const vec& v, vec& out) {
    const Eigen::Index n = row.size;
    if (gathered) {
      out.noalias() = block_.topRows(n).transpose() * v.head(n);
      return;
    }
    out.setZero();
    for (Eigen::Index lo = 0; lo < n; lo += max_rows_) {
      const Eigen::Index hi = std::min(n, lo + max_rows_);
      gather(side, row, lo, hi);
      out.noalias() += block_.topRows(hi - lo).transpose() * v.segment(lo, hi - lo);
    }
  }

  als_row_status solve_low_rank(const als_fixed_side<Scalar>& side, const als_row& row, Scalar lambda,
                                Eigen::Map<vec>& x, const Scalar* rhs) {
    const Eigen::Index n = row.size;
    load_confidences(side, row);
    s_inv_ = (side.eig->array() + lambda).sqrt().inverse();
    gather(side, row, 0, n);
    auto z = block_.topRows(n);
    z.array().rowwise() *= s_inv_.transpose().array();  // Z = Yb S^-1
    if (rhs)
      g_ = s_inv_.cwiseProduct(Eigen::Map<const vec>(rhs, f_));
    else
      g_.noalias() = z.transpose() * c_.head(n);                        // g = Z^T c = S^-1 b
    for (Eigen::Index j = 0; j < n; ++j) z.row(j) *= std::sqrt(d_[j]);  // Zd = D^1/2 Z
    if (small_.rows() < n) small_.resize(std::max<Eigen::Index>(n, 16), std::max<Eigen::Index>(n, 16));
    auto m = small_.topLeftCorner(n, n);
    m.setIdentity();
    m.template selfadjointView<Eigen::Lower>().rankUpdate(z);  // M = I + Zd Zd^T
    Eigen::Ref<cmat> mref(m);
    Eigen::LLT<Eigen::Ref<cmat>> llt(mref);
    if (llt.info() != Eigen::Success) return als_row_status::not_positive_definite;
    t_.head(n).noalias() = z * g_;
    llt.solveInPlace(t_.head(n));
    w_ = g_;
    w_.noalias() -= z.transpose() * t_.head(n);
    x = s_inv_.cwiseProduct(w_);
    const double nd = static_cast<double>(n), fd = static_cast<double>(f_);
    flops_ += nd * nd * fd + nd * nd * nd / 3.0 + 9.0 * nd * fd + 2.0 * nd * nd + 4.0 * fd;
    return als_row_status::ok;
  }

  als_row_status solve_direct(const als_fixed_side<Scalar>& side, const als_row& row, Scalar lambda, Eigen::Map<vec>& x,
                              const Scalar* rhs) {
    const Eigen::Index n = row.size;
    load_confidences(side, row);
    if (small_.rows() < f_) small_.resize(f_, f_);
    auto a = small_.topLeftCorner(f_, f_);
    a.setZero();
    a.diagonal() = side.eig->array() + lambda;
    if (rhs)
      g_ = Eigen::Map<const vec>(rhs, f_);
    else
      g_.setZero();
    const rmat& y = *side.factors;
    for (Eigen::Index lo = 0; lo < n; lo += max_rows_) {
      const Eigen::Index hi = std::min(n, lo + max_rows_);
      // Rows with c >= 1 at the top, rows with c < 1 (linear confidence) at the bottom.
      Eigen::Index top = 0, bottom = hi - lo;
      constexpr Eigen::Index ahead = 8;
      const Eigen::Index row_bytes = f_ * static_cast<Eigen::Index>(sizeof(Scalar));
      for (Eigen::Index j = lo; j < std::min(hi, lo + ahead); ++j) prefetch_row(y, row.index[j], row_bytes);
      for (Eigen::Index j = lo; j < hi; ++j) {
        if (j + ahead < hi) prefetch_row(y, row.index[j + ahead], row_bytes);
        const Eigen::Index r = d_[j] >= Scalar(0) ? top++ : --bottom;
        block_.row(r) = y.row(row.index[j]);
        t_[r] = c_[j];
        sd_[r] = std::sqrt(std::abs(d_[j]));
      }
      const Eigen::Index cnt = hi - lo;
      if (!rhs) g_.noalias() += block_.topRows(cnt).transpose() * t_.head(cnt);  // b = Yb^T c
      block_.topRows(cnt).array().colwise() *= sd_.head(cnt).array();
      if (top > 0) a.template selfadjointView<Eigen::Lower>().rankUpdate(block_.topRows(top).transpose(), Scalar(1));
      if (cnt > top)
        a.template selfadjointView<Eigen::Lower>().rankUpdate(block_.middleRows(top, cnt - top).transpose(),
                                                              Scalar(-1));
    }
    Eigen::Ref<cmat> aref(a);
    Eigen::LLT<Eigen::Ref<cmat>> llt(aref);
    if (llt.info() != Eigen::Success) return als_row_status::not_positive_definite;
    x = g_;
    llt.solveInPlace(x);
    const double nd = static_cast<double>(n), fd = static_cast<double>(f_);
    flops_ += nd * fd * fd + fd * fd * fd / 3.0 + 4.0 * nd * fd + 2.0 * fd * fd;
    return als_row_status::ok;
  }

  Eigen::Index f_;
  Eigen::Index max_rows_;
  rmat block_;
  cmat small_;
  vec c_, d_, q_, t_, sd_;
  vec g_, w_, s_inv_, diag_, r_, p_, ap_;
  double flops_ = 0;
};

/// G = M^T M in double precision, reduced over fixed blocks of rows (thread-count independent).
/// Returns the full symmetric matrix. Rows are converted to double in chunks of 256 through a
/// per-thread buffer: allocating a fresh block per step costs page faults that dwarf the SYRK.
template <class Scalar>
Eigen::MatrixXd als_gram(const row_matrix<Scalar>& m, int num_threads) {
  using dmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Index f = m.cols(), rows = m.rows();
  constexpr Eigen::Index chunk = 256;
  const std::int64_t blocks = (static_cast<std::int64_t>(rows) + als_gram_block - 1) / als_gram_block;
  parallel_options po;
  po.num_threads = num_threads;
  po.min_parallel = std::max<std::int64_t>(2, als_parallel_rows(f) / als_gram_block);
  std::vector<dmat> buffers(
      static_cast<std::size_t>(std::min<std::int64_t>(max_threads(po), std::max<std::int64_t>(blocks, 1))));
  std::vector<Eigen::MatrixXd> partial(static_cast<std::size_t>(blocks));
  parallel_for(0, blocks, po, [&](std::int64_t b, int tid) {
    dmat& buf = buffers[static_cast<std::size_t>(tid)];
    if (buf.rows() != chunk || buf.cols() != f) buf.resize(chunk, f);
    Eigen::MatrixXd& part = partial[static_cast<std::size_t>(b)];
    part.setZero(f, f);
    const Eigen::Index lo = static_cast<Eigen::Index>(b) * als_gram_block;
    const Eigen::Index hi = std::min<Eigen::Index>(rows, lo + als_gram_block);
    for (Eigen::Index c = lo; c < hi; c += chunk) {
      const Eigen::Index n = std::min(chunk, hi - c);
      buf.topRows(n) = m.middleRows(c, n).template cast<double>();
      part.selfadjointView<Eigen::Lower>().rankUpdate(buf.topRows(n).transpose());
    }
  });
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(f, f);
  for (const auto& p : partial) g += p;  // in block order: the same sum for any thread count
  return g.selfadjointView<Eigen::Lower>();
}

/// The eigenbasis of a Gram matrix: G = Q diag(eig) Q^T, eigenvalues in descending order.
template <class Scalar>
struct als_basis {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> q;  ///< f x f, orthonormal columns
  recsys::vector<Scalar> eig;                               ///< descending
  double eig_min = 0.0;
  double eig_max = 0.0;
};

template <class Scalar>
als_basis<Scalar> als_eigenbasis(const Eigen::MatrixXd& gram) {
  const Eigen::Index f = gram.rows();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(gram);
  als_basis<Scalar> b;
  b.q.resize(f, f);
  b.eig.resize(f);
  if (es.info() != Eigen::Success || !es.eigenvalues().allFinite()) {
    throw_numerical_error("als::fit", "the eigendecomposition of the ", f, " x ", f,
                          " Gram matrix of the factors failed (factors contain NaN or infinity?)");
  }
  for (Eigen::Index k = 0; k < f; ++k) {  // descending: column 0 is the principal axis
    b.q.col(k) = es.eigenvectors().col(f - 1 - k).template cast<Scalar>();
    b.eig[k] = static_cast<Scalar>(es.eigenvalues()[f - 1 - k]);
  }
  b.eig_max = f ? es.eigenvalues()[f - 1] : 0.0;
  b.eig_min = f ? es.eigenvalues()[0] : 0.0;
  return b;
}

/// out = in * q (rows in parallel); `out` may be `in`. Blocks of 256 rows go through the
/// shared single-threaded GEMM (detail/gemm.hpp: Eigen's own product would start OpenMP threads
/// of its own outside a parallel region) into a per-thread buffer, so the result does not
/// depend on the thread count.
template <class Scalar>
void als_rotate(const row_matrix<Scalar>& in, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& q,
                row_matrix<Scalar>& out, int num_threads) {
  constexpr Eigen::Index chunk = 256;
  const Eigen::Index rows = in.rows(), f = in.cols();
  if (&in != &out) out.resize(rows, f);
  const std::int64_t chunks = (rows + chunk - 1) / chunk;
  parallel_options po;
  po.num_threads = num_threads;
  po.min_parallel = std::max<std::int64_t>(2, als_parallel_rows(f) / chunk);
  struct worker {
    std::unique_ptr<gemm_abt<Scalar>> gemm;
    row_matrix<Scalar> tmp;
  };
  std::vector<worker> workers(static_cast<std::size_t>(max_threads(po)));
  parallel_for(0, chunks, po, [&](std::int64_t c, int tid) {
    worker& w = workers[static_cast<std::size_t>(tid)];
    if (!w.gemm) {
      w.gemm = std::make_unique<gemm_abt<Scalar>>(chunk, f, f);
      w.tmp.resize(chunk, f);
    }
    const Eigen::Index lo = static_cast<Eigen::Index>(c) * chunk, n = std::min<Eigen::Index>(chunk, rows - lo);
    w.tmp.topRows(n).setZero();
    // tmp = in_block * q = in_block * (q^T)^T; q^T read row-major is q's column-major storage.
    w.gemm->run(n, f, in.data() + lo * f, f, q.data(), q.outerStride(), w.tmp.data(), f);
    out.middleRows(lo, n) = w.tmp.topRows(n);
  });
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_ALS_KERNELS_HPP
