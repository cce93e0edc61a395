// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTERED_OPTIONS_INL_HPP
#define RECSYS_RANKING_FILTERED_OPTIONS_INL_HPP

/// @file
/// Definitions of ranking/filtered_options.hpp (header-only mode includes this file; the
/// compiled library instantiates it in src/filter.cpp).

#include <recsys/ranking/filtered_options.hpp>

#include <recsys/ranking/item_mask.hpp>

namespace recsys {

template <class T>
basic_filtered_options<T>::basic_filtered_options(const item_mask& allowed, const recommend_options& base)
    : options_(base) {
  item_mask m = allowed;
  if (!base.include.empty()) m &= item_mask::of(m.size(), base.include);
  for (const index_t i : base.exclude) m.set(i, false);
  allowed_ = m.count();
  options_.include = {};
  options_.exclude = {};
  if (allowed_ > 0 && allowed_ <= m.size() / 2) {
    list_ = m.items();
    options_.include = list_;
  } else {
    list_ = m.complement_items();
    options_.exclude = list_;
  }
}

}  // namespace recsys

#endif  // RECSYS_RANKING_FILTERED_OPTIONS_INL_HPP
