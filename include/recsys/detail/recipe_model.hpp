// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_RECIPE_MODEL_HPP
#define RECSYS_DETAIL_RECIPE_MODEL_HPP

/// @file
/// Internal: what the recipe registry (recipes-inl.hpp) is built from: the adapter that puts a
/// model type behind recsys::model (recipe_model), registry entries (make_recipe), the fit
/// functions, and the saved training summary and id maps every recipe's model directory holds.

#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/item_to_item_config.hpp>
#include <recsys/models/model.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/recipe.hpp>
#include <recsys/types.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys::detail {

/// Applies defaults then overrides; returns the effective list (recipe order, overrides last
/// for keys the recipe does not list — set_param rejects those).
template <class Config>
param_map apply_params(Config& config, const std::vector<recipe_param>& defaults, const param_map& overrides) {
  param_map effective;
  for (const auto& p : defaults) effective.emplace_back(p.name, p.default_value);
  for (const auto& [k, v] : overrides) {
    bool found = false;
    for (auto& [ek, ev] : effective)
      if (ek == k) {
        ev = v;
        found = true;
      }
    if (!found) effective.emplace_back(k, v);
  }
  for (const auto& [k, v] : effective)
    if (!v.empty()) set_param(config, k, v);
  return effective;
}

template <class = void>
[[nodiscard]] detail::json::value to_json(const training_summary& s) {
  detail::json::array types;
  for (const auto& t : s.event_types) types.emplace_back(t);
  detail::json::object o;
  o.reserve(10);
  detail::json::add(o, "source", s.source);
  detail::json::add(o, "events", s.events);
  detail::json::add(o, "users", static_cast<std::int64_t>(s.users));
  detail::json::add(o, "items", static_cast<std::int64_t>(s.items));
  detail::json::add(o, "active_users", static_cast<std::int64_t>(s.active_users));
  detail::json::add(o, "active_items", static_cast<std::int64_t>(s.active_items));
  detail::json::add(o, "first_timestamp", static_cast<std::int64_t>(s.first_timestamp));
  detail::json::add(o, "last_timestamp", static_cast<std::int64_t>(s.last_timestamp));
  detail::json::add(o, "event_types", detail::json::value(std::move(types)));
  detail::json::add(o, "fit_seconds", s.fit_seconds);
  return detail::json::value(std::move(o));
}

/// Reads the "data" field (throws invalid_argument on a wrong type; callers wrap it).
template <class = void>
[[nodiscard]] training_summary summary_from_json(const detail::json::value& v) {
  training_summary s;
  s.source = v.at("source").as_string("data.source");
  s.events = v.at("events").as_int("data.events");
  const auto count = [&](const char* key) {
    const std::int64_t x = v.at(key).as_int(key);
    if (x < 0 || x > std::numeric_limits<index_t>::max()) throw invalid_argument(str("data.", key, " out of range"));
    return static_cast<index_t>(x);
  };
  s.users = count("users");
  s.items = count("items");
  s.active_users = count("active_users");
  s.active_items = count("active_items");
  s.first_timestamp = v.at("first_timestamp").as_int("data.first_timestamp");
  s.last_timestamp = v.at("last_timestamp").as_int("data.last_timestamp");
  for (const auto& t : v.at("event_types").as_array("data.event_types")) s.event_types.push_back(t.as_string("an event type"));
  s.fit_seconds = v.at("fit_seconds").as_double("data.fit_seconds");
  return s;
}

/// Loading, shared by the registry's models: the manifest must name this model's recipe.
template <class = void>
void require_recipe(const model_reader& in, const std::string& name) {
  if (in.recipe() != name)
    throw io_error(in.manifest_file(), "holds a '" + in.recipe() + "' model, expected '" + name + "'");
}

/// Loading, shared by the registry's models: the saved user and item id maps, checked against
/// the model's sizes and the saved training summary.
struct saved_ids {
  id_map<std::string> users;
  id_map<std::string> items;
};
template <class = void>
saved_ids read_saved_ids(const model_reader& in, const training_summary& summary, std::int64_t num_users,
                                std::int64_t num_items) {
  saved_ids ids{in.ids("user_ids", num_users), in.ids("item_ids", num_items)};
  if (summary.users != ids.users.size() || summary.items != ids.items.size())
    throw io_error(in.manifest_file(), str("the data summary says ", summary.users, " users x ", summary.items,
                                           " items, the model has ", ids.users.size(), " x ", ids.items.size()));
  return ids;
}

