// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PLATFORM_HPP
#define RECSYS_DETAIL_PLATFORM_HPP

/// @file
/// Internal: compiler hints shared by the hot loops.

namespace recsys::detail {

// Software prefetch hints. On x86 with GCC/Clang they are inline asm: GCC 12 at -O3 deletes
// __builtin_prefetch calls from some inlined helpers (it treats them as free of side effects),
// which silently removed prefetching from hot loops. The asm operand is never dereferenced, so
// prefetching past the end of an array is harmless.

/// Prefetch for reading into all cache levels (no effect where the compiler has no hint).
inline void prefetch(const void* p) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

/// Prefetch for writing (prefetchw where the CPU has it, else a read prefetch).
inline void prefetch_write(const void* p) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && defined(__PRFCHW__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  prefetch(p);
#endif
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PLATFORM_HPP
