// SPDX-License-Identifier: Apache-2.0
// The top-K tests again, built for the host CPU (tests/CMakeLists.txt links recsys::native),
// so that the AVX-512 / AVX selection paths are tested as well; test_topk covers the portable
// path that a build without those instruction sets uses.
//
// Header-only even when the test programs link the compiled library: in compiled mode the
// kernel would be the library's, built without these flags. Here it is instantiated in this
// unit, for the host CPU (the linker keeps this unit's copy of each specialisation).
#undef RECSYS_COMPILED_LIB
#include "test_topk.cpp"  // NOLINT(bugprone-suspicious-include)
