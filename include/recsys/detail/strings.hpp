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

/// `s` without the characters of `front` at its start and of `back` at its end (by default
/// spaces and tabs at both ends): the one trim of the key=value and list parsers.
[[nodiscard]] constexpr std::string_view trim(std::string_view s, std::string_view front = " \t",
                                              std::string_view back = " \t") noexcept {
  while (!s.empty() && front.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && back.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
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
