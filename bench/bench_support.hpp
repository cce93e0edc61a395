// SPDX-License-Identifier: Apache-2.0
// Shared by the benchmark programs.
#ifndef RECSYS_BENCH_SUPPORT_HPP
#define RECSYS_BENCH_SUPPORT_HPP

#include <cstdlib>
#include <string>

namespace recsys::bench {

/// True under the ctest smoke run (RECSYS_BENCH_SMOKE=1): benchmarks use small inputs.
inline bool smoke() {
  const char* s = std::getenv("RECSYS_BENCH_SMOKE");
  return s != nullptr && std::string(s) != "0";
}

/// `full` normally, `small` under the smoke run.
template <class T>
T size(T full, T small) {
  return smoke() ? small : full;
}

}  // namespace recsys::bench

#endif
