// SPDX-License-Identifier: Apache-2.0
// The top-K tests again, built for the host CPU (tests/CMakeLists.txt links recsys::native),
// so that the AVX-512 / AVX selection paths are tested as well; test_topk covers the portable
// path that a build without those instruction sets uses.
#include "test_topk.cpp"  // NOLINT(bugprone-suspicious-include)
