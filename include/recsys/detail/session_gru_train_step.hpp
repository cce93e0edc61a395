// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_TRAIN_STEP_HPP
#define RECSYS_DETAIL_SESSION_GRU_TRAIN_STEP_HPP

/// @file
/// Internal: the session GRU's training step (gru_trainer): one mini-batch at a time, forward
/// through the GRU layers (dropout; the dropped-out output becomes the next hidden state, as in
/// GRU4Rec), the output layer and the loss (session_gru_loss.hpp, which defines those members),
/// the hand-written backward pass, and Adagrad-with-momentum / Adam updates
/// (session_gru_optimizers.hpp; row-wise lazy updates for the item tables, as GRU4Rec's
/// IndexedAdagradM).
///
/// The output layer is cut into fixed blocks of item_block distinct candidates, processed in
/// parallel; per-block partial sums are combined in block order, so a step's result does not
/// depend on the thread count.

#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/detail/session_gru_optimizers.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys::detail {

enum class gru_loss { cross_entropy, bpr_max, top1_max };
enum class gru_optimizer { adagrad, adam };

/// Everything a gru_trainer needs besides the network.
struct gru_train_options {
  gru_loss loss = gru_loss::cross_entropy;
  gru_optimizer optimizer = gru_optimizer::adagrad;
  double learning_rate = 0.05;
  double momentum = 0.0;
  double adagrad_epsilon = 1e-6;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double dropout_embed = 0.0;
  double dropout_hidden = 0.0;
  double logq = 0.0;
  double sample_alpha = 0.5;
  double bpreg = 1.0;
  double elu_param = 0.5;
  index_t batch_size = 64;  ///< maximum rows, and the loss normaliser (as GRU4Rec)
  index_t n_sample = 2048;
  std::uint64_t seed = 42;
  int num_threads = 1;
};

/// One GRU4Rec training step at a time on a network it does not own. Rows of the batch keep
/// their hidden state (and, with HRNN, their user state) inside the trainer between steps.
template <class Scalar>
class gru_trainer {
 public:
  using matrix = gru_matrix<Scalar>;
  static constexpr Eigen::Index item_block = 256;

