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

#include <recsys/data/sessions.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/detail/session_gru_trainer.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <concepts>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys {

/// Training objective (GRU4Rec's `loss`).
enum class session_gru_loss {
  cross_entropy,  ///< "cross-entropy": softmax over the sampled candidates (logQ optional)
  bpr_max,        ///< "bpr-max": BPR against the softmax-weighted negatives, with score regularisation
  top1_max,       ///< "top1-max": TOP1 against the softmax-weighted negatives
};

/// Optimiser (`optimizer`).
enum class session_gru_optimizer {
  adagrad,  ///< "adagrad": Adagrad with classical momentum on the step (GRU4Rec's IndexedAdagradM)
  adam,     ///< "adam": Adam with bias correction
};

/// Hyperparameters, named as GRU4Rec names them (the keys of set_param; defaults are GRU4Rec's
/// own defaults). Validated by validate() (called by session_gru::fit).
struct session_gru_config {
  // --- network ---
  std::vector<index_t> layers{100};  ///< `layers`: GRU layer sizes, input side first ("100", "100/100")
  index_t embedding = 0;             ///< `embedding`: width of a separate item embedding; 0 = none
  bool constrained_embedding = true; ///< `constrained_embedding`: input embedding = output weights
  // --- loss ---
  session_gru_loss loss = session_gru_loss::cross_entropy;  ///< `loss`
  double logq = 0.0;                 ///< `logq`: logQ correction strength (cross-entropy only)
  double bpreg = 1.0;                ///< `bpreg`: BPR-max score regularisation
  double elu_param = 0.5;            ///< `elu_param`: ELU on the scores for BPR-max; 0 = linear
  // --- negative sampling ---
  index_t n_sample = 2048;           ///< `n_sample`: shared negatives per mini-batch
  double sample_alpha = 0.5;         ///< `sample_alpha`: negatives drawn ∝ support^sample_alpha
  // --- optimisation ---
  index_t batch_size = 64;           ///< `batch_size`: concurrent sessions per mini-batch
  double dropout_p_embed = 0.0;      ///< `dropout_p_embed` (alias `dropout_embed`)
  double dropout_p_hidden = 0.0;     ///< `dropout_p_hidden` (alias `dropout_hidden`)
  session_gru_optimizer optimizer = session_gru_optimizer::adagrad;  ///< `optimizer`
  double learning_rate = 0.05;       ///< `learning_rate`
  double momentum = 0.0;             ///< `momentum` (Adagrad only)
  double adagrad_epsilon = 1e-6;     ///< `adagrad_epsilon`
  double adam_beta1 = 0.9;           ///< `adam_beta1`
  double adam_beta2 = 0.999;         ///< `adam_beta2`
  double adam_epsilon = 1e-8;        ///< `adam_epsilon`
  index_t n_epochs = 10;             ///< `n_epochs` (alias `epochs`)
  // --- HRNN ---
  bool hrnn = false;                 ///< `hrnn`: user-level GRU across a user's sessions
  index_t user_hidden = 0;           ///< `user_hidden`: user GRU size; 0 = the last layer's size
  // --- run ---
  std::uint64_t seed = 42;           ///< `seed`: initialisation, negatives and dropout
  int num_threads = 0;               ///< `num_threads`: 0 = default
  index_t progress_every = 100;      ///< `progress_every`: refresh the reported running loss every N mini-batches

  /// Checks every value and the combinations.
  /// @throws recsys::invalid_argument naming the parameter and the value.
  void validate() const;
};

/// GRU4Rec's published RSC15 parameter file (paramfiles/rsc15_xe_shared_100_best.py):
/// cross-entropy, constrained embedding, layers 100, batch 32, dropout 0 / 0.4, learning rate 0.2,
/// momentum 0.2, n_sample 2048, sample_alpha 0.5, logq 1, 10 epochs.
[[nodiscard]] inline session_gru_config gru4rec_rsc15_config() {
  session_gru_config c;
  c.loss = session_gru_loss::cross_entropy;
  c.constrained_embedding = true;
  c.embedding = 0;
  c.layers = {100};
  c.batch_size = 32;
  c.dropout_p_embed = 0.0;
  c.dropout_p_hidden = 0.4;
  c.learning_rate = 0.2;
  c.momentum = 0.2;
  c.n_sample = 2048;
  c.sample_alpha = 0.5;
  c.logq = 1.0;
  c.n_epochs = 10;
  return c;
}

namespace detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

inline constexpr const char* session_gru_where = "session_gru::set_param";

inline std::vector<index_t> parse_layers(std::string_view key, std::string_view v) {
  if (!v.empty() && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
  std::vector<index_t> out;
  while (true) {
    const std::size_t cut = v.find_first_of("/,");
    out.push_back(static_cast<index_t>(parse_int(session_gru_where, key, trim(v.substr(0, cut)), 1, 1 << 20)));
    if (cut == std::string_view::npos) break;
    v.remove_prefix(cut + 1);
  }
  return out;
}

inline double parse_in(std::string_view key, std::string_view v, double lo, double hi, bool hi_open) {
  const double x = parse_double(session_gru_where, key, v);
  RECSYS_REQUIRE(x >= lo && (hi_open ? x < hi : x <= hi), session_gru_where, "'", key, "' must be in [", lo, ", ", hi,
                 hi_open ? ")" : "]", " (got ", x, ")");
  return x;
}

inline double parse_positive(std::string_view key, std::string_view v) {
  const double x = parse_double(session_gru_where, key, v);
  RECSYS_REQUIRE(x > 0, session_gru_where, "'", key, "' must be > 0 (got ", x, ")");
  return x;
}

}  // namespace detail

