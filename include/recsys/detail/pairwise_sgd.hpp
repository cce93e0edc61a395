// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PAIRWISE_SGD_HPP
#define RECSYS_DETAIL_PAIRWISE_SGD_HPP

/// @file
/// Internal: the SGD engine behind recsys::bpr_model and recsys::warp_model (models/bpr.hpp).
/// Do not include directly; the public contract is in models/bpr.hpp (whose definitions,
/// models/bpr-inl.hpp, include this file).
///
/// Two files: detail/pairwise_kernels.hpp (settings, per-sample updates, negative sampling,
/// the loop over a run of pairs) and detail/pairwise_engine.hpp (the schedules below, the
/// training-matrix check, fold-in).
///
/// Two schedules run the same per-sample kernels:
///
/// - deterministic (default): a stratified schedule (Gemulla et al., "Large-scale matrix
///   factorization with distributed SGD", 2011). Every epoch draws a random partition of users
///   into S blocks and of items into S blocks; the interactions fall into S x S strata. An epoch
///   is S sub-epochs; in sub-epoch s the S strata (g, (g + shift_s) mod S) touch pairwise
///   disjoint users and items, so they run in parallel without any write conflict. A positive of
///   stratum (g, h) is contrasted with negatives drawn from item block h, so a stratum never
///   touches an item row outside its block. A stratum visits its interactions user by user, the
///   users in the epoch's random order (a user has about 1/S of its items in a stratum, so its
///   runs are short, and its factor row and positives stay in cache across the run). Each
///   stratum draws from its own random stream (seed, epoch, g, h). The sub-epochs are not
///   separated by barriers: a stratum task waits only for the previous tasks on its user block
///   and its item block (a task graph). Nothing depends on the thread count or on timing: the
///   factors are bitwise identical for any number of threads.
/// - hogwild: every interaction once per epoch, user by user in a random user order, cut into
///   chunks of users (each chunk with its own stream) that threads take in any order; negatives
///   from the whole catalogue; lock-free updates of the shared item factors. Not reproducible.

#include <recsys/detail/pairwise_engine.hpp>
#include <recsys/detail/pairwise_kernels.hpp>

#endif  // RECSYS_DETAIL_PAIRWISE_SGD_HPP
