// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTER_PARAMS_INL_HPP
#define RECSYS_RANKING_FILTER_PARAMS_INL_HPP

/// @file
/// Definitions of ranking/filter_params.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/filter.cpp).

#include <recsys/ranking/filter_params.hpp>

#include <recsys/errors.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

template <class>
std::vector<std::string> parse_filter_values(std::string_view text) {
  std::vector<std::string> out;
  std::size_t p = 0;
  const auto skip = [&] {
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
  };
  skip();
  if (p >= text.size() || text[p] != '"') {
    out.emplace_back(text);
    return out;
  }
  for (;;) {
    skip();
    RECSYS_REQUIRE(p < text.size() && text[p] == '"', "parse_filter_values", "expected a quoted value at offset ", p,
                   " of '", text, "'");
    ++p;
    std::string v;
    for (;;) {
      RECSYS_REQUIRE(p < text.size(), "parse_filter_values", "unterminated quoted value in '", text, "'");
      const char c = text[p++];
      if (c == '"') break;
      if (c == '\\') {
        RECSYS_REQUIRE(p < text.size(), "parse_filter_values", "unterminated quoted value in '", text, "'");
        v += text[p++];
      } else {
        v += c;
      }
    }
    out.push_back(std::move(v));
    skip();
    if (p >= text.size()) return out;
    RECSYS_REQUIRE(text[p] == ',', "parse_filter_values", "expected ',' at offset ", p, " of '", text, "'");
    ++p;
  }
}

}  // namespace recsys

#endif  // RECSYS_RANKING_FILTER_PARAMS_INL_HPP
