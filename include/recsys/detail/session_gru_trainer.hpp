// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP
#define RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP

/// @file
/// Internal: GRU4Rec-style training of the session GRU.
///
/// - gru_row_walker: session-parallel mini-batches. Each batch row walks a "group" of sessions
///   (one session, or with HRNN all sessions of one user in time order); when a row's session
///   ends the next session (or group) takes the row. Rows without work are dropped at the end.
/// - gru_negative_sampler: n_sample shared negatives per mini-batch, drawn with probability
///   ∝ support^sample_alpha (alias method), precomputed in buffers of many mini-batches, one
///   random stream per mini-batch (thread-count independent).
/// - gru_trainer: one mini-batch step: forward through the GRU layers (dropout, the dropped-out
///   output becomes the next hidden state, as in GRU4Rec), scores of the candidate items
///   (targets of the batch + the negatives) by GEMM, the loss (cross-entropy with logQ, BPR-max,
///   TOP1-max), the hand-written backward pass, and Adagrad-with-momentum / Adam updates
///   (row-wise lazy updates for the item tables, as GRU4Rec's IndexedAdagradM).
///
/// Candidate items repeat within a mini-batch (popular items are drawn many times). The step
/// works on the distinct candidates: a softmax over the C = B + n_sample sampled columns equals
/// a softmax over the distinct items where item u carries the log-weight
/// log(m_t·e^{-shift_t} + m_s·e^{-shift_s}) (m_t, m_s: how often u appears among the targets and
/// the negatives; shift: the logQ correction); BPR-max and TOP1-max weight the negatives by
/// their multiplicity likewise, minus the masked positive column. This is exact (the tests check
/// the gradient against a naive C-column implementation) and shrinks every GEMM of the output
/// layer to the distinct candidates.
///
/// The output layer is cut into fixed blocks of item_block distinct candidates, processed in
/// parallel; per-block partial sums are combined in block order, so a step's result does not
/// depend on the thread count.

#include <recsys/data/sessions.hpp>
#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
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

// ---------------------------------------------------------------------------------------------
// Session-parallel mini-batches

/// Walks groups of sessions with a fixed number of batch rows (see the file comment).
///
/// The walker reports to a handler with three members:
///   - start(row, group, same_group, previous_last_item): the row enters a session of `group`.
///     same_group: the row's previous session belonged to the same group and ended with
///     previous_last_item.
///   - group_end(row, group, last_item): the row finished every session of `group`.
///   - compact(keep): rows keep[0..n) (old indices, increasing) survive as rows 0..n.
class gru_row_walker {
 public:
  /// groups: CSR over session indices (group g = sessions[offsets[g] .. offsets[g+1])). Sessions
  /// with one event produce no (input, target) pair but are still started (HRNN counts them);
  /// empty sessions are skipped.
  gru_row_walker(const session_data& data, std::vector<std::int64_t> group_offsets,
                 std::vector<index_t> group_sessions, index_t rows)
      : data_(&data), goff_(std::move(group_offsets)), gses_(std::move(group_sessions)), max_rows_(rows) {}

  /// Number of (input, target) pairs over all groups.
  [[nodiscard]] std::int64_t pairs() const noexcept {
    std::int64_t n = 0;
    for (index_t s : gses_)
      n += std::max<std::int64_t>(0, static_cast<std::int64_t>(data_->length(static_cast<std::size_t>(s))) - 1);
    return n;
  }
  [[nodiscard]] std::size_t groups() const noexcept { return goff_.size() - 1; }
  [[nodiscard]] const std::vector<std::int64_t>& group_offsets() const noexcept { return goff_; }
  [[nodiscard]] const std::vector<index_t>& group_sessions() const noexcept { return gses_; }