/// Sets one hyperparameter from strings, as the CLI's `--set key=value` does (recipe gru4rec). Values are parsed
/// strictly (the whole string must be a value of the right type; surrounding blanks are ignored)
/// and range-checked; combinations are checked by session_gru_config::validate().
///
/// Keys (see session_gru_config; GRU4Rec spellings): loss (cross-entropy | bpr-max | top1-max),
/// layers ("100", "100/100" as GRU4Rec's -ps, "100,100", "[100,100]"), hidden (sets every layer's
/// size), embedding (integer, or "layersize" = the first layer's size), constrained_embedding,
/// batch_size, dropout_p_embed | dropout_embed, dropout_p_hidden | dropout_hidden, learning_rate,
/// momentum, optimizer (adagrad | adam), n_sample, sample_alpha, logq, bpreg, elu_param,
/// n_epochs | epochs, adagrad_epsilon, adam_beta1, adam_beta2, adam_epsilon, hrnn, user_hidden,
/// seed, num_threads, progress_every. Booleans: true/false, 1/0, yes/no, on/off, True/False.
/// @throws recsys::invalid_argument for an unknown key (the message lists the known ones), an
///         unparsable value or a value out of range.
inline void set_param(session_gru_config& c, std::string_view key, std::string_view value) {
  using namespace detail;
  constexpr const char* where = session_gru_where;
  key = trim(key);
  std::string_view v = trim(value);
  if (v == "True") v = "true";  // GRU4Rec's Python spelling
  if (v == "False") v = "false";
  auto count = [&](std::int64_t lo, std::int64_t hi) { return static_cast<index_t>(parse_int(where, key, v, lo, hi)); };
  if (key == "loss") {
    c.loss = parse_choice<session_gru_loss>(where, key, v,
                                            {{"cross-entropy", session_gru_loss::cross_entropy},
                                             {"bpr-max", session_gru_loss::bpr_max},
                                             {"top1-max", session_gru_loss::top1_max}});
  } else if (key == "layers") {
    c.layers = parse_layers(key, v);
  } else if (key == "hidden") {
    const index_t h = count(1, 1 << 20);
    for (auto& l : c.layers) l = h;
  } else if (key == "embedding") {
    c.embedding = v == "layersize" ? (c.layers.empty() ? 0 : c.layers.front()) : count(0, 1 << 20);
  } else if (key == "constrained_embedding") {
    c.constrained_embedding = parse_bool(where, key, v);
  } else if (key == "batch_size") {
    c.batch_size = count(1, 1 << 20);
  } else if (key == "dropout_p_embed" || key == "dropout_embed") {
    c.dropout_p_embed = parse_in(key, v, 0.0, 1.0, true);
  } else if (key == "dropout_p_hidden" || key == "dropout_hidden") {
    c.dropout_p_hidden = parse_in(key, v, 0.0, 1.0, true);
  } else if (key == "learning_rate") {
    c.learning_rate = parse_positive(key, v);
  } else if (key == "momentum") {
    c.momentum = parse_in(key, v, 0.0, 1.0, true);
  } else if (key == "optimizer") {
    c.optimizer = parse_choice<session_gru_optimizer>(
        where, key, v, {{"adagrad", session_gru_optimizer::adagrad}, {"adam", session_gru_optimizer::adam}});
  } else if (key == "n_sample") {
    c.n_sample = count(0, 1 << 24);
  } else if (key == "sample_alpha") {
    c.sample_alpha = parse_in(key, v, 0.0, 1.0, false);
  } else if (key == "logq") {
    c.logq = parse_in(key, v, 0.0, 1e6, false);
  } else if (key == "bpreg") {
    c.bpreg = parse_in(key, v, 0.0, 1e6, false);
  } else if (key == "elu_param") {
    c.elu_param = parse_in(key, v, 0.0, 1e6, false);
  } else if (key == "n_epochs" || key == "epochs") {
    c.n_epochs = count(1, 1 << 20);
  } else if (key == "adagrad_epsilon") {
    c.adagrad_epsilon = parse_positive(key, v);
  } else if (key == "adam_beta1") {
    c.adam_beta1 = parse_in(key, v, 0.0, 1.0, true);
  } else if (key == "adam_beta2") {
    c.adam_beta2 = parse_in(key, v, 0.0, 1.0, true);
  } else if (key == "adam_epsilon") {
    c.adam_epsilon = parse_positive(key, v);
  } else if (key == "hrnn") {
    c.hrnn = parse_bool(where, key, v);
  } else if (key == "user_hidden") {
    c.user_hidden = count(0, 1 << 20);
  } else if (key == "seed") {
    std::uint64_t x = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    RECSYS_REQUIRE(!v.empty() && ec == std::errc() && ptr == v.data() + v.size(), where,
                   "'seed' needs an unsigned 64-bit integer (got '", v, "')");
    c.seed = x;
  } else if (key == "num_threads") {
    c.num_threads = static_cast<int>(parse_int(where, key, v, 0, 1 << 16));
  } else if (key == "progress_every") {
    c.progress_every = count(1, std::numeric_limits<index_t>::max());
  } else {
    unknown_param(where, key,
                  {"loss", "layers", "hidden", "embedding", "constrained_embedding", "batch_size", "dropout_p_embed",
                   "dropout_embed", "dropout_p_hidden", "dropout_hidden", "learning_rate", "momentum", "optimizer",
                   "n_sample", "sample_alpha", "logq", "bpreg", "elu_param", "n_epochs", "epochs", "adagrad_epsilon",
                   "adam_beta1", "adam_beta2", "adam_epsilon", "hrnn", "user_hidden", "seed", "num_threads",
                   "progress_every"});
  }
}

/// set_param from one "key=value" string (the form of the CLI's `--set`).
/// @throws recsys::invalid_argument when there is no '=' or as set_param(config, key, value).
inline void set_param(session_gru_config& c, std::string_view assignment) {
  const std::size_t eq = assignment.find('=');
  RECSYS_REQUIRE(eq != std::string_view::npos, detail::session_gru_where, "expected key=value, got '", assignment, "'");
  set_param(c, assignment.substr(0, eq), assignment.substr(eq + 1));
}

/// The configuration as canonical (key, value) strings, GRU4Rec names; set_param(key, value) on
/// each reproduces it (for manifests and logs).
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> params(const session_gru_config& c) {
  std::string layers;
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    if (i) layers.push_back('/');
    layers.append(std::to_string(c.layers[i]));
  }
  const char* loss = c.loss == session_gru_loss::cross_entropy ? "cross-entropy"
                     : c.loss == session_gru_loss::bpr_max     ? "bpr-max"
                                                               : "top1-max";
  auto format_double = [](double x) { return detail::str(x); };
  return {{"loss", loss},
          {"layers", layers},
          {"embedding", std::to_string(c.embedding)},
          {"constrained_embedding", c.constrained_embedding ? "true" : "false"},
          {"batch_size", std::to_string(c.batch_size)},
          {"dropout_p_embed", format_double(c.dropout_p_embed)},
          {"dropout_p_hidden", format_double(c.dropout_p_hidden)},
          {"learning_rate", format_double(c.learning_rate)},
          {"momentum", format_double(c.momentum)},
          {"optimizer", c.optimizer == session_gru_optimizer::adagrad ? "adagrad" : "adam"},
          {"n_sample", std::to_string(c.n_sample)},
          {"sample_alpha", format_double(c.sample_alpha)},
          {"logq", format_double(c.logq)},
          {"bpreg", format_double(c.bpreg)},
          {"elu_param", format_double(c.elu_param)},
          {"n_epochs", std::to_string(c.n_epochs)},
          {"adagrad_epsilon", format_double(c.adagrad_epsilon)},
          {"adam_beta1", format_double(c.adam_beta1)},
          {"adam_beta2", format_double(c.adam_beta2)},
          {"adam_epsilon", format_double(c.adam_epsilon)},
          {"hrnn", c.hrnn ? "true" : "false"},
          {"user_hidden", std::to_string(c.user_hidden)},
          {"seed", std::to_string(c.seed)},
          {"num_threads", std::to_string(c.num_threads)},
          {"progress_every", std::to_string(c.progress_every)}};
}

