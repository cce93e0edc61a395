// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_BPR_INL_HPP
#define RECSYS_MODELS_BPR_INL_HPP

/// @file
/// Definitions of models/bpr.hpp (header-only mode includes this file; the compiled library
/// instantiates pairwise_model<bpr_config> and pairwise_model<warp_config> in src/bpr.cpp).

#include <recsys/models/bpr.hpp>

#include <recsys/detail/json.hpp>
#include <recsys/detail/pairwise_sgd.hpp>
#include <recsys/detail/param_table.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/factor_model.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

template <class Config>
void validate_pairwise_config(const Config& c, std::string_view where) {
  const auto finite = [](float v) { return std::isfinite(v); };
  RECSYS_REQUIRE(c.factors >= 1 && c.factors <= 65536, where, "factors must be in [1, 65536] (got ", c.factors, ")");
  RECSYS_REQUIRE(c.epochs >= 1, where, "epochs must be >= 1 (got ", c.epochs, ")");
  RECSYS_REQUIRE(finite(c.learning_rate) && c.learning_rate > 0.0f, where, "learning_rate must be finite and > 0 (got ",
                 c.learning_rate, ")");
  RECSYS_REQUIRE(finite(c.learning_rate_decay) && c.learning_rate_decay > 0.0f && c.learning_rate_decay <= 1.0f, where,
                 "learning_rate_decay must be in (0, 1] (got ", c.learning_rate_decay, ")");
  RECSYS_REQUIRE(finite(c.regularization) && c.regularization >= 0.0f, where,
                 "regularization must be finite and >= 0 (got ", c.regularization, ")");
  const std::pair<const char*, const std::optional<float>*> regs[] = {
      {"user_regularization", &c.user_regularization},
      {"positive_item_regularization", &c.positive_item_regularization},
      {"negative_item_regularization", &c.negative_item_regularization},
      {"bias_regularization", &c.bias_regularization}};
  for (const auto& [name, value] : regs)
    RECSYS_REQUIRE(!value->has_value() || (finite(**value) && **value >= 0.0f), where, name,
                   " must be finite and >= 0 (got ", value->value_or(0.0f), ")");
  RECSYS_REQUIRE(finite(c.sample_alpha) && c.sample_alpha >= 0.0f && c.sample_alpha <= 4.0f, where,
                 "sample_alpha must be in [0, 4] (got ", c.sample_alpha, ")");
  RECSYS_REQUIRE(c.num_threads >= 0, where, "num_threads must be >= 0 (got ", c.num_threads, ")");
  RECSYS_REQUIRE(c.blocks >= 0 && c.blocks <= 4096, where, "blocks must be in [0, 4096] (got ", c.blocks, ")");
  RECSYS_REQUIRE(finite(c.init_scale) && c.init_scale > 0.0f, where, "init_scale must be finite and > 0 (got ",
                 c.init_scale, ")");
  RECSYS_REQUIRE(c.fold_in_epochs >= 1, where, "fold_in_epochs must be >= 1 (got ", c.fold_in_epochs, ")");
  RECSYS_REQUIRE(c.early_stop.patience >= 1, where, "early_stop.patience must be >= 1 (got ", c.early_stop.patience,
                 ")");
  RECSYS_REQUIRE(c.early_stop.every >= 1, where, "early_stop.every must be >= 1 (got ", c.early_stop.every, ")");
  if constexpr (is_warp_config<Config>) {
    RECSYS_REQUIRE(c.max_trials >= 1 && c.max_trials <= 1000000, where, "max_trials must be in [1, 1000000] (got ",
                   c.max_trials, ")");
    RECSYS_REQUIRE(finite(c.max_rank_weight) && c.max_rank_weight > 0.0f, where,
                   "max_rank_weight must be finite and > 0 (got ", c.max_rank_weight, ")");
  }
}

template <class Config>
pairwise_settings resolve_pairwise_settings(const Config& c, const char* where) {
  pairwise_settings s;
  s.loss = is_warp_config<Config> ? pairwise_loss::warp : pairwise_loss::bpr;
  s.where = where;
  s.factors = c.factors;
  s.epochs = c.epochs;
  s.learning_rate = c.learning_rate;
  s.learning_rate_decay = c.learning_rate_decay;
  s.reg_user = c.user_regularization.value_or(c.regularization);
  s.reg_positive = c.positive_item_regularization.value_or(c.regularization);
  s.reg_negative = c.negative_item_regularization.value_or(c.regularization);
  s.reg_bias = c.bias_regularization.value_or(c.regularization);
  s.item_bias = c.item_bias;
  s.sample_alpha = c.sample_alpha;
  s.verify_negatives = c.verify_negatives;
  if constexpr (is_warp_config<Config>) {
    s.max_trials = c.max_trials;
    s.max_rank_weight = c.max_rank_weight;
  }
  s.hogwild = c.hogwild;
  s.num_threads = c.num_threads;
  s.blocks = c.blocks;
  s.seed = c.seed;
  s.init_scale = c.init_scale;
  return s;
}

