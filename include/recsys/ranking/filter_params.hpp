// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTER_PARAMS_HPP
#define RECSYS_RANKING_FILTER_PARAMS_HPP

/// @file
/// Values of a filter's $PARAMETERS for one request (recsys::filter_params, Personalize's
/// filterValues) and the parser of filterValues text (parse_filter_values).

#include <recsys/config.hpp>
#include <recsys/errors.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// Values of a filter's $PARAMETERS for one request (Personalize's filterValues): each name
/// (without '$', case-sensitive) takes one or more values.
class filter_params {
 public:
  filter_params() = default;
  /// {{"GENRE", {"Comedy", "Drama"}}, {"MAX_PRICE", {"100"}}}
  filter_params(std::initializer_list<std::pair<std::string, std::vector<std::string>>> entries) {
    for (const auto& [name, values] : entries) set(name, values);
  }

  /// Appends one value to parameter `name`.
  /// @throws recsys::invalid_argument if `name` is not an identifier ([A-Za-z_][A-Za-z0-9_]*).
  filter_params& add(std::string_view name, std::string_view value) {
    slot(name).push_back(std::string(value));
    return *this;
  }
  /// Replaces the values of parameter `name` (an empty list means "no value").
  filter_params& set(std::string_view name, std::vector<std::string> values) {
    slot(name) = std::move(values);
    return *this;
  }
  /// The values of `name` (empty when it has none).
  [[nodiscard]] std::span<const std::string> values(std::string_view name) const noexcept {
    for (const auto& [n, v] : entries_)
      if (n == name) return v;
    return {};
  }
  [[nodiscard]] bool has_value(std::string_view name) const noexcept { return !values(name).empty(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::vector<std::string>>>& entries() const noexcept {
    return entries_;
  }

 private:
  std::vector<std::string>& slot(std::string_view name) {
    bool ok = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (const char c : name)
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    RECSYS_REQUIRE(ok, "filter_params", "'", name, "' is not a parameter name (letters, digits, '_'; without '$')");
    for (auto& [n, v] : entries_)
      if (n == name) return v;
    entries_.emplace_back(std::string(name), std::vector<std::string>{});
    return entries_.back().second;
  }

  std::vector<std::pair<std::string, std::vector<std::string>>> entries_;
};

/// Splits Personalize's filterValues text for one parameter into values: a comma-separated list
/// of double-quoted strings (`"Comedy","Drama"`, backslash escapes the next character), or one
/// bare value (`100`, `Comedy`) taken as is.
/// @throws recsys::invalid_argument for an unterminated string or text between quoted values.
template <class = void>
[[nodiscard]] std::vector<std::string> parse_filter_values(std::string_view text);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/filter_params-inl.hpp>
#else
namespace recsys {
extern template std::vector<std::string> parse_filter_values<>(std::string_view);
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_FILTER_PARAMS_HPP
