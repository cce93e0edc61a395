// recsys: header-only recommender algorithms in C++20.
// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_VERSION_HPP
#define RECSYS_VERSION_HPP

/// @file
/// The single source of recsys's version. CMake reads these three lines.

#define RECSYS_VERSION_MAJOR 0
#define RECSYS_VERSION_MINOR 1
#define RECSYS_VERSION_PATCH 0

/// The version as one integer, MAJOR * 10000 + MINOR * 100 + PATCH.
#define RECSYS_VERSION (RECSYS_VERSION_MAJOR * 10000 + RECSYS_VERSION_MINOR * 100 + RECSYS_VERSION_PATCH)

namespace recsys {

/// The version as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = "0.1.0";

}  // namespace recsys

#endif  // RECSYS_VERSION_HPP
