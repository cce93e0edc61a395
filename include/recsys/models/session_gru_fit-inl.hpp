// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_SESSION_GRU_FIT_INL_HPP
#define RECSYS_MODELS_SESSION_GRU_FIT_INL_HPP

/// @file
/// Definition of session_gru::fit (models/session_gru.hpp): GRU4Rec's training loop over the
/// trainer of detail/session_gru_trainer.hpp, and the HRNN users' final states. The only file of
/// the model that includes the trainer. (Header-only mode includes this file; the compiled
/// library instantiates fit for session_data in src/session_gru.cpp.)

#include <recsys/models/session_gru.hpp>

#include <recsys/detail/session_gru_trainer.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace recsys {

template <class T>
void basic_session_gru<T>::compute_user_states(const session_gru_network& net, const session_data& train,
                                               index_t n_users, int threads, row_matrix<score_t>& out) const {
  out.setZero(n_users, net.user_hidden());
  const auto groups_csr = make_groups(train, true, false);  // (no structured binding: captured below)
  const std::vector<std::int64_t>& goff = groups_csr.first;
  const std::vector<index_t>& gses = groups_csr.second;
  std::vector<index_t> group_user;
  for (std::size_t g = 0; g + 1 < goff.size(); ++g)
    group_user.push_back(train.users[static_cast<std::size_t>(gses[static_cast<std::size_t>(goff[g])])]);
  const std::size_t groups = group_user.size();
  const std::size_t chunks = (groups + eval_chunk_groups - 1) / eval_chunk_groups;
  parallel_for(0, static_cast<std::int64_t>(chunks), parallel_options{threads, 1, 2}, [&](std::int64_t c) {
    const std::size_t g0 = static_cast<std::size_t>(c) * eval_chunk_groups;
    const std::size_t g1 = std::min(groups, g0 + eval_chunk_groups);
    const auto rows = static_cast<index_t>(g1 - g0);
    detail::gru_row_walker walker(train, goff, gses, rows);
    detail::gru_eval_rows<score_t> ev(net, rows);
    ev.final_user = [&](std::int64_t g, const score_t* cu) {
      const index_t u = group_user[static_cast<std::size_t>(g)];
      if (u >= 0) out.row(u) = Eigen::Map<const detail::gru_row<score_t>>(cu, out.cols());
    };
    std::vector<index_t> inputs, targets;
    std::vector<std::uint8_t> first;
    walker.begin(ev, g0, g1);
    while (walker.rows() > 0) {
      walker.fill(inputs, targets, first);
      ev.step(inputs);
      walker.advance(ev);
    }
  });
}

template <class T>
template <class Sessions>
  requires std::same_as<Sessions, session_data>
