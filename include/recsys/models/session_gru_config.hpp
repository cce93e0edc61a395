// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_CONFIG_HPP
#define RECSYS_MODELS_SESSION_GRU_CONFIG_HPP

/// @file
/// The parameters of recsys::session_gru (models/session_gru.hpp): its hyperparameters
/// (session_gru_config, GRU4Rec's names, parsed from text by set_param as the CLI's `--set` does,
/// written back by params()) and its trained arrays (session_gru_network).

#include <recsys/detail/params.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
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

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_CONFIG_HPP
