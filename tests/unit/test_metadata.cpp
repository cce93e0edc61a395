// SPDX-License-Identifier: Apache-2.0
// data/metadata.hpp: Items and Users metadata CSV, field typing, missing values, lookups,
// alignment to dense ids (checked against a naive evaluation), errors and round trips.
#include <recsys/data/metadata.hpp>
#include <recsys/detail/csv_tokenizer.hpp>  // detail::append_number
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <bit>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using recsys::field_type;
using recsys::index_t;

using recsys::test::io_error_of;

void check_bad_items(const std::string& text, std::int64_t line, std::int64_t column, std::string_view needle,
                     const recsys::metadata_options& o = {}) {
  INFO("input: " << text);
  const auto e = io_error_of([&] { (void)recsys::parse_items_csv(text, "items.csv", o); });
  REQUIRE(e.has_value());
  INFO("what(): " << e->what());
  CHECK(e->file() == "items.csv");
  CHECK(e->line() == line);
  CHECK(e->column() == column);
  CHECK(e->reason().find(needle) != std::string::npos);
}

std::vector<std::string> values_of(const recsys::metadata_field& f, std::size_t row) {
  std::vector<std::string> out;
  for (index_t c : f.values(row)) out.push_back(f.dictionary.id(c));
  return out;
}

void check_same_table(const recsys::metadata_table& a, const recsys::metadata_table& b) {
  CHECK(a.id_column == b.id_column);
  CHECK(a.ids == b.ids);
  REQUIRE(a.fields.size() == b.fields.size());
  for (std::size_t k = 0; k < a.fields.size(); ++k) {
    const auto& x = a.fields[k];
    const auto& y = b.fields[k];
    INFO("field " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.type == y.type);
    REQUIRE(x.numbers.size() == y.numbers.size());
    for (std::size_t r = 0; r < x.numbers.size(); ++r)
      CHECK(((std::isnan(x.numbers[r]) && std::isnan(y.numbers[r])) ||
             std::bit_cast<std::uint64_t>(x.numbers[r]) == std::bit_cast<std::uint64_t>(y.numbers[r])));
    CHECK(x.timestamps == y.timestamps);
    CHECK(x.dictionary == y.dictionary);
    CHECK(x.offsets == y.offsets);
    CHECK(x.codes == y.codes);
  }
}

const std::string items_text =
    "ITEM_ID,GENRES,PRICE,creation_timestamp,BRAND,ZIP\n"
    "i1,Action|Comedy,12.5,1600000000,Acme,02134\n"
    "i2,,100,,\"Big, Co\",10001\n"
    "i3,Drama,,1600000100.0,,\n"
    "i4,Comedy,-3e2,-5,Acme,7\n";

}  // namespace

TEST_CASE("items metadata: typed fields, multi-values and explicit missing values", "[metadata]") {
  const auto t = recsys::parse_items_csv(items_text, "items.csv");
  REQUIRE(t.size() == 4);
  CHECK(t.id_column == "ITEM_ID");
  REQUIRE(t.fields.size() == 5);
  CHECK(t.fields[0].name == "GENRES");
  CHECK(t.fields[0].type == field_type::categorical);
  CHECK(t.fields[1].type == field_type::numeric);
  CHECK(t.fields[2].name == "creation_timestamp");
  CHECK(t.fields[2].type == field_type::timestamp);
  CHECK(t.fields[3].type == field_type::categorical);
  CHECK(t.fields[4].type == field_type::numeric);  // "02134" parses as a number: inferred numeric

  const auto& genres = t.field("genres");
  CHECK(values_of(genres, 0) == std::vector<std::string>{"Action", "Comedy"});
  CHECK(values_of(genres, 1).empty());
  CHECK(genres.is_missing(1));
  CHECK_FALSE(genres.is_missing(0));
  CHECK(genres.dictionary.ids() == std::vector<std::string>{"Action", "Comedy", "Drama"});
  const auto comedy = genres.code_of("Comedy");
  REQUIRE(comedy.has_value());
  CHECK(genres.has_code(0, *comedy));
  CHECK(genres.has_code(3, *comedy));
  CHECK_FALSE(genres.has_code(2, *comedy));
  CHECK_FALSE(genres.code_of("comedy").has_value());  // values are case-sensitive

  const auto& price = t.field("PRICE");
  CHECK(price.numbers[0] == 12.5);
  CHECK(price.numbers[1] == 100.0);
  CHECK(std::isnan(price.numbers[2]));
  CHECK(price.is_missing(2));
  CHECK(price.numbers[3] == -300.0);

  const auto& created = t.field("CREATION_TIMESTAMP");
  CHECK(created.timestamps == std::vector<recsys::timestamp_t>{1600000000, recsys::missing_timestamp, 1600000100, -5});
  CHECK(created.is_missing(1));

  CHECK(values_of(t.field("BRAND"), 1) == std::vector<std::string>{"Big, Co"});
  CHECK(t.field("BRAND").is_missing(2));

  CHECK(t.report.rows_read == 4);
  CHECK(t.report.rows_kept == 4);
  CHECK(t.report.source == "items.csv");

  SECTION("types can be forced") {
    recsys::metadata_options o;
    o.categorical_fields = {"zip"};
    o.numeric_fields = {"Price"};
    const auto forced = recsys::parse_items_csv(items_text, "items.csv", o);
    CHECK(forced.field("ZIP").type == field_type::categorical);
    CHECK(values_of(forced.field("ZIP"), 0) == std::vector<std::string>{"02134"});
    recsys::metadata_options price_numeric;
    price_numeric.numeric_fields = {"PRICE"};
    check_bad_items("ITEM_ID,PRICE\ni1,12\ni2,cheap\n", 3, 2, "PRICE 'cheap' is not a finite number", price_numeric);
  }
  SECTION("a separator of '\\0' keeps values whole") {
    recsys::metadata_options o;
    o.multi_value_separator = '\0';
    const auto whole = recsys::parse_items_csv(items_text, "items.csv", o);
    CHECK(values_of(whole.field("GENRES"), 0) == std::vector<std::string>{"Action|Comedy"});
  }
}

