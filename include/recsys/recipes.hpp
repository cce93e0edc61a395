// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RECIPES_HPP
#define RECSYS_RECIPES_HPP

/// @file
/// The recipe registry: every built-in recipe by name, behind one interface, so the command-line
/// tool, the evaluator, AutoML and pipelines treat all recipes alike. Adding a recipe means
/// adding one entry to recipes() below — nothing else switches on recipe names.
///
/// Every model made here can be saved to a model directory and loaded back (docs/lifecycle.md):
/// model::save(dir) writes the recipe, its hyperparameters, the training user / item id maps, a
/// training data summary and the model's own arrays; load_model(dir) reads the recipe from the
/// manifest and restores the model through this registry. A loaded model answers every query
/// exactly (bitwise) as the saved one did.
///
/// @code
///   auto m = recsys::make_model("popularity", {{"last_days", "90"}});
///   m->fit(train_log);
///   recsys::topk_result top = m->recommend(user, 10);
///   m->save("my-model");
///   auto served = recsys::load_model("my-model");          // any recipe
///   auto u = served->user_ids().find("alice");             // external id -> index
///   for (const auto& r : recsys::recipes()) std::puts(r.name.c_str());
/// @endcode

#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/json.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/models/session_gru.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// recipes() is inline (header-only use) unless compiled once for the program (see recipes()).
#if defined(RECSYS_SEPARATE_RECIPES) || defined(RECSYS_COMPILED_LIB)
#define RECSYS_RECIPES_INLINE
#else
#define RECSYS_RECIPES_INLINE inline
#endif

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

/// One hyperparameter AutoML tunes: a list of choices (as set_param text) or a numeric range,
/// sampled uniformly or log-uniformly, optionally as integers. Real values are rounded to three
/// significant digits so leaderboards stay readable and every sampled value is exact text.
struct search_dimension {
  enum class kind { choice, uniform, log_uniform };
  std::string name;                  ///< the recipe parameter
  kind type = kind::choice;
  std::vector<std::string> choices;  ///< kind::choice: the values
  double low = 0;                    ///< ranges: the closed interval [low, high]
  double high = 0;
  bool integer = false;              ///< ranges: round to the nearest integer

  [[nodiscard]] static search_dimension one_of(std::string name, std::vector<std::string> values) {
    return {std::move(name), kind::choice, std::move(values), 0, 0, false};
  }
  [[nodiscard]] static search_dimension uniform(std::string name, double low, double high, bool integer = false) {
    return {std::move(name), kind::uniform, {}, low, high, integer};
  }
  [[nodiscard]] static search_dimension log_uniform(std::string name, double low, double high, bool integer = false) {
    return {std::move(name), kind::log_uniform, {}, low, high, integer};
  }

  /// Checks the definition. @throws recsys::invalid_argument naming the dimension.
  void validate() const {
    RECSYS_REQUIRE(!name.empty(), "search_dimension", "empty parameter name");
    if (type == kind::choice) {
      RECSYS_REQUIRE(!choices.empty(), "search_dimension", "'", name, "' has no choices");
    } else {
      RECSYS_REQUIRE(std::isfinite(low) && std::isfinite(high) && low <= high, "search_dimension", "'", name,
                     "' needs a finite range low <= high (got [", low, ", ", high, "])");
      RECSYS_REQUIRE(type != kind::log_uniform || low > 0, "search_dimension", "'", name,
                     "' is log-uniform and needs low > 0 (got ", low, ")");
    }
  }

