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

}  // namespace recsys

#endif  // RECSYS_FWD_HPP
