// SPDX-License-Identifier: Apache-2.0
// Personalize filter expressions: every grammar rule and every error.
#include <recsys/ranking/filter_expression.hpp>

#include "recsys_test.hpp"

#include <string>

using recsys::filter_condition;
using recsys::filter_expression;
using recsys::filter_op;
using recsys::filter_value;

namespace {
// The error message of parsing `text`, or "" when it parses.
std::string error_of(const std::string& text) {
  try {
    (void)filter_expression::parse(text);
    return "";
  } catch (const recsys::invalid_argument& e) {
    return e.what();
  }
}
// The caret's column (1-based) in an error message.
std::size_t caret_column(const std::string& msg) {
  const auto last = msg.rfind('\n');
  return msg.size() - last - 1 - 2;  // "  " indent, caret at the end
}
}  // namespace

TEST_CASE("filter: the Personalize examples parse into the expected tree", "[filter]") {
  auto f = filter_expression::parse(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))");
  REQUIRE(f.clauses().size() == 1);
  const auto& c = f.clauses()[0];
  CHECK_FALSE(c.include);
  CHECK(c.about_interactions());
  REQUIRE(c.where.size() == 1);
  const auto& cond = c.where[0][0];
  CHECK(cond.dataset == filter_condition::source::interactions);
  CHECK(cond.field == "EVENT_TYPE");
  CHECK(cond.op == filter_op::in);
  REQUIRE(cond.values.size() == 1);
  CHECK(cond.values[0].text == "purchase");
  CHECK(c.only_if.empty());

  f = filter_expression::parse("INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)");
  CHECK(f.clauses()[0].include);
  CHECK(f.clauses()[0].where[0][0].values[0].type == filter_value::kind::parameter);
  CHECK(f.parameters() == std::vector<std::string>{"CATEGORY"});

  f = filter_expression::parse(R"(EXCLUDE ItemID WHERE Items.PRICE > 100 | INCLUDE ItemID WHERE Items.GENRE IN ("Comedy"))");
  REQUIRE(f.clauses().size() == 2);
  CHECK(f.clauses()[0].where[0][0].op == filter_op::gt);
  CHECK(f.clauses()[0].where[0][0].values[0].number == 100);
  CHECK(f.clauses()[1].include);

  f = filter_expression::parse(
      "EXCLUDE ItemID WHERE Items.NUMBER_OF_DOWNLOADS < 20 IF CurrentUser.AGE > 18 AND CurrentUser.AGE < 30");
  REQUIRE(f.clauses()[0].only_if.size() == 1);
  CHECK(f.clauses()[0].only_if[0].size() == 2);
  CHECK(f.clauses()[0].only_if[0][1].op == filter_op::lt);
  CHECK(f.clauses()[0].only_if[0][1].dataset == filter_condition::source::current_user);

  f = filter_expression::parse("INCLUDE ItemID WHERE Items.CATEGORY IN (CurrentItem.CATEGORY)");
  CHECK(f.uses_current_item());
  CHECK(f.clauses()[0].where[0][0].values[0].text == "CATEGORY");
}

TEST_CASE("filter: operators, lists, numbers, case, precedence", "[filter]") {
  auto f = filter_expression::parse(
      R"(include itemid where items.A NOT IN ("x", "y\"z", $P) and Items.B <= -1.5e2 OR Items.C >= 3 AND Items.D = "e" OR Items.E < $Q)");
  const auto& w = f.clauses()[0].where;
  REQUIRE(w.size() == 3);  // OR of three AND-groups
  CHECK(w[0].size() == 2);
  CHECK(w[1].size() == 2);
  CHECK(w[2].size() == 1);
  CHECK(w[0][0].op == filter_op::not_in);
  CHECK(w[0][0].values.size() == 3);
  CHECK(w[0][0].values[1].text == "y\"z");
  CHECK(w[0][1].op == filter_op::le);
  CHECK(w[0][1].values[0].number == -150);
  CHECK(w[1][0].op == filter_op::ge);
  CHECK(w[1][1].op == filter_op::eq);
  CHECK(w[2][0].values[0].type == filter_value::kind::parameter);
  CHECK(f.parameters() == std::vector<std::string>{"P", "Q"});
  CHECK(filter_expression::parse(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*"))").clauses()[0].where[0][0].values[0].text == "*");
  CHECK(filter_expression::parse("  EXCLUDE\tItemID\nWHERE Items.X IN (1,2)  ").clauses().size() == 1);
  CHECK(filter_expression::parse("EXCLUDE ItemID WHERE Items.X>1|EXCLUDE ItemID WHERE Items.Y<2").clauses().size() == 2);
}

