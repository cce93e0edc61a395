// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_HPP
#define RECSYS_MODELS_SESSION_GRU_HPP

/// @file
/// recsys::session_gru: next-item prediction from the events of the current session with a
/// GRU network, trained the way GRU4Rec trains (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou,
/// CIKM 2018), plus the optional HRNN user state of Quadrana et al. (RecSys 2017). This is the
/// model family behind Amazon Personalize's HRNN / User-Personalization recipes.
///
/// - Network: item input by constrained embedding (the output weights row of the item, GRU4Rec's
///   default), a separate embedding, or one-hot; one or more GRU layers; scores h·Wᵀ + b over
///   all items, in float.
/// - Training (fit): session-parallel mini-batches, one-step truncated BPTT, losses cross-entropy
///   (logQ correction optional), BPR-max, TOP1-max over the batch's targets plus n_sample shared
///   negatives ∝ support^sample_alpha; Adagrad with momentum (GRU4Rec's optimiser) or Adam;
///   dropout on the embedding and hidden layers; hand-written forward and backward passes on
///   Eigen GEMMs. Deterministic for a seed (and, by construction, for any thread count).
/// - Real time (PutEvents): a session_gru_state takes events one at a time; recommend() returns
///   the next-item top-K with scores in microseconds.
/// - HRNN (hrnn = true, data with users): a user-level GRU runs across a user's sessions; its
///   state initialises the session GRU of the user's next session.
/// - Evaluation: recsys::evaluate_next_item (eval/next_item.hpp) with GRU4Rec's protocol.
/// - Save / load: save() writes the arrays and hyperparameters into a model directory
///   (io/model_store.hpp: .npy files + manifest.json), load() reads them back.
///
/// The parts: models/session_gru_config.hpp (hyperparameters, set_param, session_gru_network),
/// models/session_gru_state.hpp (session_gru_state); this header declares the model.
/// Definitions: models/session_gru-inl.hpp (queries, save / load) and
/// models/session_gru_fit-inl.hpp (training, which alone includes the trainer,
/// detail/session_gru_trainer.hpp). (`session_gru` is `basic_session_gru<>`; see config.hpp.)
///
/// @code
///   recsys::session_gru_config cfg = recsys::gru4rec_rsc15_config();   // GRU4Rec's RSC15 paramfile
///   recsys::set_param(cfg, "n_epochs=5");                               // as `--set n_epochs=5` does
///   recsys::session_gru model(cfg);
///   model.fit(train_sessions);
///
///   auto state = model.start_session();             // a visitor arrives
///   model.put_event(state, item_a);                 // ... clicks
///   model.put_event(state, item_b);
///   recsys::recommend_options opts;
///   opts.exclude_seen = false;                      // keep repeat clicks (GRU4Rec's protocol)
///   recsys::topk_result next = model.recommend(state, 20, opts);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/next_item_scorer.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/models/session_gru_config.hpp>
#include <recsys/models/session_gru_state.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// Per-epoch account of a fit.
struct session_gru_epoch {
  double loss = 0;            ///< mean training loss per prediction over the epoch
  double seconds = 0;         ///< wall time of the epoch
  std::int64_t events = 0;    ///< training events (all events of the training sessions)
  std::int64_t predictions = 0;  ///< (input, next item) pairs trained on
  std::int64_t batches = 0;   ///< mini-batches
  std::int64_t parallel_batches = 0;  ///< mini-batches run with more than one thread
};

/// GRU4Rec-style session GRU with optional HRNN user state (see the file comment).
template <class T>
class basic_session_gru {
 public:
  using config_type = session_gru_config;
  /// The session state this model starts and advances (session_gru_state).
  using state_type = basic_session_gru_state<T>;

  /// An unfitted model. The configuration is validated by fit().
  explicit basic_session_gru(session_gru_config config = {}) : cfg_(std::move(config)) {}

  /// A fitted model from arrays exported earlier (see session_gru_network, item_support(),
  /// user_states()). Shapes are checked against the configuration.
  /// @throws recsys::invalid_argument on an invalid configuration or a shape mismatch.
  basic_session_gru(session_gru_config config, session_gru_network network, std::vector<std::int64_t> item_support,
                    row_matrix<score_t> user_states = {});

