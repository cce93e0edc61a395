// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_ITEM_FILTER_BINDING_INL_HPP
#define RECSYS_RANKING_ITEM_FILTER_BINDING_INL_HPP

/// @file
/// Definitions of ranking/item_filter.hpp, part 1: binding a parsed expression to data (field
/// and value resolution, error messages with the column, precomputing the static clauses).
/// Included by item_filter-inl.hpp.

#include <recsys/ranking/item_filter.hpp>

#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/ranking/recent_events.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {

/// Re-indexes `f` by dense id through `rows` (dense id -> table row or -1).
template <class = void>
[[nodiscard]] bound_field bind_field(const metadata_field& f, const std::vector<index_t>& rows, bool items) {
  bound_field b;
  b.name = f.name;
  b.type = f.type;
  const std::size_t n = rows.size();
  if (f.type == field_type::categorical) {
    b.dictionary = f.dictionary;
    b.offsets.reserve(n + 1);
    for (std::size_t d = 0; d < n; ++d) {
      if (rows[d] >= 0)
        for (const index_t c : f.values(static_cast<std::size_t>(rows[d]))) b.codes.push_back(c);
      b.offsets.push_back(static_cast<std::int64_t>(b.codes.size()));
    }
    if (items) {
      const auto nc = static_cast<std::size_t>(b.dictionary.size());
      b.by_code_offsets.assign(nc + 1, 0);
      b.has_value = item_mask(static_cast<index_t>(n), false);
      for (std::size_t d = 0; d < n; ++d) {
        auto vals = b.values(d);
        if (!vals.empty()) b.has_value.set(static_cast<index_t>(d));
        // a value written twice for one item ("a|a") is indexed once
        for (std::size_t j = 0; j < vals.size(); ++j)
          if (std::find(vals.begin(), vals.begin() + static_cast<std::ptrdiff_t>(j), vals[j]) ==
              vals.begin() + static_cast<std::ptrdiff_t>(j))
            ++b.by_code_offsets[static_cast<std::size_t>(vals[j]) + 1];
      }
      for (std::size_t c = 0; c < nc; ++c) b.by_code_offsets[c + 1] += b.by_code_offsets[c];
      b.by_code_items.resize(static_cast<std::size_t>(b.by_code_offsets[nc]));
      std::vector<std::int64_t> next(b.by_code_offsets.begin(), b.by_code_offsets.end() - 1);
      for (std::size_t d = 0; d < n; ++d) {
        auto vals = b.values(d);
        for (std::size_t j = 0; j < vals.size(); ++j)
          if (std::find(vals.begin(), vals.begin() + static_cast<std::ptrdiff_t>(j), vals[j]) ==
              vals.begin() + static_cast<std::ptrdiff_t>(j))
            b.by_code_items[static_cast<std::size_t>(next[static_cast<std::size_t>(vals[j])]++)] =
                static_cast<index_t>(d);
      }
    }
  } else {
    b.numbers.assign(n, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t d = 0; d < n; ++d) {
      if (rows[d] < 0) continue;
      const auto r = static_cast<std::size_t>(rows[d]);
      if (f.type == field_type::numeric) {
        b.numbers[d] = f.numbers[r];
      } else if (f.timestamps[r] != missing_timestamp) {
        b.numbers[d] = static_cast<double>(f.timestamps[r]);
      }
    }
  }
  return b;
}

}  // namespace detail

template <class T>
basic_item_filter<T>::basic_item_filter(const filter_expression& expression, const filter_data& data,
                                        const filter_options& options)
    : expression_(expression), options_(options) {
  bind(data);
}

template <class T>
basic_item_filter<T>::basic_item_filter(std::string_view expression, const filter_data& data,
                                        const filter_options& options)
    : basic_item_filter(filter_expression::parse(expression), data, options) {}

