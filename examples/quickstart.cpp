// SPDX-License-Identifier: Apache-2.0
// The README's first command runs this program.
#include <recsys/recsys.hpp>

#include <cstdio>

int main() {
  std::printf("recsys %s: header-only recommender algorithms\n", recsys::version_string);
#if defined(RECSYS_PARALLEL_OPENMP)
  const char* backend = "OpenMP";
#elif defined(RECSYS_PARALLEL_STD_THREAD)
  const char* backend = "std::thread";
#else
  const char* backend = "serial";
#endif
  std::printf("parallel backend: %s, default threads: %d\n", backend, recsys::default_threads());
#if defined(__AVX2__) && defined(__FMA__)
  std::printf("SIMD: AVX2+FMA (built with recsys::native)\n");
#else
  std::printf("SIMD: baseline (link recsys::native for AVX2/FMA)\n");
#endif
  // A deterministic draw: same seed, same numbers, on any machine and thread count.
  recsys::rng r(2026);
  std::printf("seeded draws:");
  for (int i = 0; i < 5; ++i) std::printf(" %u", r.uniform_index(1000));
  std::printf("\n");
  return 0;
}