  /// Trains on `train` (sessions ordered by start time, as build_sessions produces them; the item
  /// catalogue is train.num_items, or the largest item index + 1 when that is 0). Runs n_epochs
  /// epochs over session-parallel mini-batches (see the file comment).
  ///
  /// Progress: one stage per epoch ("session_gru: epoch"), units = predictions, metric "loss"
  /// (running mean, refreshed every progress_every mini-batches). Cancellation is checked every
  /// mini-batch: recsys::cancelled is thrown and the model keeps the network of the last
  /// completed epoch (or its previous state when no epoch of this fit completed).
  /// @throws recsys::invalid_argument on an invalid configuration, an item index out of range,
  ///         data without a single session of 2 or more events, or hrnn without users;
  ///         recsys::numerical_error when the loss becomes non-finite (lower learning_rate);
  ///         recsys::cancelled.
  /// (A template only so that the trainer, tens of seconds of compile time, is compiled where a
  /// program trains: `Sessions` is always session_data.)
  template <class Sessions = session_data>
    requires std::same_as<Sessions, session_data>
  void fit(const Sessions& train, const job_control& job = {});

  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }
  [[nodiscard]] const session_gru_config& config() const noexcept { return cfg_; }
  /// Catalogue size (items are indices [0, num_items())).
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(support_.size()); }
  /// HRNN: users with a trained user state (indices [0, num_users())); 0 otherwise.
  [[nodiscard]] index_t num_users() const noexcept { return static_cast<index_t>(user_states_.rows()); }
  /// True for items that occurred in the training data (only those are recommended and ranked).
  [[nodiscard]] bool knows_item(index_t item) const noexcept {
    return item >= 0 && item < num_items() && support_[static_cast<std::size_t>(item)] > 0;
  }
  /// Training events per item (the popularity used for negative sampling and logQ).
  [[nodiscard]] const std::vector<std::int64_t>& item_support() const noexcept { return support_; }
  /// The trained arrays (see session_gru_network).
  [[nodiscard]] const session_gru_network& network() const noexcept { return net_; }
  /// HRNN: each training user's state after all of their training sessions (num_users × U).
  [[nodiscard]] const row_matrix<score_t>& user_states() const noexcept { return user_states_; }
  /// Epochs completed by the last fit, with their loss and timing.
  [[nodiscard]] const std::vector<session_gru_epoch>& training_log() const noexcept { return log_; }

  /// Calls f(name, rows, cols, data) for every float array of the model (row-major, data points
  /// at rows·cols values; vectors are n × 1 or 1 × n): output_weights [n_items, H_last],
  /// output_bias [n_items, 1], item_embedding [n_items, E], layer<l>_weight_ih [in, 3H],
  /// layer<l>_weight_hh [H, 3H], layer<l>_bias_ih [1, 3H], layer<l>_bias_hh [1, 3H],
  /// user_gru_weight_ih [H_last, 3U], user_gru_weight_hh [U, 3U], user_gru_bias_ih [1, 3U],
  /// user_gru_bias_hh [1, 3U], user_init<l>_weight [U, H_l], user_init<l>_bias [1, H_l],
  /// user_states [n_users, U] — the arrays that exist for this configuration. The names are valid
  /// model-store entry names. item_support() is the one integer array.
  template <class F>
  void visit_arrays(F&& f) const {
    auto emit = [&](const std::string& name, const auto& m) {
      if (m.size() > 0) f(name, static_cast<Eigen::Index>(m.rows()), static_cast<Eigen::Index>(m.cols()), m.data());
    };
    emit("output_weights", net_.output_weights);
    emit("output_bias", net_.output_bias);
    emit("item_embedding", net_.item_embedding);
    for (std::size_t l = 0; l < net_.layers.size(); ++l) {
      const std::string p = "layer" + std::to_string(l) + "_";
      emit(p + "weight_ih", net_.layers[l].weight_ih);
      emit(p + "weight_hh", net_.layers[l].weight_hh);
      emit(p + "bias_ih", net_.layers[l].bias_ih);
      emit(p + "bias_hh", net_.layers[l].bias_hh);
    }
    emit("user_gru_weight_ih", net_.user_gru.weight_ih);
    emit("user_gru_weight_hh", net_.user_gru.weight_hh);
    emit("user_gru_bias_ih", net_.user_gru.bias_ih);
    emit("user_gru_bias_hh", net_.user_gru.bias_hh);
    for (std::size_t l = 0; l < net_.user_init_weights.size(); ++l) {
      emit("user_init" + std::to_string(l) + "_weight", net_.user_init_weights[l]);
      emit("user_init" + std::to_string(l) + "_bias", net_.user_init_bias[l]);
    }
    emit("user_states", user_states_);
  }

  /// Writes the fitted model into a model directory being written: the hyperparameters
  /// (params(config()), GRU4Rec names), every array of visit_arrays() as a 2-d float32 .npy, and
  /// item_support as int64. The caller may add more (e.g. `w.add_ids("item_ids", ...)`) and then
  /// calls w.commit(). (model_writer / model_reader: include <recsys/io/model_store.hpp>.)
  /// @code
  ///   recsys::model_writer w("my-gru", "gru4rec");
  ///   model.save(w);
  ///   w.add_ids("item_ids", log.item_ids);
  ///   w.commit();
  ///   recsys::session_gru again = recsys::session_gru::load(recsys::model_reader("my-gru", "gru4rec"));
  /// @endcode
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error from the writer.
  void save(model_writer& w) const;

  /// A fitted model from a directory written by save(). Every array is checked against the
  /// stored hyperparameters (shape, dtype, checksum; see model_reader).
  /// @throws recsys::io_error naming the file and the problem (missing or malformed array,
  ///         hyperparameter that set_param rejects, shapes that do not fit together).
  [[nodiscard]] static basic_session_gru load(const model_reader& r);

  // --- real time ---------------------------------------------------------------------------

  /// A new session. With HRNN the session starts from the user's trained state (users unknown to
  /// the model, or invalid_index, start from the zero user state); otherwise from zero.
  /// @throws recsys::invalid_argument if the model is not fitted.
  [[nodiscard]] state_type start_session(index_t user = invalid_index) const;

  /// HRNN: a new session from a given user state c (e.g. one kept by the caller from
  /// session_gru_state::user_state() of an earlier next_session()).
  /// @throws recsys::invalid_argument without HRNN or when c has the wrong size.
  [[nodiscard]] state_type start_session_from_user_state(std::span<const score_t> c,
                                                         index_t user = invalid_index) const;

  /// The session after `finished` for the same user: with HRNN the user state advances with the
  /// finished session (its representation: the session layers' output after its last event);
  /// without HRNN (or when `finished` has no events) it is start_session(finished.user()).
  [[nodiscard]] state_type next_session(const state_type& finished) const;

  /// Feeds one event. Returns false (and leaves the state unchanged) when the model does not know
  /// the item (never seen in training).
  /// @throws recsys::invalid_argument if the state does not belong to this model.
  bool put_event(state_type& s, index_t item) const;

  /// Feeds events in order; returns how many were known (and used).
  std::size_t put_events(state_type& s, std::span<const index_t> items) const;

  /// Scores of every item for the session's next event (h·Wᵀ + b). Items unknown to the model
  /// score NaN. The span points into the state's scratch space (valid until its next query).
  std::span<const score_t> scores(state_type& s) const;

  /// The top-k next items for the session, with scores, sorted by recsys::ranks_before.
  /// Options: exclude_seen drops the items already in this session (set it to false to keep
  /// repeat consumption, which GRU4Rec's evaluation counts); exclude drops given items; include,
  /// when non-empty, restricts the candidates. Items never seen in training are never returned.
  /// @throws recsys::invalid_argument if k < 0 or the state does not belong to this model.
  [[nodiscard]] topk_result recommend(state_type& s, index_t k, const recommend_options& opts = {}) const;

  /// recommend() into a caller-owned result (no allocation once `out` has capacity k).
  void recommend(state_type& s, index_t k, const recommend_options& opts, topk_result& out) const;

  /// history_recommender: the top-k next items after replaying `items` as a new anonymous
  /// session (weights are not used by this model and must be empty or match items in size).
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const;

  // --- batch evaluation (recsys::next_item_scorer) -------------------------------------------

  /// Work chunks of score_next_items for a test set (fixed: independent of the thread count).
  [[nodiscard]] std::size_t next_item_chunks(const session_data& test) const;

  /// Calls sink for every prediction in chunk `chunk` of `test` (target and scores of all items):
  /// each event but a session's last predicts the next one, from a zero state at the session's
  /// start (HRNN: from the user's state, carried across the user's test sessions). Test items
  /// must be known (evaluate_next_item filters them). Sessions run in session-parallel batches.
  void score_next_items(const session_data& test, std::size_t chunk, const next_item_sink& sink) const;

 private:
  static constexpr std::size_t eval_chunk_groups = 512;

  void require_fitted(std::string_view what) const;
  void check_state(const state_type& s, std::string_view what) const;
  static void check_network(const session_gru_network& n, index_t n_items);
  void init_state(state_type& s, const score_t* c) const;
  void compute_scores(state_type& s) const;

  /// Groups for session-parallel walking: without HRNN every session is a group; with HRNN the
  /// sessions of one user form a group (users in order of their first session; sessions
  /// without a user are groups of their own).
  [[nodiscard]] std::pair<std::vector<std::int64_t>, std::vector<index_t>> eval_groups(const session_data& d) const;
  static std::pair<std::vector<std::int64_t>, std::vector<index_t>> make_groups(const session_data& d, bool by_user,
                                                                                bool only_trainable);

  /// HRNN: each training user's state after all of their training sessions (models/session_gru_fit-inl.hpp).
  void compute_user_states(const session_gru_network& net, const session_data& train, index_t n_users, int threads,
                           row_matrix<score_t>& out) const;

  // A column-major copy of output_weights for the real-time scores (a GEMV that streams the
  // catalogue column by column: about twice as fast as row by row on large catalogues).
  void refresh_scoring_weights();

  session_gru_config cfg_;
  session_gru_network net_;
  Eigen::Matrix<score_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor> scoring_weights_;
  std::vector<std::int64_t> support_;
  std::vector<index_t> unknown_items_;
  row_matrix<score_t> user_states_;
  std::vector<session_gru_epoch> log_;
  bool fitted_ = false;
  std::uint64_t version_ = 0;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/session_gru-inl.hpp>
#include <recsys/models/session_gru_fit-inl.hpp>
#else
namespace recsys {
extern template class basic_session_gru<void>;
extern template void basic_session_gru<void>::fit<session_data>(const session_data&, const job_control&);
}  // namespace recsys
#endif

// (The model's concepts, history_recommender and next_item_scorer, are checked in
// src/session_gru.cpp: a static_assert here would instantiate the class in every unit.)

#endif  // RECSYS_MODELS_SESSION_GRU_HPP