/// The adapter every registry entry uses: a model type M with its config and a fit function.
/// Besides the model it keeps what serving needs: the training log's user and item id maps and
/// a summary of the training data, saved with the model.
template <class M, class Config, class Fit>
class recipe_model final : public model {
 public:
  recipe_model(std::string name, param_map params, Config config, Fit fit)
      : name_(std::move(name)), params_(std::move(params)), config_(config), model_(config), fit_(std::move(fit)) {}

  const std::string& recipe() const noexcept override { return name_; }
  const param_map& params() const noexcept override { return params_; }
  /// Fits the wrapped model and keeps the log's id maps and summary. When fit throws (e.g.
  /// recsys::cancelled), the wrapped model is in the state its recipe documents, and this
  /// wrapper reports is_fitted() == false until the next successful fit or load.
  void fit(const interaction_log& train, const job_control& job) override {
    fitted_ = false;
    const auto start = std::chrono::steady_clock::now();
    fit_(model_, train, job);
    user_ids_ = train.user_ids;
    item_ids_ = train.item_ids;
    summary_ = training_summary::of(train);
    summary_.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fitted_ = true;
  }
  index_t num_users() const override { return model_.num_users(); }
  index_t num_items() const override { return model_.num_items(); }
  topk_result recommend(index_t user, index_t k, const recommend_options& opts) const override {
    return model_.recommend(user, k, opts);
  }
  std::vector<score_t> score(index_t user, std::span<const index_t> items) const override {
    return model_.score(user, items);
  }
  bool supports_history() const noexcept override { return history_recommender<M>; }
  topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
                                    const recommend_options& opts) const override {
    if constexpr (history_recommender<M>)
      return model_.recommend_for_history(items, weights, k, opts);
    else
      return model::recommend_for_history(items, weights, k, opts);
  }
  bool supports_similar_items() const noexcept override {
    return requires(const M& m) { m.similar_items(index_t{}, index_t{}); };
  }
  topk_result similar_items(index_t item, index_t k) const override {
    if constexpr (requires(const M& m) { m.similar_items(item, k); })
      return model_.similar_items(item, k);
    else
      return model::similar_items(item, k);
  }

  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts, int num_threads) const override {
    if constexpr (requires(const M& m) { m.recommend_batch(users, k, ids, scores, opts, num_threads); })
      model_.recommend_batch(users, k, ids, scores, opts, num_threads);
    else
      model::recommend_batch(users, k, ids, scores, opts, num_threads);
  }
  bool supports_user_segments() const noexcept override {
    return requires(const M& m, std::span<const index_t> items, index_t k, index_t* u, score_t* s,
                    const recommend_options& o) { m.recommend_users(items, k, u, s, o, 0); };
  }
  void recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                       const recommend_options& opts, int num_threads) const override {
    if constexpr (requires(const M& m) { m.recommend_users(items, k, users, scores, opts, num_threads); })
      model_.recommend_users(items, k, users, scores, opts, num_threads);
    else
      model::recommend_users(items, k, users, scores, opts, num_threads);
  }

  bool is_fitted() const noexcept override { return fitted_; }
  const id_map<std::string>& user_ids() const noexcept override { return user_ids_; }
  const id_map<std::string>& item_ids() const noexcept override { return item_ids_; }
  const training_summary& training() const noexcept override { return summary_; }

  void save(const std::filesystem::path& dir) const override {
    RECSYS_REQUIRE(fitted_, "model::save", "the '", name_,
                   "' model is not fitted (or its last fit did not complete): nothing to save");
    model_writer out(dir, name_);
    out.set_params(params_);
    out.set_field("data", to_json(summary_));
    model_.save(out);
    out.add_ids("user_ids", user_ids_);
    out.add_ids("item_ids", item_ids_);
    out.commit();
  }

  void load(const model_reader& in) override {
    require_recipe(in, name_);
    training_summary summary;
    in.in_manifest([&] { summary = summary_from_json(in.require_field("data")); });
    M loaded(config_);
    loaded.load(in);
    saved_ids ids = read_saved_ids(in, summary, loaded.num_users(), loaded.num_items());
    model_ = std::move(loaded);
    params_ = in.params();
    user_ids_ = std::move(ids.users);
    item_ids_ = std::move(ids.items);
    summary_ = std::move(summary);
    fitted_ = true;
  }

  /// The wrapped model (for code that knows the recipe's type).
  [[nodiscard]] const M& get() const noexcept { return model_; }

 private:
  std::string name_;
  param_map params_;
  Config config_;
  M model_;
  Fit fit_;
  bool fitted_ = false;
  id_map<std::string> user_ids_;
  id_map<std::string> item_ids_;
  training_summary summary_;
};

