// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RECIPES_INL_HPP
#define RECSYS_RECIPES_INL_HPP

/// @file
/// Definitions of recipes.hpp: the registry itself (header-only mode includes this file; the
/// compiled library instantiates it in src/recipes.cpp). Adding a recipe means adding one entry
/// to recipes() below — nothing else switches on recipe names.

#include <recsys/data/matrix.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/recipe_model.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/als.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/models/session_gru.hpp>
#include <recsys/models/session_gru_model.hpp>
#include <recsys/recipes.hpp>

#include <string>
#include <vector>

namespace recsys {

namespace detail {

/// The gru4rec registry entry: GRU4Rec's RSC15 parameter file as the defaults; `momentum` and
/// `logq`, when not given, follow the optimiser and the loss (0.2 / 1 for adagrad /
/// cross-entropy, else 0) so that `--set loss=bpr-max` or `--set optimizer=adam` alone is valid.
template <class = void>
recipe session_gru_recipe() {
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

}  // namespace detail

template <class>
const std::vector<recipe>& recipes() {
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

template <class>
const recipe& find_recipe(std::string_view name) {
  std::string names;
  std::vector<std::string> all;
  for (const auto& r : recipes<>()) {
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

template <class>
std::unique_ptr<model> make_model(std::string_view name, const param_map& params) {
  return find_recipe<>(name).make(params);
}

template <class>
std::unique_ptr<model> load_model(const std::filesystem::path& dir, std::string_view expected_recipe) {
  const model_reader in(dir, expected_recipe);
  const recipe* found = nullptr;
  std::string names;
  for (const auto& r : recipes<>()) {
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

#endif  // RECSYS_RECIPES_INL_HPP
