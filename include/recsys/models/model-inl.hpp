// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_MODEL_INL_HPP
#define RECSYS_MODELS_MODEL_INL_HPP

/// @file
/// Definitions of models/model.hpp (header-only mode includes this file; the compiled library
/// instantiates it in src/model.cpp).

#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/eval/next_item.hpp>
#include <recsys/models/model.hpp>
#include <recsys/parallel.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace recsys {

template <class T>
topk_result basic_model<T>::recommend_for_history(std::span<const index_t> /*items*/,
                                                  std::span<const score_t> /*weights*/, index_t /*k*/,
                                                  const recommend_options& /*opts*/) const {
  detail::throw_invalid_argument("model::recommend_for_history", "recipe '", recipe(),
                                 "' cannot recommend for a history given at query time");
}

template <class T>
topk_result basic_model<T>::similar_items(index_t /*item*/, index_t /*k*/) const {
  detail::throw_invalid_argument("model::similar_items", "recipe '", recipe(), "' has no item similarity");
}

template <class T>
void basic_model<T>::recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                                     const recommend_options& opts, int num_threads) const {
  RECSYS_REQUIRE(k >= 0, "model::recommend_batch", "k must be >= 0 (got ", k, ")");
  if (users.empty() || k == 0) return;
  RECSYS_REQUIRE(ids != nullptr && scores != nullptr, "model::recommend_batch", "output buffers must not be null");
  parallel_options po;
  po.num_threads = num_threads;
  po.chunk = 16;
  const auto kk = static_cast<std::size_t>(k);
  parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
    const topk_result top = recommend(users[static_cast<std::size_t>(r)], k, opts);
    const std::size_t base = static_cast<std::size_t>(r) * kk;
    detail::write_padded_result(top, k, ids + base, scores + base);
  });
}

template <class T>
void basic_model<T>::recommend_users(std::span<const index_t> /*items*/, index_t /*k*/, index_t* /*users*/,
                                     score_t* /*scores*/, const recommend_options& /*opts*/,
                                     int /*num_threads*/) const {
  detail::throw_invalid_argument("model::recommend_users", "recipe '", recipe(),
                                 "' gives every user the same scores, so it cannot rank users for an item "
                                 "(use a personalised recipe: item-knn, sims, bpr, warp, als)");
}

template <class T>
next_item_metrics basic_model<T>::evaluate_next_item(const interaction_log& /*test*/,
                                                     const next_item_options& /*opts*/,
                                                     const job_control& /*job*/) const {
  detail::throw_invalid_argument("model::evaluate_next_item", "recipe '", recipe(),
                                 "' does not predict next items in sessions");
}

}  // namespace recsys

#endif  // RECSYS_MODELS_MODEL_INL_HPP
