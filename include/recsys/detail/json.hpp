// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_JSON_HPP
#define RECSYS_DETAIL_JSON_HPP

/// @file
/// Internal: a small, strict JSON value, parser and writer for model manifests (the library
/// depends only on Eigen and xtensor). RFC 8259: no comments, no trailing commas, no NaN,
/// UTF-8 passed through, \uXXXX escapes (with surrogate pairs) decoded. Integers that fit in
/// int64 are kept exactly (timestamps, counts). Nesting is limited to 128 levels. Errors are
/// recsys::io_error with the line and column.

#include <recsys/errors.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace recsys::detail::json {

class value;
using array = std::vector<value>;
/// Objects keep insertion order (manifests are written and diffed by people).
using object = std::vector<std::pair<std::string, value>>;

class value {
 public:
  enum class kind { null, boolean, integer, number, string, array, object };

  value() = default;
  value(std::nullptr_t) {}
  value(bool b) : v_(b) {}
  value(int i) : v_(static_cast<std::int64_t>(i)) {}
  value(std::int64_t i) : v_(i) {}
  value(std::uint32_t i) : v_(static_cast<std::int64_t>(i)) {}
  value(double d) : v_(d) {}
  value(const char* s) : v_(std::string(s)) {}
  value(std::string s) : v_(std::move(s)) {}
  value(std::string_view s) : v_(std::string(s)) {}
  value(json::array a) : v_(std::make_shared<json::array>(std::move(a))) {}
  value(json::object o) : v_(std::make_shared<json::object>(std::move(o))) {}

  [[nodiscard]] kind type() const noexcept { return static_cast<kind>(v_.index()); }
  [[nodiscard]] bool is_null() const noexcept { return type() == kind::null; }
  [[nodiscard]] bool is_number() const noexcept { return type() == kind::integer || type() == kind::number; }

  [[nodiscard]] bool as_bool(std::string_view what) const { return get<bool>(what, "a boolean"); }
  [[nodiscard]] std::int64_t as_int(std::string_view what) const {
    if (type() == kind::integer) return std::get<std::int64_t>(v_);
    fail(what, "an integer");
  }
  [[nodiscard]] double as_double(std::string_view what) const {
    if (type() == kind::integer) return static_cast<double>(std::get<std::int64_t>(v_));
    return get<double>(what, "a number");
  }
  [[nodiscard]] const std::string& as_string(std::string_view what) const { return get<std::string>(what, "a string"); }
  [[nodiscard]] const json::array& as_array(std::string_view what) const {
    return *get<std::shared_ptr<json::array>>(what, "an array");
  }
  [[nodiscard]] const json::object& as_object(std::string_view what) const {
    return *get<std::shared_ptr<json::object>>(what, "an object");
  }

  /// The member `key` of an object, or nullptr.
  [[nodiscard]] const value* find(std::string_view key) const {
    if (type() != kind::object) return nullptr;
    for (const auto& [k, v] : *std::get<std::shared_ptr<json::object>>(v_))
      if (k == key) return &v;
    return nullptr;
  }
  /// The member `key` of an object. @throws recsys::invalid_argument when missing.
  [[nodiscard]] const value& at(std::string_view key) const {
    const value* v = find(key);
    if (!v) throw invalid_argument(str("missing field \"", key, "\""));
    return *v;
  }

  friend bool operator==(const value& a, const value& b);

 private:
  template <class T>
  const T& get(std::string_view what, std::string_view expected) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    fail(what, expected);
  }
  [[noreturn]] void fail(std::string_view what, std::string_view expected) const {
    throw invalid_argument(str(what, " must be ", expected));
  }

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, std::shared_ptr<json::array>,
               std::shared_ptr<json::object>>
      v_{nullptr};
};

inline bool operator==(const value& a, const value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value::kind::array: return a.as_array("") == b.as_array("");
    case value::kind::object: return a.as_object("") == b.as_object("");
    default: return a.v_ == b.v_;
  }
}

namespace parser_detail {

// The parser and writer are templates with an unused parameter so that a unit compiles them
// only when it parses or writes JSON (see config.hpp).
template <class = void>
class parser {
 public:
  parser(std::string_view text, std::string_view source) : s_(text), source_(source) {}

  value parse_document() {
    skip_ws();
    value v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) error("unexpected text after the JSON value");
    return v;
  }

 private:
  static constexpr int max_depth = 128;

