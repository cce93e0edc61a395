// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: item-to-item mining and association rules (models/item_to_item.hpp,
// models/association_rules.hpp).
#include <recsys/models/association_rules-inl.hpp>
#include <recsys/models/item_to_item-inl.hpp>

namespace recsys {
template class basic_item_to_item<void>;

template std::vector<association_rule> association_rules<>(const basket_data&, const rule_options&,
                                                           const job_control&);
template std::vector<association_rule> association_rules<>(const session_data&, const rule_options&,
                                                           const job_control&);
template std::vector<association_rule> association_rules<>(const csr_matrix&, const rule_options&, const job_control&);
template void write_rules_csv<>(std::ostream&, std::span<const association_rule>, const id_map<std::string>&);
template void write_rules_csv<>(const std::string&, std::span<const association_rule>, const id_map<std::string>&);
}  // namespace recsys
