// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PARAM_TABLE_HPP
#define RECSYS_DETAIL_PARAM_TABLE_HPP

/// @file
/// Internal: one table per config lists its hyperparameters once (name, member, bounds, help),
/// and everything that used to list them again is derived from it: set_param (text -> member,
/// strict parsing, the unknown-key suggestion), the list of keys, and the (name, value as text,
/// help) rows that the recipe registry, `--set` help and saved manifests show.
///
///     inline constexpr std::array als_fields{
///         detail::int_field<&als_config::factors, 1, 4096>("factors", "latent dimensions"),
///         detail::real_field<&als_config::alpha>("alpha", "confidence scale"),
///         detail::choice_field<&als_config::solver, als_solver_names>("solver", "cg | cholesky"),
///         ...};
///
/// Each field is two plain function pointers made from captureless lambdas, so a table is a
/// constexpr array. Range checks beyond a field's own (finite reals, integer bounds) stay in
/// the config's validate(), which set_param_from runs after every assignment.

#include <recsys/detail/params.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys::detail {

/// The class and member type of a pointer to data member.
template <class M>
struct member_traits;
template <class C, class T>
struct member_traits<T C::*> {
  using config = C;
  using value = T;
};

/// One hyperparameter of Config. (The builders below take the member's own class as Config
/// unless given another, e.g. a config that shares the members of another by inheritance.)
template <class Config>
struct param_field {
  std::string_view name;
  std::string_view help;
  /// Parses `value` into the member (strict; recsys::invalid_argument naming where/key/value).
  void (*set)(Config&, std::string_view where, std::string_view key, std::string_view value);
  /// The member as text that set() reads back exactly.
  std::string (*get)(const Config&);
  /// Another name set() is also reached by (e.g. Personalize's name for the same setting).
  std::string_view alias = {};
};

/// A field with its own parsing and printing (durations, lists, ...): captureless lambdas
/// `set(Config&, where, key, value)` and `get(const Config&) -> std::string`.
template <class C, class Set, class Get>
constexpr param_field<C> custom_field(std::string_view name, std::string_view help, Set set, Get get,
                                      std::string_view alias = {}) {
  return param_field<C>{name, help, +set, +get, alias};
}

/// The same field reached by a second name.
template <class C>
constexpr param_field<C> with_alias(param_field<C> f, std::string_view alias) {
  f.alias = alias;
  return f;
}

/// A number or bool as the shortest text that reads back exactly.
template <class T>
[[nodiscard]] std::string value_text(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, r.ptr);
  }
}

/// An integer member, checked against [Lo, Hi].
template <auto Member, std::int64_t Lo, std::int64_t Hi, class C = typename member_traits<decltype(Member)>::config>
constexpr auto int_field(std::string_view name, std::string_view help) {
  using T = typename member_traits<decltype(Member)>::value;
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        c.*Member = static_cast<T>(parse_int(where, key, v, Lo, Hi));
      },
      [](const C& c) { return value_text(c.*Member); }};
}

/// An unsigned 64-bit member over its whole range (seeds).
template <auto Member, class C = typename member_traits<decltype(Member)>::config>
constexpr auto u64_field(std::string_view name, std::string_view help) {
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        std::uint64_t x = 0;
        const char* end = v.data() + v.size();
        const auto [ptr, ec] = std::from_chars(v.data(), end, x);
        RECSYS_REQUIRE(!v.empty() && ec == std::errc() && ptr == end, where, "'", key,
                       "' needs an integer in [0, 2^64) (got '", v, "')");
        c.*Member = x;
      },
      [](const C& c) { return value_text(c.*Member); }};
}

/// A finite real member (float or double; further bounds are the config's validate()).
template <auto Member, class C = typename member_traits<decltype(Member)>::config>
constexpr auto real_field(std::string_view name, std::string_view help) {
  using T = typename member_traits<decltype(Member)>::value;
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        c.*Member = static_cast<T>(parse_double(where, key, v));
      },
      [](const C& c) { return value_text(c.*Member); }};
}

