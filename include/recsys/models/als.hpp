// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ALS_HPP
#define RECSYS_MODELS_ALS_HPP

/// @file
/// recsys::als: implicit-feedback matrix factorisation by alternating least squares
/// (Hu, Koren & Volinsky 2008), with an exact (Cholesky) and a conjugate-gradient solver
/// (Takács, Pilászy & Tikk 2011), frequency-scaled regularisation (Rendle et al. 2021/22),
/// real-time fold-in of new or updated users, and partial refits.
///
/// The objective, over the user x item weight matrix W (weights w >= 0, the stored entries are
/// the observed pairs, p = 1 for them and p = 0 elsewhere):
///
///     L = sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2
///
///     c_ui = 1 + alpha w_ui  (confidence hu, the paper)   or   alpha w_ui  (confidence linear,
///            as the `implicit` library does), and c_ui = 1 for unobserved pairs;
///     lambda_u = regularization * (n_u + unobserved_weight * num_items)^regularization_exponent
///            (n_u = the user's number of interactions; exponent 0 gives a constant lambda),
///            and symmetrically for items.
///
/// Each iteration solves every item against the fixed users, then every user against the
/// fixed items, so the user factors of a fitted model are the solution against the final item
/// factors: folding in a training user reproduces its factors (exactly, with the Cholesky
/// solver). Users and items without interactions get zero factors (and are served by the
/// popularity fallback of recsys::factor_model).
///
/// Factors are kept in the basis where the item factors' Gram matrix Y^T Y is diagonal (its
/// eigenbasis, principal axes first). An orthogonal change of basis changes no score,
/// similarity, explanation or loss; it makes the exact solves and fold-in cheaper (see
/// recsys/detail/als_kernels.hpp and docs/als.md).
///
/// The member definitions are in als-inl.hpp, with the numerical kernels they use
/// (detail/als_kernels.hpp); this header declares (docs/design.md, "How a component is laid
/// out"). als<Scalar> exists for float and double, and the compiled library (recsys::compiled)
/// instantiates both.

#include <recsys/config.hpp>
#include <recsys/detail/param_table.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {
// The kernels of detail/als_kernels.hpp, named by als's private members (als-inl.hpp includes them).
template <class Scalar>
class als_row_solver;
template <class Scalar>
struct als_fixed_side;
template <class Scalar>
struct als_basis;
struct als_row;
enum class als_row_status;
}  // namespace detail

/// How each row's least-squares system is solved.
enum class als_solver {
  cg,       ///< a fixed number of conjugate-gradient steps, warm-started (fast, approximate)
  cholesky  ///< exact solve (Cholesky factorisation of the row's system)
};

/// How an interaction weight w becomes a confidence c.
enum class als_confidence {
  hu,     ///< c = 1 + alpha w (Hu, Koren & Volinsky)
  linear  ///< c = alpha w (the `implicit` library's convention; c < 1 lowers the pair's weight)
};

/// Hyperparameters of recsys::als. Every field maps 1:1 to a `key=value` option of
/// recsys::set_param (the command line's `--set`). Validated (validate()) when a
/// model is built or fitted.
struct als_config {
  index_t factors = 64;                  ///< latent dimensions f (>= 1)
  index_t iterations = 15;               ///< full sweeps (items then users) (>= 1)
  double regularization = 0.1;           ///< lambda (>= 0)
  double regularization_exponent = 1.0;  ///< nu: lambda_u = lambda (n_u + a0 N)^nu; 0 = constant lambda (>= 0)
  double unobserved_weight = 0.0;        ///< a0 in the frequency of the line above (>= 0)
  double alpha = 1.0;                    ///< confidence scale (> 0)
  als_confidence confidence = als_confidence::hu;
  als_solver solver = als_solver::cg;
  index_t cg_steps = 3;       ///< CG steps per row and half-sweep (>= 1)
  std::uint64_t seed = 42;    ///< initialisation seed
  int num_threads = 0;        ///< 0 = default thread count
  double init_scale = 0.1;    ///< initial factors ~ N(0, init_scale^2 / factors) (> 0)
  bool compute_loss = false;  ///< evaluate the objective after every iteration

