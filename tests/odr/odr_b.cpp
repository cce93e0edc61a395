// SPDX-License-Identifier: Apache-2.0
// Compiled in compiled mode (declarations only; recsys's code comes from the library), linked with
// odr_a.cpp (header-only).
#include <recsys/recsys.hpp>

#include "odr_common.hpp"

#if RECSYS_HEADER_ONLY
#error "odr_b.cpp must be compiled with RECSYS_COMPILED_LIB"
#endif

std::string odr_b() { return odr_fingerprint(); }
