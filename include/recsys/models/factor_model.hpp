// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_FACTOR_MODEL_HPP
#define RECSYS_MODELS_FACTOR_MODEL_HPP

/// @file
/// recsys::factor_model: the query layer shared by every matrix-factorisation recipe (ALS,
/// BPR, WARP). A recipe trains user and item factors (and optionally an item bias) and hands
/// them over with set_model(); everything a user asks of a trained model lives here, once:
/// recommend, batch recommend, score a candidate list, similar items / users.
///
/// score(u, i) = user_factors.row(u) . item_factors.row(i) + item_bias(i)
///
/// Unknown users (index outside [0, num_users()) or no training history and all-zero factors)
/// get the training popularity ranking (number of users per item); items outside the catalogue
/// score NaN, which ranks last.
///
/// Every ranking query goes through the shared top-K kernel (recsys/ranking/topk.hpp):
/// recommend and recommend_for_vector as a batch of one query, recommend_batch and
/// recommend_all as blocks of users scored by GEMM. For many users, the batch calls are the
/// fast path (one GEMM per block of users instead of one matrix-vector product per user).
///
/// All query methods are const and safe to call from many threads at once.

#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/ranking/topk.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace recsys {

template <class Scalar = score_t>
class factor_model {
 public:
  using scalar_type = Scalar;
  using matrix_type = row_matrix<Scalar>;
  using vector_type = recsys::vector<Scalar>;

