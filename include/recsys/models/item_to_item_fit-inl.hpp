// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_FIT_INL_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_FIT_INL_HPP

/// @file
/// Definitions of models/item_to_item.hpp (included by item_to_item-inl.hpp): the fits from each
/// source (baskets, sessions, a matrix, a log with its event types, windows and recency), which
/// build the incidences and hand them to the mining (item_to_item_mine-inl.hpp).

#include <recsys/models/item_to_item.hpp>

#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/sparse_accumulator.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/parallel.hpp>

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
void basic_item_to_item<T>::fit(const basket_data& baskets, const job_control& job) {
  const auto t0 = std::chrono::steady_clock::now();
  constexpr const char* where = "item_to_item::fit(basket_data)";
  config_.validate();
  require_no_log_settings(where, false);
  detail::incidence x;
  x.cols = baskets.num_items();
  RECSYS_REQUIRE(baskets.offsets.size() == baskets.size() + 1 && !baskets.offsets.empty() &&
                     baskets.offsets[0] == 0 &&
                     baskets.offsets.back() == static_cast<std::int64_t>(baskets.items.size()),
                 where, "offsets do not describe the items array");
  require_rows_fit(where, baskets.size());
  x.ptr.reserve(baskets.size() + 1);
  x.idx.reserve(baskets.items.size());
  x.val.reserve(baskets.items.size());
  std::vector<std::pair<index_t, float>> row;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    row.clear();
    for (index_t i : baskets.basket(b)) {
      RECSYS_REQUIRE(i >= 0 && i < x.cols, where, "basket ", b, ": item index ", i, " out of range [0, ", x.cols,
                     ")");
      row.emplace_back(i, 1.0f);
    }
    x.push_row(row);
    // a repeated item counts once per basket
    for (std::int64_t e = x.ptr[b]; e < x.ptr[b + 1]; ++e) x.val[static_cast<std::size_t>(e)] = 1.0f;
  }
  fitted_state s;
  s.num_items = x.cols;
  s.num_users = 0;
  mine(std::move(x), {}, false, {}, false, s, job, t0);
}

template <class T>
void basic_item_to_item<T>::fit(const session_data& sessions, const job_control& job) {
  const auto t0 = std::chrono::steady_clock::now();
  constexpr const char* where = "item_to_item::fit(session_data)";
  config_.validate();
  require_no_log_settings(where, true);
  RECSYS_REQUIRE(sessions.offsets.size() == sessions.size() + 1 && !sessions.offsets.empty() &&
                     sessions.offsets[0] == 0 &&
                     sessions.offsets.back() == static_cast<std::int64_t>(sessions.items.size()) &&
                     sessions.timestamps.size() == sessions.items.size(),
                 where, "offsets / timestamps do not describe the items array");
  require_rows_fit(where, sessions.size());
  detail::incidence x;
  x.cols = sessions.num_items;
  const bool timed = config_.time_window > 0 || config_.forward_only;
  detail::timed_events ev;
  std::vector<std::pair<index_t, float>> row;
  std::vector<detail::raw_event> raw;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    row.clear();
    raw.clear();
    const auto items = sessions.session(s);
    const auto times = sessions.session_times(s);
    for (std::size_t k = 0; k < items.size(); ++k) {
      RECSYS_REQUIRE(items[k] >= 0 && items[k] < x.cols, where, "session ", s, ": item index ", items[k],
                     " out of range [0, ", x.cols, ")");
      row.emplace_back(items[k], 1.0f);
      if (timed) raw.push_back({times[k], items[k], 3});
    }
    x.push_row(row);
    if (timed) detail::push_events_row(ev, raw);
  }
  fitted_state st;
  st.num_items = x.cols;
  st.num_users = 0;
  mine(std::move(x), {}, false, std::move(ev), timed, st, job, t0);
}

