// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_HPP

/// @file
/// Item-to-item mining: "frequently bought together", "customers who viewed X also viewed",
/// Personalize's SIMS, item-KNN recommendations, and pair association rules.
///
/// recsys::item_to_item mines, for every item, its top-K neighbours by a co-occurrence score
/// and answers queries from them:
///
/// - **Sources** (one fit per source): baskets (recsys::basket_data), sessions
///   (recsys::session_data), user histories from a user x item recsys::csr_matrix or from an
///   recsys::interaction_log. From a log: a subset of event types, cross-occurrence between
///   event types (viewed X -> purchased Y, Mahout's A'B), and co-occurrence restricted to
///   events within a time window of each other (optionally only "later" events).
/// - **Scores** (item_similarity): raw count, Jaccard, cosine, lift, PMI, normalised PMI,
///   signed log-likelihood ratio (Dunning 1993), confidence P(j | i), SIMS popularity discount
///   count / n_j^d, BM25- and TF-IDF-weighted item vectors (as implicit's item-item models).
/// - **Pruning**: minimum co-occurrence count, percentile pruning of transactions by length and
///   of items by count, a seeded cap on the distinct items of one transaction.
/// - **Algorithm**: Gustavson's row-by-row sparse product X^T X with a per-thread dense
///   accumulator and touched-column list, each row cut to its top-K on the fly, parallel over
///   items; memory O(nnz + items * K); the same result for any thread count.
///
/// Formulas, pruning order and fallbacks are in docs/item-to-item.md.
///
/// @code
///   recsys::item_to_item_config cfg;
///   recsys::set_param(cfg, "similarity", "llr");        // what `--set key=value` calls
///   recsys::set_param(cfg, "neighbours=50");
///   recsys::item_to_item model(cfg);
///   model.fit(baskets);                                   // recsys::basket_data
///   recsys::topk_result fbt = model.frequently_bought_together(basket_items, 5);
///   auto rules = recsys::association_rules(baskets, {.min_support = 0.001, .min_lift = 1.5});
///   recsys::write_rules_csv("rules.csv", rules, baskets.item_ids);
/// @endcode


#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/detail/incidence.hpp>
#include <recsys/fwd.hpp>
#include <recsys/models/association_rules.hpp>
#include <recsys/models/item_to_item_config.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace recsys {

namespace detail {
struct timed_events;
template <class Value>
class sparse_accumulator;
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// The model

/// What the last fit did (the load_report of mining).
struct item_to_item_stats {
  std::int64_t transactions = 0;         ///< non-empty transactions in the input
  std::int64_t transactions_mined = 0;   ///< kept by the length percentiles (N of the scores)
  std::int64_t transactions_short = 0;   ///< removed: below min_row_length_percentile
  std::int64_t transactions_long = 0;    ///< removed: above max_row_length_percentile
  std::int64_t transactions_capped = 0;  ///< cut to max_row_length distinct items
  std::int64_t row_length_low = 0;       ///< the length thresholds applied (inclusive)
  std::int64_t row_length_high = 0;
  std::int64_t items_active = 0;    ///< items in at least one mined transaction
  std::int64_t items_mined = 0;     ///< kept by the item count percentiles
  std::int64_t items_rare = 0;      ///< removed: below min_item_count_percentile
  std::int64_t items_popular = 0;   ///< removed: above max_item_count_percentile
  std::int64_t item_count_low = 0;  ///< the item count thresholds applied (inclusive)
  std::int64_t item_count_high = 0;
  std::int64_t pair_visits = 0;  ///< accumulation steps of the sparse product
  std::int64_t items_with_neighbours = 0;
  std::int64_t neighbour_entries = 0;  ///< non-zeros of neighbours()
  double seconds = 0.0;                ///< wall time of the fit (input conversion included)
};

/// Item-to-item neighbours mined from co-occurrence, with the queries of SIMS, "frequently bought
/// together", "viewed X also viewed" and item-KNN.
///
/// Fallbacks (SIMS's rule): whenever a query has no neighbour-based candidate left after its
/// exclusions (unknown item or user, an item with no neighbours after pruning, a history with no
/// known item), it returns the most popular items (popularity = transactions holding the item in
/// the fitted data before pruning; in cross-occurrence the neighbour-side event types), with the
/// same exclusions, scored by that popularity. Results never mix the two kinds of scores, so a
/// neighbour-based result may hold fewer than k items.
///
/// recommend() / score() / recommend_for_history() make it a recsys::recommender and a
/// recsys::history_recommender: score(u, j) = sum over the user's history items i of
/// w(u, i) * S(i, j), where S is the neighbour matrix (0 when j is no neighbour of any history
/// item) and w is 1, or the recency weight when fitted from a log with recency_half_life > 0.
///
/// Thread safety: queries are const and may run concurrently; fit must not.
/// Cancellation (job.cancel): fit throws recsys::cancelled and the model keeps its previous state.
///
/// @code
///   recsys::item_to_item knn(recsys::item_to_item_config{.similarity = recsys::item_similarity::cosine,
///                                                        .neighbours = 50});
///   knn.fit(user_item_matrix);                   // or fit(log), fit(baskets), fit(sessions)
///   recsys::topk_result top = knn.recommend(user, 10);
///   recsys::topk_result like = knn.similar_items(item, 10);
/// @endcode
template <class>
class basic_item_to_item {
 public:
  basic_item_to_item() = default;
  explicit basic_item_to_item(item_to_item_config config) : config_(std::move(config)) {}