/// A real member in [0, 1] (fractions, percentiles).
template <auto Member, class C = typename member_traits<decltype(Member)>::config>
constexpr auto unit_field(std::string_view name, std::string_view help) {
  using T = typename member_traits<decltype(Member)>::value;
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        const double x = parse_double(where, key, v);
        RECSYS_REQUIRE(x >= 0.0 && x <= 1.0, where, "'", key, "' must be in [0, 1] (got ", x, ")");
        c.*Member = static_cast<T>(x);
      },
      [](const C& c) { return value_text(c.*Member); }};
}

/// A std::optional<float or double> member: a finite number sets it; shown empty when unset.
template <auto Member, class C = typename member_traits<decltype(Member)>::config>
constexpr auto optional_real_field(std::string_view name, std::string_view help) {
  using T = typename member_traits<decltype(Member)>::value::value_type;
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        c.*Member = static_cast<T>(parse_double(where, key, v));
      },
      [](const C& c) { return c.*Member ? value_text(*(c.*Member)) : std::string(); }};
}

/// A bool member: true/false, 1/0, yes/no, on/off.
template <auto Member, class C = typename member_traits<decltype(Member)>::config>
constexpr auto bool_field(std::string_view name, std::string_view help) {
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        c.*Member = parse_bool(where, key, v);
      },
      [](const C& c) { return value_text(c.*Member); }};
}

/// An enum member named by text (detail::parse_choice); Names::values is an array of (name,
/// value) pairs, the first name of a value being how it is written back.
template <auto Member, class Names, class C = typename member_traits<decltype(Member)>::config>
constexpr auto choice_field(std::string_view name, std::string_view help) {
  return param_field<C>{
      name, help,
      [](C& c, std::string_view where, std::string_view key, std::string_view v) {
        using T = typename member_traits<decltype(Member)>::value;
        c.*Member = parse_choice<T>(where, key, v, std::span<const std::pair<std::string_view, T>>(Names::values));
      },
      [](const C& c) {
        for (const auto& [n, x] : Names::values)
          if (x == c.*Member) return std::string(n);
        return std::string("?");
      }};
}

/// The names of a table, in its order.
template <class Config, std::size_t N>
constexpr std::array<std::string_view, N> field_names(const std::array<param_field<Config>, N>& table) {
  std::array<std::string_view, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = table[i].name;
  return out;
}

/// set_param through a table: parses `value` into the field named `key` (or its alias) of a copy of `cfg`,
/// validates the copy (Config::validate() or a free validate(const Config&)), then assigns it.
/// @throws recsys::invalid_argument for an unknown key (suggesting the nearest one), a
///         malformed value or a value out of range; `cfg` is then unchanged.
template <class Config, std::size_t N, class Validate>
void set_param_from(const std::array<param_field<Config>, N>& table, Config& cfg, std::string_view where,
                    std::string_view key, std::string_view value, Validate&& validate) {
  for (const auto& f : table)
    if (f.name == key || (!f.alias.empty() && f.alias == key)) {
      Config c = cfg;
      f.set(c, where, key, value);
      validate(c);
      cfg = std::move(c);
      return;
    }
  unknown_param(where, key, field_names(table));
}

/// "key=value" split at the first '=', spaces and tabs around either side trimmed: the one
/// splitter behind every recipe's set_param(cfg, "key=value").
/// @throws recsys::invalid_argument naming `where` when there is no '=' or the key is empty.
[[nodiscard]] inline std::pair<std::string_view, std::string_view> split_assignment(std::string_view where,
                                                                                    std::string_view text) {
  const auto eq = text.find('=');
  RECSYS_REQUIRE(eq != std::string_view::npos, where, "expected key=value (got '", text, "')");
  const std::string_view key = trim(text.substr(0, eq));
  RECSYS_REQUIRE(!key.empty(), where, "empty key in '", text, "'");
  return {key, trim(text.substr(eq + 1))};
}

/// (name, value in `cfg` as text, help) for every field, in table order: what the registry
/// lists as a recipe's parameters (with a default config: its defaults).
template <class Row, class Config, std::size_t N>
[[nodiscard]] std::vector<Row> field_rows(const std::array<param_field<Config>, N>& table, const Config& cfg) {
  std::vector<Row> out;
  out.reserve(N);
  for (const auto& f : table) out.push_back(Row{std::string(f.name), f.get(cfg), std::string(f.help)});
  return out;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PARAM_TABLE_HPP
