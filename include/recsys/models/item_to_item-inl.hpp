// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_INL_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_INL_HPP

/// @file
/// Definitions of models/item_to_item.hpp (included by it in header-only mode, compiled into
/// recsys::compiled by src/item_to_item.cpp otherwise): the queries, save and load here; the
/// fits, the input conversion and the mining in item_to_item_{fit,convert,mine}-inl.hpp, which
/// this file includes.

#include <recsys/models/item_to_item.hpp>
#include <recsys/models/item_to_item_convert-inl.hpp>
#include <recsys/models/item_to_item_fit-inl.hpp>
#include <recsys/models/item_to_item_mine-inl.hpp>

#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/sparse_accumulator.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/parallel.hpp>
#include <recsys/ranking/candidates.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>

namespace recsys {

template <class T>
std::span<const index_t> basic_item_to_item<T>::seen_items(index_t user) const noexcept {
  const detail::incidence& s = state_.seen.rows() > 0 ? state_.seen : state_.history;
  if (user < 0 || static_cast<std::size_t>(user) >= s.rows()) return {};
  return s.row(static_cast<std::size_t>(user));
}

template <class T>
bool basic_item_to_item<T>::is_known_user(index_t user) const noexcept {
  return user >= 0 && static_cast<std::size_t>(user) < state_.history.rows() &&
         state_.history.length(static_cast<std::size_t>(user)) > 0;
}

template <class T>
topk_result basic_item_to_item<T>::similar_items(index_t item, index_t k, const recommend_options& opts) const {
  require_query("similar_items", k);
  item_mask allowed = detail::allowed_items(num_items(), opts);
  allowed.set(item, false);
  return neighbours_of(item, k, allowed);
}

template <class T>
topk_result basic_item_to_item<T>::also_viewed(index_t user, index_t item, index_t k,
    const recommend_options& opts) const {
  require_query("also_viewed", k);
  item_mask allowed = detail::allowed_items(num_items(), opts, bought_items(user));
  allowed.set(item, false);
  return neighbours_of(item, k, allowed);
}

template <class T>
topk_result basic_item_to_item<T>::frequently_bought_together(std::span<const index_t> basket, index_t k,
    const recommend_options& opts) const {
  require_query("frequently_bought_together", k);
  item_mask allowed = detail::allowed_items(num_items(), opts);
  for (index_t i : basket) allowed.set(i, false);  // never the basket's own items
  return from_history(basket, {}, k, allowed);
}

template <class T>
topk_result basic_item_to_item<T>::recommend_for_history(std::span<const index_t> items, std::span<const score_t> weights,
    index_t k, const recommend_options& opts) const {
  require_query("recommend_for_history", k);
  RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), "item_to_item::recommend_for_history", "got ",
                 items.size(), " items but ", weights.size(), " weights");
  return from_history(items, weights, k, detail::allowed_items(num_items(), opts, items));
}

template <class T>
topk_result basic_item_to_item<T>::recommend(index_t user, index_t k, const recommend_options& opts) const {
  require_query("recommend", k);
  if (!is_known_user(user)) return popular_among(k, detail::allowed_items(num_items(), opts));
  const auto u = static_cast<std::size_t>(user);
  return from_history(state_.history.row(u), state_.history.row_values(u), k,
                      detail::allowed_items(num_items(), opts, seen_items(user)));
}

template <class T>
std::vector<score_t> basic_item_to_item<T>::score(index_t user, std::span<const index_t> items) const {
  require_query("score", 0);
  std::vector<score_t> out(items.size(), std::numeric_limits<score_t>::quiet_NaN());
  if (!is_known_user(user)) {
    for (std::size_t k = 0; k < items.size(); ++k)
      if (in_catalogue(items[k])) out[k] = popularity_[static_cast<std::size_t>(items[k])];
    return out;
  }
  const auto u = static_cast<std::size_t>(user);
  detail::sparse_accumulator<double> acc(num_items());
  accumulate(state_.history.row(u), state_.history.row_values(u), acc);
  for (std::size_t k = 0; k < items.size(); ++k)
    if (in_catalogue(items[k])) out[k] = static_cast<score_t>(acc.value(items[k]));
  return out;
}

template <class T>
void basic_item_to_item<T>::recommend_batch(std::span<const index_t> users, index_t k, index_t* ids, score_t* scores,
    const recommend_options& opts, int num_threads) const {
  require_query("recommend_batch", k);
  parallel_options po;
  po.num_threads = num_threads;
  po.chunk = 16;
  parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
    const topk_result top = recommend(users[static_cast<std::size_t>(r)], k, opts);
    const std::size_t base = static_cast<std::size_t>(r) * static_cast<std::size_t>(k);
    detail::write_padded_result(top, k, ids + base, scores + base);
  });
}