  /// Starts a pass over groups [g_begin, g_end) (default: all): rows take the first groups.
  template <class Handler>
  void begin(Handler& h, std::size_t g_begin = 0, std::size_t g_end = static_cast<std::size_t>(-1)) {
    rows_.clear();
    next_group_ = static_cast<std::int64_t>(g_begin);
    end_group_ = static_cast<std::int64_t>(std::min(g_end, groups()));
    for (index_t r = 0; r < max_rows_; ++r) {
      row_state st;
      if (!take_group(st, static_cast<Eigen::Index>(rows_.size()), h)) break;
      rows_.push_back(st);
    }
  }

  [[nodiscard]] Eigen::Index rows() const noexcept { return static_cast<Eigen::Index>(rows_.size()); }

  /// The current (input, target) pair of every row, and whether it is the first of its session.
  void fill(std::vector<index_t>& inputs, std::vector<index_t>& targets, std::vector<std::uint8_t>& first) const {
    const std::size_t B = rows_.size();
    inputs.resize(B);
    targets.resize(B);
    first.resize(B);
    for (std::size_t r = 0; r < B; ++r) {
      inputs[r] = data_->items[static_cast<std::size_t>(rows_[r].pos)];
      targets[r] = data_->items[static_cast<std::size_t>(rows_[r].pos + 1)];
      first[r] = rows_[r].pos == rows_[r].start ? 1 : 0;
    }
  }

  /// The session index (into the data) and the position in it of every row's current input.
  void positions(std::vector<std::size_t>& sessions, std::vector<std::size_t>& pos) const {
    sessions.resize(rows_.size());
    pos.resize(rows_.size());
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      sessions[r] = static_cast<std::size_t>(gses_[static_cast<std::size_t>(rows_[r].cursor)]);
      pos[r] = static_cast<std::size_t>(rows_[r].pos - rows_[r].start);
    }
  }

  /// Moves every row one event on; rows whose session ended take the next session of their group
  /// or the next group; rows with nothing left are removed (handler.compact).
  template <class Handler>
  void advance(Handler& h) {
    bool dropped = false;
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      row_state& st = rows_[r];
      ++st.pos;
      if (st.pos + 1 < st.end) continue;
      const auto row = static_cast<Eigen::Index>(r);
      st.last_item = data_->items[static_cast<std::size_t>(st.pos)];
      if (st.cursor + 1 < goff_[static_cast<std::size_t>(st.group) + 1]) {
        ++st.cursor;
        if (enter(st, row, true, st.last_item, h)) continue;
      }
      h.group_end(row, st.group, st.last_item);
      if (!take_group(st, row, h)) {
        st.group = -1;
        dropped = true;
      }
    }
    if (dropped) {
      std::vector<Eigen::Index> keep;
      for (std::size_t r = 0; r < rows_.size(); ++r)
        if (rows_[r].group >= 0) keep.push_back(static_cast<Eigen::Index>(r));
      h.compact(std::span<const Eigen::Index>(keep));
      std::vector<row_state> kept;
      kept.reserve(keep.size());
      for (Eigen::Index r : keep) kept.push_back(rows_[static_cast<std::size_t>(r)]);
      rows_ = std::move(kept);
    }
  }

 private:
  struct row_state {
    std::int64_t group = -1;                   // current group
    std::int64_t cursor = 0;                   // index into gses_ of the current session
    std::int64_t start = 0, pos = 0, end = 0;  // event offsets of the session; pos = current input
    index_t last_item = invalid_index;         // last event of the last finished session
  };

  // Enters the session at st.cursor; sessions with one event are started and finished at once,
  // empty ones skipped. False when the group ends before a session with a pair.
  template <class Handler>
  bool enter(row_state& st, Eigen::Index row, bool same_group, index_t prev_last, Handler& h) {
    const std::int64_t group_end = goff_[static_cast<std::size_t>(st.group) + 1];
    for (; st.cursor < group_end; ++st.cursor) {
      const auto s = static_cast<std::size_t>(gses_[static_cast<std::size_t>(st.cursor)]);
      const std::int64_t b = data_->offsets[s], e = data_->offsets[s + 1];
      if (e == b) continue;
      h.start(row, st.group, same_group, prev_last);
      st.start = st.pos = b;
      st.end = e;
      if (e - b >= 2) return true;
      prev_last = st.last_item = data_->items[static_cast<std::size_t>(b)];
      same_group = true;
    }
    return false;
  }

  template <class Handler>
  bool take_group(row_state& st, Eigen::Index row, Handler& h) {
    while (next_group_ < end_group_) {
      st.group = next_group_++;
      st.cursor = goff_[static_cast<std::size_t>(st.group)];
      st.last_item = invalid_index;
      if (enter(st, row, false, invalid_index, h)) return true;
      if (st.last_item != invalid_index) h.group_end(row, st.group, st.last_item);
    }
    return false;
  }

  const session_data* data_;
  std::vector<std::int64_t> goff_;
  std::vector<index_t> gses_;
  index_t max_rows_;
  std::vector<row_state> rows_;
  std::int64_t next_group_ = 0, end_group_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Negative samples

