// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_FUZZ_SUPPORT_HPP
#define RECSYS_FUZZ_SUPPORT_HPP

/// @file
/// Shared by the fuzz targets in fuzz/. Each target defines LLVMFuzzerTestOneInput, which
/// libFuzzer drives (fuzz builds, Clang) and replay_main.cpp drives from stored files (any
/// compiler, registered as ctest tests).
///
/// Contract checked by every target: a parser either returns a result that satisfies the
/// documented invariants, or throws a recsys::error (io_error / invalid_argument). Any other
/// exception escapes LLVMFuzzerTestOneInput (libFuzzer reports it as a crash; the replay test
/// fails), and a broken invariant aborts through RECSYS_FUZZ_CHECK.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define RECSYS_FUZZ_CHECK(cond)                                                                    \
  do {                                                                                              \
    if (!(cond)) {                                                                                  \
      std::fprintf(stderr, "recsys fuzz: invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (0)

namespace recsys::fuzz {

/// The input split into one option byte (which the targets decode into reader options, so the
/// fuzzer explores options too) and the text. An empty input gives option 0 and empty text.
struct input {
  std::uint8_t option = 0;
  std::string_view text;
};

inline input split(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  return {data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1)};
}

}  // namespace recsys::fuzz

#endif  // RECSYS_FUZZ_SUPPORT_HPP
