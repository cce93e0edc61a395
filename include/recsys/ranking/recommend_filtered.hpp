// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_RECOMMEND_FILTERED_HPP
#define RECSYS_RANKING_RECOMMEND_FILTERED_HPP

/// @file
/// A filter applied by any recipe (the glue between ranking/item_filter.hpp and the
/// `recommender` concept): recommend_filtered() and recommend_filtered_batch() evaluate a filter
/// and query the model with the mask as recommend_options (ranking/filtered_options.hpp), so
/// every recipe applies the filter before it truncates to k.

#include <recsys/errors.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/ranking/filter_params.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_filter.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

/// A recipe's recommend() with a filter applied before truncation to k: the k best items the
/// filter allows for this request (fewer only when fewer exist, or when the recipe itself returns
/// fewer). `opts` (exclude_seen, include, exclude) still apply.
/// @throws recsys::invalid_argument when the model and the filter disagree on the catalogue
///         size, or as item_filter::allowed.
/// @code
///   auto top = recsys::recommend_filtered(model, user, 10, filter, {{"GENRE", {"Comedy"}}});
/// @endcode
template <recommender M>
[[nodiscard]] topk_result recommend_filtered(const M& model, index_t user, index_t k, const item_filter& filter,
                                             const filter_params& params = {}, const recommend_options& opts = {}) {
  RECSYS_REQUIRE(model.num_items() == filter.num_items(), "recommend_filtered", "the model has ", model.num_items(),
                 " items but the filter was bound to ", filter.num_items());
  const filtered_options fo(filter.allowed(user, params), opts);
  return model.recommend(user, k, fo.options());
}

/// recommend_filtered for many users, one result per user. A filter that does not depend on the
/// user is evaluated once and, when the recipe has recommend_batch (factor models: one GEMM per
/// block of users), the batch goes through it; otherwise each user is one query, spread over
/// `num_threads` threads (0 = default). Results equal recommend_filtered per user.
template <recommender M>
[[nodiscard]] std::vector<topk_result> recommend_filtered_batch(const M& model, std::span<const index_t> users,
                                                                index_t k, const item_filter& filter,
                                                                const filter_params& params = {},
                                                                const recommend_options& opts = {},
                                                                int num_threads = 0) {
  RECSYS_REQUIRE(model.num_items() == filter.num_items(), "recommend_filtered_batch", "the model has ",
                 model.num_items(), " items but the filter was bound to ", filter.num_items());
  RECSYS_REQUIRE(k >= 0, "recommend_filtered_batch", "k must be >= 0 (got ", k, ")");
  std::vector<topk_result> out(users.size());
  if (!filter.depends_on_user()) {
    const filtered_options fo(filter.allowed(invalid_index, params), opts);
    if constexpr (requires { model.recommend_batch(users, k, fo.options(), num_threads); }) {
      return model.recommend_batch(users, k, fo.options(), num_threads);
    } else {
      parallel_options po;
      po.num_threads = num_threads;
      parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
        out[static_cast<std::size_t>(r)] = model.recommend(users[static_cast<std::size_t>(r)], k, fo.options());
      });
      return out;
    }
  }
  parallel_options po;
  po.num_threads = num_threads;
  parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
    out[static_cast<std::size_t>(r)] = recommend_filtered(model, users[static_cast<std::size_t>(r)], k, filter, params, opts);
  });
  return out;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_RECOMMEND_FILTERED_HPP