template <class T>
void basic_item_filter<T>::bind(const filter_data& data) {
  constexpr const char* where = "item_filter";
  RECSYS_REQUIRE(data.log != nullptr, where, "filter_data::log is required (it defines the item and user ids)");
  const interaction_log& log = *data.log;
  num_items_ = log.num_items();
  num_users_ = log.num_users();
  static_allowed_ = item_mask(num_items_, true);
  std::vector<index_t> item_rows, user_rows;
  if (data.items) item_rows = data.items->align(log.item_ids);
  if (data.users) user_rows = data.users->align(log.user_ids);

  bool needs_history = false;
  for (const auto& clause : expression_.clauses()) {
    detail::bound_clause b;
    b.include = clause.include;
    b.interactions = clause.about_interactions();
    b.column = clause.column;
    needs_history = needs_history || b.interactions;
    for (const auto* dnf : {&clause.where, &clause.only_if}) {
      const bool user_side = dnf == &clause.only_if;
      auto& groups = user_side ? b.only_if : b.where;
      for (const auto& group : *dnf) {
        detail::bound_group g;
        for (const auto& cond : group) {
          g.conditions.push_back(bind_condition(cond, data, item_rows, user_rows));
          const auto& bc = g.conditions.back();
          if (bc.dynamic) g.dynamic.push_back(g.conditions.size() - 1);
          for (const auto& v : cond.values) {
            if (v.type == filter_value::kind::parameter &&
                std::find(b.parameters.begin(), b.parameters.end(), v.text) == b.parameters.end())
              b.parameters.push_back(v.text);
            if (v.type == filter_value::kind::current_item) b.uses_current_item = true;
          }
        }
        groups.push_back(std::move(g));
      }
    }
    if (!b.interactions) {
      for (auto& g : b.where) {
        g.static_match = item_mask(num_items_, true);
        for (const auto& cond : g.conditions)
          if (!cond.dynamic) g.static_match &= items_condition(cond, cond.codes, cond.numbers);
      }
      b.where_static = std::all_of(b.where.begin(), b.where.end(), [](const auto& g) { return g.dynamic.empty(); });
      if (b.where_static) {
        b.where_match = item_mask(num_items_, false);
        for (const auto& g : b.where) b.where_match |= g.static_match;
        for (auto& g : b.where) g.static_match = item_mask();  // folded into where_match
      }
    }
    if (!b.interactions && b.where_static && b.only_if.empty()) {
      // Independent of the request: folded into the precomputed mask once.
      if (b.include) static_allowed_ &= b.where_match;
      else static_allowed_.subtract(b.where_match);
      continue;
    }
    depends_on_user_ = depends_on_user_ || b.interactions || !b.only_if.empty();
    clauses_.push_back(std::move(b));
    dynamic_.push_back(clauses_.size() - 1);
  }
  if (needs_history) {
    const detail::user_event_rows recent = detail::recent_event_rows(log, options_.max_history_events);
    history_offsets_ = recent.offsets;
    history_items_.resize(recent.rows.size());
    history_types_.resize(recent.rows.size());
    for (std::size_t j = 0; j < recent.rows.size(); ++j) {
      history_items_[j] = log.items[recent.rows[j]];
      history_types_[j] = log.event_types[recent.rows[j]];
    }
    event_type_names_ = log.event_type_names;
  }
}

template <class T>
void basic_item_filter<T>::fail(std::size_t column, const std::string& what) const {
  std::string line = expression_.text();
  for (char& ch : line)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  const std::size_t at = column == 0 ? 0 : std::min(column - 1, line.size());
  throw invalid_argument(detail::str("recsys::filter: column ", at + 1, ": ", what, "\n  ", line, "\n  ",
                                     std::string(at, ' '), "^"));
}

// Finds (or binds) the dense-indexed copy of a metadata field; returns its index.
template <class T>
int basic_item_filter<T>::field_index(bool items, const std::string& name, const filter_data& data,
                                      const std::vector<index_t>& rows, std::size_t column) {
  auto& fields = items ? item_fields_ : user_fields_;
  for (std::size_t f = 0; f < fields.size(); ++f)
    if (detail::iequals(fields[f].name, name)) return static_cast<int>(f);
  const metadata_table* table = items ? data.items : data.users;
  if (table == nullptr)
    fail(column, items ? "this condition needs Items metadata (filter_data::items is not set)"
                       : "this condition needs Users metadata (filter_data::users is not set)");
  const metadata_field* f = table->find_field(name);
  if (f == nullptr) {
    std::string have;
    for (const auto& g : table->fields) have += (have.empty() ? "" : ", ") + g.name;
    fail(column, detail::str(items ? "Items" : "Users", " metadata has no field '", name, "' (fields: ", have, ")"));
  }
  fields.push_back(detail::bind_field(*f, rows, items));
  return static_cast<int>(fields.size() - 1);
}

