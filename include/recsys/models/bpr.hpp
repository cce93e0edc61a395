// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_BPR_HPP
#define RECSYS_MODELS_BPR_HPP

/// @file
/// Pairwise ranking factorisation for implicit feedback: BPR and WARP.
///
/// - recsys::bpr_model: Bayesian Personalized Ranking (Rendle et al., UAI 2009). For a user u,
///   an item i the user interacted with and a sampled item j, it maximises
///   ln sigma(x_uij), x_uij = u.(v_i - v_j) + b_i - b_j, by SGD with per-component L2
///   regularisation. Good at AUC-like objectives.
/// - recsys::warp_model: Weighted Approximate-Rank Pairwise loss (Weston et al., IJCAI 2011), as
///   LightFM offers it: for each positive, negatives are drawn until one violates the margin
///   (s_uj > s_ui - 1), at most max_trials; the update is weighted by
///   L = ln(floor((n_items - 1) / trials)), an estimate of how far down the positive is ranked.
///   It concentrates on the top of the list and usually wins on precision@K / NDCG@K.
///
/// Both are recsys::factor_model<float>s: recommend, recommend_batch, score, similar_items /
/// similar_users, unknown-user fallback (popularity) all come from there; the learned item bias
/// is part of every score. Both also recommend for a history given at query time
/// (recommend_for_history: fold-in by SGD on a fresh user vector, items fixed).
///
/// Training modes (see docs/bpr.md):
/// - deterministic (default): a stratified schedule whose parallel tasks touch disjoint users
///   and items; the same seed gives bitwise identical factors for ANY thread count.
/// - hogwild = true: lock-free updates racing on shared item rows (the scheme of implicit and
///   qmf, visiting each user's interactions in one run); fastest, never reproducible (and,
///   formally, a data race: thread sanitizers report it).
///
/// Every stored entry of the training matrix is a positive (values are not used as weights;
/// they must be finite and > 0). fit() reports progress as one stage over all epochs ("bpr: fit"
/// / "warp: fit", step = the epoch; metric "auc": the fraction of sampled (u, i, j) ranked
/// correctly before their update, or "validation" with early stopping), honours cancellation between
/// strata and keeps the factors of the last completed epoch when cancelled, and throws
/// recsys::numerical_error when the updates diverge.
///
/// @code
///   recsys::bpr_config cfg;                    // defaults do well out of the box
///   recsys::set_param(cfg, "factors=128");     // what the CLI's --set does
///   recsys::bpr_model model(cfg);
///   model.fit(train);                          // recsys::csr_matrix users x items
///   recsys::topk_result top = model.recommend(user, 10);
///
///   recsys::warp_model warp(recsys::warp_config{.epochs = 40});
///   warp.fit(train);
///   auto fresh = warp.recommend_for_history(items_just_viewed, {}, 10);
/// @endcode
///
/// The definitions are in bpr-inl.hpp, with the SGD engine they use (detail/pairwise_sgd.hpp);
/// this header declares (docs/design.md, "How a component is laid out"). The compiled library
/// (recsys::compiled) instantiates pairwise_model<bpr_config> and pairwise_model<warp_config>,
/// the only two models there are.

#include <recsys/config.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

namespace detail {
struct pairwise_settings;  // detail/pairwise_kernels.hpp
}  // namespace detail

/// What happened in one training epoch (pairwise_model::history()).
struct pairwise_epoch {
  int epoch = 0;               ///< 0-based
  float learning_rate = 0.0f;  ///< after decay
  double loss = 0.0;           ///< mean per sample: BPR -ln sigma(x_uij); WARP L * hinge (0 without violator)
  double auc = 0.0;            ///< sampled training AUC: fraction of first negatives scored below the positive
  std::int64_t samples = 0;    ///< positives visited (= interactions in the matrix)
  std::int64_t updates = 0;    ///< SGD updates applied
  std::int64_t skipped = 0;    ///< BPR: no valid negative in 32 draws; WARP: no violator in max_trials
  double mean_trials = 0.0;    ///< WARP: negatives scored per positive (0 for BPR)
  double seconds = 0.0;        ///< wall time of the epoch (without validation)
  double validation = std::numeric_limits<double>::quiet_NaN();  ///< early-stopping metric when evaluated
};

