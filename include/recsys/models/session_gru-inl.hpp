// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_INL_HPP
#define RECSYS_MODELS_SESSION_GRU_INL_HPP

/// @file
/// Definitions of models/session_gru.hpp except fit (models/session_gru_fit-inl.hpp): the
/// real-time queries, the batch evaluation, the checks, save and load. Serving code: it uses the
/// network's kernels, the session-parallel walker and the evaluation rows, never the trainer.
/// (Header-only mode includes this file; the compiled library instantiates it in
/// src/session_gru.cpp.)

#include <recsys/models/session_gru.hpp>

#include <recsys/detail/select.hpp>
#include <recsys/ranking/candidates.hpp>
#include <recsys/detail/session_gru_batching.hpp>
#include <recsys/detail/session_gru_eval_rows.hpp>
#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

template <class T>
basic_session_gru<T>::basic_session_gru(session_gru_config config, session_gru_network network,
                                        std::vector<std::int64_t> item_support, row_matrix<score_t> user_states)
    : cfg_(std::move(config)) {
  cfg_.validate();
  check_network(network, static_cast<index_t>(item_support.size()));
  RECSYS_REQUIRE(!cfg_.hrnn || user_states.size() == 0 || user_states.cols() == network.user_hidden(),
                 "session_gru", "user_states has ", user_states.cols(), " columns, the user GRU has ",
                 network.user_hidden());
  const detail::gru_input want = cfg_.constrained_embedding ? detail::gru_input::constrained
                                 : cfg_.embedding > 0       ? detail::gru_input::embedding
                                                            : detail::gru_input::one_hot;
  RECSYS_REQUIRE(network.input == want, "session_gru",
                 "the network's input kind does not match constrained_embedding / embedding of the configuration");
  RECSYS_REQUIRE(network.hrnn() == cfg_.hrnn, "session_gru", "the network ", network.hrnn() ? "has" : "has no",
                 " user GRU but hrnn = ", cfg_.hrnn);
  for (std::size_t i = 0; i < item_support.size(); ++i) {
    RECSYS_REQUIRE(item_support[i] >= 0, "session_gru", "item_support[", i, "] is negative");
    if (item_support[i] == 0) unknown_items_.push_back(static_cast<index_t>(i));
  }
  net_ = std::move(network);
  refresh_scoring_weights();
  support_ = std::move(item_support);
  user_states_ = std::move(user_states);
  fitted_ = true;
  ++version_;
}

template <class T>
typename basic_session_gru<T>::state_type basic_session_gru<T>::start_session(index_t user) const {
  require_fitted("start_session");
  state_type s;
  s.user_ = user;
  init_state(s, user >= 0 && user < num_users() ? user_states_.row(user).data() : nullptr);
  return s;
}

template <class T>
typename basic_session_gru<T>::state_type basic_session_gru<T>::start_session_from_user_state(std::span<const score_t> c,
                                                                                          index_t user) const {
  require_fitted("start_session_from_user_state");
  RECSYS_REQUIRE(net_.hrnn(), "session_gru::start_session_from_user_state", "the model has no user GRU (hrnn = false)");
  RECSYS_REQUIRE(static_cast<Eigen::Index>(c.size()) == net_.user_hidden(), "session_gru::start_session_from_user_state",
                 "user state has ", c.size(), " values, expected ", net_.user_hidden());
  state_type s;
  s.user_ = user;
  init_state(s, c.data());
  return s;
}

template <class T>
typename basic_session_gru<T>::state_type basic_session_gru<T>::next_session(const state_type& finished) const {
  check_state(finished, "next_session");
  if (!net_.hrnn() || finished.empty()) {
    if (!net_.hrnn()) return start_session(finished.user());
    return start_session_from_user_state(finished.user_state(), finished.user());
  }
  // Session representation = output of the last layer after the last event (the state's hidden).
  detail::gru_eval_workspace<score_t> ws;
  ws.reserve(net_, 1);
  detail::gru_matrix<score_t> c = finished.user_state_;
  detail::gru_layer_step_eval<score_t>(net_.user_gru, finished.hidden_.back(), c, ws, false);
  state_type s;
  s.user_ = finished.user();
  init_state(s, c.data());
  return s;
}

