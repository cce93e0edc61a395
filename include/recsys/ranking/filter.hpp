// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_FILTER_HPP
#define RECSYS_RANKING_FILTER_HPP

/// @file
/// Business filters in Amazon Personalize's filter-expression syntax, bound once to the data
/// and evaluated per request into a mask of the items a query may return.
///
/// - recsys::item_filter binds a parsed recsys::filter_expression to an interaction log (dense
///   item / user ids, and the per-user event history for Interactions conditions), Items
///   metadata and Users metadata. Binding resolves field names, literal values and event types,
///   and precomputes every condition that does not depend on the request. The bound filter is
///   self-contained: the log and the tables may be destroyed afterwards.
/// - item_filter::allowed(user, params, current_item) evaluates the rest (IF CurrentUser
///   conditions, Interactions conditions, $PARAMETERS, CurrentItem references) into an
///   recsys::item_mask, one bit per catalogue item.
/// - item_filter::options() turns that mask into recommend_options (an include or exclude list),
///   so every recipe applies the filter before it truncates to k: a filter never returns fewer
///   items than exist. recommend_filtered() / recommend_filtered_batch() do both steps.
///
/// Semantics (docs/reranking.md has the full table, side by side with Personalize's):
/// - An item is allowed when it passes every expression of the chain `e1 | e2 | ...` that
///   applies to the request: INCLUDE keeps only the items matching its WHERE, EXCLUDE removes
///   them. An expression with `IF cond` applies only when CurrentUser satisfies cond; a user
///   without metadata (or without the field) never satisfies it.
/// - WHERE and IF are OR-of-ANDs (AND binds tighter). A condition on a missing value is false
///   for every operator (NOT IN included): an item without a PRICE is neither `> 100` nor
///   `<= 100`; an item without metadata matches no Items condition.
/// - Categorical fields: IN matches when any of the item's values is listed, NOT IN when the
///   item has values and none is listed, `=` is IN with one value; values match exactly (case
///   counts). `<`, `>`, `<=`, `>=` need a numeric field or CREATION_TIMESTAMP.
/// - Numeric fields and CREATION_TIMESTAMP: every operator compares numbers; IN / NOT IN values
///   must be numbers ("10" or 10).
/// - Interactions.EVENT_TYPE IN (...) matches the items the user has an event of a listed type
///   on, among the user's `max_history_events` most recent events (Personalize: 200); NOT IN
///   matches items with an event of another type; "*" matches any event. Event types ignore
///   case. Events without an EVENT_TYPE match only "*". Unknown users have no events.
/// - $PARAMETERS: values come per request (filter_params; a parameter may take several values,
///   as Personalize's filterValues). An INCLUDE expression needs a value for every parameter it
///   uses (recsys::invalid_argument otherwise). In an EXCLUDE expression, a condition using a
///   parameter without a value is false: the AND-group holding it excludes nothing, other
///   OR-groups still apply, and an IF condition with it makes the expression not apply — an
///   unset parameter can only make an EXCLUDE exclude less. Parameters the filter does not use
///   are an error (a misspelt name would otherwise be ignored).
/// - CurrentItem.FIELD (item-to-item queries) takes the current item's values of FIELD; without
///   a current item it behaves like an unset parameter; a current item without the value
///   contributes no value (IN then matches nothing, a comparison is false).
///
/// @code
///   auto items = recsys::read_items_csv("items.csv");     // data/metadata.hpp
///   recsys::item_filter f("EXCLUDE ItemID WHERE Items.PRICE > $MAX | "
///                         "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")",
///                         {.log = &train, .items = &items});
///   recsys::filter_params values;
///   values.add("MAX", "100");
///   recsys::topk_result top = recsys::recommend_filtered(model, user, 10, f, values);
/// @endcode
///
/// The parts, one concern per header (this header includes them all):
/// - ranking/filter_expression.hpp: the syntax tree and the parser (filter_expression::parse).
/// - ranking/item_mask.hpp: item_mask, the set of items a request may return.
/// - ranking/filter_params.hpp: filter_params (the $PARAMETERS' values) and parse_filter_values.
/// - ranking/item_filter.hpp: item_filter, filter_data, filter_options; its definitions are split
///   into binding (item_filter_binding-inl.hpp) and evaluation (item_filter_evaluation-inl.hpp).
/// - ranking/filtered_options.hpp: filtered_options (a mask as recommend_options).
/// - ranking/recommend_filtered.hpp: recommend_filtered(), recommend_filtered_batch().
/// The Interactions history comes from ranking/recent_events.hpp (each user's most recent events),
/// which pipelines use too.

#include <recsys/ranking/filter_expression.hpp>
#include <recsys/ranking/filter_params.hpp>
#include <recsys/ranking/filtered_options.hpp>
#include <recsys/ranking/item_filter.hpp>
#include <recsys/ranking/item_mask.hpp>
#include <recsys/ranking/recommend_filtered.hpp>

#endif  // RECSYS_RANKING_FILTER_HPP