inline void session_gru_config::validate() const {
  constexpr std::string_view where = "session_gru_config";
  RECSYS_REQUIRE(!layers.empty(), where, "layers must not be empty");
  for (index_t h : layers) RECSYS_REQUIRE(h > 0, where, "every layer size must be > 0 (got ", h, ")");
  RECSYS_REQUIRE(embedding >= 0, where, "embedding must be >= 0 (got ", embedding, ")");
  RECSYS_REQUIRE(!(constrained_embedding && embedding > 0), where, "embedding = ", embedding,
                 " needs constrained_embedding = false (a constrained model embeds items with its output weights)");
  RECSYS_REQUIRE(batch_size > 0, where, "batch_size must be > 0 (got ", batch_size, ")");
  RECSYS_REQUIRE(dropout_p_embed >= 0 && dropout_p_embed < 1, where, "dropout_p_embed must be in [0, 1) (got ",
                 dropout_p_embed, ")");
  RECSYS_REQUIRE(dropout_p_hidden >= 0 && dropout_p_hidden < 1, where, "dropout_p_hidden must be in [0, 1) (got ",
                 dropout_p_hidden, ")");
  RECSYS_REQUIRE(learning_rate > 0 && std::isfinite(learning_rate), where, "learning_rate must be > 0 (got ",
                 learning_rate, ")");
  RECSYS_REQUIRE(momentum >= 0 && momentum < 1, where, "momentum must be in [0, 1) (got ", momentum, ")");
  RECSYS_REQUIRE(optimizer == session_gru_optimizer::adagrad || momentum == 0, where, "momentum = ", momentum,
                 " applies to optimizer = adagrad only (Adam has its own moments)");
  RECSYS_REQUIRE(adagrad_epsilon > 0, where, "adagrad_epsilon must be > 0 (got ", adagrad_epsilon, ")");
  RECSYS_REQUIRE(adam_beta1 >= 0 && adam_beta1 < 1 && adam_beta2 >= 0 && adam_beta2 < 1, where,
                 "adam_beta1 and adam_beta2 must be in [0, 1) (got ", adam_beta1, ", ", adam_beta2, ")");
  RECSYS_REQUIRE(adam_epsilon > 0, where, "adam_epsilon must be > 0 (got ", adam_epsilon, ")");
  RECSYS_REQUIRE(n_sample >= 0, where, "n_sample must be >= 0 (got ", n_sample, ")");
  RECSYS_REQUIRE(sample_alpha >= 0 && sample_alpha <= 1, where, "sample_alpha must be in [0, 1] (got ", sample_alpha, ")");
  RECSYS_REQUIRE(logq >= 0 && std::isfinite(logq), where, "logq must be >= 0 (got ", logq, ")");
  RECSYS_REQUIRE(logq == 0 || loss == session_gru_loss::cross_entropy, where, "logq = ", logq,
                 " applies to loss = cross-entropy only");
  RECSYS_REQUIRE(bpreg >= 0 && std::isfinite(bpreg), where, "bpreg must be >= 0 (got ", bpreg, ")");
  RECSYS_REQUIRE(elu_param >= 0 && std::isfinite(elu_param), where, "elu_param must be >= 0 (got ", elu_param, ")");
  RECSYS_REQUIRE(n_epochs > 0, where, "n_epochs must be > 0 (got ", n_epochs, ")");
  RECSYS_REQUIRE(user_hidden >= 0, where, "user_hidden must be >= 0 (got ", user_hidden, ")");
  RECSYS_REQUIRE(num_threads >= 0, where, "num_threads must be >= 0 (got ", num_threads, ")");
  RECSYS_REQUIRE(progress_every > 0, where, "progress_every must be > 0 (got ", progress_every, ")");
}

/// Every trained array of a session GRU, as plain row-major Eigen matrices (float):
///   - output_weights (n_items × H_last) and output_bias (n_items): scores = h·output_weightsᵀ + output_bias;
///     with constrained embedding, output_weights.row(item) is also the item's input embedding;
///   - item_embedding (n_items × embedding) when the model has a separate embedding;
///   - layers[l].weight_ih (inputs × 3H), weight_hh (H × 3H), bias_ih / bias_hh (3H), gate columns
///     [reset | update | new] (PyTorch's nn.GRUCell weights transposed); with one-hot input,
///     layers[0].weight_ih is an n_items × 3H table;
///   - HRNN: user_gru (H_last × 3U, U × 3U, 3U, 3U), user_init_weights[l] (U × H_l) and
///     user_init_bias[l] (H_l).
using session_gru_network = detail::gru_network<score_t>;

/// Per-epoch account of a fit.
struct session_gru_epoch {
  double loss = 0;            ///< mean training loss per prediction over the epoch
  double seconds = 0;         ///< wall time of the epoch
  std::int64_t events = 0;    ///< training events (all events of the training sessions)
  std::int64_t predictions = 0;  ///< (input, next item) pairs trained on
  std::int64_t batches = 0;   ///< mini-batches
  std::int64_t parallel_batches = 0;  ///< mini-batches run with more than one thread
};

class session_gru;

/// The real-time state of one session (GRU4Rec's hidden state, PutEvents-style): started by
/// session_gru::start_session, advanced by session_gru::put_event, queried by
/// session_gru::recommend. It also carries the scratch space of its queries, so one state is
/// used by one thread at a time; different states may be used concurrently with one model.
class session_gru_state {
 public:
  session_gru_state() = default;

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
  friend class session_gru;
  std::vector<detail::gru_matrix<score_t>> hidden_;  // 1 × H_l each
  detail::gru_matrix<score_t> user_state_;           // 1 × U (HRNN)
  std::vector<index_t> items_;
  index_t user_ = invalid_index;
  const void* owner_ = nullptr;
  std::uint64_t model_version_ = 0;
  detail::gru_eval_workspace<score_t> ws_;
  std::vector<score_t> scores_;
  detail::topk_heap heap_;
};

