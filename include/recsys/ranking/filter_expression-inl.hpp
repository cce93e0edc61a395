// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTER_EXPRESSION_INL_HPP
#define RECSYS_RANKING_FILTER_EXPRESSION_INL_HPP

/// @file
/// Definitions of ranking/filter_expression.hpp: the parser (header-only mode includes this file;
/// the compiled library instantiates it in src/filter.cpp).

#include <recsys/ranking/filter_expression.hpp>

#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

/// The recursive-descent parser of filter expressions (a template so that only the units that
/// parse compile it; see config.hpp).
template <class = void>
class filter_parser {
 public:
  explicit filter_parser(std::string_view text) : s_(text) {}

  std::vector<filter_clause> parse() {
    std::vector<filter_clause> clauses;
    skip();
    if (pos_ >= s_.size()) fail(pos_, "empty filter expression");
    for (;;) {
      clauses.push_back(clause());
      skip();
      if (pos_ >= s_.size()) break;
      if (s_[pos_] != '|') fail(pos_, "expected '|' or the end of the expression");
      ++pos_;
    }
    return clauses;
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    at = std::min(at, s_.size());
    std::string line(s_);
    for (char& c : line)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    throw invalid_argument(str("recsys::filter: column ", at + 1, ": ", what, "\n  ", line, "\n  ",
                               std::string(at, ' '), "^"));
  }

  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  static bool ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
  static bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
  static bool iequal(std::string_view a, std::string_view b) { return iequals(a, b); }

  /// The identifier at the cursor (empty if none); does not consume.
  std::string_view peek_word() {
    skip();
    std::size_t e = pos_;
    if (e < s_.size() && ident_start(s_[e]))
      while (e < s_.size() && ident_char(s_[e])) ++e;
    return s_.substr(pos_, e - pos_);
  }
  bool accept_word(std::string_view kw) {
    if (iequal(peek_word(), kw)) {
      pos_ += kw.size();
      return true;
    }
    return false;
  }
  void expect_word(std::string_view kw) {
    if (!accept_word(kw)) fail(pos_, str("expected ", kw));
  }
  std::string identifier(const char* what) {
    const std::string_view w = peek_word();
    if (w.empty()) fail(pos_, str("expected ", what));
    pos_ += w.size();
    return std::string(w);
  }
  void expect_char(char c) {
    skip();
    if (pos_ >= s_.size() || s_[pos_] != c) fail(pos_, str("expected '", c, "'"));
    ++pos_;
  }

  filter_clause clause() {
    filter_clause c;
    skip();
    c.column = pos_ + 1;
    if (accept_word("INCLUDE")) c.include = true;
    else if (accept_word("EXCLUDE")) c.include = false;
    else fail(pos_, "expected INCLUDE or EXCLUDE");
    expect_word("ItemID");
    expect_word("WHERE");
    c.where = dnf(false);
    // Items and Interactions cannot be mixed in one expression.
    const auto first = c.where.front().front().dataset;
    for (const auto& group : c.where)
      for (const auto& cond : group)
        if (cond.dataset != first)
          fail(cond.column - 1, "Items and Interactions conditions cannot be mixed in one expression "
                                "(chain two expressions with '|')");
    if (accept_word("IF")) c.only_if = dnf(true);
    return c;
  }

  filter_condition_dnf dnf(bool user_side) {
    filter_condition_dnf out;
    out.emplace_back();
    out.back().push_back(condition(user_side));
    for (;;) {
      if (accept_word("AND")) out.back().push_back(condition(user_side));
      else if (accept_word("OR")) {
        out.emplace_back();
        out.back().push_back(condition(user_side));
      } else {
        return out;
      }
    }
  }

