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
///   auto items = recsys::read_items_csv("items.csv");
///   recsys::item_filter f("EXCLUDE ItemID WHERE Items.PRICE > $MAX | "
///                         "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"purchase\")",
///                         {.log = &train, .items = &items});
///   recsys::filter_params values;
///   values.add("MAX", "100");
///   recsys::topk_result top = recsys::recommend_filtered(model, user, 10, f, values);
/// @endcode

#include <recsys/data/interaction_log.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/detail/strings.hpp>
#include <recsys/errors.hpp>
#include <recsys/models/recommender.hpp>
#include <recsys/parallel.hpp>
#include <recsys/ranking/filter_expression.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// A set of catalogue items, one bit per item: what a filter allows for one request.
class item_mask {
 public:
  item_mask() = default;
  /// `num_items` items, all in the set (value = true) or none.
  explicit item_mask(index_t num_items, bool value = true) {
    RECSYS_REQUIRE(num_items >= 0, "item_mask", "num_items must be >= 0 (got ", num_items, ")");
    size_ = num_items;
    words_.assign((static_cast<std::size_t>(num_items) + 63) / 64, value ? ~std::uint64_t{0} : 0);
    clear_tail();
  }

  /// The items i of [0, num_items) for which pred(i) is true (built 64 items per word).
  template <class Pred>
  [[nodiscard]] static item_mask where(index_t num_items, Pred&& pred) {
    item_mask m(num_items, false);
    for (std::size_t w = 0; w < m.words_.size(); ++w) {
      const auto base = static_cast<index_t>(w * 64);
      const index_t end = std::min<index_t>(num_items, base + 64);
      std::uint64_t bits = 0;
      for (index_t i = base; i < end; ++i) bits |= static_cast<std::uint64_t>(static_cast<bool>(pred(i))) << (i - base);
      m.words_[w] = bits;
    }
    return m;
  }

  /// The set of `items` (ids outside [0, num_items) are ignored; duplicates do not matter).
  [[nodiscard]] static item_mask of(index_t num_items, std::span<const index_t> items) {
    item_mask m(num_items, false);
    for (const index_t i : items) m.set(i);
    return m;
  }

  [[nodiscard]] index_t size() const noexcept { return size_; }
  /// Whether item i is in the set (false outside [0, size())).
  [[nodiscard]] bool test(index_t i) const noexcept {
    return i >= 0 && i < size_ && ((words_[static_cast<std::size_t>(i) >> 6] >> (i & 63)) & 1u) != 0;
  }
  [[nodiscard]] bool operator[](index_t i) const noexcept { return test(i); }
  /// Adds (value = true) or removes item i; ids outside [0, size()) are ignored.
  void set(index_t i, bool value = true) noexcept {
    if (i < 0 || i >= size_) return;
    const std::uint64_t bit = std::uint64_t{1} << (i & 63);
    auto& w = words_[static_cast<std::size_t>(i) >> 6];
    w = value ? (w | bit) : (w & ~bit);
  }
  /// Number of items in the set.
  [[nodiscard]] index_t count() const noexcept {
    std::int64_t n = 0;
    for (const std::uint64_t w : words_) n += std::popcount(w);
    return static_cast<index_t>(n);
  }
  [[nodiscard]] bool none() const noexcept {
    return std::all_of(words_.begin(), words_.end(), [](std::uint64_t w) { return w == 0; });
  }

  /// Intersection, union, difference (this and not `o`); sizes must agree.
  item_mask& operator&=(const item_mask& o) {
    check_size(o, "item_mask::operator&=");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= o.words_[w];
    return *this;
  }
  item_mask& operator|=(const item_mask& o) {
    check_size(o, "item_mask::operator|=");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= o.words_[w];
    return *this;
  }
  item_mask& subtract(const item_mask& o) {
    check_size(o, "item_mask::subtract");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= ~o.words_[w];
    return *this;
  }
  /// The complement within [0, size()).
  void flip() noexcept {
    for (auto& w : words_) w = ~w;
    clear_tail();
  }