/// bpr_config's and warp_config's hyperparameters, once (detail/param_table.hpp): set_param,
/// bpr_params and warp_params are derived from this table (WARP adds its two at the end).
template <class Config>
constexpr auto make_pairwise_fields() {
  constexpr std::int64_t lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
  constexpr std::array base{
      int_field<&Config::factors, lo, hi, Config>("factors", "latent dimensions (32, 64 and 128 are fastest)"),
      int_field<&Config::epochs, lo, hi, Config>("epochs", "passes over the interactions"),
      real_field<&Config::learning_rate, Config>("learning_rate", "SGD step of the first epoch"),
      real_field<&Config::learning_rate_decay, Config>("learning_rate_decay",
                                                       "per-epoch multiplier of the learning rate, in (0, 1]"),
      real_field<&Config::regularization, Config>("regularization", "L2 weight of every component"),
      optional_real_field<&Config::user_regularization, Config>("user_regularization",
                                                                "L2 weight of user factors (empty: regularization)"),
      optional_real_field<&Config::positive_item_regularization, Config>(
          "positive_item_regularization", "L2 weight of positive-item factors (empty: regularization)"),
      optional_real_field<&Config::negative_item_regularization, Config>(
          "negative_item_regularization", "L2 weight of negative-item factors (empty: regularization)"),
      optional_real_field<&Config::bias_regularization, Config>("bias_regularization",
                                                                "L2 weight of item biases (empty: regularization)"),
      bool_field<&Config::item_bias, Config>("item_bias", "learn a per-item bias"),
      real_field<&Config::sample_alpha, Config>("sample_alpha",
                                                "negatives drawn ~ popularity^alpha; 0 = uniform; in [0, 4]"),
      bool_field<&Config::verify_negatives, Config>("verify_negatives",
                                                    "re-draw negatives that are positives of the user"),
      bool_field<&Config::hogwild, Config>("hogwild", "lock-free parallel updates: faster, not reproducible"),
      int_field<&Config::num_threads, lo, hi, Config>("num_threads", "threads, 0 = all cores"),
      int_field<&Config::blocks, lo, hi, Config>("blocks", "strata per side of the deterministic schedule, 0 = auto"),
      u64_field<&Config::seed, Config>("seed", "random seed"),
      real_field<&Config::init_scale, Config>("init_scale", "initial factors ~ N(0, (init_scale / sqrt(factors))^2)"),
      int_field<&Config::fold_in_epochs, lo, hi, Config>("fold_in_epochs",
                                                         "SGD passes over a history in recommend_for_history"),
  };
  if constexpr (is_warp_config<Config>) {
    std::array<param_field<Config>, base.size() + 2> all{};
    for (std::size_t i = 0; i < base.size(); ++i) all[i] = base[i];
    all[base.size()] = int_field<&Config::max_trials, lo, hi, Config>(
        "max_trials", "negatives drawn per positive to find a margin violator");
    all[base.size() + 1] = real_field<&Config::max_rank_weight, Config>(
        "max_rank_weight", "cap of the rank weight ln(floor((n_items-1)/trials))");
    return all;
  } else {
    return base;
  }
}
template <class Config>
inline constexpr auto pairwise_fields = make_pairwise_fields<Config>();

template <class Config>
std::vector<pairwise_param> pairwise_params(const Config& c) {
  return field_rows<pairwise_param>(pairwise_fields<Config>, c);
}

template <class Config>
void set_pairwise_param(Config& cfg, std::string_view key, std::string_view value) {
  const char* where = is_warp_config<Config> ? "warp_config::set_param" : "bpr_config::set_param";
  set_param_from(pairwise_fields<Config>, cfg, where, key, value,
                 [&](const Config& c) { validate_pairwise_config(c, where); });
}

}  // namespace detail

template <class>
void set_param(bpr_config& cfg, std::string_view key, std::string_view value) {
  detail::set_pairwise_param(cfg, key, value);
}

