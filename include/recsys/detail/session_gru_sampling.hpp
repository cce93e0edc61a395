// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_SAMPLING_HPP
#define RECSYS_DETAIL_SESSION_GRU_SAMPLING_HPP

/// @file
/// Internal: the shared negatives of the session GRU's training (gru_negative_sampler): n_sample
/// negatives per mini-batch, drawn with probability ∝ support^sample_alpha (alias method),
/// precomputed in buffers of many mini-batches, one random stream per mini-batch (thread-count
/// independent).

#include <recsys/parallel.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace recsys::detail {

/// n_sample negatives per mini-batch ∝ support^alpha; mini-batch t draws from its own stream
/// (seed, "session_gru.negatives", t), and buffers of `buffer_steps` mini-batches are filled in
/// parallel.
template <class = void>
class basic_gru_negative_sampler {
 public:
  basic_gru_negative_sampler() = default;
  basic_gru_negative_sampler(std::span<const double> support, double alpha, index_t n_sample, std::uint64_t seed,
                       int num_threads, std::int64_t buffer_steps = 64)
      : n_sample_(n_sample), seed_(seed), threads_(num_threads), buffer_steps_(buffer_steps) {
    if (n_sample_ <= 0) return;
    std::vector<double> w(support.size());
    for (std::size_t i = 0; i < support.size(); ++i) w[i] = support[i] > 0 ? std::pow(support[i], alpha) : 0.0;
    table_ = alias_table(w);
    buffer_.resize(static_cast<std::size_t>(n_sample_ * buffer_steps_));
  }

  /// The negatives of mini-batch `step` (steps are requested in increasing order).
  std::span<const index_t> samples(std::int64_t step) {
    if (n_sample_ <= 0) return {};
    if (step < first_ || step >= first_ + buffer_steps_) refill(step);
    return {buffer_.data() + (step - first_) * n_sample_, static_cast<std::size_t>(n_sample_)};
  }

  /// Threads for later refills (the draws do not depend on it).
  void set_threads(int n) noexcept { threads_ = n; }

  /// The draws of one mini-batch, computed directly (what samples(step) returns).
  void draw(std::int64_t step, index_t* out) const {
    rng r(seed_, stream_tag("session_gru.negatives"), static_cast<std::uint64_t>(step));
    for (index_t j = 0; j < n_sample_; ++j) out[j] = static_cast<index_t>(table_(r));
  }

 private:
  void refill(std::int64_t step) {
    first_ = step;
    parallel_for(0, buffer_steps_, parallel_options{threads_, 1, 2},
                 [&](std::int64_t t) { draw(first_ + t, buffer_.data() + t * n_sample_); });
  }

  alias_table table_;
  index_t n_sample_ = 0;
  std::uint64_t seed_ = 0;
  int threads_ = 1;
  std::int64_t buffer_steps_ = 64;
  std::int64_t first_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::vector<index_t> buffer_;
};

/// The sampler (a template only so that its code is compiled where it is used; see config.hpp).
using gru_negative_sampler = basic_gru_negative_sampler<>;

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_SAMPLING_HPP