template <class T>
bool basic_session_gru<T>::put_event(state_type& s, index_t item) const {
  check_state(s, "put_event");
  if (!knows_item(item)) return false;
  const index_t it[1] = {item};
  detail::gru_step_eval<score_t>(net_, std::span<const index_t>(it, 1), s.hidden_, s.ws_);
  s.items_.push_back(item);
  return true;
}

template <class T>
std::size_t basic_session_gru<T>::put_events(state_type& s, std::span<const index_t> items) const {
  std::size_t used = 0;
  for (index_t i : items) used += put_event(s, i) ? 1 : 0;
  return used;
}

template <class T>
std::span<const score_t> basic_session_gru<T>::scores(state_type& s) const {
  check_state(s, "scores");
  compute_scores(s);
  return s.scores_;
}

template <class T>
topk_result basic_session_gru<T>::recommend(state_type& s, index_t k, const recommend_options& opts) const {
  topk_result out;
  recommend(s, k, opts, out);
  return out;
}

template <class T>
void basic_session_gru<T>::recommend(state_type& s, index_t k, const recommend_options& opts, topk_result& out) const {
  check_state(s, "recommend");
  RECSYS_REQUIRE(k >= 0, "session_gru::recommend", "k must be >= 0 (got ", k, ")");
  if (k == 0) {
    out.clear();
    return;
  }
  // The one query path (ranking/candidates.hpp): the allowed items, then the best k of them;
  // the mask, heap and scores live in the state, so a query allocates nothing once warm.
  detail::allowed_items_into(s.allowed_, num_items(), opts, s.items_);
  for (index_t i : unknown_items_) s.allowed_.set(i, false);  // never trained: never recommended
  if (!opts.include.empty()) {  // score only the included items
    const auto h = s.hidden_.back().row(0);
    detail::rank_items(
        s.allowed_, k, [&](index_t i) { return net_.output_weights.row(i).dot(h) + net_.output_bias(i); }, s.heap_,
        out);
  } else {
    compute_scores(s);
    detail::rank_dense(s.allowed_, s.scores_, k, s.heap_, out);
  }
}

template <class T>
topk_result basic_session_gru<T>::recommend_for_history(std::span<const index_t> items,
                                                      std::span<const score_t> weights, index_t k,
                                                      const recommend_options& opts) const {
  RECSYS_REQUIRE(weights.empty() || weights.size() == items.size(), "session_gru::recommend_for_history", "got ",
                 items.size(), " items but ", weights.size(), " weights");
  state_type s = start_session();
  put_events(s, items);
  return recommend(s, k, opts);
}

template <class T>
std::size_t basic_session_gru<T>::next_item_chunks(const session_data& test) const {
  require_fitted("next_item_chunks");
  const std::size_t groups = eval_groups(test).first.size() - 1;
  return (groups + eval_chunk_groups - 1) / eval_chunk_groups;
}

