// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_MODEL_HPP
#define RECSYS_MODELS_SESSION_GRU_MODEL_HPP

/// @file
/// The gru4rec recipe's model: a session GRU behind the recsys::model interface (what
/// make_model("gru4rec") returns).

#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/model.hpp>
#include <recsys/models/session_gru.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace recsys {

/// The gru4rec recipe's model: a recsys::session_gru trained on the sessions of the log
/// (build_sessions: SESSION_ID when the log has it, else 30-minute inactivity gaps; event types,
/// values and weights are not used). Sessions are the unit of prediction:
///   - recommend(user, k): the next item after the user's most recent training session (its events
///     replayed); with hrnn=true, the first item of the user's next session, from the user state.
///     Users unknown to the model get the prediction of an empty session (the items that tend to
///     start sessions);
///   - recommend_for_history(items, ...): the next item after a session of `items` (real time);
///   - evaluate_next_item(test): GRU4Rec's next-item protocol on the test log's sessions.
/// (`session_gru_model` is `basic_session_gru_model<>`; see config.hpp.)
template <class>
class basic_session_gru_model final : public model {
 public:
  basic_session_gru_model(std::string name, param_map params, session_gru_config config)
      : name_(std::move(name)), params_(std::move(params)), gru_(std::move(config)) {}

  const std::string& recipe() const noexcept override { return name_; }
  const param_map& params() const noexcept override { return params_; }

  void fit(const interaction_log& train, const job_control& job = {}) override;

  index_t num_users() const override { return static_cast<index_t>(last_offsets_.size()) - 1; }
  index_t num_items() const override { return gru_.num_items(); }

  topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const override {
    session_gru_state s = state_for(user);
    return gru_.recommend(s, k, opts);
  }

  std::vector<score_t> score(index_t user, std::span<const index_t> items) const override;

  bool supports_history() const noexcept override { return true; }
  topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
                                    const recommend_options& opts = {}) const override {
    return gru_.recommend_for_history(items, weights, k, opts);
  }

  bool supports_next_item() const noexcept override { return true; }
  next_item_metrics evaluate_next_item(const interaction_log& test, const next_item_options& opts = {},
                                       const job_control& job = {}) const override;

  bool is_fitted() const noexcept override { return fitted_; }
  const id_map<std::string>& user_ids() const noexcept override { return user_ids_; }
  const id_map<std::string>& item_ids() const noexcept override { return item_ids_; }
  const training_summary& training() const noexcept override { return summary_; }

  /// Writes the network (session_gru::save: GRU4Rec-named hyperparameters and arrays), each
  /// user's last training session (`last_session_offsets` / `last_session_items`, what
  /// recommend(user) replays), the id maps and the training summary.
  void save(const std::filesystem::path& dir) const override;

  void load(const model_reader& in) override;

  /// The trained network (for saving: session_gru::save).
  [[nodiscard]] const session_gru& get() const noexcept { return gru_; }

 private:
  [[nodiscard]] session_gru_state state_for(index_t user) const;

  std::string name_;
  param_map params_;
  session_gru gru_;
  std::vector<std::int64_t> last_offsets_{0};
  std::vector<index_t> last_items_;
  bool fitted_ = false;
  id_map<std::string> user_ids_;
  id_map<std::string> item_ids_;
  training_summary summary_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/session_gru_model-inl.hpp>
#else
namespace recsys {
extern template class basic_session_gru_model<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_MODELS_SESSION_GRU_MODEL_HPP