  /// Calls f(item) for every item in the set, ascending.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w)
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1)
        f(static_cast<index_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits))));
  }
  /// The items in the set, ascending.
  [[nodiscard]] std::vector<index_t> items() const {
    std::vector<index_t> out;
    out.reserve(static_cast<std::size_t>(count()));
    for_each([&](index_t i) { out.push_back(i); });
    return out;
  }
  /// The items of [0, size()) not in the set, ascending.
  [[nodiscard]] std::vector<index_t> complement_items() const {
    item_mask c = *this;
    c.flip();
    return c.items();
  }
  /// The bits, 64 items per word (item i is bit i % 64 of word i / 64; bits past size() are 0).
  [[nodiscard]] std::span<const std::uint64_t> words() const noexcept { return words_; }

  friend bool operator==(const item_mask&, const item_mask&) = default;

 private:
  void clear_tail() noexcept {
    if (size_ % 64 != 0 && !words_.empty()) words_.back() &= (std::uint64_t{1} << (size_ % 64)) - 1;
  }
  void check_size(const item_mask& o, const char* where) const {
    RECSYS_REQUIRE(o.size_ == size_, where, "masks of ", size_, " and ", o.size_, " items");
  }

  index_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

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
[[nodiscard]] inline std::vector<std::string> parse_filter_values(std::string_view text) {
  std::vector<std::string> out;
  std::size_t p = 0;
  const auto skip = [&] {
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
  };
  skip();
  if (p >= text.size() || text[p] != '"') {
    out.emplace_back(text);
    return out;
  }
  for (;;) {
    skip();
    RECSYS_REQUIRE(p < text.size() && text[p] == '"', "parse_filter_values", "expected a quoted value at offset ", p,
                   " of '", text, "'");
    ++p;
    std::string v;
    for (;;) {
      RECSYS_REQUIRE(p < text.size(), "parse_filter_values", "unterminated quoted value in '", text, "'");
      const char c = text[p++];
      if (c == '"') break;
      if (c == '\\') {
        RECSYS_REQUIRE(p < text.size(), "parse_filter_values", "unterminated quoted value in '", text, "'");
        v += text[p++];
      } else {
        v += c;
      }
    }
    out.push_back(std::move(v));
    skip();
    if (p >= text.size()) return out;
    RECSYS_REQUIRE(text[p] == ',', "parse_filter_values", "expected ',' at offset ", p, " of '", text, "'");
    ++p;
  }
}

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

/// Per user, the rows of the log's events, most recent first (timestamp descending; among equal
/// timestamps the later row first), at most `cap` per user (0 = all), as CSR over users.
struct user_event_rows {
  std::vector<std::int64_t> offsets;  // num_users + 1
  std::vector<std::size_t> rows;
  [[nodiscard]] std::span<const std::size_t> of(index_t user) const noexcept {
    if (user < 0 || static_cast<std::size_t>(user) + 1 >= offsets.size()) return {};
    const auto u = static_cast<std::size_t>(user);
    return {rows.data() + offsets[u], static_cast<std::size_t>(offsets[u + 1] - offsets[u])};
  }
};

[[nodiscard]] inline user_event_rows recent_event_rows(const interaction_log& log, std::size_t cap) {
  const auto nu = static_cast<std::size_t>(log.num_users());
  std::vector<std::int64_t> count(nu + 1, 0);
  for (const index_t u : log.users) ++count[static_cast<std::size_t>(u) + 1];
  for (std::size_t u = 0; u < nu; ++u) count[u + 1] += count[u];
  std::vector<std::size_t> by_user(log.size());
  {
    std::vector<std::int64_t> next(count.begin(), count.end() - 1);
    for (std::size_t r = 0; r < log.size(); ++r)
      by_user[static_cast<std::size_t>(next[static_cast<std::size_t>(log.users[r])]++)] = r;
  }
  user_event_rows out;
  out.offsets.assign(nu + 1, 0);
  out.rows.reserve(cap == 0 ? log.size() : std::min(log.size(), cap * nu));
  for (std::size_t u = 0; u < nu; ++u) {
    const auto b = by_user.begin() + count[u];
    const auto e = by_user.begin() + count[u + 1];
    std::sort(b, e, [&](std::size_t x, std::size_t y) {
      if (log.timestamps[x] != log.timestamps[y]) return log.timestamps[x] > log.timestamps[y];
      return x > y;
    });
    const auto n = static_cast<std::size_t>(e - b);
    out.rows.insert(out.rows.end(), b, b + static_cast<std::ptrdiff_t>(cap == 0 ? n : std::min(n, cap)));
    out.offsets[u + 1] = static_cast<std::int64_t>(out.rows.size());
  }
  return out;
}

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

/// Re-indexes `f` by dense id through `rows` (dense id -> table row or -1).
[[nodiscard]] inline bound_field bind_field(const metadata_field& f, const std::vector<index_t>& rows, bool items) {
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

/// Numbers compare like SQL: NaN (missing) is false for every operator.
[[nodiscard]] inline bool compare(double x, filter_op op, double v) noexcept {
  switch (op) {
    case filter_op::eq: return x == v;
    case filter_op::lt: return x < v;
    case filter_op::gt: return x > v;
    case filter_op::le: return x <= v;
    case filter_op::ge: return x >= v;
    default: return false;
  }
}

[[nodiscard]] inline std::optional<double> to_number(std::string_view s) noexcept {
  double x = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(x)) return std::nullopt;
  return x;
}

}  // namespace detail

