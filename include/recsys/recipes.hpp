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

#include <recsys/config.hpp>
#include <recsys/errors.hpp>
#include <recsys/models/model.hpp>
#include <recsys/recipe.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// Every built-in recipe, in a fixed order, with the search space AutoML tunes (see
/// docs/lifecycle.md for the ranges and where they come from).
///
///
/// The registry instantiates every model (training, queries, save and load) where it is
/// compiled: in compiled mode once, in the library; header-only, in the units that call it.
template <class = void>
[[nodiscard]] const std::vector<recipe>& recipes();

/// The recipe called `name`.
/// @throws recsys::invalid_argument listing the known recipes (and the nearest name, when the
///         given one looks like a typo) when there is none.
template <class = void>
[[nodiscard]] const recipe& find_recipe(std::string_view name);

/// An unfitted model of recipe `name` with the given hyperparameters.
/// @throws recsys::invalid_argument for an unknown recipe, parameter or bad value.
template <class = void>
[[nodiscard]] std::unique_ptr<model> make_model(std::string_view name, const param_map& params = {});

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
template <class = void>
[[nodiscard]] std::unique_ptr<model> load_model(const std::filesystem::path& dir, std::string_view expected_recipe = {});

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/recipes-inl.hpp>
#else
namespace recsys {
extern template const std::vector<recipe>& recipes<>();
extern template const recipe& find_recipe<>(std::string_view);
extern template std::unique_ptr<model> make_model<>(std::string_view, const param_map&);
extern template std::unique_ptr<model> load_model<>(const std::filesystem::path&, std::string_view);
}  // namespace recsys
#endif

#endif  // RECSYS_RECIPES_HPP