TEST_CASE("metadata: lookups by id and alignment to dense ids", "[metadata]") {
  const auto t = recsys::parse_items_csv(items_text, "items.csv");
  CHECK(t.row_of("i3").value() == 2);
  CHECK_FALSE(t.row_of("nope").has_value());
  CHECK(t.find_field("nope") == nullptr);
  CHECK_THROWS_AS(t.field("nope"), recsys::invalid_argument);
  const auto dense = recsys::id_map<>::from_keys(std::vector<std::string>{"i4", "unknown", "i1"});
  CHECK(t.align(dense) == std::vector<index_t>{3, -1, 0});
}

TEST_CASE("metadata: per-item filter evaluation through align() matches a naive evaluation", "[metadata]") {
  recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.metadata.filter"));
  struct source_row {
    std::string id;
    std::vector<std::string> categories;
    std::optional<double> price;
  };
  std::vector<source_row> rows;
  std::string text = "ITEM_ID,CATEGORY,PRICE\n";
  for (int k = 0; k < 400; ++k) {
    source_row s;
    s.id = recsys::detail::str("item-", k * 7 % 1000);
    if (k > 0 && s.id == rows.front().id) continue;
    const auto nc = r.uniform_index(3);
    for (std::uint32_t c = 0; c < nc; ++c) s.categories.push_back(recsys::detail::str("cat", r.uniform_index(6)));
    if (r.bernoulli(0.8)) s.price = static_cast<double>(r.uniform_index(20000)) / 100.0;
    text += s.id + ',';
    for (std::size_t c = 0; c < s.categories.size(); ++c) text += (c ? "|" : "") + s.categories[c];
    text += ',';
    if (s.price) {
      std::string p;
      recsys::detail::append_number(p, *s.price);
      text += p;
    }
    text += '\n';
    rows.push_back(s);
  }
  const auto t = recsys::parse_items_csv(text, "items.csv");
  REQUIRE(t.size() == rows.size());
  // a catalogue with half of the metadata ids plus unknown ones, in another order
  recsys::id_map<> catalogue;
  for (std::size_t k = rows.size(); k-- > 0;)
    if (k % 2 == 0) catalogue.insert(rows[k].id);
  for (int k = 0; k < 50; ++k) catalogue.insert(recsys::detail::str("new-", k));
  const auto aligned = t.align(catalogue);
  const auto& cat = t.field("CATEGORY");
  const auto& price = t.field("PRICE");
  const std::vector<std::string> wanted = {"cat1", "cat4"};
  std::vector<index_t> wanted_codes;
  for (const auto& w : wanted)
    if (auto c = cat.code_of(w)) wanted_codes.push_back(*c);
  for (index_t i = 0; i < catalogue.size(); ++i) {
    const index_t row = aligned[static_cast<std::size_t>(i)];
    bool fast_in = false;
    bool fast_expensive = false;
    if (row >= 0) {
      for (index_t c : wanted_codes) fast_in = fast_in || cat.has_code(static_cast<std::size_t>(row), c);
      fast_expensive = price.numbers[static_cast<std::size_t>(row)] > 100;  // NaN compares false
    }
    bool naive_in = false;
    bool naive_expensive = false;
    for (const auto& s : rows)
      if (s.id == catalogue.id(i)) {
        for (const auto& c : s.categories)
          for (const auto& w : wanted) naive_in = naive_in || c == w;
        naive_expensive = s.price && *s.price > 100;
      }
    CHECK(fast_in == naive_in);
    CHECK(fast_expensive == naive_expensive);
  }
}