/// A filter expression bound to data; evaluates per request into the items a query may return.
/// Binding costs O(items + events + metadata values); a request costs one copy of the
/// precomputed mask (items / 64 words) plus the work of the conditions that depend on it.
/// Const methods are thread-safe. Copyable and movable.
class item_filter {
 public:
  /// A filter with no expression over no items (allows nothing; bind one to use it).
  item_filter() = default;

  /// Binds `expression` to `data`.
  /// @throws recsys::invalid_argument when data.log is null; when a condition needs metadata or
  ///         an interaction log that is missing; for an unknown field, an operator that does not
  ///         fit the field's type, a literal that is not a number for a numeric field (each
  ///         message gives the column in the expression).
  item_filter(const filter_expression& expression, const filter_data& data, const filter_options& options = {})
      : expression_(expression), options_(options) {
    bind(data);
  }

  /// Parses and binds in one step.
  /// @throws recsys::invalid_argument for a syntax error (column and caret) or as the other constructor.
  item_filter(std::string_view expression, const filter_data& data, const filter_options& options = {})
      : item_filter(filter_expression::parse(expression), data, options) {}

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
                                  index_t current_item = invalid_index) const {
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

  /// Whether a single item is allowed (evaluates the whole request: prefer allowed() for many).
  [[nodiscard]] bool allows(index_t user, index_t item, const filter_params& params = {},
                            index_t current_item = invalid_index) const {
    return allowed(user, params, current_item).test(item);
  }

 private:
  using source = filter_condition::source;

  void bind(const filter_data& data) {
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

  [[noreturn]] void fail(std::size_t column, const std::string& what) const {
    std::string line = expression_.text();
    for (char& ch : line)
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    const std::size_t at = column == 0 ? 0 : std::min(column - 1, line.size());
    throw invalid_argument(detail::str("recsys::filter: column ", at + 1, ": ", what, "\n  ", line, "\n  ",
                                       std::string(at, ' '), "^"));
  }

  // Finds (or binds) the dense-indexed copy of a metadata field; returns its index.
  int field_index(bool items, const std::string& name, const filter_data& data, const std::vector<index_t>& rows,
                  std::size_t column) {
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

  detail::bound_condition bind_condition(const filter_condition& cond, const filter_data& data,
                                         const std::vector<index_t>& item_rows, const std::vector<index_t>& user_rows) {
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
      if (f.numeric() && v.type == filter_value::kind::string && !detail::to_number(v.text))
        fail(v.column, detail::str(f.name, " is numeric: \"", v.text, "\" is not a number"));
    }
    if (!b.dynamic) {
      for (const auto& v : cond.values) {
        if (f.numeric()) b.numbers.push_back(v.type == filter_value::kind::number ? v.number : *detail::to_number(v.text));
        else if (const auto code = f.dictionary.find(v.text)) b.codes.push_back(*code);
      }
    }
    return b;
  }

  // Marks the event types a condition lists ("*": any), case-insensitively: its literal values
  // and `values` (those of its parameters).
  static void resolve_event_types(detail::bound_condition& b, std::span<const std::string> values,
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

  // Items matching one Items condition, given its resolved codes / numbers.
  [[nodiscard]] item_mask items_condition(const detail::bound_condition& c, std::span<const index_t> codes,
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
  bool resolve(const detail::bound_condition& c, const detail::bound_field& f, const filter_params& params,
               index_t current_item, std::vector<index_t>& codes, std::vector<double>& numbers) const {
    constexpr const char* where = "item_filter::allowed";
    codes.clear();
    numbers.clear();
    const bool list = c.syntax.op == filter_op::in || c.syntax.op == filter_op::not_in;
    const auto add_text = [&](std::string_view s, const char* what) {
      if (f.numeric()) {
        const auto x = detail::to_number(s);
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
  bool user_condition(const detail::bound_condition& c, index_t user, const filter_params& params) const {
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
      return !numbers.empty() && detail::compare(x, op, numbers[0]);
    }
    const auto vals = f.values(u);
    if (vals.empty()) return false;
    bool listed = false;
    for (const index_t v : vals) listed = listed || std::find(codes.begin(), codes.end(), v) != codes.end();
    return op == filter_op::not_in ? !listed : listed;
  }

  bool applies(const detail::bound_clause& c, index_t user, const filter_params& params) const {
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
  bool interaction_items(const detail::bound_condition& c, index_t user, const filter_params& params,
                         std::vector<index_t>& out) const {
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

  void apply(const detail::bound_clause& c, index_t user, const filter_params& params, index_t current_item,
             item_mask& allowed) const {
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

/// recommend_options restricted to the items of a mask: what a recipe's recommend() needs to
/// apply a filter before truncating to k. The allowed set is the mask, intersected with the base
/// options' include list (when non-empty) and without their exclude list; it becomes an include
/// list when at most half the catalogue is allowed, an exclude list otherwise (the shorter list;
/// nothing allowed excludes every item). exclude_seen is kept.
/// The options point into this object: keep it alive while they are used (not copyable).
class filtered_options {
 public:
  filtered_options(const item_mask& allowed, const recommend_options& base = {}) : options_(base) {
    item_mask m = allowed;
    if (!base.include.empty()) m &= item_mask::of(m.size(), base.include);
    for (const index_t i : base.exclude) m.set(i, false);
    allowed_ = m.count();
    options_.include = {};
    options_.exclude = {};
    if (allowed_ > 0 && allowed_ <= m.size() / 2) {
      list_ = m.items();
      options_.include = list_;
    } else {
      list_ = m.complement_items();
      options_.exclude = list_;
    }
  }
  filtered_options(const filtered_options&) = delete;
  filtered_options& operator=(const filtered_options&) = delete;

  [[nodiscard]] const recommend_options& options() const noexcept { return options_; }
  /// Items the query may return before exclude_seen.
  [[nodiscard]] index_t num_allowed() const noexcept { return allowed_; }

 private:
  std::vector<index_t> list_;
  recommend_options options_;
  index_t allowed_ = 0;
};

/// A recipe's recommend() with a filter applied before truncation to k: the k best items the
/// filter allows for this request (fewer only when fewer exist, or when the recipe itself returns
/// fewer). `opts` (exclude_seen, include, exclude) still apply.
/// @throws recsys::invalid_argument when the model and the filter disagree on the catalogue
///         size, or as item_filter::allowed.
/// @code
///   auto top = recsys::recommend_filtered(model, user, 10, filter, {{"GENRE", {"Comedy"}}});
/// @endcode
template <recommender M>
[[nodiscard]] topk_result recommend_filtered(const M& model, index_t user, index_t k, const item_filter& filter,
                                             const filter_params& params = {}, const recommend_options& opts = {}) {
  RECSYS_REQUIRE(model.num_items() == filter.num_items(), "recommend_filtered", "the model has ", model.num_items(),
                 " items but the filter was bound to ", filter.num_items());
  const filtered_options fo(filter.allowed(user, params), opts);
  return model.recommend(user, k, fo.options());
}

/// recommend_filtered for many users, one result per user. A filter that does not depend on the
/// user is evaluated once and, when the recipe has recommend_batch (factor models: one GEMM per
/// block of users), the batch goes through it; otherwise each user is one query, spread over
/// `num_threads` threads (0 = default). Results equal recommend_filtered per user.
template <recommender M>
[[nodiscard]] std::vector<topk_result> recommend_filtered_batch(const M& model, std::span<const index_t> users,
                                                                index_t k, const item_filter& filter,
                                                                const filter_params& params = {},
                                                                const recommend_options& opts = {},
                                                                int num_threads = 0) {
  RECSYS_REQUIRE(model.num_items() == filter.num_items(), "recommend_filtered_batch", "the model has ",
                 model.num_items(), " items but the filter was bound to ", filter.num_items());
  RECSYS_REQUIRE(k >= 0, "recommend_filtered_batch", "k must be >= 0 (got ", k, ")");
  std::vector<topk_result> out(users.size());
  if (!filter.depends_on_user()) {
    const filtered_options fo(filter.allowed(invalid_index, params), opts);
    if constexpr (requires { model.recommend_batch(users, k, fo.options(), num_threads); }) {
      return model.recommend_batch(users, k, fo.options(), num_threads);
    } else {
      parallel_options po;
      po.num_threads = num_threads;
      parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
        out[static_cast<std::size_t>(r)] = model.recommend(users[static_cast<std::size_t>(r)], k, fo.options());
      });
      return out;
    }
  }
  parallel_options po;
  po.num_threads = num_threads;
  parallel_for(0, static_cast<std::int64_t>(users.size()), po, [&](std::int64_t r) {
    out[static_cast<std::size_t>(r)] = recommend_filtered(model, users[static_cast<std::size_t>(r)], k, filter, params, opts);
  });
  return out;
}

}  // namespace recsys

#endif  // RECSYS_RANKING_FILTER_HPP
