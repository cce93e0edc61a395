// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_PIPELINE_INL_HPP
#define RECSYS_RANKING_PIPELINE_INL_HPP

/// @file
/// Definitions of ranking/pipeline.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/pipeline.cpp).

#include <recsys/ranking/pipeline.hpp>

#include <recsys/data/matrix.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/errors.hpp>
#include <recsys/ranking/blend.hpp>
#include <recsys/ranking/diversity.hpp>
#include <recsys/ranking/exploration.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_mask.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

template <class T>
basic_recent_history<T>::basic_recent_history(const interaction_log& log, index_t recent)
    : recent_(log, recent), seen_(seen_matrix(log)) {}

template <class T>
std::span<const index_t> basic_recent_history<T>::seen(index_t user) const noexcept {
  return row_items(seen_, user);
}

}  // namespace detail

template <class T>
basic_pipeline<T>& basic_pipeline<T>::add_source(candidate_source source) {
  RECSYS_REQUIRE(static_cast<bool>(source.generate), "pipeline::add_source", "source '", source.name,
                 "' has no generate function");
  RECSYS_REQUIRE(source.count >= 0, "pipeline::add_source", "source '", source.name, "' count must be >= 0");
  sources_.push_back(std::move(source));
  return *this;
}

template <class T>
basic_pipeline<T>& basic_pipeline<T>::set_fallback(recommender_ref fallback, index_t count) {
  RECSYS_REQUIRE(count >= 0, "pipeline::set_fallback", "count must be >= 0 (got ", count, ")");
  RECSYS_REQUIRE(fallback.num_items() == ranker_.num_items(), "pipeline::set_fallback", "the fallback has ",
                 fallback.num_items(), " items, the ranker ", ranker_.num_items());
  fallback_ = fallback;
  fallback_count_ = count;
  return *this;
}

template <class T>
basic_pipeline<T>& basic_pipeline<T>::set_filter(item_filter filter, filter_params default_values) {
  check_items(filter.num_items(), "pipeline::set_filter");
  filter_ = std::move(filter);
  filter_values_ = std::move(default_values);
  return *this;
}

template <class T>
basic_pipeline<T>& basic_pipeline<T>::set_promotion(item_filter filter, promotion p, filter_params default_values) {
  check_items(filter.num_items(), "pipeline::set_promotion");
  p.validate();
  promotion_filter_ = std::move(filter);
  promotion_ = std::move(p);
  promotion_values_ = std::move(default_values);
  return *this;
}

template <class T>
basic_pipeline<T>& basic_pipeline<T>::set_exploration(new_item_explorer explorer) {
  check_items(explorer.num_items(), "pipeline::set_exploration");
  explorer_ = std::move(explorer);
  return *this;
}

template <class T>
reranked_list basic_pipeline<T>::run(const pipeline_request& req) const {
  RECSYS_REQUIRE(req.k >= 0, "pipeline::run", "k must be >= 0 (got ", req.k, ")");
  const index_t n = num_items();
  const index_t k = std::min(req.k, n);  // also keeps k + reserved slots below from overflowing
  const bool ranked_by_ranker = uses_ranker(req.user);
  const recommender_ref scorer = ranked_by_ranker ? ranker_ : *fallback_;
  const item_mask allowed =
      filter_ ? filter_->allowed(req.user, req.filter_values.value_or(filter_values_), req.current_item)
              : item_mask(n, true);
  const filtered_options fo(allowed, req.options);

  // candidates -> union -> scores -> pool. When the scorer's own recommend() is the only
  // source (no sources, or the fallback), its ranked result is the pool as it is.
  topk_result pool;
  if (!ranked_by_ranker) {
    pool = fallback_->recommend(req.user, fallback_count_, fo.options());
  } else if (sources_.empty()) {
    pool = ranker_.recommend(req.user, k, fo.options());
  } else {
    std::vector<index_t> candidates;
    item_mask in_union(n, false);
    for (const auto& s : sources_)
      for (const index_t i : s.generate(req.user, s.count == 0 ? k : s.count, fo.options()).ids)
        if (i >= 0 && i < n && !in_union.test(i)) {
          in_union.set(i);
          candidates.push_back(i);
        }
    pool = rank_pool(scorer, req.user, candidates);
  }

  // slot groups
  std::vector<slot_group> groups;
  index_t reserved = 0;
  if (promotion_) {
    const item_mask promoted = promotion_filter_->allowed(
        req.user, req.promotion_values.value_or(promotion_values_), req.current_item);
    const filtered_options po(promoted, req.options);
    groups.push_back({slot_kind::promoted, promotion_slots(k, promotion_->percent), promotion_->placement,
                      scorer.recommend(req.user, k, po.options())});
    reserved += groups.back().slots;
  }
  if (explorer_) {
    groups.push_back(explore_group(scorer, req.user, k, *explorer_, allowed, req.options));
    reserved += groups.back().slots;
  }
  const topk_result regular =
      similarity_ ? diversify_mmr(pool, k + reserved, lambda_, similarity_) : pool;
  const std::uint64_t seed = promotion_ ? promotion_->seed : explorer_ ? explorer_->config().seed : 0;
  return blend(regular, groups, k, seed, req.user);
}

template <class T>
topk_result basic_pipeline<T>::recommend(index_t user, index_t k, const recommend_options& opts) const {
  pipeline_request req;
  req.user = user;
  req.k = k;
  req.options = opts;
  return run(req).result();
}

template <class T>
topk_result basic_pipeline<T>::rank_pool(const recommender_ref& scorer, index_t user,
                                         std::span<const index_t> candidates) {
  const std::vector<score_t> s = scorer.score(user, candidates);
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ranks_before(s[a], candidates[a], s[b], candidates[b]);
  });
  topk_result pool;
  pool.reserve(order.size());
  for (const std::size_t j : order) pool.push_back(candidates[j], s[j]);
  return pool;
}

template <class T>
void basic_pipeline<T>::check_items(index_t n, const char* where) const {
  RECSYS_REQUIRE(n == ranker_.num_items(), where, "bound to ", n, " items but the ranker has ", ranker_.num_items());
}

}  // namespace recsys

#endif  // RECSYS_RANKING_PIPELINE_INL_HPP
