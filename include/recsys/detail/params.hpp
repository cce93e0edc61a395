// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PARAMS_HPP
#define RECSYS_DETAIL_PARAMS_HPP

/// @file
/// Internal: strict parsing of `key=value` hyperparameter strings (the CLI's --set, AutoML's
/// search spaces, model manifests). Every recipe's set_param() uses these, so a bad value is
/// reported the same way everywhere: recsys::invalid_argument naming the recipe, key and value.

#include <recsys/errors.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace recsys::detail {

/// A finite floating-point number ("0.1", "1e-3").
[[nodiscard]] inline double parse_double(std::string_view where, std::string_view key, std::string_view value) {
  double x = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, x);
  RECSYS_REQUIRE(!value.empty() && ec == std::errc() && ptr == end && std::isfinite(x), where, "'", key,
                 "' needs a finite number (got '", value, "')");
  return x;
}

/// An integer in [lo, hi].
[[nodiscard]] inline std::int64_t parse_int(std::string_view where, std::string_view key, std::string_view value,
                                            std::int64_t lo = INT64_MIN, std::int64_t hi = INT64_MAX) {
  std::int64_t x = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, x);
  RECSYS_REQUIRE(!value.empty() && ec == std::errc() && ptr == end, where, "'", key, "' needs an integer (got '",
                 value, "')");
  RECSYS_REQUIRE(x >= lo && x <= hi, where, "'", key, "' must be in [", lo, ", ", hi, "] (got ", x, ")");
  return x;
}

/// Parses a window length: seconds ("3600") or a number with a unit: s, m (minutes), h, d
/// ("30m", "1h", "3h", "1d").
/// @throws recsys::invalid_argument for anything else or a length <= 0.
[[nodiscard]] inline std::int64_t parse_duration(std::string_view where, std::string_view key, std::string_view text) {
  std::int64_t unit = 1;
  std::string_view number = text;
  if (!text.empty()) {
    switch (text.back()) {
      case 's': unit = 1; number.remove_suffix(1); break;
      case 'm': unit = 60; number.remove_suffix(1); break;
      case 'h': unit = 3600; number.remove_suffix(1); break;
      case 'd': unit = 86400; number.remove_suffix(1); break;
      default: break;
    }
  }
  const std::int64_t n = parse_int(where, key, number, 1, INT64_MAX / 86400);
  return n * unit;
}

/// true/false, 1/0, yes/no, on/off.
[[nodiscard]] inline bool parse_bool(std::string_view where, std::string_view key, std::string_view value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  throw_invalid_argument(where, "'", key, "' needs true or false (got '", value, "')");
}

/// One of a fixed set of names.
template <class T>
[[nodiscard]] T parse_choice(std::string_view where, std::string_view key, std::string_view value,
                             std::initializer_list<std::pair<std::string_view, T>> choices) {
  std::string names;
  for (const auto& [name, v] : choices) {
    if (name == value) return v;
    names += names.empty() ? "" : " | ";
    names += name;
  }
  throw_invalid_argument(where, "'", key, "' must be one of ", names, " (got '", value, "')");
}

/// Throws for a key a recipe does not know, listing the ones it does.
[[noreturn]] inline void unknown_param(std::string_view where, std::string_view key,
                                       std::initializer_list<std::string_view> known) {
  std::string names;
  for (auto k : known) {
    names += names.empty() ? "" : ", ";
    names += k;
  }
  throw_invalid_argument(where, "unknown parameter '", key, "' (known: ", names, ")");
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PARAMS_HPP
