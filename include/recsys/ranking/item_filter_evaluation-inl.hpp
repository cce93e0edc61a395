// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_ITEM_FILTER_EVALUATION_INL_HPP
#define RECSYS_RANKING_ITEM_FILTER_EVALUATION_INL_HPP

/// @file
/// Definitions of ranking/item_filter.hpp, part 2: evaluating a bound filter for one request
/// (parameters, CurrentItem, IF CurrentUser, Interactions history). Included by
/// item_filter-inl.hpp.

#include <recsys/ranking/item_filter.hpp>

#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/filter_params.hpp>
#include <recsys/ranking/item_mask.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

template <class T>
item_mask basic_item_filter<T>::allowed(index_t user, const filter_params& params, index_t current_item) const {
  constexpr const char* where = "item_filter::allowed";
  RECSYS_REQUIRE(current_item == invalid_index || (current_item >= 0 && current_item < num_items_), where,
                 "current item ", current_item, " is outside the catalogue [0, ", num_items_, ")");
  const std::vector<std::string> names = parameters();
  for (const auto& [name, values] : params.entries()) {
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "$" : ", $") + n;
    detail::throw_invalid_argument(where, "the filter has no parameter $", name,
                                   known.empty() ? std::string(" (it uses none)") : " (it uses " + known + ")");
  }
  for (const std::size_t c : dynamic_) {
    const auto& clause = clauses_[c];
    if (!clause.include) continue;
    for (const auto& p : clause.parameters)
      RECSYS_REQUIRE(params.has_value(p), where, "the INCLUDE expression at column ", clause.column,
                     " needs a value for $", p, " (only EXCLUDE expressions may leave a parameter unset)");
    RECSYS_REQUIRE(!clause.uses_current_item || current_item != invalid_index, where,
                   "the INCLUDE expression at column ", clause.column,
                   " refers to CurrentItem: give the current item of the query");
  }
  item_mask out = static_allowed_;
  for (const std::size_t c : dynamic_) apply(clauses_[c], user, params, current_item, out);
  return out;
}

// Items matching one Items condition, given its resolved codes / numbers.
template <class T>
item_mask basic_item_filter<T>::items_condition(const detail::bound_condition& c, std::span<const index_t> codes,
                                                std::span<const double> numbers) const {
  const detail::bound_field& f = item_fields_[static_cast<std::size_t>(c.field)];
  const filter_op op = c.syntax.op;
  if (!f.numeric()) {
    item_mask in(num_items_, false);
    for (const index_t code : codes) {
      const auto b = f.by_code_offsets[static_cast<std::size_t>(code)];
      const auto e = f.by_code_offsets[static_cast<std::size_t>(code) + 1];
      for (auto j = b; j < e; ++j) in.set(f.by_code_items[static_cast<std::size_t>(j)]);
    }
    if (op != filter_op::not_in) return in;  // IN and =
    item_mask out = f.has_value;
    out.subtract(in);
    return out;
  }
  const double* x = f.numbers.data();
  const index_t n = num_items_;
  switch (op) {
    case filter_op::in:
      return item_mask::where(n, [&](index_t i) {
        return std::find(numbers.begin(), numbers.end(), x[i]) != numbers.end();
      });
    case filter_op::not_in:
      return item_mask::where(n, [&](index_t i) {
        return !std::isnan(x[i]) && std::find(numbers.begin(), numbers.end(), x[i]) == numbers.end();
      });
    default: break;
  }
  if (numbers.empty()) return item_mask(n, false);
  const double v = numbers[0];
  switch (op) {
    case filter_op::eq: return item_mask::where(n, [&](index_t i) { return x[i] == v; });
    case filter_op::lt: return item_mask::where(n, [&](index_t i) { return x[i] < v; });
    case filter_op::gt: return item_mask::where(n, [&](index_t i) { return x[i] > v; });
    case filter_op::le: return item_mask::where(n, [&](index_t i) { return x[i] <= v; });
    default: return item_mask::where(n, [&](index_t i) { return x[i] >= v; });
  }
}

