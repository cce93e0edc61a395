// SPDX-License-Identifier: Apache-2.0
// Splits and the matrix on the real samples in RECSYS_DATA_DIR:
// - the session-time split reproduces the published RSC15 preprocessing of the YooChoose sample
//   (train_full -> train_tr / train_valid, and train_full + test -> train_full / test);
// - Personalize's split and the matrix on MovieLens 100k.
// The files are parsed here with a few lines of code (the CSV readers are tested elsewhere).
#include <recsys/data/csv.hpp>
#include <recsys/data/ingest.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/matrix.hpp>
#include <recsys/data/split.hpp>

#include "recsys_test.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

struct click {
  std::string session, item;
  double time;
};

std::vector<click> read_rsc15(const std::string& name) {
  const auto path = recsys::test::data_dir() / "yoochoose-rsc15-sample" / name;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header SessionId ItemId Time
  std::vector<click> out;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    click c;
    REQUIRE(fields >> c.session >> c.item >> c.time);
    out.push_back(c);
  }
  return out;
}

/// One log with SESSION_ID = USER_ID = the session; TIMESTAMP = whole seconds (the files have
/// milliseconds); EVENT_VALUE = the row's position in the concatenated input, to trace rows.
recsys::interaction_log to_log(const std::vector<std::vector<click>>& parts) {
  recsys::interaction_log log;
  float row = 0.0f;
  for (const auto& part : parts)
    for (const auto& c : part)
      log.add(c.session, c.item, static_cast<recsys::timestamp_t>(std::floor(c.time)), "", row++, c.session);
  return log;
}

using event = std::tuple<std::string, std::string, recsys::timestamp_t>;

std::multiset<event> events_of(const recsys::interaction_log& log) {
  std::multiset<event> s;
  for (std::size_t r = 0; r < log.size(); ++r)
    s.emplace(log.session_ids.id(log.sessions[r]), log.item_ids.id(log.items[r]), log.timestamps[r]);
  return s;
}

std::multiset<event> events_of(const std::vector<click>& clicks) {
  std::multiset<event> s;
  for (const auto& c : clicks) s.emplace(c.session, c.item, static_cast<recsys::timestamp_t>(std::floor(c.time)));
  return s;
}

}  // namespace

TEST_CASE("session-time split reproduces RSC15's train_tr / train_valid from train_full", "[split][datasets]") {
  const auto train_full = read_rsc15("yoochoose-clicks-100k_train_full.txt");
  const auto train_tr = read_rsc15("yoochoose-clicks-100k_train_tr.txt");
  const auto train_valid = read_rsc15("yoochoose-clicks-100k_train_valid.txt");
  const auto log = to_log({train_full});
  REQUIRE(log.size() == 70278);
  const auto s = recsys::make_split(log, recsys::parse_split_spec("session-time"), 0);
  CHECK(s.train.size() == train_tr.size());
  CHECK(s.test.size() == train_valid.size());
  CHECK(events_of(s.train) == events_of(train_tr));
  CHECK(events_of(s.test) == events_of(train_valid));
  INFO(s.test.report.summary());
  CHECK(s.test.report.removed_by(recsys::split_rule_names::unseen_item) +
            s.test.report.removed_by(recsys::split_rule_names::short_session) ==
        static_cast<std::int64_t>(train_full.size() - train_tr.size() - train_valid.size()));
}

TEST_CASE("session-time split of train_full + test gives back train_full and test", "[split][datasets]") {
  const auto train_full = read_rsc15("yoochoose-clicks-100k_train_full.txt");
  const auto test = read_rsc15("yoochoose-clicks-100k_test.txt");
  const auto log = to_log({train_full, test});
  const auto s = recsys::session_time_split(log);
  CHECK(events_of(s.train) == events_of(train_full));
  CHECK(events_of(s.test) == events_of(test));
  CHECK(recsys::build_sessions(s.test).size() == 3416);
}

TEST_CASE("Personalize split and matrix on MovieLens 100k", "[split][matrix][datasets]") {
  const auto log = recsys::read_delimited(recsys::test::data_dir() / "movielens-100k" / "u.data",
                                         recsys::raw_format::movielens());
  REQUIRE(log.size() == 100000);
  REQUIRE(log.num_users() == 943);

  const auto s = recsys::personalize_split(log, 42);
  const std::set<recsys::index_t> test_users(s.test.users.begin(), s.test.users.end());
  CHECK(test_users.size() == 94);  // round(94.3)
  CHECK(s.train.size() + s.test.size() == log.size());

  // ratings >= 4 as positives, counted per pair; shapes match across the split
  recsys::ingest_rules rules;
  rules.event_value_threshold = 4.0f;
  const auto positives = recsys::apply_rules(s.train, rules);
  CHECK(positives.report.removed_by(recsys::ingest_rule_names::event_value_threshold) > 0);
  recsys::matrix_options o;
  o.scheme = recsys::weighting::bm25;
  const auto m = recsys::build_matrix(positives, o);
  CHECK(m.rows() == 943);
  CHECK(m.cols() == recsys::build_matrix(s.test).cols());
  CHECK(m.nonZeros() == static_cast<Eigen::Index>(positives.size()));  // MovieLens has no repeated pairs
}