/// Hyperparameters of recsys::bpr_model. Validated by the model's constructor and by fit();
/// set_param(cfg, key, value) sets one by name (the CLI's --set).
struct bpr_config {
  index_t factors = 64;               ///< latent dimensions (32, 64, 128 take the fastest kernels)
  int epochs = 40;                    ///< passes over the interactions (>= 1)
  float learning_rate = 0.1f;         ///< SGD step of the first epoch (> 0)
  float learning_rate_decay = 0.95f;  ///< per-epoch multiplier: lr_e = learning_rate * decay^e, in (0, 1]
  float regularization = 0.02f;       ///< L2 weight of every component unless overridden below (>= 0)
  std::optional<float> user_regularization = std::nullopt;           ///< overrides regularization for user factors
  std::optional<float> positive_item_regularization = std::nullopt;  ///< ... for the positive item's factors
  std::optional<float> negative_item_regularization = std::nullopt;  ///< ... for the negative item's factors
  std::optional<float> bias_regularization = std::nullopt;           ///< ... for item biases
  bool item_bias = true;                                             ///< learn a per-item bias (part of every score)
  float sample_alpha = 0.0f;     ///< negatives ~ popularity^alpha; 0 = uniform, in [0, 4]
  bool verify_negatives = true;  ///< re-draw a negative that is a positive of the user
  bool hogwild = false;          ///< lock-free racing updates: faster, NOT reproducible
  int num_threads = 0;           ///< 0 = default (all cores)
  int blocks = 0;                ///< strata per side of the deterministic schedule; 0 = auto (16, fewer for tiny data)
  std::uint64_t seed = 42;       ///< all randomness (init, sampling, fold-in)
  float init_scale = 0.1f;       ///< initial factors ~ N(0, (init_scale / sqrt(factors))^2)
  int fold_in_epochs = 20;       ///< SGD passes over a history in fold_in / recommend_for_history
  early_stopping<pairwise_model<bpr_config>> early_stop = {};  ///< off unless early_stop.metric is set

  static constexpr const char* name = "bpr_model";
};

/// Hyperparameters of recsys::warp_model: those of bpr_config plus max_trials and
/// max_rank_weight. Defaults differ where WARP wants them to.
struct warp_config {
  index_t factors = 64;
  int epochs = 40;
  float learning_rate = 0.004f;  ///< smaller than BPR's: WARP's rank weight scales each step by up to ln(n_items)
  float learning_rate_decay = 0.95f;
  float regularization = 0.5f;  ///< larger than BPR's, for the same reason
  std::optional<float> user_regularization = std::nullopt;
  std::optional<float> positive_item_regularization = std::nullopt;
  std::optional<float> negative_item_regularization = std::nullopt;
  std::optional<float> bias_regularization = std::nullopt;
  bool item_bias = true;
  float sample_alpha = 0.0f;
  bool verify_negatives = true;  ///< a violating negative that is a positive is skipped (counts as a trial)
  bool hogwild = false;
  int num_threads = 0;
  int blocks = 0;
  std::uint64_t seed = 42;
  float init_scale = 0.1f;
  int fold_in_epochs = 20;
  int max_trials = 10;            ///< negatives drawn per positive to find a violator (LightFM's max_sampled)
  float max_rank_weight = 10.0f;  ///< cap of the rank weight L (LightFM's MAX_LOSS)
  early_stopping<pairwise_model<warp_config>> early_stop = {};

  static constexpr const char* name = "warp_model";
};

/// One hyperparameter of bpr_config / warp_config as text: its key for set_param, its value
/// and a one-line help (the fields of the recipe registry's recipe_param).
using pairwise_param = recipe_param;
namespace detail {

template <class Config>
inline constexpr bool is_warp_config = requires(const Config& c) {
  c.max_trials;
};

}  // namespace detail

