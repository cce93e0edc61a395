// SPDX-License-Identifier: Apache-2.0
// id_map, interaction_log and build_sessions.
#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>

#include "recsys_test.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

TEST_CASE("id_map assigns first-seen dense indices and finds them again", "[id_map]") {
  recsys::id_map<> m;
  CHECK(m.insert("alice") == 0);
  CHECK(m.insert("bob") == 1);
  CHECK(m.insert("alice") == 0);
  CHECK(m.size() == 2);
  CHECK(m.find("bob").value() == 1);
  CHECK_FALSE(m.find("carol").has_value());
  CHECK(m.find_or("carol", -7) == -7);
  CHECK(m.id(1) == "bob");
  CHECK_THROWS_AS(m.id(2), recsys::invalid_argument);
  CHECK_THROWS_AS(m.id(-1), recsys::invalid_argument);
  CHECK(recsys::id_map<>().find("x") == std::nullopt);
}

TEST_CASE("id_map grows without renumbering and survives many rehashes", "[id_map]") {
  recsys::id_map<> m;
  for (int i = 0; i < 100000; ++i) REQUIRE(m.insert("id" + std::to_string(i)) == i);
  for (int i = 0; i < 100000; i += 97) REQUIRE(m.find("id" + std::to_string(i)).value() == i);
  CHECK_FALSE(m.contains("id100000"));
  recsys::id_map<std::int64_t> n;
  n.insert(9'000'000'000'000'000'000LL);
  n.insert(-5);
  CHECK(n.find(-5).value() == 1);
  CHECK(n.id(0) == 9'000'000'000'000'000'000LL);
}

TEST_CASE("id_map::sort_by_key renumbers and returns the permutation", "[id_map]") {
  auto m = recsys::id_map<>::from_keys(std::vector<std::string>{"c", "a", "b"});
  const auto perm = m.sort_by_key();
  CHECK(perm == std::vector<recsys::index_t>{2, 0, 1});
  CHECK(m.ids() == std::vector<std::string>{"a", "b", "c"});
  CHECK(m.find("c").value() == 2);
  CHECK_THROWS_AS(recsys::id_map<>::from_keys(std::vector<std::string>{"a", "a"}), recsys::invalid_argument);
}

TEST_CASE("interaction_log adds events, tracks optional columns and reports", "[interaction_log]") {
  recsys::interaction_log log;
  log.add("u1", "i1", 100);
  log.add("u2", "i1", 50, "click", 2.5f, "s9");
  log.add("u1", "i2", 200, "purchase");
  CHECK(log.size() == 3);
  CHECK(log.num_users() == 2);
  CHECK(log.num_items() == 2);
  CHECK(log.has_event_type);
  CHECK(log.has_event_value);
  CHECK(log.has_session);
  CHECK(log.event_types[0] == recsys::invalid_index);
  CHECK(log.event_type_names.id(log.event_types[2]) == "purchase");
  CHECK(std::isnan(log.event_values[0]));
  CHECK(log.sessions[0] == recsys::invalid_index);
  CHECK(log.time_range() == std::pair<recsys::timestamp_t, recsys::timestamp_t>{50, 200});
  CHECK(log.report.rows_read == 3);
  CHECK(log.report.rows_kept == 3);
  CHECK_NOTHROW(log.validate());

  auto sub = log.subset({true, false, true}, "test rule");
  CHECK(sub.size() == 2);
  CHECK(sub.num_users() == 2);  // id maps are kept whole
  CHECK(sub.report.rows_kept == 2);
  CHECK(sub.report.removed_by("test rule") == 1);
  CHECK(sub.report.summary().find("1 removed by test rule") != std::string::npos);
  CHECK_THROWS_AS(log.subset({true}), recsys::invalid_argument);
  CHECK_THROWS_AS(log.add_indexed(5, 0, 1), recsys::invalid_argument);
  CHECK_THROWS_AS(log.add_indexed(0, 0, 1, -1, 0.f, -1, std::nanf("")), recsys::invalid_argument);
}