template <class T>
void basic_session_gru<T>::score_next_items(const session_data& test, std::size_t chunk,
                                            const next_item_sink& sink) const {
  require_fitted("score_next_items");
  detail::eigen_serial_scope serial;
  auto [goff, gses] = eval_groups(test);
  const std::size_t groups = goff.size() - 1;
  const std::size_t g0 = chunk * eval_chunk_groups;
  if (g0 >= groups) return;
  const std::size_t g1 = std::min(groups, g0 + eval_chunk_groups);
  const index_t n = num_items();
  const auto rows = static_cast<index_t>(std::clamp<std::int64_t>((std::int64_t{1} << 21) / std::max<index_t>(n, 1), 8,
                                                                   static_cast<std::int64_t>(eval_chunk_groups)));
  std::vector<index_t> group_user;
  if (net_.hrnn())
    for (std::size_t g = 0; g + 1 < goff.size(); ++g)
      group_user.push_back(test.users.empty() ? invalid_index : test.users[static_cast<std::size_t>(gses[static_cast<std::size_t>(goff[g])])]);
  detail::gru_row_walker walker(test, std::move(goff), std::move(gses), rows);
  detail::gru_eval_rows<score_t> ev(net_, rows);
  if (net_.hrnn())
    ev.initial_user = [&](std::int64_t g) -> const score_t* {
      const index_t u = group_user[static_cast<std::size_t>(g)];
      return u >= 0 && u < num_users() ? user_states_.row(u).data() : nullptr;
    };
  row_matrix<score_t> sc(rows, n);
  std::vector<index_t> inputs, targets;
  std::vector<std::uint8_t> first;
  std::vector<std::size_t> sessions, positions;
  const score_t nan = std::numeric_limits<score_t>::quiet_NaN();
  walker.begin(ev, g0, g1);
  while (walker.rows() > 0) {
    walker.fill(inputs, targets, first);
    walker.positions(sessions, positions);
    const auto B = static_cast<Eigen::Index>(inputs.size());
    ev.step(inputs);
    auto s = sc.topRows(B);
    s.noalias() = ev.hidden.back().topRows(B) * net_.output_weights.transpose();
    s.rowwise() += net_.output_bias.transpose();
    for (index_t i : unknown_items_) s.col(i).setConstant(nan);
    for (Eigen::Index b = 0; b < B; ++b) {
      const auto ub = static_cast<std::size_t>(b);
      sink(next_item_prediction{sessions[ub], positions[ub], targets[ub],
                                std::span<const score_t>(s.row(b).data(), static_cast<std::size_t>(n))});
    }
    walker.advance(ev);
  }
}

template <class T>
void basic_session_gru<T>::require_fitted(std::string_view what) const {
  RECSYS_REQUIRE(fitted_, std::string("session_gru::") + std::string(what), "the model is not fitted");
}

template <class T>
void basic_session_gru<T>::check_state(const state_type& s, std::string_view what) const {
  require_fitted(what);
  RECSYS_REQUIRE(s.owner_ == this && s.model_version_ == version_, std::string("session_gru::") + std::string(what),
                 "the session state was not started by this model (or the model was refitted since)");
}

template <class T>
void basic_session_gru<T>::check_network(const session_gru_network& n, index_t n_items) {
  constexpr std::string_view where = "session_gru";
  RECSYS_REQUIRE(!n.layers.empty(), where, "the network has no layers");
  RECSYS_REQUIRE(n.output_weights.rows() == n_items && n.output_bias.size() == n_items, where,
                 "output_weights / output_bias have ", n.output_weights.rows(), " / ", n.output_bias.size(),
                 " rows for ", n_items, " items");
  RECSYS_REQUIRE(n.output_weights.cols() == n.last_hidden(), where, "output_weights has ", n.output_weights.cols(),
                 " columns, the last layer has ", n.last_hidden());
  Eigen::Index in = 0;
  switch (n.input) {
    case detail::gru_input::constrained: in = n.last_hidden(); break;
    case detail::gru_input::embedding:
      RECSYS_REQUIRE(n.item_embedding.rows() == n_items && n.item_embedding.cols() > 0, where,
                     "item_embedding must be n_items × embedding");
      in = n.item_embedding.cols();
      break;
    case detail::gru_input::one_hot: in = n_items; break;
  }
  for (std::size_t l = 0; l < n.layers.size(); ++l) {
    const auto& w = n.layers[l];
    const Eigen::Index H = w.hidden();
    const Eigen::Index want_in = l == 0 ? in : n.layers[l - 1].hidden();
    RECSYS_REQUIRE(H > 0 && w.weight_hh.cols() == 3 * H && w.weight_ih.rows() == want_in && w.weight_ih.cols() == 3 * H &&
                       w.bias_ih.size() == 3 * H && w.bias_hh.size() == 3 * H,
                   where, "layer ", l, " has inconsistent shapes");
  }
  if (n.hrnn()) {
    const Eigen::Index U = n.user_hidden();
    RECSYS_REQUIRE(n.user_gru.weight_ih.rows() == n.last_hidden() && n.user_gru.weight_ih.cols() == 3 * U &&
                       n.user_gru.weight_hh.cols() == 3 * U && n.user_gru.bias_ih.size() == 3 * U &&
                       n.user_gru.bias_hh.size() == 3 * U && n.user_init_weights.size() == n.layers.size() &&
                       n.user_init_bias.size() == n.layers.size(),
                   where, "the user GRU has inconsistent shapes");
    for (std::size_t l = 0; l < n.layers.size(); ++l)
      RECSYS_REQUIRE(n.user_init_weights[l].rows() == U && n.user_init_weights[l].cols() == n.layers[l].hidden() &&
                         n.user_init_bias[l].size() == n.layers[l].hidden(),
                     where, "user_init ", l, " has inconsistent shapes");
  }
}