TEST_CASE("filter: syntax errors point at the column with a caret", "[filter]") {
  struct bad_case {
    std::string text;
    std::size_t column;
    std::string fragment;
  };
  const std::vector<bad_case> cases = {
      {"", 1, "empty filter"},
      {"EXCLUDE ItemID WHERA Items.PRICE > 100", 16, "expected WHERE"},
      {"DROP ItemID WHERE Items.X > 1", 1, "expected INCLUDE or EXCLUDE"},
      {"EXCLUDE UserID WHERE Items.X > 1", 9, "expected ItemID"},
      {"EXCLUDE ItemID WHERE Users.X > 1", 22, "expected Items or Interactions"},
      {"EXCLUDE ItemID WHERE Items X > 1", 28, "expected '.'"},
      {"EXCLUDE ItemID WHERE Items.X ~ 1", 30, "expected IN, NOT IN"},
      {"EXCLUDE ItemID WHERE Items.X IN 1", 33, "expected '('"},
      {"EXCLUDE ItemID WHERE Items.X IN (1", 35, "expected ')'"},
      {"EXCLUDE ItemID WHERE Items.X IN (\"a)", 34, "unterminated string"},
      {"EXCLUDE ItemID WHERE Items.X > 1abc", 32, "not a number"},
      {"EXCLUDE ItemID WHERE Items.X > $", 33, "parameter name"},
      {"EXCLUDE ItemID WHERE Items.X > bogus", 32, "expected a \"string\""},
      {"EXCLUDE ItemID WHERE Items.X > 1 extra", 34, "expected '|'"},
      {"EXCLUDE ItemID WHERE Items.X > 1 |", 35, "expected INCLUDE or EXCLUDE"},
      {"EXCLUDE ItemID WHERE Interactions.ITEM IN (\"a\")", 35, "only use EVENT_TYPE"},
      {"EXCLUDE ItemID WHERE Interactions.EVENT_TYPE = \"a\"", 46, "takes IN or NOT IN"},
      {"EXCLUDE ItemID WHERE Items.X IN (\"*\")", 34, "only allowed for Interactions"},
      {"EXCLUDE ItemID WHERE Items.X > 1 AND Interactions.EVENT_TYPE IN (\"a\")", 38, "cannot be mixed"},
      {"EXCLUDE ItemID WHERE Items.X > 1 IF Items.Y > 2", 37, "about CurrentUser"},
      {"EXCLUDE ItemID WHERE CurrentUser.AGE > 1", 22, "belong after IF"},
      {"EXCLUDE ItemID WHERE Items.X > 1 IF CurrentUser.A IN (CurrentItem.B)", 55, "CurrentItem cannot"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const std::string msg = error_of(c.text);
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.rfind("recsys::filter: column " + std::to_string(c.column) + ":", 0) == 0);
    CHECK(msg.find(c.fragment) != std::string::npos);
    CHECK(msg.find(c.text) != std::string::npos);  // the expression is quoted
    CHECK(caret_column(msg) == c.column);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation (ranking/filter.hpp): bound filters against a brute-force evaluator written from
// the documented semantics, on random metadata and logs.
// ---------------------------------------------------------------------------------------------

#include <recsys/data/matrix.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/models/bpr.hpp>
#include <recsys/models/item_to_item.hpp>
#include <recsys/models/popularity.hpp>
#include <recsys/random.hpp>
#include <recsys/ranking/filter.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <optional>
#include <sstream>

namespace {

using recsys::index_t;

// A random catalogue: a log over `items` items (some without metadata), Items metadata with a
// multi-valued categorical GENRE, a numeric PRICE, a categorical BRAND and CREATION_TIMESTAMP (all
// sometimes missing), Users metadata with a numeric AGE and a categorical TIER.
struct world {
  recsys::interaction_log log;
  recsys::metadata_table items;
  recsys::metadata_table users;
};

const std::vector<std::string> genres = {"Comedy", "Drama", "Action", "Horror", "comedy"};
const std::vector<std::string> brands = {"acme", "velo", "zen"};
const std::vector<std::string> tiers = {"gold", "silver"};
const std::vector<std::string> event_names = {"view", "Purchase", "click", "PURCHASE"};

world make_world(std::uint64_t seed, index_t num_users = 40, index_t num_items = 150, int events = 1500) {
  recsys::rng g(seed, recsys::stream_tag("test.filter.world"));
  world w;
  for (index_t i = 0; i < num_items; ++i) w.log.item_ids.insert("i" + std::to_string(i));
  for (index_t u = 0; u < num_users; ++u) w.log.user_ids.insert("u" + std::to_string(u));
  for (int e = 0; e < events; ++e) {
    const auto u = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(num_users)));
    const auto i = static_cast<index_t>(g.uniform_index(static_cast<std::uint32_t>(num_items)));
    const std::uint32_t t = g.uniform_index(6);  // 4 named types, or none
    const std::string type = t < event_names.size() ? event_names[t] : "";
    // few distinct timestamps, so ties between events of a user occur
    w.log.add("u" + std::to_string(u), "i" + std::to_string(i), 1000 + g.uniform_index(200), type);
  }
  std::ostringstream items;
  items << "ITEM_ID,GENRE,PRICE,BRAND,CREATION_TIMESTAMP\n";
  for (index_t i = 0; i < num_items + 10; ++i) {  // 10 rows for items outside the log
    if (g.uniform_index(10) == 0) continue;        // no metadata at all
    items << "i" << i << ',';
    if (g.uniform_index(5) != 0) {
      const std::uint32_t n = 1 + g.uniform_index(2);
      for (std::uint32_t j = 0; j < n; ++j) items << (j ? "|" : "") << genres[g.uniform_index(5)];
    }
    items << ',';
    if (g.uniform_index(6) != 0) items << g.uniform_index(200);
    items << ',';
    if (g.uniform_index(4) != 0) items << brands[g.uniform_index(3)];
    items << ',';
    if (g.uniform_index(3) != 0) items << 500 + g.uniform_index(1000);
    items << '\n';
  }
  w.items = recsys::parse_items_csv(items.str(), "items.csv");
  std::ostringstream users;
  users << "USER_ID,AGE,TIER\n";
  for (index_t u = 0; u < num_users; ++u) {
    if (g.uniform_index(8) == 0) continue;
    users << "u" << u << ',';
    if (g.uniform_index(5) != 0) users << 15 + g.uniform_index(40);
    users << ',';
    if (g.uniform_index(4) != 0) users << tiers[g.uniform_index(2)];
    users << '\n';
  }
  w.users = recsys::parse_users_csv(users.str(), "users.csv");
  return w;
}

// --- the brute-force evaluator: metadata looked up by external id, every rule spelled out ---

struct request {
  index_t user = recsys::invalid_index;
  const recsys::filter_params* params = nullptr;
  index_t current = recsys::invalid_index;
  std::vector<std::size_t> recent;  // the user's `cap` most recent events (rows of the log)
};

// Rows of the user's events, most recent first (time, then later row), at most cap (0: all).
std::vector<std::size_t> recent_rows(const recsys::interaction_log& log, index_t user, std::size_t cap) {
  std::vector<std::size_t> rows;
  for (std::size_t e = 0; e < log.size(); ++e)
    if (log.users[e] == user) rows.push_back(e);
  std::sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
    return log.timestamps[a] != log.timestamps[b] ? log.timestamps[a] > log.timestamps[b] : a > b;
  });
  if (cap > 0 && rows.size() > cap) rows.resize(cap);
  return rows;
}

