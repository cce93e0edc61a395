// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_THREAD_TUNER_HPP
#define RECSYS_DETAIL_SESSION_GRU_THREAD_TUNER_HPP

/// @file
/// Internal: the thread count of each training mini-batch of the session GRU (gru_thread_tuner).

#include <algorithm>
#include <cstdint>

namespace recsys::detail {

/// Chooses, per mini-batch, between the configured thread count and one thread. A training step
/// is short (about a millisecond) and synchronises its threads a few times; on a machine whose
/// cores are busy with other work those synchronisations can cost far more than the parallel
/// blocks save. Periodically the tuner times `probe` mini-batches on one thread, then up to
/// `probe` on all threads (stopping as soon as they have taken longer than the single-thread
/// ones), and keeps the faster; when one thread wins, the next probe comes twice as late (up
/// to max_period mini-batches). Results never depend on the choice: every parallel phase works
/// on fixed blocks combined in a fixed order.
template <class = void>
class basic_gru_thread_tuner {
 public:
  explicit basic_gru_thread_tuner(int max_threads, std::int64_t probe = 8, std::int64_t period = 256,
                            std::int64_t max_period = 8192)
      : max_(max_threads), probe_(probe), period_(period), max_period_(max_period), chosen_(max_threads) {}

  /// Threads for the next mini-batch.
  [[nodiscard]] int next() const noexcept {
    if (max_ <= 1) return 1;
    if (pos_ < probe_) return 1;
    if (pos_ < 2 * probe_) return max_;
    return chosen_;
  }
  /// Records the wall time of the mini-batch that ran with next()'s choice.
  void record(double seconds) noexcept {
    if (max_ <= 1) return;
    if (pos_ < probe_) {
      single_ += seconds;
    } else if (pos_ < 2 * probe_) {
      multi_ += seconds;
      const std::int64_t done = pos_ - probe_ + 1;
      if (multi_ > single_ || done == probe_) {  // decided
        const bool multi_wins = done == probe_ && multi_ <= single_;
        chosen_ = multi_wins ? max_ : 1;
        if (!multi_wins) period_ = std::min(max_period_, 2 * period_);
        multi_ = single_ = 0;
        pos_ = 2 * probe_;  // run the choice for the rest of the period
      }
    }
    if (++pos_ >= period_) pos_ = 0;
  }
  [[nodiscard]] int chosen() const noexcept { return chosen_; }

 private:
  int max_;
  std::int64_t probe_, period_, max_period_;
  int chosen_;
  std::int64_t pos_ = 0;
  double multi_ = 0, single_ = 0;
};

/// The tuner (a template only so that its code is compiled where it is used; see config.hpp).
using gru_thread_tuner = basic_gru_thread_tuner<>;

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_THREAD_TUNER_HPP