  gru_trainer(gru_network<Scalar>& net, const gru_train_options& opt, std::span<const double> support)
      : net_(&net), opt_(opt), support_(support.begin(), support.end()) {
    const Eigen::Index B = opt.batch_size;
    const Eigen::Index C = B + std::max<index_t>(0, opt.n_sample);
    const Eigen::Index n_items = net.num_items();
    L_ = net.layers.size();
    one_hot_ = net.input == gru_input::one_hot;
    hrnn_ = net.hrnn();
    max_uc_ = std::min(C, n_items);
    max_blocks_ = (max_uc_ + item_block - 1) / item_block;
    const Eigen::Index H = net.last_hidden();
    log_support_.resize(support_.size());
    for (std::size_t i = 0; i < support_.size(); ++i) log_support_[i] = support_[i] > 0 ? std::log(support_[i]) : 0.0;

    hidden.resize(L_);
    cache_.resize(L_);
    for (std::size_t l = 0; l < L_; ++l) {
      const Eigen::Index h = net.layers[l].hidden();
      const Eigen::Index in = l == 0 ? (one_hot_ ? 0 : net.input_width()) : net.layers[l - 1].hidden();
      hidden[l].setZero(B, h);
      auto& c = cache_[l];
      c.x.resize(B, in);
      c.hprev.resize(B, h);
      c.acts.resize(B, 3 * h);
      c.gh.resize(B, 3 * h);
      c.h.resize(B, h);
      c.hd.resize(B, h);
      c.mask.resize(B, h);
      c.dhd.resize(B, h);
      c.dh.resize(B, h);
      c.dhprev.resize(B, h);
    }
    embed_mask_.resize(B, one_hot_ ? 0 : net.input_width());
    dgi_.resize(B, 3 * max_layer_hidden());
    dgh_.resize(B, 3 * max_layer_hidden());
    dx0_.resize(B, one_hot_ ? 0 : net.input_width());

    mark_.assign(static_cast<std::size_t>(n_items), 0);
    slot_.assign(static_cast<std::size_t>(n_items), 0);
    in_mark_.assign(static_cast<std::size_t>(n_items), 0);
    in_slot_.assign(static_cast<std::size_t>(n_items), 0);
    uniq_.resize(static_cast<std::size_t>(max_uc_ + B));
    in_uniq_.resize(static_cast<std::size_t>(B));
    mt_.resize(static_cast<std::size_t>(max_uc_));
    is_input_.assign(static_cast<std::size_t>(max_uc_), 0);
    ms_.resize(static_cast<std::size_t>(max_uc_));
    logw_.resize(max_uc_);
    pos_slot_.resize(static_cast<std::size_t>(B));
    x_slot_.resize(static_cast<std::size_t>(B));
    pos_shift_.resize(B);
    wg_.resize(max_uc_, H);
    bg_.resize(max_uc_);
    ldb_ = (B + 15) / 16 * 16;  // row stride of st_ / p_: 64-byte aligned rows
    st_.resize(max_uc_, ldb_);
    p_.resize(max_uc_, ldb_);
    scratch_.resize(4 * max_blocks_, ldb_);
    g_.resize(max_uc_ + B, H);
    gb_.resize(max_uc_);
    for (auto* s : {&stat_m_, &stat_z_, &stat_a_, &stat_r_, &stat_q_}) s->resize(max_blocks_, ldb_);
    for (auto* r : {&row_m_, &row_z_, &row_a_, &row_r_, &row_q_, &row_loss_, &rpos_}) r->resize(ldb_);
    dhd_parts_.resize(static_cast<std::size_t>(max_blocks_));
    for (auto& m : dhd_parts_) m.resize(B, H);
    if (net.input == gru_input::embedding) in_grad_.resize(B, net.item_embedding.cols());
    if (one_hot_) in_grad_.resize(B, net.layers[0].weight_ih.cols());

    // Gradients of the dense arrays and optimiser states (same shapes as the network's arrays).
    grad_ = dense_like(net);
    state1_ = zeros_like(net);
    state2_ = zeros_like(net);
    dense_w_ = dense_arrays(net);
    dense_g_ = dense_arrays(grad_);
    dense_s1_ = dense_arrays(state1_);
    dense_s2_ = dense_arrays(state2_);

    if (hrnn_) {
      const Eigen::Index U = net.user_hidden();
      // Zeros, not just sizes: rows without a user step enter the backward GEMMs multiplied by
      // zero, and 0 · (uninitialised NaN) would poison the gradient.
      user_state.setZero(B, U);
      u_x_.setZero(B, H);
      u_h_.setZero(B, U);
      u_acts_.setZero(B, 3 * U);
      u_gh_.setZero(B, 3 * U);
      u_has_.assign(static_cast<std::size_t>(B), 0);
      u_dc_.resize(B, U);
      u_da_.resize(B, max_layer_hidden());
      u_dgi_.resize(B, 3 * U);
      u_dgh_.resize(B, 3 * U);
      eval_ws_.reserve(net, 1);
    }
  }

  /// Hidden state of each layer, batch_size × H_l; rows [0, B) are the active rows.
  std::vector<matrix> hidden;
  /// HRNN: the user state c of each row (batch_size × U).
  matrix user_state;

  // -------------------------------------------------------------------------------------------
  // Row bookkeeping (called by the epoch loop through the walker's callbacks)

  /// A row starts a session: zero state, or with HRNN the state from its user GRU.
  /// `same_user`: the previous session of this row belonged to the same user and ended with
  /// `last_item` (its representation updates the user state); otherwise the user state restarts
  /// from `initial_user_state` (zeros when empty).
  void start_row(Eigen::Index row, bool same_user, index_t last_item, std::span<const Scalar> initial_user_state = {}) {
    if (!hrnn_) {
      for (std::size_t l = 0; l < L_; ++l) hidden[l].row(row).setZero();
      return;
    }
    const Eigen::Index U = net_->user_hidden();
    if (same_user) {
      // Session representation: the last event through the session layers (no dropout).
      std::vector<matrix>& h1 = row_hidden_;
      h1.resize(L_);
      for (std::size_t l = 0; l < L_; ++l) h1[l] = hidden[l].row(row);
      const index_t item[1] = {last_item};
      gru_step_eval<Scalar>(*net_, std::span<const index_t>(item, 1), h1, eval_ws_);
      u_x_.row(row) = h1[L_ - 1].row(0);
      u_h_.row(row) = user_state.row(row);
      // User GRU step: c' = GRU_user(s, c).
      const auto& w = net_->user_gru;
      auto gi = u_acts_.row(row);
      auto gh = u_gh_.row(row);
      gi.noalias() = u_x_.row(row) * w.weight_ih;
      gi += w.bias_ih;
      gh.noalias() = u_h_.row(row) * w.weight_hh;
      gh += w.bias_hh;
      gru_gates_forward<Scalar>(u_acts_.middleRows(row, 1), u_gh_.middleRows(row, 1), u_h_.middleRows(row, 1),
                                user_state.middleRows(row, 1));
      u_has_[static_cast<std::size_t>(row)] = 1;
    } else {
      if (initial_user_state.empty())
        user_state.row(row).setZero();
      else
        user_state.row(row) = Eigen::Map<const gru_row<Scalar>>(initial_user_state.data(), U);
      u_has_[static_cast<std::size_t>(row)] = 0;
    }
    for (std::size_t l = 0; l < L_; ++l) {
      auto h = hidden[l].row(row);
      h.noalias() = user_state.row(row) * net_->user_init_weights[l];
      h += net_->user_init_bias[l];
      h = h.array().tanh().matrix();
    }
  }

