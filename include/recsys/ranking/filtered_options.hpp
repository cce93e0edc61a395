// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTERED_OPTIONS_HPP
#define RECSYS_RANKING_FILTERED_OPTIONS_HPP

/// @file
/// recsys::filtered_options: an item_mask as recommend_options, so that any recipe's recommend()
/// applies a filter (or any set of allowed items) before it truncates to k. What
/// recommend_filtered(), the re-rankings and pipelines hand to the models.

#include <recsys/config.hpp>
#include <recsys/fwd.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <vector>

namespace recsys {

/// recommend_options restricted to the items of a mask: what a recipe's recommend() needs to
/// apply a filter before truncating to k. The allowed set is the mask, intersected with the base
/// options' include list (when non-empty) and without their exclude list; it becomes an include
/// list when at most half the catalogue is allowed, an exclude list otherwise (the shorter list;
/// nothing allowed excludes every item). exclude_seen is kept.
/// The options point into this object: keep it alive while they are used (not copyable).
/// (`filtered_options` is `basic_filtered_options<>`; see config.hpp.)
template <class T>
class basic_filtered_options {
 public:
  basic_filtered_options(const item_mask& allowed, const recommend_options& base = {});
  basic_filtered_options(const basic_filtered_options&) = delete;
  basic_filtered_options& operator=(const basic_filtered_options&) = delete;

  [[nodiscard]] const recommend_options& options() const noexcept { return options_; }
  /// Items the query may return before exclude_seen.
  [[nodiscard]] index_t num_allowed() const noexcept { return allowed_; }

 private:
  std::vector<index_t> list_;
  recommend_options options_;
  index_t allowed_ = 0;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/filtered_options-inl.hpp>
#else
namespace recsys {
extern template class basic_filtered_options<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_FILTERED_OPTIONS_HPP
