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
