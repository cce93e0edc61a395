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
///
/// The member definitions are in factor_model-inl.hpp (docs/design.md, "How a component is laid
/// out"). The compiled library (recsys::compiled) instantiates factor_model<float> and
/// factor_model<double>, the scalars the top-K kernel takes; another Scalar is available
/// header-only only (in compiled mode, include factor_model-inl.hpp for it).

#include <recsys/config.hpp>
#include <recsys/fwd.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <span>
#include <vector>

namespace recsys {

/// (The default Scalar, float = score_t, is given in fwd.hpp.)
template <class Scalar>
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
  [[nodiscard]] topk_result recommend(index_t user, index_t k, const recommend_options& opts = {}) const;

  /// The top-k items for an arbitrary user vector (a folded-in or new user). `seen_items` are
  /// excluded when opts.exclude_seen is set (any order; ids outside the catalogue are ignored).
  [[nodiscard]] topk_result recommend_for_vector(const Eigen::Ref<const vector_type>& user_vector, index_t k,
                                                 const recommend_options& opts = {},
                                                 std::span<const index_t> seen_items = {}) const;

  /// Scores of the given items for a user (same order as `items`); NaN for items outside the
  /// catalogue; popularity scores for an unknown user.
  [[nodiscard]] std::vector<score_t> score(index_t user, std::span<const index_t> items) const;

  /// Top-k for many users into caller buffers of users.size() * k entries (row r = users[r]),
  /// padded with invalid_index / lowest score. Known users are scored in blocks by the top-K
  /// kernel (parallel over blocks of users); unknown users get the popularity ranking.
  /// Results equal recommend() for each user (up to the last bit of the scores: the batch
  /// path multiplies matrices, the single-user path matrix and vector).
  void recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                       const recommend_options& opts = {}, int num_threads = 0) const;

  /// Top-k for many users, one topk_result per user (no padding).
  [[nodiscard]] std::vector<topk_result> recommend_batch(std::span<const index_t> users, index_t k,
                                                         const recommend_options& opts = {}, int num_threads = 0) const;

  /// Top-k for every user 0 .. num_users()-1 into caller buffers of num_users() * k entries.
  void recommend_all(index_t k, index_t* ids, score_t* scores, const recommend_options& opts = {},
                     int num_threads = 0) const;

  /// Top-k for every user 0 .. num_users()-1, one topk_result per user.
  /// @code
  /// auto all = model.recommend_all(10);   // all[u]: user u's 10 best unseen items
  /// @endcode
  [[nodiscard]] std::vector<topk_result> recommend_all(index_t k, const recommend_options& opts = {},
                                                       int num_threads = 0) const;

  /// The k items most similar to `item` by cosine of item factors (the item itself excluded).
  /// An item outside the catalogue, or one with a zero factor vector, gets the popular items
  /// (training interactions per item), as item-to-item's similar_items.
  [[nodiscard]] topk_result similar_items(index_t item, index_t k) const;

  /// The k users most similar to `user` by cosine of user factors (the user itself excluded).
  [[nodiscard]] topk_result similar_users(index_t user, index_t k) const;

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
                       const recommend_options& opts = {}, int num_threads = 0) const;

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
  void set_model(matrix_type users, matrix_type items, vector_type bias, const csr_matrix& seen);

  /// Writes the factors, the item bias and the training matrix into a model directory being
  /// written: `user_factors.npy` [users, f], `item_factors.npy` [items, f], `item_bias.npy`
  /// [items] or [0] (no bias), all in the model's scalar type, and `seen_indptr/indices/data.npy`
  /// (scipy CSR, float32). Norms and popularity are derived again on load. Every factor recipe
  /// calls this from its save() and adds its own config.
  /// @throws recsys::invalid_argument if the model is not fitted.
  void save_factors(model_writer& out) const;

  /// Restores what save_factors wrote, validating shapes (factors x bias x training matrix) and
  /// finiteness; the model then scores exactly as the saved one.
  /// @throws recsys::io_error naming the file on any damage or inconsistency (the model is then
  ///         unchanged).
  void load_factors(const model_reader& in);

  /// Recomputes norms and popularity after the factors or the training matrix changed in place.
  void refresh_derived();

  matrix_type user_factors_;
  matrix_type item_factors_;
  vector_type item_bias_;
  csr_matrix seen_;

 private:
  void require_fitted(const char* where) const;

  score_t item_score(const Eigen::Ref<const vector_type>& u, index_t i) const;

  std::span<const Scalar> bias_span() const noexcept {
    return {item_bias_.data(), static_cast<std::size_t>(item_bias_.size())};
  }

  // The kernel filter for the options shared by every query (seen items are added per call).
  static topk_filter make_filter(const recommend_options& opts);

  static bool is_identity(std::span<const index_t> users) noexcept;

  matrix_type gather_users(std::span<const index_t> users) const;

  // The ranking for users without history: training popularity (distinct users per item).
  topk_result recommend_popular(index_t k, const recommend_options& opts) const;

  static topk_result cosine_neighbours(const matrix_type& f, const vector_type& norms, index_t row, index_t k);

  vector_type user_norms_;
  vector_type item_norms_;
  std::vector<score_t> popularity_;
  std::vector<index_t> popular_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/factor_model-inl.hpp>
#else
namespace recsys {
extern template class factor_model<float>;
extern template class factor_model<double>;
}  // namespace recsys
#endif

#endif  // RECSYS_MODELS_FACTOR_MODEL_HPP