// The value list of a condition as text (categorical) or numbers; nullopt = switched off.
struct resolved {
  std::vector<std::string> text;
  std::vector<double> numbers;
};

std::optional<double> number_of(const std::string& s) {
  std::istringstream is(s);
  double x = 0;
  if (!(is >> x) || !is.eof()) return std::nullopt;
  return x;
}

std::optional<resolved> resolve_values(const recsys::filter_condition& c, const world& w, const request& r,
                                       bool numeric) {
  resolved out;
  const auto add = [&](const std::string& s) {
    if (numeric) out.numbers.push_back(*number_of(s));
    else out.text.push_back(s);
  };
  for (const auto& v : c.values) {
    switch (v.type) {
      case recsys::filter_value::kind::string: add(v.text); break;
      case recsys::filter_value::kind::number:
        if (numeric) out.numbers.push_back(v.number);
        else out.text.push_back(v.text);
        break;
      case recsys::filter_value::kind::parameter: {
        const auto vals = r.params ? r.params->values(v.text) : std::span<const std::string>{};
        if (vals.empty()) return std::nullopt;
        for (const auto& s : vals) add(s);
        break;
      }
      case recsys::filter_value::kind::current_item: {
        if (r.current == recsys::invalid_index) return std::nullopt;
        const auto row = w.items.row_of(w.log.item_ids.id(r.current));
        const auto& f = w.items.field(v.text);
        if (!row) break;
        const auto rr = static_cast<std::size_t>(*row);
        if (f.type == recsys::field_type::categorical) {
          for (index_t code : f.values(rr)) out.text.push_back(f.dictionary.id(code));
        } else if (f.type == recsys::field_type::numeric) {
          if (!std::isnan(f.numbers[rr])) out.numbers.push_back(f.numbers[rr]);
        } else if (f.timestamps[rr] != recsys::missing_timestamp) {
          out.numbers.push_back(static_cast<double>(f.timestamps[rr]));
        }
        break;
      }
    }
  }
  return out;
}

// A condition on the metadata row of external id `id` in `table`.
bool metadata_condition(const recsys::filter_condition& c, const recsys::metadata_table& table,
                        const std::string& id, const world& w, const request& r) {
  const auto& f = table.field(c.field);
  const bool numeric = f.type != recsys::field_type::categorical;
  const auto vals = resolve_values(c, w, r, numeric);
  if (!vals) return false;  // switched off
  const auto row = table.row_of(id);
  if (!row) return false;
  const auto rr = static_cast<std::size_t>(*row);
  if (!numeric) {
    std::vector<std::string> mine;
    for (index_t code : f.values(rr)) mine.push_back(f.dictionary.id(code));
    if (mine.empty()) return false;
    bool listed = false;
    for (const auto& m : mine)
      listed = listed || std::find(vals->text.begin(), vals->text.end(), m) != vals->text.end();
    return c.op == recsys::filter_op::not_in ? !listed : listed;
  }
  double x = f.type == recsys::field_type::numeric ? f.numbers[rr] : std::nan("");
  if (f.type == recsys::field_type::timestamp && f.timestamps[rr] != recsys::missing_timestamp)
    x = static_cast<double>(f.timestamps[rr]);
  if (std::isnan(x)) return false;
  const auto& n = vals->numbers;
  switch (c.op) {
    case recsys::filter_op::in: return std::find(n.begin(), n.end(), x) != n.end();
    case recsys::filter_op::not_in: return std::find(n.begin(), n.end(), x) == n.end();
    case recsys::filter_op::eq: return !n.empty() && x == n[0];
    case recsys::filter_op::lt: return !n.empty() && x < n[0];
    case recsys::filter_op::gt: return !n.empty() && x > n[0];
    case recsys::filter_op::le: return !n.empty() && x <= n[0];
    case recsys::filter_op::ge: return !n.empty() && x >= n[0];
  }
  return false;
}

