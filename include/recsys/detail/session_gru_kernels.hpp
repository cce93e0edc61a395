// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_KERNELS_HPP
#define RECSYS_DETAIL_SESSION_GRU_KERNELS_HPP

/// @file
/// Internal: the arrays of the session GRU network, their initialisation, and the GRU cell's
/// forward and backward math on Eigen blocks (used by training, evaluation and the real-time
/// session state). Templated on the scalar so that the tests can run the same code in double
/// precision against finite differences; the model itself uses float.
///
/// Layout conventions (all matrices row-major, one batch row / item per matrix row):
///   gi = x · weight_ih + bias_ih    (weight_ih: inputs × 3H; columns [reset | update | new])
///   gh = h · weight_hh + bias_hh    (weight_hh: H × 3H)
///   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h
/// which is PyTorch's nn.GRUCell with its weight_ih / weight_hh transposed.

#include <recsys/errors.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#if defined(_OPENMP) && !defined(RECSYS_SERIAL)
#include <omp.h>
#endif

namespace recsys::detail {

template <class Scalar>
using gru_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class Scalar>
using gru_row = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;
template <class Scalar>
using gru_col = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <class Scalar>
using gru_ref = Eigen::Ref<gru_matrix<Scalar>>;
template <class Scalar>
using gru_cref = Eigen::Ref<const gru_matrix<Scalar>>;

/// How an item enters the first GRU layer.
enum class gru_input {
  constrained,  ///< the output weights row of the item (GRU4Rec's constrained_embedding)
  embedding,    ///< a separate item_embedding table
  one_hot,      ///< one-hot: the first layer's weight_ih is an n_items × 3H table
};

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

/// Draws matrix m from U(±sqrt(6 / (fan_in + fan_out))) row by row, one random stream per row
/// (so initialisation does not depend on the thread count).
template <class Scalar>
void gru_uniform_init(gru_matrix<Scalar>& m, double fan_in, double fan_out, std::uint64_t seed,
                      std::uint64_t array_id) {
  const double a = std::sqrt(6.0 / (fan_in + fan_out));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    rng r(seed, stream_tag("session_gru.init"), (array_id << 40) + static_cast<std::uint64_t>(i));
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<Scalar>((2.0 * r.uniform_double() - 1.0) * a);
  }
}

/// The weights of one GRU layer (see the file comment for the layout).
template <class Scalar>
struct gru_layer_weights {
  gru_matrix<Scalar> weight_ih;  ///< inputs × 3H (one-hot first layer: n_items × 3H)
  gru_matrix<Scalar> weight_hh;  ///< H × 3H
  gru_row<Scalar> bias_ih;       ///< 3H
  gru_row<Scalar> bias_hh;       ///< 3H

  [[nodiscard]] Eigen::Index hidden() const noexcept { return weight_hh.rows(); }
  [[nodiscard]] Eigen::Index inputs() const noexcept { return weight_ih.rows(); }
  [[nodiscard]] bool empty() const noexcept { return weight_hh.size() == 0; }

  /// GRU4Rec's initialisation: every gate block from U(±sqrt(6/(fan_in + H))), biases 0.
  void init(Eigen::Index in, Eigen::Index h, std::uint64_t seed, std::uint64_t array_id) {
    weight_ih.resize(in, 3 * h);
    weight_hh.resize(h, 3 * h);
    gru_uniform_init(weight_ih, static_cast<double>(in), static_cast<double>(h), seed, array_id);
    gru_uniform_init(weight_hh, static_cast<double>(h), static_cast<double>(h), seed, array_id + 1);
    bias_ih.setZero(3 * h);
    bias_hh.setZero(3 * h);
  }

  template <class Other>
  [[nodiscard]] gru_layer_weights<Other> cast() const {
    return {weight_ih.template cast<Other>(), weight_hh.template cast<Other>(), bias_ih.template cast<Other>(),
            bias_hh.template cast<Other>()};
  }
};

/// Every trained array of a session GRU. HRNN arrays are empty unless the model has a user GRU.
template <class Scalar>
struct gru_network {
  gru_input input = gru_input::constrained;
  std::vector<gru_layer_weights<Scalar>> layers;     ///< session GRU layers, input first
  gru_matrix<Scalar> item_embedding;                 ///< n_items × embedding (gru_input::embedding only)
  gru_matrix<Scalar> output_weights;                 ///< n_items × H_last (also the input when constrained)
  gru_col<Scalar> output_bias;                       ///< n_items
  gru_layer_weights<Scalar> user_gru;                ///< HRNN: H_last × 3U and U × 3U
  std::vector<gru_matrix<Scalar>> user_init_weights; ///< HRNN, per layer: U × H_l
  std::vector<gru_row<Scalar>> user_init_bias;       ///< HRNN, per layer: H_l