  [[nodiscard]] index_t num_users() const noexcept { return static_cast<index_t>(user_factors_.rows()); }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(item_factors_.rows()); }
  [[nodiscard]] index_t num_factors() const noexcept { return static_cast<index_t>(item_factors_.cols()); }
  [[nodiscard]] bool is_fitted() const noexcept { return item_factors_.size() > 0; }

  [[nodiscard]] const matrix_type& user_factors() const noexcept { return user_factors_; }
  [[nodiscard]] const matrix_type& item_factors() const noexcept { return item_factors_; }
  /// Per-item bias added to every score; empty when the recipe has none.
  [[nodiscard]] const vector_type& item_bias() const noexcept { return item_bias_; }
  /// The training interactions (users x items) used for exclude_seen and fallbacks.
  [[nodiscard]] const csr_matrix& seen() const noexcept { return seen_; }
  /// Items ordered by training popularity (distinct users), most popular first.
  [[nodiscard]] std::span<const index_t> popular_items() const noexcept { return popular_; }

  /// True when `user` has factors learned from at least one training interaction.
  [[nodiscard]] bool is_known_user(index_t user) const noexcept {
    return user >= 0 && user < num_users() && user < seen_.rows() &&
           seen_.outerIndexPtr()[user + 1] > seen_.outerIndexPtr()[user];
  }

  /// The top-k items for a training user, best first, with scores.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    RECSYS_REQUIRE(k >= 0, "recommend", "k must be >= 0 (got ", k, ")");
    require_fitted("recommend");
    if (!is_known_user(user)) return recommend_popular(k, opts);
    return recommend_for_vector(user_factors_.row(user).transpose(), k, opts, seen_items(user));
  }

  /// The top-k items for an arbitrary user vector (a folded-in or new user). `seen_items` are
  /// excluded when opts.exclude_seen is set (any order; ids outside the catalogue are ignored).
  [[nodiscard]] topk_result recommend_for_vector(const Eigen::Ref<const vector_type>& user_vector, index_t k,
                                                 const recommend_options& opts = {},
                                                 std::span<const index_t> seen_items = {}) const {
    RECSYS_REQUIRE(k >= 0, "recommend", "k must be >= 0 (got ", k, ")");
    require_fitted("recommend");
    RECSYS_REQUIRE(user_vector.size() == num_factors(), "recommend", "user vector has ", user_vector.size(),
                   " entries, the model has ", num_factors(), " factors");
    if (k == 0) return {};
    std::vector<index_t> sorted_seen;
    if (opts.exclude_seen && !std::is_sorted(seen_items.begin(), seen_items.end())) {
      sorted_seen.assign(seen_items.begin(), seen_items.end());
      std::sort(sorted_seen.begin(), sorted_seen.end());
      seen_items = sorted_seen;
    }
    topk_filter filter = make_filter(opts);
    if (opts.exclude_seen) filter.exclude_lists = item_lists::single(seen_items);
    const Eigen::Map<const matrix_type> query(user_vector.data(), 1, num_factors());
    topk_options topts;
    topts.num_threads = 1;
    std::vector<topk_result> out = topk_inner_product(query, item_factors_, bias_span(), k, filter, topts);
    return std::move(out.front());
  }

  /// Scores of the given items for a user (same order as `items`); NaN for items outside the
  /// catalogue; popularity scores for an unknown user.
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const {
    require_fitted("score");
    std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
    const bool known = is_known_user(user);
    for (std::size_t j = 0; j < items.size(); ++j) {
      const index_t i = items[j];
      if (i < 0 || i >= num_items()) continue;
      out[j] = known ? item_score(user_factors_.row(user).transpose(), i) : popularity_[static_cast<std::size_t>(i)];
    }
    return out;
  }

  /// Top-k for many users into caller buffers of users.size() * k entries (row r = users[r]),
  /// padded with invalid_index / lowest score. Known users are scored in blocks by the top-K
  /// kernel (parallel over blocks of users); unknown users get the popularity ranking.
  /// Results equal recommend() for each user (up to the last bit of the scores: the batch
  /// path multiplies matrices, the single-user path matrix and vector).
  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const {
    RECSYS_REQUIRE(k >= 0, "recommend_batch", "k must be >= 0 (got ", k, ")");
    RECSYS_REQUIRE(num_threads >= 0, "recommend_batch", "num_threads must be >= 0 (got ", num_threads, ")");
    require_fitted("recommend_batch");
    if (users.empty() || k == 0) return;
    RECSYS_REQUIRE(ids != nullptr && scores != nullptr, "recommend_batch", "output buffers must not be null");
    const auto kk = static_cast<std::size_t>(k);
    std::vector<index_t> known;  // positions in `users` of users with factors and history
    known.reserve(users.size());
    for (std::size_t r = 0; r < users.size(); ++r)
      if (is_known_user(users[r])) known.push_back(static_cast<index_t>(r));

    if (known.size() < users.size()) {  // one popularity ranking serves every unknown user
      const topk_result popular = recommend_popular(k, opts);
      std::size_t next = 0;
      for (std::size_t r = 0; r < users.size(); ++r) {
        if (next < known.size() && static_cast<std::size_t>(known[next]) == r) {
          ++next;
          continue;
        }
        detail::write_padded_result(popular, k, ids + r * kk, scores + r * kk);
      }
    }
    if (known.empty()) return;

    topk_filter filter = make_filter(opts);
    topk_options topts;
    topts.num_threads = num_threads;
    if (known.size() == users.size()) {  // every user known: rows go straight to the caller's buffers
      if (opts.exclude_seen) {
        filter.exclude_lists = item_lists(seen_);
        filter.exclude_rows = users;
      }
      if (is_identity(users)) {
        topk_inner_product(user_factors_.topRows(static_cast<Eigen::Index>(users.size())), item_factors_, bias_span(),
                           k, ids, scores, filter, topts);
      } else {
        const matrix_type q = gather_users(users);
        topk_inner_product(q, item_factors_, bias_span(), k, ids, scores, filter, topts);
      }
      return;
    }
    std::vector<index_t> known_users(known.size());
    for (std::size_t j = 0; j < known.size(); ++j) known_users[j] = users[static_cast<std::size_t>(known[j])];
    if (opts.exclude_seen) {
      filter.exclude_lists = item_lists(seen_);
      filter.exclude_rows = known_users;
    }
    const matrix_type q = gather_users(known_users);
    std::vector<index_t> tmp_ids(known.size() * kk);
    std::vector<score_t> tmp_scores(tmp_ids.size());
    topk_inner_product(q, item_factors_, bias_span(), k, tmp_ids.data(), tmp_scores.data(), filter, topts);
    for (std::size_t j = 0; j < known.size(); ++j) {
      const std::size_t dst = static_cast<std::size_t>(known[j]) * kk;
      std::copy_n(tmp_ids.begin() + static_cast<std::ptrdiff_t>(j * kk), kk, ids + dst);
      std::copy_n(tmp_scores.begin() + static_cast<std::ptrdiff_t>(j * kk), kk, scores + dst);
    }
  }

  /// Top-k for many users, one topk_result per user (no padding).
  [[nodiscard]] std::vector<topk_result> recommend_batch(std::span<const index_t> users, index_t k,
                                                         const recommend_options& opts = {},
                                                         int num_threads = 0) const {
    RECSYS_REQUIRE(k >= 0, "recommend_batch", "k must be >= 0 (got ", k, ")");
    std::vector<index_t> ids(users.size() * static_cast<std::size_t>(k));
    std::vector<score_t> scores(ids.size());
    recommend_batch(users, k, ids.data(), scores.data(), opts, num_threads);
    return detail::split_results(static_cast<Eigen::Index>(users.size()), k, ids, scores);
  }

  /// Top-k for every user 0 .. num_users()-1 into caller buffers of num_users() * k entries.
  void recommend_all(index_t k, index_t* ids, score_t* scores, const recommend_options& opts = {},
                     int num_threads = 0) const {
    require_fitted("recommend_all");
    std::vector<index_t> users(static_cast<std::size_t>(num_users()));
    std::iota(users.begin(), users.end(), 0);
    recommend_batch(users, k, ids, scores, opts, num_threads);
  }

  /// Top-k for every user 0 .. num_users()-1, one topk_result per user.
  /// @code
  /// auto all = model.recommend_all(10);   // all[u]: user u's 10 best unseen items
  /// @endcode
  [[nodiscard]] std::vector<topk_result> recommend_all(index_t k, const recommend_options& opts = {},
                                                       int num_threads = 0) const {
    require_fitted("recommend_all");
    std::vector<index_t> users(static_cast<std::size_t>(num_users()));
    std::iota(users.begin(), users.end(), 0);
    return recommend_batch(users, k, opts, num_threads);
  }

  /// The k items most similar to `item` by cosine of item factors (the item itself excluded).
  [[nodiscard]] topk_result similar_items(index_t item, index_t k) const {
    RECSYS_REQUIRE(k >= 0, "similar_items", "k must be >= 0 (got ", k, ")");
    require_fitted("similar_items");
    RECSYS_REQUIRE(item >= 0 && item < num_items(), "similar_items", "item ", item, " out of range [0, ", num_items(),
                   ")");
    return cosine_neighbours(item_factors_, item_norms_, item, k);
  }

  /// The k users most similar to `user` by cosine of user factors (the user itself excluded).
  [[nodiscard]] topk_result similar_users(index_t user, index_t k) const {
    RECSYS_REQUIRE(k >= 0, "similar_users", "k must be >= 0 (got ", k, ")");
    require_fitted("similar_users");
    RECSYS_REQUIRE(user >= 0 && user < num_users(), "similar_users", "user ", user, " out of range [0, ", num_users(),
                   ")");
    return cosine_neighbours(user_factors_, user_norms_, user, k);
  }

  /// User segments (Personalize's Item-Affinity): for each item, the k users with the highest
  /// score(user, item) = user_factors.row(user) . item_factors.row(item) + item_bias(item),
  /// best first (ties: ascending user), computed by the shared top-K kernel with the items as
  /// queries against the user factors (one GEMM per block of items). Candidates are the users
  /// with training history (users without any have no learned taste); opts.include /
  /// opts.exclude restrict them further (user ids), and opts.exclude_seen skips the users who
  /// already interacted with the item in training. An item outside the catalogue gets a row of
  /// padding. Output: caller buffers of items.size() * k entries, row r = items[r], padded with
  /// invalid_index and the lowest score. Scores equal score() up to the last bit (the kernel
  /// sums the dot products in GEMM order).
  /// @throws recsys::invalid_argument if k < 0 or the model is not fitted.
  void recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const {
    RECSYS_REQUIRE(k >= 0, "recommend_users", "k must be >= 0 (got ", k, ")");
    RECSYS_REQUIRE(num_threads >= 0, "recommend_users", "num_threads must be >= 0 (got ", num_threads, ")");
    require_fitted("recommend_users");
    if (items.empty() || k == 0) return;
    RECSYS_REQUIRE(users != nullptr && scores != nullptr, "recommend_users", "output buffers must not be null");
    const auto kk = static_cast<std::size_t>(k);
    std::vector<index_t> candidates;
    {
      std::vector<char> allowed(static_cast<std::size_t>(num_users()), opts.include.empty() ? 1 : 0);
      for (index_t u : opts.include)
        if (u >= 0 && u < num_users()) allowed[static_cast<std::size_t>(u)] = 1;
      for (index_t u = 0; u < num_users(); ++u)
        if (allowed[static_cast<std::size_t>(u)] && is_known_user(u)) candidates.push_back(u);
    }
    std::vector<index_t> valid;  // positions of in-catalogue items
    for (std::size_t r = 0; r < items.size(); ++r) {
      if (items[r] >= 0 && items[r] < num_items()) {
        valid.push_back(static_cast<index_t>(r));
      } else {
        std::fill_n(users + r * kk, kk, invalid_index);
        std::fill_n(scores + r * kk, kk, std::numeric_limits<score_t>::lowest());
      }
    }
    if (valid.empty()) return;
    matrix_type q(static_cast<Eigen::Index>(valid.size()), num_factors());
    std::vector<index_t> rows(valid.size());
    for (std::size_t j = 0; j < valid.size(); ++j) {
      rows[j] = items[static_cast<std::size_t>(valid[j])];
      q.row(static_cast<Eigen::Index>(j)) = item_factors_.row(rows[j]);
    }
    topk_filter filter;
    filter.exclude = opts.exclude;
    if (candidates.size() < static_cast<std::size_t>(num_users())) filter.include = candidates;
    csr_matrix by_item;  // items x users: who interacted with each item (rows ascending)
    if (opts.exclude_seen) {
      by_item = seen_.transpose();
      by_item.makeCompressed();
      filter.exclude_lists = item_lists(by_item);
      filter.exclude_rows = rows;
    }
    topk_options topts;
    topts.num_threads = num_threads;
    std::vector<index_t> tmp_ids(valid.size() * kk);
    std::vector<score_t> tmp_scores(tmp_ids.size());
    topk_inner_product(q, user_factors_, std::span<const Scalar>{}, k, tmp_ids.data(), tmp_scores.data(), filter,
                       topts);
    for (std::size_t j = 0; j < valid.size(); ++j) {
      const std::size_t dst = static_cast<std::size_t>(valid[j]) * kk;
      const Scalar bias = item_bias_.size() ? item_bias_[rows[j]] : Scalar(0);
      for (std::size_t t = 0; t < kk; ++t) {
        const index_t u = tmp_ids[j * kk + t];
        users[dst + t] = u;
        scores[dst + t] = u == invalid_index ? tmp_scores[j * kk + t]
                                             : static_cast<score_t>(static_cast<Scalar>(tmp_scores[j * kk + t]) + bias);
      }
    }
  }

  /// The training items of a user (sorted ascending), empty for unknown users.
  [[nodiscard]] std::span<const index_t> seen_items(index_t user) const noexcept {
    if (user < 0 || user >= seen_.rows()) return {};
    const auto* outer = seen_.outerIndexPtr();
    return {seen_.innerIndexPtr() + outer[user], static_cast<std::size_t>(outer[user + 1] - outer[user])};
  }

 protected:
  factor_model() = default;

  /// Installs trained factors. `seen` is the training matrix (users x items) the factors were
  /// fitted on; its shape must match the factors.
  void set_model(matrix_type users, matrix_type items, vector_type bias, const csr_matrix& seen) {
    RECSYS_REQUIRE(users.cols() == items.cols(), "factor_model", "user factors have ", users.cols(),
                   " columns, item factors ", items.cols());
    RECSYS_REQUIRE(bias.size() == 0 || bias.size() == items.rows(), "factor_model", "item bias has ", bias.size(),
                   " entries for ", items.rows(), " items");
    RECSYS_REQUIRE(seen.rows() <= users.rows() && seen.cols() == items.rows(), "factor_model", "training matrix is ",
                   seen.rows(), " x ", seen.cols(), " but factors are ", users.rows(), " users x ", items.rows(),
                   " items");
    user_factors_ = std::move(users);
    item_factors_ = std::move(items);
    item_bias_ = std::move(bias);
    seen_ = seen;
    seen_.makeCompressed();
    refresh_derived();
  }

  /// Writes the factors, the item bias and the training matrix into a model directory being
  /// written: `user_factors.npy` [users, f], `item_factors.npy` [items, f], `item_bias.npy`
  /// [items] or [0] (no bias), all in the model's scalar type, and `seen_indptr/indices/data.npy`
  /// (scipy CSR, float32). Norms and popularity are derived again on load. Every factor recipe
  /// calls this from its save() and adds its own config.
  /// @throws recsys::invalid_argument if the model is not fitted.
  void save_factors(model_writer& out) const {
    require_fitted("save");
    out.add_matrix("user_factors", user_factors_);
    out.add_matrix("item_factors", item_factors_);
    out.add_vector("item_bias", item_bias_);
    out.add_sparse("seen", seen_);
  }

  /// Restores what save_factors wrote, validating shapes (factors x bias x training matrix) and
  /// finiteness; the model then scores exactly as the saved one.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load_factors(const model_reader& in) {
    matrix_type users = in.matrix<Scalar>("user_factors");
    matrix_type items = in.matrix<Scalar>("item_factors", std::nullopt, users.cols());
    model_reader::check(items.rows() > 0, in.array_file("item_factors"), "the model has no items");
    const std::vector<Scalar> b = in.vector<Scalar>("item_bias");
    model_reader::check(b.empty() || static_cast<Eigen::Index>(b.size()) == items.rows(), in.array_file("item_bias"),
                        detail::str("has ", b.size(), " entries, the model has ", items.rows(), " items"));
    csr_matrix seen = in.sparse("seen");
    model_reader::check(seen.rows() <= users.rows(), in.array_file("user_factors"),
                        detail::str("has ", users.rows(), " rows, the training matrix has ", seen.rows(), " users"));
    model_reader::check(seen.cols() == items.rows(), in.array_file("item_factors"),
                        detail::str("has ", items.rows(), " rows, the training matrix has ", seen.cols(), " items"));
    model_reader::check(users.allFinite(), in.array_file("user_factors"), "holds non-finite values");
    model_reader::check(items.allFinite(), in.array_file("item_factors"), "holds non-finite values");
    vector_type bias = Eigen::Map<const vector_type>(b.data(), static_cast<Eigen::Index>(b.size()));
    model_reader::check(bias.allFinite(), in.array_file("item_bias"), "holds non-finite values");
    set_model(std::move(users), std::move(items), std::move(bias), seen);
  }

  /// Recomputes norms and popularity after the factors or the training matrix changed in place.
  void refresh_derived() {
    user_norms_ = user_factors_.rowwise().norm().template cast<Scalar>();
    item_norms_ = item_factors_.rowwise().norm().template cast<Scalar>();
    popularity_.assign(static_cast<std::size_t>(num_items()), 0.0f);
    const auto* inner = seen_.innerIndexPtr();
    for (Eigen::Index n = 0; n < seen_.nonZeros(); ++n) popularity_[static_cast<std::size_t>(inner[n])] += 1.0f;
    popular_.resize(static_cast<std::size_t>(num_items()));
    std::iota(popular_.begin(), popular_.end(), 0);
    std::stable_sort(popular_.begin(), popular_.end(), [&](index_t a, index_t b) {
      return popularity_[static_cast<std::size_t>(a)] > popularity_[static_cast<std::size_t>(b)];
    });
  }

  matrix_type user_factors_;
  matrix_type item_factors_;
  vector_type item_bias_;
  csr_matrix seen_;

 private:
  void require_fitted(const char* where) const {
    RECSYS_REQUIRE(is_fitted(), where, "the model is not fitted yet (call fit first)");
  }

  score_t item_score(const Eigen::Ref<const vector_type>& u, index_t i) const {
    Scalar s = item_factors_.row(i).dot(u.transpose());
    if (item_bias_.size()) s += item_bias_[i];
    return static_cast<score_t>(s);
  }

  std::span<const Scalar> bias_span() const noexcept {
    return {item_bias_.data(), static_cast<std::size_t>(item_bias_.size())};
  }

  // The kernel filter for the options shared by every query (seen items are added per call).
  static topk_filter make_filter(const recommend_options& opts) {
    topk_filter filter;
    filter.exclude = opts.exclude;
    if (!opts.include.empty()) filter.include = opts.include;  // recommend_options: empty = every item
    return filter;
  }

  static bool is_identity(std::span<const index_t> users) noexcept {
    for (std::size_t r = 0; r < users.size(); ++r)
      if (users[r] != static_cast<index_t>(r)) return false;
    return true;
  }

  matrix_type gather_users(std::span<const index_t> users) const {
    matrix_type q(static_cast<Eigen::Index>(users.size()), num_factors());
    for (std::size_t r = 0; r < users.size(); ++r) q.row(static_cast<Eigen::Index>(r)) = user_factors_.row(users[r]);
    return q;
  }

  // The ranking for users without history: training popularity (distinct users per item).
  topk_result recommend_popular(index_t k, const recommend_options& opts) const {
    return topk_select(std::span<const score_t>(popularity_), k, make_filter(opts));
  }

  static topk_result cosine_neighbours(const matrix_type& f, const vector_type& norms, index_t row, index_t k) {
    const Scalar n0 = norms[row];
    if (n0 <= Scalar(0) || k == 0) return {};
    const vector_type dots = f * f.row(row).transpose();
    std::vector<score_t> cosine(static_cast<std::size_t>(f.rows()));
    for (Eigen::Index j = 0; j < f.rows(); ++j)
      cosine[static_cast<std::size_t>(j)] =
          norms[j] > Scalar(0) ? static_cast<score_t>(dots[j] / (n0 * norms[j])) : 0.0f;
    const index_t self[] = {row};
    topk_filter filter;
    filter.exclude = self;
    return topk_select(std::span<const score_t>(cosine), k, filter);
  }

  vector_type user_norms_;
  vector_type item_norms_;
  std::vector<score_t> popularity_;
  std::vector<index_t> popular_;
};

}  // namespace recsys

#endif  // RECSYS_MODELS_FACTOR_MODEL_HPP
