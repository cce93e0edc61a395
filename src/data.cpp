// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the ingestion rules, the sessions and the splits (data/ingest.hpp,
// data/sessions.hpp, data/split.hpp).
#include <recsys/data/ingest-inl.hpp>
#include <recsys/data/sessions-inl.hpp>
#include <recsys/data/split-inl.hpp>

namespace recsys {
// data/ingest.hpp
template pruning_bounds compute_pruning_bounds<>(const interaction_log&, const percentile_pruning&);
template interaction_log apply_window<>(const interaction_log&, const time_window&);
template interaction_log apply_rules<>(const interaction_log&, const ingest_rules&);
template compaction compact<>(interaction_log&);

// data/sessions.hpp
template session_data build_sessions<>(const interaction_log&, const session_options&);
namespace detail {
template session_cut cut_sessions<>(const interaction_log&, const session_options&);
}  // namespace detail

// data/split.hpp
template split personalize_split<>(const interaction_log&, std::uint64_t, const personalize_split_options&);
template split leave_last_split<>(const interaction_log&, std::int64_t, int);
template split temporal_split<>(const interaction_log&, timestamp_t);
template split random_split<>(const interaction_log&, double, std::uint64_t);
template split session_time_split<>(const interaction_log&, const session_split_options&);
template split_spec parse_split_spec<>(std::string_view);
template split make_split<>(const interaction_log&, const split_spec&, std::uint64_t);
template split join_split<>(const interaction_log&, const interaction_log&);
}  // namespace recsys