  [[nodiscard]] Eigen::Index num_items() const noexcept { return output_weights.rows(); }
  [[nodiscard]] Eigen::Index last_hidden() const noexcept { return layers.empty() ? 0 : layers.back().hidden(); }
  [[nodiscard]] Eigen::Index user_hidden() const noexcept { return user_gru.hidden(); }
  [[nodiscard]] bool hrnn() const noexcept { return !user_gru.empty(); }
  /// Width of the first layer's input (the embedding), or 0 for one-hot input.
  [[nodiscard]] Eigen::Index input_width() const noexcept {
    switch (input) {
      case gru_input::constrained: return output_weights.cols();
      case gru_input::embedding: return item_embedding.cols();
      case gru_input::one_hot: return 0;
    }
    return 0;
  }

  template <class Other>
  [[nodiscard]] gru_network<Other> cast() const {
    gru_network<Other> out;
    out.input = input;
    for (const auto& l : layers) out.layers.push_back(l.template cast<Other>());
    out.item_embedding = item_embedding.template cast<Other>();
    out.output_weights = output_weights.template cast<Other>();
    out.output_bias = output_bias.template cast<Other>();
    out.user_gru = user_gru.template cast<Other>();
    for (const auto& w : user_init_weights) out.user_init_weights.push_back(w.template cast<Other>());
    for (const auto& b : user_init_bias) out.user_init_bias.push_back(b.template cast<Other>());
    return out;
  }

  /// Builds and initialises a network the way GRU4Rec does (uniform ±sqrt(6/(fan_in+fan_out))
  /// blocks, zero biases), with random streams derived from `seed`.
  static gru_network make(gru_input input, Eigen::Index n_items, const std::vector<Eigen::Index>& sizes,
                          Eigen::Index embedding, Eigen::Index user_hidden, std::uint64_t seed) {
    gru_network net;
    net.input = input;
    const Eigen::Index last = sizes.back();
    net.output_weights.resize(n_items, last);
    gru_uniform_init(net.output_weights, static_cast<double>(n_items), static_cast<double>(last), seed, 1);
    net.output_bias.setZero(n_items);
    Eigen::Index in = 0;
    switch (input) {
      case gru_input::constrained: in = last; break;
      case gru_input::embedding:
        in = embedding;
        net.item_embedding.resize(n_items, embedding);
        gru_uniform_init(net.item_embedding, static_cast<double>(n_items), static_cast<double>(embedding), seed, 2);
        break;
      case gru_input::one_hot: in = n_items; break;
    }
    for (std::size_t l = 0; l < sizes.size(); ++l) {
      gru_layer_weights<Scalar> w;
      w.init(l == 0 ? in : sizes[l - 1], sizes[l], seed, 16 + 4 * l);
      net.layers.push_back(std::move(w));
    }
    if (user_hidden > 0) {
      net.user_gru.init(last, user_hidden, seed, 8);
      for (std::size_t l = 0; l < sizes.size(); ++l) {
        gru_matrix<Scalar> w(user_hidden, sizes[l]);
        gru_uniform_init(w, static_cast<double>(user_hidden), static_cast<double>(sizes[l]), seed, 1024 + l);
        net.user_init_weights.push_back(std::move(w));
        net.user_init_bias.push_back(gru_row<Scalar>::Zero(sizes[l]));
      }
    }
    return net;
  }
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

/// Scratch for forward passes in evaluation mode (no dropout) over up to `rows` rows.
template <class Scalar>
struct gru_eval_workspace {
  gru_matrix<Scalar> x, gi, gh, h;
  void reserve(const gru_network<Scalar>& net, Eigen::Index rows) {
    Eigen::Index widest = net.input_width();
    Eigen::Index gates = 0;
    for (const auto& l : net.layers) {
      widest = std::max(widest, l.hidden());
      gates = std::max(gates, 3 * l.hidden());
    }
    if (net.hrnn()) gates = std::max(gates, 3 * net.user_hidden());
    if (x.rows() < rows || x.cols() < widest) x.resize(rows, widest);
    if (gi.rows() < rows || gi.cols() < gates) gi.resize(rows, gates);
    if (gh.rows() < rows || gh.cols() < gates) gh.resize(rows, gates);
    if (h.rows() < rows || h.cols() < widest) h.resize(rows, widest);
  }
};

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