  /// One value as set_param text, drawn from `r`.
  [[nodiscard]] std::string sample(rng& r) const {
    validate();
    if (type == kind::choice) return choices[r.uniform_index(static_cast<std::uint32_t>(choices.size()))];
    const double u = r.uniform_double();
    double x = type == kind::uniform ? low + u * (high - low)
                                     : std::exp(std::log(low) + u * (std::log(high) - std::log(low)));
    x = std::clamp(x, low, high);
    if (integer) return std::to_string(std::llround(x));
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 3);
    return std::string(buf, ec == std::errc() ? end : buf);
  }

  /// "{32, 64, 128}", "[0.001, 0.1] log", "[1, 10] int".
  [[nodiscard]] std::string describe() const {
    std::string out;
    if (type == kind::choice) {
      out = "{";
      for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i) out += ", ";
        out += choices[i].empty() ? std::string("\"\"") : choices[i];
      }
      return out + "}";
    }
    out = detail::str("[", low, ", ", high, "]");
    if (type == kind::log_uniform) out += " log";
    if (integer) out += " int";
    return out;
  }
};

/// A recipe's search space: the dimensions AutoML samples (the other parameters keep their
/// defaults).
using search_space = std::vector<search_dimension>;

/// A recipe's model behind one interface: fit on a training log, then query, save and load.
/// Queries are const and thread-safe, as the wrapped model's are.
class model {
 public:
  virtual ~model() = default;

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
  [[nodiscard]] virtual topk_result recommend_for_history(std::span<const index_t> /*items*/,
                                                          std::span<const score_t> /*weights*/, index_t /*k*/,
                                                          const recommend_options& /*opts*/ = {}) const {
    detail::throw_invalid_argument("model::recommend_for_history", "recipe '", recipe(),
                                   "' cannot recommend for a history given at query time");
  }

  /// Whether similar_items works.
  [[nodiscard]] virtual bool supports_similar_items() const noexcept { return false; }
  /// Items similar to an item.
  /// @throws recsys::invalid_argument when supports_similar_items() is false.
  [[nodiscard]] virtual topk_result similar_items(index_t /*item*/, index_t /*k*/) const {
    detail::throw_invalid_argument("model::similar_items", "recipe '", recipe(), "' has no item similarity");
  }

  /// Top-k for many users into caller buffers of users.size() * k entries (row r = users[r]),
  /// padded with invalid_index and the lowest score. Recipes with a batch path use it (factor
  /// models: blocks of users through the top-K kernel, equal to recommend() up to the last bit
  /// of the scores; item-to-item: parallel recommend()); the others run recommend() for each
  /// user in parallel, which equals recommend() exactly.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  virtual void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                               const recommend_options& opts = {}, int num_threads = 0) const {
    RECSYS_REQUIRE(k >= 0, "model::recommend_batch", "k must be >= 0 (got ", k, ")");
    if (users.empty() || k == 0) return;
    RECSYS_REQUIRE(ids != nullptr && scores != nullptr, "model::recommend_batch", "output buffers must not be null");
    parallel_options po;
    po.num_threads = num_threads;
    po.chunk = 16;
    const auto kk = static_cast<std::size_t>(k);
    parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
      const topk_result top = recommend(users[static_cast<std::size_t>(r)], k, opts);
      const std::size_t base = static_cast<std::size_t>(r) * kk;
      for (std::size_t j = 0; j < kk; ++j) {
        ids[base + j] = j < top.size() ? top.ids[j] : invalid_index;
        scores[base + j] = j < top.size() ? top.scores[j] : std::numeric_limits<score_t>::lowest();
      }
    });
  }

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
  virtual void recommend_users(std::span<const index_t> /*items*/, index_t /*k*/, index_t* /*users*/,
                               score_t* /*scores*/, const recommend_options& /*opts*/ = {},
                               int /*num_threads*/ = 0) const {
    detail::throw_invalid_argument("model::recommend_users", "recipe '", recipe(),
                                   "' gives every user the same scores, so it cannot rank users for an item "
                                   "(use a personalised recipe: item-knn, sims, bpr, warp, als)");
  }

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
  [[nodiscard]] virtual next_item_metrics evaluate_next_item(const interaction_log& /*test*/,
                                                             const next_item_options& /*opts*/ = {},
                                                             const job_control& /*job*/ = {}) const {
    detail::throw_invalid_argument("model::evaluate_next_item", "recipe '", recipe(),
                                   "' does not predict next items in sessions");
  }
};

