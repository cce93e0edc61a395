// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: BPR and WARP (models/bpr.hpp) and their settings.
#include <recsys/models/bpr-inl.hpp>

namespace recsys {
template void set_param<>(bpr_config&, std::string_view, std::string_view);
template void set_param<>(warp_config&, std::string_view, std::string_view);
template void set_param<>(bpr_config&, std::string_view);
template void set_param<>(warp_config&, std::string_view);
template std::vector<pairwise_param> bpr_params<>(const bpr_config&);
template std::vector<pairwise_param> warp_params<>(const warp_config&);
template void validate<>(const bpr_config&);
template void validate<>(const warp_config&);
template class pairwise_model<bpr_config>;
template class pairwise_model<warp_config>;
}  // namespace recsys