void basic_session_gru<T>::fit(const Sessions& train, const job_control& job) {
  cfg_.validate();
  constexpr std::string_view where = "session_gru::fit";
  index_t n_items = train.num_items;
  index_t max_item = -1;
  for (std::size_t e = 0; e < train.items.size(); ++e) {
    const index_t i = train.items[e];
    RECSYS_REQUIRE(i >= 0, where, "event ", e, " has item index ", i);
    max_item = std::max(max_item, i);
  }
  if (n_items == 0) n_items = max_item + 1;
  RECSYS_REQUIRE(max_item < n_items, where, "item index ", max_item, " out of range [0, ", n_items, ")");
  RECSYS_REQUIRE(train.offsets.size() == train.size() + 1 && train.offsets.back() == static_cast<std::int64_t>(train.items.size()),
                 where, "session offsets do not match the events");
  std::vector<std::int64_t> support(static_cast<std::size_t>(n_items), 0);
  for (index_t i : train.items) ++support[static_cast<std::size_t>(i)];
  std::vector<double> support_d(support.begin(), support.end());

  index_t n_users = 0;
  if (cfg_.hrnn) {
    for (std::size_t s = 0; s < train.size() && s < train.users.size(); ++s) n_users = std::max(n_users, train.users[s] + 1);
    RECSYS_REQUIRE(n_users > 0, where, "hrnn = true needs sessions with users (every session has user -1)");
  }
  auto [goff, gses] = make_groups(train, cfg_.hrnn, !cfg_.hrnn);
  detail::gru_row_walker walker(train, std::move(goff), std::move(gses), cfg_.batch_size);
  const std::int64_t pairs = walker.pairs();
  RECSYS_REQUIRE(pairs > 0, where, "no session has 2 or more events: nothing to train on");

  const int threads = max_threads(parallel_options{cfg_.num_threads});
  detail::eigen_serial_scope serial;

  // Network, GRU4Rec-style initialisation.
  std::vector<Eigen::Index> sizes(cfg_.layers.begin(), cfg_.layers.end());
  const detail::gru_input input = cfg_.constrained_embedding ? detail::gru_input::constrained
                                  : cfg_.embedding > 0       ? detail::gru_input::embedding
                                                             : detail::gru_input::one_hot;
  const Eigen::Index user_hidden = cfg_.hrnn ? (cfg_.user_hidden > 0 ? cfg_.user_hidden : sizes.back()) : 0;
  session_gru_network work = session_gru_network::make(input, n_items, sizes, cfg_.embedding, user_hidden, cfg_.seed);

  detail::gru_train_options to;
  to.loss = cfg_.loss == session_gru_loss::cross_entropy ? detail::gru_loss::cross_entropy
            : cfg_.loss == session_gru_loss::bpr_max     ? detail::gru_loss::bpr_max
                                                         : detail::gru_loss::top1_max;
  to.optimizer = cfg_.optimizer == session_gru_optimizer::adagrad ? detail::gru_optimizer::adagrad : detail::gru_optimizer::adam;
  to.learning_rate = cfg_.learning_rate;
  to.momentum = cfg_.momentum;
  to.adagrad_epsilon = cfg_.adagrad_epsilon;
  to.adam_beta1 = cfg_.adam_beta1;
  to.adam_beta2 = cfg_.adam_beta2;
  to.adam_epsilon = cfg_.adam_epsilon;
  to.dropout_embed = cfg_.dropout_p_embed;
  to.dropout_hidden = cfg_.dropout_p_hidden;
  to.logq = cfg_.logq;
  to.sample_alpha = cfg_.sample_alpha;
  to.bpreg = cfg_.bpreg;
  to.elu_param = cfg_.elu_param;
  to.batch_size = cfg_.batch_size;
  to.n_sample = cfg_.n_sample;
  to.seed = cfg_.seed;
  to.num_threads = threads;
  detail::gru_trainer<score_t> trainer(work, to, support_d);
  detail::gru_negative_sampler sampler(support_d, cfg_.sample_alpha, cfg_.n_sample, cfg_.seed, threads);

  struct handler {
    detail::gru_trainer<score_t>* tr;
    void start(Eigen::Index row, std::int64_t, bool same, index_t prev_last) { tr->start_row(row, same, prev_last); }
    void group_end(Eigen::Index, std::int64_t, index_t) {}
    void compact(std::span<const Eigen::Index> keep) { tr->compact_rows(keep); }
  } h{&trainer};

  std::vector<index_t> inputs, targets;
  std::vector<std::uint8_t> first;
  std::vector<session_gru_epoch> log;
  detail::gru_thread_tuner tuner(threads);
  std::int64_t step = 0;
  bool committed = false;
  // One progress stage for the whole fit: every epoch's training pairs.
  progress_reporter progress(job, "session_gru: fit", static_cast<std::int64_t>(cfg_.n_epochs) * pairs, 0,
                             cfg_.n_epochs);
  for (index_t epoch = 0; epoch < cfg_.n_epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    progress.set_step(epoch);
    double loss_sum = 0;
    std::int64_t rows_sum = 0, batches = 0, parallel_batches = 0;
    walker.begin(h);
    while (walker.rows() > 0) {
      if (cfg_.n_sample == 0 && walker.rows() < 2) break;  // GRU4Rec: no negatives left for a lone row
      walker.fill(inputs, targets, first);
      const int step_threads = tuner.next();
      trainer.set_threads(step_threads);
      sampler.set_threads(step_threads);
      const auto ts = std::chrono::steady_clock::now();
      const double loss = trainer.forward_backward(inputs, targets, sampler.samples(step), first, step, true);
      if (!std::isfinite(loss))
        detail::throw_numerical_error(where, "the loss became ", loss, " in epoch ", epoch, ", mini-batch ", batches,
                                      "; lower learning_rate (now ", cfg_.learning_rate, ")",
                                      cfg_.loss == session_gru_loss::cross_entropy ? "" : " or bpreg");
      trainer.apply_update();
      tuner.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count());
      ++step;
      ++batches;
      parallel_batches += step_threads > 1 ? 1 : 0;
      loss_sum += loss * static_cast<double>(cfg_.batch_size);
      rows_sum += static_cast<std::int64_t>(inputs.size());
      if (batches % cfg_.progress_every == 0) progress.set_metric("loss", loss_sum / static_cast<double>(rows_sum));
      progress.advance(static_cast<std::int64_t>(inputs.size()));
      walker.advance(h);
    }
    session_gru_epoch e;
    e.loss = rows_sum ? loss_sum / static_cast<double>(rows_sum) : 0.0;
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.events = static_cast<std::int64_t>(train.num_events());
    e.predictions = rows_sum;
    e.batches = batches;
    e.parallel_batches = parallel_batches;
    log.push_back(e);
    progress.set_metric("loss", e.loss);
    progress.report();
    // Commit the completed epoch.
    if (!committed) {
      ++version_;
      committed = true;
    }
    net_ = work;
    refresh_scoring_weights();
    support_ = support;
    unknown_items_.clear();
    for (index_t i = 0; i < n_items; ++i)
      if (support[static_cast<std::size_t>(i)] == 0) unknown_items_.push_back(i);
    if (cfg_.hrnn)
      compute_user_states(net_, train, n_users, threads, user_states_);
    else
      user_states_.resize(0, 0);
    log_ = log;
    fitted_ = true;
    // The last rows of an epoch may form no mini-batch: count them done so that the stage's
    // total is reached (after the commit: a cancellation here keeps this epoch).
    if (rows_sum < pairs) progress.advance(pairs - rows_sum);
  }
  progress.finish();
}

}  // namespace recsys

#endif  // RECSYS_MODELS_SESSION_GRU_FIT_INL_HPP