  /// Keeps rows keep[0..n) (old indices, increasing) as rows 0..n.
  void compact_rows(std::span<const Eigen::Index> keep) {
    auto move_rows = [&](matrix& m) {
      for (std::size_t i = 0; i < keep.size(); ++i)
        if (keep[i] != static_cast<Eigen::Index>(i)) m.row(static_cast<Eigen::Index>(i)) = m.row(keep[i]);
    };
    for (auto& h : hidden) move_rows(h);
    if (hrnn_) {
      for (matrix* m : {&user_state, &u_x_, &u_h_, &u_acts_, &u_gh_}) move_rows(*m);
      for (std::size_t i = 0; i < keep.size(); ++i) u_has_[i] = u_has_[static_cast<std::size_t>(keep[i])];
    }
  }

  // -------------------------------------------------------------------------------------------
  // The step

  /// Forward and backward pass of one mini-batch: rows [0, B) with B = inputs.size() take
  /// input item inputs[b] and target targets[b]; `samples` are the shared negatives; `first[b]`
  /// says row b is at the first event of its session (only used with HRNN). Dropout masks come
  /// from the stream of mini-batch `step`. The hidden state rows advance. Returns the loss
  /// (sum over rows / batch_size).
  ///
  /// With fuse_update = false the network is not modified and the gradients wait for
  /// apply_update(); with true, the output rows that are not input rows of this step are updated
  /// during the backward pass (while they are in cache) and apply_update() does the rest; the
  /// result is the same.
  double forward_backward(std::span<const index_t> inputs, std::span<const index_t> targets,
                          std::span<const index_t> samples, std::span<const std::uint8_t> first, std::int64_t step,
                          bool fuse_update = false) {
    B_ = static_cast<Eigen::Index>(inputs.size());
    RECSYS_ASSERT(B_ > 0 && B_ <= opt_.batch_size && targets.size() == inputs.size());
    inv_bs_ = Scalar(1) / static_cast<Scalar>(opt_.batch_size);
    if (opt_.loss != gru_loss::cross_entropy && B_ + static_cast<Eigen::Index>(samples.size()) < 2)
      throw_invalid_argument("session_gru::fit", "BPR-max / TOP1-max need a negative for every row "
                             "(n_sample > 0 or more than one row)");
    fused_ = fuse_update;
    if (fused_) ++t_;
    build_candidates(inputs, targets, samples);
    make_masks(step);
    forward_layers(inputs);
    const double loss = output_layer();
    backward_layers(inputs, first);
    return loss;
  }

  /// Applies the gradients of the last forward_backward() with the configured optimiser.
  void apply_update() {
    if (fused_) {
      // What is left is small (this step's input rows, the dense GRU weights): one thread.
      for (Eigen::Index u : input_slots_) update_output_row(u);
      for (Eigen::Index u = uc_; u < U_; ++u) update_output_row(u);  // input-only rows
      update_input_rows();
      update_dense();
      fused_ = false;
      return;
    }
    ++t_;
    const Eigen::Index n_out_blocks = (U_ + item_block - 1) / item_block;
    parallel_for(0, n_out_blocks + 2, parallel_options{opt_.num_threads, 1, 2}, [&](std::int64_t task) {
      if (task < n_out_blocks)
        update_output_rows(task * item_block, std::min<Eigen::Index>(U_, (task + 1) * item_block), false);
      else if (task == n_out_blocks)
        update_input_rows();
      else
        update_dense();
    });
  }

