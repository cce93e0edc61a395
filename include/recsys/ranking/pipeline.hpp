// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_PIPELINE_HPP
#define RECSYS_RANKING_PIPELINE_HPP

/// @file
/// Recommendation pipelines: candidate generators -> union -> scoring by a ranker -> filter ->
/// promotions / exploration / diversity -> top-K, with a popularity fallback for unknown users.
/// A pipeline is itself a recommender (the `recommender` concept), so recsys::evaluate scores
/// it like any recipe, and it can feed another pipeline.
///
/// One request (pipeline::run), stage by stage — each stage is a public function of
/// ranking/filter.hpp or ranking/rerank.hpp, so a pipeline equals composing them by hand:
///  1. scorer: the ranker, or the fallback recommender when one is set and the ranker does not
///     know the user (ranker.is_known_user when the recipe has it, else 0 <= user < num_users).
///  2. allowed = filter.allowed(user, filter values, current item), or every item.
///  3. candidates: each source's generate(user, count, filtered_options(allowed, opts)): the
///     filter is applied inside every generator, before its truncation.
///  4. union in source order (first occurrence kept), scored by scorer.score(user, union),
///     sorted by ranks_before (score descending, ties by id, NaN last): the pool (rank_pool).
///     For a user handled by the fallback the pool is the fallback's recommend() of
///     `fallback_count` items, and without sources the ranker's recommend() of k items, as
///     returned (already ranked by the scorer).
///  5. slot groups: the promotion (promotion_slots(k, percent) slots; the scorer's top-k among
///     the promotion filter's mask and opts, as recommend_with_promotion), then exploration
///     (explore_group: the explorer's draws among `allowed`).
///  6. regular list: the pool, or diversify_mmr(pool, k + reserved slots, lambda, similarity).
///  7. blend(regular, groups, k, placement_rng(seed, user)), seed = the promotion's, else the
///     exploration's, else 0.
///
/// recommend(user, k, opts) runs a request with the pipeline's default filter / promotion values
/// and returns the ids and scores of run() (slot order: with promotions, exploration or
/// diversity the scores need not decrease). score(user, items) is the scorer's.
///
/// The pipeline refers to the models it was given (keep them alive); filters, the promotion and
/// the explorer are held by value. Const methods are thread-safe when the models' are. It uses
/// models through recsys::recommender_ref (any `recommender`) and recent_neighbours_source takes
/// any `history_recommender`: this header names no concrete model.
///
/// @code
///   recsys::pipeline p(bpr);                                           // the ranker
///   p.add_source(recsys::top_n_source("bpr", bpr, 200))
///    .add_source(recsys::recent_neighbours_source("co-viewed", knn, train, 5, 100))
///    .add_source(recsys::top_n_source("trending", trending, 50))
///    .set_fallback(popular)
///    .set_filter(recsys::item_filter("EXCLUDE ItemID WHERE Items.STOCK < 1", {&train, &items}))
///    .set_diversity(recsys::factor_similarity(bpr), 0.7);
///   recsys::topk_result top = p.recommend(user, 10);
///   auto metrics = recsys::evaluate(p, split);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/ranking/blend.hpp>
#include <recsys/ranking/diversity.hpp>
#include <recsys/ranking/exploration.hpp>
#include <recsys/ranking/filter_params.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_filter.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/ranking/promotion.hpp>
#include <recsys/ranking/recent_events.hpp>
#include <recsys/types.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

/// A non-owning, type-erased view of any recommender (keep the model alive).
class recommender_ref {
 public:
  template <recommender M>
    requires(!std::same_as<M, recommender_ref>)
  recommender_ref(const M& m) noexcept : obj_(&m), vt_(&table<M>) {}  // NOLINT: implicit on purpose