  /// Checks every field.
  /// @throws recsys::invalid_argument naming the field and its value.
  void validate() const {
    const als_config& c = *this;
    const char* w = "als_config";
    RECSYS_REQUIRE(c.factors >= 1 && c.factors <= 4096, w, "factors must be in [1, 4096] (got ", c.factors, ")");
    RECSYS_REQUIRE(c.iterations >= 1, w, "iterations must be >= 1 (got ", c.iterations, ")");
    RECSYS_REQUIRE(std::isfinite(c.regularization) && c.regularization >= 0, w,
                   "regularization must be finite and >= 0 (got ", c.regularization, ")");
    RECSYS_REQUIRE(std::isfinite(c.regularization_exponent) && c.regularization_exponent >= 0, w,
                   "regularization_exponent must be finite and >= 0 (got ", c.regularization_exponent, ")");
    RECSYS_REQUIRE(std::isfinite(c.unobserved_weight) && c.unobserved_weight >= 0, w,
                   "unobserved_weight must be finite and >= 0 (got ", c.unobserved_weight, ")");
    RECSYS_REQUIRE(std::isfinite(c.alpha) && c.alpha > 0, w, "alpha must be finite and > 0 (got ", c.alpha, ")");
    RECSYS_REQUIRE(c.confidence == als_confidence::hu || c.confidence == als_confidence::linear, w,
                   "confidence must be hu or linear (got ", static_cast<int>(c.confidence), ")");
    RECSYS_REQUIRE(c.solver == als_solver::cg || c.solver == als_solver::cholesky, w,
                   "solver must be cg or cholesky (got ", static_cast<int>(c.solver), ")");
    RECSYS_REQUIRE(c.cg_steps >= 1, w, "cg_steps must be >= 1 (got ", c.cg_steps, ")");
    RECSYS_REQUIRE(c.num_threads >= 0, w, "num_threads must be >= 0 (got ", c.num_threads, ")");
    RECSYS_REQUIRE(std::isfinite(c.init_scale) && c.init_scale > 0, w, "init_scale must be finite and > 0 (got ",
                   c.init_scale, ")");
  }
};

namespace detail {
struct als_solver_names {
  static constexpr std::pair<std::string_view, als_solver> values[] = {{"cg", als_solver::cg},
                                                                       {"cholesky", als_solver::cholesky}};
};
struct als_confidence_names {
  static constexpr std::pair<std::string_view, als_confidence> values[] = {{"hu", als_confidence::hu},
                                                                           {"linear", als_confidence::linear}};
};
constexpr std::int64_t als_index_max = std::numeric_limits<index_t>::max();

/// als_config's hyperparameters, once (detail/param_table.hpp): set_param, als_param_keys and
/// als_params are derived from this table.
inline constexpr std::array als_fields{
    int_field<&als_config::factors, 1, 4096>("factors", "latent dimensions"),
    int_field<&als_config::iterations, 1, als_index_max>("iterations", "full sweeps: items, then users"),
    real_field<&als_config::regularization>("regularization", "lambda"),
    real_field<&als_config::regularization_exponent>("regularization_exponent",
                                                     "nu in lambda_u = lambda (n_u + a0 N)^nu; 0 = constant lambda"),
    real_field<&als_config::unobserved_weight>("unobserved_weight", "a0 in the same formula"),
    real_field<&als_config::alpha>("alpha", "confidence scale"),
    choice_field<&als_config::confidence, als_confidence_names>("confidence",
                                                                "hu: c = 1 + alpha w; linear: c = alpha w"),
    choice_field<&als_config::solver, als_solver_names>("solver",
                                                        "cg: fixed warm-started CG steps; cholesky: exact solves"),
    int_field<&als_config::cg_steps, 1, als_index_max>("cg_steps", "CG steps per row and half-sweep"),
    u64_field<&als_config::seed>("seed", "initialisation seed"),
    int_field<&als_config::num_threads, 0, 65536>("num_threads", "threads (0 = default)"),
    real_field<&als_config::init_scale>("init_scale", "initial factors ~ N(0, init_scale^2 / factors)"),
    bool_field<&als_config::compute_loss>("compute_loss", "evaluate the objective after every iteration"),
};
}  // namespace detail

/// The keys recsys::set_param accepts for an als_config, in documentation order.
inline constexpr std::array<std::string_view, detail::als_fields.size()> als_param_keys =
    detail::field_names(detail::als_fields);