  /// Threads for the parallel phases from now on (results do not depend on it).
  void set_threads(int n) noexcept { opt_.num_threads = n; }

  /// The gradient of the last forward_backward() as a full network (tests and diagnostics).
  [[nodiscard]] gru_network<Scalar> gradient() const {
    gru_network<Scalar> g = zeros_like(*net_);
    auto dst = dense_arrays(g);
    auto src = dense_arrays_const(grad_);
    for (std::size_t i = 0; i < dst.size(); ++i) std::copy(src[i].begin(), src[i].end(), dst[i].begin());
    for (Eigen::Index u = 0; u < U_; ++u) {
      const index_t item = uniq_[static_cast<std::size_t>(u)];
      g.output_weights.row(item) += g_.row(u);
      if (u < uc_) g.output_bias(item) += gb_(u);
    }
    if (net_->input == gru_input::embedding)
      for (Eigen::Index u = 0; u < n_in_; ++u) g.item_embedding.row(in_uniq_[static_cast<std::size_t>(u)]) += in_grad_.row(u);
    if (one_hot_)
      for (Eigen::Index u = 0; u < n_in_; ++u) g.layers[0].weight_ih.row(in_uniq_[static_cast<std::size_t>(u)]) += in_grad_.row(u);
    return g;
  }

  /// Dropout masks used by the last step (inverted dropout: 0 or 1/keep), for the tests.
  [[nodiscard]] const matrix& embed_mask() const noexcept { return embed_mask_; }
  [[nodiscard]] const matrix& layer_mask(std::size_t l) const noexcept { return cache_[l].mask; }
  [[nodiscard]] bool embed_dropout() const noexcept { return use_embed_mask_; }
  [[nodiscard]] bool layer_dropout(std::size_t l) const noexcept { return use_layer_mask_[l] != 0; }
  /// Distinct candidates of the last step (targets then negatives, in first-seen order).
  [[nodiscard]] Eigen::Index distinct_candidates() const noexcept { return uc_; }

 private:
  struct layer_cache {
    matrix x;       // input of the layer (B × in); layer 0: the (dropped-out) embedding
    matrix hprev;   // state before the step
    matrix acts;    // [r | z | n]
    matrix gh;      // hidden-side pre-activations
    matrix h;       // new state before dropout
    matrix hd;      // new state after dropout (the stored state, and the next layer's input)
    matrix mask;    // dropout multipliers
    matrix dhd, dh, dhprev;
  };

  [[nodiscard]] Eigen::Index max_layer_hidden() const {
    Eigen::Index m = 0;
    for (const auto& l : net_->layers) m = std::max(m, l.hidden());
    return m;
  }

