// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the synthetic data generators (data/synthetic.hpp).
#include <recsys/data/synthetic-inl.hpp>

namespace recsys {
template void synthetic_config::validate_fields<>() const;
template synthetic_truth synthetic_ground_truth<>(const synthetic_config&);
template interaction_log generate_interactions<>(const synthetic_config&);
template basket_data generate_baskets<>(const synthetic_config&);
template metadata_table generate_item_metadata<>(const synthetic_config&, const interaction_log&);
}  // namespace recsys