/// Applies one hyperparameter given as text (the command line's `--set key=value`) to an
/// als_config, then validates the whole config. Keys are recsys::als_param_keys: the integer
/// parameters factors, iterations, cg_steps, seed, num_threads; the real ones regularization,
/// regularization_exponent, unobserved_weight, alpha, init_scale; solver = cg | cholesky;
/// confidence = hu | linear; compute_loss = true | false (also 1/0, yes/no, on/off).
/// Values must be complete and exact ("64", "0.01", "1e-3"; no spaces).
/// @throws recsys::invalid_argument for an unknown key (suggesting the nearest one), a malformed
///         value, or a value out of range; the config is then left unchanged.
/// @code
///   recsys::als_config cfg;
///   recsys::set_param(cfg, "factors", "128");
///   recsys::set_param(cfg, "solver=cholesky");
/// @endcode
inline void set_param(als_config& cfg, std::string_view key, std::string_view value) {
  detail::set_param_from(detail::als_fields, cfg, "als::set_param", key, value,
                         [](const als_config& c) { c.validate(); });
}

/// set_param for one "key=value" string.
/// @throws recsys::invalid_argument when there is no '=' or as set_param(cfg, key, value).
inline void set_param(als_config& cfg, std::string_view assignment) {
  const auto [key, value] = detail::split_assignment("als::set_param", assignment);
  set_param(cfg, key, value);
}

/// One hyperparameter of als_config as text: its key for set_param, its value and a one-line
/// help (the recipe registry's recipe_param).
using als_param = recipe_param;

/// Every key set_param accepts, with its value in `cfg` as text (what set_param reads back
/// exactly) and a one-line help, in als_param_keys order. With the default config: the
/// defaults a recipe registry entry lists.
[[nodiscard]] inline std::vector<als_param> als_params(const als_config& cfg = {}) {
  return detail::field_rows<als_param>(detail::als_fields, cfg);
}

/// What one training iteration did (als::training_history()).
struct als_iteration_stats {
  index_t iteration = 0;                                         ///< 0-based
  double loss = std::numeric_limits<double>::quiet_NaN();        ///< objective L (compute_loss)
  double validation = std::numeric_limits<double>::quiet_NaN();  ///< early-stopping metric
  double seconds = 0;          ///< wall time of the two half-sweeps (loss and validation excluded)
  double solve_seconds = 0;    ///< of which in the per-row solves
  double prepare_seconds = 0;  ///< of which in Gram matrices, eigendecompositions and rotations
  double solve_flops = 0;      ///< floating-point operations executed by the per-row solves
};