  // --- parallel arrays of the network (same order for every instance) ---
  static std::vector<std::span<Scalar>> dense_arrays(gru_network<Scalar>& n) {
    std::vector<std::span<Scalar>> out;
    auto add = [&](auto& m) {
      if (m.size() > 0) out.emplace_back(m.data(), static_cast<std::size_t>(m.size()));
    };
    for (std::size_t l = 0; l < n.layers.size(); ++l) {
      if (!(l == 0 && n.input == gru_input::one_hot)) add(n.layers[l].weight_ih);
      add(n.layers[l].weight_hh);
      add(n.layers[l].bias_ih);
      add(n.layers[l].bias_hh);
    }
    add(n.user_gru.weight_ih);
    add(n.user_gru.weight_hh);
    add(n.user_gru.bias_ih);
    add(n.user_gru.bias_hh);
    for (auto& w : n.user_init_weights) add(w);
    for (auto& b : n.user_init_bias) add(b);
    return out;
  }
  static std::vector<std::span<const Scalar>> dense_arrays_const(const gru_network<Scalar>& n) {
    auto v = dense_arrays(const_cast<gru_network<Scalar>&>(n));
    return {v.begin(), v.end()};
  }
  static gru_network<Scalar> zeros_like(const gru_network<Scalar>& n) {
    gru_network<Scalar> z = n;
    auto zero = [](auto& m) { m.setZero(); };
    for (auto& l : z.layers) {
      zero(l.weight_ih);
      zero(l.weight_hh);
      zero(l.bias_ih);
      zero(l.bias_hh);
    }
    zero(z.item_embedding);
    zero(z.output_weights);
    zero(z.output_bias);
    zero(z.user_gru.weight_ih);
    zero(z.user_gru.weight_hh);
    zero(z.user_gru.bias_ih);
    zero(z.user_gru.bias_hh);
    for (auto& w : z.user_init_weights) zero(w);
    for (auto& b : z.user_init_bias) zero(b);
    return z;
  }
  /// Like zeros_like but without the item tables (dense gradients only).
  static gru_network<Scalar> dense_like(const gru_network<Scalar>& n) {
    gru_network<Scalar> z;
    z.input = n.input;
    for (std::size_t l = 0; l < n.layers.size(); ++l) {
      gru_layer_weights<Scalar> w;
      if (!(l == 0 && n.input == gru_input::one_hot)) w.weight_ih.setZero(n.layers[l].weight_ih.rows(), n.layers[l].weight_ih.cols());
      w.weight_hh.setZero(n.layers[l].weight_hh.rows(), n.layers[l].weight_hh.cols());
      w.bias_ih.setZero(n.layers[l].bias_ih.size());
      w.bias_hh.setZero(n.layers[l].bias_hh.size());
      z.layers.push_back(std::move(w));
    }
    if (n.hrnn()) {
      z.user_gru.weight_ih.setZero(n.user_gru.weight_ih.rows(), n.user_gru.weight_ih.cols());
      z.user_gru.weight_hh.setZero(n.user_gru.weight_hh.rows(), n.user_gru.weight_hh.cols());
      z.user_gru.bias_ih.setZero(n.user_gru.bias_ih.size());
      z.user_gru.bias_hh.setZero(n.user_gru.bias_hh.size());
      for (const auto& w : n.user_init_weights) z.user_init_weights.push_back(matrix::Zero(w.rows(), w.cols()));
      for (const auto& b : n.user_init_bias) z.user_init_bias.push_back(gru_row<Scalar>::Zero(b.size()));
    }
    return z;
  }

  // --- candidates (session_gru_loss.hpp) ---
  void next_generation();
  Eigen::Index slot_of(index_t item);
  void build_candidates(std::span<const index_t> inputs, std::span<const index_t> targets,
                        std::span<const index_t> samples);

  // --- dropout ---
  void make_masks(std::int64_t step) {
    rng r(opt_.seed, stream_tag("session_gru.dropout"), static_cast<std::uint64_t>(step));
    auto fill = [&](matrix& m, Eigen::Index cols, double p) {
      const double keep = 1.0 - p;
      const auto scale = static_cast<Scalar>(1.0 / keep);
      for (Eigen::Index b = 0; b < B_; ++b)
        for (Eigen::Index j = 0; j < cols; ++j) m(b, j) = r.uniform_double() < keep ? scale : Scalar(0);
    };
    use_embed_mask_ = !one_hot_ && opt_.dropout_embed > 0;
    if (use_embed_mask_) fill(embed_mask_, embed_mask_.cols(), opt_.dropout_embed);
    use_layer_mask_.assign(L_, 0);
    for (std::size_t l = 0; l < L_; ++l) {
      // GRU4Rec: with one-hot input the first layer plays the embedding and uses dropout_embed.
      const double p = (l == 0 && one_hot_) ? opt_.dropout_embed : opt_.dropout_hidden;
      if (p > 0) {
        use_layer_mask_[l] = 1;
        fill(cache_[l].mask, net_->layers[l].hidden(), p);
      }
    }
  }

  // --- forward ---
  void forward_layers(std::span<const index_t> inputs) {
    for (std::size_t l = 0; l < L_; ++l) {
      const auto& w = net_->layers[l];
      auto& c = cache_[l];
      const Eigen::Index H = w.hidden();
      c.hprev.topRows(B_) = hidden[l].topRows(B_);
      auto gi = c.acts.topRows(B_);
      auto gh = c.gh.topRows(B_);
      if (l == 0 && one_hot_) {
        for (Eigen::Index b = 0; b < B_; ++b) gi.row(b) = w.weight_ih.row(inputs[static_cast<std::size_t>(b)]) + w.bias_ih;
      } else {
        if (l == 0) {
          gru_embed_items<Scalar>(*net_, inputs, c.x.topRows(B_));
          if (use_embed_mask_) c.x.topRows(B_).array() *= embed_mask_.topRows(B_).array();
        } else {
          c.x.topRows(B_) = cache_[l - 1].hd.topRows(B_);
        }
        gi.noalias() = c.x.topRows(B_) * w.weight_ih;
        gi.rowwise() += w.bias_ih;
      }
      gh.noalias() = c.hprev.topRows(B_) * w.weight_hh;
      gh.rowwise() += w.bias_hh;
      gru_gates_forward<Scalar>(gi, gh, c.hprev.topRows(B_), c.h.topRows(B_));
      if (use_layer_mask_[l])
        c.hd.topRows(B_) = (c.h.topRows(B_).array() * c.mask.topRows(B_).array()).matrix();
      else
        c.hd.topRows(B_) = c.h.topRows(B_);
      (void)H;
    }
    for (std::size_t l = 0; l < L_; ++l) hidden[l].topRows(B_) = cache_[l].hd.topRows(B_);
  }