template <class T>
void basic_session_gru<T>::init_state(state_type& s, const score_t* c) const {
  s.owner_ = this;
  s.model_version_ = version_;
  s.hidden_.resize(net_.layers.size());
  for (std::size_t l = 0; l < net_.layers.size(); ++l) s.hidden_[l].setZero(1, net_.layers[l].hidden());
  if (net_.hrnn()) {
    s.user_state_.setZero(1, net_.user_hidden());
    if (c) s.user_state_.row(0) = Eigen::Map<const detail::gru_row<score_t>>(c, net_.user_hidden());
    detail::gru_init_from_user<score_t>(net_, s.user_state_, s.hidden_);
  }
  s.ws_.reserve(net_, 1);
  s.scores_.resize(static_cast<std::size_t>(num_items()));
}

template <class T>
void basic_session_gru<T>::compute_scores(state_type& s) const {
  Eigen::Map<detail::gru_col<score_t>> sc(s.scores_.data(), num_items());
  sc.noalias() = scoring_weights_ * s.hidden_.back().row(0).transpose();
  sc += net_.output_bias;
  const score_t nan = std::numeric_limits<score_t>::quiet_NaN();
  for (index_t i : unknown_items_) s.scores_[static_cast<std::size_t>(i)] = nan;
}

template <class T>
std::pair<std::vector<std::int64_t>, std::vector<index_t>> basic_session_gru<T>::eval_groups(const session_data& d) const {
  return make_groups(d, net_.hrnn(), false);
}

template <class T>
std::pair<std::vector<std::int64_t>, std::vector<index_t>> basic_session_gru<T>::make_groups(const session_data& d,
                                                                                         bool by_user,
                                                                                         bool only_trainable) {
  std::vector<std::int64_t> off{0};
  std::vector<index_t> ses;
  if (!by_user) {
    for (std::size_t s = 0; s < d.size(); ++s) {
      if (only_trainable && d.length(s) < 2) continue;
      if (d.length(s) == 0) continue;
      ses.push_back(static_cast<index_t>(s));
      off.push_back(static_cast<std::int64_t>(ses.size()));
    }
    return {std::move(off), std::move(ses)};
  }
  // Users in order of first session; counting sort keeps each user's sessions in time order.
  index_t max_user = -1;
  for (std::size_t s = 0; s < d.size(); ++s)
    if (s < d.users.size()) max_user = std::max(max_user, d.users[s]);
  std::vector<std::int64_t> group_of_user(static_cast<std::size_t>(max_user + 1), -1);
  std::vector<std::int64_t> group_of_session(d.size(), -1);
  std::int64_t groups = 0;
  for (std::size_t s = 0; s < d.size(); ++s) {
    if (d.length(s) == 0) continue;
    const index_t u = s < d.users.size() ? d.users[s] : invalid_index;
    if (u < 0) {
      group_of_session[s] = groups++;
    } else {
      auto& g = group_of_user[static_cast<std::size_t>(u)];
      if (g < 0) g = groups++;
      group_of_session[s] = g;
    }
  }
  std::vector<std::int64_t> counts(static_cast<std::size_t>(groups) + 1, 0);
  for (std::size_t s = 0; s < d.size(); ++s)
    if (group_of_session[s] >= 0) ++counts[static_cast<std::size_t>(group_of_session[s]) + 1];
  for (std::size_t g = 1; g < counts.size(); ++g) counts[g] += counts[g - 1];
  off = counts;
  ses.assign(static_cast<std::size_t>(off.back()), 0);
  for (std::size_t s = 0; s < d.size(); ++s)
    if (group_of_session[s] >= 0) ses[static_cast<std::size_t>(counts[static_cast<std::size_t>(group_of_session[s])]++)] = static_cast<index_t>(s);
  return {std::move(off), std::move(ses)};
}

