// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_PARALLEL_HPP
#define RECSYS_PARALLEL_HPP

/// @file
/// The one place where recsys starts threads.
///
/// - Backend: OpenMP when the translation unit is compiled with it (CMake option
///   RECSYS_USE_OPENMP, on by default); otherwise std::thread; RECSYS_SERIAL forces serial.
/// - Every call takes an explicit thread count (0 = the default: omp_get_max_threads() or
///   std::thread::hardware_concurrency()).
/// - Loops shorter than `min_parallel` iterations run serially (no thread start-up for small work).
/// - No nesting: a parallel_for called from inside another runs serially on the calling thread.
/// - An exception thrown by the body (recsys::cancelled included) stops the loop and is
///   rethrown on the calling thread.
/// - parallel_reduce combines fixed-size blocks in block order, so its result is bitwise
///   identical for any thread count.

#include <recsys/errors.hpp>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(_OPENMP) && !defined(RECSYS_SERIAL)
#include <omp.h>
#define RECSYS_PARALLEL_OPENMP 1
#elif !defined(RECSYS_SERIAL)
#define RECSYS_PARALLEL_STD_THREAD 1
#endif

namespace recsys {

/// How a loop is spread over threads.
struct parallel_options {
  /// Number of threads; 0 means default_threads().
  int num_threads = 0;
  /// Iterations handed to a thread at a time (dynamic scheduling, good for skewed work).
  std::int64_t chunk = 1;
  /// Loops with fewer iterations than this run serially.
  std::int64_t min_parallel = 2;
};

namespace detail {
inline bool& parallel_region_flag() noexcept {
  thread_local bool inside = false;
  return inside;
}
struct region_guard {
  bool previous;
  region_guard() noexcept : previous(parallel_region_flag()) { parallel_region_flag() = true; }
  ~region_guard() { parallel_region_flag() = previous; }
  region_guard(const region_guard&) = delete;
  region_guard& operator=(const region_guard&) = delete;
};

/// Keeps the first exception thrown by any worker; later ones are dropped.
class exception_slot {
 public:
  void capture() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_.store(true, std::memory_order_relaxed);
  }
  [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

template <class F>
void invoke_body(F& f, std::int64_t i, int tid) {
  if constexpr (std::invocable<F&, std::int64_t, int>)
    f(i, tid);
  else
    f(i);
}
}  // namespace detail

/// True on a thread that is currently running the body of a recsys parallel loop.
[[nodiscard]] inline bool in_parallel_region() noexcept { return detail::parallel_region_flag(); }

/// The thread count used when 0 is requested.
[[nodiscard]] inline int default_threads() noexcept {
#if defined(RECSYS_PARALLEL_OPENMP)
  return std::max(1, omp_get_max_threads());
#elif defined(RECSYS_PARALLEL_STD_THREAD)
  return std::max(1u, std::thread::hardware_concurrency());
#else
  return 1;
#endif
}

/// The number of threads a loop with these options will use at most, i.e. how many per-thread
/// scratch slots to allocate (thread ids passed to the body are in [0, max_threads(opts))).
/// @throws recsys::invalid_argument if num_threads < 0.
[[nodiscard]] inline int max_threads(const parallel_options& opts) {
  RECSYS_REQUIRE(opts.num_threads >= 0, "parallel_for", "num_threads must be >= 0 (got ",
                 opts.num_threads, ")");
#if defined(RECSYS_SERIAL)
  return 1;
#else
  if (in_parallel_region()) return 1;
  return opts.num_threads == 0 ? default_threads() : opts.num_threads;
#endif
}

/// Runs f(i) or f(i, thread_id) for every i in [begin, end). See the file comment for the rules.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, const parallel_options& opts, F&& f) {
  if (end <= begin) return;
  const std::int64_t n = end - begin;
  const int threads = static_cast<int>(std::min<std::int64_t>(max_threads(opts), n));
  const std::int64_t chunk = std::max<std::int64_t>(1, opts.chunk);
  if (threads <= 1 || n < opts.min_parallel) {
    for (std::int64_t i = begin; i < end; ++i) detail::invoke_body(f, i, 0);
    return;
  }
  detail::exception_slot slot;
#if defined(RECSYS_PARALLEL_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    detail::region_guard guard;
    const int tid = omp_get_thread_num();
#pragma omp for schedule(dynamic, chunk)
    for (std::int64_t i = begin; i < end; ++i) {
      if (slot.failed()) continue;
      try {
        detail::invoke_body(f, i, tid);
      } catch (...) {
        slot.capture();
      }
    }
  }
#else
  std::atomic<std::int64_t> next{begin};
  auto worker = [&](int tid) {
    detail::region_guard guard;
    for (;;) {
      if (slot.failed()) return;
      const std::int64_t lo = next.fetch_add(chunk, std::memory_order_relaxed);
      if (lo >= end) return;
      const std::int64_t hi = std::min(end, lo + chunk);
      try {
        for (std::int64_t i = lo; i < hi; ++i) detail::invoke_body(f, i, tid);
      } catch (...) {
        slot.capture();
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  try {
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  } catch (...) {
    slot.capture();  // could not start a thread: the started ones and this one finish the loop
  }
  worker(0);
  for (auto& th : pool) th.join();
#endif
  slot.rethrow();
}

/// Shorthand: parallel_for over [0, n) with a thread count.
template <class F>
void parallel_for(std::int64_t n, int num_threads, F&& f) {
  parallel_for(0, n, parallel_options{num_threads}, std::forward<F>(f));
}

/// Deterministic reduction. [begin, end) is cut into blocks of `block_size` iterations (a size
/// that must not depend on the thread count); `map(lo, hi)` returns the block's partial value;
/// partials are folded left to right with `combine`, starting from `init`. The result is
/// bitwise identical for any thread count.
template <class T, class Map, class Combine>
T parallel_reduce(std::int64_t begin, std::int64_t end, std::int64_t block_size,
                  const parallel_options& opts, T init, Map&& map, Combine&& combine) {
  RECSYS_REQUIRE(block_size > 0, "parallel_reduce", "block_size must be > 0 (got ", block_size, ")");
  if (end <= begin) return init;
  const std::int64_t blocks = (end - begin + block_size - 1) / block_size;
  std::vector<T> partial(static_cast<std::size_t>(blocks), init);
  parallel_options o = opts;
  o.chunk = 1;
  o.min_parallel = std::max<std::int64_t>(2, (opts.min_parallel + block_size - 1) / block_size);
  parallel_for(0, blocks, o, [&](std::int64_t b) {
    const std::int64_t lo = begin + b * block_size;
    partial[static_cast<std::size_t>(b)] = map(lo, std::min(end, lo + block_size));
  });
  T acc = std::move(init);
  for (auto& p : partial) acc = combine(std::move(acc), std::move(p));
  return acc;
}

}  // namespace recsys

#endif  // RECSYS_PARALLEL_HPP
