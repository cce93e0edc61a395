// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_MODEL_HPP
#define RECSYS_MODELS_MODEL_HPP

/// @file
/// recsys::model: every recipe behind one type-erased interface (fit on a training log, query,
/// save, load), what the registry (recipes.hpp) makes and what the evaluation, AutoML and batch
/// layers use, so that none of them depends on a concrete model. Also training_summary, what a
/// model records about its training data.

#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/eval/next_item_options.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace recsys {

/// What a model was trained on: stored in its manifest ("data") so a served model can say.
struct training_summary {
  std::string source;                ///< the log's report.source (file name or description)
  std::int64_t events = 0;           ///< rows of the training log
  index_t users = 0;                 ///< size of the user id map (the model's user indices)
  index_t items = 0;                 ///< size of the item id map (the model's item indices)
  index_t active_users = 0;          ///< users with at least one training event
  index_t active_items = 0;          ///< items with at least one training event
  timestamp_t first_timestamp = 0;   ///< oldest training event (0 for an empty log)
  timestamp_t last_timestamp = 0;    ///< newest training event
  std::vector<std::string> event_types;  ///< the log's EVENT_TYPE names
  double fit_seconds = 0;            ///< wall time of fit()

  /// The summary of a training log (fit_seconds left 0).
  [[nodiscard]] static training_summary of(const interaction_log& log) {
    training_summary s;
    s.source = log.report.source;
    s.events = static_cast<std::int64_t>(log.size());
    s.users = log.num_users();
    s.items = log.num_items();
    std::vector<char> u(static_cast<std::size_t>(log.num_users()), 0), i(static_cast<std::size_t>(log.num_items()), 0);
    for (std::size_t r = 0; r < log.size(); ++r) {
      u[static_cast<std::size_t>(log.users[r])] = 1;
      i[static_cast<std::size_t>(log.items[r])] = 1;
    }
    s.active_users = static_cast<index_t>(std::count(u.begin(), u.end(), 1));
    s.active_items = static_cast<index_t>(std::count(i.begin(), i.end(), 1));
    std::tie(s.first_timestamp, s.last_timestamp) = log.time_range();
    s.event_types = log.event_type_names.ids();
    return s;
  }
};

/// A recipe's model behind one interface: fit on a training log, then query, save and load.
/// Queries are const and thread-safe, as the wrapped model's are. (`model` is
/// `basic_model<>`; see config.hpp. Derive from `recsys::model` to add a model of your own.)
template <class>
class basic_model {
 public:
  virtual ~basic_model() = default;

  /// The recipe name this model was made from.
  [[nodiscard]] virtual const std::string& recipe() const noexcept = 0;
  /// The effective hyperparameters (defaults overridden by what was set), in the recipe's order.
  [[nodiscard]] virtual const param_map& params() const noexcept = 0;

  /// Fits on the training log (each recipe builds what it needs: a weighted matrix, sessions...).
  virtual void fit(const interaction_log& train, const job_control& job = {}) = 0;

  [[nodiscard]] virtual index_t num_users() const = 0;
  [[nodiscard]] virtual index_t num_items() const = 0;
  [[nodiscard]] virtual topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const = 0;
  [[nodiscard]] virtual std::vector<score_t> score(index_t user, std::span<const index_t> items) const = 0;

  /// Whether recommend_for_history works (real-time events / users unknown at training time).
  [[nodiscard]] virtual bool supports_history() const noexcept { return false; }
  /// Recommendations for a history given at query time.
  /// @throws recsys::invalid_argument when supports_history() is false.
  [[nodiscard]] virtual topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                          index_t k, const recommend_options& opts = {}) const;

  /// Whether similar_items works.
  [[nodiscard]] virtual bool supports_similar_items() const noexcept { return false; }
  /// Items similar to an item.
  /// @throws recsys::invalid_argument when supports_similar_items() is false.
  [[nodiscard]] virtual topk_result similar_items(index_t item, index_t k) const;

  /// Top-k for many users into caller buffers of users.size() * k entries (row r = users[r]),
  /// padded with invalid_index and the lowest score. Recipes with a batch path use it (factor
  /// models: blocks of users through the top-K kernel, equal to recommend() up to the last bit
  /// of the scores; item-to-item: parallel recommend()); the others run recommend() for each
  /// user in parallel, which equals recommend() exactly.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  virtual void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                               const recommend_options& opts = {}, int num_threads = 0) const;

  /// Whether recommend_users (user segments, Personalize's Item-Affinity) works: the recipe's
  /// scores depend on the user (factor models, item-to-item), so ranking users for an item
  /// means something. Popularity and trending give every user the same list: false.
  [[nodiscard]] virtual bool supports_user_segments() const noexcept { return false; }
  /// For each item, the k users most likely to interact with it, best first, into caller
  /// buffers of items.size() * k (row r = items[r], padded with invalid_index). opts holds
  /// user ids here: include / exclude restrict the candidate users, exclude_seen skips users
  /// who already interacted with the item. See factor_model::recommend_users and
  /// item_to_item::recommend_users for what each recipe computes.
  /// @throws recsys::invalid_argument when supports_user_segments() is false, k < 0 or unfitted.
  virtual void recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                               const recommend_options& opts = {}, int num_threads = 0) const;

  /// Whether the model is fitted (by fit() or load()) and can be saved.
  [[nodiscard]] virtual bool is_fitted() const noexcept = 0;
  /// The external ids of the training log's users / items at fit time, in dense index order:
  /// `user_ids().find("alice")` is the index recommend() takes. Empty before fit.
  [[nodiscard]] virtual const id_map<std::string>& user_ids() const noexcept = 0;
  [[nodiscard]] virtual const id_map<std::string>& item_ids() const noexcept = 0;
  /// What the model was trained on.
  [[nodiscard]] virtual const training_summary& training() const noexcept = 0;

  /// Writes the model into directory `dir` (replaced atomically if it exists; see
  /// recsys::model_writer): the recipe, hyperparameters, user and item id maps, the training
  /// summary and the recipe's own arrays.
  /// @throws recsys::invalid_argument if the model is not fitted (or its last fit failed);
  ///         recsys::io_error when a file cannot be written (nothing appears under `dir` then).
  virtual void save(const std::filesystem::path& dir) const = 0;

  /// Restores a model saved by save() from an open reader; the recipe must be this model's.
  /// load_model() is the usual entry point.
  /// @throws recsys::io_error naming the file on any damage, a wrong recipe or shapes that do
  ///         not match the id maps; the model is then unchanged.
  virtual void load(const model_reader& in) = 0;
  /// Whether the recipe predicts the next event of a session, so that evaluate_next_item works
  /// (session recipes such as gru4rec are evaluated that way rather than per user).
  [[nodiscard]] virtual bool supports_next_item() const noexcept { return false; }
  /// Next-item Recall@K / MRR@K on the sessions of `test` (SESSION_ID, else 30-minute gaps), with
  /// the protocol of eval/next_item.hpp. `test` must share the training log's id maps.
  /// @throws recsys::invalid_argument when supports_next_item() is false or the model is not fitted.
  [[nodiscard]] virtual next_item_metrics evaluate_next_item(const interaction_log& test,
                                                             const next_item_options& opts = {},
                                                             const job_control& job = {}) const;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/model-inl.hpp>
#else
namespace recsys {
extern template class basic_model<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_MODELS_MODEL_HPP