template <class T>
void basic_session_gru<T>::refresh_scoring_weights() {
  scoring_weights_ = net_.output_weights;
}

template <class T>
void basic_session_gru<T>::save(model_writer& w) const {
  require_fitted("save");
  w.set_params(params(cfg_));
  visit_arrays([&](const std::string& name, Eigen::Index rows, Eigen::Index cols, const score_t* data) {
    const std::int64_t shape[2] = {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols)};
    w.add_array<score_t>(name, data, shape);
  });
  w.add_vector("item_support", support_);
}

template <class T>
basic_session_gru<T> basic_session_gru<T>::load(const model_reader& r) {
  const std::string manifest = (r.directory() / "manifest.json").string();
  session_gru_config cfg;
  try {
    for (const auto& kv : r.params()) set_param(cfg, kv.first, kv.second);
    cfg.validate();
  } catch (const invalid_argument& e) {
    throw io_error(manifest, std::string("bad hyperparameters: ") + e.what());
  }
  std::vector<std::int64_t> support = r.vector<std::int64_t>("item_support");
  const auto n = static_cast<std::int64_t>(support.size());
  using mat = row_matrix<score_t>;
  auto row_of = [](const mat& m) { return detail::gru_row<score_t>(m.row(0)); };
  session_gru_network net;
  net.input = cfg.constrained_embedding ? detail::gru_input::constrained
              : cfg.embedding > 0       ? detail::gru_input::embedding
                                        : detail::gru_input::one_hot;
  const std::int64_t last = cfg.layers.back();
  net.output_weights = r.matrix<score_t>("output_weights", n, last);
  net.output_bias = r.matrix<score_t>("output_bias", n, 1).col(0);
  if (net.input == detail::gru_input::embedding) net.item_embedding = r.matrix<score_t>("item_embedding", n, cfg.embedding);
  std::int64_t in = net.input == detail::gru_input::constrained ? last
                    : net.input == detail::gru_input::embedding ? std::int64_t{cfg.embedding}
                                                                : n;
  for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
    const std::int64_t H = cfg.layers[l];
    const std::string p = "layer" + std::to_string(l) + "_";
    detail::gru_layer_weights<score_t> w;
    w.weight_ih = r.matrix<score_t>(p + "weight_ih", in, 3 * H);
    w.weight_hh = r.matrix<score_t>(p + "weight_hh", H, 3 * H);
    w.bias_ih = row_of(r.matrix<score_t>(p + "bias_ih", 1, 3 * H));
    w.bias_hh = row_of(r.matrix<score_t>(p + "bias_hh", 1, 3 * H));
    net.layers.push_back(std::move(w));
    in = H;
  }
  mat user_states;
  if (cfg.hrnn) {
    const std::int64_t U = cfg.user_hidden > 0 ? std::int64_t{cfg.user_hidden} : last;
    net.user_gru.weight_ih = r.matrix<score_t>("user_gru_weight_ih", last, 3 * U);
    net.user_gru.weight_hh = r.matrix<score_t>("user_gru_weight_hh", U, 3 * U);
    net.user_gru.bias_ih = row_of(r.matrix<score_t>("user_gru_bias_ih", 1, 3 * U));
    net.user_gru.bias_hh = row_of(r.matrix<score_t>("user_gru_bias_hh", 1, 3 * U));
    for (std::size_t l = 0; l < cfg.layers.size(); ++l) {
      const std::int64_t H = cfg.layers[l];
      net.user_init_weights.push_back(r.matrix<score_t>("user_init" + std::to_string(l) + "_weight", U, H));
      net.user_init_bias.push_back(row_of(r.matrix<score_t>("user_init" + std::to_string(l) + "_bias", 1, H)));
    }
    if (r.has("user_states")) user_states = r.matrix<score_t>("user_states", std::nullopt, U);
  }
  try {
    return basic_session_gru(std::move(cfg), std::move(net), std::move(support), std::move(user_states));
  } catch (const invalid_argument& e) {
    throw io_error(manifest, std::string("inconsistent model: ") + e.what());
  }
}

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_INL_HPP