/// GRU4Rec-style session GRU with optional HRNN user state (see the file comment).
class session_gru {
 public:
  using config_type = session_gru_config;

  /// An unfitted model. The configuration is validated by fit().
  explicit session_gru(session_gru_config config = {}) : cfg_(std::move(config)) {}

  /// A fitted model from arrays exported earlier (see session_gru_network, item_support(),
  /// user_states()). Shapes are checked against the configuration.
  /// @throws recsys::invalid_argument on an invalid configuration or a shape mismatch.
  session_gru(session_gru_config config, session_gru_network network, std::vector<std::int64_t> item_support,
              row_matrix<score_t> user_states = {})
      : cfg_(std::move(config)) {
    cfg_.validate();
    check_network(network, static_cast<index_t>(item_support.size()));
    RECSYS_REQUIRE(!cfg_.hrnn || user_states.size() == 0 || user_states.cols() == network.user_hidden(),
                   "session_gru", "user_states has ", user_states.cols(), " columns, the user GRU has ",
                   network.user_hidden());
    const detail::gru_input want = cfg_.constrained_embedding ? detail::gru_input::constrained
                                   : cfg_.embedding > 0       ? detail::gru_input::embedding
                                                              : detail::gru_input::one_hot;
    RECSYS_REQUIRE(network.input == want, "session_gru",
                   "the network's input kind does not match constrained_embedding / embedding of the configuration");
    RECSYS_REQUIRE(network.hrnn() == cfg_.hrnn, "session_gru", "the network ", network.hrnn() ? "has" : "has no",
                   " user GRU but hrnn = ", cfg_.hrnn);
    for (std::size_t i = 0; i < item_support.size(); ++i) {
      RECSYS_REQUIRE(item_support[i] >= 0, "session_gru", "item_support[", i, "] is negative");
      if (item_support[i] == 0) unknown_items_.push_back(static_cast<index_t>(i));
    }
    net_ = std::move(network);
    refresh_scoring_weights();
    support_ = std::move(item_support);
    user_states_ = std::move(user_states);
    fitted_ = true;
    ++version_;
  }

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
  /// calls w.commit().
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
  [[nodiscard]] static session_gru load(const model_reader& r);

  // --- real time ---------------------------------------------------------------------------

  /// A new session. With HRNN the session starts from the user's trained state (users unknown to
  /// the model, or invalid_index, start from the zero user state); otherwise from zero.
  /// @throws recsys::invalid_argument if the model is not fitted.
  [[nodiscard]] session_gru_state start_session(index_t user = invalid_index) const {
    require_fitted("start_session");
    session_gru_state s;
    s.user_ = user;
    init_state(s, user >= 0 && user < num_users() ? user_states_.row(user).data() : nullptr);
    return s;
  }

  /// HRNN: a new session from a given user state c (e.g. one kept by the caller from
  /// session_gru_state::user_state() of an earlier next_session()).
  /// @throws recsys::invalid_argument without HRNN or when c has the wrong size.
  [[nodiscard]] session_gru_state start_session_from_user_state(std::span<const score_t> c,
                                                                index_t user = invalid_index) const {
    require_fitted("start_session_from_user_state");
    RECSYS_REQUIRE(net_.hrnn(), "session_gru::start_session_from_user_state", "the model has no user GRU (hrnn = false)");
    RECSYS_REQUIRE(static_cast<Eigen::Index>(c.size()) == net_.user_hidden(), "session_gru::start_session_from_user_state",
                   "user state has ", c.size(), " values, expected ", net_.user_hidden());
    session_gru_state s;
    s.user_ = user;
    init_state(s, c.data());
    return s;
  }

  /// The session after `finished` for the same user: with HRNN the user state advances with the
  /// finished session (its representation: the session layers' output after its last event);
  /// without HRNN (or when `finished` has no events) it is start_session(finished.user()).
  [[nodiscard]] session_gru_state next_session(const session_gru_state& finished) const {
    check_state(finished, "next_session");
    if (!net_.hrnn() || finished.empty()) {
      if (!net_.hrnn()) return start_session(finished.user());
      return start_session_from_user_state(finished.user_state(), finished.user());
    }
    // Session representation = output of the last layer after the last event (the state's hidden).
    detail::gru_eval_workspace<score_t> ws;
    ws.reserve(net_, 1);
    detail::gru_matrix<score_t> c = finished.user_state_;
    detail::gru_layer_step_eval<score_t>(net_.user_gru, finished.hidden_.back(), c, ws, false);
    session_gru_state s;
    s.user_ = finished.user();
    init_state(s, c.data());
    return s;
  }

  /// Feeds one event. Returns false (and leaves the state unchanged) when the model does not know
  /// the item (never seen in training).
  /// @throws recsys::invalid_argument if the state does not belong to this model.
  bool put_event(session_gru_state& s, index_t item) const {
    check_state(s, "put_event");
    if (!knows_item(item)) return false;
    const index_t it[1] = {item};
    detail::gru_step_eval<score_t>(net_, std::span<const index_t>(it, 1), s.hidden_, s.ws_);
    s.items_.push_back(item);
    return true;
  }

  /// Feeds events in order; returns how many were known (and used).
  std::size_t put_events(session_gru_state& s, std::span<const index_t> items) const {
    std::size_t used = 0;
    for (index_t i : items) used += put_event(s, i) ? 1 : 0;
    return used;
  }

  /// Scores of every item for the session's next event (h·Wᵀ + b). Items unknown to the model
  /// score NaN. The span points into the state's scratch space (valid until its next query).
  std::span<const score_t> scores(session_gru_state& s) const {
    check_state(s, "scores");
    compute_scores(s);
    return s.scores_;
  }

  /// The top-k next items for the session, with scores, sorted by recsys::ranks_before.
  /// Options: exclude_seen drops the items already in this session (set it to false to keep
  /// repeat consumption, which GRU4Rec's evaluation counts); exclude drops given items; include,
  /// when non-empty, restricts the candidates. Items never seen in training are never returned.
  /// @throws recsys::invalid_argument if k < 0 or the state does not belong to this model.
  [[nodiscard]] topk_result recommend(session_gru_state& s, index_t k, const recommend_options& opts = {}) const {
    topk_result out;
    recommend(s, k, opts, out);
    return out;
  }

