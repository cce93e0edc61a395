// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the model store (io/model_store.hpp).
#include <recsys/io/model_store-inl.hpp>

namespace recsys {
template class basic_model_writer<void>;
template class basic_model_reader<void>;
template void check_model_target<>(const std::filesystem::path&);
namespace detail {
template void check_entry_name<>(std::string_view, std::string_view);
}  // namespace detail
}  // namespace recsys