/// Sets one hyperparameter from text: what the CLI's `--set key=value` and the recipe registry
/// do, e.g. set_param(cfg, "learning_rate", "0.02"). Keys (see bpr_params() for defaults and
/// help): factors, epochs, learning_rate, learning_rate_decay, regularization,
/// user_regularization, positive_item_regularization, negative_item_regularization,
/// bias_regularization, item_bias, sample_alpha, verify_negatives, hogwild, num_threads,
/// blocks, seed, init_scale, fold_in_epochs; warp_config also max_trials and max_rank_weight.
/// The value must parse completely (integers, finite numbers, true/false/1/0/yes/no/on/off)
/// and be in range (the checks of validate()).
/// @throws recsys::invalid_argument naming the key and value (an unknown key lists the known
///         ones); `cfg` is left unchanged.
template <class = void>
void set_param(bpr_config& cfg, std::string_view key, std::string_view value);
/// @copydoc set_param(bpr_config&, std::string_view, std::string_view)
template <class = void>
void set_param(warp_config& cfg, std::string_view key, std::string_view value);
/// Applies one "key=value" assignment, spaces around either side ignored.
/// @code recsys::set_param(cfg, "max_trials=20"); @endcode
/// @throws recsys::invalid_argument on a missing '=', an unknown key or a bad value.
template <class = void>
void set_param(bpr_config& cfg, std::string_view assignment);
/// @copydoc set_param(bpr_config&, std::string_view)
template <class = void>
void set_param(warp_config& cfg, std::string_view assignment);
/// Every key set_param accepts for `cfg`'s type, with its value in `cfg` as text (what
/// set_param reads back; empty for an unset override) and a one-line help. With the default
/// config, the recipe registry's defaults.
template <class = void>
[[nodiscard]] std::vector<pairwise_param> bpr_params(const bpr_config& cfg = {});
/// @copydoc bpr_params
template <class = void>
[[nodiscard]] std::vector<pairwise_param> warp_params(const warp_config& cfg = {});

/// Validates a configuration. @throws recsys::invalid_argument naming the bad field.
template <class = void>
void validate(const bpr_config& cfg);
/// @copydoc validate(const bpr_config&)
template <class = void>
void validate(const warp_config& cfg);

/// A pairwise ranking factor model; use the aliases recsys::bpr_model and recsys::warp_model
/// (declared in fwd.hpp).
/// @tparam Config bpr_config or warp_config (chooses the loss).
template <class Config>
class pairwise_model : public factor_model<float> {
 public:
  using config_type = Config;

  /// @throws recsys::invalid_argument if the configuration is invalid.
  explicit pairwise_model(Config config = {});

  [[nodiscard]] const Config& config() const noexcept { return config_; }

  /// Trains on a users x items interaction matrix (every stored entry is a positive).
  ///
  /// One epoch visits every interaction once (deterministic mode: stratum by stratum, user by
  /// user in a random user order; hogwild: user by user in a random user order, all of a user's
  /// interactions in a row, negatives from the whole catalogue). Progress: one stage "<name>: epoch" per
  /// epoch (done/total = samples, metric "auc"), and "<name>: validation" (metric "validation") when early stopping
  /// evaluates.
  ///
  /// State on exit: normally the factors of the last epoch (or of the best evaluated epoch with
  /// early_stop.restore_best). On recsys::cancelled or recsys::numerical_error, the factors of
  /// the last completed epoch; when no epoch completed the model is left as it was before the
  /// call. history() describes the epochs the kept factors went through.
  ///
  /// @throws recsys::invalid_argument for an invalid configuration or matrix (no interactions,
  ///         fewer than 2 items, unsorted rows, values not finite or <= 0).
  /// @throws recsys::numerical_error when a score or factor becomes non-finite (names the epoch;
  ///         lower the learning rate).
  /// @throws recsys::cancelled when job.cancel is set.
  void fit(const csr_matrix& interactions, const job_control& job = {});