template <class T>
detail::bound_condition basic_item_filter<T>::bind_condition(const filter_condition& cond, const filter_data& data,
                                                              const std::vector<index_t>& item_rows,
                                                              const std::vector<index_t>& user_rows) {
  detail::bound_condition b;
  b.syntax = cond;
  for (const auto& v : cond.values)
    b.dynamic = b.dynamic || v.type == filter_value::kind::parameter || v.type == filter_value::kind::current_item;
  if (cond.dataset == source::interactions) {
    const bool named = std::any_of(cond.values.begin(), cond.values.end(), [](const filter_value& v) {
      return !(v.type == filter_value::kind::string && v.text == "*");
    });
    if (named && !data.log->has_event_type)
      fail(cond.column, "the interaction log has no EVENT_TYPE column: only \"*\" (any event) can match here");
    b.event_ok.assign(static_cast<std::size_t>(data.log->event_type_names.size()), 0);
    if (!b.dynamic) resolve_event_types(b, {}, data.log->event_type_names);
    return b;
  }
  const bool items = cond.dataset == source::items;
  b.field = field_index(items, cond.field, data, items ? item_rows : user_rows, cond.column);
  std::vector<int> sources;  // the fields CurrentItem values refer to (bound first: binding moves fields)
  for (const auto& v : cond.values)
    if (v.type == filter_value::kind::current_item) sources.push_back(field_index(true, v.text, data, item_rows, v.column));
  const detail::bound_field& f = (items ? item_fields_ : user_fields_)[static_cast<std::size_t>(b.field)];
  const bool ordered = cond.op == filter_op::lt || cond.op == filter_op::gt || cond.op == filter_op::le ||
                       cond.op == filter_op::ge;
  if (ordered && !f.numeric())
    fail(cond.column, detail::str(items ? "Items." : "CurrentUser.", f.name,
                                  " is categorical: <, >, <= and >= need a numeric field"));
  std::size_t next_source = 0;
  for (const auto& v : cond.values) {
    if (v.type == filter_value::kind::current_item) {
      const int src = sources[next_source++];
      if (item_fields_[static_cast<std::size_t>(src)].numeric() != f.numeric())
        fail(v.column, detail::str("CurrentItem.", v.text, " is ",
                                   item_fields_[static_cast<std::size_t>(src)].numeric() ? "numeric" : "categorical",
                                   " but ", f.name, " is ", f.numeric() ? "numeric" : "categorical"));
    }
    if (f.numeric() && v.type == filter_value::kind::string && !to_number(v.text))
      fail(v.column, detail::str(f.name, " is numeric: \"", v.text, "\" is not a number"));
  }
  if (!b.dynamic) {
    for (const auto& v : cond.values) {
      if (f.numeric()) b.numbers.push_back(v.type == filter_value::kind::number ? v.number : *to_number(v.text));
      else if (const auto code = f.dictionary.find(v.text)) b.codes.push_back(*code);
    }
  }
  return b;
}

// Marks the event types a condition lists ("*": any), case-insensitively: its literal values
// and `values` (those of its parameters).
template <class T>
void basic_item_filter<T>::resolve_event_types(detail::bound_condition& b, std::span<const std::string> values,
                                               const id_map<std::string>& names) {
  std::fill(b.event_ok.begin(), b.event_ok.end(), 0);
  b.any_event = false;
  const auto mark = [&](std::string_view name) {
    if (name == "*") {
      b.any_event = true;
      return;
    }
    for (index_t t = 0; t < names.size(); ++t)
      if (detail::iequals(names.ids()[static_cast<std::size_t>(t)], name)) b.event_ok[static_cast<std::size_t>(t)] = 1;
  };
  for (const auto& v : b.syntax.values)
    if (v.type != filter_value::kind::parameter) mark(v.text);
  for (const auto& s : values) mark(s);
}

template <class T>
std::optional<double> basic_item_filter<T>::to_number(std::string_view s) noexcept {
  double x = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(x)) return std::nullopt;
  return x;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_ITEM_FILTER_BINDING_INL_HPP