/// Implicit-feedback ALS. See the file comment for the model and docs/als.md for a guide.
///
/// Thread safety: const queries (recommend, score, similar_*, fold_in, recommend_for_history,
/// explain) may run concurrently; fit and partial_fit may not run concurrently with anything.
///
/// @tparam Scalar float or double (factors and all solves).
/// @code
///   recsys::als_config cfg;
///   cfg.factors = 64;
///   recsys::als<> model(cfg);
///   model.fit(user_items);                                   // csr_matrix, users x items
///   auto top = model.recommend(user, 10);                    // excludes seen items
///   auto live = model.recommend_for_history(items, {}, 10);  // real-time fold-in
/// @endcode
/// (The default Scalar, float, is given in fwd.hpp.)
template <class Scalar>
class als : public factor_model<Scalar> {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "als<Scalar>: float or double");
  using base = factor_model<Scalar>;

 public:
  using typename base::matrix_type;
  using typename base::vector_type;

  /// Why a recommendation was made: the score and the history items that contributed most.
  struct explanation {
    /// The model's score for the item (popularity for an unknown user, NaN for an unknown item).
    score_t score = 0;
    /// History items with their contributions, largest first. With the Cholesky solver the
    /// contributions of all history items sum to the score (up to rounding).
    topk_result contributions;
  };

  als() = default;
  /// @throws recsys::invalid_argument if the config is invalid.
  explicit als(const als_config& config) : config_(config) { config_.validate(); }

  [[nodiscard]] const als_config& config() const noexcept { return config_; }
  /// Replaces the hyperparameters used by the next fit / partial_fit / fold-in.
  void set_config(const als_config& config) {
    config.validate();
    config_ = config;
  }

  /// Per-iteration statistics of the last fit.
  [[nodiscard]] const std::vector<als_iteration_stats>& training_history() const noexcept { return history_; }
  /// Eigenvalues of item_factors()^T item_factors() (diagonal in the model's basis), descending.
  [[nodiscard]] const vector_type& item_gram_eigenvalues() const noexcept { return item_eig_; }

  /// Trains on a users x items matrix of non-negative weights.
  ///
  /// Progress: stages "als: item half-sweep" and "als: user half-sweep" (step = iteration,
  /// done = rows solved), metric "loss" when compute_loss is set. Cancellation is checked
  /// between rows; on cancellation (or a numerical error) the model keeps the factors of the
  /// last completed iteration, or its state before fit() if no iteration completed.
  /// @throws recsys::invalid_argument for an empty matrix or a negative / non-finite weight.
  /// @throws recsys::numerical_error naming the row when its system cannot be solved
  ///         (increase the regularization).
  /// @throws recsys::cancelled when the job is cancelled.
  void fit(const csr_matrix& user_items, const job_control& job = {}) { fit_impl(user_items, job, nullptr); }

  /// fit() with validation-based early stopping (recsys::early_stopping, as BPR/WARP): after
  /// every `stop.every`-th iteration and after the last one, `stop.metric(*this)` is called on
  /// the fully queryable model (higher is better); training stops when `stop.patience`
  /// evaluations in a row did not improve on the best one, and with `stop.restore_best` the
  /// model keeps the factors of the best evaluated iteration (best_iteration();
  /// training_history() lists every iteration that ran). An empty metric means no early
  /// stopping. On cancellation or error with restore_best, the best evaluated iteration so far
  /// is kept.
  /// @throws recsys::invalid_argument if patience or every is below 1, and as fit().
  void fit(const csr_matrix& user_items, const job_control& job, const early_stopping<als>& stop);

  /// The iteration (0-based) whose factors the model holds after early stopping with
  /// restore_best; -1 when the last fit did not stop early on a metric.
  [[nodiscard]] index_t best_iteration() const noexcept { return best_iteration_; }

  /// Writes the trained model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "als", field "scalar" ("float32" / "float64"), the config (als_params text), field
  /// "training" {best_iteration, iterations, losses}, the eigenvalues of the item Gram matrix
  /// (`item_gram_eigenvalues.npy`: the factors are stored in that eigenbasis and every fold-in
  /// uses it) and the factors through factor_model::save_factors.
  /// @throws recsys::invalid_argument if the model is not fitted.
  void save(model_writer& out) const;

  /// Restores a model written by save(): config, the Gram eigenbasis data and the factors. The
  /// model then answers every query (recommend, fold-in, explain, partial_fit) exactly as the
  /// saved one. The per-iteration timing statistics are not kept (training_history() holds the
  /// saved losses only); num_threads keeps this object's value.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in);

  /// Incremental update of a fitted model. `user_items` is the updated interaction matrix: the
  /// existing users and items keep their indices, new ones are appended (rows >= num_users(),
  /// columns >= num_items()). Item rows listed in `items` and all new items are re-solved
  /// (exactly) against the current user factors, then user rows listed in `users` and all new
  /// users against the updated item factors. Other rows keep their factors. On cancellation or
  /// error the model is unchanged.
  /// @throws recsys::invalid_argument if the model is not fitted, the matrix is smaller than
  ///         the model, an index is out of range, or a weight is negative or not finite.
  void partial_fit(const csr_matrix& user_items, std::span<const index_t> users, std::span<const index_t> items = {},
                   const job_control& job = {});

  /// Factors of a user with this history (real-time fold-in: one exact solve against the
  /// item factors, no refit). `weights` empty means weight 1 for every item; duplicate items
  /// are merged by summing their weights; items outside the catalogue are ignored (they have
  /// no factors). A history with no known item gives zero factors. For a training user and its
  /// training row this reproduces user_factors().row(user) (exactly, with the Cholesky solver).
  /// @throws recsys::invalid_argument if the model is not fitted, the sizes differ, or a weight
  ///         is negative or not finite.
  [[nodiscard]] vector_type fold_in(std::span<const index_t> items, std::span<const score_t> weights = {}) const;

  /// Factors of an existing user after new events: its training row plus `new_items` (merged
  /// by summing weights). An unknown user is folded in from the new events alone.
  [[nodiscard]] vector_type fold_in_user(index_t user, std::span<const index_t> new_items,
                                         std::span<const score_t> new_weights = {}) const;

  /// Top-k items for a history given at query time (recsys::history_recommender): fold-in,
  /// then the shared query path; the history's items are excluded when opts.exclude_seen.
  /// A history without any known item gets the popularity ranking.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const;

  /// Which history items made `item` score as it does for `user` (as implicit's explain):
  /// with A_u the user's weighted system, score = y_i . A_u^-1 sum_j c_j y_j, so history item j
  /// contributes c_j y_j . A_u^-1 y_i. Returns the k largest contributions.
  [[nodiscard]] explanation explain(index_t user, index_t item, index_t k = 10) const;

  /// explain() for a history given at query time (the folded-in user's score and contributions).
  [[nodiscard]] explanation explain_history(std::span<const index_t> items, std::span<const score_t> weights,
                                            index_t item, index_t k = 10) const;

 private:
  using solver_t = detail::als_row_solver<Scalar>;
  using side_t = detail::als_fixed_side<Scalar>;
  using basis_t = detail::als_basis<Scalar>;
  using clock = std::chrono::steady_clock;

  struct history {
    std::vector<index_t> items;  // sorted, unique, in the catalogue
    std::vector<score_t> weights;
  };

  struct row_source {  // the side being solved
    const csr_matrix* rows;
    std::vector<index_t> order;  // non-empty rows, most interactions first
    std::vector<index_t> empty;  // rows without interactions
    std::vector<Scalar> lambda;
    const char* noun;  // "user" / "item"
  };

  void require_fitted(const char* where) const;

  static double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

  /// lambda_r = regularization * (n_r + unobserved_weight * others)^exponent
  Scalar row_lambda(Eigen::Index n, Eigen::Index others) const;

  static void check_weights(const csr_matrix& m, const char* where);

  row_source make_source(const csr_matrix& m, Eigen::Index others, const char* noun) const;

  static detail::als_row row_of(const csr_matrix& m, index_t r);

  side_t make_side(const matrix_type& factors, const basis_t& b) const;

  [[noreturn]] void throw_row_error(const char* where, detail::als_row_status st, const std::string& subject,
                                    double lambda, const side_t& side) const;

  /// Solves the rows of `src` against `side` into `out`. CG updates `out` in place (warm start).
  /// Returns the executed flops.
  /// Rows advance `rep` (the fit's one progress stage); `what` and `iteration` name the
  /// half-sweep in error messages.
  double half_sweep(const char* where, const row_source& src, const side_t& side, matrix_type& out, bool cg,
                    progress_reporter& rep, const char* what, index_t iteration, std::vector<solver_t>& scratch) const;

  matrix_type init_factors(const row_source& src, index_t f, std::string_view tag) const;

  double objective(const row_source& users, const row_source& items, const matrix_type& x, const matrix_type& y,
                   const Eigen::MatrixXd& gram_x, const Eigen::MatrixXd& gram_y) const;

  /// Makes (x, y, eig) the model's state.
  void install(matrix_type x, matrix_type y, const basis_t& b, const csr_matrix& seen, bool same_seen);

  void fit_impl(const csr_matrix& input, const job_control& job, const early_stopping<als>* stop);

  // --- fold-in / explain -------------------------------------------------------------------

  struct row_ref {
    std::span<const index_t> items;
    std::span<const score_t> weights;
  };
  row_ref user_row(index_t user) const;

  history normalise_history(const char* where, std::span<const index_t> items, std::span<const score_t> weights,
                            row_ref base_row) const;

  basis_t query_basis() const;

  vector_type solve_history(const char* where, const history& h, const Scalar* rhs = nullptr) const;

  explanation explain_history_impl(const history& h, index_t item, index_t k, const vector_type& x) const;

  als_config config_{};
  std::vector<als_iteration_stats> history_;
  index_t best_iteration_ = -1;
  vector_type item_eig_;
  double item_eig_min_ = 0.0;
  double item_eig_max_ = 0.0;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/als-inl.hpp>
#else
namespace recsys {
extern template class als<float>;
extern template class als<double>;
}  // namespace recsys
#endif

#endif  // RECSYS_MODELS_ALS_HPP
