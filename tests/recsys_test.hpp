// SPDX-License-Identifier: Apache-2.0
// Test support shared by every test file: Catch2 v3 or v2 (Debian 12 ships 2.13), seeds,
// the dataset folder, and small helpers.
#ifndef RECSYS_TESTS_RECSYS_TEST_HPP
#define RECSYS_TESTS_RECSYS_TEST_HPP

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define RECSYS_CATCH3 1
#else
#include <catch2/catch.hpp>
#endif

#include <recsys/errors.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace recsys::test {

#ifdef RECSYS_CATCH3
using Catch::Approx;
#else
using Catch::Detail::Approx;
#endif

/// Seed for randomised tests: RECSYS_TEST_SEED overrides the fixed default, so a failure can
/// be replayed and other seeds explored (Eigen's EIGEN_SEED habit).
inline std::uint64_t seed(std::uint64_t fallback = 20261129) {
  if (const char* s = std::getenv("RECSYS_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return fallback;
}

/// The real-data folder given to CMake as RECSYS_DATA_DIR (tests using it are only built when set).
inline std::filesystem::path data_dir() {
#ifdef RECSYS_DATA_DIR
  return std::filesystem::path(RECSYS_DATA_DIR);
#else
  if (const char* s = std::getenv("RECSYS_DATA_DIR")) return s;
  return {};
#endif
}

/// A fresh, empty scratch folder for one test, removed by the caller or left in the build tree.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("recsys-test-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// The message of the recsys::invalid_argument that `f()` throws; empty when it does not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const recsys::invalid_argument& e) {
    return e.what();
  }
  return {};
}

/// The recsys::io_error that `f()` throws, if it throws one.
template <class F>
std::optional<recsys::io_error> io_error_of(F&& f) {
  try {
    f();
  } catch (const recsys::io_error& e) {
    return e;
  }
  return std::nullopt;
}

/// prefix followed by k, e.g. id("u", 7) = "u7": ids for synthetic logs.
inline std::string id(const char* prefix, std::uint32_t k) { return std::string(prefix) += std::to_string(k); }

}  // namespace recsys::test

#endif  // RECSYS_TESTS_RECSYS_TEST_HPP