  [[nodiscard]] const item_to_item_config& config() const noexcept { return config_; }
  /// Replaces the configuration (used by the next fit; the fitted neighbours are unchanged).
  void set_config(item_to_item_config config) { config_ = std::move(config); }

  // --- fitting -------------------------------------------------------------------------------

  /// Mines baskets: transactions = baskets, values 1.
  /// @throws recsys::invalid_argument for a bad config, an empty input, an item index out of
  ///         range, or a log-only setting (event types, time window, recency).
  /// @throws recsys::cancelled if job.cancel is set (the model is unchanged).
  void fit(const basket_data& baskets, const job_control& job = {});

  /// Mines sessions: transactions = sessions, value of an item = its occurrences in the session.
  /// time_window and forward_only apply to the sessions' timestamps.
  /// @throws as fit(basket_data); event types and recency are log-only settings.
  void fit(const session_data& sessions, const job_control& job = {});

  /// Mines user histories from a user x item matrix: transactions = rows (users), value = the
  /// entry (explicit zeros are absent entries). The rows are also the users' histories for
  /// recommend() (weight 1 per item).
  /// @throws recsys::invalid_argument for a negative or non-finite entry, or as fit(basket_data).
  void fit(const csr_matrix& user_items, const job_control& job = {});

  /// Mines user histories from a log: transactions = users; events filtered by event_types,
  /// cross-occurrence when cross_event_types is set, time_window / forward_only on the event
  /// timestamps; value of (user, item) = the sum of the events' weights (added in double in
  /// build_matrix's order, so without log-only settings the model equals fit(build_matrix(log)),
  /// bit for bit). Keeps the histories (with recency weights) for recommend(), and the
  /// exclude_event_types items for also_viewed(). The conversion from the log runs in parallel
  /// over users (config.num_threads) and costs a few percent of the mining (docs/item-to-item.md).
  /// @throws recsys::invalid_argument for a bad config or log, an event type in event_types /
  ///         cross_event_types the log does not have, no selected event, or a selected
  ///         (user, item) whose weights do not sum to a finite value > 0.
  void fit(const interaction_log& log, const job_control& job = {});

  // --- state ---------------------------------------------------------------------------------

  [[nodiscard]] bool is_fitted() const noexcept { return fitted_; }
  /// Users with histories (fit from a matrix or a log); 0 after fit(baskets / sessions).
  [[nodiscard]] index_t num_users() const noexcept { return state_.num_users; }
  [[nodiscard]] index_t num_items() const noexcept { return state_.num_items; }
  /// The neighbours: item x item CSR, row i = the (at most K) neighbours of i with their scores,
  /// column indices ascending (an ordinary Eigen sparse matrix).
  [[nodiscard]] const csr_matrix& neighbours() const noexcept { return neighbours_; }
  /// Popularity of each item (transactions holding it, before pruning).
  [[nodiscard]] std::span<const score_t> popularity() const noexcept { return popularity_; }
  /// Items by popularity, most popular first (ties: ascending id).
  [[nodiscard]] std::span<const index_t> popular_items() const noexcept { return popular_; }
  [[nodiscard]] const item_to_item_stats& stats() const noexcept { return stats_; }