// Resolves the values of a dynamic Items / CurrentUser condition for one request. Returns
// false when the condition is switched off (an unset parameter or no current item, which
// allowed() has already rejected for INCLUDE expressions).
template <class T>
bool basic_item_filter<T>::resolve(const detail::bound_condition& c, const detail::bound_field& f,
                                   const filter_params& params, index_t current_item, std::vector<index_t>& codes,
                                   std::vector<double>& numbers) const {
  constexpr const char* where = "item_filter::allowed";
  codes.clear();
  numbers.clear();
  const bool list = c.syntax.op == filter_op::in || c.syntax.op == filter_op::not_in;
  const auto add_text = [&](std::string_view s, const char* what) {
    if (f.numeric()) {
      const auto x = to_number(s);
      RECSYS_REQUIRE(x.has_value(), where, f.name, " is numeric but ", what, " '", s, "' is not a number");
      numbers.push_back(*x);
    } else if (const auto code = f.dictionary.find(s)) {
      codes.push_back(*code);
    }
  };
  for (const auto& v : c.syntax.values) {
    switch (v.type) {
      case filter_value::kind::string: add_text(v.text, "the value"); break;
      case filter_value::kind::number:
        if (f.numeric()) numbers.push_back(v.number);
        else add_text(v.text, "the value");
        break;
      case filter_value::kind::parameter: {
        const auto values = params.values(v.text);
        if (values.empty()) return false;
        RECSYS_REQUIRE(list || values.size() == 1, where, "$", v.text, " has ", values.size(),
                       " values but the condition at column ", c.syntax.column, " compares with one");
        for (const auto& s : values) add_text(s, ("the value of $" + v.text).c_str());
        break;
      }
      case filter_value::kind::current_item: {
        if (current_item == invalid_index) return false;
        const detail::bound_field* src = nullptr;
        for (const auto& g : item_fields_)
          if (detail::iequals(g.name, v.text)) src = &g;
        const auto d = static_cast<std::size_t>(current_item);
        if (src->numeric()) {
          if (!std::isnan(src->numbers[d])) numbers.push_back(src->numbers[d]);
        } else {
          for (const index_t code : src->values(d)) {
            if (src == &f) codes.push_back(code);
            else if (const auto mapped = f.dictionary.find(src->dictionary.ids()[static_cast<std::size_t>(code)]))
              codes.push_back(*mapped);
          }
        }
        break;
      }
    }
  }
  return true;
}

// Whether the user's metadata satisfies one CurrentUser condition.
template <class T>
bool basic_item_filter<T>::user_condition(const detail::bound_condition& c, index_t user,
                                          const filter_params& params) const {
  const detail::bound_field& f = user_fields_[static_cast<std::size_t>(c.field)];
  std::vector<index_t> codes;
  std::vector<double> numbers;
  if (c.dynamic) {
    if (!resolve(c, f, params, invalid_index, codes, numbers)) return false;
  } else {
    codes = c.codes;
    numbers = c.numbers;
  }
  if (user < 0 || user >= num_users_) return false;
  const auto u = static_cast<std::size_t>(user);
  const filter_op op = c.syntax.op;
  if (f.numeric()) {
    const double x = f.numbers[u];
    if (std::isnan(x)) return false;
    if (op == filter_op::in || op == filter_op::not_in) {
      const bool listed = std::find(numbers.begin(), numbers.end(), x) != numbers.end();
      return op == filter_op::in ? listed : !listed;
    }
    return !numbers.empty() && compare(x, op, numbers[0]);
  }
  const auto vals = f.values(u);
  if (vals.empty()) return false;
  bool listed = false;
  for (const index_t v : vals) listed = listed || std::find(codes.begin(), codes.end(), v) != codes.end();
  return op == filter_op::not_in ? !listed : listed;
}

template <class T>
bool basic_item_filter<T>::applies(const detail::bound_clause& c, index_t user, const filter_params& params) const {
  if (c.only_if.empty()) return true;
  for (const auto& g : c.only_if) {
    bool all = true;
    for (const auto& cond : g.conditions) all = all && user_condition(cond, user, params);
    if (all) return true;
  }
  return false;
}