template <class>
void set_param(warp_config& cfg, std::string_view key, std::string_view value) {
  detail::set_pairwise_param(cfg, key, value);
}

template <class>
void set_param(bpr_config& cfg, std::string_view assignment) {
  const auto [key, value] = detail::split_assignment("bpr_config::set_param", assignment);
  set_param(cfg, key, value);
}

template <class>
void set_param(warp_config& cfg, std::string_view assignment) {
  const auto [key, value] = detail::split_assignment("warp_config::set_param", assignment);
  set_param(cfg, key, value);
}

template <class>
std::vector<pairwise_param> bpr_params(const bpr_config& cfg) {
  return detail::pairwise_params(cfg);
}

template <class>
std::vector<pairwise_param> warp_params(const warp_config& cfg) {
  return detail::pairwise_params(cfg);
}

template <class>
void validate(const bpr_config& cfg) {
  detail::validate_pairwise_config(cfg, "bpr_config");
}

template <class>
void validate(const warp_config& cfg) {
  detail::validate_pairwise_config(cfg, "warp_config");
}

template <class Config>
pairwise_model<Config>::pairwise_model(Config config) : config_(std::move(config)) {
  detail::validate_pairwise_config(config_, Config::name);
}

template <class Config>
void pairwise_model<Config>::fit(const csr_matrix& interactions, const job_control& job) {
  const std::string where = std::string(Config::name) + "::fit";
  detail::validate_pairwise_config(config_, where);
  detail::validate_training_matrix(where.c_str(), interactions);
  const detail::pairwise_settings s = detail::resolve_pairwise_settings(config_, where.c_str());
  detail::pairwise_engine engine(s, interactions);
  using matrix = row_matrix<float>;
  using vec = recsys::vector<float>;
  matrix users, items;
  vec bias;
  engine.initialize(users, items, bias);

  matrix snap_users, snap_items;
  vec snap_bias;
  std::vector<pairwise_epoch> hist, snap_hist;
  bool have_snapshot = false;
  matrix best_users, best_items;
  vec best_bias;
  std::vector<pairwise_epoch> best_hist;
  double best_value = -std::numeric_limits<double>::infinity();
  int best_epoch = -1;
  int evaluations_since_best = 0;
  const auto& es = config_.early_stop;

  const auto publish = [&](const matrix& u, const matrix& v, const vec& b, const std::vector<pairwise_epoch>& h) {
    this->set_model(u, v, b, interactions);
    history_ = h;
    negative_table_ = engine.global_table();
  };

  // One progress stage for the whole fit: every epoch's samples.
  progress_reporter rep(job, std::string(stage_name()) + ": fit",
                        static_cast<std::int64_t>(s.epochs) * static_cast<std::int64_t>(interactions.nonZeros()), 0,
                        s.epochs);
  try {
    for (int e = 0; e < s.epochs; ++e) {
      const auto t0 = std::chrono::steady_clock::now();
      rep.set_step(e);
      const detail::pairwise_sums sums = engine.run_epoch(e, users, items, bias, rep);
      check_finite(users, items, bias, e, s, where);
      pairwise_epoch rec;
      rec.epoch = e;
      rec.learning_rate = s.learning_rate_at(e);
      rec.samples = sums.samples;
      rec.updates = sums.updates;
      rec.skipped = sums.skipped;
      rec.loss = sums.samples > 0 ? sums.loss / static_cast<double>(sums.samples) : 0.0;
      rec.auc = sums.compared > 0 ? static_cast<double>(sums.correct) / static_cast<double>(sums.compared) : 0.0;
      rec.mean_trials = s.loss == detail::pairwise_loss::warp && sums.samples > 0
                            ? static_cast<double>(sums.trials) / static_cast<double>(sums.samples)
                            : 0.0;
      rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      hist.push_back(rec);
      snap_users = users;
      snap_items = items;
      snap_bias = bias;
      snap_hist = hist;
      have_snapshot = true;
      rep.set_metric("auc", rec.auc);
      rep.report();

      if (es.metric && ((e + 1) % es.every == 0 || e + 1 == s.epochs)) {
        publish(snap_users, snap_items, snap_bias, snap_hist);
        rep.check();
        const double value = es.metric(*this);
        hist.back().validation = value;
        snap_hist.back().validation = value;
        history_ = snap_hist;
        rep.set_metric("validation", value);
        rep.report();
        if (value > best_value) {
          best_value = value;
          best_epoch = e;
          evaluations_since_best = 0;
          if (es.restore_best) {
            best_users = users;
            best_items = items;
            best_bias = bias;
            best_hist = hist;
          }
        } else if (++evaluations_since_best >= es.patience) {
          break;
        }
      }
    }
  } catch (...) {
    if (have_snapshot) {
      publish(snap_users, snap_items, snap_bias, snap_hist);
      best_epoch_ = best_epoch;
    }
    throw;
  }
  rep.finish();
  best_epoch_ = best_epoch;
  if (es.metric && es.restore_best && best_epoch >= 0 && best_epoch != hist.back().epoch) {
    publish(best_users, best_items, best_bias, best_hist);
  } else {
    this->set_model(std::move(users), std::move(items), std::move(bias), interactions);
    history_ = std::move(hist);
    negative_table_ = engine.global_table();
  }
}