  /// The items of a user's fitted history (ascending), empty for unknown users.
  [[nodiscard]] std::span<const index_t> seen_items(index_t user) const noexcept;

  /// True when `user` has at least one history item.
  [[nodiscard]] bool is_known_user(index_t user) const noexcept;

  // --- queries ---------------------------------------------------------------------------------

  /// The k best neighbours of `item` (never the item itself), e.g. SIMS / "customers who
  /// bought X also bought". opts.exclude / opts.include filter; exclude_seen has no user here
  /// and is ignored. Unknown or cold item: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result similar_items(index_t item, index_t k, const recommend_options& opts = {}) const;

  /// "Customers who viewed X also viewed": the neighbours of `item` for `user`, without the
  /// items the user already bought (events of exclude_event_types; every item the user has
  /// seen when that list is empty) when opts.exclude_seen is true. Unknown user: no user
  /// exclusion; unknown item: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result also_viewed(index_t user, index_t item, index_t k,
                                        const recommend_options& opts = {}) const;

  /// "Frequently bought together" for a whole basket: score(j) = sum over the basket's items i of
  /// S(i, j), never a basket item. Items outside the catalogue contribute nothing; no
  /// neighbour at all: popular items (without the basket).
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result frequently_bought_together(std::span<const index_t> basket, index_t k,
                                                       const recommend_options& opts = {}) const;

