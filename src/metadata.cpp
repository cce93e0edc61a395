// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the Items / Users metadata readers and writers (data/metadata.hpp).
#include <recsys/data/metadata-inl.hpp>

namespace recsys {
template metadata_table parse_items_csv<>(std::string_view, std::string_view, const metadata_options&);
template metadata_table read_items_csv<>(const std::filesystem::path&, const metadata_options&);
template metadata_table parse_users_csv<>(std::string_view, std::string_view, const metadata_options&);
template metadata_table read_users_csv<>(const std::filesystem::path&, const metadata_options&);
template void write_metadata_csv<>(const metadata_table&, std::ostream&, char, char);
template void write_metadata_csv<>(const metadata_table&, const std::filesystem::path&, char, char);
template void write_items_csv<>(const metadata_table&, const std::filesystem::path&, char);
template void write_users_csv<>(const metadata_table&, const std::filesystem::path&, char);
}  // namespace recsys