TEST_CASE("metadata: header errors, empty input, header only", "[metadata][errors]") {
  check_bad_items("GENRE,PRICE\ni1,1\n", 1, 0, "missing required column ITEM_ID");
  check_bad_items("ITEM_ID,PRICE,price\n", 1, 3, "duplicate column name");
  check_bad_items("ITEM_ID,,PRICE\n", 1, 2, "empty column name");
  check_bad_items("\"ITEM_ID,PRICE\n", 1, 1, "unterminated");
  const auto empty = io_error_of([] { (void)recsys::parse_items_csv("", "items.csv"); });
  REQUIRE(empty.has_value());
  CHECK(empty->reason().find("empty file") != std::string::npos);
  const auto header_only = recsys::parse_items_csv("\xEF\xBB\xBFitem_id,PRICE\r\n", "items.csv");
  CHECK(header_only.empty());
  REQUIRE(header_only.fields.size() == 1);
  CHECK(header_only.fields[0].type == field_type::categorical);  // no value: nothing proves it numeric
  CHECK_THROWS_AS(recsys::parse_users_csv("ITEM_ID,AGE\n", "users.csv"), recsys::io_error);
  recsys::metadata_options o;
  o.numeric_fields = {"WEIGHT"};
  check_bad_items("ITEM_ID,PRICE\n", 1, 0, "numeric_fields names 'WEIGHT'", o);
  o = {};
  o.categorical_fields = {"CREATION_TIMESTAMP"};
  check_bad_items("ITEM_ID,CREATION_TIMESTAMP\n", 1, 0, "cannot be forced categorical", o);
  o = {};
  o.numeric_fields = {"PRICE"};
  o.categorical_fields = {"price"};
  CHECK_THROWS_AS(recsys::parse_items_csv("ITEM_ID,PRICE\n", "items.csv", o), recsys::invalid_argument);
  o = {};
  o.multi_value_separator = ',';
  CHECK_THROWS_AS(recsys::parse_items_csv("ITEM_ID,PRICE\n", "items.csv", o), recsys::invalid_argument);
}

TEST_CASE("metadata: bad rows, the earliest is raised, skip keeps them sorted", "[metadata][errors]") {
  const std::string h = "ITEM_ID,GENRES,CREATION_TIMESTAMP\n";
  check_bad_items(h + "i1,a,1\ni2,b\n", 3, 3, "missing field");
  check_bad_items(h + "i1,a,1,x\n", 2, 4, "too many fields");
  check_bad_items(h + ",a,1\n", 2, 1, "empty ITEM_ID");
  check_bad_items(h + "i1,a,1\ni1,b,2\n", 3, 1, "duplicate ITEM_ID 'i1' (first on line 2)");
  check_bad_items(h + "i1,a,1.5\n", 2, 3, "CREATION_TIMESTAMP '1.5' has a fractional part");
  check_bad_items(h + "i1,a||b,1\n", 2, 2, "empty value between '|' separators");
  check_bad_items(h + "i1,a|,1\n", 2, 2, "empty value");
  check_bad_items(h + "i1,a,1\n\n", 3, 1, "empty line");
  // a value problem on line 2 is found after a structure problem on line 3, but is raised first
  check_bad_items(h + "i1,a,soon\ni2,b\n", 2, 3, "CREATION_TIMESTAMP 'soon'");

  recsys::metadata_options skip;
  skip.bad_rows = recsys::bad_row_policy::skip;
  skip.max_problems = 3;
  const auto t = recsys::parse_items_csv(
      "ITEM_ID,PRICE,CREATION_TIMESTAMP,TAGS\n"
      "i1,10,1,x\n"      // 2 ok
      "i2,abc,soon,y\n"  // 3 bad timestamp (PRICE 'abc' must not make PRICE categorical)
      "i3,30\n"          // 4 missing field
      "i1,40,4,z\n"      // 5 duplicate id
      "i5,50,5,p||q\n"   // 6 empty multi-value part
      "i6,,6,\n",        // 7 ok
      "items.csv", skip);
  CHECK(t.size() == 2);
  CHECK(t.ids.ids() == std::vector<std::string>{"i1", "i6"});
  CHECK(t.report.rows_read == 6);
  CHECK(t.report.rows_bad == 4);
  CHECK(t.report.rows_kept == 2);
  REQUIRE(t.report.problems.size() == 3);
  CHECK(t.report.problems[0].line == 3);
  CHECK(t.report.problems[1].line == 4);
  CHECK(t.report.problems[2].line == 5);
  CHECK(t.field("PRICE").type == field_type::numeric);
  CHECK(t.field("TAGS").dictionary.ids() == std::vector<std::string>{"x"});  // bad rows add no values
}

