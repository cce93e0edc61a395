// SPDX-License-Identifier: Apache-2.0
// Compiled header-only (every recsys definition inline in this unit), linked with odr_b.cpp
// (compiled mode) and the compiled library: a missing `inline`, or a definition that differs
// between the modes, fails to link or gives a different answer here.
#include <recsys/recsys.hpp>

#include "odr_common.hpp"

#if !RECSYS_HEADER_ONLY
#error "odr_a.cpp must be compiled header-only"
#endif

std::string odr_a() { return odr_fingerprint(); }