template <class Config>
void pairwise_model<Config>::save(model_writer& out) const {
  RECSYS_REQUIRE(is_fitted(), std::string(Config::name) + "::save", "the model is not fitted yet (call fit first)");
  out.set_field("model", Config::name);
  std::vector<std::pair<std::string, std::string>> config;
  for (const auto& p : detail::pairwise_params(config_)) config.emplace_back(p.name, p.default_value);
  out.set_config(config);
  detail::json::array epochs;
  epochs.reserve(history_.size());
  for (const auto& e : history_) {
    detail::json::object o;
    o.reserve(10);
    detail::json::add(o, "epoch", static_cast<std::int64_t>(e.epoch));
    detail::json::add(o, "learning_rate", static_cast<double>(e.learning_rate));
    detail::json::add(o, "loss", e.loss);
    detail::json::add(o, "auc", e.auc);
    detail::json::add(o, "samples", e.samples);
    detail::json::add(o, "updates", e.updates);
    detail::json::add(o, "skipped", e.skipped);
    detail::json::add(o, "mean_trials", e.mean_trials);
    detail::json::add(o, "seconds", e.seconds);
    detail::json::add(o, "validation",
                      std::isfinite(e.validation) ? detail::json::value(e.validation) : detail::json::value());
    epochs.emplace_back(std::move(o));
  }
  detail::json::object training;
  detail::json::add(training, "best_epoch", static_cast<std::int64_t>(best_epoch_));
  detail::json::add(training, "history", detail::json::value(std::move(epochs)));
  out.set_field("training", detail::json::value(std::move(training)));
  this->save_factors(out);
}

template <class Config>
void pairwise_model<Config>::load(const model_reader& in) {
  in.require_model_type(Config::name);
  Config c{};
  std::vector<pairwise_epoch> hist;
  int best = -1;
  in.in_manifest([&] {
    for (const auto& [k, v] : in.config())
      if (!v.empty()) set_param(c, k, v);
    detail::validate_pairwise_config(c, Config::name);
    const auto& t = in.require_field("training");
    best = static_cast<int>(t.at("best_epoch").as_int("training.best_epoch"));
    for (const auto& e : t.at("history").as_array("training.history")) {
      pairwise_epoch p;
      p.epoch = static_cast<int>(e.at("epoch").as_int("epoch"));
      p.learning_rate = static_cast<float>(e.at("learning_rate").as_double("learning_rate"));
      p.loss = e.at("loss").as_double("loss");
      p.auc = e.at("auc").as_double("auc");
      p.samples = e.at("samples").as_int("samples");
      p.updates = e.at("updates").as_int("updates");
      p.skipped = e.at("skipped").as_int("skipped");
      p.mean_trials = e.at("mean_trials").as_double("mean_trials");
      p.seconds = e.at("seconds").as_double("seconds");
      const auto& v = e.at("validation");
      p.validation = v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.as_double("validation");
      hist.push_back(p);
    }
  });
  pairwise_model loaded(c);
  loaded.load_factors(in);
  model_reader::check(loaded.num_factors() == c.factors, in.array_file("item_factors"),
                      detail::str("has ", loaded.num_factors(), " factors, the config says ", c.factors));
  model_reader::check(loaded.item_bias().size() == (c.item_bias ? loaded.num_items() : 0), in.array_file("item_bias"),
                      c.item_bias ? "is missing although the config learns an item bias"
                                  : "is present although the config learns no item bias");
  if (c.sample_alpha != 0.0f && loaded.seen().nonZeros() > 0) {
    const detail::pairwise_settings s = detail::resolve_pairwise_settings(c, Config::name);
    detail::pairwise_engine engine(s, loaded.seen());
    loaded.negative_table_ = engine.global_table();
  }
  loaded.history_ = std::move(hist);
  loaded.best_epoch_ = best;
  *this = std::move(loaded);
}