  /// recommend() into a caller-owned result (no allocation once `out` has capacity k).
  void recommend(session_gru_state& s, index_t k, const recommend_options& opts, topk_result& out) const {
    check_state(s, "recommend");
    RECSYS_REQUIRE(k >= 0, "session_gru::recommend", "k must be >= 0 (got ", k, ")");
    auto& heap = s.heap_;
    heap.reset(std::min(k, num_items()));  // the heap is allocated whole: never more than the catalogue
    if (k == 0) {  // an empty heap is "full" and has no threshold to read
      heap.drain_into(out);
      return;
    }
    const index_t n = num_items();
    if (!opts.include.empty()) {
      // Score only the included items.
      const auto h = s.hidden_.back().row(0);
      for (index_t i : opts.include) {
        if (!knows_item(i) || excluded(s, i, opts)) continue;
        heap.push(net_.output_weights.row(i).dot(h) + net_.output_bias(i), i);
      }
    } else {
      compute_scores(s);
      score_t* sc = s.scores_.data();
      const score_t nan = std::numeric_limits<score_t>::quiet_NaN();
      if (opts.exclude_seen)
        for (index_t i : s.items_) sc[i] = nan;
      for (index_t i : opts.exclude)
        if (i >= 0 && i < n) sc[i] = nan;
      // Blocks of 64 scores: once the heap is full, a block is skipped with one vectorised test
      // when none of its scores beats the current threshold (NaN never does).
      constexpr index_t block = 64;
      for (index_t i0 = 0; i0 < n; i0 += block) {
        const index_t i1 = std::min<index_t>(n, i0 + block);
        if (heap.full()) {
          const score_t thr = heap.threshold();
          int any = 0;
          for (index_t i = i0; i < i1; ++i) any |= sc[i] > thr ? 1 : 0;
          if (!any) continue;
        }
        for (index_t i = i0; i < i1; ++i) {
          const score_t v = sc[i];
          if (v != v) continue;                                    // NaN: excluded or unknown
          if (heap.full() && !(v > heap.threshold())) continue;  // ids ascend: a tie ranks after
          heap.push(v, i);
        }
      }
    }
    heap.drain_into(out);
  }

