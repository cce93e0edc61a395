// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_PROGRESS_HPP
#define RECSYS_PROGRESS_HPP

/// @file
/// Progress reporting and cancellation for every long job (fit, evaluate, mine, batch, AutoML).
///
/// A job receives a recsys::job_control: an optional callback that gets a progress_event at
/// most every `report_interval` seconds (and always at the start and end of each stage), and a
/// cancellation_token. The job checks the token between units of work (rows, batches, users)
/// and throws recsys::cancelled when it is set; each component documents which consistent
/// state it leaves behind (for iterative models: the factors of the last completed iteration).
///
/// @code
///   recsys::cancellation_token stop;
///   recsys::job_control job;
///   job.cancel = stop;
///   job.progress = [](const recsys::progress_event& e) {
///     std::fprintf(stderr, "%s %lld/%lld loss=%g\n", e.stage.c_str(),
///                  (long long)e.done, (long long)e.total, e.metric);
///   };
///   model.fit(matrix, job);           // another thread may call stop.cancel()
/// @endcode

#include <recsys/errors.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace recsys {

/// One progress report.
struct progress_event {
  std::string stage;         ///< e.g. "als: fit", "evaluate"
  std::int64_t done = 0;     ///< units finished in this stage
  std::int64_t total = 0;    ///< units in this stage (0 when unknown)
  double elapsed_seconds = 0;///< since the stage started
  double eta_seconds = std::numeric_limits<double>::quiet_NaN();  ///< NaN when unknown
  std::string metric_name;   ///< e.g. "loss", "auc"; empty when there is none yet
  double metric = std::numeric_limits<double>::quiet_NaN();       ///< its latest value
  std::int64_t step = 0;     ///< outer step (iteration, epoch), 0-based; 0 for single-pass jobs
  std::int64_t steps = 0;    ///< outer steps in the job, 0 when not iterative

  /// done / total in [0, 1], or NaN when total is unknown.
  [[nodiscard]] double fraction() const noexcept {
    return total > 0 ? static_cast<double>(done) / static_cast<double>(total)
                     : std::numeric_limits<double>::quiet_NaN();
  }
};

/// Receives progress. Never called concurrently with itself for one job; it may be called
/// from a worker thread. It must not throw (an exception is swallowed after the first call
/// fails, which turns reporting off for the rest of the job).
using progress_callback = std::function<void(const progress_event&)>;

/// A shared flag that asks a job to stop. Copies share the flag; cancel() is thread-safe.
class cancellation_token {
 public:
  cancellation_token() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const noexcept { flag_->store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool is_cancelled() const noexcept { return flag_->load(std::memory_order_relaxed); }
  /// Clears the flag so the token can be reused for another job.
  void reset() const noexcept { flag_->store(false, std::memory_order_relaxed); }
  /// Throws recsys::cancelled if the flag is set.
  void throw_if_cancelled() const {
    if (is_cancelled()) throw cancelled();
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

/// What a caller passes to a long job: where progress goes and how to stop it.
struct job_control {
  progress_callback progress;       ///< empty: no reports
  cancellation_token cancel;        ///< never cancelled unless the caller keeps a copy
  double report_interval = 0.25;    ///< seconds between reports within a stage
};

/// Used inside jobs: one stage of work with a known number of units. Thread-safe: workers call
/// advance(); reports are throttled and serialised; cancellation is checked on every call.
/// An iterative fit is one stage over all its iterations (total = the units of every
/// iteration, steps = the iteration count, set_step() as it moves on), so a display shows one
/// bar per fit whose fraction and time left are those of the whole fit.
class progress_reporter {
 public:
  progress_reporter(const job_control& job, std::string stage, std::int64_t total,
                    std::int64_t step = 0, std::int64_t steps = 0)
      : job_(&job), total_(total), start_(clock::now()) {
    event_.stage = std::move(stage);
    event_.total = total;
    event_.step = step;
    event_.steps = steps;
    job.cancel.throw_if_cancelled();
    emit(0, true);
  }
  progress_reporter(const progress_reporter&) = delete;
  progress_reporter& operator=(const progress_reporter&) = delete;

  /// Marks `n` more units done; may report; throws recsys::cancelled if the job was cancelled.
  void advance(std::int64_t n = 1) {
    const std::int64_t done = done_.fetch_add(n, std::memory_order_relaxed) + n;
    job_->cancel.throw_if_cancelled();
    if (job_->progress) emit(done, false);
  }

  /// Throws recsys::cancelled if the job was cancelled (for loops that report rarely).
  void check() const { job_->cancel.throw_if_cancelled(); }

  /// Sets the metric carried by later reports (e.g. the running loss).
  void set_metric(std::string name, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    event_.metric_name = std::move(name);
    event_.metric = value;
  }

  /// Moves the stage to outer step `step` (iteration, epoch) of an iterative job whose stage
  /// spans all its steps: later reports carry it.
  void set_step(std::int64_t step) {
    std::lock_guard<std::mutex> lock(mutex_);
    event_.step = step;
  }

  /// Reports now, regardless of throttling (e.g. after set_metric at the end of an epoch).
  void report() { emit(done_.load(std::memory_order_relaxed), true); }

  /// Reports the stage as complete (done = total) regardless of throttling.
  void finish() { emit(total_ > 0 ? total_ : done_.load(std::memory_order_relaxed), true); }

  [[nodiscard]] double elapsed_seconds() const noexcept {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }

 private:
  using clock = std::chrono::steady_clock;

  void emit(std::int64_t done, bool force) {
    if (!job_->progress || broken_.load(std::memory_order_relaxed)) return;
    const double now = elapsed_seconds();
    if (!force && now - last_report_.load(std::memory_order_relaxed) < job_->report_interval) return;
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (force) lock.lock();
    else if (!lock.try_lock()) return;  // another thread is reporting
    last_report_.store(now, std::memory_order_relaxed);
    event_.done = done;
    event_.elapsed_seconds = now;
    event_.eta_seconds = (total_ > 0 && done > 0 && done <= total_)
                             ? now * static_cast<double>(total_ - done) / static_cast<double>(done)
                             : std::numeric_limits<double>::quiet_NaN();
    try {
      job_->progress(event_);
    } catch (...) {
      broken_.store(true, std::memory_order_relaxed);
    }
  }

  const job_control* job_;
  std::int64_t total_;
  clock::time_point start_;
  std::atomic<std::int64_t> done_{0};
  std::atomic<double> last_report_{0.0};
  std::atomic<bool> broken_{false};
  std::mutex mutex_;
  progress_event event_;
};

}  // namespace recsys

#endif  // RECSYS_PROGRESS_HPP
