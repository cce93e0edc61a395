// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: recommendation pipelines (ranking/pipeline.hpp). recommender_ref, top_n_source
// and recent_neighbours_source are templates over the caller's model and stay in the header.
#include <recsys/ranking/pipeline-inl.hpp>

namespace recsys {
namespace detail {
template class basic_recent_history<void>;
}  // namespace detail
template class basic_pipeline<void>;
}  // namespace recsys