  /// history_recommender: the top-k next items after replaying `items` as a new anonymous
  /// session (weights are not used by this model and must be empty or match items in size).
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const {
    RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), "session_gru::recommend_for_history", "got ",
                   items.size(), " items but ", weights.size(), " weights");
    session_gru_state s = start_session();
    put_events(s, items);
    return recommend(s, k, opts);
  }

  // --- batch evaluation (recsys::next_item_scorer) -------------------------------------------

  /// Work chunks of score_next_items for a test set (fixed: independent of the thread count).
  [[nodiscard]] std::size_t next_item_chunks(const session_data& test) const {
    require_fitted("next_item_chunks");
    const std::size_t groups = eval_groups(test).first.size() - 1;
    return (groups + eval_chunk_groups - 1) / eval_chunk_groups;
  }

  /// Calls sink for every prediction in chunk `chunk` of `test` (target and scores of all items):
  /// each event but a session's last predicts the next one, from a zero state at the session's
  /// start (HRNN: from the user's state, carried across the user's test sessions). Test items
  /// must be known (evaluate_next_item filters them). Sessions run in session-parallel batches.
  void score_next_items(const session_data& test, std::size_t chunk, const next_item_sink& sink) const {
    require_fitted("score_next_items");
    detail::eigen_serial_scope serial;
    auto [goff, gses] = eval_groups(test);
    const std::size_t groups = goff.size() - 1;
    const std::size_t g0 = chunk * eval_chunk_groups;
    if (g0 >= groups) return;
    const std::size_t g1 = std::min(groups, g0 + eval_chunk_groups);
    const index_t n = num_items();
    const auto rows = static_cast<index_t>(std::clamp<std::int64_t>((std::int64_t{1} << 21) / std::max<index_t>(n, 1), 8,
                                                                     static_cast<std::int64_t>(eval_chunk_groups)));
    std::vector<index_t> group_user;
    if (net_.hrnn())
      for (std::size_t g = 0; g + 1 < goff.size(); ++g)
        group_user.push_back(test.users.empty() ? invalid_index : test.users[static_cast<std::size_t>(gses[static_cast<std::size_t>(goff[g])])]);
    detail::gru_row_walker walker(test, std::move(goff), std::move(gses), rows);
    detail::gru_eval_rows<score_t> ev(net_, rows);
    if (net_.hrnn())
      ev.initial_user = [&](std::int64_t g) -> const score_t* {
        const index_t u = group_user[static_cast<std::size_t>(g)];
        return u >= 0 && u < num_users() ? user_states_.row(u).data() : nullptr;
      };
    row_matrix<score_t> sc(rows, n);
    std::vector<index_t> inputs, targets;
    std::vector<std::uint8_t> first;
    std::vector<std::size_t> sessions, positions;
    const score_t nan = std::numeric_limits<score_t>::quiet_NaN();
    walker.begin(ev, g0, g1);
    while (walker.rows() > 0) {
      walker.fill(inputs, targets, first);
      walker.positions(sessions, positions);
      const auto B = static_cast<Eigen::Index>(inputs.size());
      ev.step(inputs);
      auto s = sc.topRows(B);
      s.noalias() = ev.hidden.back().topRows(B) * net_.output_weights.transpose();
      s.rowwise() += net_.output_bias.transpose();
      for (index_t i : unknown_items_) s.col(i).setConstant(nan);
      for (Eigen::Index b = 0; b < B; ++b) {
        const auto ub = static_cast<std::size_t>(b);
        sink(next_item_prediction{sessions[ub], positions[ub], targets[ub],
                                  std::span<const score_t>(s.row(b).data(), static_cast<std::size_t>(n))});
      }
      walker.advance(ev);
    }
  }

 private:
  static constexpr std::size_t eval_chunk_groups = 512;

  void require_fitted(std::string_view what) const {
    RECSYS_REQUIRE(fitted_, std::string("session_gru::") + std::string(what), "the model is not fitted");
  }

  void check_state(const session_gru_state& s, std::string_view what) const {
    require_fitted(what);
    RECSYS_REQUIRE(s.owner_ == this && s.model_version_ == version_, std::string("session_gru::") + std::string(what),
                   "the session state was not started by this model (or the model was refitted since)");
  }

  static void check_network(const session_gru_network& n, index_t n_items) {
    constexpr std::string_view where = "session_gru";
    RECSYS_REQUIRE(!n.layers.empty(), where, "the network has no layers");
    RECSYS_REQUIRE(n.output_weights.rows() == n_items && n.output_bias.size() == n_items, where,
                   "output_weights / output_bias have ", n.output_weights.rows(), " / ", n.output_bias.size(),
                   " rows for ", n_items, " items");
    RECSYS_REQUIRE(n.output_weights.cols() == n.last_hidden(), where, "output_weights has ", n.output_weights.cols(),
                   " columns, the last layer has ", n.last_hidden());
    Eigen::Index in = 0;
    switch (n.input) {
      case detail::gru_input::constrained: in = n.last_hidden(); break;
      case detail::gru_input::embedding:
        RECSYS_REQUIRE(n.item_embedding.rows() == n_items && n.item_embedding.cols() > 0, where,
                       "item_embedding must be n_items × embedding");
        in = n.item_embedding.cols();
        break;
      case detail::gru_input::one_hot: in = n_items; break;
    }
    for (std::size_t l = 0; l < n.layers.size(); ++l) {
      const auto& w = n.layers[l];
      const Eigen::Index H = w.hidden();
      const Eigen::Index want_in = l == 0 ? in : n.layers[l - 1].hidden();
      RECSYS_REQUIRE(H > 0 && w.weight_hh.cols() == 3 * H && w.weight_ih.rows() == want_in && w.weight_ih.cols() == 3 * H &&
                         w.bias_ih.size() == 3 * H && w.bias_hh.size() == 3 * H,
                     where, "layer ", l, " has inconsistent shapes");
    }
    if (n.hrnn()) {
      const Eigen::Index U = n.user_hidden();
      RECSYS_REQUIRE(n.user_gru.weight_ih.rows() == n.last_hidden() && n.user_gru.weight_ih.cols() == 3 * U &&
                         n.user_gru.weight_hh.cols() == 3 * U && n.user_gru.bias_ih.size() == 3 * U &&
                         n.user_gru.bias_hh.size() == 3 * U && n.user_init_weights.size() == n.layers.size() &&
                         n.user_init_bias.size() == n.layers.size(),
                     where, "the user GRU has inconsistent shapes");
      for (std::size_t l = 0; l < n.layers.size(); ++l)
        RECSYS_REQUIRE(n.user_init_weights[l].rows() == U && n.user_init_weights[l].cols() == n.layers[l].hidden() &&
                           n.user_init_bias[l].size() == n.layers[l].hidden(),
                       where, "user_init ", l, " has inconsistent shapes");
    }
  }

  void init_state(session_gru_state& s, const score_t* c) const {
    s.owner_ = this;
    s.model_version_ = version_;
    s.hidden_.resize(net_.layers.size());
    for (std::size_t l = 0; l < net_.layers.size(); ++l) s.hidden_[l].setZero(1, net_.layers[l].hidden());
    if (net_.hrnn()) {
      s.user_state_.setZero(1, net_.user_hidden());
      if (c) s.user_state_.row(0) = Eigen::Map<const detail::gru_row<score_t>>(c, net_.user_hidden());
      detail::gru_init_from_user<score_t>(net_, s.user_state_, s.hidden_);
    }
    s.ws_.reserve(net_, 1);
    s.scores_.resize(static_cast<std::size_t>(num_items()));
  }

  void compute_scores(session_gru_state& s) const {
    Eigen::Map<detail::gru_col<score_t>> sc(s.scores_.data(), num_items());
    sc.noalias() = scoring_weights_ * s.hidden_.back().row(0).transpose();
    sc += net_.output_bias;
    const score_t nan = std::numeric_limits<score_t>::quiet_NaN();
    for (index_t i : unknown_items_) s.scores_[static_cast<std::size_t>(i)] = nan;
  }

  static bool excluded(const session_gru_state& s, index_t i, const recommend_options& opts) {
    if (opts.exclude_seen && std::find(s.items_.begin(), s.items_.end(), i) != s.items_.end()) return true;
    return std::find(opts.exclude.begin(), opts.exclude.end(), i) != opts.exclude.end();
  }

  /// Groups for session-parallel walking: without HRNN every session is a group; with HRNN the
  /// sessions of one user form a group (users in order of their first session; sessions
  /// without a user are groups of their own).
  [[nodiscard]] std::pair<std::vector<std::int64_t>, std::vector<index_t>> eval_groups(const session_data& d) const {
    return make_groups(d, net_.hrnn(), false);
  }

  static std::pair<std::vector<std::int64_t>, std::vector<index_t>> make_groups(const session_data& d, bool by_user,
                                                                                bool only_trainable) {
    std::vector<std::int64_t> off{0};
    std::vector<index_t> ses;
    if (!by_user) {
      for (std::size_t s = 0; s < d.size(); ++s) {
        if (only_trainable && d.length(s) < 2) continue;
        if (d.length(s) == 0) continue;
        ses.push_back(static_cast<index_t>(s));
        off.push_back(static_cast<std::int64_t>(ses.size()));
      }
      return {std::move(off), std::move(ses)};
    }
    // Users in order of first session; counting sort keeps each user's sessions in time order.
    index_t max_user = -1;
    for (std::size_t s = 0; s < d.size(); ++s)
      if (s < d.users.size()) max_user = std::max(max_user, d.users[s]);
    std::vector<std::int64_t> group_of_user(static_cast<std::size_t>(max_user + 1), -1);
    std::vector<std::int64_t> group_of_session(d.size(), -1);
    std::int64_t groups = 0;
    for (std::size_t s = 0; s < d.size(); ++s) {
      if (d.length(s) == 0) continue;
      const index_t u = s < d.users.size() ? d.users[s] : invalid_index;
      if (u < 0) {
        group_of_session[s] = groups++;
      } else {
        auto& g = group_of_user[static_cast<std::size_t>(u)];
        if (g < 0) g = groups++;
        group_of_session[s] = g;
      }
    }
    std::vector<std::int64_t> counts(static_cast<std::size_t>(groups) + 1, 0);
    for (std::size_t s = 0; s < d.size(); ++s)
      if (group_of_session[s] >= 0) ++counts[static_cast<std::size_t>(group_of_session[s]) + 1];
    for (std::size_t g = 1; g < counts.size(); ++g) counts[g] += counts[g - 1];
    off = counts;
    ses.assign(static_cast<std::size_t>(off.back()), 0);
    for (std::size_t s = 0; s < d.size(); ++s)
      if (group_of_session[s] >= 0) ses[static_cast<std::size_t>(counts[static_cast<std::size_t>(group_of_session[s])]++)] = static_cast<index_t>(s);
    return {std::move(off), std::move(ses)};
  }

  void compute_user_states(const session_gru_network& net, const session_data& train, index_t n_users, int threads,
                           row_matrix<score_t>& out) const;

  // A column-major copy of output_weights for the real-time scores (a GEMV that streams the
  // catalogue column by column: about twice as fast as row by row on large catalogues).
  void refresh_scoring_weights() { scoring_weights_ = net_.output_weights; }

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