template <class T>
void basic_item_to_item<T>::fit(const csr_matrix& user_items, const job_control& job) {
  const auto t0 = std::chrono::steady_clock::now();
  constexpr const char* where = "item_to_item::fit(csr_matrix)";
  config_.validate();
  require_no_log_settings(where, false);
  require_rows_fit(where, static_cast<std::size_t>(user_items.rows()));
  fitted_state s;
  s.num_items = static_cast<index_t>(user_items.cols());
  s.num_users = static_cast<index_t>(user_items.rows());
  detail::incidence x = convert_rows(user_items, where, s.history);
  mine(std::move(x), {}, false, {}, false, s, job, t0);
}

template <class T>
void basic_item_to_item<T>::fit(const interaction_log& log, const job_control& job) {
  const auto t0 = std::chrono::steady_clock::now();
  constexpr const char* where = "item_to_item::fit(interaction_log)";
  config_.validate();
  log.validate();
  require_rows_fit(where, static_cast<std::size_t>(log.num_users()));
  const bool cross = !config_.cross_event_types.empty();
  const bool timed = config_.time_window > 0 || config_.forward_only;
  auto type_mask = [&](const std::vector<std::string>& names, bool must_exist) {
    std::vector<char> mask(static_cast<std::size_t>(log.event_type_names.size()), 0);
    for (const std::string& n : names) {
      const auto t = log.event_type_names.find(n);
      if (!t) {
        if (!must_exist) continue;
        std::string known;
        for (const auto& k : log.event_type_names.ids()) known.append(known.empty() ? "" : ", ").append(k);
        detail::throw_invalid_argument(where, "event type '", n, "' is not in the log (its types: ",
                                       known.empty() ? std::string("none") : known, ")");
      }
      mask[static_cast<std::size_t>(*t)] = 1;
    }
    return mask;
  };
  const std::vector<char> left_types = type_mask(config_.event_types, true);
  const std::vector<char> right_types = type_mask(config_.cross_event_types, true);
  const std::vector<char> bought_types = type_mask(config_.exclude_event_types, false);
  const bool all_left = config_.event_types.empty();
  auto in = [](const std::vector<char>& mask, index_t t) { return t >= 0 && mask[static_cast<std::size_t>(t)] != 0; };
  const bool recency = config_.recency_half_life > 0.0;
  const bool any_bought = std::find(bought_types.begin(), bought_types.end(), 1) != bought_types.end();
  const auto users = static_cast<std::size_t>(log.num_users());
  parallel_options po;
  po.num_threads = config_.num_threads;

  // Every event mined and nothing but (user, item, weight) needed (the recipes' defaults):
  // the rows straight from the columns.
  if (all_left && !cross && !timed && !recency && !any_bought) {
    RECSYS_REQUIRE(!log.empty(), where, "no event of the selected event types in the log (0 events)");
    detail::incidence left, history;
    plain_log_rows(log, where, po, left, history);
    fitted_state s;
    s.num_items = log.num_items();
    s.num_users = log.num_users();
    s.history = std::move(history);
    s.bought.cols = s.num_items;
    s.bought.ptr.assign(users + 1, 0);  // no event of the bought types: every row empty
    s.has_bought_types = !config_.exclude_event_types.empty();
    job.cancel.throw_if_cancelled();
    mine(std::move(left), {}, false, {}, false, s, job, t0);
    return;
  }

  // events grouped by user, in log order (counting sort; serial: a few ms, less than a
  // parallel region costs when the machine is shared)
  std::vector<std::int64_t> start(users + 1, 0);
  for (index_t u : log.users) ++start[static_cast<std::size_t>(u) + 1];
  for (std::size_t u = 0; u < users; ++u) start[u + 1] += start[u];
  detail::buffer<std::size_t> order(log.size());
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    const index_t* user = log.users.data();
    for (std::size_t r = 0; r < log.size(); ++r)
      order[static_cast<std::size_t>(next[static_cast<std::size_t>(user[r])]++)] = r;
  }
  job.cancel.throw_if_cancelled();

  // Each user's rows, in parallel over users, written at the user's own event offsets
  // start[u] of "wide" arrays (a user has at most as many entries of each kind as events),
  // then copied together. Per user (the same rows as incidence::push_row of the user's events
  // in log order gives): left / right = the user's distinct items of the query / neighbour
  // side with the sum of their events' weights (summed in double in ascending order of the
  // weights' float bits, as build_matrix sums duplicates, so fit(log) and
  // fit(build_matrix(log)) see the same values); history = the left items, weight 1 or the
  // recency of the user's last event on the item; seen / bought = distinct items, value 1;
  // the timed events sorted by time, then item (stable).
  const index_t items = log.num_items();
  const std::size_t n = log.size();
  const int item_bytes = detail::item_key_bytes(items);
  detail::buffer<index_t> w_left_idx(n), w_right_idx(cross ? n : 0), w_seen_idx(cross ? n : 0),
      w_bought_idx(any_bought ? n : 0), w_ev_item(timed ? n : 0);
  detail::buffer<float> w_left_val(n), w_right_val(cross ? n : 0), w_hist_val(recency ? n : 0);
  detail::buffer<timestamp_t> w_ev_time(timed ? n : 0);
  detail::buffer<std::uint8_t> w_ev_side(timed ? n : 0);
  // per user: entries of left, right, seen, bought, timed events; selected events
  std::vector<std::array<std::int64_t, 5>> len(users);
  std::vector<std::int64_t> selected_of(users);
  std::vector<std::uint8_t> bad_sum(users);  // bit 1: a left sum is not finite > 0, bit 2: a right one
  struct scratch {
    std::vector<std::uint64_t> left, right;  // (item << 32) | weight bits
    std::vector<std::uint64_t> sort_scratch;
    std::vector<index_t> seen, bought;
    std::vector<std::pair<index_t, timestamp_t>> last_seen;
    std::vector<detail::raw_event> raw;
  };
  std::vector<scratch> scratches(static_cast<std::size_t>(max_threads(po)));
  // sorted (item, weight bits) keys -> distinct items with their weight sums, at `idx` / `val`
  auto sum_runs = [](const std::vector<std::uint64_t>& keys, index_t* idx, float* val) {
    std::int64_t out = 0;
    for (std::size_t k = 0; k < keys.size();) {
      const std::uint64_t item = keys[k] >> 32;
      double acc = std::bit_cast<float>(static_cast<std::uint32_t>(keys[k]));
      for (++k; k < keys.size() && (keys[k] >> 32) == item; ++k)
        acc += static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(keys[k])));
      idx[out] = static_cast<index_t>(item);
      val[out] = static_cast<float>(acc);
      ++out;
    }
    return out;
  };
  auto distinct = [](std::vector<index_t>& v, index_t* idx) {
    std::sort(v.begin(), v.end());
    return static_cast<std::int64_t>(std::unique_copy(v.begin(), v.end(), idx) - idx);
  };
  parallel_options pu = po;
  pu.chunk = 64;
  parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64, int tid) {
    const auto u = static_cast<std::size_t>(u64);
    scratch& sc = scratches[static_cast<std::size_t>(tid)];
    sc.left.clear();
    sc.right.clear();
    sc.seen.clear();
    sc.bought.clear();
    sc.last_seen.clear();
    sc.raw.clear();
    timestamp_t user_last = std::numeric_limits<timestamp_t>::min();
    for (std::int64_t k = start[u]; k < start[u + 1]; ++k) {
      const std::size_t r = order[static_cast<std::size_t>(k)];
      const index_t t = log.event_types[r];
      const index_t item = log.items[r];
      const bool is_left = all_left || in(left_types, t);
      const bool is_right = cross && in(right_types, t);
      if (any_bought && in(bought_types, t)) sc.bought.push_back(item);
      if (!is_left && !is_right) continue;
      const std::uint64_t key =
          (static_cast<std::uint64_t>(item) << 32) | std::bit_cast<std::uint32_t>(log.weights[r]);
      if (cross) sc.seen.push_back(item);
      if (is_left) {
        sc.left.push_back(key);
        if (recency) {
          sc.last_seen.emplace_back(item, log.timestamps[r]);
          user_last = std::max(user_last, log.timestamps[r]);
        }
      }
      if (is_right) sc.right.push_back(key);
      if (timed)
        sc.raw.push_back({log.timestamps[r], item,
                          static_cast<std::uint8_t>((is_left ? 1u : 0u) | (cross ? (is_right ? 2u : 0u) : 2u))});
    }
    const auto at = static_cast<std::size_t>(start[u]);
    std::array<std::int64_t, 5>& l = len[u];
    l = {0, 0, 0, 0, 0};
    selected_of[u] = cross ? static_cast<std::int64_t>(sc.seen.size()) : static_cast<std::int64_t>(sc.left.size());
    detail::sort_item_keys(sc.left.data(), sc.left.size(), item_bytes, sc.sort_scratch);
    l[0] = sum_runs(sc.left, w_left_idx.data() + at, w_left_val.data() + at);
    auto bad = [](const float* v, std::int64_t m) {
      return std::any_of(v, v + m, [](float x) { return !(std::isfinite(x) && x > 0.0f); });
    };
    bad_sum[u] = bad(w_left_val.data() + at, l[0]) ? 1 : 0;
    if (cross) {
      detail::sort_item_keys(sc.right.data(), sc.right.size(), item_bytes, sc.sort_scratch);
      l[1] = sum_runs(sc.right, w_right_idx.data() + at, w_right_val.data() + at);
      l[2] = distinct(sc.seen, w_seen_idx.data() + at);
      bad_sum[u] |= bad(w_right_val.data() + at, l[1]) ? 2 : 0;
    }
    if (any_bought) l[3] = distinct(sc.bought, w_bought_idx.data() + at);
    if (recency) {
      // the latest event of each left item (the left items, in the same ascending order)
      std::sort(sc.last_seen.begin(), sc.last_seen.end());
      std::size_t h = at;
      for (std::size_t k = 0; k < sc.last_seen.size(); ++k) {
        if (k + 1 < sc.last_seen.size() && sc.last_seen[k + 1].first == sc.last_seen[k].first) continue;
        w_hist_val[h++] = static_cast<float>(
            std::exp2(-static_cast<double>(user_last - sc.last_seen[k].second) / config_.recency_half_life));
      }
    }
    if (timed) {
      std::stable_sort(sc.raw.begin(), sc.raw.end(), [](const detail::raw_event& a, const detail::raw_event& b) {
        if (a.time != b.time) return a.time < b.time;
        return a.item < b.item;
      });
      for (std::size_t k = 0; k < sc.raw.size(); ++k) {
        w_ev_item[at + k] = sc.raw[k].item;
        w_ev_time[at + k] = sc.raw[k].time;
        w_ev_side[at + k] = sc.raw[k].side;
      }
      l[4] = static_cast<std::int64_t>(sc.raw.size());
    }
  });
  scratches = {};
  order = {};
  job.cancel.throw_if_cancelled();

  const std::int64_t selected = std::accumulate(selected_of.begin(), selected_of.end(), std::int64_t{0});
  RECSYS_REQUIRE(selected > 0, where, "no event of the selected event types in the log (", log.size(), " events)");
  // the first bad sum in row order, of left, then of right (as a check of the finished
  // incidences finds it)
  for (std::size_t side = 0; side < (cross ? 2u : 1u); ++side)
    for (std::size_t u = 0; u < users; ++u) {
      if (!(bad_sum[u] & (1u << side))) continue;
      const auto at = static_cast<std::size_t>(start[u]);
      const float* v = side == 0 ? w_left_val.data() + at : w_right_val.data() + at;
      const index_t* i = side == 0 ? w_left_idx.data() + at : w_right_idx.data() + at;
      for (std::int64_t e = 0; e < len[u][side]; ++e)
        RECSYS_REQUIRE(std::isfinite(v[e]) && v[e] > 0.0f, where, "the weights of an item's events sum to ", v[e],
                       " for a user; co-occurrence needs a finite sum > 0 (item ", i[e], ")");
    }

  // the rows together: offsets, then a parallel copy per user
  detail::incidence left, right, history, seen, bought;
  for (auto* x : {&left, &right, &history, &seen, &bought}) x->cols = items;
  detail::timed_events ev;
  auto offsets = [&](detail::incidence& x, std::size_t kind) {
    x.ptr.resize(users + 1);
    x.ptr[0] = 0;
    for (std::size_t u = 0; u < users; ++u) x.ptr[u + 1] = x.ptr[u] + len[u][kind];
    x.idx.resize(static_cast<std::size_t>(x.ptr[users]));
    x.val.resize(static_cast<std::size_t>(x.ptr[users]));
  };
  offsets(left, 0);
  history.ptr = left.ptr;
  history.idx.resize(left.nnz());
  history.val.resize(left.nnz());
  if (cross) {
    offsets(right, 1);
    offsets(seen, 2);
  }
  offsets(bought, 3);
  if (timed) {
    ev.ptr.resize(users + 1);
    for (std::size_t u = 0; u < users; ++u) ev.ptr[u + 1] = ev.ptr[u] + len[u][4];
    const auto ne = static_cast<std::size_t>(ev.ptr[users]);
    ev.item.resize(ne);
    ev.time.resize(ne);
    ev.side.resize(ne);
    ev.row.resize(ne);
  }
  pu.chunk = 256;
  parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64) {
    const auto u = static_cast<std::size_t>(u64);
    const auto at = static_cast<std::size_t>(start[u]);
    auto copy = [&](const index_t* idx, const float* val, detail::incidence& x, std::size_t kind) {
      const auto to = static_cast<std::size_t>(x.ptr[u]);
      const auto m = static_cast<std::size_t>(len[u][kind]);
      std::copy_n(idx + at, m, x.idx.begin() + static_cast<std::ptrdiff_t>(to));
      if (val)
        std::copy_n(val + at, m, x.val.begin() + static_cast<std::ptrdiff_t>(to));
      else
        std::fill_n(x.val.begin() + static_cast<std::ptrdiff_t>(to), m, 1.0f);
    };
    copy(w_left_idx.data(), w_left_val.data(), left, 0);
    copy(w_left_idx.data(), recency ? w_hist_val.data() : nullptr, history, 0);
    if (cross) {
      copy(w_right_idx.data(), w_right_val.data(), right, 1);
      copy(w_seen_idx.data(), nullptr, seen, 2);
    }
    if (any_bought) copy(w_bought_idx.data(), nullptr, bought, 3);
    if (timed) {
      const auto to = static_cast<std::size_t>(ev.ptr[u]);
      const auto m = static_cast<std::size_t>(len[u][4]);
      std::copy_n(w_ev_item.data() + at, m, ev.item.begin() + static_cast<std::ptrdiff_t>(to));
      std::copy_n(w_ev_time.data() + at, m, ev.time.begin() + static_cast<std::ptrdiff_t>(to));
      std::copy_n(w_ev_side.data() + at, m, ev.side.begin() + static_cast<std::ptrdiff_t>(to));
      std::fill_n(ev.row.begin() + static_cast<std::ptrdiff_t>(to), m, static_cast<std::int32_t>(u));
    }
  });
  fitted_state s;
  s.num_items = items;
  s.num_users = log.num_users();
  s.history = std::move(history);
  if (cross) s.seen = std::move(seen);
  s.bought = std::move(bought);
  s.has_bought_types = !config_.exclude_event_types.empty();
  mine(std::move(left), std::move(right), cross, std::move(ev), timed, s, job, t0);
}

template <class T>
void basic_item_to_item<T>::require_no_log_settings(const char* where, bool has_timestamps) const {
  RECSYS_REQUIRE(
      config_.event_types.empty() && config_.cross_event_types.empty() && config_.exclude_event_types.empty(), where,
      "event_types / cross_event_types / exclude_event_types need an interaction_log");
  RECSYS_REQUIRE(config_.recency_half_life == 0.0, where, "recency_half_life needs an interaction_log (got ",
                 config_.recency_half_life, ")");
  RECSYS_REQUIRE(has_timestamps || (config_.time_window == 0 && !config_.forward_only), where,
                 "time_window / forward_only need timestamps: fit an interaction_log or session_data");
}

template <class T>
void basic_item_to_item<T>::require_rows_fit(const char* where, std::size_t rows) {
  RECSYS_REQUIRE(rows < static_cast<std::size_t>(std::numeric_limits<index_t>::max()), where,
                 "more than 2^31-1 transactions (", rows, ")");
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_FIT_INL_HPP
