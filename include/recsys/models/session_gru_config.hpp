// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_CONFIG_HPP
#define RECSYS_MODELS_SESSION_GRU_CONFIG_HPP

/// @file
/// The parameters of recsys::session_gru (models/session_gru.hpp): its hyperparameters
/// (session_gru_config, GRU4Rec's names, parsed from text by set_param as the CLI's `--set` does,
/// written back by params()) and its trained arrays (session_gru_network).

#include <recsys/detail/param_table.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
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

inline constexpr const char* session_gru_where = "session_gru::set_param";
// what set_param trims at the end of a key or value: spaces, tabs and line ends
inline constexpr std::string_view gru_blanks = " \t\r\n";

inline std::vector<index_t> parse_layers(std::string_view key, std::string_view v) {
  if (!v.empty() && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
  std::vector<index_t> out;
  while (true) {
    const std::size_t cut = v.find_first_of("/,");
    const std::string_view size = trim(v.substr(0, cut), " \t", gru_blanks);
    out.push_back(static_cast<index_t>(parse_int(session_gru_where, key, size, 1, 1 << 20)));
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

namespace detail {
// Ranges of the real-valued GRU settings (class constants: a template argument cannot be a
// double for every compiler recsys supports).
struct gru_unit_open { static constexpr double lo = 0.0, hi = 1.0; static constexpr bool open = true; };
struct gru_unit { static constexpr double lo = 0.0, hi = 1.0; static constexpr bool open = false; };
struct gru_nonneg { static constexpr double lo = 0.0, hi = 1e6; static constexpr bool open = false; };

using gru_cfg = session_gru_config;

template <auto Member, class Range>
constexpr param_field<gru_cfg> gru_range_field(std::string_view name, std::string_view help) {
  return custom_field<gru_cfg>(
      name, help,
      [](gru_cfg& c, std::string_view, std::string_view key, std::string_view v) {
        c.*Member = parse_in(key, v, Range::lo, Range::hi, Range::open);
      },
      [](const gru_cfg& c) { return value_text(c.*Member); });
}

template <auto Member>
constexpr param_field<gru_cfg> gru_positive_field(std::string_view name, std::string_view help) {
  return custom_field<gru_cfg>(
      name, help,
      [](gru_cfg& c, std::string_view, std::string_view key, std::string_view v) { c.*Member = parse_positive(key, v); },
      [](const gru_cfg& c) { return value_text(c.*Member); });
}

struct gru_loss_names {
  static constexpr std::pair<std::string_view, session_gru_loss> values[] = {
      {"cross-entropy", session_gru_loss::cross_entropy},
      {"bpr-max", session_gru_loss::bpr_max},
      {"top1-max", session_gru_loss::top1_max}};
};
struct gru_optimizer_names {
  static constexpr std::pair<std::string_view, session_gru_optimizer> values[] = {
      {"adagrad", session_gru_optimizer::adagrad}, {"adam", session_gru_optimizer::adam}};
};

/// session_gru_config's hyperparameters, once (detail/param_table.hpp), GRU4Rec's names:
/// set_param and params() are derived from this table. `hidden` only sets (every layer's size;
/// params() lists `layers`).
inline constexpr std::array session_gru_fields{
    choice_field<&gru_cfg::loss, gru_loss_names>("loss", "cross-entropy | bpr-max | top1-max"),
    custom_field<gru_cfg>(
        "layers", "GRU layer sizes, input side first: 100 or 100/100",
        [](gru_cfg& c, std::string_view, std::string_view key, std::string_view v) { c.layers = parse_layers(key, v); },
        [](const gru_cfg& c) {
          std::string out;
          for (std::size_t i = 0; i < c.layers.size(); ++i) out.append(i ? "/" : "").append(std::to_string(c.layers[i]));
          return out;
        }),
    param_field<gru_cfg>{"hidden", "sets the size of every layer (applied after layers)",
                         +[](gru_cfg& c, std::string_view where, std::string_view key, std::string_view v) {
                           const auto h = static_cast<index_t>(parse_int(where, key, v, 1, 1 << 20));
                           for (auto& l : c.layers) l = h;
                         },
                         nullptr},
    custom_field<gru_cfg>(
        "embedding", "width of a separate item embedding (0: none; \"layersize\": the first layer's)",
        [](gru_cfg& c, std::string_view where, std::string_view key, std::string_view v) {
          c.embedding = v == "layersize" ? (c.layers.empty() ? 0 : c.layers.front())
                                         : static_cast<index_t>(parse_int(where, key, v, 0, 1 << 20));
        },
        [](const gru_cfg& c) { return value_text(c.embedding); }),
    bool_field<&gru_cfg::constrained_embedding>("constrained_embedding", "input item embedding = output weights"),
    int_field<&gru_cfg::batch_size, 1, 1 << 20>("batch_size", "concurrent sessions per mini-batch"),
    with_alias(gru_range_field<&gru_cfg::dropout_p_embed, gru_unit_open>("dropout_p_embed", "dropout on the input embedding"),
               "dropout_embed"),
    with_alias(gru_range_field<&gru_cfg::dropout_p_hidden, gru_unit_open>("dropout_p_hidden", "dropout on the GRU output"),
               "dropout_hidden"),
    gru_positive_field<&gru_cfg::learning_rate>("learning_rate", "learning rate"),
    gru_range_field<&gru_cfg::momentum, gru_unit_open>("momentum", "Adagrad momentum, in [0, 1)"),
    choice_field<&gru_cfg::optimizer, gru_optimizer_names>("optimizer", "adagrad | adam"),
    int_field<&gru_cfg::n_sample, 0, 1 << 24>("n_sample", "shared negatives per mini-batch (0: in-batch only)"),
    gru_range_field<&gru_cfg::sample_alpha, gru_unit>("sample_alpha", "negatives drawn with probability ~ support^sample_alpha"),
    gru_range_field<&gru_cfg::logq, gru_nonneg>("logq", "logQ correction (cross-entropy only)"),
    gru_range_field<&gru_cfg::bpreg, gru_nonneg>("bpreg", "BPR-max score regularisation"),
    gru_range_field<&gru_cfg::elu_param, gru_nonneg>("elu_param", "ELU on the scores for BPR-max (0: linear)"),
    with_alias(int_field<&gru_cfg::n_epochs, 1, 1 << 20>("n_epochs", "training epochs"), "epochs"),
    gru_positive_field<&gru_cfg::adagrad_epsilon>("adagrad_epsilon", "Adagrad epsilon"),
    gru_range_field<&gru_cfg::adam_beta1, gru_unit_open>("adam_beta1", "Adam beta1, in [0, 1)"),
    gru_range_field<&gru_cfg::adam_beta2, gru_unit_open>("adam_beta2", "Adam beta2, in [0, 1)"),
    gru_positive_field<&gru_cfg::adam_epsilon>("adam_epsilon", "Adam epsilon"),
    bool_field<&gru_cfg::hrnn>("hrnn", "HRNN: a user-level GRU carries state across a user's sessions"),
    int_field<&gru_cfg::user_hidden, 0, 1 << 20>("user_hidden", "HRNN user GRU size (0: the last layer's size)"),
    u64_field<&gru_cfg::seed>("seed", "initialisation, negatives and dropout"),
    int_field<&gru_cfg::num_threads, 0, 1 << 16>("num_threads", "threads (0: default)"),
    int_field<&gru_cfg::progress_every, 1, std::numeric_limits<index_t>::max()>(
        "progress_every", "refresh the reported running loss every N mini-batches"),
};
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
  std::string_view v = detail::trim(value, " \t", detail::gru_blanks);
  if (v == "True") v = "true";  // GRU4Rec's Python spelling
  if (v == "False") v = "false";
  // combinations are checked by validate() at fit time, so settings can come in any order
  detail::set_param_from(detail::session_gru_fields, c, detail::session_gru_where,
                         detail::trim(key, " \t", detail::gru_blanks), v,
                         [](const session_gru_config&) {});
}

/// set_param from one "key=value" string (the form of the CLI's `--set`).
/// @throws recsys::invalid_argument when there is no '=' or as set_param(config, key, value).
inline void set_param(session_gru_config& c, std::string_view assignment) {
  const auto [key, value] = detail::split_assignment(detail::session_gru_where, assignment);
  set_param(c, key, value);
}

/// The configuration as canonical (key, value) strings, GRU4Rec names; set_param(key, value) on
/// each reproduces it (for manifests and logs).
[[nodiscard]] inline std::vector<std::pair<std::string, std::string>> params(const session_gru_config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : detail::session_gru_fields)
    if (f.get != nullptr) out.emplace_back(std::string(f.name), f.get(c));
  return out;
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