inline void session_gru::compute_user_states(const session_gru_network& net, const session_data& train, index_t n_users,
                                             int threads, row_matrix<score_t>& out) const {
  out.setZero(n_users, net.user_hidden());
  const auto groups_csr = make_groups(train, true, false);  // (no structured binding: captured below)
  const std::vector<std::int64_t>& goff = groups_csr.first;
  const std::vector<index_t>& gses = groups_csr.second;
  std::vector<index_t> group_user;
  for (std::size_t g = 0; g + 1 < goff.size(); ++g)
    group_user.push_back(train.users[static_cast<std::size_t>(gses[static_cast<std::size_t>(goff[g])])]);
  const std::size_t groups = group_user.size();
  const std::size_t chunks = (groups + eval_chunk_groups - 1) / eval_chunk_groups;
  parallel_for(0, static_cast<std::int64_t>(chunks), parallel_options{threads, 1, 2}, [&](std::int64_t c) {
    const std::size_t g0 = static_cast<std::size_t>(c) * eval_chunk_groups;
    const std::size_t g1 = std::min(groups, g0 + eval_chunk_groups);
    const auto rows = static_cast<index_t>(g1 - g0);
    detail::gru_row_walker walker(train, goff, gses, rows);
    detail::gru_eval_rows<score_t> ev(net, rows);
    ev.final_user = [&](std::int64_t g, const score_t* cu) {
      const index_t u = group_user[static_cast<std::size_t>(g)];
      if (u >= 0) out.row(u) = Eigen::Map<const detail::gru_row<score_t>>(cu, out.cols());
    };
    std::vector<index_t> inputs, targets;
    std::vector<std::uint8_t> first;
    walker.begin(ev, g0, g1);
    while (walker.rows() > 0) {
      walker.fill(inputs, targets, first);
      ev.step(inputs);
      walker.advance(ev);
    }
  });
}

template <class Sessions>
  requires std::same_as<Sessions, session_data>
void session_gru::fit(const Sessions& train, const job_control& job) {
  cfg_.validate();
  constexpr std::string_view where = "session_gru::fit";
  index_t n_items = train.num_items;
  index_t max_item = -1;
  for (std::size_t e = 0; e < train.items.size(); ++e) {
    const index_t i = train.items[e];
    RECSYS_REQUIRE(i >= 0, where, "event ", e, " has item index ", i);
    max_item = std::max(max_item, i);
  }
  if (n_items == 0) n_items = max_item + 1;
  RECSYS_REQUIRE(max_item < n_items, where, "item index ", max_item, " out of range [0, ", n_items, ")");
  RECSYS_REQUIRE(train.offsets.size() == train.size() + 1 && train.offsets.back() == static_cast<std::int64_t>(train.items.size()),
                 where, "session offsets do not match the events");
  std::vector<std::int64_t> support(static_cast<std::size_t>(n_items), 0);
  for (index_t i : train.items) ++support[static_cast<std::size_t>(i)];
  std::vector<double> support_d(support.begin(), support.end());

  index_t n_users = 0;
  if (cfg_.hrnn) {
    for (std::size_t s = 0; s < train.size() && s < train.users.size(); ++s) n_users = std::max(n_users, train.users[s] + 1);
    RECSYS_REQUIRE(n_users > 0, where, "hrnn = true needs sessions with users (every session has user -1)");
  }
  auto [goff, gses] = make_groups(train, cfg_.hrnn, !cfg_.hrnn);
  detail::gru_row_walker walker(train, std::move(goff), std::move(gses), cfg_.batch_size);
  const std::int64_t pairs = walker.pairs();
  RECSYS_REQUIRE(pairs > 0, where, "no session has 2 or more events: nothing to train on");

  const int threads = max_threads(parallel_options{cfg_.num_threads});
  detail::eigen_serial_scope serial;

  // Network, GRU4Rec-style initialisation.
  std::vector<Eigen::Index> sizes(cfg_.layers.begin(), cfg_.layers.end());
  const detail::gru_input input = cfg_.constrained_embedding ? detail::gru_input::constrained
                                  : cfg_.embedding > 0       ? detail::gru_input::embedding
                                                             : detail::gru_input::one_hot;
  const Eigen::Index user_hidden = cfg_.hrnn ? (cfg_.user_hidden > 0 ? cfg_.user_hidden : sizes.back()) : 0;
  session_gru_network work = session_gru_network::make(input, n_items, sizes, cfg_.embedding, user_hidden, cfg_.seed);

  detail::gru_train_options to;
  to.loss = cfg_.loss == session_gru_loss::cross_entropy ? detail::gru_loss::cross_entropy
            : cfg_.loss == session_gru_loss::bpr_max     ? detail::gru_loss::bpr_max
                                                         : detail::gru_loss::top1_max;
  to.optimizer = cfg_.optimizer == session_gru_optimizer::adagrad ? detail::gru_optimizer::adagrad : detail::gru_optimizer::adam;
  to.learning_rate = cfg_.learning_rate;
  to.momentum = cfg_.momentum;
  to.adagrad_epsilon = cfg_.adagrad_epsilon;
  to.adam_beta1 = cfg_.adam_beta1;
  to.adam_beta2 = cfg_.adam_beta2;
  to.adam_epsilon = cfg_.adam_epsilon;
  to.dropout_embed = cfg_.dropout_p_embed;
  to.dropout_hidden = cfg_.dropout_p_hidden;
  to.logq = cfg_.logq;
  to.sample_alpha = cfg_.sample_alpha;
  to.bpreg = cfg_.bpreg;
  to.elu_param = cfg_.elu_param;
  to.batch_size = cfg_.batch_size;
  to.n_sample = cfg_.n_sample;
  to.seed = cfg_.seed;
  to.num_threads = threads;
  detail::gru_trainer<score_t> trainer(work, to, support_d);
  detail::gru_negative_sampler sampler(support_d, cfg_.sample_alpha, cfg_.n_sample, cfg_.seed, threads);

  struct handler {
    detail::gru_trainer<score_t>* tr;
    void start(Eigen::Index row, std::int64_t, bool same, index_t prev_last) { tr->start_row(row, same, prev_last); }
    void group_end(Eigen::Index, std::int64_t, index_t) {}
    void compact(std::span<const Eigen::Index> keep) { tr->compact_rows(keep); }
  } h{&trainer};

  std::vector<index_t> inputs, targets;
  std::vector<std::uint8_t> first;
  std::vector<session_gru_epoch> log;
  detail::gru_thread_tuner tuner(threads);
  std::int64_t step = 0;
  bool committed = false;
  // One progress stage for the whole fit: every epoch's training pairs.
  progress_reporter progress(job, "session_gru: fit", static_cast<std::int64_t>(cfg_.n_epochs) * pairs, 0,
                             cfg_.n_epochs);
  for (index_t epoch = 0; epoch < cfg_.n_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    progress.set_step(epoch);
    double loss_sum = 0;
    std::int64_t rows_sum = 0, batches = 0, parallel_batches = 0;
    walker.begin(h);
    while (walker.rows() > 0) {
      if (cfg_.n_sample == 0 && walker.rows() < 2) break;  // GRU4Rec: no negatives left for a lone row
      walker.fill(inputs, targets, first);
      const int step_threads = tuner.next();
      trainer.set_threads(step_threads);
      sampler.set_threads(step_threads);
      const auto ts = std::chrono::steady_clock::now();
      const double loss = trainer.forward_backward(inputs, targets, sampler.samples(step), first, step, true);
      if (!std::isfinite(loss))
        detail::throw_numerical_error(where, "the loss became ", loss, " in epoch ", epoch, ", mini-batch ", batches,
                                      "; lower learning_rate (now ", cfg_.learning_rate, ")",
                                      cfg_.loss == session_gru_loss::cross_entropy ? "" : " or bpreg");
      trainer.apply_update();
      tuner.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count());
      ++step;
      ++batches;
      parallel_batches += step_threads > 1 ? 1 : 0;
      loss_sum += loss * static_cast<double>(cfg_.batch_size);
      rows_sum += static_cast<std::int64_t>(inputs.size());
      if (batches % cfg_.progress_every == 0) progress.set_metric("loss", loss_sum / static_cast<double>(rows_sum));
      progress.advance(static_cast<std::int64_t>(inputs.size()));
      walker.advance(h);
    }
    session_gru_epoch e;
    e.loss = rows_sum ? loss_sum / static_cast<double>(rows_sum) : 0.0;
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.events = static_cast<std::int64_t>(train.num_events());
    e.predictions = rows_sum;
    e.batches = batches;
    e.parallel_batches = parallel_batches;
    log.push_back(e);
    progress.set_metric("loss", e.loss);
    progress.report();
    // Commit the completed epoch.
    if (!committed) {
      ++version_;
      committed = true;
    }
    net_ = work;
    refresh_scoring_weights();
    support_ = support;
    unknown_items_.clear();
    for (index_t i = 0; i < n_items; ++i)
      if (support[static_cast<std::size_t>(i)] == 0) unknown_items_.push_back(i);
    if (cfg_.hrnn)
      compute_user_states(net_, train, n_users, threads, user_states_);
    else
      user_states_.resize(0, 0);
    log_ = log;
    fitted_ = true;
    // The last rows of an epoch may form no mini-batch: count them done so that the stage's
    // total is reached (after the commit: a cancellation here keeps this epoch).
    if (rows_sum < pairs) progress.advance(pairs - rows_sum);
  }
  progress.finish();
}