/// n_sample negatives per mini-batch ∝ support^alpha; mini-batch t draws from its own stream
/// (seed, "session_gru.negatives", t), and buffers of `buffer_steps` mini-batches are filled in
/// parallel.
class gru_negative_sampler {
 public:
  gru_negative_sampler() = default;
  gru_negative_sampler(std::span<const double> support, double alpha, index_t n_sample, std::uint64_t seed,
                       int num_threads, std::int64_t buffer_steps = 64)
      : n_sample_(n_sample), seed_(seed), threads_(num_threads), buffer_steps_(buffer_steps) {
    if (n_sample_ <= 0) return;
    std::vector<double> w(support.size());
    for (std::size_t i = 0; i < support.size(); ++i) w[i] = support[i] > 0 ? std::pow(support[i], alpha) : 0.0;
    table_ = alias_table(w);
    buffer_.resize(static_cast<std::size_t>(n_sample_ * buffer_steps_));
  }

  /// The negatives of mini-batch `step` (steps are requested in increasing order).
  std::span<const index_t> samples(std::int64_t step) {
    if (n_sample_ <= 0) return {};
    if (step < first_ || step >= first_ + buffer_steps_) refill(step);
    return {buffer_.data() + (step - first_) * n_sample_, static_cast<std::size_t>(n_sample_)};
  }

  /// Threads for later refills (the draws do not depend on it).
  void set_threads(int n) noexcept { threads_ = n; }

  /// The draws of one mini-batch, computed directly (what samples(step) returns).
  void draw(std::int64_t step, index_t* out) const {
    rng r(seed_, stream_tag("session_gru.negatives"), static_cast<std::uint64_t>(step));
    for (index_t j = 0; j < n_sample_; ++j) out[j] = static_cast<index_t>(table_(r));
  }

 private:
  void refill(std::int64_t step) {
    first_ = step;
    parallel_for(0, buffer_steps_, parallel_options{threads_, 1, 2},
                 [&](std::int64_t t) { draw(first_ + t, buffer_.data() + t * n_sample_); });
  }

  alias_table table_;
  index_t n_sample_ = 0;
  std::uint64_t seed_ = 0;
  int threads_ = 1;
  std::int64_t buffer_steps_ = 64;
  std::int64_t first_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::vector<index_t> buffer_;
};

// ---------------------------------------------------------------------------------------------
// Thread count per mini-batch

