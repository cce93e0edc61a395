// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the recipe registry (recipes.hpp) and the gru4rec recipe's model.
#include <recsys/models/session_gru_model-inl.hpp>
#include <recsys/recipes-inl.hpp>

namespace recsys {
template class basic_session_gru_model<void>;
template const std::vector<recipe>& recipes<>();
template const recipe& find_recipe<>(std::string_view);
template std::unique_ptr<model> make_model<>(std::string_view, const param_map&);
template std::unique_ptr<model> load_model<>(const std::filesystem::path&, std::string_view);
}  // namespace recsys
