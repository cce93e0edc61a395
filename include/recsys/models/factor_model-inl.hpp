// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_FACTOR_MODEL_INL_HPP
#define RECSYS_MODELS_FACTOR_MODEL_INL_HPP

/// @file
/// Definitions of models/factor_model.hpp (header-only mode includes this file; the compiled
/// library instantiates it for float and double in src/factor_model.cpp).

#include <recsys/models/factor_model.hpp>

#include <recsys/detail/select.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/ranking/topk.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace recsys {

template <class Scalar>
topk_result factor_model<Scalar>::recommend(index_t user, index_t k, const recommend_options& opts) const {
  RECSYS_REQUIRE(k >= 0, "recommend", "k must be >= 0 (got ", k, ")");
  require_fitted("recommend");
  if (!is_known_user(user)) return recommend_popular(k, opts);
  return recommend_for_vector(user_factors_.row(user).transpose(), k, opts, seen_items(user));
}

template <class Scalar>
topk_result factor_model<Scalar>::recommend_for_vector(const Eigen::Ref<const vector_type>& user_vector, index_t k,
                                                       const recommend_options& opts,
                                                       std::span<const index_t> seen_items) const {
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

template <class Scalar>
std::vector<score_t> factor_model<Scalar>::score(index_t user, std::span<const index_t> items) const {
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

template <class Scalar>
void factor_model<Scalar>::recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
                                           const recommend_options& opts, int num_threads) const {
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
      topk_inner_product(user_factors_.topRows(static_cast<Eigen::Index>(users.size())), item_factors_, bias_span(), k,
                         ids, scores, filter, topts);
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

template <class Scalar>
std::vector<topk_result> factor_model<Scalar>::recommend_batch(std::span<const index_t> users, index_t k,
                                                               const recommend_options& opts, int num_threads) const {
  RECSYS_REQUIRE(k >= 0, "recommend_batch", "k must be >= 0 (got ", k, ")");
  std::vector<index_t> ids(users.size() * static_cast<std::size_t>(k));
  std::vector<score_t> scores(ids.size());
  recommend_batch(users, k, ids.data(), scores.data(), opts, num_threads);
  return detail::split_results(static_cast<Eigen::Index>(users.size()), k, ids, scores);
}

template <class Scalar>
void factor_model<Scalar>::recommend_all(index_t k, index_t* ids, score_t* scores, const recommend_options& opts,
                                         int num_threads) const {
  require_fitted("recommend_all");
  std::vector<index_t> users(static_cast<std::size_t>(num_users()));
  std::iota(users.begin(), users.end(), 0);
  recommend_batch(users, k, ids, scores, opts, num_threads);
}

template <class Scalar>
std::vector<topk_result> factor_model<Scalar>::recommend_all(index_t k, const recommend_options& opts,
                                                             int num_threads) const {
  require_fitted("recommend_all");
  std::vector<index_t> users(static_cast<std::size_t>(num_users()));
  std::iota(users.begin(), users.end(), 0);
  return recommend_batch(users, k, opts, num_threads);
}

template <class Scalar>
topk_result factor_model<Scalar>::similar_items(index_t item, index_t k) const {
  RECSYS_REQUIRE(k >= 0, "similar_items", "k must be >= 0 (got ", k, ")");
  require_fitted("similar_items");
  if (item < 0 || item >= num_items() || !(item_norms_[item] > Scalar(0))) {
    // An item the model knows nothing of (outside the catalogue, or a zero factor vector): the
    // popular items, as item-to-item and Personalize's SIMS answer.
    item_mask allowed(num_items());
    allowed.set(item, false);
    return detail::first_allowed(popular_, popularity_, allowed, k);
  }
  return cosine_neighbours(item_factors_, item_norms_, item, k);
}

template <class Scalar>
topk_result factor_model<Scalar>::similar_users(index_t user, index_t k) const {
  RECSYS_REQUIRE(k >= 0, "similar_users", "k must be >= 0 (got ", k, ")");
  require_fitted("similar_users");
  RECSYS_REQUIRE(user >= 0 && user < num_users(), "similar_users", "user ", user, " out of range [0, ", num_users(),
                 ")");
  return cosine_neighbours(user_factors_, user_norms_, user, k);
}

template <class Scalar>
void factor_model<Scalar>::recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
                                           const recommend_options& opts, int num_threads) const {
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
  topk_inner_product(q, user_factors_, std::span<const Scalar>{}, k, tmp_ids.data(), tmp_scores.data(), filter, topts);
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

template <class Scalar>
void factor_model<Scalar>::set_model(matrix_type users, matrix_type items, vector_type bias, const csr_matrix& seen) {
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

template <class Scalar>
void factor_model<Scalar>::save_factors(model_writer& out) const {
  require_fitted("save");
  out.add_matrix("user_factors", user_factors_);
  out.add_matrix("item_factors", item_factors_);
  out.add_vector("item_bias", item_bias_);
  out.add_sparse("seen", seen_);
}

template <class Scalar>
void factor_model<Scalar>::load_factors(const model_reader& in) {
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

template <class Scalar>
void factor_model<Scalar>::refresh_derived() {
  user_norms_ = user_factors_.rowwise().norm().template cast<Scalar>();
  item_norms_ = item_factors_.rowwise().norm().template cast<Scalar>();
  popularity_.assign(static_cast<std::size_t>(num_items()), 0.0f);
  const auto* inner = seen_.innerIndexPtr();
  for (Eigen::Index n = 0; n < seen_.nonZeros(); ++n) popularity_[static_cast<std::size_t>(inner[n])] += 1.0f;
  popular_ = detail::popularity_order(popularity_);
}

template <class Scalar>
void factor_model<Scalar>::require_fitted(const char* where) const {
  RECSYS_REQUIRE(is_fitted(), where, "the model is not fitted yet (call fit first)");
}

template <class Scalar>
score_t factor_model<Scalar>::item_score(const Eigen::Ref<const vector_type>& u, index_t i) const {
  Scalar s = item_factors_.row(i).dot(u.transpose());
  if (item_bias_.size()) s += item_bias_[i];
  return static_cast<score_t>(s);
}

template <class Scalar>
topk_filter factor_model<Scalar>::make_filter(const recommend_options& opts) {
  topk_filter filter;
  filter.exclude = opts.exclude;
  if (!opts.include.empty()) filter.include = opts.include;  // recommend_options: empty = every item
  return filter;
}

template <class Scalar>
bool factor_model<Scalar>::is_identity(std::span<const index_t> users) noexcept {
  for (std::size_t r = 0; r < users.size(); ++r)
    if (users[r] != static_cast<index_t>(r)) return false;
  return true;
}

template <class Scalar>
auto factor_model<Scalar>::gather_users(std::span<const index_t> users) const -> matrix_type {
  matrix_type q(static_cast<Eigen::Index>(users.size()), num_factors());
  for (std::size_t r = 0; r < users.size(); ++r) q.row(static_cast<Eigen::Index>(r)) = user_factors_.row(users[r]);
  return q;
}

template <class Scalar>
topk_result factor_model<Scalar>::recommend_popular(index_t k, const recommend_options& opts) const {
  return topk_select(std::span<const score_t>(popularity_), k, make_filter(opts));
}

template <class Scalar>
topk_result factor_model<Scalar>::cosine_neighbours(const matrix_type& f, const vector_type& norms, index_t row,
                                                    index_t k) {
  const Scalar n0 = norms[row];
  if (n0 <= Scalar(0) || k == 0) return {};
  const vector_type dots = f * f.row(row).transpose();
  std::vector<score_t> cosine(static_cast<std::size_t>(f.rows()));
  for (Eigen::Index j = 0; j < f.rows(); ++j)
    cosine[static_cast<std::size_t>(j)] = norms[j] > Scalar(0) ? static_cast<score_t>(dots[j] / (n0 * norms[j])) : 0.0f;
  const index_t self[] = {row};
  topk_filter filter;
  filter.exclude = self;
  return topk_select(std::span<const score_t>(cosine), k, filter);
}

}  // namespace recsys

#endif  // RECSYS_MODELS_FACTOR_MODEL_INL_HPP