  filter_condition condition(bool user_side) {
    filter_condition c;
    skip();
    c.column = pos_ + 1;
    const std::size_t dataset_at = pos_;
    const std::string dataset = identifier("a dataset (Items, Interactions or CurrentUser)");
    if (user_side) {
      if (!iequal(dataset, "CurrentUser")) fail(dataset_at, "IF conditions must be about CurrentUser");
      c.dataset = filter_condition::source::current_user;
    } else if (iequal(dataset, "Items")) {
      c.dataset = filter_condition::source::items;
    } else if (iequal(dataset, "Interactions")) {
      c.dataset = filter_condition::source::interactions;
    } else if (iequal(dataset, "CurrentUser")) {
      fail(dataset_at, "CurrentUser conditions belong after IF");
    } else {
      fail(dataset_at, "expected Items or Interactions");
    }
    expect_char('.');
    skip();
    const std::size_t field_at = pos_;
    c.field = identifier("a field name");
    if (c.dataset == filter_condition::source::interactions && !iequal(c.field, "EVENT_TYPE"))
      fail(field_at, "Interactions conditions can only use EVENT_TYPE");
    skip();
    const std::size_t op_at = pos_;
    if (accept_word("IN")) {
      c.op = filter_op::in;
    } else if (accept_word("NOT")) {
      expect_word("IN");
      c.op = filter_op::not_in;
    } else if (pos_ < s_.size() && (s_[pos_] == '=' || s_[pos_] == '<' || s_[pos_] == '>')) {
      const char a = s_[pos_++];
      const bool eq_follows = pos_ < s_.size() && s_[pos_] == '=';
      if (a == '=') c.op = filter_op::eq;
      else if (a == '<') c.op = eq_follows ? filter_op::le : filter_op::lt;
      else c.op = eq_follows ? filter_op::ge : filter_op::gt;
      if (eq_follows && a != '=') ++pos_;
    } else {
      fail(pos_, "expected IN, NOT IN, =, <, >, <= or >=");
    }
    if (c.op == filter_op::in || c.op == filter_op::not_in) {
      expect_char('(');
      c.values.push_back(value());
      for (;;) {
        skip();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          c.values.push_back(value());
        } else {
          break;
        }
      }
      expect_char(')');
    } else {
      if (c.dataset == filter_condition::source::interactions) fail(op_at, "EVENT_TYPE takes IN or NOT IN");
      c.values.push_back(value());
    }
    for (const auto& v : c.values) {
      if (v.type == filter_value::kind::string && v.text == "*" && c.dataset != filter_condition::source::interactions)
        fail(v.column - 1, "\"*\" is only allowed for Interactions.EVENT_TYPE");
      if (v.type == filter_value::kind::current_item && user_side)
        fail(v.column - 1, "CurrentItem cannot be used in IF conditions");
    }
    return c;
  }

  filter_value value() {
    skip();
    filter_value v;
    v.column = pos_ + 1;
    if (pos_ >= s_.size()) fail(pos_, "expected a value");
    const char c = s_[pos_];
    if (c == '"') {
      v.type = filter_value::kind::string;
      ++pos_;
      for (;;) {
        if (pos_ >= s_.size()) fail(v.column - 1, "unterminated string");
        const char ch = s_[pos_++];
        if (ch == '"') break;
        if (ch == '\\') {
          if (pos_ >= s_.size()) fail(v.column - 1, "unterminated string");
          v.text += s_[pos_++];
        } else {
          v.text += ch;
        }
      }
      return v;
    }
    if (c == '$') {
      ++pos_;
      if (pos_ >= s_.size() || !ident_start(s_[pos_])) fail(pos_, "expected a parameter name after '$'");
      v.type = filter_value::kind::parameter;
      v.text = identifier("a parameter name");
      return v;
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) {
      std::size_t e = pos_ + 1;
      while (e < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[e])) || s_[e] == '.' ||
                               ((s_[e] == '-' || s_[e] == '+') && (s_[e - 1] == 'e' || s_[e - 1] == 'E'))))
        ++e;
      std::string_view num = s_.substr(pos_, e - pos_);
      if (!num.empty() && num.front() == '+') num.remove_prefix(1);
      double x = 0;
      const auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), x);
      if (num.empty() || ec != std::errc() || p != num.data() + num.size() || !std::isfinite(x))
        fail(pos_, "not a number");
      v.type = filter_value::kind::number;
      v.number = x;
      v.text = std::string(s_.substr(pos_, e - pos_));
      pos_ = e;
      return v;
    }
    if (ident_start(c)) {
      const std::size_t at = pos_;
      const std::string w = identifier("a value");
      if (!iequal(w, "CurrentItem")) fail(at, "expected a \"string\", a number, a $PARAMETER or CurrentItem.FIELD");
      expect_char('.');
      v.type = filter_value::kind::current_item;
      v.text = identifier("a field name");
      return v;
    }
    fail(pos_, "expected a \"string\", a number, a $PARAMETER or CurrentItem.FIELD");
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

template <class T>
basic_filter_expression<T> basic_filter_expression<T>::parse(std::string_view text) {
  basic_filter_expression f;
  f.text_ = std::string(text);
  f.clauses_ = detail::filter_parser<>(f.text_).parse();
  return f;
}

template <class T>
std::vector<std::string> basic_filter_expression<T>::parameters() const {
  std::vector<std::string> names;
  visit_values([&](const filter_value& v) {
    if (v.type == filter_value::kind::parameter && std::find(names.begin(), names.end(), v.text) == names.end())
      names.push_back(v.text);
  });
  return names;
}

template <class T>
bool basic_filter_expression<T>::uses_current_item() const {
  bool found = false;
  visit_values([&](const filter_value& v) { found = found || v.type == filter_value::kind::current_item; });
  return found;
}

template <class T>
template <class F>
void basic_filter_expression<T>::visit_values(F&& f) const {
  for (const auto& c : clauses_)
    for (const auto* dnf : {&c.where, &c.only_if})
      for (const auto& group : *dnf)
        for (const auto& cond : group)
          for (const auto& v : cond.values) f(v);
}

}  // namespace recsys

#endif  // RECSYS_RANKING_FILTER_EXPRESSION_INL_HPP