bool iequal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(a[k])) != std::tolower(static_cast<unsigned char>(b[k]))) return false;
  return true;
}

// Whether one of the user's `cap` most recent events is on `item` and of a type the condition lists.
bool interaction_condition(const recsys::filter_condition& c, index_t item, const world& w, const request& r) {
  std::vector<std::string> listed;
  for (const auto& v : c.values) {
    if (v.type == recsys::filter_value::kind::parameter) {
      const auto vals = r.params ? r.params->values(v.text) : std::span<const std::string>{};
      if (vals.empty()) return false;
      listed.insert(listed.end(), vals.begin(), vals.end());
    } else {
      listed.push_back(v.text);
    }
  }
  const bool star = std::find(listed.begin(), listed.end(), "*") != listed.end();
  for (const std::size_t e : r.recent) {
    if (w.log.items[e] != item) continue;
    const index_t t = w.log.event_types[e];
    bool in = false;
    if (t >= 0)
      for (const auto& l : listed) in = in || iequal(l, w.log.event_type_names.id(t));
    const bool hit = c.op == recsys::filter_op::in ? (star || in) : (!star && t >= 0 && !in);
    if (hit) return true;
  }
  return false;
}

bool dnf(const recsys::filter_condition_dnf& d, const std::function<bool(const recsys::filter_condition&)>& cond) {
  for (const auto& group : d) {
    bool all = true;
    for (const auto& c : group) all = all && cond(c);
    if (all) return true;
  }
  return false;
}

recsys::item_mask brute_force(const recsys::filter_expression& f, const world& w, const request& r) {
  recsys::item_mask out(w.log.num_items(), true);
  for (index_t i = 0; i < w.log.num_items(); ++i) {
    bool ok = true;
    for (const auto& clause : f.clauses()) {
      if (!clause.only_if.empty()) {
        const std::string uid = r.user >= 0 && r.user < w.log.num_users() ? w.log.user_ids.id(r.user) : "<unknown>";
        if (!dnf(clause.only_if, [&](const auto& c) { return metadata_condition(c, w.users, uid, w, r); })) continue;
      }
      const bool match = dnf(clause.where, [&](const recsys::filter_condition& c) {
        if (c.dataset == recsys::filter_condition::source::interactions) return interaction_condition(c, i, w, r);
        return metadata_condition(c, w.items, w.log.item_ids.id(i), w, r);
      });
      ok = ok && (clause.include ? match : !match);
    }
    out.set(i, ok);
  }
  return out;
}

// --- random expressions ---

std::string random_value(recsys::rng& g, bool numeric_field, bool numeric_op, int& params_used) {
  const std::uint32_t k = g.uniform_index(10);
  if (k < 2) {
    ++params_used;
    return numeric_field ? "$P" : (g.uniform_index(2) || numeric_op ? "$G" : "$H");  // $H has two values
  }
  if (k < 3 && !numeric_op) return numeric_field ? "CurrentItem.PRICE" : "CurrentItem.GENRE";
  if (numeric_field) return std::to_string(g.uniform_index(200));
  return "\"" + genres[g.uniform_index(static_cast<std::uint32_t>(genres.size()))] + "\"";
}

std::string random_items_condition(recsys::rng& g, int& params_used) {
  const std::uint32_t field = g.uniform_index(4);
  const char* ops[] = {" IN ", " NOT IN ", " = ", " < ", " > ", " <= ", " >= "};
  if (field == 0 || field == 3) {  // GENRE or BRAND: categorical
    const bool list = g.uniform_index(4) != 0;
    const std::string name = field == 0 ? "Items.GENRE" : "Items.brand";
    if (!list) return name + " = " + random_value(g, false, true, params_used);
    std::string s = name + (g.uniform_index(2) ? " IN (" : " NOT IN (");
    const std::uint32_t n = 1 + g.uniform_index(3);
    for (std::uint32_t j = 0; j < n; ++j) {
      std::string v = random_value(g, false, false, params_used);
      if (field == 3 && v[0] == '"') v = "\"" + brands[g.uniform_index(3)] + "\"";
      s += (j ? ", " : "") + v;
    }
    return s + ")";
  }
  const std::string name = field == 1 ? "Items.PRICE" : "Items.CREATION_TIMESTAMP";
  const std::uint32_t op = g.uniform_index(7);
  if (op < 2) {
    std::string s = name + ops[op] + "(";
    const std::uint32_t n = 1 + g.uniform_index(3);
    for (std::uint32_t j = 0; j < n; ++j) {
      std::string v = random_value(g, true, false, params_used);
      if (field == 2 && v[0] != '$' && v[0] != 'C') v = std::to_string(500 + g.uniform_index(1000));
      if (field == 2 && v == "CurrentItem.PRICE") v = "CurrentItem.CREATION_TIMESTAMP";
      s += (j ? ", " : "") + v;
    }
    return s + ")";
  }
  std::string v = random_value(g, true, true, params_used);
  if (field == 2 && v[0] != '$') v = std::to_string(500 + g.uniform_index(1000));
  return name + ops[op] + v;
}