inline void session_gru::save(model_writer& w) const {
  require_fitted("save");
  w.set_params(params(cfg_));
  visit_arrays([&](const std::string& name, Eigen::Index rows, Eigen::Index cols, const score_t* data) {
    const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)};
    w.add_array<score_t>(name, data, shape);
  });
  w.add_vector("item_support", support_);
}

inline session_gru session_gru::load(const model_reader& r) {
  const std::string manifest = (r.directory() / "manifest.json").string();
  session_gru_config cfg;
  try {
    for (const auto& kv : r.params()) set_param(cfg, kv.first, kv.second);
    cfg.validate();
  } catch (const invalid_argument& e) {
    throw io_error(manifest, std::string("bad hyperparameters: ") + e.what());
  }
  std::vector<std::int64_t> support = r.vector<std::int64_t>("item_support");
  const auto n = static_cast<std::int64_t>(support.size());
  using mat = row_matrix<score_t>;
  auto row_of = [](const mat& m) { return detail::gru_row<score_t>(m.row(0)); };
  session_gru_network net;
  net.input = cfg.constrained_embedding ? detail::gru_input::constrained
              : cfg.embedding > 0       ? detail::gru_input::embedding
                                        : detail::gru_input::one_hot;
  const std::int64_t last = cfg.layers.back();
  net.output_weights = r.matrix<score_t>("output_weights", n, last);
  net.output_bias = r.matrix<score_t>("output_bias", n, 1).col(0);
  if (net.input == detail::gru_input::embedding) net.item_embedding = r.matrix<score_t>("item_embedding", n, cfg.embedding);
  std::int64_t in = net.input == detail::gru_input::constrained ? last
                    : net.input == detail::gru_input::embedding ? std::int64_t{cfg.embedding}
                                                                : n;
  for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
    const std::int64_t H = cfg.layers[l];
    const std::string p = "layer" + std::to_string(l) + "_";
    detail::gru_layer_weights<score_t> w;
    w.weight_ih = r.matrix<score_t>(p + "weight_ih", in, 3 * H);
    w.weight_hh = r.matrix<score_t>(p + "weight_hh", H, 3 * H);
    w.bias_ih = row_of(r.matrix<score_t>(p + "bias_ih", 1, 3 * H));
    w.bias_hh = row_of(r.matrix<score_t>(p + "bias_hh", 1, 3 * H));
    net.layers.push_back(std::move(w));
    in = H;
  }
  mat user_states;
  if (cfg.hrnn) {
    const std::int64_t U = cfg.user_hidden > 0 ? std::int64_t{cfg.user_hidden} : last;
    net.user_gru.weight_ih = r.matrix<score_t>("user_gru_weight_ih", last, 3 * U);
    net.user_gru.weight_hh = r.matrix<score_t>("user_gru_weight_hh", U, 3 * U);
    net.user_gru.bias_ih = row_of(r.matrix<score_t>("user_gru_bias_ih", 1, 3 * U));
    net.user_gru.bias_hh = row_of(r.matrix<score_t>("user_gru_bias_hh", 1, 3 * U));
    for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
      const std::int64_t H = cfg.layers[l];
      net.user_init_weights.push_back(r.matrix<score_t>("user_init" + std::to_string(l) + "_weight", U, H));
      net.user_init_bias.push_back(row_of(r.matrix<score_t>("user_init" + std::to_string(l) + "_bias", 1, H)));
    }
    if (r.has("user_states")) user_states = r.matrix<score_t>("user_states", std::nullopt, U);
  }
  try {
    return session_gru(std::move(cfg), std::move(net), std::move(support), std::move(user_states));
  } catch (const invalid_argument& e) {
    throw io_error(manifest, std::string("inconsistent model: ") + e.what());
  }
}

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_HPP