  [[nodiscard]] index_t num_users() const { return vt_->num_users(obj_); }
  [[nodiscard]] index_t num_items() const { return vt_->num_items(obj_); }
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    return vt_->recommend(obj_, user, k, opts);
  }
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const {
    return vt_->score(obj_, user, items);
  }
  /// The recipe's is_known_user when it has one, else 0 <= user < num_users().
  [[nodiscard]] bool is_known_user(index_t user) const { return vt_->known(obj_, user); }

 private:
  struct vtable {
    index_t (*num_users)(const void*);
    index_t (*num_items)(const void*);
    topk_result (*recommend)(const void*, index_t, index_t, const recommend_options&);
    std::vector<score_t> (*score)(const void*, index_t, std::span<const index_t>);
    bool (*known)(const void*, index_t);
  };
  template <class M>
  static constexpr vtable table = {
      [](const void* p) -> index_t { return static_cast<const M*>(p)->num_users(); },
      [](const void* p) -> index_t { return static_cast<const M*>(p)->num_items(); },
      [](const void* p, index_t u, index_t k, const recommend_options& o) -> topk_result {
        return static_cast<const M*>(p)->recommend(u, k, o);
      },
      [](const void* p, index_t u, std::span<const index_t> items) -> std::vector<score_t> {
        return static_cast<const M*>(p)->score(u, items);
      },
      [](const void* p, index_t u) -> bool {
        const M& m = *static_cast<const M*>(p);
        if constexpr (requires { m.is_known_user(u); })
          return m.is_known_user(u);
        else
          return u >= 0 && u < m.num_users();
      },
  };

  const void* obj_;
  const vtable* vt_;
};

static_assert(recommender<recommender_ref>);

/// A candidate generator: up to n items for a user, with recommend_options that already carry
/// the request's filter (so generators apply it before truncating).
struct candidate_source {
  std::string name;
  /// Candidates asked of the generator per request (0: the request's k).
  index_t count = 100;
  std::function<topk_result(index_t user, index_t n, const recommend_options& opts)> generate;
};

/// A recommender's top-n as candidates (a factor model, popularity, trending, any recipe).
template <recommender M>
[[nodiscard]] candidate_source top_n_source(std::string name, const M& model, index_t n) {
  RECSYS_REQUIRE(n >= 0, "top_n_source", "n must be >= 0 (got ", n, ")");
  const recommender_ref ref(model);
  return {std::move(name), n,
          [ref](index_t user, index_t k, const recommend_options& opts) { return ref.recommend(user, k, opts); }};
}

namespace detail {
/// What a recent_neighbours_source keeps, shared by its copies: each user's recent items and
/// every item the user has in the log.
template <class T = void>
class basic_recent_history {
 public:
  basic_recent_history(const interaction_log& log, index_t recent);
  /// The user's recent items, most recent first (empty for unknown users).
  [[nodiscard]] std::span<const index_t> recent(index_t user) const noexcept { return recent_.of(user); }
  /// Every item of the user in the log, ascending (empty for unknown users).
  [[nodiscard]] std::span<const index_t> seen(index_t user) const noexcept;

 private:
  recent_items recent_;
  csr_matrix seen_;
};
}  // namespace detail

/// Neighbours of the user's `recent` most recent items in `log`: the model's
/// recommend_for_history over them (equal weights); with an item-to-item model, their
/// co-occurrence neighbours. Any model that is a `recommender` and a `history_recommender`
/// works. With opts.exclude_seen every item of the user in `log` is excluded (not only the
/// recent ones). A user without events gets what the model gives an empty history (an
/// item-to-item model's popular items, its documented fallback). Refers to the model: keep it
/// alive.
template <class M>
  requires recommender<M> && history_recommender<M>
[[nodiscard]] candidate_source recent_neighbours_source(std::string name, const M& model, const interaction_log& log,
                                                        index_t recent, index_t n) {
  RECSYS_REQUIRE(n >= 0, "recent_neighbours_source", "n must be >= 0 (got ", n, ")");
  RECSYS_REQUIRE(log.num_items() == model.num_items(), "recent_neighbours_source", "the log has ", log.num_items(),
                 " items, the model ", model.num_items());
  auto history = std::make_shared<const detail::basic_recent_history<>>(log, recent);
  const M* m = &model;
  return {std::move(name), n, [m, history](index_t user, index_t k, const recommend_options& opts) {
            if (!opts.exclude_seen) return m->recommend_for_history(history->recent(user), {}, k, opts);
            item_mask allowed(m->num_items(), true);
            for (const index_t i : history->seen(user)) allowed.set(i, false);
            recommend_options o = opts;
            o.exclude_seen = false;
            const filtered_options fo(allowed, o);
            return m->recommend_for_history(history->recent(user), {}, k, fo.options());
          }};
}

