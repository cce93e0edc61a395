// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_OPTIMIZERS_HPP
#define RECSYS_DETAIL_SESSION_GRU_OPTIMIZERS_HPP

/// @file
/// Internal: the optimisers of the session GRU's training, as updates of one row of an array
/// (the item tables are updated row by row, lazily, as GRU4Rec's IndexedAdagradM does).

#include <Eigen/Core>

namespace recsys::detail {

/// Adagrad with classical momentum on the Adagrad step (GRU4Rec's IndexedAdagradM):
/// acc += g²; mom = μ·mom − lr·g/√(acc+ε); w += mom   (μ = 0: w −= lr·g/√(acc+ε)).
template <class Scalar>
inline void adagrad_update(Scalar* w, Scalar* acc, Scalar* mom, const Scalar* g, Eigen::Index n, Scalar lr,
                           Scalar mu, Scalar eps) {
  using arr = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  Eigen::Map<arr> W(w, n), A(acc, n);
  Eigen::Map<const arr> G(g, n);
  A += G.square();
  if (mu > Scalar(0)) {
    Eigen::Map<arr> M(mom, n);
    M = mu * M - lr * G / (A + eps).sqrt();
    W += M;
  } else {
    W -= lr * G / (A + eps).sqrt();
  }
}

/// Adam with bias correction (lr_t = lr/(1−β1^t), denominators √v/√(1−β2^t) + ε).
template <class Scalar>
inline void adam_update(Scalar* w, Scalar* m, Scalar* v, const Scalar* g, Eigen::Index n, Scalar lr_t, Scalar b1,
                        Scalar b2, Scalar v_scale, Scalar eps) {
  using arr = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  Eigen::Map<arr> W(w, n), M(m, n), V(v, n);
  Eigen::Map<const arr> G(g, n);
  M = b1 * M + (Scalar(1) - b1) * G;
  V = b2 * V + (Scalar(1) - b2) * G.square();
  W -= lr_t * M / (V.sqrt() * v_scale + eps);
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_OPTIMIZERS_HPP
