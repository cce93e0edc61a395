// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PARAMS_HPP
#define RECSYS_DETAIL_PARAMS_HPP

/// @file
/// Internal: strict parsing of `key=value` hyperparameter strings (the CLI's --set, AutoML's
/// search spaces, model manifests). Every recipe's set_param() uses these, so a bad value is
/// reported the same way everywhere: recsys::invalid_argument naming the recipe, key and value.

#include <recsys/errors.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// One of a fixed set of names (the choices: (name, value) pairs).
template <class T>
[[nodiscard]] T parse_choice(std::string_view where, std::string_view key, std::string_view value,
                             std::span<const std::pair<std::string_view, T>> choices) {
  std::string names;
  for (const auto& [name, v] : choices) {
    if (name == value) return v;
    names += names.empty() ? "" : " | ";
    names += name;
  }
  throw_invalid_argument(where, "'", key, "' must be one of ", names, " (got '", value, "')");
}

template <class T>
[[nodiscard]] T parse_choice(std::string_view where, std::string_view key, std::string_view value,
                             std::initializer_list<std::pair<std::string_view, T>> choices) {
  return parse_choice<T>(where, key, value, std::span<const std::pair<std::string_view, T>>(choices.begin(), choices.size()));
}

/// Edit distance between a and b: insertions, deletions, substitutions and swaps of two
/// adjacent characters each cost 1 (optimal string alignment).
[[nodiscard]] inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

/// The name a mistyped `key` most likely meant: the closest of `names` by edit_distance when
/// that is a typo's distance (at most 1 for keys of up to 4 characters, 2 up to 8, else 3), or
/// else the only name that `key` (3 characters or more) begins. Empty when nothing is close.
template <class Names>
[[nodiscard]] std::string closest_name(std::string_view key, const Names& names) {
  const std::size_t limit = key.size() <= 4 ? 1 : key.size() <= 8 ? 2 : 3;
  std::string best;
  std::size_t best_d = limit + 1;
  std::string prefixed;
  int prefix_count = 0;
  for (const auto& n : names) {
    const std::string_view name(n);
    const std::size_t d = edit_distance(key, name);
    if (d < best_d) {
      best_d = d;
      best = std::string(name);
    }
    if (key.size() >= 3 && name.size() > key.size() && name.substr(0, key.size()) == key) {
      ++prefix_count;
      prefixed = std::string(name);
    }
  }
  if (!best.empty()) return best;
  return prefix_count == 1 ? prefixed : std::string();
}

/// Throws for a key a recipe does not know, suggesting the nearest known one (as a typo) and
/// listing them all: "unknown parameter 'factor'; did you mean 'factors'? (known: ...)".
template <class Names>
[[noreturn]] void unknown_param(std::string_view where, std::string_view key, const Names& known) {
  std::string names;
  for (const auto& k : known) {
    names += names.empty() ? "" : ", ";
    names += std::string_view(k);
  }
  const std::string guess = closest_name(key, known);
  if (!guess.empty())
    throw_invalid_argument(where, "unknown parameter '", key, "'; did you mean '", guess, "'? (known: ", names, ")");
  throw_invalid_argument(where, "unknown parameter '", key, "' (known: ", names, ")");
}
[[noreturn]] inline void unknown_param(std::string_view where, std::string_view key,
                                       std::initializer_list<std::string_view> known) {
  unknown_param<std::initializer_list<std::string_view>>(where, key, known);
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PARAMS_HPP