/// Chooses, per mini-batch, between the configured thread count and one thread. A training step
/// is short (about a millisecond) and synchronises its threads a few times; on a machine whose
/// cores are busy with other work those synchronisations can cost far more than the parallel
/// blocks save. Periodically the tuner times `probe` mini-batches on one thread, then up to
/// `probe` on all threads (stopping as soon as they have taken longer than the single-thread
/// ones), and keeps the faster; when one thread wins, the next probe comes twice as late (up
/// to max_period mini-batches). Results never depend on the choice: every parallel phase works
/// on fixed blocks combined in a fixed order.
class gru_thread_tuner {
 public:
  explicit gru_thread_tuner(int max_threads, std::int64_t probe = 8, std::int64_t period = 256,
                            std::int64_t max_period = 8192)
      : max_(max_threads), probe_(probe), period_(period), max_period_(max_period), chosen_(max_threads) {}

  /// Threads for the next mini-batch.
  [[nodiscard]] int next() const noexcept {
    if (max_ <= 1) return 1;
    if (pos_ < probe_) return 1;
    if (pos_ < 2 * probe_) return max_;
    return chosen_;
  }
  /// Records the wall time of the mini-batch that ran with next()'s choice.
  void record(double seconds) noexcept {
    if (max_ <= 1) return;
    if (pos_ < probe_) {
      single_ += seconds;
    } else if (pos_ < 2 * probe_) {
      multi_ += seconds;
      const std::int64_t done = pos_ - probe_ + 1;
      if (multi_ > single_ || done == probe_) {  // decided
        const bool multi_wins = done == probe_ && multi_ <= single_;
        chosen_ = multi_wins ? max_ : 1;
        if (!multi_wins) period_ = std::min(max_period_, 2 * period_);
        multi_ = single_ = 0;
        pos_ = 2 * probe_;  // run the choice for the rest of the period
      }
    }
    if (++pos_ >= period_) pos_ = 0;
  }
  [[nodiscard]] int chosen() const noexcept { return chosen_; }

 private:
  int max_;
  std::int64_t probe_, period_, max_period_;
  int chosen_;
  std::int64_t pos_ = 0;
  double multi_ = 0, single_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Optimiser row updates

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

// ---------------------------------------------------------------------------------------------
// The trainer

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

  // --- candidates ---
  void next_generation() {
    if (++gen_ == 0) {  // wrapped: clear the marks once every 2^32 steps
      std::fill(mark_.begin(), mark_.end(), 0);
      std::fill(in_mark_.begin(), in_mark_.end(), 0);
      gen_ = 1;
    }
  }

  Eigen::Index slot_of(index_t item) {
    const auto i = static_cast<std::size_t>(item);
    if (mark_[i] != gen_) {
      mark_[i] = gen_;
      slot_[i] = static_cast<std::int32_t>(U_);
      uniq_[static_cast<std::size_t>(U_)] = item;
      if (U_ < max_uc_) {
        mt_[static_cast<std::size_t>(U_)] = 0;
        ms_[static_cast<std::size_t>(U_)] = 0;
      }
      ++U_;
    }
    return slot_[i];
  }