template <class T>
void basic_item_to_item<T>::recommend_users(std::span<const index_t> items, index_t k, index_t* users, score_t* scores,
    const recommend_options& opts, int num_threads) const {
  require_query("recommend_users", k);
  RECSYS_REQUIRE(state_.history.rows() > 0, "item_to_item::recommend_users",
                 "the model has no user histories (fitted on baskets or sessions): no users to rank");
  if (items.empty() || k == 0) return;
  RECSYS_REQUIRE(users != nullptr && scores != nullptr, "item_to_item::recommend_users",
                 "output buffers must not be null");
  const auto n_users = static_cast<index_t>(state_.history.rows());
  // who holds which history item (with the weight), and which items have i as a neighbour
  // users x items -> items x users (columns: every user, also those a loaded model has no rows of)
  const auto transposed = [&](const detail::incidence& x) {
    detail::incidence t = detail::transpose(x);
    t.cols = n_users;
    return t;
  };
  const detail::incidence by_item = transposed(state_.history);
  const csr_matrix reverse = neighbours_.transpose();  // row i: items h with S(h, i), h ascending
  std::vector<char> allowed(static_cast<std::size_t>(n_users), opts.include.empty() ? 1 : 0);
  for (index_t u : opts.include)
    if (u >= 0 && u < n_users) allowed[static_cast<std::size_t>(u)] = 1;
  for (index_t u : opts.exclude)
    if (u >= 0 && u < n_users) allowed[static_cast<std::size_t>(u)] = 0;
  const detail::incidence& seen = state_.seen.rows() > 0 ? state_.seen : state_.history;
  const detail::incidence seen_by_item =
      opts.exclude_seen ? transposed(seen) : detail::incidence{};
  const auto kk = static_cast<std::size_t>(k);
  parallel_options po;
  po.num_threads = num_threads;
  po.chunk = 4;
  parallel_for(0, static_cast<std::int64_t>(items.size()), po, [&](std::int64_t r) {
    const index_t item = items[static_cast<std::size_t>(r)];
    topk_result top;
    if (in_catalogue(item)) {
      detail::sparse_accumulator<double> acc(n_users);
      // h ascending, as score() adds a user's history items: the same sums, bit for bit
      for (csr_matrix::InnerIterator it(reverse, item); it; ++it) {
        const auto h = static_cast<std::size_t>(it.col());
        const double s = static_cast<double>(it.value());
        const auto holders = by_item.row(h);
        const auto w = by_item.row_values(h);
        for (std::size_t n = 0; n < holders.size(); ++n) acc.add(holders[n], static_cast<double>(w[n]) * s);
      }
      std::vector<char> skip;
      if (opts.exclude_seen) {
        skip.assign(static_cast<std::size_t>(n_users), 0);
        for (index_t u : seen_by_item.row(static_cast<std::size_t>(item))) skip[static_cast<std::size_t>(u)] = 1;
      }
      detail::topk_heap heap(std::min(k, n_users));  // (allocated whole: never more than exist)
      for (index_t u : acc.touched())
        if (allowed[static_cast<std::size_t>(u)] && (skip.empty() || !skip[static_cast<std::size_t>(u)]))
          heap.push(static_cast<score_t>(acc.value(u)), u);
      heap.drain_into(top);
    }
    const std::size_t base = static_cast<std::size_t>(r) * kk;
    for (std::size_t j = 0; j < kk; ++j) {
      users[base + j] = j < top.size() ? top.ids[j] : invalid_index;
      scores[base + j] = j < top.size() ? top.scores[j] : std::numeric_limits<score_t>::lowest();
    }
  });
}

template <class T>
void basic_item_to_item<T>::save(model_writer& out) const {
  require_query("item_to_item::save", 0);
  out.set_field("model", "item_to_item");
  out.set_config(to_params(config_));
  detail::json::object st;
  detail::json::add(st, "num_users", static_cast<std::int64_t>(state_.num_users));
  detail::json::add(st, "num_items", static_cast<std::int64_t>(state_.num_items));
  detail::json::add(st, "has_bought_types", state_.has_bought_types);
  detail::json::object stats;
  const std::pair<const char*, std::int64_t> counts[] = {
      {"transactions", stats_.transactions},
      {"transactions_mined", stats_.transactions_mined},
      {"transactions_short", stats_.transactions_short},
      {"transactions_long", stats_.transactions_long},
      {"transactions_capped", stats_.transactions_capped},
      {"row_length_low", stats_.row_length_low},
      {"row_length_high", stats_.row_length_high},
      {"items_active", stats_.items_active},
      {"items_mined", stats_.items_mined},
      {"items_rare", stats_.items_rare},
      {"items_popular", stats_.items_popular},
      {"item_count_low", stats_.item_count_low},
      {"item_count_high", stats_.item_count_high},
      {"pair_visits", stats_.pair_visits},
      {"items_with_neighbours", stats_.items_with_neighbours},
      {"neighbour_entries", stats_.neighbour_entries}};
  stats.reserve(std::size(counts) + 1);
  for (const auto& [name, value] : counts) detail::json::add(stats, name, value);
  detail::json::add(stats, "seconds", stats_.seconds);
  detail::json::add(st, "stats", detail::json::value(std::move(stats)));
  out.set_field("item_to_item", detail::json::value(std::move(st)));
  out.add_sparse("neighbours", neighbours_);
  out.add_vector("popularity", popularity_);
  save_incidence(out, "history", state_.history);
  save_incidence(out, "seen", state_.seen);
  save_incidence(out, "bought", state_.bought);
}