  // --- output layer: scores, loss, and its backward to hd of the last layer ---
  //
  // Layout: st_ / p_ hold one row per distinct candidate u and one column per batch row b
  // (row-major with a 64-byte aligned row stride ldb_, so a candidate's B values are contiguous
  // and every per-candidate operation below is a short vectorised row operation).
  using smap = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
  smap st_block(Eigen::Index u0, Eigen::Index n) { return smap(st_.data() + u0 * ldb_, n, B_, Eigen::OuterStride<>(ldb_)); }
  smap p_block(Eigen::Index u0, Eigen::Index n) { return smap(p_.data() + u0 * ldb_, n, B_, Eigen::OuterStride<>(ldb_)); }
  // Scratch row j (of 4) of block k, B values.
  auto scratch(Eigen::Index k, Eigen::Index j) { return scratch_.row(k * 4 + j).head(B_).array(); }
  double output_layer();  // session_gru_loss.hpp

  // --- backward through the layers ---
  void backward_layers(std::span<const index_t> /*inputs*/, std::span<const std::uint8_t> first) {
    bool any_first = false;
    if (hrnn_)
      for (Eigen::Index b = 0; b < B_; ++b) any_first = any_first || first[static_cast<std::size_t>(b)] != 0;
    for (std::size_t li = L_; li-- > 0;) {
      const auto& w = net_->layers[li];
      auto& c = cache_[li];
      auto& g = grad_.layers[li];
      const Eigen::Index H = w.hidden();
      auto dh = c.dh.topRows(B_);
      if (use_layer_mask_[li])
        dh = (c.dhd.topRows(B_).array() * c.mask.topRows(B_).array()).matrix();
      else
        dh = c.dhd.topRows(B_);
      auto dgi = dgi_.topLeftCorner(B_, 3 * H);
      auto dgh = dgh_.topLeftCorner(B_, 3 * H);
      gru_gates_backward<Scalar>(c.acts.topRows(B_), c.gh.topRows(B_), c.hprev.topRows(B_), dh, dgi, dgh);
      g.bias_ih = dgi.colwise().sum();
      g.bias_hh = dgh.colwise().sum();
      g.weight_hh.noalias() = c.hprev.topRows(B_).transpose() * dgh;
      if (li == 0 && one_hot_) {
        in_grad_.topRows(n_in_).setZero();
        for (Eigen::Index b = 0; b < B_; ++b) in_grad_.row(x_slot_[static_cast<std::size_t>(b)]) += dgi.row(b);
      } else {
        g.weight_ih.noalias() = c.x.topRows(B_).transpose() * dgi;
        if (li > 0) {
          cache_[li - 1].dhd.topRows(B_).noalias() = dgi * w.weight_ih.transpose();
        } else {
          auto dx = dx0_.topRows(B_);
          dx.noalias() = dgi * w.weight_ih.transpose();
          if (use_embed_mask_) dx.array() *= embed_mask_.topRows(B_).array();
          if (net_->input == gru_input::constrained) {
            g_.middleRows(uc_, U_ - uc_).setZero();
            for (Eigen::Index b = 0; b < B_; ++b) g_.row(x_slot_[static_cast<std::size_t>(b)]) += dx.row(b);
          } else {
            in_grad_.topRows(n_in_).setZero();
            for (Eigen::Index b = 0; b < B_; ++b) in_grad_.row(x_slot_[static_cast<std::size_t>(b)]) += dx.row(b);
          }
        }
      }
      if (any_first) {
        auto dhp = c.dhprev.topRows(B_);
        dhp.noalias() = dgh * w.weight_hh.transpose();
        dhp += (dh.array() * c.acts.topRows(B_).middleCols(H, H).array()).matrix();
      }
    }
    if (hrnn_) backward_user(first, any_first);
  }

