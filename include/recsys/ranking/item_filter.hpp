// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_ITEM_FILTER_HPP
#define RECSYS_RANKING_ITEM_FILTER_HPP

/// @file
/// recsys::item_filter: a parsed filter expression bound to data (an interaction log, Items and
/// Users metadata) and evaluated per request into an item_mask. The semantics are described in
/// ranking/filter.hpp (the header to include) and docs/reranking.md.
///
/// This header declares the type and its bound representation; the definitions are in
/// item_filter_binding-inl.hpp (binding: resolving fields, values and event types, and
/// precomputing what does not depend on the request) and item_filter_evaluation-inl.hpp
/// (evaluating a request), both included by item_filter-inl.hpp.

#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/field_type.hpp>
#include <recsys/fwd.hpp>
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/filter_params.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recsys {

/// What a filter is bound to. The log is required: it defines the dense item and user ids (the
/// model's) and holds the history for Interactions conditions. Items metadata is needed by
/// Items and CurrentItem conditions, Users metadata by IF CurrentUser conditions.
struct filter_data {
  const interaction_log* log = nullptr;
  const metadata_table* items = nullptr;
  const metadata_table* users = nullptr;
};

/// How a filter is bound.
struct filter_options {
  /// Interactions conditions look at each user's most recent events only (Personalize: the 200
  /// most recent historical events). 0 = every event. Recency: timestamp, then log order.
  std::size_t max_history_events = 200;
};

namespace detail {

/// A metadata field re-indexed by dense id (item or user): what conditions are evaluated on.
struct bound_field {
  std::string name;
  field_type type = field_type::categorical;
  // categorical: codes of dense id d in codes[offsets[d], offsets[d + 1]); dictionary as in the table
  id_map<std::string> dictionary;
  std::vector<std::int64_t> offsets{0};
  std::vector<index_t> codes;
  // numeric and timestamp (as double): value of dense id d, NaN when missing
  std::vector<double> numbers;
  // items only, categorical: code c -> dense items ascending, and the items with any value
  std::vector<std::int64_t> by_code_offsets;
  std::vector<index_t> by_code_items;
  item_mask has_value;

  [[nodiscard]] bool numeric() const noexcept { return type != field_type::categorical; }
  [[nodiscard]] std::span<const index_t> values(std::size_t d) const noexcept {
    return {codes.data() + offsets[d], static_cast<std::size_t>(offsets[d + 1] - offsets[d])};
  }
};

/// A condition after binding: field resolved, literal values resolved when the condition does
/// not depend on the request.
struct bound_condition {
  filter_condition syntax;   // as parsed (values keep their kinds and columns)
  int field = -1;            // index into the item or user fields
  bool dynamic = false;      // uses a $PARAMETER or CurrentItem
  std::vector<index_t> codes;    // resolved categorical codes (static conditions)
  std::vector<double> numbers;   // resolved numbers (static conditions)
  std::vector<char> event_ok;    // interactions: per event type index, whether the list holds it
  bool any_event = false;        // interactions: "*" listed
};

/// One AND-group after binding.
struct bound_group {
  std::vector<bound_condition> conditions;  // every condition (users: IF conditions)
  std::vector<std::size_t> dynamic;         // positions of the dynamic ones
  item_mask static_match;                   // items: AND of the static conditions (all items if none)
};

struct bound_clause {
  bool include = false;
  bool interactions = false;
  std::size_t column = 0;
  std::vector<bound_group> where;
  std::vector<bound_group> only_if;  // empty: always applies
  bool where_static = false;         // items clause whose WHERE has no dynamic condition
  item_mask where_match;             // ... and its precomputed match
  std::vector<std::string> parameters;  // every $NAME the clause uses (WHERE and IF)
  bool uses_current_item = false;
};

}  // namespace detail

/// A filter expression bound to data; evaluates per request into the items a query may return.
/// Binding costs O(items + events + metadata values); a request costs one copy of the
/// precomputed mask (items / 64 words) plus the work of the conditions that depend on it.
/// Const methods are thread-safe. Copyable and movable. (`item_filter` is
/// `basic_item_filter<>`; see config.hpp.)
template <class T>
class basic_item_filter {
 public:
  /// A filter with no expression over no items (allows nothing; bind one to use it).
  basic_item_filter() = default;

  /// Binds `expression` to `data`.
  /// @throws recsys::invalid_argument when data.log is null; when a condition needs metadata or
  ///         an interaction log that is missing; for an unknown field, an operator that does not
  ///         fit the field's type, a literal that is not a number for a numeric field (each
  ///         message gives the column in the expression).
  basic_item_filter(const filter_expression& expression, const filter_data& data, const filter_options& options = {});

  /// Parses and binds in one step.
  /// @throws recsys::invalid_argument for a syntax error (column and caret) or as the other constructor.
  basic_item_filter(std::string_view expression, const filter_data& data, const filter_options& options = {});

  [[nodiscard]] const filter_expression& expression() const noexcept { return expression_; }
  [[nodiscard]] const filter_options& options() const noexcept { return options_; }
  /// Catalogue size (the log's items): the size of every mask.
  [[nodiscard]] index_t num_items() const noexcept { return num_items_; }
  /// The $PARAMETER names, in order of first use.
  [[nodiscard]] std::vector<std::string> parameters() const { return expression_.parameters(); }
  /// Whether results differ between users (Interactions conditions or IF CurrentUser).
  [[nodiscard]] bool depends_on_user() const noexcept { return depends_on_user_; }
  /// Whether anything is evaluated per request (user, parameters, current item).
  [[nodiscard]] bool is_static() const noexcept { return dynamic_.empty(); }

  /// The items `user` may be recommended in this request.
  /// @param user          dense user index; unknown users (out of range) have no history and no metadata.
  /// @param params        values of the $PARAMETERS.
  /// @param current_item  the item of an item-to-item query, or invalid_index.
  /// @throws recsys::invalid_argument for a parameter the filter does not use, a missing value
  ///         an INCLUDE expression needs, a value that is not a number where one is compared,
  ///         several values for a comparison, or a current item outside the catalogue.
  [[nodiscard]] item_mask allowed(index_t user, const filter_params& params = {},
                                  index_t current_item = invalid_index) const;

  /// Whether a single item is allowed (evaluates the whole request: prefer allowed() for many).
  [[nodiscard]] bool allows(index_t user, index_t item, const filter_params& params = {},
                            index_t current_item = invalid_index) const {
    return allowed(user, params, current_item).test(item);
  }

 private:
  using source = filter_condition::source;

  // Binding (item_filter_binding-inl.hpp).
  void bind(const filter_data& data);
  [[noreturn]] void fail(std::size_t column, const std::string& what) const;
  int field_index(bool items, const std::string& name, const filter_data& data, const std::vector<index_t>& rows,
                  std::size_t column);
  detail::bound_condition bind_condition(const filter_condition& cond, const filter_data& data,
                                         const std::vector<index_t>& item_rows, const std::vector<index_t>& user_rows);
  static void resolve_event_types(detail::bound_condition& b, std::span<const std::string> values,
                                  const id_map<std::string>& names);
  /// A literal or parameter value as a number (finite, the whole text), else nullopt.
  [[nodiscard]] static std::optional<double> to_number(std::string_view s) noexcept;

  // Evaluation (item_filter_evaluation-inl.hpp).
  [[nodiscard]] item_mask items_condition(const detail::bound_condition& c, std::span<const index_t> codes,
                                          std::span<const double> numbers) const;
  bool resolve(const detail::bound_condition& c, const detail::bound_field& f, const filter_params& params,
               index_t current_item, std::vector<index_t>& codes, std::vector<double>& numbers) const;
  bool user_condition(const detail::bound_condition& c, index_t user, const filter_params& params) const;
  bool applies(const detail::bound_clause& c, index_t user, const filter_params& params) const;
  bool interaction_items(const detail::bound_condition& c, index_t user, const filter_params& params,
                         std::vector<index_t>& out) const;
  void apply(const detail::bound_clause& c, index_t user, const filter_params& params, index_t current_item,
             item_mask& allowed) const;
  /// Numbers compare like SQL: NaN (missing) is false for every operator.
  [[nodiscard]] static bool compare(double x, filter_op op, double v) noexcept;

  filter_expression expression_;
  filter_options options_;
  index_t num_items_ = 0;
  index_t num_users_ = 0;
  item_mask static_allowed_;
  std::vector<detail::bound_clause> clauses_;  // clauses evaluated per request
  std::vector<std::size_t> dynamic_;           // their positions (all of clauses_)
  bool depends_on_user_ = false;
  std::vector<detail::bound_field> item_fields_;
  std::vector<detail::bound_field> user_fields_;
  std::vector<std::int64_t> history_offsets_;
  std::vector<index_t> history_items_;
  std::vector<index_t> history_types_;
  id_map<std::string> event_type_names_;
};

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/item_filter-inl.hpp>
#else
namespace recsys {
extern template class basic_item_filter<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_ITEM_FILTER_HPP