template <class T>
void basic_item_to_item<T>::load(const model_reader& in) {
  in.require_model_type("item_to_item");
  item_to_item_config c;
  fitted_state st;
  item_to_item_stats stats;
  std::int64_t users = 0, items = 0;
  in.in_manifest([&] {
    for (const auto& [k, v] : in.config())
      if (!v.empty()) set_param(c, k, v);
    c.validate();
    const auto& f = in.require_field("item_to_item");
    users = f.at("num_users").as_int("item_to_item.num_users");
    items = f.at("num_items").as_int("item_to_item.num_items");
    if (users < 0 || items < 0 || users > std::numeric_limits<index_t>::max() ||
        items > std::numeric_limits<index_t>::max())
      throw invalid_argument(detail::str("item_to_item: num_users ", users, " / num_items ", items, " out of range"));
    st.has_bought_types = f.at("has_bought_types").as_bool("item_to_item.has_bought_types");
    const auto& j = f.at("stats");
    stats.transactions = j.at("transactions").as_int("transactions");
    stats.transactions_mined = j.at("transactions_mined").as_int("transactions_mined");
    stats.transactions_short = j.at("transactions_short").as_int("transactions_short");
    stats.transactions_long = j.at("transactions_long").as_int("transactions_long");
    stats.transactions_capped = j.at("transactions_capped").as_int("transactions_capped");
    stats.row_length_low = j.at("row_length_low").as_int("row_length_low");
    stats.row_length_high = j.at("row_length_high").as_int("row_length_high");
    stats.items_active = j.at("items_active").as_int("items_active");
    stats.items_mined = j.at("items_mined").as_int("items_mined");
    stats.items_rare = j.at("items_rare").as_int("items_rare");
    stats.items_popular = j.at("items_popular").as_int("items_popular");
    stats.item_count_low = j.at("item_count_low").as_int("item_count_low");
    stats.item_count_high = j.at("item_count_high").as_int("item_count_high");
    stats.pair_visits = j.at("pair_visits").as_int("pair_visits");
    stats.items_with_neighbours = j.at("items_with_neighbours").as_int("items_with_neighbours");
    stats.neighbour_entries = j.at("neighbour_entries").as_int("neighbour_entries");
    stats.seconds = j.at("seconds").as_double("seconds");
  });
  st.num_users = static_cast<index_t>(users);
  st.num_items = static_cast<index_t>(items);
  csr_matrix nb = in.sparse("neighbours");
  const std::string nb_file = in.array_file("neighbours_data");
  model_reader::check(nb.rows() == items && nb.cols() == items, nb_file,
                      detail::str("neighbour matrix is ", nb.rows(), " x ", nb.cols(), ", the model has ", items,
                                  " items"));
  for (Eigen::Index n = 0; n < nb.nonZeros(); ++n)
    model_reader::check(std::isfinite(nb.valuePtr()[n]), nb_file, detail::str("neighbour score ", n, " is not finite"));
  std::vector<score_t> popularity = in.vector<score_t>("popularity", items);
  for (std::size_t i = 0; i < popularity.size(); ++i)
    model_reader::check(std::isfinite(popularity[i]) && popularity[i] >= 0, in.array_file("popularity"),
                        detail::str("entry ", i, " is not a count"));
  st.history = load_incidence(in, "history", st.num_items, {users});
  st.seen = load_incidence(in, "seen", st.num_items, {0, users});
  st.bought = load_incidence(in, "bought", st.num_items, {0, users});
  std::vector<index_t> popular = detail::popularity_order(popularity);
  config_ = std::move(c);
  neighbours_ = std::move(nb);
  popularity_ = std::move(popularity);
  popular_ = std::move(popular);
  state_ = std::move(st);
  stats_ = stats;
  fitted_ = true;
}

template <class T>
void basic_item_to_item<T>::save_incidence(model_writer& out, const std::string& name, const detail::incidence& x) {
  auto add = [&](const std::string& array, const auto& v) {
    const std::int64_t shape[1] = {static_cast<std::int64_t>(v.size())};
    out.add_array(array, v.data(), shape);
  };
  add(name + "_indptr", x.ptr);
  add(name + "_indices", x.idx);
  add(name + "_data", x.val);
}

