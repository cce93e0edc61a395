// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RECIPES_HPP
#define RECSYS_RECIPES_HPP

/// @file
/// The recipe registry: every built-in recipe by name, behind one interface, so the command-line
/// tool, the evaluator, AutoML and pipelines treat all recipes alike. Adding a recipe means
/// adding one entry to recipes() below — nothing else switches on recipe names.
///
/// @code
///   auto m = recsys::make_model("popularity", {{"last_days", "90"}});
///   m->fit(train_log);
///   recsys::topk_result top = m->recommend(user, 10);
///   for (const auto& r : recsys::recipes()) std::puts(r.name.c_str());
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/errors.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// A recipe's model behind one interface: fit on a training log, then query. Queries are const
/// and thread-safe, as the wrapped model's are.
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
};

/// A registry entry.
struct recipe {
  std::string name;         ///< what --recipe takes
  std::string description;  ///< one line
  std::string personalize;  ///< the Amazon Personalize recipe it corresponds to
  std::vector<recipe_param> params;
  /// Builds an unfitted model with the defaults overridden by `params`.
  std::function<std::unique_ptr<model>(const param_map& params)> make;
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

/// The adapter every registry entry uses: a model type M with its config and a fit function.
template <class M, class Config, class Fit>
class recipe_model final : public model {
 public:
  recipe_model(std::string name, param_map params, Config config, Fit fit)
      : name_(std::move(name)), params_(std::move(params)), model_(config), fit_(std::move(fit)) {}

  const std::string& recipe() const noexcept override { return name_; }
  const param_map& params() const noexcept override { return params_; }
  void fit(const interaction_log& train, const job_control& job) override { fit_(model_, train, job); }
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

  /// The wrapped model (for code that knows the recipe's type).
  [[nodiscard]] const M& get() const noexcept { return model_; }

 private:
  std::string name_;
  param_map params_;
  M model_;
  Fit fit_;
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

/// Fit function for recipes that read the log directly.
struct fit_on_log {
  template <class M>
  void operator()(M& m, const interaction_log& log, const job_control& job) const {
    m.fit(log, job);
  }
};

}  // namespace detail

/// Every built-in recipe, in a fixed order.
[[nodiscard]] inline const std::vector<recipe>& recipes() {
  static const std::vector<recipe> all = [] {
    std::vector<recipe> r;
    r.push_back(detail::make_recipe<popularity_count, popularity_config>(
        "popularity", "items with the most distinct users (optionally in a time window)", "Popularity-Count",
        {{"last_days", "", "count only the last N days before the newest event (empty: all time)"},
         {"distinct_users", "true", "count distinct users (true) or event weights (false)"}},
        detail::fit_on_log{}));
    r.push_back(detail::make_recipe<trending_now, trending_config>(
        "trending", "items whose interactions rise fastest between two consecutive windows", "Trending-Now",
        {{"window", "1h", "window length: 30m, 1h, 3h, 1d or seconds"},
         {"smoothing", "5", "s in (c_now - c_before) / (c_before + s)"}},
        detail::fit_on_log{}));
    r.push_back(detail::make_recipe<item_to_item, item_to_item_config>(
        "item-knn", "item-based nearest neighbours: co-occurrence in user histories (cosine), scored over the history",
        "SIMS (item-to-item) applied to each user's history",
        detail::item_to_item_params(item_to_item_config{}), detail::fit_on_log{}));
    r.push_back(detail::make_recipe<item_to_item, item_to_item_config>(
        "sims", "co-occurrence with a popularity discount and Personalize's pruning defaults", "SIMS",
        detail::item_to_item_params(item_to_item_config::sims()), detail::fit_on_log{}));
    r.push_back(detail::make_recipe<bpr_model, bpr_config>(
        "bpr", "Bayesian personalised ranking: pairwise SGD matrix factorisation (Rendle et al. 2009)",
        "User-Personalization", bpr_params(), detail::fit_on_matrix{}));
    r.push_back(detail::make_recipe<warp_model, warp_config>(
        "warp", "WARP: pairwise factorisation weighted by the estimated rank (Weston et al. 2011, as LightFM)",
        "User-Personalization", warp_params(), detail::fit_on_matrix{}));
    r.push_back(detail::make_recipe<als<float>, als_config>(
        "als",
        "implicit-feedback ALS: weighted matrix factorisation by alternating least squares (Hu, Koren & Volinsky "
        "2008), CG or Cholesky solves, real-time fold-in",
        "User-Personalization", als_params(), detail::fit_on_matrix{}));
    return r;
  }();
  return all;
}

/// The recipe called `name`.
/// @throws recsys::invalid_argument listing the known recipes when there is none.
[[nodiscard]] inline const recipe& find_recipe(std::string_view name) {
  std::string names;
  for (const auto& r : recipes()) {
    if (r.name == name) return r;
    names += names.empty() ? "" : ", ";
    names += r.name;
  }
  detail::throw_invalid_argument("find_recipe", "unknown recipe '", name, "' (known: ", names, ")");
}

/// An unfitted model of recipe `name` with the given hyperparameters.
/// @throws recsys::invalid_argument for an unknown recipe, parameter or bad value.
[[nodiscard]] inline std::unique_ptr<model> make_model(std::string_view name, const param_map& params = {}) {
  return find_recipe(name).make(params);
}

}  // namespace recsys

#endif  // RECSYS_RECIPES_HPP
