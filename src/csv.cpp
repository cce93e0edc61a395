// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the interactions, delimited and basket readers and writers (data/csv.hpp).
#include <recsys/data/csv-inl.hpp>

namespace recsys {
template interaction_log parse_interactions_csv<>(std::string_view, std::string_view, const csv_options&);
template interaction_log read_interactions_csv<>(const std::filesystem::path&, const csv_options&);
template void write_interactions_csv<>(const interaction_log&, std::ostream&, char);
template void write_interactions_csv<>(const interaction_log&, const std::filesystem::path&, char);
template interaction_log parse_delimited<>(std::string_view, std::string_view, const raw_format&);
template interaction_log read_delimited<>(const std::filesystem::path&, const raw_format&);
template basket_data parse_baskets<>(std::string_view, std::string_view, const basket_options&);
template basket_data read_baskets<>(const std::filesystem::path&, const basket_options&);
template basket_data read_baskets<>(const std::filesystem::path&, char);
template void write_baskets<>(const basket_data&, std::ostream&, char);
template void write_baskets<>(const basket_data&, const std::filesystem::path&, char);
}  // namespace recsys