  void build_candidates(std::span<const index_t> inputs, std::span<const index_t> targets,
                        std::span<const index_t> samples) {
    next_generation();
    U_ = 0;
    for (Eigen::Index b = 0; b < B_; ++b) {
      const Eigen::Index s = slot_of(targets[static_cast<std::size_t>(b)]);
      ++mt_[static_cast<std::size_t>(s)];
      pos_slot_[static_cast<std::size_t>(b)] = s;
    }
    for (index_t v : samples) ++ms_[static_cast<std::size_t>(slot_of(v))];
    uc_ = U_;
    // Per distinct candidate: the log-weight of its columns in the softmax.
    const bool xe = opt_.loss == gru_loss::cross_entropy;
    const double lq = xe ? opt_.logq : 0.0;
    for (Eigen::Index u = 0; u < uc_; ++u) {
      const double mt = mt_[static_cast<std::size_t>(u)], ms = ms_[static_cast<std::size_t>(u)];
      if (lq > 0) {
        const double ls = log_support_[static_cast<std::size_t>(uniq_[static_cast<std::size_t>(u)])];
        logw_(u) = static_cast<Scalar>(std::log(mt * std::exp(-lq * ls) + ms * std::exp(-lq * opt_.sample_alpha * ls)));
      } else {
        logw_(u) = static_cast<Scalar>(std::log(mt + ms));
      }
    }
    for (Eigen::Index b = 0; b < B_; ++b)
      pos_shift_(b) = lq > 0 ? static_cast<Scalar>(lq * log_support_[static_cast<std::size_t>(targets[static_cast<std::size_t>(b)])]) : Scalar(0);
    // Input rows: with constrained embedding they are rows of the output table too.
    input_slots_.clear();
    if (net_->input == gru_input::constrained) {
      std::fill(is_input_.begin(), is_input_.begin() + uc_, 0);
      for (Eigen::Index b = 0; b < B_; ++b) {
        const Eigen::Index u = slot_of(inputs[static_cast<std::size_t>(b)]);
        x_slot_[static_cast<std::size_t>(b)] = u;
        if (u < uc_ && !is_input_[static_cast<std::size_t>(u)]) {
          is_input_[static_cast<std::size_t>(u)] = 1;
          input_slots_.push_back(u);
        }
      }
    } else {
      std::fill(is_input_.begin(), is_input_.begin() + uc_, 0);
      n_in_ = 0;
      for (Eigen::Index b = 0; b < B_; ++b) {
        const auto i = static_cast<std::size_t>(inputs[static_cast<std::size_t>(b)]);
        if (in_mark_[i] != gen_) {
          in_mark_[i] = gen_;
          in_slot_[i] = static_cast<std::int32_t>(n_in_);
          in_uniq_[static_cast<std::size_t>(n_in_)] = inputs[static_cast<std::size_t>(b)];
          ++n_in_;
        }
        x_slot_[static_cast<std::size_t>(b)] = in_slot_[i];
      }
    }
  }

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

