// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_STATE_HPP
#define RECSYS_MODELS_SESSION_GRU_STATE_HPP

/// @file
/// recsys::session_gru_state: the real-time state of one session of a recsys::session_gru
/// (models/session_gru.hpp), what the model's PutEvents-style queries advance and rank from.
/// (`session_gru_state` is `basic_session_gru_state<>`; see config.hpp.)

#include <recsys/detail/select.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

/// The real-time state of one session (GRU4Rec's hidden state, PutEvents-style): started by
/// session_gru::start_session, advanced by session_gru::put_event, queried by
/// session_gru::recommend. It also carries the scratch space of its queries, so one state is
/// used by one thread at a time; different states may be used concurrently with one model.
template <class T>
class basic_session_gru_state {
 public:
  basic_session_gru_state() = default;

  /// The items put into the session so far (unknown items are not recorded).
  [[nodiscard]] std::span<const index_t> items() const noexcept { return items_; }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  /// The user the session belongs to (invalid_index when anonymous).
  [[nodiscard]] index_t user() const noexcept { return user_; }
  /// The session GRU's state of layer l (H_l values).
  [[nodiscard]] std::span<const score_t> hidden(std::size_t layer) const {
    RECSYS_REQUIRE(layer < hidden_.size(), "session_gru_state::hidden", "layer ", layer, " out of range");
    return {hidden_[layer].data(), static_cast<std::size_t>(hidden_[layer].size())};
  }
  /// HRNN: the user state c the session started from (empty without HRNN).
  [[nodiscard]] std::span<const score_t> user_state() const noexcept {
    return {user_state_.data(), static_cast<std::size_t>(user_state_.size())};
  }

 private:
  friend class basic_session_gru<T>;
  std::vector<detail::gru_matrix<score_t>> hidden_;  // 1 × H_l each
  detail::gru_matrix<score_t> user_state_;           // 1 × U (HRNN)
  std::vector<index_t> items_;
  index_t user_ = invalid_index;
  const void* owner_ = nullptr;
  std::uint64_t model_version_ = 0;
  detail::gru_eval_workspace<score_t> ws_;
  std::vector<score_t> scores_;
  item_mask allowed_;  // the items the current query may return
  detail::topk_heap heap_;
};

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_STATE_HPP
