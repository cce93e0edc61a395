// SPDX-License-Identifier: Apache-2.0
// The readers on the real datasets in RECSYS_DATA_DIR (never copied into the project); the
// expected values come from each dataset's PROVENANCE.md.
#include <recsys/data/csv.hpp>

#include "recsys_test.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

namespace {
namespace fs = std::filesystem;

fs::path data(const char* relative) {
  const fs::path p = recsys::test::data_dir() / relative;
  REQUIRE(fs::exists(p));
  return p;
}
}  // namespace

TEST_CASE("MovieLens 100K u.data through raw_format::movielens", "[datasets][movielens]") {
  const auto log = recsys::read_delimited(data("movielens-100k/u.data"), recsys::raw_format::movielens());
  CHECK(log.size() == 100000);
  CHECK(log.num_users() == 943);
  CHECK(log.num_items() == 1682);
  CHECK(log.report.rows_read == 100000);
  CHECK(log.report.rows_kept == 100000);
  CHECK(log.report.rows_bad == 0);
  // first row: 196 242 3 881250949
  CHECK(log.user_ids.id(log.users[0]) == "196");
  CHECK(log.item_ids.id(log.items[0]) == "242");
  CHECK(log.event_values[0] == 3.0f);
  CHECK(log.timestamps[0] == 881250949);
  std::map<float, int> ratings;
  for (float v : log.event_values) ++ratings[v];
  CHECK(ratings == std::map<float, int>{{1.f, 6110}, {2.f, 11370}, {3.f, 27145}, {4.f, 34174}, {5.f, 21201}});
  // 1997-09-20 03:05:10 UTC ... 1998-04-22 23:10:38 UTC
  CHECK(log.time_range() == std::pair<recsys::timestamp_t, recsys::timestamp_t>{874724710, 893286638});
  log.validate();

  // write as a Personalize CSV and read back: the same log
  std::ostringstream os;
  recsys::write_interactions_csv(log, os);
  const auto back = recsys::parse_interactions_csv(os.str(), "ml.csv");
  CHECK(back.users == log.users);
  CHECK(back.items == log.items);
  CHECK(back.timestamps == log.timestamps);
  CHECK(back.event_values == log.event_values);
  CHECK(back.user_ids == log.user_ids);
  CHECK(back.item_ids == log.item_ids);
}

TEST_CASE("Groceries baskets", "[datasets][groceries]") {
  const auto b = recsys::read_baskets(data("groceries/groceries.csv"));
  CHECK(b.size() == 9835);
  CHECK(b.num_items() == 169);
  CHECK(b.items.size() == 43367);
  CHECK(b.items_merged == 0);
  CHECK(b.report.rows_bad == 0);
  std::size_t longest = 0;
  std::size_t at_least_two = 0;
  for (std::size_t k = 0; k < b.size(); ++k) {
    longest = std::max(longest, b.length(k));
    at_least_two += b.length(k) >= 2 ? 1 : 0;
  }
  CHECK(longest == 32);
  CHECK(at_least_two == 7676);
  const auto milk = b.item_ids.find("whole milk");
  REQUIRE(milk.has_value());
  CHECK(std::count(b.items.begin(), b.items.end(), *milk) == 2513);
  CHECK(b.item_ids.id(b.basket(0)[0]) == "citrus fruit");
  CHECK(b.length(0) == 4);
}

TEST_CASE("YooChoose RSC15 sample through raw_format::rsc15", "[datasets][rsc15]") {
  const auto train = recsys::read_delimited(data("yoochoose-rsc15-sample/yoochoose-clicks-100k_train_full.txt"),
                                            recsys::raw_format::rsc15());
  CHECK(train.size() == 70278);
  CHECK(train.session_ids.size() == 17794);
  CHECK(train.num_users() == 17794);
  CHECK(train.num_items() == 2933);
  CHECK(train.has_session);
  CHECK(train.report.rows_bad == 0);
  // 2014-04-01 01:02:21 ... 2014-04-07 00:43:12 UTC (floored seconds)
  CHECK(train.time_range() == std::pair<recsys::timestamp_t, recsys::timestamp_t>{1396314141, 1396831392});
  CHECK(train.item_ids.id(train.items[0]) == "214716935");
  CHECK(train.timestamps[0] == 1396437466);

  const auto test = recsys::read_delimited(data("yoochoose-rsc15-sample/yoochoose-clicks-100k_test.txt"),
                                           recsys::raw_format::rsc15());
  CHECK(test.size() == 13568);
  CHECK(test.session_ids.size() == 3416);
  CHECK(test.num_items() == 1771);
  for (const auto& item : test.item_ids.ids())
    REQUIRE(train.item_ids.contains(item));  // PROVENANCE: every test item is in train_full
  for (const auto& s : test.session_ids.ids()) REQUIRE_FALSE(train.session_ids.contains(s));

  // without the preset's floor policy the fractional times are refused, naming line and field
  auto strict = recsys::raw_format::rsc15();
  strict.fractional_timestamps = recsys::fractional_timestamp::reject;
  try {
    (void)recsys::read_delimited(data("yoochoose-rsc15-sample/yoochoose-clicks-100k_test.txt"), strict);
    FAIL("expected an io_error");
  } catch (const recsys::io_error& e) {
    CHECK(e.line() == 2);
    CHECK(e.column() == 3);
    CHECK(e.reason().find("fractional part") != std::string::npos);
  }
}