  /// Writes the trained model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "bpr_model" / "warp_model", the config (bpr_params / warp_params text; the
  /// early_stop callback is training-only and not saved), field "training" {best_epoch,
  /// history}, and the factors through factor_model::save_factors.
  /// @throws recsys::invalid_argument if the model is not fitted.
  void save(model_writer& out) const;

  /// Restores a model written by save(): config (early_stop stays off), training history and
  /// factors; the negative-sampling table of recommend_for_history is rebuilt from the saved
  /// training matrix exactly as fit built it. The model then answers every query exactly as
  /// the saved one.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in);

  /// Epochs behind the current factors (see fit for what is kept on early stopping,
  /// cancellation and errors).
  [[nodiscard]] const std::vector<pairwise_epoch>& history() const noexcept { return history_; }

  /// The epoch with the best validation metric of the last fit, -1 without early stopping.
  [[nodiscard]] int best_epoch() const noexcept { return best_epoch_; }

  /// A user vector for a history given at query time (a new user, or fresh events), learned by
  /// `fold_in_epochs` SGD passes of the model's own loss on a vector that starts at zero, with
  /// the item factors and biases fixed; each entry's update is scaled by its weight (all 1 when
  /// `weights` is empty). Negatives follow the training distribution (sample_alpha) and avoid
  /// the history when verify_negatives is set. Deterministic: the same history, weights and
  /// config seed give the same vector. Items outside [0, num_items()) carry no factors and are
  /// ignored, as are zero weights; with nothing left the vector is zero.
  /// @throws recsys::invalid_argument if not fitted, if weights is neither empty nor of
  ///         items.size() entries, or if a weight is negative or not finite.
  [[nodiscard]] vector_type fold_in(std::span<const index_t> items, std::span<const score_t> weights = {}) const;

  /// Recommends for a history given at query time (the history_recommender concept): the top-k
  /// items for fold_in(items, weights), excluding the history items when opts.exclude_seen.
  /// A history without any known item (or only zero weights) gets the popularity ranking.
  /// Thread-safe; cost: fold_in_epochs x |history| x (1 or up to max_trials) dot products of
  /// length `factors`, plus one pass over the catalogue.
  /// @throws recsys::invalid_argument as fold_in, or if k < 0.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const;

 private:
  static constexpr const char* stage_name() noexcept { return detail::is_warp_config<Config> ? "warp" : "bpr"; }

  static void check_finite(const row_matrix<float>& users, const row_matrix<float>& items,
                           const recsys::vector<float>& bias, int epoch, const detail::pairwise_settings& s,
                           const std::string& where);

  void known_history(std::span<const index_t> items, std::span<const score_t> weights, const char* where,
                     std::vector<index_t>& hist, std::vector<float>& w) const;

  vector_type fold_in_known(const std::vector<index_t>& hist, const std::vector<float>& w) const;

  Config config_;
  std::vector<pairwise_epoch> history_;
  alias_table negative_table_;
  int best_epoch_ = -1;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/bpr-inl.hpp>
#else
namespace recsys {
extern template void set_param<>(bpr_config&, std::string_view, std::string_view);
extern template void set_param<>(warp_config&, std::string_view, std::string_view);
extern template void set_param<>(bpr_config&, std::string_view);
extern template void set_param<>(warp_config&, std::string_view);
extern template std::vector<pairwise_param> bpr_params<>(const bpr_config&);
extern template std::vector<pairwise_param> warp_params<>(const warp_config&);
extern template void validate<>(const bpr_config&);
extern template void validate<>(const warp_config&);
extern template class pairwise_model<bpr_config>;
extern template class pairwise_model<warp_config>;
}  // namespace recsys
#endif

namespace recsys {

static_assert(recommender<bpr_model> && history_recommender<bpr_model> && matrix_trainable<bpr_model>);
static_assert(recommender<warp_model> && history_recommender<warp_model> && matrix_trainable<warp_model>);

}  // namespace recsys

#endif  // RECSYS_MODELS_BPR_HPP