  /// HRNN: rows at the first event of a session started from h0 = tanh(c·W_init + b_init) with
  /// c = GRU_user(s, c_old); the gradient reaching h0 trains W_init, b_init and the user GRU
  /// (one step, s and c_old held constant, as the session GRU's own truncation).
  void backward_user(std::span<const std::uint8_t> first, bool any_first) {
    auto& g = grad_;
    for (auto& w : g.user_init_weights) w.setZero();
    for (auto& b : g.user_init_bias) b.setZero();
    g.user_gru.weight_ih.setZero();
    g.user_gru.weight_hh.setZero();
    g.user_gru.bias_ih.setZero();
    g.user_gru.bias_hh.setZero();
    if (!any_first) return;
    const Eigen::Index U = net_->user_hidden();
    auto dc = u_dc_.topRows(B_);
    dc.setZero();
    for (std::size_t l = 0; l < L_; ++l) {
      const Eigen::Index H = net_->layers[l].hidden();
      auto da = u_da_.topLeftCorner(B_, H);
      const auto& c = cache_[l];
      for (Eigen::Index b = 0; b < B_; ++b) {
        if (first[static_cast<std::size_t>(b)])
          da.row(b) = (c.dhprev.row(b).array() * (Scalar(1) - c.hprev.row(b).array().square())).matrix();
        else
          da.row(b).setZero();
      }
      g.user_init_weights[l].noalias() = user_state.topRows(B_).transpose() * da;
      g.user_init_bias[l] = da.colwise().sum();
      dc.noalias() += da * net_->user_init_weights[l].transpose();
    }
    bool any_user_step = false;
    for (Eigen::Index b = 0; b < B_; ++b) {
      if (!(first[static_cast<std::size_t>(b)] && u_has_[static_cast<std::size_t>(b)])) dc.row(b).setZero();
      else any_user_step = true;
    }
    if (!any_user_step) return;
    auto dgi = u_dgi_.topRows(B_);
    auto dgh = u_dgh_.topRows(B_);
    gru_gates_backward<Scalar>(u_acts_.topRows(B_), u_gh_.topRows(B_), u_h_.topRows(B_), dc, dgi, dgh);
    g.user_gru.weight_ih.noalias() = u_x_.topRows(B_).transpose() * dgi;
    g.user_gru.weight_hh.noalias() = u_h_.topRows(B_).transpose() * dgh;
    g.user_gru.bias_ih = dgi.colwise().sum();
    g.user_gru.bias_hh = dgh.colwise().sum();
    (void)U;
  }

  // --- updates ---
  void row_update(Scalar* w, Scalar* s1, Scalar* s2, const Scalar* g, Eigen::Index n) const {
    if (opt_.optimizer == gru_optimizer::adagrad) {
      adagrad_update<Scalar>(w, s1, s2, g, n, static_cast<Scalar>(opt_.learning_rate), static_cast<Scalar>(opt_.momentum),
                             static_cast<Scalar>(opt_.adagrad_epsilon));
    } else {
      const double t = static_cast<double>(t_);
      const double lr_t = opt_.learning_rate / (1.0 - std::pow(opt_.adam_beta1, t));
      const double v_scale = 1.0 / std::sqrt(1.0 - std::pow(opt_.adam_beta2, t));
      adam_update<Scalar>(w, s1, s2, g, n, static_cast<Scalar>(lr_t), static_cast<Scalar>(opt_.adam_beta1),
                          static_cast<Scalar>(opt_.adam_beta2), static_cast<Scalar>(v_scale),
                          static_cast<Scalar>(opt_.adam_epsilon));
    }
  }

  void update_output_row(Eigen::Index u) {
    const index_t item = uniq_[static_cast<std::size_t>(u)];
    const Eigen::Index H = net_->output_weights.cols();
    row_update(net_->output_weights.row(item).data(), state1_.output_weights.row(item).data(),
               state2_.output_weights.row(item).data(), g_.row(u).data(), H);
    if (u < uc_)
      row_update(&net_->output_bias(item), &state1_.output_bias(item), &state2_.output_bias(item), &gb_(u), 1);
  }