  double output_layer() {
    const Eigen::Index nblocks = (uc_ + item_block - 1) / item_block;
    const auto hd = cache_[L_ - 1].hd.topRows(B_);
    const parallel_options par{opt_.num_threads, 1, 2};
    const bool xe = opt_.loss == gru_loss::cross_entropy;
    const bool bpr = opt_.loss == gru_loss::bpr_max;
    const Scalar ninf = -std::numeric_limits<Scalar>::infinity();
    const auto elu_a = static_cast<Scalar>(opt_.elu_param);
    const bool elu = bpr && opt_.elu_param > 0;

    // Phase A: scores of the distinct candidates and per-block softmax partials.
    parallel_for(0, nblocks, par, [&](std::int64_t k) {
      const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
      for (Eigen::Index u = u0; u < u0 + n; ++u) {
        const index_t item = uniq_[static_cast<std::size_t>(u)];
        wg_.row(u) = net_->output_weights.row(item);
        bg_(u) = net_->output_bias(item);
      }
      auto st = st_block(u0, n);
      auto p = p_block(u0, n);
      st.noalias() = wg_.middleRows(u0, n) * hd.transpose();
      for (Eigen::Index i = 0; i < n; ++i) {
        auto s = st.row(i).array();
        s += bg_(u0 + i);
        if (elu) s = (s > Scalar(0)).select(s, elu_a * (s.exp() - Scalar(1)));
        p.row(i).array() = s + logw_(u0 + i);
      }
      if (!xe) {  // the positive column itself is not a negative
        for (Eigen::Index b = 0; b < B_; ++b) {
          const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
          if (u < u0 || u >= u0 + n) continue;
          const double m = static_cast<double>(mt_[static_cast<std::size_t>(u)]) + ms_[static_cast<std::size_t>(u)];
          p(u - u0, b) = m > 1 ? p(u - u0, b) + static_cast<Scalar>(std::log((m - 1) / m)) : ninf;
        }
      }
      auto mk = stat_m_.row(k).head(B_).array();
      mk = p.row(0).array();
      for (Eigen::Index i = 1; i < n; ++i) mk = mk.max(p.row(i).array());
      for (Eigen::Index b = 0; b < B_; ++b)
        if (!(mk(b) > ninf)) mk(b) = Scalar(0);  // no negative of this row in the block
      auto zk = stat_z_.row(k).head(B_).array();
      zk.setZero();
      for (Eigen::Index i = 0; i < n; ++i) {
        auto q = p.row(i).array();
        q = (q - mk).exp();
        zk += q;
      }
    });
    // Combine the blocks in order.
    for (Eigen::Index b = 0; b < B_; ++b) {
      Scalar m = ninf;
      for (Eigen::Index k = 0; k < nblocks; ++k)
        if (stat_z_(k, b) > Scalar(0)) m = std::max(m, stat_m_(k, b));
      Scalar z = 0;
      for (Eigen::Index k = 0; k < nblocks; ++k)
        if (stat_z_(k, b) > Scalar(0)) z += stat_z_(k, b) * std::exp(stat_m_(k, b) - m);
      row_m_(b) = m;
      row_z_(b) = z;
      rpos_(b) = st_(pos_slot_[static_cast<std::size_t>(b)], b);
    }
    // Per block and column: the factor turning p into softmax probabilities.
    for (Eigen::Index k = 0; k < nblocks; ++k)
      for (Eigen::Index b = 0; b < B_; ++b)
        stat_a_(k, b) = stat_z_(k, b) > Scalar(0) ? std::exp(stat_m_(k, b) - row_m_(b)) / row_z_(b) : Scalar(0);

    double loss = 0;
    if (xe) {
      for (Eigen::Index b = 0; b < B_; ++b) {
        const Scalar lse = row_m_(b) + std::log(row_z_(b));
        row_loss_(b) = lse - (rpos_(b) - pos_shift_(b));
        loss += static_cast<double>(row_loss_(b));
      }
    } else {
      // Phase A2: per-row sums over the negatives that need the positive's score.
      parallel_for(0, nblocks, par, [&](std::int64_t k) {
        const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
        auto st = st_block(u0, n);
        auto p = p_block(u0, n);
        const auto ak = stat_a_.row(k).head(B_).array();
        const auto rp = rpos_.head(B_).array();
        auto sa = stat_z_.row(k).head(B_).array();  // reused: A (BPR-max) / the loss (TOP1-max)
        auto sr = stat_r_.row(k).head(B_).array();
        auto sq = stat_q_.row(k).head(B_).array();
        auto t1 = scratch(k, 0);
        sa.setZero();
        sr.setZero();
        sq.setZero();
        for (Eigen::Index i = 0; i < n; ++i) {
          auto s = p.row(i).array();
          const auto r = st.row(i).array();
          s *= ak;  // softmax weights
          if (bpr) {
            t1 = (rp - r).logistic();
            sa += s * t1;
            sr += s * r.square();
            sq += s * t1 * (Scalar(1) - t1);
          } else {
            t1 = (r - rp).logistic();
            sa += s * (t1 + r.square().logistic());
            sq += s * t1 * (Scalar(1) - t1);
          }
        }
      });
      for (Eigen::Index b = 0; b < B_; ++b) {
        Scalar a = 0, r2 = 0, q = 0;
        for (Eigen::Index k = 0; k < nblocks; ++k) {
          a += stat_z_(k, b);
          q += stat_q_(k, b);
          r2 += stat_r_(k, b);
        }
        row_a_(b) = a;
        row_r_(b) = r2;
        row_q_(b) = q;
        row_loss_(b) = bpr ? -std::log(a + Scalar(1e-24)) + static_cast<Scalar>(opt_.bpreg) * r2 : a;
        loss += static_cast<double>(row_loss_(b));
      }
    }
    loss *= static_cast<double>(inv_bs_);

    // Phase C: gradient of the scores, the GEMMs of the backward pass, and (when fused) the
    // optimiser update of the block's output rows that are not also input rows of this step.
    parallel_for(0, nblocks, par, [&](std::int64_t k) {
      const Eigen::Index u0 = k * item_block, n = std::min<Eigen::Index>(uc_ - u0, item_block);
      auto st = st_block(u0, n);
      auto p = p_block(u0, n);
      const auto ak = stat_a_.row(k).head(B_).array();
      if (xe) {
        auto f = scratch(k, 0);
        f = ak * inv_bs_;
        for (Eigen::Index i = 0; i < n; ++i) p.row(i).array() *= f;
        for (Eigen::Index b = 0; b < B_; ++b) {
          const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
          if (u >= u0 && u < u0 + n) p(u - u0, b) -= inv_bs_;
        }
      } else {
        const auto rp = rpos_.head(B_).array();
        auto t1 = scratch(k, 0);
        auto t2 = scratch(k, 1);
        if (bpr) {
          // dL/dr = -(s/A)(σ − A − σ(1−σ)) + λ s (r² − R2 + 2r),  σ = σ(r_pos − r)
          auto inv_a = scratch(k, 2);
          inv_a = (row_a_.head(B_).array() + Scalar(1e-24)).inverse();
          const auto lam = static_cast<Scalar>(opt_.bpreg);
          const auto R2 = row_r_.head(B_).array();
          for (Eigen::Index i = 0; i < n; ++i) {
            auto s = p.row(i).array();
            const auto r = st.row(i).array();
            t1 = (rp - r).logistic();
            t2 = -(s * (t1 - t1 * (Scalar(1) - t1))) * inv_a + s + lam * s * (r.square() + Scalar(2) * r - R2);
            if (elu) t2 *= (r > Scalar(0)).select(Scalar(1), r + elu_a);
            s = t2 * inv_bs_;
          }
          for (Eigen::Index b = 0; b < B_; ++b) {
            const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
            if (u < u0 || u >= u0 + n) continue;
            Scalar d = -row_q_(b) / (row_a_(b) + Scalar(1e-24));
            if (elu) d *= st(u - u0, b) > Scalar(0) ? Scalar(1) : st(u - u0, b) + elu_a;
            p(u - u0, b) += d * inv_bs_;
          }
        } else {
          // dL/dr = s (T − L) + s (τ(1−τ) + 2 r κ(1−κ)),  τ = σ(r − r_pos), κ = σ(r²)
          const auto Lr = row_a_.head(B_).array();
          for (Eigen::Index i = 0; i < n; ++i) {
            auto s = p.row(i).array();
            const auto r = st.row(i).array();
            t1 = (r - rp).logistic();
            t2 = r.square().logistic();
            s = (s * (t1 + t2 - Lr + t1 * (Scalar(1) - t1) + Scalar(2) * r * t2 * (Scalar(1) - t2))) * inv_bs_;
          }
          for (Eigen::Index b = 0; b < B_; ++b) {
            const Eigen::Index u = pos_slot_[static_cast<std::size_t>(b)];
            if (u >= u0 && u < u0 + n) p(u - u0, b) -= row_q_(b) * inv_bs_;
          }
        }
      }
      g_.middleRows(u0, n).noalias() = p * hd;
      for (Eigen::Index i = 0; i < n; ++i) gb_(u0 + i) = p.row(i).sum();
      dhd_parts_[static_cast<std::size_t>(k)].topRows(B_).noalias() = p.transpose() * wg_.middleRows(u0, n);
      if (fused_) update_output_rows(u0, u0 + n, true);
    });
    auto dhd = cache_[L_ - 1].dhd.topRows(B_);
    dhd = dhd_parts_[0].topRows(B_);
    for (Eigen::Index k = 1; k < nblocks; ++k) dhd += dhd_parts_[static_cast<std::size_t>(k)].topRows(B_);
    return loss;
  }

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

// ---------------------------------------------------------------------------------------------
// Evaluation-mode rows (no dropout, no gradients)

/// Rows of session-parallel forward passes in evaluation mode, driven by a gru_row_walker (it is
/// the walker's handler). With HRNN, a row's user state c is advanced at every session boundary
/// of its group (the finished session's last event through the session layers gives the session
/// representation s; c ← GRU_user(s, c)), and each session starts from tanh(c·W_init + b_init).
template <class Scalar>
class gru_eval_rows {
 public:
  using matrix = gru_matrix<Scalar>;