/// A registry entry for model type M configured by Config, fitted by `fit(M&, log, job)`.
template <class M, class Config, class Fit>
recipe make_recipe(std::string name, std::string description, std::string personalize,
                   std::vector<recipe_param> params, Fit fit) {
  recipe r{std::move(name), std::move(description), std::move(personalize), std::move(params), {}};
  r.make = [name = r.name, defaults = r.params, fit](const param_map& overrides) -> std::unique_ptr<model> {
    Config config{};
    param_map effective = apply_params(config, defaults, overrides);
    return std::make_unique<recipe_model<M, Config, Fit>>(name, std::move(effective), config, fit);
  };
  return r;
}

/// The parameters of an item_to_item recipe: every setting, with `defaults`' values.
template <class = void>
std::vector<recipe_param> item_to_item_params(const item_to_item_config& defaults) {
  std::vector<recipe_param> out;
  const auto values = to_params(defaults);
  for (const auto& info : item_to_item_settings())
    for (const auto& [k, v] : values)
      if (k == info.name) out.push_back({k, v, std::string(info.description)});
  return out;
}

/// Fit function for recipes trained on the user x item matrix: the log's events summed per
/// (user, item) pair with their weights (data/matrix.hpp, raw weighting); recipes apply their
/// own confidence or binarisation.
struct fit_on_matrix {
  template <class M>
  void operator()(M& m, const interaction_log& log, const job_control& job) const {
    m.fit(build_matrix(log), job);
  }
};

/// gru4rec's hyperparameters (GRU4Rec's names; defaults: its published RSC15 parameter file).
template <class = void>
std::vector<recipe_param> session_gru_params() {
  return {{"loss", "cross-entropy", "cross-entropy | bpr-max | top1-max"},
          {"layers", "100", "GRU layer sizes, input side first: 100 or 100/100"},
          {"hidden", "", "sets the size of every layer (applied after layers)"},
          {"embedding", "0", "width of a separate item embedding (0: none; needs constrained_embedding=false)"},
          {"constrained_embedding", "true", "input item embedding = output weights (GRU4Rec's shared embedding)"},
          {"batch_size", "32", "concurrent sessions per mini-batch"},
          {"dropout_embed", "0", "dropout on the input embedding"},
          {"dropout_hidden", "0.4", "dropout on the GRU output"},
          {"learning_rate", "0.2", "learning rate"},
          {"momentum", "", "Adagrad momentum (default: 0.2 with adagrad, 0 with adam)"},
          {"optimizer", "adagrad", "adagrad (with momentum, GRU4Rec's) | adam"},
          {"n_sample", "2048", "shared negatives per mini-batch (0: in-batch only)"},
          {"sample_alpha", "0.5", "negatives drawn with probability proportional to support^sample_alpha"},
          {"logq", "", "logQ correction (cross-entropy only; default: 1 with cross-entropy, 0 otherwise)"},
          {"bpreg", "1", "BPR-max score regularisation"},
          {"elu_param", "0.5", "ELU on the scores for BPR-max (0: linear)"},
          {"epochs", "10", "training epochs"},
          {"hrnn", "false", "HRNN: a user-level GRU carries state across a user's sessions"},
          {"user_hidden", "0", "HRNN user GRU size (0: the last layer's size)"},
          {"seed", "42", "initialisation, negatives and dropout"},
          {"num_threads", "0", "threads (0: default)"}};
}

/// Fit function for recipes that read the log directly.
struct fit_on_log {
  template <class M>
  void operator()(M& m, const interaction_log& log, const job_control& job) const {
    m.fit(log, job);
  }
};

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_RECIPE_MODEL_HPP
