// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTER_EXPRESSION_HPP
#define RECSYS_RANKING_FILTER_EXPRESSION_HPP

/// @file
/// Amazon Personalize's filter-expression language, parsed once into a syntax tree.
///
///     filter     := expression ( "|" expression )*
///     expression := ( INCLUDE | EXCLUDE ) ItemID WHERE condition-or [ IF condition-or ]
///     condition-or  := condition-and ( OR condition-and )*
///     condition-and := condition ( AND condition )*
///     condition  := dataset "." FIELD ( IN | NOT IN ) "(" value ( "," value )* ")"
///                 | dataset "." FIELD ( "=" | "<" | ">" | "<=" | ">=" ) value
///     dataset    := Items | Interactions (after WHERE) · CurrentUser (after IF)
///     value      := "string" | number | $PARAMETER | CurrentItem "." FIELD
///
/// Examples:
///     EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")
///     INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)
///     EXCLUDE ItemID WHERE Items.PRICE > 100 | INCLUDE ItemID WHERE Items.GENRE IN ("Comedy")
///     EXCLUDE ItemID WHERE Items.DOWNLOADS < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30
///     INCLUDE ItemID WHERE Items.CATEGORY IN (CurrentItem.CATEGORY)
///
/// Keywords and dataset names ignore case; field names are matched against metadata ignoring
/// case. AND binds tighter than OR. Rules Personalize enforces and recsys checks at parse time:
/// Interactions conditions use EVENT_TYPE with IN / NOT IN only; "*" (any event type) is allowed
/// only there; Items and Interactions conditions cannot be mixed in one expression (chain two
/// expressions with "|" instead); IF conditions are about CurrentUser only.
///
/// A syntax error is a recsys::invalid_argument whose message gives the column and the
/// expression with a caret under the offending place:
///
///     recsys::filter: column 22: expected WHERE
///       EXCLUDE ItemID WHERA Items.PRICE > 100
///                      ^

#include <recsys/config.hpp>
#include <recsys/fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// A comparison in a condition.
enum class filter_op { in, not_in, eq, lt, gt, le, ge };

/// A literal, a placeholder or a reference on the right-hand side of a condition.
struct filter_value {
  enum class kind {
    string,        ///< "text" (text holds it unescaped); "*" for Interactions.EVENT_TYPE means any
    number,        ///< a numeric literal (number holds it)
    parameter,     ///< $NAME, supplied per request (text holds NAME)
    current_item,  ///< CurrentItem.FIELD (text holds FIELD), for item-to-item queries
  };
  kind type = kind::string;
  std::string text;
  double number = 0;
  std::size_t column = 0;  ///< 1-based column in the expression
};

/// dataset.FIELD op value(s)
struct filter_condition {
  enum class source { items, interactions, current_user };
  source dataset = source::items;
  std::string field;
  filter_op op = filter_op::in;
  std::vector<filter_value> values;  ///< one for comparisons, one or more for IN / NOT IN
  std::size_t column = 0;
};

/// Conditions in disjunctive normal form: OR over groups, AND inside a group.
using filter_condition_dnf = std::vector<std::vector<filter_condition>>;

/// One INCLUDE / EXCLUDE expression.
struct filter_clause {
  bool include = false;            ///< INCLUDE (true) or EXCLUDE (false)
  filter_condition_dnf where;      ///< which items the clause is about
  filter_condition_dnf only_if;    ///< CurrentUser conditions; empty: the clause always applies
  std::size_t column = 0;          ///< where the clause starts
  [[nodiscard]] bool about_interactions() const noexcept {
    return !where.empty() && where.front().front().dataset == filter_condition::source::interactions;
  }
};

/// A parsed filter expression. Parse once, bind to data (recsys::item_filter), evaluate per request.
/// (`filter_expression` is `basic_filter_expression<>`; see config.hpp.)
template <class T>
class basic_filter_expression {
 public:
  basic_filter_expression() = default;

  /// Parses Personalize's filter syntax.
  /// @throws recsys::invalid_argument with the column and a caret excerpt on a syntax error.
  [[nodiscard]] static basic_filter_expression parse(std::string_view text);

  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::vector<filter_clause>& clauses() const noexcept { return clauses_; }

  /// The $PARAMETER names used, each once, in order of first use.
  [[nodiscard]] std::vector<std::string> parameters() const;

  /// Whether any value refers to CurrentItem (an item-to-item filter).
  [[nodiscard]] bool uses_current_item() const;

 private:
  template <class F>
  void visit_values(F&& f) const;

  std::string text_;
  std::vector<filter_clause> clauses_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/filter_expression-inl.hpp>
#else
namespace recsys {
extern template class basic_filter_expression<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_FILTER_EXPRESSION_HPP