  // Rows [u0, u1) of the distinct items (skipping this step's input rows when asked: their
  // gradient is complete only after the backward pass through the GRU).
  void update_output_rows(Eigen::Index u0, Eigen::Index u1, bool skip_inputs) {
    constexpr Eigen::Index ahead = 3;
    for (Eigen::Index u = u0; u < u1; ++u) {
#if defined(__GNUC__) || defined(__clang__)
      if (u + ahead < u1) {  // the rows are scattered: fetch a few rows ahead
        const index_t next = uniq_[static_cast<std::size_t>(u + ahead)];
        const Eigen::Index H = net_->output_weights.cols();
        const Scalar* ptrs[3] = {net_->output_weights.row(next).data(), state1_.output_weights.row(next).data(),
                                 state2_.output_weights.row(next).data()};
        for (const Scalar* q : ptrs)
          for (Eigen::Index j = 0; j < H; j += static_cast<Eigen::Index>(64 / sizeof(Scalar))) __builtin_prefetch(q + j, 1);
      }
#endif
      if (skip_inputs && is_input_[static_cast<std::size_t>(u)]) continue;
      update_output_row(u);
    }
  }

  void update_input_rows() {
    matrix* table = nullptr;
    matrix *s1 = nullptr, *s2 = nullptr;
    if (net_->input == gru_input::embedding) {
      table = &net_->item_embedding;
      s1 = &state1_.item_embedding;
      s2 = &state2_.item_embedding;
    } else if (one_hot_) {
      table = &net_->layers[0].weight_ih;
      s1 = &state1_.layers[0].weight_ih;
      s2 = &state2_.layers[0].weight_ih;
    } else {
      return;
    }
    for (Eigen::Index u = 0; u < n_in_; ++u) {
      const index_t item = in_uniq_[static_cast<std::size_t>(u)];
      row_update(table->row(item).data(), s1->row(item).data(), s2->row(item).data(), in_grad_.row(u).data(),
                 table->cols());
    }
  }

  void update_dense() {
    for (std::size_t i = 0; i < dense_w_.size(); ++i)
      row_update(dense_w_[i].data(), dense_s1_[i].data(), dense_s2_[i].data(), dense_g_[i].data(),
                 static_cast<Eigen::Index>(dense_w_[i].size()));
  }

  gru_network<Scalar>* net_;
  gru_train_options opt_;
  std::vector<double> support_, log_support_;
  std::size_t L_ = 0;
  bool one_hot_ = false, hrnn_ = false;
  Eigen::Index max_uc_ = 0, max_blocks_ = 0;
  Eigen::Index B_ = 0, U_ = 0, uc_ = 0, n_in_ = 0;
  Scalar inv_bs_ = 1;
  std::int64_t t_ = 0;

  std::vector<layer_cache> cache_;
  matrix embed_mask_;
  bool use_embed_mask_ = false;
  std::vector<std::uint8_t> use_layer_mask_;
  matrix dgi_, dgh_, dx0_;

  std::uint32_t gen_ = 0;
  std::vector<std::uint32_t> mark_, in_mark_;
  std::vector<std::int32_t> slot_, in_slot_;
  std::vector<index_t> uniq_, in_uniq_;
  std::vector<std::int32_t> mt_, ms_;
  gru_col<Scalar> logw_;
  std::vector<Eigen::Index> pos_slot_, x_slot_;
  gru_row<Scalar> pos_shift_;
  matrix wg_;
  gru_col<Scalar> bg_;
  Eigen::Index ldb_ = 0;
  matrix st_, p_, scratch_;
  matrix g_;
  gru_col<Scalar> gb_;
  matrix stat_m_, stat_z_, stat_a_, stat_r_, stat_q_;
  gru_row<Scalar> row_m_, row_z_, row_a_, row_r_, row_q_, row_loss_, rpos_;
  std::vector<matrix> dhd_parts_;
  matrix in_grad_;

  gru_network<Scalar> grad_, state1_, state2_;
  std::vector<std::span<Scalar>> dense_w_, dense_g_, dense_s1_, dense_s2_;
  bool fused_ = false;
  std::vector<std::uint8_t> is_input_;
  std::vector<Eigen::Index> input_slots_;

  // HRNN per-row caches
  matrix u_x_, u_h_, u_acts_, u_gh_, u_dc_, u_da_, u_dgi_, u_dgh_;
  std::vector<std::uint8_t> u_has_;
  std::vector<matrix> row_hidden_;
  gru_eval_workspace<Scalar> eval_ws_;
};

}  // namespace recsys::detail

// The members of the output layer (candidates, scores, losses and their gradient).
#include <recsys/detail/session_gru_loss.hpp>

#endif  // RECSYS_DETAIL_SESSION_GRU_TRAIN_STEP_HPP