TEST_CASE("users metadata: USER_ID, numeric and categorical fields", "[metadata]") {
  const auto u =
      recsys::parse_users_csv("AGE,USER_ID,GENDER,CREATION_TIMESTAMP\n24,1,M,5\n53,2,F,\n,3,,7\n", "users.csv");
  CHECK(u.id_column == "USER_ID");
  REQUIRE(u.size() == 3);
  CHECK(u.field("AGE").type == field_type::numeric);
  CHECK(std::isnan(u.field("AGE").numbers[2]));
  CHECK(u.field("GENDER").type == field_type::categorical);
  CHECK(u.field("CREATION_TIMESTAMP").type == field_type::numeric);  // only Items have the timestamp type
  CHECK(u.row_of("2").value() == 1);
}

TEST_CASE("metadata writer round-trips", "[metadata][writer]") {
  recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.metadata.roundtrip"));
  std::string text = "ITEM_ID,Tags,WEIGHT,CREATION_TIMESTAMP,\"odd, name\"\n";
  for (int k = 0; k < 300; ++k) {
    text += recsys::detail::str("\"item ", k, (k % 17 == 0 ? ", \"\"special\"\"\"" : "\""), ',');
    const auto nt = r.uniform_index(4);
    std::string tags;
    for (std::uint32_t c = 0; c < nt; ++c) {
      if (c) tags += '|';
      tags += c % 2 ? "a\"b" : "x y";
    }
    text += '"';  // always quoted, quotes doubled
    for (char ch : tags) {
      if (ch == '"') text += '"';
      text += ch;
    }
    text += '"';
    text += ',';
    if (r.bernoulli(0.9)) {
      double d;
      do d = std::bit_cast<double>(r());
      while (!std::isfinite(d));
      recsys::detail::append_number(text, d);
    }
    text += ',';
    if (r.bernoulli(0.9)) text += std::to_string(static_cast<std::int64_t>(r() >> 2) - (std::int64_t{1} << 60));
    text += recsys::detail::str(",v", r.uniform_index(5), "\n");
  }
  const auto t = recsys::parse_items_csv(text, "items.csv");
  REQUIRE(t.size() == 300);
  CHECK(t.field("WEIGHT").type == field_type::numeric);
  CHECK(t.field("Tags").type == field_type::categorical);
  std::ostringstream os;
  recsys::write_metadata_csv(t, os);
  const auto back = recsys::parse_items_csv(os.str(), "items.csv");
  check_same_table(back, t);
  std::ostringstream again;
  recsys::write_metadata_csv(back, again);
  CHECK(again.str() == os.str());

  const auto dir = recsys::test::scratch_dir("metadata-writer");
  recsys::write_items_csv(t, dir / "items.csv");
  check_same_table(recsys::read_items_csv(dir / "items.csv"), t);
  CHECK_THROWS_AS(recsys::write_users_csv(t, dir / "users.csv"), recsys::invalid_argument);
  recsys::metadata_options zip;
  zip.categorical_fields = {"ZIP"};
  const auto users = recsys::parse_users_csv("USER_ID,AGE,ZIP\nu1,30,02134\nu2,,10001\n", "users.csv", zip);
  recsys::write_users_csv(users, dir / "users.csv");
  check_same_table(recsys::read_users_csv(dir / "users.csv", zip), users);
  std::filesystem::remove_all(dir);

  // a value holding the separator cannot be written (Personalize has no escape for it)
  recsys::metadata_options whole;
  whole.multi_value_separator = '\0';
  const auto piped = recsys::parse_items_csv("ITEM_ID,G\ni1,a|b\n", "items.csv", whole);
  std::ostringstream w;
  CHECK_THROWS_AS(recsys::write_metadata_csv(piped, w), recsys::invalid_argument);
  std::ostringstream w2;
  recsys::write_metadata_csv(piped, w2, ',', '\0');
  CHECK(w2.str() == "ITEM_ID,G\ni1,a|b\n");
}
