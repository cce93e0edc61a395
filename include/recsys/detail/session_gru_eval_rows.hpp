// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_EVAL_ROWS_HPP
#define RECSYS_DETAIL_SESSION_GRU_EVAL_ROWS_HPP

/// @file
/// Internal: evaluation-mode rows of the session GRU (gru_eval_rows): session-parallel forward
/// passes without dropout or gradients, driven by a gru_row_walker. Used by the batch evaluation
/// (session_gru::score_next_items) and, after training, for the HRNN users' final states.

#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace recsys::detail {

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

#endif  // RECSYS_DETAIL_SESSION_GRU_EVAL_ROWS_HPP
