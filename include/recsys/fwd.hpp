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

// data/id_map.hpp (the default key, std::string, is given there: use id_map<> after including it)
template <class Key> class id_map;

// data/interaction_log.hpp, data/baskets.hpp, data/sessions.hpp: vocabulary structs
struct load_report;
struct interaction_log;
struct basket_data;
struct session_data;
struct session_options;

// data/matrix.hpp, data/metadata.hpp, data/split.hpp, data/synthetic.hpp
struct matrix_options;
struct metadata_table;
struct split;
struct synthetic_config;
struct synthetic_truth;

// io/model_store.hpp
template <class = void> class basic_model_writer;
template <class = void> class basic_model_reader;
using model_writer = basic_model_writer<>;
using model_reader = basic_model_reader<>;

// models/model.hpp (and eval/next_item.hpp's option and result types it names)
template <class = void> class basic_model;
using model = basic_model<>;
struct next_item_options;
struct next_item_metrics;

// models/session_gru_model.hpp
template <class = void> class basic_session_gru_model;
using session_gru_model = basic_session_gru_model<>;

// models/popularity.hpp
template <class = void> class basic_popularity_count;
template <class = void> class basic_trending_now;
using popularity_count = basic_popularity_count<>;
using trending_now = basic_trending_now<>;

// models/session_gru.hpp (the state: models/session_gru_state.hpp)
template <class = void> class basic_session_gru;
template <class = void> class basic_session_gru_state;
using session_gru = basic_session_gru<>;
using session_gru_state = basic_session_gru_state<>;

// models/item_to_item.hpp
template <class = void> class basic_item_to_item;
using item_to_item = basic_item_to_item<>;

// ranking/topk.hpp
template <class = void> class basic_item_lists;
using item_lists = basic_item_lists<>;
struct topk_filter;
struct topk_options;

// models/factor_model.hpp (float = score_t)
template <class Scalar = float> class factor_model;

// models/als.hpp
struct als_config;
template <class Scalar = float> class als;

// models/bpr.hpp
struct bpr_config;
struct warp_config;
template <class Config> class pairwise_model;
using bpr_model = pairwise_model<bpr_config>;
using warp_model = pairwise_model<warp_config>;

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

// eval/next_item.hpp
template <class = void> class basic_next_item_accumulator;
using next_item_accumulator = basic_next_item_accumulator<>;

}  // namespace recsys

#endif  // RECSYS_FWD_HPP
