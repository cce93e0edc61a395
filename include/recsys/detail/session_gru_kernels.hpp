// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_KERNELS_HPP
#define RECSYS_DETAIL_SESSION_GRU_KERNELS_HPP

/// @file
/// Internal: the GRU cell's forward and backward math on Eigen blocks (used by training,
/// evaluation and the real-time session state), on the arrays of session_gru_network.hpp (see
/// there for the layout). Templated on the scalar so that the tests can run the same code in
/// double precision against finite differences; the model itself uses float.

#include <recsys/detail/session_gru_network.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <span>
#include <vector>

#if defined(_OPENMP) && !defined(RECSYS_SERIAL)
#include <omp.h>
#endif

namespace recsys::detail {

/// Scope in which Eigen's own OpenMP GEMM parallelism is off on the calling thread. recsys's
/// training and evaluation loops parallelise over fixed blocks with parallel_for; without this,
/// a GEMM issued on the calling thread (num_threads = 1, or a serial phase) would start
/// omp_get_max_threads() threads of its own. Only the calling thread's OpenMP nthreads ICV is
/// touched, and it is restored on exit; inside a parallel region nothing is changed.
class eigen_serial_scope {
 public:
  eigen_serial_scope() noexcept {
#if defined(_OPENMP) && !defined(RECSYS_SERIAL)
    active_ = omp_in_parallel() == 0;
    if (active_) {
      saved_ = omp_get_max_threads();
      omp_set_num_threads(1);
    }
#endif
  }
  ~eigen_serial_scope() {
#if defined(_OPENMP) && !defined(RECSYS_SERIAL)
    if (active_) omp_set_num_threads(saved_);
#endif
  }
  eigen_serial_scope(const eigen_serial_scope&) = delete;
  eigen_serial_scope& operator=(const eigen_serial_scope&) = delete;