  gru_eval_rows(const gru_network<Scalar>& net, Eigen::Index rows) : net_(&net) {
    hidden.resize(net.layers.size());
    for (std::size_t l = 0; l < net.layers.size(); ++l) hidden[l].setZero(rows, net.layers[l].hidden());
    if (net.hrnn()) {
      user.setZero(rows, net.user_hidden());
      one_.resize(net.layers.size());
      for (std::size_t l = 0; l < net.layers.size(); ++l) one_[l].resize(1, net.layers[l].hidden());
      one_ws_.reserve(net, 1);
    }
    ws_.reserve(net, rows);
  }

  /// Hidden state per layer (rows × H_l) and, with HRNN, the user state per row (rows × U).
  std::vector<matrix> hidden;
  matrix user;
  /// HRNN: initial user state of a group (nullptr: zeros).
  std::function<const Scalar*(std::int64_t group)> initial_user;
  /// HRNN: called with the final user state of a group when the group ends.
  std::function<void(std::int64_t group, const Scalar* c)> final_user;

  /// Feeds inputs[b] to row b for rows [0, inputs.size()).
  void step(std::span<const index_t> inputs) { gru_step_eval<Scalar>(*net_, inputs, hidden, ws_); }

  // --- walker handler ---
  void start(Eigen::Index row, std::int64_t group, bool same_group, index_t prev_last) {
    if (!net_->hrnn()) {
      for (auto& h : hidden) h.row(row).setZero();
      return;
    }
    if (same_group) {
      advance_user(row, prev_last);
    } else {
      const Scalar* c = initial_user ? initial_user(group) : nullptr;
      if (c)
        user.row(row) = Eigen::Map<const gru_row<Scalar>>(c, user.cols());
      else
        user.row(row).setZero();
    }
    for (std::size_t l = 0; l < net_->layers.size(); ++l) {
      auto h = hidden[l].row(row);
      h.noalias() = user.row(row) * net_->user_init_weights[l];
      h += net_->user_init_bias[l];
      h = h.array().tanh().matrix();
    }
  }
  void group_end(Eigen::Index row, std::int64_t group, index_t last_item) {
    if (!net_->hrnn() || !final_user) return;
    advance_user(row, last_item);
    final_user(group, user.row(row).data());
  }
  void compact(std::span<const Eigen::Index> keep) {
    auto move_rows = [&](matrix& m) {
      for (std::size_t i = 0; i < keep.size(); ++i)
        if (keep[i] != static_cast<Eigen::Index>(i)) m.row(static_cast<Eigen::Index>(i)) = m.row(keep[i]);
    };
    for (auto& h : hidden) move_rows(h);
    if (net_->hrnn()) move_rows(user);
  }

 private:
  // c ← GRU_user(s, c) with s = the session layers' output after `item` from the row's state.
  void advance_user(Eigen::Index row, index_t item) {
    for (std::size_t l = 0; l < hidden.size(); ++l) one_[l] = hidden[l].row(row);
    const index_t it[1] = {item};
    gru_step_eval<Scalar>(*net_, std::span<const index_t>(it, 1), one_, one_ws_);
    gru_layer_step_eval<Scalar>(net_->user_gru, one_.back(), user.middleRows(row, 1), one_ws_, false);
  }

  const gru_network<Scalar>* net_;
  gru_eval_workspace<Scalar> ws_, one_ws_;
  std::vector<matrix> one_;
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP
