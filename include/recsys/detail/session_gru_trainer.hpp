// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP
#define RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP

/// @file
/// Internal: GRU4Rec-style training of the session GRU, everything session_gru::fit uses (its
/// definition, models/session_gru_fit-inl.hpp, includes this file; the model's queries do not).
/// One concern per file:
///
/// - session_gru_batching.hpp: gru_row_walker, session-parallel mini-batches.
/// - session_gru_sampling.hpp: gru_negative_sampler, the n_sample shared negatives per mini-batch.
/// - session_gru_thread_tuner.hpp: gru_thread_tuner, the thread count of each mini-batch.
/// - session_gru_optimizers.hpp: Adagrad with momentum and Adam, row by row.
/// - session_gru_train_step.hpp: gru_trainer, one mini-batch step (forward, backward, update),
///   with its output layer and losses in session_gru_loss.hpp.
/// - session_gru_eval_rows.hpp: gru_eval_rows, evaluation-mode rows (the HRNN users' final
///   states after training; also the batch evaluation).

#include <recsys/detail/session_gru_batching.hpp>
#include <recsys/detail/session_gru_eval_rows.hpp>
#include <recsys/detail/session_gru_kernels.hpp>
#include <recsys/detail/session_gru_loss.hpp>
#include <recsys/detail/session_gru_network.hpp>
#include <recsys/detail/session_gru_optimizers.hpp>
#include <recsys/detail/session_gru_sampling.hpp>
#include <recsys/detail/session_gru_thread_tuner.hpp>
#include <recsys/detail/session_gru_train_step.hpp>

#endif  // RECSYS_DETAIL_SESSION_GRU_TRAINER_HPP
