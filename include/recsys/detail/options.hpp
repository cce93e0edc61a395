// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_OPTIONS_HPP
#define RECSYS_DETAIL_OPTIONS_HPP

/// @file
/// Internal: strict parsing of "key=value" hyperparameter assignments, shared by the
/// `set_option(config, ...)` functions of the recipes (and so by the CLI's `--set`).
/// A value is accepted only when the whole text parses: "1e-3" is a float, "12" an int,
/// "true/false/1/0/yes/no/on/off" a bool; "12abc", "", "nan" and "inf" are refused.

#include <recsys/errors.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace recsys {

/// One hyperparameter a recipe's set_option accepts: its key and a one-line description
/// (for the CLI's help).
struct option_info {
  const char* name;
  const char* description;
};

}  // namespace recsys

namespace recsys::detail {

/// Splits "key=value" (spaces around either part are trimmed). Throws invalid_argument
/// naming `where` when there is no '=' or the key is empty.
inline std::pair<std::string_view, std::string_view> split_assignment(std::string_view where,
                                                                      std::string_view text) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  const auto eq = text.find('=');
  RECSYS_REQUIRE(eq != std::string_view::npos, where, "expected key=value, got \"", text, "\"");
  const std::string_view key = trim(text.substr(0, eq));
  RECSYS_REQUIRE(!key.empty(), where, "empty key in \"", text, "\"");
  return {key, trim(text.substr(eq + 1))};
}

/// Parses a whole decimal integer.
template <class Int>
Int parse_int(std::string_view where, std::string_view key, std::string_view value) {
  Int out{};
  const char* first = value.data();
  const char* last = first + value.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, out);
  RECSYS_REQUIRE(ec == std::errc() && ptr == last && first != last, where, "option ", key,
                 ": expected an integer, got \"", value, "\"");
  return out;
}

/// Parses a whole finite floating-point number.
inline double parse_real(std::string_view where, std::string_view key, std::string_view value) {
  double out = 0.0;
  const char* first = value.data();
  const char* last = first + value.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, out);
  RECSYS_REQUIRE(ec == std::errc() && ptr == last && first != last && std::isfinite(out), where, "option ",
                 key, ": expected a finite number, got \"", value, "\"");
  return out;
}

/// Parses true/false, 1/0, yes/no, on/off (lower case).
inline bool parse_bool(std::string_view where, std::string_view key, std::string_view value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  throw_invalid_argument(where, "option ", key, ": expected true or false, got \"", value, "\"");
}

/// "name1, name2, ..." for error messages listing the known keys.
inline std::string option_names(std::span<const option_info> options) {
  std::string out;
  for (const auto& o : options) {
    if (!out.empty()) out += ", ";
    out += o.name;
  }
  return out;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_OPTIONS_HPP
