// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: filters (ranking/filter.hpp and its parts): the expression parser, filter
// parameters, users' recent events, item_filter (binding and evaluation) and filtered_options.
#include <recsys/ranking/filter_expression-inl.hpp>
#include <recsys/ranking/filter_params-inl.hpp>
#include <recsys/ranking/filtered_options-inl.hpp>
#include <recsys/ranking/item_filter-inl.hpp>
#include <recsys/ranking/recent_events-inl.hpp>

namespace recsys {
template class basic_filter_expression<void>;
template std::vector<std::string> parse_filter_values<>(std::string_view);
namespace detail {
template user_event_rows recent_event_rows<>(const interaction_log&, std::size_t);
}  // namespace detail
template class basic_recent_items<void>;
template class basic_item_filter<void>;
template class basic_filtered_options<void>;
}  // namespace recsys