  [[noreturn]] void error(const std::string& reason) const {
    std::int64_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw io_error(std::string(source_), line, col, "invalid JSON: " + reason);
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) error("unexpected character");
    pos_ += lit.size();
  }

  value parse_value(int depth) {
    if (depth > max_depth) error("nesting deeper than 128 levels");
    if (pos_ >= s_.size()) error("unexpected end of input");
    switch (s_[pos_]) {
      case '{': return parse_object(depth);
      case '[': return parse_array(depth);
      case '"': return value(parse_string());
      case 't': expect_literal("true"); return value(true);
      case 'f': expect_literal("false"); return value(false);
      case 'n': expect_literal("null"); return value(nullptr);
      default: return parse_number();
    }
  }

  value parse_object(int depth) {
    ++pos_;
    object o;
    skip_ws();
    if (consume('}')) return value(std::move(o));
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') error("expected a string key");
      std::string key = parse_string();
      for (const auto& [k, v] : o)
        if (k == key) error("duplicate key \"" + key + "\"");
      skip_ws();
      if (!consume(':')) error("expected ':'");
      skip_ws();
      value v = parse_value(depth + 1);
      o.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (consume('}')) return value(std::move(o));
      if (!consume(',')) error("expected ',' or '}'");
    }
  }

  value parse_array(int depth) {
    ++pos_;
    array a;
    skip_ws();
    if (consume(']')) return value(std::move(a));
    for (;;) {
      skip_ws();
      a.push_back(parse_value(depth + 1));
      skip_ws();
      if (consume(']')) return value(std::move(a));
      if (!consume(',')) error("expected ',' or ']'");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) error("truncated \\u escape");
    unsigned cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= static_cast<unsigned>(c - 'A' + 10);
      else error("bad hex digit in \\u escape");
    }
    return cp;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) error("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) error("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) error("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') error("unpaired surrogate");
            pos_ += 2;
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            error("unpaired surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: error("unknown escape");
      }
    }
  }

  value parse_number() {
    const std::size_t start = pos_;
    consume('-');
    if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) error("unexpected character");
    if (s_[pos_] == '0') ++pos_;
    else
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    bool integral = true;
    if (consume('.')) {
      integral = false;
      if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) error("digit expected after '.'");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (!consume('+')) consume('-');
      if (pos_ >= s_.size() || !(s_[pos_] >= '0' && s_[pos_] <= '9')) error("digit expected in exponent");
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      const auto [p, ec] = std::from_chars(b, e, i);
      if (ec == std::errc() && p == e) return value(i);
    }
    double d = 0;
    const auto [p, ec] = std::from_chars(b, e, d);
    if (ec != std::errc() || p != e || !std::isfinite(d)) error("number out of range");
    return value(d);
  }

  std::string_view s_;
  std::string_view source_;
  std::size_t pos_ = 0;
};

template <class = void>
void write_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[(c >> 4) & 0xF];
          out += hex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

template <class = void>
void write_value(std::string& out, const value& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * lvl), ' ');
  };
  switch (v.type()) {
    case value::kind::null: out += "null"; break;
    case value::kind::boolean: out += v.as_bool("") ? "true" : "false"; break;
    case value::kind::integer: out += std::to_string(v.as_int("")); break;
    case value::kind::number: {
      char buf[32];
      const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_double(""));  // shortest round-trip
      out.append(buf, p);
      if (std::string_view(buf, static_cast<std::size_t>(p - buf)).find_first_of(".eE") == std::string_view::npos)
        out += ".0";  // stays a floating-point number when read back
      break;
    }
    case value::kind::string: write_string(out, v.as_string("")); break;
    case value::kind::array: {
      const auto& a = v.as_array("");
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        write_value(out, a[i], indent, level + 1);
      }
      if (!a.empty()) newline(level);
      out += ']';
      break;
    }
    case value::kind::object: {
      const auto& o = v.as_object("");
      out += '{';
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        write_string(out, o[i].first);
        out += indent > 0 ? ": " : ":";
        write_value(out, o[i].second, indent, level + 1);
      }
      if (!o.empty()) newline(level);
      out += '}';
      break;
    }
  }
}

}  // namespace parser_detail

/// Appends a member to an object. Kept out of line on purpose: GCC 12 reports a false
/// -Warray-bounds when emplace_back into a freshly made object is inlined into the caller.
[[gnu::noinline]] inline void add(object& o, std::string key, value v) { o.emplace_back(std::move(key), std::move(v)); }

/// Parses a JSON document. @throws recsys::io_error(source, line, column, reason).
template <class = void>
[[nodiscard]] value parse(std::string_view text, std::string_view source = "<json>") {
  return parser_detail::parser<>(text, source).parse_document();
}

/// Serialises a value; indent 0 writes one line.
template <class = void>
[[nodiscard]] std::string dump(const value& v, int indent = 2) {
  std::string out;
  parser_detail::write_value(out, v, indent, 0);
  return out;
}

}  // namespace recsys::detail::json

#endif  // RECSYS_DETAIL_JSON_HPP
