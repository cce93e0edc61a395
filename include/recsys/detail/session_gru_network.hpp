// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_NETWORK_HPP
#define RECSYS_DETAIL_SESSION_GRU_NETWORK_HPP

/// @file
/// Internal: the arrays of the session GRU network (recsys::session_gru_network), their
/// initialisation, and the scratch space of evaluation-mode forward passes: what a fitted model
/// and a session state hold. The math on them is in session_gru_kernels.hpp. Templated on the
/// scalar so that the tests can run the same code in double precision against finite
/// differences; the model itself uses float.
///
/// Layout conventions (all matrices row-major, one batch row / item per matrix row):
///   gi = x · weight_ih + bias_ih    (weight_ih: inputs × 3H; columns [reset | update | new])
///   gh = h · weight_hh + bias_hh    (weight_hh: H × 3H)
///   r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h
/// which is PyTorch's nn.GRUCell with its weight_ih / weight_hh transposed.

#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_NETWORK_HPP