// Items with an event of `user` (in the capped history) satisfying one Interactions
// condition, sorted and distinct; false when the condition is switched off.
template <class T>
bool basic_item_filter<T>::interaction_items(const detail::bound_condition& c, index_t user,
                                             const filter_params& params, std::vector<index_t>& out) const {
  out.clear();
  const detail::bound_condition* cond = &c;
  detail::bound_condition resolved;
  if (c.dynamic) {
    resolved = c;
    std::vector<std::string> values;
    for (const auto& v : c.syntax.values) {
      if (v.type != filter_value::kind::parameter) continue;
      const auto vals = params.values(v.text);
      if (vals.empty()) return false;
      values.insert(values.end(), vals.begin(), vals.end());
    }
    resolve_event_types(resolved, values, event_type_names_);
    cond = &resolved;
  }
  if (user < 0 || user >= num_users_ || history_offsets_.empty()) return true;
  const auto u = static_cast<std::size_t>(user);
  const bool negated = c.syntax.op == filter_op::not_in;
  for (auto j = history_offsets_[u]; j < history_offsets_[u + 1]; ++j) {
    const index_t t = history_types_[static_cast<std::size_t>(j)];
    bool hit = false;
    if (negated) hit = !cond->any_event && t >= 0 && !cond->event_ok[static_cast<std::size_t>(t)];
    else hit = cond->any_event || (t >= 0 && cond->event_ok[static_cast<std::size_t>(t)]);
    if (hit) out.push_back(history_items_[static_cast<std::size_t>(j)]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

template <class T>
void basic_item_filter<T>::apply(const detail::bound_clause& c, index_t user, const filter_params& params,
                                 index_t current_item, item_mask& allowed) const {
  if (!applies(c, user, params)) return;
  if (c.interactions) {
    std::vector<index_t> matched, group_items, cond_items, tmp;
    for (const auto& g : c.where) {
      bool off = false;
      for (std::size_t k = 0; k < g.conditions.size() && !off; ++k) {
        off = !interaction_items(g.conditions[k], user, params, cond_items);
        if (off) break;
        if (k == 0) {
          group_items = cond_items;
        } else {
          tmp.clear();
          std::set_intersection(group_items.begin(), group_items.end(), cond_items.begin(), cond_items.end(),
                                std::back_inserter(tmp));
          group_items.swap(tmp);
        }
      }
      if (off) continue;
      tmp.clear();
      std::set_union(matched.begin(), matched.end(), group_items.begin(), group_items.end(), std::back_inserter(tmp));
      matched.swap(tmp);
    }
    if (c.include) {
      item_mask keep(num_items_, false);
      for (const index_t i : matched)
        if (allowed.test(i)) keep.set(i);
      allowed = std::move(keep);
    } else {
      for (const index_t i : matched) allowed.set(i, false);
    }
    return;
  }
  item_mask match;
  if (c.where_static) {
    match = c.where_match;
  } else {
    match = item_mask(num_items_, false);
    std::vector<index_t> codes;
    std::vector<double> numbers;
    for (const auto& g : c.where) {
      item_mask m = g.static_match;
      bool off = false;
      for (const std::size_t k : g.dynamic) {
        const auto& cond = g.conditions[k];
        if (!resolve(cond, item_fields_[static_cast<std::size_t>(cond.field)], params, current_item, codes,
                     numbers)) {
          off = true;
          break;
        }
        m &= items_condition(cond, codes, numbers);
      }
      if (!off) match |= m;
    }
  }
  if (c.include) allowed &= match;
  else allowed.subtract(match);
}

template <class T>
bool basic_item_filter<T>::compare(double x, filter_op op, double v) noexcept {
  switch (op) {
    case filter_op::eq: return x == v;
    case filter_op::lt: return x < v;
    case filter_op::gt: return x > v;
    case filter_op::le: return x <= v;
    case filter_op::ge: return x >= v;
    default: return false;
  }
}

}  // namespace recsys

#endif  // RECSYS_RANKING_ITEM_FILTER_EVALUATION_INL_HPP