/// One pipeline request.
struct pipeline_request {
  index_t user = invalid_index;
  index_t k = 10;
  recommend_options options = {};
  /// Values of the filter's $PARAMETERS (unset: the pipeline's defaults).
  std::optional<filter_params> filter_values = std::nullopt;
  /// Values of the promotion filter's $PARAMETERS (unset: the pipeline's defaults).
  std::optional<filter_params> promotion_values = std::nullopt;
  /// The current item of an item-to-item request (CurrentItem in filters), or invalid_index.
  index_t current_item = invalid_index;
};

/// Candidate generation, scoring, filtering and re-ranking composed into one recommender.
/// (`pipeline` is `basic_pipeline<>`; see config.hpp.)
template <class T>
class basic_pipeline {
 public:
  /// The ranker scores the union of the candidates.
  explicit basic_pipeline(recommender_ref ranker) : ranker_(ranker) {}

  /// Adds a candidate generator (sources are merged in the order added). Without any, the
  /// ranker's own top-k is the candidate set.
  basic_pipeline& add_source(candidate_source source);
  /// Users the ranker does not know get this recommender's top `count` (ranked by it).
  basic_pipeline& set_fallback(recommender_ref fallback, index_t count = 100);
  /// The request filter and the default values of its parameters.
  basic_pipeline& set_filter(item_filter filter, filter_params default_values = {});
  /// A promotion: its filter, its settings and the default values of its filter's parameters.
  basic_pipeline& set_promotion(item_filter filter, promotion p, filter_params default_values = {});
  /// Exploration of new items.
  basic_pipeline& set_exploration(new_item_explorer explorer);
  /// MMR diversity of the regular slots with an item similarity and lambda in [0, 1].
  template <item_similarity_function Similarity>
  basic_pipeline& set_diversity(Similarity similarity, double lambda) {
    RECSYS_REQUIRE(lambda >= 0.0 && lambda <= 1.0, "pipeline::set_diversity", "lambda must be in [0, 1] (got ",
                   lambda, ")");
    similarity_ = [s = std::move(similarity)](index_t i, std::span<const index_t> o, std::span<score_t> out) {
      s(i, o, out);
    };
    lambda_ = lambda;
    return *this;
  }

  [[nodiscard]] index_t num_users() const { return ranker_.num_users(); }
  [[nodiscard]] index_t num_items() const { return ranker_.num_items(); }
  [[nodiscard]] const std::vector<candidate_source>& sources() const noexcept { return sources_; }

  /// Whether `user` is handled by the ranker (else by the fallback, when one is set).
  [[nodiscard]] bool uses_ranker(index_t user) const { return !fallback_ || ranker_.is_known_user(user); }

  /// Runs one request through every stage (see the file comment). A k beyond the catalogue
  /// counts as the catalogue size (the list cannot be longer).
  /// @throws recsys::invalid_argument for k < 0 or as the stages do (bad filter values...).
  [[nodiscard]] reranked_list run(const pipeline_request& req) const;

  /// The pipeline as a recommender: run() with the default filter / promotion values.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const;

  /// The scorer's scores (the ranker's, or the fallback's for users it handles).
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const {
    return uses_ranker(user) ? ranker_.score(user, items) : fallback_->score(user, items);
  }

  /// The pool of step 4: `candidates` scored by `scorer` and sorted by ranks_before.
  [[nodiscard]] static topk_result rank_pool(const recommender_ref& scorer, index_t user,
                                             std::span<const index_t> candidates);

 private:
  void check_items(index_t n, const char* where) const;

  recommender_ref ranker_;
  std::optional<recommender_ref> fallback_;
  index_t fallback_count_ = 100;
  std::vector<candidate_source> sources_;
  std::optional<item_filter> filter_;
  filter_params filter_values_;
  std::optional<item_filter> promotion_filter_;
  std::optional<promotion> promotion_;
  filter_params promotion_values_;
  std::optional<new_item_explorer> explorer_;
  std::function<void(index_t, std::span<const index_t>, std::span<score_t>)> similarity_;
  double lambda_ = 1.0;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/pipeline-inl.hpp>
#else
namespace recsys {
namespace detail {
extern template class basic_recent_history<void>;
}  // namespace detail
extern template class basic_pipeline<void>;
}  // namespace recsys
#endif

namespace recsys {
static_assert(recommender<pipeline>);
}  // namespace recsys

#endif  // RECSYS_RANKING_PIPELINE_HPP