 private:
  [[maybe_unused]] bool active_ = false;
  [[maybe_unused]] int saved_ = 1;
};

/// The input-side gate pre-activations of the first layer for the given items:
/// gi.row(b) = x_b · weight_ih + bias_ih, with x_b the item's embedding (or its one-hot row).
/// For constrained / embedding input, `x` receives the embedding rows (B × width).
template <class Scalar>
void gru_embed_items(const gru_network<Scalar>& net, std::span<const index_t> items, gru_ref<Scalar> x) {
  const gru_matrix<Scalar>& table = net.input == gru_input::embedding ? net.item_embedding : net.output_weights;
  for (std::size_t b = 0; b < items.size(); ++b) x.row(static_cast<Eigen::Index>(b)) = table.row(items[b]);
}

/// Gate nonlinearities. On entry gi / gh hold the input / hidden pre-activations (biases included);
/// on return gi holds [r | z | n] and h the new state. gh is not modified (its n block, r's
/// partner, is needed by the backward pass).
template <class Scalar>
void gru_gates_forward(gru_ref<Scalar> gi, const gru_cref<Scalar>& gh, const gru_cref<Scalar>& hprev,
                       gru_ref<Scalar> h) {
  const Eigen::Index H = hprev.cols();
  gi.leftCols(2 * H) = (gi.leftCols(2 * H) + gh.leftCols(2 * H)).array().logistic().matrix();
  gi.rightCols(H) = (gi.rightCols(H).array() + gi.leftCols(H).array() * gh.rightCols(H).array()).tanh().matrix();
  h = (gi.rightCols(H).array() + gi.middleCols(H, H).array() * (hprev.array() - gi.rightCols(H).array())).matrix();
}

/// Backward of gru_gates_forward: from dh (gradient of the new state) and the forward's
/// activations [r | z | n], gh and hprev, computes the gradients of the pre-activations:
/// dgi (input side) and dgh (hidden side), both B × 3H.
template <class Scalar>
void gru_gates_backward(const gru_cref<Scalar>& acts, const gru_cref<Scalar>& gh, const gru_cref<Scalar>& hprev,
                        const gru_cref<Scalar>& dh, gru_ref<Scalar> dgi, gru_ref<Scalar> dgh) {
  const Eigen::Index H = hprev.cols();
  const auto r = acts.leftCols(H).array();
  const auto z = acts.middleCols(H, H).array();
  const auto n = acts.rightCols(H).array();
  dgi.rightCols(H) = (dh.array() * (Scalar(1) - z) * (Scalar(1) - n * n)).matrix();
  dgi.leftCols(H) = (dgi.rightCols(H).array() * gh.rightCols(H).array() * r * (Scalar(1) - r)).matrix();
  dgi.middleCols(H, H) = (dh.array() * (hprev.array() - n) * z * (Scalar(1) - z)).matrix();
  dgh.leftCols(2 * H) = dgi.leftCols(2 * H);
  dgh.rightCols(H) = (dgi.rightCols(H).array() * r).matrix();
}

/// One GRU layer step in evaluation mode for rows [0, B): hidden ← GRU(x, hidden).
/// `gi_ready` means ws.gi already holds x·weight_ih + bias_ih (one-hot input).
template <class Scalar>
void gru_layer_step_eval(const gru_layer_weights<Scalar>& w, const gru_cref<Scalar>& x, gru_ref<Scalar> hidden,
                         gru_eval_workspace<Scalar>& ws, bool gi_ready) {
  const Eigen::Index B = hidden.rows(), H = w.hidden();
  auto gi = ws.gi.topLeftCorner(B, 3 * H);
  auto gh = ws.gh.topLeftCorner(B, 3 * H);
  if (!gi_ready) {
    gi.noalias() = x * w.weight_ih;
    gi.rowwise() += w.bias_ih;
  }
  gh.noalias() = hidden * w.weight_hh;
  gh.rowwise() += w.bias_hh;
  auto hn = ws.h.topLeftCorner(B, H);
  gru_gates_forward<Scalar>(gi, gh, hidden, hn);
  hidden = hn;
}

/// Feeds one item per row through every layer in evaluation mode: hidden[l] (B × H_l) is updated
/// in place. Items must be valid indices.
template <class Scalar>
void gru_step_eval(const gru_network<Scalar>& net, std::span<const index_t> items,
                   std::vector<gru_matrix<Scalar>>& hidden, gru_eval_workspace<Scalar>& ws) {
  const auto B = static_cast<Eigen::Index>(items.size());
  ws.reserve(net, B);
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const auto& w = net.layers[l];
    auto h = hidden[l].topRows(B);
    if (l == 0) {
      if (net.input == gru_input::one_hot) {
        for (Eigen::Index b = 0; b < B; ++b)
          ws.gi.row(b).head(3 * w.hidden()) = w.weight_ih.row(items[static_cast<std::size_t>(b)]) + w.bias_ih;
        gru_layer_step_eval<Scalar>(w, ws.x.topLeftCorner(B, 0), h, ws, true);
      } else {
        const Eigen::Index E = net.input_width();
        gru_embed_items<Scalar>(net, items, ws.x.topLeftCorner(B, E));
        gru_layer_step_eval<Scalar>(w, ws.x.topLeftCorner(B, E), h, ws, false);
      }
    } else {
      gru_layer_step_eval<Scalar>(w, hidden[l - 1].topRows(B), h, ws, false);
    }
  }
}

/// HRNN: the session layers' initial states from user states c (B × U):
/// hidden[l] = tanh(c · user_init_weights[l] + user_init_bias[l]).
template <class Scalar>
void gru_init_from_user(const gru_network<Scalar>& net, const gru_cref<Scalar>& c,
                        std::vector<gru_matrix<Scalar>>& hidden) {
  const Eigen::Index B = c.rows();
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    auto h = hidden[l].topRows(B);
    h.noalias() = c * net.user_init_weights[l];
    h.rowwise() += net.user_init_bias[l];
    h = h.array().tanh().matrix();
  }
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_KERNELS_HPP