// validate() first checks every row in one branch-free pass and reports only when something is
// wrong: the report must still name the first bad row, whatever the column.
TEST_CASE("interaction_log::validate reports the first violation", "[interaction_log]") {
  recsys::interaction_log log;
  for (int r = 0; r < 100; ++r)
    log.add(std::string("u") + std::to_string(r % 7), std::string("i") + std::to_string(r % 11), r,
            r % 2 ? "view" : "buy", 1.0f, std::string("s") + std::to_string(r % 3));
  REQUIRE_NOTHROW(log.validate());
  auto message = [](const recsys::interaction_log& l) {
    try {
      l.validate();
    } catch (const recsys::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  auto bad = log;
  bad.users[40] = 7;  // one past the last user
  bad.items[60] = -2;
  CHECK(message(bad).find("row 40: user index 7 out of range") != std::string::npos);
  bad = log;
  bad.items[60] = -1;
  bad.weights[70] = std::numeric_limits<float>::infinity();
  CHECK(message(bad).find("row 60: item index -1 out of range") != std::string::npos);
  bad = log;
  bad.event_types[5] = 2;  // two event types
  CHECK(message(bad).find("row 5: event type index out of range") != std::string::npos);
  bad = log;
  bad.event_types[5] = -2;
  CHECK(message(bad).find("row 5: event type index out of range") != std::string::npos);
  bad = log;
  bad.event_types[5] = -1;  // absent: allowed
  bad.sessions[9] = -1;
  CHECK_NOTHROW(bad.validate());
  bad.sessions[99] = 3;
  CHECK(message(bad).find("row 99: session index out of range") != std::string::npos);
  bad = log;
  bad.weights[70] = std::nanf("");
  CHECK(message(bad).find("row 70: weight") != std::string::npos);
  bad = log;
  bad.weights[71] = -std::numeric_limits<float>::infinity();
  CHECK(message(bad).find("row 71: weight") != std::string::npos);
  bad = log;
  bad.weights[72] = -std::numeric_limits<float>::max();  // finite: allowed
  CHECK_NOTHROW(bad.validate());
  bad.timestamps.pop_back();
  CHECK(message(bad).find("columns have different lengths") != std::string::npos);
}

TEST_CASE("build_sessions cuts users' events at inactivity gaps", "[sessions]") {
  recsys::interaction_log log;
  log.add("u1", "a", 0);
  log.add("u1", "b", 60);
  log.add("u1", "c", 60 + 3600);  // > 30 min later: new session
  log.add("u2", "a", 30);
  log.add("u1", "d", 60 + 3600 + 10);
  const auto s = recsys::build_sessions(log);
  REQUIRE(s.size() == 3);
  // ordered by start time: u1@0, u2@30, u1@3660
  CHECK(std::vector<recsys::index_t>(s.session(0).begin(), s.session(0).end()) == std::vector<recsys::index_t>{0, 1});
  CHECK(s.users[1] == log.user_ids.find("u2").value());
  CHECK(std::vector<recsys::index_t>(s.session(2).begin(), s.session(2).end()) == std::vector<recsys::index_t>{2, 3});
  CHECK(s.num_events() == 5);
  CHECK(s.session_ids[0] == recsys::invalid_index);

  recsys::session_options o;
  o.min_length = 2;
  CHECK(recsys::build_sessions(log, o).size() == 2);
  o.from = recsys::session_options::source::session_column;
  CHECK_THROWS_AS(recsys::build_sessions(log, o), recsys::invalid_argument);
}

TEST_CASE("build_sessions uses SESSION_ID when present and orders events by time", "[sessions]") {
  recsys::interaction_log log;
  log.add("u", "x", 500, "", std::nanf(""), "s2");
  log.add("u", "y", 100, "", std::nanf(""), "s1");
  log.add("u", "z", 90, "", std::nanf(""), "s2");
  log.add("u", "w", 5000, "", std::nanf(""), "s1");  // same session despite the gap
  const auto s = recsys::build_sessions(log);
  REQUIRE(s.size() == 2);
  CHECK(log.session_ids.id(s.session_ids[0]) == "s2");  // starts at 90
  CHECK(s.session_times(0)[0] == 90);
  CHECK(log.item_ids.id(s.session(0)[0]) == "z");
  CHECK(s.length(1) == 2);
}

#include <recsys/data/baskets.hpp>

TEST_CASE("basket_data keeps distinct items per basket and builds the incidence matrix", "[baskets]") {
  recsys::basket_data b;
  b.add_basket(std::vector<std::string>{"milk", "bread", "milk"});
  b.add_basket(std::vector<std::string>{"bread"});
  b.add_basket(std::vector<std::string>{});
  REQUIRE(b.size() == 3);
  CHECK(b.length(0) == 2);
  CHECK(b.length(2) == 0);
  CHECK(b.num_items() == 2);
  const auto m = b.to_matrix();
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 2);
  CHECK(m.nonZeros() == 3);
  CHECK(m.coeff(1, b.item_ids.find("bread").value()) == 1.0f);
  const std::vector<recsys::index_t> bad{5};
  CHECK_THROWS_AS(b.push_basket(bad), recsys::invalid_argument);
}
