// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_FWD_HPP
#define RECSYS_FWD_HPP

/// @file
/// Forward declarations of recsys's main types, for headers that only name them (in a
/// signature, a pointer or a reference). Including it costs nothing measurable.
///
/// The classes with real work to do are class templates with one defaulted, unused parameter
/// and an alias for their usual name (`model_writer` is `basic_model_writer<>`): their code is
/// compiled only where it is used (see config.hpp). Use the aliases.

#include <cstdint>

namespace recsys {

// data/metadata.hpp
struct metadata_table;

// io/model_store.hpp
template <class = void> class basic_model_writer;
template <class = void> class basic_model_reader;
using model_writer = basic_model_writer<>;
using model_reader = basic_model_reader<>;

// models/popularity.hpp
template <class = void> class basic_popularity_count;
template <class = void> class basic_trending_now;
using popularity_count = basic_popularity_count<>;
using trending_now = basic_trending_now<>;

// ranking/filter_expression.hpp
template <class = void> class basic_filter_expression;
using filter_expression = basic_filter_expression<>;

// ranking/recent_events.hpp
template <class = void> class basic_recent_items;
using recent_items = basic_recent_items<>;

// ranking/item_filter.hpp
template <class = void> class basic_item_filter;
using item_filter = basic_item_filter<>;

// ranking/filtered_options.hpp
template <class = void> class basic_filtered_options;
using filtered_options = basic_filtered_options<>;

// ranking/exploration.hpp
template <class = void> class basic_new_item_explorer;
using new_item_explorer = basic_new_item_explorer<>;

// ranking/diversity.hpp
template <class = void> class basic_cooccurrence_similarity;
using cooccurrence_similarity = basic_cooccurrence_similarity<>;

// ranking/pipeline.hpp
template <class = void> class basic_pipeline;
using pipeline = basic_pipeline<>;

}  // namespace recsys

#endif  // RECSYS_FWD_HPP