std::string random_interactions_condition(recsys::rng& g, int& params_used) {
  std::string s = g.uniform_index(3) ? "Interactions.EVENT_TYPE IN (" : "Interactions.EVENT_TYPE NOT IN (";
  const std::uint32_t n = 1 + g.uniform_index(2);
  const char* names[] = {"\"purchase\"", "\"VIEW\"", "\"click\"", "\"*\"", "\"cart\""};
  for (std::uint32_t j = 0; j < n; ++j) {
    if (g.uniform_index(6) == 0) {
      ++params_used;
      s += (j ? ", " : "") + std::string("$E");
    } else {
      s += (j ? ", " : "") + std::string(names[g.uniform_index(5)]);
    }
  }
  return s + ")";
}

std::string random_user_condition(recsys::rng& g, int& params_used) {
  if (g.uniform_index(2)) {
    const char* ops[] = {" > ", " < ", " = ", " >= "};
    if (g.uniform_index(5) == 0) {
      ++params_used;
      return std::string("CurrentUser.AGE") + ops[g.uniform_index(4)] + "$A";
    }
    return std::string("CurrentUser.AGE") + ops[g.uniform_index(4)] + std::to_string(15 + g.uniform_index(40));
  }
  return std::string("CurrentUser.TIER") + (g.uniform_index(2) ? " IN " : " NOT IN ") + "(\"" +
         tiers[g.uniform_index(2)] + "\")";
}

std::string random_filter(recsys::rng& g) {
  std::string s;
  const std::uint32_t clauses = 1 + g.uniform_index(3);
  for (std::uint32_t c = 0; c < clauses; ++c) {
    int params = 0;
    const bool interactions = g.uniform_index(4) == 0;
    std::string clause = (g.uniform_index(2) ? "INCLUDE" : "EXCLUDE") + std::string(" ItemID WHERE ");
    const std::uint32_t groups = 1 + g.uniform_index(2);
    for (std::uint32_t gr = 0; gr < groups; ++gr) {
      const std::uint32_t conds = 1 + g.uniform_index(2);
      for (std::uint32_t k = 0; k < conds; ++k) {
        clause += (gr == 0 && k == 0) ? "" : (k == 0 ? " OR " : " AND ");
        clause += interactions ? random_interactions_condition(g, params) : random_items_condition(g, params);
      }
    }
    if (g.uniform_index(3) == 0) {
      clause += " IF " + random_user_condition(g, params);
      if (g.uniform_index(2)) clause += (g.uniform_index(2) ? " AND " : " OR ") + random_user_condition(g, params);
    }
    s += (c ? " | " : "") + clause;
  }
  return s;
}

std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const recsys::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("filter evaluation equals a brute-force evaluator on random metadata and filters", "[filter]") {
  const world w = make_world(recsys::test::seed());
  recsys::rng g(recsys::test::seed(), recsys::stream_tag("test.filter.expressions"));
  const recsys::filter_data data{&w.log, &w.items, &w.users};
  std::vector<recsys::filter_params> param_sets(4);
  param_sets[1] = {{"G", {"Comedy"}}, {"H", {"Drama", "Action"}}, {"P", {"90"}}, {"E", {"Purchase"}}, {"A", {"30"}}};
  param_sets[2] = {{"G", {"nonexistent"}}, {"P", {"150"}}, {"E", {"*"}}, {"A", {"18"}}};
  param_sets[3] = {{"H", {"Horror"}}, {"A", {"40"}}};  // G, P, E unset
  int compared = 0, include_errors = 0, partial = 0;
  for (int t = 0; t < 200; ++t) {
    const std::string text = random_filter(g);
    INFO("filter: " << text);
    const auto expr = recsys::filter_expression::parse(text);
    recsys::filter_options fopts;
    fopts.max_history_events = t % 3 == 0 ? 0 : (t % 3 == 1 ? 5 : 200);
    const recsys::item_filter f(expr, data, fopts);
    const auto names = expr.parameters();
    for (const auto& all_params : param_sets) {
      recsys::filter_params params;  // only the parameters this filter uses
      for (const auto& [n, v] : all_params.entries())
        if (std::find(names.begin(), names.end(), n) != names.end()) params.set(n, v);
      for (const index_t user : {index_t{0}, index_t{3}, index_t{17}, index_t{39}, index_t{-1}, index_t{1000}}) {
        const index_t current = user == 3 ? recsys::invalid_index : static_cast<index_t>(((user * 7 + t) % 150 + 150) % 150);
        request r{user, &params, current, recent_rows(w.log, user, fopts.max_history_events)};
        // INCLUDE expressions must have every parameter (and the current item) they use.
        bool include_missing = false;
        for (const auto& c : expr.clauses()) {
          if (!c.include) continue;
          for (const auto* d : {&c.where, &c.only_if})
            for (const auto& group : *d)
              for (const auto& cond : group)
                for (const auto& v : cond.values)
                  include_missing = include_missing ||
                                    (v.type == recsys::filter_value::kind::parameter && !params.has_value(v.text)) ||
                                    (v.type == recsys::filter_value::kind::current_item && current < 0);
        }
        if (include_missing) {
          CHECK_THROWS_AS(f.allowed(user, params, current), recsys::invalid_argument);
          ++include_errors;
          continue;
        }
        INFO("user " << user << " current " << current);
        const recsys::item_mask got = f.allowed(user, params, current);
        const recsys::item_mask want = brute_force(expr, w, r);
        CHECK(got.count() == want.count());
        CHECK(got == want);
        ++compared;
        if (want.count() > 0 && want.count() < want.size()) ++partial;
      }
    }
  }
  CHECK(compared > 2000);
  CHECK(partial > compared / 2);  // most masks are neither everything nor nothing
  CHECK(include_errors > 50);
}

