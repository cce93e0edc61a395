// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_STRINGS_HPP
#define RECSYS_DETAIL_STRINGS_HPP

/// @file
/// Internal: the small text helpers several parsers share (header names, event types, keywords).

#include <string_view>

namespace recsys::detail {

/// ASCII lower case of one character (other bytes unchanged, so UTF-8 passes through).
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII case-insensitive equality (CSV header names, event types, filter keywords).
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_STRINGS_HPP