  /// Item-KNN for a history given at query time (real-time events, a new user): score(j) =
  /// sum_i weights[i] S(items[i], j). `weights` empty means 1 each (see recency_weights()).
  /// opts.exclude_seen drops the history items. Unknown items contribute nothing.
  /// @throws recsys::invalid_argument if k < 0, weights and items differ in size, or unfitted.
  [[nodiscard]] topk_result recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
                                                  index_t k, const recommend_options& opts = {}) const;

  /// Item-KNN for a fitted user (recsys::recommender): recommend_for_history over the user's
  /// history (recency-weighted when fitted from a log with recency_half_life); exclude_seen drops
  /// every item of the user's fitted history. Unknown user: popular items.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const;

  /// The item-KNN scores of `items` for `user` (same order): the recommend() score, 0 for an item
  /// no history item has as a neighbour, NaN outside the catalogue; popularity for an unknown user.
  /// @throws recsys::invalid_argument if the model is not fitted.
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const;

  /// recommend() for many users into caller buffers of users.size() * k entries (row r is
  /// users[r]), padded with invalid_index and the lowest score. Parallel over users.
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const;

  /// User segments (Personalize's Item-Affinity): for each item, the k users with the highest
  /// item-KNN score for it, i.e. exactly score(user, {item}) = sum over the user's history items
  /// h of w(u, h) * S(h, item), best first (ties: ascending user). Candidates are the users
  /// with a fitted history; a user scores only when some history item has `item` as a neighbour
  /// (users without such a link have no evidence and are never returned, so a row may be
  /// short). With opts.exclude_seen, users who already have the item are skipped;
  /// opts.include / opts.exclude restrict the candidate users. An item outside the catalogue
  /// gets an empty row. Output: caller buffers of items.size() * k, row r = items[r], padded
  /// with invalid_index and the lowest score. Parallel over items.
  /// @throws recsys::invalid_argument if k < 0, the model is not fitted or has no user
  ///         histories (fitted on baskets or sessions).
  void recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const;

  // --- persistence ---------------------------------------------------------------------------

  /// Writes the fitted model into a model directory being written (docs/lifecycle.md): field
  /// "model" = "item_to_item", the config (to_params), field "item_to_item" {num_users,
  /// num_items, has_bought_types, stats}, the neighbour matrix (`neighbours_indptr/indices/
  /// data.npy`, scipy CSR), `popularity.npy` (float32 [items]) and the user histories, seen and
  /// bought lists as `<name>_indptr` (int64), `<name>_indices` (int32), `<name>_data` (float32).
  /// @throws recsys::invalid_argument if the model is not fitted; recsys::io_error on write errors.
  void save(model_writer& out) const;

  /// Restores a model written by save() (config and fitted state); it then answers every query
  /// exactly as the saved model did.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load(const model_reader& in);

 private:
  struct fitted_state {
    index_t num_items = 0;
    index_t num_users = 0;
    detail::incidence history;  ///< users x items: recommend() weights
    detail::incidence seen;     ///< users x items when it differs from history (cross-occurrence)
    detail::incidence bought;   ///< users x items of exclude_event_types
    bool has_bought_types = false;
  };

  // The rows of a log whose every event is mined and that needs only (user, item, weight):
  // left = each user's distinct items with the sums of their events' weights, history = the
  // same items, weight 1 (what fit(interaction_log) builds, in general, for this case). The
  // events' (item << 32 | weight bits) keys are scattered into buckets of users (in parallel
  // over blocks of events); each bucket is grouped by user, and each user's keys sorted and
  // summed in place, in parallel over buckets (a pair's weights are added in ascending order of
  // their float bits, as build_matrix adds them); the rows are then copied together in
  // parallel. The result depends neither on the order of the log's events nor on the threads.
  // @throws recsys::invalid_argument for the first (user, item) in row order whose weights do
  //         not sum to a finite value > 0.
  void plain_log_rows(const interaction_log& log, const char* where, const parallel_options& po,
                      detail::incidence& left, detail::incidence& history) const;

  // The positive entries of a user x item matrix as an incidence (the same rows as
  // incidence::push_row builds from them), and `history` with the same items, each of weight 1.
  // Two parallel passes over the rows: count and check, then copy to the row offsets.
  // @throws recsys::invalid_argument for the first negative or non-finite entry in row order.
  detail::incidence convert_rows(const csr_matrix& m, const char* where, detail::incidence& history) const;

  static void save_incidence(model_writer& out, const std::string& name, const detail::incidence& x);

  // Reads an incidence with `cols` columns whose row count is one of `rows`; checks structure.
  static detail::incidence load_incidence(const model_reader& in, const std::string& name, index_t cols,
                                          std::initializer_list<std::int64_t> rows);

  void require_no_log_settings(const char* where, bool has_timestamps) const;

  static void require_rows_fit(const char* where, std::size_t rows);

  void require_query(const char* where, index_t k) const;

  [[nodiscard]] bool in_catalogue(index_t i) const noexcept { return i >= 0 && i < state_.num_items; }

  std::span<const index_t> bought_items(index_t user) const noexcept;

  topk_result popular_among(index_t k, const item_mask& allowed) const;

  topk_result neighbours_of(index_t item, index_t k, const item_mask& allowed) const;

  void accumulate(std::span<const index_t> items, std::span<const score_t> weights,
                  detail::sparse_accumulator<double>& acc) const;

  topk_result from_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
                           const item_mask& allowed) const;

  /// Per-thread buffers of mine()'s top-K selection.
  struct row_selection {
    std::vector<std::uint64_t> key;  ///< per touched pair: rank_key, 0 = cannot be kept
    std::vector<std::uint64_t> best;  ///< candidates, cut back to the best K when full
    std::vector<index_t> negative_zero;  ///< the row's pairs scored -0.0 (a key holds +0.0)
  };

  /// (score, id) as one integer whose order is ranks_before's for scores that are not NaN
  /// (larger key = ranks first): the score's bits mapped to an ascending unsigned order in the
  /// high half (-0.0 as +0.0: they tie), ~id in the low half. Never 0.
  [[nodiscard]] static std::uint64_t rank_key(score_t score, index_t id) noexcept;
  [[nodiscard]] static index_t key_id(std::uint64_t key) noexcept;
  [[nodiscard]] static score_t key_score(std::uint64_t key) noexcept;


  // t0: when the fit started (stats().seconds is the wall time of the whole fit, conversion included)
  void mine(detail::incidence left, detail::incidence right, bool cross, detail::timed_events events, bool timed,
            fitted_state& st, const job_control& job, std::chrono::steady_clock::time_point t0);

  item_to_item_config config_;
  bool fitted_ = false;
  fitted_state state_;
  csr_matrix neighbours_;
  std::vector<score_t> popularity_;
  std::vector<index_t> popular_;
  item_to_item_stats stats_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/item_to_item-inl.hpp>
#else
namespace recsys {
extern template class basic_item_to_item<void>;
}  // namespace recsys
#endif

namespace recsys {
static_assert(recommender<item_to_item> && history_recommender<item_to_item>);
}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_HPP
