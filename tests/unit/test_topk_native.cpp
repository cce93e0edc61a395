// SPDX-License-Identifier: Apache-2.0
// The top-K tests again, built for the host CPU (tests/CMakeLists.txt links recsys::native),
// so that the AVX-512 / AVX selection paths are tested as well; test_topk covers the portable
// path that a build without those instruction sets uses.
//
// Header-only, and not linked with the compiled library (tests/CMakeLists.txt): every kernel is
// instantiated in this unit, for the host CPU, with nothing built without these flags beside it.
#include "test_topk.cpp"  // NOLINT(bugprone-suspicious-include)