TEST_CASE("filter semantics: the documented rules on a small catalogue", "[filter]") {
  recsys::interaction_log log;
  // u0: purchased i0, viewed i1 (twice), clicked i2; u1: viewed i3; u2: no events
  log.add("u0", "i0", 10, "Purchase");
  log.add("u0", "i1", 11, "view");
  log.add("u0", "i1", 12, "view");
  log.add("u0", "i2", 13, "click");
  log.add("u1", "i3", 14, "view");
  log.add("u1", "i4", 15, "");  // no event type
  log.user_ids.insert("u2");
  log.item_ids.insert("i5");
  const auto items = recsys::parse_items_csv(
      "ITEM_ID,GENRE,PRICE\ni0,Comedy|Drama,10\ni1,Drama,200\ni2,,50\ni3,Horror,\ni4,comedy,100\n", "items.csv");
  const auto users = recsys::parse_users_csv("USER_ID,AGE\nu0,25\nu1,17\n", "users.csv");
  const recsys::filter_data data{&log, &items, &users};
  const auto allowed = [&](const std::string& text, index_t user, const recsys::filter_params& p = {},
                           index_t current = recsys::invalid_index) {
    return recsys::item_filter(text, data).allowed(user, p, current).items();
  };
  using v = std::vector<index_t>;
  // EXCLUDE purchased (event types ignore case); INCLUDE viewed
  CHECK(allowed(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))", 0) == v{1, 2, 3, 4, 5});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("VIEW"))", 0) == v{1});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*"))", 1) == v{3, 4});  // untyped: only "*"
  CHECK(allowed(R"(INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("view"))", 1).empty());
  CHECK(allowed(R"(INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("view"))", 0) == v{0, 2});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view"))", 2).empty());   // no history
  CHECK(allowed(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view"))", -1).size() == 6);  // unknown user
  // multi-valued IN / NOT IN; case counts for categorical values; missing values never match
  CHECK(allowed(R"(INCLUDE ItemID WHERE Items.GENRE IN ("Comedy"))", 0) == v{0});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Items.GENRE NOT IN ("Comedy"))", 0) == v{1, 3, 4});
  CHECK(allowed(R"(EXCLUDE ItemID WHERE Items.GENRE NOT IN ("Comedy"))", 0) == v{0, 2, 5});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Items.GENRE = "Drama")", 0) == v{0, 1});
  // numbers: missing PRICE is neither > nor <=
  CHECK(allowed("INCLUDE ItemID WHERE Items.PRICE > 50", 0) == v{1, 4});
  CHECK(allowed("INCLUDE ItemID WHERE Items.PRICE <= 50", 0) == v{0, 2});
  CHECK(allowed("EXCLUDE ItemID WHERE Items.PRICE > 50", 0) == v{0, 2, 3, 5});
  CHECK(allowed(R"(INCLUDE ItemID WHERE Items.PRICE IN ("10", 100))", 0) == v{0, 4});
  // chaining: every expression must pass
  CHECK(allowed(R"(EXCLUDE ItemID WHERE Items.PRICE > 150 | INCLUDE ItemID WHERE Items.GENRE IN ("Drama", "Horror"))",
                0) == v{0, 3});
  // IF: only for users satisfying it; users without the field never do
  const std::string adults = "EXCLUDE ItemID WHERE Items.PRICE >= 100 IF CurrentUser.AGE >= 18";
  CHECK(allowed(adults, 0) == v{0, 2, 3, 5});
  CHECK(allowed(adults, 1).size() == 6);
  CHECK(allowed(adults, 2).size() == 6);
  // parameters: INCLUDE needs them; an unset EXCLUDE parameter switches its condition off
  CHECK(allowed("INCLUDE ItemID WHERE Items.GENRE IN ($G)", 0, {{"G", {"Horror", "comedy"}}}) == v{3, 4});
  CHECK_THROWS_AS(allowed("INCLUDE ItemID WHERE Items.GENRE IN ($G)", 0), recsys::invalid_argument);
  CHECK(allowed("EXCLUDE ItemID WHERE Items.GENRE IN ($G)", 0).size() == 6);
  CHECK(allowed("EXCLUDE ItemID WHERE Items.GENRE IN ($G) OR Items.PRICE > 150", 0) == v{0, 2, 3, 4, 5});
  CHECK(allowed("EXCLUDE ItemID WHERE Items.GENRE IN ($G) AND Items.PRICE > 150", 0).size() == 6);
  CHECK(allowed("EXCLUDE ItemID WHERE Items.PRICE > 5 IF CurrentUser.AGE > $A", 0).size() == 6);
  CHECK(allowed("EXCLUDE ItemID WHERE Items.PRICE > 5 IF CurrentUser.AGE > $A", 0, {{"A", {"20"}}}) == v{3, 5});
  CHECK(allowed("EXCLUDE ItemID WHERE Items.PRICE < $MAX", 0, {{"MAX", {"60"}}}) == v{1, 3, 4, 5});
  // CurrentItem: the current item's values; none given = unset parameter
  CHECK(allowed("INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)", 0, {}, 0) == v{0, 1});
  CHECK(allowed("INCLUDE ItemID WHERE Items.GENRE IN (CurrentItem.GENRE)", 0, {}, 2).empty());
  CHECK(allowed("INCLUDE ItemID WHERE Items.GENRE NOT IN (CurrentItem.GENRE)", 0, {}, 2) == v{0, 1, 3, 4});
  CHECK(allowed("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", 0, {}, 4) == v{0, 2});
  CHECK(allowed("EXCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", 0).size() == 6);
  CHECK_THROWS_AS(allowed("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", 0), recsys::invalid_argument);
}

