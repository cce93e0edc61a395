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
/// All query methods are const and safe to call from many threads at once.

#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
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
    return user >= 0 && user < num_users() && user < seen_.rows() && seen_.outerIndexPtr()[user + 1] > seen_.outerIndexPtr()[user];
  }

  /// The top-k items for a training user, best first, with scores.
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const {
    RECSYS_REQUIRE(k >= 0, "recommend", "k must be >= 0 (got ", k, ")");
    require_fitted("recommend");
    if (!is_known_user(user)) return recommend_popular(k, opts, {});
    return recommend_for_vector(user_factors_.row(user).transpose(), k, opts, seen_items(user));
  }

  /// The top-k items for an arbitrary user vector (a folded-in or new user). `seen_items` are
  /// excluded when opts.exclude_seen is set.
  [[nodiscard]] topk_result recommend_for_vector(const Eigen::Ref<const vector_type>& user_vector, index_t k,
                                                 const recommend_options& opts = {},
                                                 std::span<const index_t> seen_items = {}) const {
    RECSYS_REQUIRE(k >= 0, "recommend", "k must be >= 0 (got ", k, ")");
    require_fitted("recommend");
    RECSYS_REQUIRE(user_vector.size() == num_factors(), "recommend", "user vector has ", user_vector.size(),
                   " entries, the model has ", num_factors(), " factors");
    detail::topk_heap heap(k);
    if (k == 0) return {};
    if (!opts.include.empty()) {
      std::vector<char> blocked = blocked_mask(opts, seen_items);
      for (index_t i : opts.include) {
        if (i < 0 || i >= num_items() || blocked[static_cast<std::size_t>(i)]) continue;
        heap.push(item_score(user_vector, i), i);
      }
    } else {
      vector_type scores = item_factors_ * user_vector;
      if (item_bias_.size()) scores += item_bias_;
      std::vector<char> blocked = blocked_mask(opts, seen_items);
      for (index_t i = 0; i < num_items(); ++i)
        if (!blocked[static_cast<std::size_t>(i)]) heap.push(static_cast<score_t>(scores[i]), i);
    }
    topk_result out;
    heap.drain_into(out);
    return out;
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
  /// padded with invalid_index / lowest score. Parallel over users.
  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const {
    RECSYS_REQUIRE(k >= 0, "recommend_batch", "k must be >= 0 (got ", k, ")");
    require_fitted("recommend_batch");
    parallel_options po;
    po.num_threads = num_threads;
    po.chunk = 16;
    parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
      const topk_result top = recommend(users[static_cast<std::size_t>(r)], k, opts);
      const std::size_t base = static_cast<std::size_t>(r) * static_cast<std::size_t>(k);
      for (std::size_t j = 0; j < static_cast<std::size_t>(k); ++j) {
        ids[base + j] = j < top.size() ? top.ids[j] : invalid_index;
        scores[base + j] = j < top.size() ? top.scores[j] : std::numeric_limits<score_t>::lowest();
      }
    });
  }

  /// The k items most similar to `item` by cosine of item factors (the item itself excluded).
  [[nodiscard]] topk_result similar_items(index_t item, index_t k) const {
    RECSYS_REQUIRE(k >= 0, "similar_items", "k must be >= 0 (got ", k, ")");
    require_fitted("similar_items");
    RECSYS_REQUIRE(item >= 0 && item < num_items(), "similar_items", "item ", item, " out of range [0, ",
                   num_items(), ")");
    return cosine_neighbours(item_factors_, item_norms_, item, k);
  }

  /// The k users most similar to `user` by cosine of user factors (the user itself excluded).
  [[nodiscard]] topk_result similar_users(index_t user, index_t k) const {
    RECSYS_REQUIRE(k >= 0, "similar_users", "k must be >= 0 (got ", k, ")");
    require_fitted("similar_users");
    RECSYS_REQUIRE(user >= 0 && user < num_users(), "similar_users", "user ", user, " out of range [0, ",
                   num_users(), ")");
    return cosine_neighbours(user_factors_, user_norms_, user, k);
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
    RECSYS_REQUIRE(bias.size() == 0 || bias.size() == items.rows(), "factor_model", "item bias has ",
                   bias.size(), " entries for ", items.rows(), " items");
    RECSYS_REQUIRE(seen.rows() <= users.rows() && seen.cols() == items.rows(), "factor_model",
                   "training matrix is ", seen.rows(), " x ", seen.cols(), " but factors are ", users.rows(),
                   " users x ", items.rows(), " items");
    user_factors_ = std::move(users);
    item_factors_ = std::move(items);
    item_bias_ = std::move(bias);
    seen_ = seen;
    seen_.makeCompressed();
    refresh_derived();
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

  std::vector<char> blocked_mask(const recommend_options& opts, std::span<const index_t> seen_items) const {
    std::vector<char> blocked(static_cast<std::size_t>(num_items()), 0);
    if (opts.exclude_seen)
      for (index_t i : seen_items)
        if (i >= 0 && i < num_items()) blocked[static_cast<std::size_t>(i)] = 1;
    for (index_t i : opts.exclude)
      if (i >= 0 && i < num_items()) blocked[static_cast<std::size_t>(i)] = 1;
    return blocked;
  }

  topk_result recommend_popular(index_t k, const recommend_options& opts, std::span<const index_t> seen_items) const {
    detail::topk_heap heap(k);
    std::vector<char> blocked = blocked_mask(opts, seen_items);
    if (!opts.include.empty()) {
      for (index_t i : opts.include)
        if (i >= 0 && i < num_items() && !blocked[static_cast<std::size_t>(i)])
          heap.push(popularity_[static_cast<std::size_t>(i)], i);
    } else {
      for (index_t i = 0; i < num_items(); ++i)
        if (!blocked[static_cast<std::size_t>(i)]) heap.push(popularity_[static_cast<std::size_t>(i)], i);
    }
    topk_result out;
    heap.drain_into(out);
    return out;
  }

  static topk_result cosine_neighbours(const matrix_type& f, const vector_type& norms, index_t row, index_t k) {
    detail::topk_heap heap(k);
    const Scalar n0 = norms[row];
    if (n0 > Scalar(0)) {
      vector_type dots = f * f.row(row).transpose();
      for (index_t j = 0; j < static_cast<index_t>(f.rows()); ++j) {
        if (j == row) continue;
        const Scalar d = norms[j] > Scalar(0) ? dots[j] / (n0 * norms[j]) : Scalar(0);
        heap.push(static_cast<score_t>(d), j);
      }
    }
    topk_result out;
    heap.drain_into(out);
    return out;
  }

  vector_type user_norms_;
  vector_type item_norms_;
  std::vector<score_t> popularity_;
  std::vector<index_t> popular_;
};

}  // namespace recsys

#endif  // RECSYS_MODELS_FACTOR_MODEL_HPP
