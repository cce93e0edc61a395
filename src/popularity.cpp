// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the non-personalised baselines (models/popularity.hpp).
#include <recsys/models/popularity-inl.hpp>

namespace recsys {
namespace detail {
template class basic_global_ranking<void>;
}  // namespace detail
template class basic_popularity_count<void>;
template class basic_trending_now<void>;
}  // namespace recsys