template <class Config>
auto pairwise_model<Config>::fold_in(std::span<const index_t> items, std::span<const score_t> weights) const
    -> vector_type {
  std::vector<index_t> hist;
  std::vector<float> w;
  known_history(items, weights, "fold_in", hist, w);
  return fold_in_known(hist, w);
}

template <class Config>
topk_result pairwise_model<Config>::recommend_for_history(std::span<const index_t> items,
                                                          std::span<const score_t> weights, index_t k,
                                                          const recommend_options& opts) const {
  RECSYS_REQUIRE(k >= 0, "recommend_for_history", "k must be >= 0 (got ", k, ")");
  std::vector<index_t> hist;
  std::vector<float> w;
  known_history(items, weights, "recommend_for_history", hist, w);
  if (hist.empty()) {
    recommend_options o = opts;
    std::vector<index_t> excluded(opts.exclude.begin(), opts.exclude.end());
    if (opts.exclude_seen) excluded.insert(excluded.end(), items.begin(), items.end());
    o.exclude = excluded;
    return recommend(invalid_index, k, o);
  }
  const vector_type u = fold_in_known(hist, w);
  return recommend_for_vector(u, k, opts, std::span<const index_t>(items.data(), items.size()));
}

template <class Config>
void pairwise_model<Config>::check_finite(const row_matrix<float>& users, const row_matrix<float>& items,
                                          const recsys::vector<float>& bias, int epoch,
                                          const detail::pairwise_settings& s, const std::string& where) {
  if (users.allFinite() && items.allFinite() && bias.allFinite()) return;
  std::string what;
  for (Eigen::Index r = 0; r < users.rows() && what.empty(); ++r)
    if (!users.row(r).allFinite()) what = detail::str("user ", r);
  for (Eigen::Index r = 0; r < items.rows() && what.empty(); ++r)
    if (!items.row(r).allFinite() || (bias.size() > 0 && !std::isfinite(bias[r]))) what = detail::str("item ", r);
  detail::throw_numerical_error(where, "non-finite factors of ", what, " after epoch ", epoch, " (learning_rate ",
                                s.learning_rate_at(epoch),
                                "): the updates diverged; lower the learning rate (e.g. by 10x) or raise the "
                                "regularization");
}

template <class Config>
void pairwise_model<Config>::known_history(std::span<const index_t> items, std::span<const score_t> weights,
                                           const char* where, std::vector<index_t>& hist, std::vector<float>& w) const {
  RECSYS_REQUIRE(is_fitted(), where, "the model is not fitted yet (call fit first)");
  RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), where, "got ", weights.size(), " weights for ",
                 items.size(), " items (give one per item, or none)");
  for (std::size_t n = 0; n < items.size(); ++n) {
    const float wn = weights.empty() ? 1.0f : weights[n];
    RECSYS_REQUIRE(std::isfinite(wn) && wn >= 0.0f, where, "weight ", n, " must be finite and >= 0 (got ", wn, ")");
    if (items[n] < 0 || items[n] >= num_items() || wn == 0.0f) continue;
    hist.push_back(items[n]);
    w.push_back(wn);
  }
}

template <class Config>
auto pairwise_model<Config>::fold_in_known(const std::vector<index_t>& hist, const std::vector<float>& w) const
    -> vector_type {
  detail::fold_in_settings fs;
  fs.loss = detail::is_warp_config<Config> ? detail::pairwise_loss::warp : detail::pairwise_loss::bpr;
  fs.epochs = config_.fold_in_epochs;
  fs.learning_rate = config_.learning_rate;
  fs.reg_user = config_.user_regularization.value_or(config_.regularization);
  fs.verify = config_.verify_negatives;
  if constexpr (detail::is_warp_config<Config>) {
    fs.max_trials = config_.max_trials;
    fs.max_rank_weight = config_.max_rank_weight;
  }
  fs.seed = config_.seed;
  detail::negative_sampler neg;
  neg.n = static_cast<std::uint32_t>(num_items());
  neg.table = negative_table_.empty() ? nullptr : &negative_table_;
  return detail::fold_in_user(fs, item_factors_, item_bias_, hist, w, neg);
}

}  // namespace recsys

#endif  // RECSYS_MODELS_BPR_INL_HPP
