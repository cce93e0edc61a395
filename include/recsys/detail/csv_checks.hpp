// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_CSV_CHECKS_HPP
#define RECSYS_DETAIL_CSV_CHECKS_HPP

/// @file
/// Internal: what the delimited-file readers of data/csv.hpp and data/metadata.hpp share besides
/// the tokenizer: the delimiter check, the header checks (duplicate names, a missing required
/// column with a hint) and the TIMESTAMP problem messages. Templates with an unused parameter,
/// defined here in both modes (see config.hpp); included by the readers' definitions only.

#include <recsys/detail/csv_tokenizer.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recsys::detail {

template <class = void>
void check_delimiter(char delimiter, bool quoting, std::string_view where) {
  RECSYS_REQUIRE(delimiter != '\n' && delimiter != '\r' && !(quoting && delimiter == '"'), where,
                 "the delimiter cannot be a quote or a line break (got code ", static_cast<int>(delimiter), ")");
}

template <class = void>
std::string timestamp_problem(number_error e, std::string_view text, std::string_view name = "TIMESTAMP") {
  switch (e) {
    case number_error::empty:
      return str("empty ", name);
    case number_error::out_of_range:
      return str(name, " ", excerpt(text), " is outside the int64 range");
    case number_error::fraction:
      return str(name, " ", excerpt(text),
                 " has a fractional part (Unix seconds are whole; fractional_timestamp::floor accepts it)");
    default:
      return str(name, " ", excerpt(text), " is not an integer number of Unix seconds");
  }
}

template <class = void>
std::string join_fields(const std::vector<std::string_view>& fields) {
  std::string s;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) s += ", ";
    s += excerpt(fields[i]);
  }
  return s;
}

template <class = void>
void check_unique_names(const csv_record& header, const std::string& source) {
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    if (header.fields[c].empty()) continue;
    for (std::size_t d = 0; d < c; ++d)
      if (iequals(header.fields[c], header.fields[d]))
        throw io_error(source, header.line, static_cast<std::int64_t>(c + 1),
                       str("duplicate column name ", excerpt(header.fields[c]), " (also column ", d + 1, ")"));
  }
}

/// A hint for a required column that is missing only because of surrounding spaces or quotes.
template <class = void>
std::string missing_column_hint(const csv_record& header, std::string_view name) {
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    std::string_view f = header.fields[c];
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t' || f.front() == '"')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t' || f.back() == '"')) f.remove_suffix(1);
    if (iequals(f, name))
      return str("; column ", c + 1, " is ", excerpt(header.fields[c]), " (header names are not trimmed)");
  }
  return {};
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_CSV_CHECKS_HPP