template <class T>
detail::incidence basic_item_to_item<T>::load_incidence(const model_reader& in, const std::string& name, index_t cols,
    std::initializer_list<std::int64_t> rows) {
  detail::incidence x;
  x.cols = cols;
  auto take = [](auto& to, const auto& from) { to.assign(from.begin(), from.end()); };
  take(x.ptr, in.vector<std::int64_t>(name + "_indptr"));
  take(x.idx, in.vector<index_t>(name + "_indices"));
  take(x.val, in.vector<float>(name + "_data", static_cast<std::int64_t>(x.idx.size())));
  const std::string file = in.array_file(name + "_indptr");
  model_reader::check(!x.ptr.empty() && x.ptr.front() == 0 && x.ptr.back() == static_cast<std::int64_t>(x.idx.size()),
                      file, "'" + name + "' offsets do not describe its indices");
  const auto n = static_cast<std::int64_t>(x.ptr.size()) - 1;
  model_reader::check(std::find(rows.begin(), rows.end(), n) != rows.end(), file,
                      detail::str("'", name, "' has ", n, " rows, the model has ", *(rows.end() - 1), " users"));
  for (std::size_t r = 0; r + 1 < x.ptr.size(); ++r) {
    model_reader::check(x.ptr[r] <= x.ptr[r + 1], file, "'" + name + "' offsets decrease");
    for (std::int64_t e = x.ptr[r]; e < x.ptr[r + 1]; ++e) {
      const auto at = static_cast<std::size_t>(e);
      model_reader::check(x.idx[at] >= 0 && x.idx[at] < cols && (e == x.ptr[r] || x.idx[at - 1] < x.idx[at]),
                          in.array_file(name + "_indices"),
                          detail::str("'", name, "' row ", r, ": item indices out of range or not ascending"));
      model_reader::check(std::isfinite(x.val[at]), in.array_file(name + "_data"),
                          detail::str("'", name, "' row ", r, ": a value is not finite"));
    }
  }
  return x;
}

template <class T>
void basic_item_to_item<T>::require_query(const char* where, index_t k) const {
  RECSYS_REQUIRE(k >= 0, where, "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(fitted_, where, "the model is not fitted yet (call fit first)");
}

template <class T>
std::span<const index_t> basic_item_to_item<T>::bought_items(index_t user) const noexcept {
  if (!state_.has_bought_types) return seen_items(user);
  if (user < 0 || static_cast<std::size_t>(user) >= state_.bought.rows()) return {};
  return state_.bought.row(static_cast<std::size_t>(user));
}

template <class T>
topk_result basic_item_to_item<T>::popular_among(index_t k, const item_mask& allowed) const {
  return detail::first_allowed(popular_, popularity_, allowed, k);
}

template <class T>
topk_result basic_item_to_item<T>::neighbours_of(index_t item, index_t k, const item_mask& allowed) const {
  detail::topk_heap heap(std::min(k, num_items()));  // (allocated whole: never more than exist)
  bool any = false;
  if (in_catalogue(item)) {
    for (csr_matrix::InnerIterator it(neighbours_, item); it; ++it) {
      const auto j = static_cast<index_t>(it.col());
      if (!allowed.test(j)) continue;
      any = true;
      heap.push(it.value(), j);
    }
  }
  if (!any) return popular_among(k, allowed);
  topk_result out;
  heap.drain_into(out);
  return out;
}

template <class T>
void basic_item_to_item<T>::accumulate(std::span<const index_t> items, std::span<const score_t> weights,
    detail::sparse_accumulator<double>& acc) const {
  for (std::size_t h = 0; h < items.size(); ++h) {
    const index_t i = items[h];
    if (!in_catalogue(i)) continue;
    const double w = weights.empty() ? 1.0 : static_cast<double>(weights[h]);
    for (csr_matrix::InnerIterator it(neighbours_, i); it; ++it)
      acc.add(static_cast<index_t>(it.col()), w * static_cast<double>(it.value()));
  }
}

template <class T>
topk_result basic_item_to_item<T>::from_history(std::span<const index_t> items, std::span<const score_t> weights, index_t k,
    const item_mask& allowed) const {
  detail::sparse_accumulator<double> acc(num_items());
  accumulate(items, weights, acc);
  detail::topk_heap heap(std::min(k, num_items()));  // (allocated whole: never more than exist)
  bool any = false;
  for (index_t j : acc.touched()) {
    if (!allowed.test(j)) continue;
    any = true;
    heap.push(static_cast<score_t>(acc.value(j)), j);
  }
  if (!any) return popular_among(k, allowed);
  topk_result out;
  heap.drain_into(out);
  return out;
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_INL_HPP
