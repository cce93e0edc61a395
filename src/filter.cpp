// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: filters (ranking/filter.hpp and its parts).
#include <recsys/ranking/filter_expression-inl.hpp>

namespace recsys {
template class basic_filter_expression<void>;
}  // namespace recsys