TEST_CASE("filter history: only the most recent events count, and the cap is configurable", "[filter]") {
  recsys::interaction_log log;
  for (int e = 0; e < 10; ++e) log.add("u0", "i" + std::to_string(e), 100 + e, "purchase");  // i9 most recent
  log.add("u0", "i0", 100, "view");  // same timestamp as the first purchase, later row: more recent
  const recsys::filter_data data{&log};
  const auto expr = recsys::filter_expression::parse(R"(EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase"))");
  recsys::filter_options o;
  o.max_history_events = 3;
  CHECK(recsys::item_filter(expr, data, o).allowed(0).complement_items() == std::vector<index_t>{7, 8, 9});
  o.max_history_events = 11;
  CHECK(recsys::item_filter(expr, data, o).allowed(0).count() == 0);
  o.max_history_events = 10;  // the view of i0 displaces the purchase of i0 (same time, later row)
  CHECK(recsys::item_filter(expr, data, o).allowed(0).items() == std::vector<index_t>{0});
  o.max_history_events = 0;  // every event
  CHECK(recsys::item_filter(expr, data, o).allowed(0).count() == 0);
  CHECK(recsys::item_filter(expr, data).allowed(0).count() == 0);  // default 200
}

TEST_CASE("filter binding and request errors name the problem", "[filter]") {
  recsys::interaction_log log;
  log.add("u0", "i0", 1, "view");
  log.add("u1", "i1", 2, "view");
  recsys::interaction_log untyped;
  untyped.add("u0", "i0", 1);
  const auto items = recsys::parse_items_csv("ITEM_ID,GENRE,PRICE\ni0,a,1\ni1,b,2\n", "items.csv");
  const recsys::filter_data data{&log, &items};
  const auto bind_error = [&](const std::string& text, const recsys::filter_data& d) {
    return error_text([&] { (void)recsys::item_filter(text, d); });
  };
  std::string e = bind_error("EXCLUDE ItemID WHERE Items.COLOR IN (\"red\")", data);
  CHECK(e.find("column 22") != std::string::npos);
  CHECK(e.find("no field 'COLOR'") != std::string::npos);
  CHECK(e.find("GENRE, PRICE") != std::string::npos);
  CHECK(e.find('^') != std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.GENRE > 3", data).find("is categorical") != std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.PRICE IN (\"cheap\")", data).find("not a number") != std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.PRICE IN (CurrentItem.GENRE)", data).find("CurrentItem.GENRE is categorical") !=
        std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.PRICE > 1", {&log}).find("needs Items metadata") != std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.PRICE > 1 IF CurrentUser.AGE > 3", data).find("needs Users metadata") !=
        std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"view\")", {&untyped}).find("no EVENT_TYPE") !=
        std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"*\")", {&untyped}).empty());
  CHECK(bind_error("EXCLUDE ItemID WHERE Items.PRICE > 1", {}).find("log is required") != std::string::npos);
  CHECK(bind_error("EXCLUDE ItemID WHERA", data).find("expected WHERE") != std::string::npos);

  const recsys::item_filter f("EXCLUDE ItemID WHERE Items.PRICE > $MAX", data);
  CHECK(error_text([&] { (void)f.allowed(0, {{"MAXX", {"1"}}}); }).find("no parameter $MAXX (it uses $MAX)") !=
        std::string::npos);
  CHECK(error_text([&] { (void)f.allowed(0, {{"MAX", {"one"}}}); }).find("not a number") != std::string::npos);
  CHECK(error_text([&] { (void)f.allowed(0, {{"MAX", {"1", "2"}}}); }).find("compares with one") != std::string::npos);
  CHECK(error_text([&] { (void)f.allowed(0, {}, 7); }).find("outside the catalogue") != std::string::npos);
  CHECK_THROWS_AS(recsys::filter_params().add("$MAX", "1"), recsys::invalid_argument);
  CHECK(recsys::parse_filter_values(R"("Comedy", "Dra\"ma")") == std::vector<std::string>{"Comedy", "Dra\"ma"});
  CHECK(recsys::parse_filter_values("100") == std::vector<std::string>{"100"});
  CHECK_THROWS_AS(recsys::parse_filter_values(R"("a" "b")"), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::parse_filter_values(R"("a)"), recsys::invalid_argument);
}

