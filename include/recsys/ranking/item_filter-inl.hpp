// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_ITEM_FILTER_INL_HPP
#define RECSYS_RANKING_ITEM_FILTER_INL_HPP

/// @file
/// Definitions of ranking/item_filter.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/filter.cpp), in two parts: binding and evaluation.

#include <recsys/ranking/item_filter.hpp>

#include <recsys/ranking/item_filter_binding-inl.hpp>
#include <recsys/ranking/item_filter_evaluation-inl.hpp>

#endif  // RECSYS_RANKING_ITEM_FILTER_INL_HPP