/// A registry entry.
struct recipe {
  std::string name;         ///< what --recipe takes
  std::string description;  ///< one line
  std::string personalize;  ///< the Amazon Personalize recipe it corresponds to
  std::vector<recipe_param> params;
  /// Builds an unfitted model with the defaults overridden by `params`.
  std::function<std::unique_ptr<model>(const param_map& params)> make;
  /// What AutoML tunes (recsys::automl), with documented ranges; empty: nothing to tune.
  search_space search = {};
  /// How a time-decay half-life reaches this recipe (recsys::search_time_windows): empty when
  /// it cannot (the fit ignores event weights and has no decay setting); "weights" when event
  /// weights are multiplied by 2^(-age / half_life) before fitting; otherwise the name of the
  /// recipe parameter that takes the half-life in seconds.
  std::string time_decay = {};
};

namespace detail {

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

[[nodiscard]] inline detail::json::value to_json(const training_summary& s) {
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
[[nodiscard]] inline training_summary summary_from_json(const detail::json::value& v) {
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
inline void require_recipe(const model_reader& in, const std::string& name) {
  if (in.recipe() != name)
    throw io_error(in.manifest_file(), "holds a '" + in.recipe() + "' model, expected '" + name + "'");
}

/// Loading, shared by the registry's models: the saved user and item id maps, checked against
/// the model's sizes and the saved training summary.
struct saved_ids {
  id_map<std::string> users;
  id_map<std::string> items;
};
inline saved_ids read_saved_ids(const model_reader& in, const training_summary& summary, std::int64_t num_users,
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
inline std::vector<recipe_param> item_to_item_params(const item_to_item_config& defaults) {
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
inline std::vector<recipe_param> session_gru_params() {
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

}  // namespace detail

/// The gru4rec recipe's model: a recsys::session_gru trained on the sessions of the log
/// (build_sessions: SESSION_ID when the log has it, else 30-minute inactivity gaps; event types,
/// values and weights are not used). Sessions are the unit of prediction:
///   - recommend(user, k): the next item after the user's most recent training session (its events
///     replayed); with hrnn=true, the first item of the user's next session, from the user state.
///     Users unknown to the model get the prediction of an empty session (the items that tend to
///     start sessions);
///   - recommend_for_history(items, ...): the next item after a session of `items` (real time);
///   - evaluate_next_item(test): GRU4Rec's next-item protocol on the test log's sessions.
class session_gru_model final : public model {
 public:
  session_gru_model(std::string name, param_map params, session_gru_config config)
      : name_(std::move(name)), params_(std::move(params)), gru_(std::move(config)) {}

  const std::string& recipe() const noexcept override { return name_; }
  const param_map& params() const noexcept override { return params_; }

  void fit(const interaction_log& train, const job_control& job = {}) override {
    fitted_ = false;
    const auto start = std::chrono::steady_clock::now();
    const session_data sessions = build_sessions(train);
    gru_.fit(sessions, job);
    user_ids_ = train.user_ids;
    item_ids_ = train.item_ids;
    summary_ = training_summary::of(train);
    // Each user's most recent session (sessions are in start-time order).
    const index_t users = train.num_users();
    std::vector<std::int64_t> last(static_cast<std::size_t>(users), -1);
    for (std::size_t s = 0; s < sessions.size() && s < sessions.users.size(); ++s)
      if (sessions.users[s] >= 0 && sessions.users[s] < users) last[static_cast<std::size_t>(sessions.users[s])] = static_cast<std::int64_t>(s);
    last_offsets_.assign(1, 0);
    last_items_.clear();
    for (std::int64_t s : last) {
      if (s >= 0) {
        const auto its = sessions.session(static_cast<std::size_t>(s));
        last_items_.insert(last_items_.end(), its.begin(), its.end());
      }
      last_offsets_.push_back(static_cast<std::int64_t>(last_items_.size()));
    }
    summary_.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fitted_ = true;
  }

  index_t num_users() const override { return static_cast<index_t>(last_offsets_.size()) - 1; }
  index_t num_items() const override { return gru_.num_items(); }

  topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const override {
    session_gru_state s = state_for(user);
    return gru_.recommend(s, k, opts);
  }

  std::vector<score_t> score(index_t user, std::span<const index_t> items) const override {
    session_gru_state s = state_for(user);
    const auto all = gru_.scores(s);
    std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
    for (std::size_t j = 0; j < items.size(); ++j)
      if (items[j] >= 0 && items[j] < gru_.num_items()) out[j] = all[static_cast<std::size_t>(items[j])];
    return out;
  }

  bool supports_history() const noexcept override { return true; }
  topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
                                    const recommend_options& opts = {}) const override {
    return gru_.recommend_for_history(items, weights, k, opts);
  }

  bool supports_next_item() const noexcept override { return true; }
  next_item_metrics evaluate_next_item(const interaction_log& test, const next_item_options& opts = {},
                                       const job_control& job = {}) const override {
    return recsys::evaluate_next_item(gru_, build_sessions(test), opts, job);
  }

  bool is_fitted() const noexcept override { return fitted_; }
  const id_map<std::string>& user_ids() const noexcept override { return user_ids_; }
  const id_map<std::string>& item_ids() const noexcept override { return item_ids_; }
  const training_summary& training() const noexcept override { return summary_; }

  /// Writes the network (session_gru::save: GRU4Rec-named hyperparameters and arrays), each
  /// user's last training session (`last_session_offsets` / `last_session_items`, what
  /// recommend(user) replays), the id maps and the training summary.
  void save(const std::filesystem::path& dir) const override {
    RECSYS_REQUIRE(fitted_, "model::save", "the '", name_,
                   "' model is not fitted (or its last fit did not complete): nothing to save");
    model_writer out(dir, name_);
    gru_.save(out);  // the network's own hyperparameters (GRU4Rec's names) as "params"
    detail::json::object recipe_params;
    for (const auto& [k, v] : params_) detail::json::add(recipe_params, k, v);
    out.set_field("recipe_params", detail::json::value(std::move(recipe_params)));
    out.set_field("data", detail::to_json(summary_));
    out.add_vector("last_session_offsets", last_offsets_);
    out.add_vector("last_session_items", last_items_);
    out.add_ids("user_ids", user_ids_);
    out.add_ids("item_ids", item_ids_);
    out.commit();
  }

  void load(const model_reader& in) override {
    detail::require_recipe(in, name_);
    training_summary summary;
    param_map recipe_params;
    in.in_manifest([&] {
      summary = detail::summary_from_json(in.require_field("data"));
      for (const auto& [k, v] : in.require_field("recipe_params").as_object("recipe_params"))
        recipe_params.emplace_back(k, v.as_string("a recipe parameter"));
    });
    session_gru loaded = session_gru::load(in);
    std::vector<std::int64_t> offsets = in.vector<std::int64_t>("last_session_offsets");
    std::vector<index_t> items = in.vector<index_t>("last_session_items");
    const std::string off_file = in.array_file("last_session_offsets");
    model_reader::check(!offsets.empty() && offsets.front() == 0 &&
                            offsets.back() == static_cast<std::int64_t>(items.size()),
                        off_file, "does not delimit last_session_items");
    for (std::size_t u = 1; u < offsets.size(); ++u)
      model_reader::check(offsets[u] >= offsets[u - 1], off_file, "is not ascending");
    for (index_t i : items)
      model_reader::check(i >= 0 && i < loaded.num_items(), in.array_file("last_session_items"),
                          detail::str("holds item ", i, ", the model has ", loaded.num_items(), " items"));
    detail::saved_ids ids =
        detail::read_saved_ids(in, summary, static_cast<std::int64_t>(offsets.size()) - 1, loaded.num_items());
    gru_ = std::move(loaded);
    last_offsets_ = std::move(offsets);
    last_items_ = std::move(items);
    params_ = std::move(recipe_params);
    user_ids_ = std::move(ids.users);
    item_ids_ = std::move(ids.items);
    summary_ = std::move(summary);
    fitted_ = true;
  }

  /// The trained network (for saving: session_gru::save).
  [[nodiscard]] const session_gru& get() const noexcept { return gru_; }

 private:
  [[nodiscard]] session_gru_state state_for(index_t user) const {
    const bool known = user >= 0 && user < num_users();
    if (gru_.config().hrnn) return gru_.start_session(known ? user : invalid_index);
    session_gru_state s = gru_.start_session();
    if (known) {
      const auto b = last_offsets_[static_cast<std::size_t>(user)], e = last_offsets_[static_cast<std::size_t>(user) + 1];
      gru_.put_events(s, std::span<const index_t>(last_items_.data() + b, static_cast<std::size_t>(e - b)));
    }
    return s;
  }

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

namespace detail {

/// The gru4rec registry entry: GRU4Rec's RSC15 parameter file as the defaults; `momentum` and
/// `logq`, when not given, follow the optimiser and the loss (0.2 / 1 for adagrad /
/// cross-entropy, else 0) so that `--set loss=bpr-max` or `--set optimizer=adam` alone is valid.
inline recipe session_gru_recipe() {
  recipe r{"gru4rec",
           "session-based next-item GRU (GRU4Rec: Hidasi et al. 2016/2018; HRNN user state optional)",
           "HRNN / User-Personalization (session events)",
           session_gru_params(),
           {}};
  r.make = [defaults = r.params](const param_map& overrides) -> std::unique_ptr<model> {
    session_gru_config config = gru4rec_rsc15_config();
    param_map effective = apply_params(config, defaults, overrides);
    auto given = [&](std::string_view key) {
      for (const auto& kv : overrides)
        if (kv.first == key) return true;
      return false;
    };
    if (!given("momentum")) config.momentum = config.optimizer == session_gru_optimizer::adagrad ? 0.2 : 0.0;
    if (!given("logq")) config.logq = config.loss == session_gru_loss::cross_entropy ? 1.0 : 0.0;
    config.validate();
    for (auto& kv : effective) {
      if (kv.first == "momentum" && !given("momentum")) kv.second = detail::str(config.momentum);
      if (kv.first == "logq" && !given("logq")) kv.second = detail::str(config.logq);
    }
    return std::make_unique<session_gru_model>("gru4rec", std::move(effective), std::move(config));
  };
  return r;
}

/// Fit function for recipes that read the log directly.
struct fit_on_log {
  template <class M>
  void operator()(M& m, const interaction_log& log, const job_control& job) const {
    m.fit(log, job);
  }
};

}  // namespace detail

/// Every built-in recipe, in a fixed order, with the search space AutoML tunes (see
/// docs/lifecycle.md for the ranges and where they come from).
///
/// Defining the registry instantiates every model (training, queries, save and load) in the
/// translation unit that uses it: tens of seconds of compile time. A program with several such
/// translation units can compile it once: define RECSYS_SEPARATE_RECIPES for the whole program
/// (every translation unit), and RECSYS_RECIPES_IMPLEMENTATION as well in exactly one of them,
/// or link the CMake target recsys::recipes, which does both (docs/getting-started.md).
#if (defined(RECSYS_SEPARATE_RECIPES) || defined(RECSYS_COMPILED_LIB)) && !defined(RECSYS_RECIPES_IMPLEMENTATION)
[[nodiscard]] const std::vector<recipe>& recipes();
#else
[[nodiscard]] RECSYS_RECIPES_INLINE const std::vector<recipe>& recipes() {
  static const std::vector<recipe> all = [] {
    using dim = search_dimension;
    std::vector<recipe> r;
    r.push_back(detail::make_recipe<popularity_count, popularity_config>(
        "popularity", "items with the most distinct users (optionally in a time window)", "Popularity-Count",
        {{"last_days", "", "count only the last N days before the newest event (empty: all time)"},
         {"distinct_users", "true", "count distinct users (true) or event weights (false)"}},
        detail::fit_on_log{}));
    r.back().search = {dim::one_of("last_days", {"", "7", "30", "90", "365"}),
                       dim::one_of("distinct_users", {"true", "false"})};
    r.push_back(detail::make_recipe<trending_now, trending_config>(
        "trending", "items whose interactions rise fastest between two consecutive windows", "Trending-Now",
        {{"window", "1h", "window length: 30m, 1h, 3h, 1d or seconds"},
         {"smoothing", "5", "s in (c_now - c_before) / (c_before + s)"}},
        detail::fit_on_log{}));
    r.back().search = {dim::one_of("window", {"30m", "1h", "3h", "1d", "7d"}), dim::log_uniform("smoothing", 1, 100)};
    r.push_back(detail::make_recipe<item_to_item, item_to_item_config>(
        "item-knn", "item-based nearest neighbours: co-occurrence in user histories (cosine), scored over the history",
        "SIMS (item-to-item) applied to each user's history",
        detail::item_to_item_params(item_to_item_config{}), detail::fit_on_log{}));
    r.back().search = {dim::one_of("similarity", {"cosine", "jaccard", "sims", "bm25", "tfidf"}),
                       dim::log_uniform("neighbours", 20, 400, true), dim::uniform("min_cooccurrence", 1, 5, true)};
    r.back().time_decay = "recency_half_life";
    r.push_back(detail::make_recipe<item_to_item, item_to_item_config>(
        "sims", "co-occurrence with a popularity discount and Personalize's pruning defaults", "SIMS",
        detail::item_to_item_params(item_to_item_config::sims()), detail::fit_on_log{}));
    // Personalize's own HPO ranges for SIMS: popularity_discount_factor [0, 1],
    // min_cointeraction_count [0, 10] (ours starts at 1: 0 would admit pairs never seen together)
    r.back().search = {dim::uniform("popularity_discount", 0, 1), dim::uniform("min_cooccurrence", 1, 10, true),
                       dim::log_uniform("neighbours", 20, 400, true)};
    r.back().time_decay = "recency_half_life";
    r.push_back(detail::make_recipe<bpr_model, bpr_config>(
        "bpr", "Bayesian personalised ranking: pairwise SGD matrix factorisation (Rendle et al. 2009)",
        "User-Personalization", bpr_params(), detail::fit_on_matrix{}));
    r.back().search = {dim::one_of("factors", {"32", "64", "128"}), dim::one_of("epochs", {"20", "40"}),
                       dim::log_uniform("learning_rate", 0.03, 0.3), dim::log_uniform("regularization", 0.005, 0.05)};
    r.push_back(detail::make_recipe<warp_model, warp_config>(
        "warp", "WARP: pairwise factorisation weighted by the estimated rank (Weston et al. 2011, as LightFM)",
        "User-Personalization", warp_params(), detail::fit_on_matrix{}));
    r.back().search = {dim::one_of("factors", {"32", "64", "128"}), dim::one_of("epochs", {"20", "40"}),
                       dim::log_uniform("learning_rate", 0.002, 0.01), dim::log_uniform("regularization", 0.2, 1),
                       dim::one_of("max_trials", {"10", "20"})};
    r.push_back(detail::make_recipe<als<float>, als_config>(
        "als",
        "implicit-feedback ALS: weighted matrix factorisation by alternating least squares (Hu, Koren & Volinsky "
        "2008), CG or Cholesky solves, real-time fold-in",
        "User-Personalization", als_params(), detail::fit_on_matrix{}));
    // around the defaults tuned on MovieLens-100K and the synthetic sets (docs/als.md): lambda is
    // frequency-scaled (times the row's count), so its useful range is narrow
    r.back().search = {dim::one_of("factors", {"32", "64", "128"}), dim::one_of("iterations", {"10", "15"}),
                       dim::log_uniform("regularization", 0.02, 0.5), dim::log_uniform("alpha", 0.3, 10)};
    r.push_back(detail::session_gru_recipe());
    // a subset of GRU4Rec's own hyperparameter space (its paramspaces), around the RSC15 file;
    // AutoML tries gru4rec only when asked by name (it is judged on next items, not per user)
    r.back().search = {dim::one_of("layers", {"64", "100", "200"}), dim::one_of("batch_size", {"32", "64", "128"}),
                       dim::uniform("dropout_hidden", 0, 0.6), dim::log_uniform("learning_rate", 0.02, 0.25),
                       dim::uniform("sample_alpha", 0, 1)};
    return r;
  }();
  return all;
}
#endif  // RECSYS_SEPARATE_RECIPES

/// The recipe called `name`.
/// @throws recsys::invalid_argument listing the known recipes when there is none.
[[nodiscard]] inline const recipe& find_recipe(std::string_view name) {
  std::string names;
  std::vector<std::string> all;
  for (const auto& r : recipes()) {
    if (r.name == name) return r;
    names += names.empty() ? "" : ", ";
    names += r.name;
    all.push_back(r.name);
  }
  const std::string guess = detail::closest_name(name, all);
  if (!guess.empty())
    detail::throw_invalid_argument("find_recipe", "unknown recipe '", name, "'; did you mean '", guess, "'? (known: ",
                                   names, ")");
  detail::throw_invalid_argument("find_recipe", "unknown recipe '", name, "' (known: ", names, ")");
}

/// An unfitted model of recipe `name` with the given hyperparameters.
/// @throws recsys::invalid_argument for an unknown recipe, parameter or bad value.
[[nodiscard]] inline std::unique_ptr<model> make_model(std::string_view name, const param_map& params = {}) {
  return find_recipe(name).make(params);
}

/// Loads a model saved by model::save: reads and validates the manifest, makes the recipe it
/// names with the saved hyperparameters, and restores the fitted state, id maps and training
/// summary. The result recommends exactly (bitwise) as the saved model did.
/// @param dir              the model directory
/// @param expected_recipe  when non-empty, a model of another recipe is an error
/// @throws recsys::io_error naming the file and the problem: a missing or unreadable file, a
///         truncated or corrupted file (size / CRC-32), an unsupported format version, an
///         unknown or unexpected recipe, bad hyperparameters, or arrays whose shapes do not
///         match each other or the id maps.
/// @code
///   auto m = recsys::load_model("models/bpr-2024-05");
///   auto user = m->user_ids().find("alice");
///   auto top = m->recommend(user.value_or(recsys::invalid_index), 10);  // unknown: popular items
/// @endcode
[[nodiscard]] inline std::unique_ptr<model> load_model(const std::filesystem::path& dir,
                                                       std::string_view expected_recipe = {}) {
  const model_reader in(dir, expected_recipe);
  const recipe* found = nullptr;
  std::string names;
  for (const auto& r : recipes()) {
    if (r.name == in.recipe()) found = &r;
    names += names.empty() ? "" : ", ";
    names += r.name;
  }
  if (!found)
    throw io_error(in.manifest_file(), "names recipe '" + in.recipe() + "', which this recsys does not have (known: " +
                                           names + ")");
  std::unique_ptr<model> m;
  try {
    m = found->make(in.params());
  } catch (const invalid_argument& e) {
    throw io_error(in.manifest_file(), std::string("bad hyperparameters: ") + e.what());
  }
  m->load(in);
  return m;
}

}  // namespace recsys

#endif  // RECSYS_RECIPES_HPP