TEST_CASE("item_mask set algebra and lists", "[filter]") {
  recsys::item_mask a(130, false), b(130, true);
  for (index_t i : {0, 63, 64, 127, 129, 130, -1}) a.set(i);
  CHECK(a.count() == 5);
  CHECK(a.items() == std::vector<index_t>{0, 63, 64, 127, 129});
  CHECK(a.complement_items().size() == 125);
  b.subtract(a);
  CHECK(b.count() == 125);
  b |= a;
  CHECK(b == recsys::item_mask(130, true));
  b &= a;
  CHECK(b == a);
  b.flip();
  CHECK(b.count() == 125);
  CHECK(recsys::item_mask::of(130, std::vector<index_t>{5, 5, 200}).items() == std::vector<index_t>{5});
  CHECK(recsys::item_mask::where(70, [](index_t i) { return i % 3 == 0; }).count() == 24);
  CHECK_THROWS_AS(a &= recsys::item_mask(10), recsys::invalid_argument);
}

namespace {
// The first k entries of `full` (a recipe's unfiltered ranking of every item) that `allowed`
// allows: what a filter applied before truncation must return.
recsys::topk_result restrict(const recsys::topk_result& full, const recsys::item_mask& allowed, index_t k) {
  recsys::topk_result r;
  for (std::size_t j = 0; j < full.size() && static_cast<index_t>(r.size()) < k; ++j)
    if (allowed.test(full.ids[j])) r.push_back(full.ids[j], full.scores[j]);
  return r;
}
}  // namespace

TEST_CASE("recommend_filtered: every recipe applies the filter before truncation", "[filter]") {
  const world w = make_world(recsys::test::seed() + 1, 60, 200, 3000);
  const recsys::filter_data data{&w.log, &w.items, &w.users};
  recsys::popularity_count pop;
  pop.fit(w.log);
  recsys::trending_config tc;
  tc.window_seconds = 50;
  recsys::trending_now trend(tc);
  trend.fit(w.log);
  recsys::item_to_item knn;
  knn.fit(w.log);
  recsys::bpr_config bc;
  bc.factors = 8;
  bc.epochs = 3;
  bc.num_threads = 1;
  recsys::bpr_model bpr(bc);
  bpr.fit(recsys::build_matrix(w.log));
  const index_t n = w.log.num_items();
  // a sparse INCLUDE (include list), a dense EXCLUDE (exclude list), a per-user one, nothing allowed
  const std::vector<std::string> filters = {
      R"(INCLUDE ItemID WHERE Items.GENRE IN ("Drama"))",
      R"(EXCLUDE ItemID WHERE Items.PRICE > 160 | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click"))",
      R"(EXCLUDE ItemID WHERE Items.GENRE IN ("Comedy") IF CurrentUser.AGE > 30)",
      R"(INCLUDE ItemID WHERE Items.PRICE > 1000)"};
  for (const auto& text : filters) {
    INFO(text);
    const recsys::item_filter f(text, data);
    for (const bool exclude_seen : {false, true}) {
      recsys::recommend_options opts;
      opts.exclude_seen = exclude_seen;
      const std::vector<index_t> users = {0, 5, 59, -1, 500};
      const auto check_recipe = [&](const auto& model, const char* name, bool sparse_scores) {
        INFO(name << " exclude_seen " << exclude_seen);
        const auto batch = recsys::recommend_filtered_batch(model, users, 7, f, {}, opts, 2);
        REQUIRE(batch.size() == users.size());
        for (std::size_t r = 0; r < users.size(); ++r) {
          const index_t u = users[r];
          INFO("user " << u);
          const recsys::item_mask allowed = f.allowed(u);
          const recsys::topk_result got = recsys::recommend_filtered(model, u, 7, f, {}, opts);
          CHECK(got == batch[r]);
          for (index_t i : got.ids) CHECK(allowed.test(i));
          const recsys::topk_result full = model.recommend(u, n, opts);
          const recsys::topk_result want = restrict(full, allowed, 7);
          if (!sparse_scores || !want.empty()) CHECK(got == want);
          // the same through an explicit include list of the allowed items
          recsys::recommend_options inc = opts;
          const auto ids = allowed.items();
          inc.include = ids;
          if (!ids.empty()) CHECK(got == model.recommend(u, 7, inc));
        }
      };
      check_recipe(pop, "popularity", false);
      check_recipe(trend, "trending", false);
      check_recipe(knn, "item_to_item", true);
      check_recipe(bpr, "bpr", false);
    }
  }
  // options() honours the base include / exclude lists too
  const recsys::item_filter f(filters[1], data);
  const std::vector<index_t> base_include = {1, 2, 3, 4, 5, 6, 7, 8}, base_exclude = {2, 3};
  recsys::recommend_options base;
  base.include = base_include;
  base.exclude = base_exclude;
  const recsys::filtered_options fo(f.allowed(0), base);
  recsys::item_mask want = f.allowed(0);
  want &= recsys::item_mask::of(n, base_include);
  want.subtract(recsys::item_mask::of(n, base_exclude));
  CHECK(fo.num_allowed() == want.count());
  CHECK(std::vector<index_t>(fo.options().include.begin(), fo.options().include.end()) == want.items());
  // a model of another catalogue
  recsys::interaction_log small;
  small.add("u0", "i0", 1);
  recsys::popularity_count other;
  other.fit(small);
  CHECK_THROWS_AS(recsys::recommend_filtered(other, 0, 5, f), recsys::invalid_argument);
  CHECK_THROWS_AS(recsys::recommend_filtered_batch(other, std::vector<index_t>{0}, 5, f), recsys::invalid_argument);
}
