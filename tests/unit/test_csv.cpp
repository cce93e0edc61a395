// SPDX-License-Identifier: Apache-2.0
// data/csv.hpp: the RFC 4180 tokenizer (against a naive reference, whole and chunked), the
// Personalize interactions reader and writer, raw delimited formats and baskets, and every
// malformed-input case with its file/line/column.
#include <recsys/data/csv.hpp>
#include <recsys/data/csv-inl.hpp>  // the readers' internals (csv_source, number parsers, read_personalize)
#include <recsys/random.hpp>

#include "recsys_test.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using recsys::index_t;

// ---- helpers --------------------------------------------------------------------------------

recsys::interaction_log parse(std::string_view text, const recsys::csv_options& o = {}) {
  return recsys::parse_interactions_csv(text, "t.csv", o);
}

recsys::csv_options skipping(std::size_t max_problems = 100) {
  recsys::csv_options o;
  o.bad_rows = recsys::bad_row_policy::skip;
  o.max_problems = max_problems;
  return o;
}

using recsys::test::io_error_of;

// The reader must throw io_error at (line, column) with a reason containing `needle`.
void check_bad(std::string_view text, std::int64_t line, std::int64_t column, std::string_view needle,
               const recsys::csv_options& o = {}) {
  INFO("input: " << text);
  const auto e = io_error_of([&] { (void)parse(text, o); });
  REQUIRE(e.has_value());
  INFO("what(): " << e->what());
  CHECK(e->file() == "t.csv");
  CHECK(e->line() == line);
  CHECK(e->column() == column);
  CHECK(e->reason().find(needle) != std::string::npos);
}

void spit(const fs::path& p, std::string_view s) {
  std::ofstream out(p, std::ios::binary);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

bool same_value(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

void check_same_log(const recsys::interaction_log& a, const recsys::interaction_log& b) {
  REQUIRE(a.size() == b.size());
  CHECK(a.users == b.users);
  CHECK(a.items == b.items);
  CHECK(a.timestamps == b.timestamps);
  CHECK(a.event_types == b.event_types);
  CHECK(a.sessions == b.sessions);
  CHECK(a.weights == b.weights);
  for (std::size_t r = 0; r < a.size(); ++r) REQUIRE(same_value(a.event_values[r], b.event_values[r]));
  CHECK(a.user_ids == b.user_ids);
  CHECK(a.item_ids == b.item_ids);
  CHECK(a.event_type_names == b.event_type_names);
  CHECK(a.session_ids == b.session_ids);
  CHECK(a.has_event_type == b.has_event_type);
  CHECK(a.has_event_value == b.has_event_value);
  CHECK(a.has_session == b.has_session);
}

// ---- naive reference tokenizer (valid RFC 4180 input only), char by char ---------------------

struct ref_record {
  std::int64_t line = 0;
  std::vector<std::string> fields;
};

std::vector<ref_record> reference_parse(std::string_view t, char d) {
  std::vector<ref_record> out;
  std::size_t i = t.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  std::int64_t line = 1;
  while (i < t.size()) {
    ref_record r;
    r.line = line;
    std::string f;
    bool in_quotes = false;
    for (;;) {
      if (i == t.size()) {
        r.fields.push_back(f);
        break;
      }
      const char c = t[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < t.size() && t[i + 1] == '"') {
            f += '"';
            i += 2;
          } else {
            in_quotes = false;
            ++i;
          }
        } else {
          if (c == '\n' || (c == '\r' && !(i + 1 < t.size() && t[i + 1] == '\n'))) ++line;
          f += c;
          ++i;
        }
      } else if (c == '"') {
        in_quotes = true;
        ++i;
      } else if (c == d) {
        r.fields.push_back(f);
        f.clear();
        ++i;
      } else if (c == '\n' || c == '\r') {
        r.fields.push_back(f);
        i += (c == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ? 2 : 1;
        ++line;
        break;
      } else {
        f += c;
        ++i;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// A random valid CSV text: fields of a small alphabet with delimiters, quotes, CR, LF, spaces
// and UTF-8; fields that need it are quoted, others sometimes; LF and CRLF line ends.
std::string random_csv(recsys::rng& r, char d, int records) {
  static const std::vector<std::string> alphabet = {"a",  "b",    "Z",        "7", " ", std::string(1, ','), "\"", "\n",
                                                    "\r", "\r\n", "\xC3\xA9", ";", "\t"};
  std::string out;
  if (r.bernoulli(0.3)) out += "\xEF\xBB\xBF";
  for (int k = 0; k < records; ++k) {
    const int nf = 1 + static_cast<int>(r.uniform_index(5));
    bool single_empty_unquoted = false;
    for (int f = 0; f < nf; ++f) {
      std::string v;
      const int len = static_cast<int>(r.uniform_index(6));
      for (int c = 0; c < len; ++c) v += alphabet[r.uniform_index(static_cast<std::uint32_t>(alphabet.size()))];
      const bool quote = v.find_first_of(std::string("\"\r\n") + d) != std::string::npos || r.bernoulli(0.2);
      if (f) out += d;
      if (quote) {
        out += '"';
        for (char c : v) {
          if (c == '"') out += '"';
          out += c;
        }
        out += '"';
      } else {
        out += v;
      }
      single_empty_unquoted = nf == 1 && v.empty() && !quote;
    }
    const bool last = k + 1 == records;
    if (!last || single_empty_unquoted || r.bernoulli(0.5)) out += r.bernoulli(0.5) ? "\n" : "\r\n";
  }
  return out;
}

std::vector<ref_record> tokenize_all(recsys::detail::csv_source& src) {
  std::vector<ref_record> out;
  recsys::detail::csv_record rec;
  while (src.next(rec)) {
    REQUIRE_FALSE(rec.has_error());
    ref_record r;
    r.line = rec.line;
    for (auto f : rec.fields) r.fields.emplace_back(f);
    out.push_back(std::move(r));
  }
  return out;
}

void check_same_records(const std::vector<ref_record>& a, const std::vector<ref_record>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    INFO("record " << k);
    CHECK(a[k].line == b[k].line);
    CHECK(a[k].fields == b[k].fields);
  }
}

}  // namespace

// ============================================================================================
// Tokenizer

TEST_CASE("tokenizer matches a naive RFC 4180 reader on random text, whole and in tiny chunks", "[csv][tokenizer]") {
  const auto dir = recsys::test::scratch_dir("csv-tokenizer");
  for (const char d : {',', ';', '\t'}) {
    for (int trial = 0; trial < 40; ++trial) {
      recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.csv.tokenizer"),
                    static_cast<std::uint64_t>(trial * 7 + d));
      const std::string text = random_csv(r, d, 1 + static_cast<int>(r.uniform_index(40)));
      INFO("seed " << recsys::test::seed() << " trial " << trial << " delimiter " << int(d));
      const auto expected = reference_parse(text, d);
      recsys::detail::csv_source mem(text, "mem", d, true);
      check_same_records(tokenize_all(mem), expected);
      const fs::path file = dir / "random.csv";
      spit(file, text);
      for (const std::size_t chunk : {4u, 5u, 7u, 13u, 64u, 1u << 20}) {
        INFO("chunk " << chunk);
        recsys::detail::csv_source src(file, d, true, chunk);
        check_same_records(tokenize_all(src), expected);
      }
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("tokenizer: line ends, empty lines, BOM, quoting off, position", "[csv][tokenizer]") {
  using recsys::detail::csv_record;
  using recsys::detail::csv_source;
  csv_record rec;
  {  // LF, CRLF, lone CR, and a last line without terminator
    csv_source s("a,b\nc,d\r\ne\rf", "m", ',', true);
    REQUIRE(s.next(rec));
    CHECK((rec.fields == std::vector<std::string_view>{"a", "b"}));
    CHECK(rec.line == 1);
    REQUIRE(s.next(rec));
    CHECK((rec.fields == std::vector<std::string_view>{"c", "d"}));
    CHECK(rec.line == 2);
    REQUIRE(s.next(rec));
    CHECK((rec.fields == std::vector<std::string_view>{"e"}));
    REQUIRE(s.next(rec));
    CHECK((rec.fields == std::vector<std::string_view>{"f"}));
    CHECK(rec.line == 4);
    CHECK_FALSE(s.next(rec));
  }
  {  // an empty line is a record flagged empty_line; a quoted empty field is not
    csv_source s("\n\"\"\n", "m", ',', true);
    REQUIRE(s.next(rec));
    CHECK(rec.empty_line);
    REQUIRE(s.next(rec));
    CHECK_FALSE(rec.empty_line);
    CHECK((rec.fields == std::vector<std::string_view>{""}));
    CHECK_FALSE(s.next(rec));
  }
  {  // BOM skipped; position counts it
    csv_source s("\xEF\xBB\xBFx,y\n", "m", ',', true);
    CHECK(s.had_bom());
    REQUIRE(s.next(rec));
    CHECK((rec.fields == std::vector<std::string_view>{"x", "y"}));
    CHECK(s.position() == 7);
  }
  {  // quoting off: quotes are ordinary bytes
    csv_source s("a\"b\t\"c\"\n", "m", '\t', false);
    REQUIRE(s.next(rec));
    CHECK_FALSE(rec.has_error());
    CHECK((rec.fields == std::vector<std::string_view>{"a\"b", "\"c\""}));
  }
  {  // a record longer than the chunk grows the buffer
    const auto dir = recsys::test::scratch_dir("csv-long-record");
    const std::string big(10000, 'x');
    spit(dir / "f.csv", "1," + big + ",\"" + big + "\"\n2,3,4\n");
    csv_source s(dir / "f.csv", ',', true, 16);
    REQUIRE(s.next(rec));
    CHECK(rec.fields[1] == big);
    CHECK(rec.fields[2] == big);
    REQUIRE(s.next(rec));
    CHECK(rec.line == 2);
    CHECK(rec.fields[2] == "4");
    fs::remove_all(dir);
  }
}

TEST_CASE("tokenizer: syntax errors are reported and the record's end is still found", "[csv][tokenizer]") {
  using recsys::detail::csv_record;
  using recsys::detail::csv_source;
  csv_record rec;
  {
    csv_source s("a,b\"c,d\nok\n", "m", ',', true);
    REQUIRE(s.next(rec));
    CHECK(rec.error_column == 2);
    CHECK(rec.error.find("quote character inside an unquoted field") != std::string::npos);
    CHECK(rec.fields.size() == 3);
    REQUIRE(s.next(rec));
    CHECK_FALSE(rec.has_error());
    CHECK(rec.fields[0] == "ok");
  }
  {
    csv_source s("\"ab\"x,\"c\nd\"\nok\n", "m", ',', true);
    REQUIRE(s.next(rec));
    CHECK(rec.error_column == 1);
    CHECK(rec.error.find("after the closing quote") != std::string::npos);
    REQUIRE(s.next(rec));  // the quoted newline in field 2 did not split the record
    CHECK(rec.fields[0] == "ok");
    CHECK(rec.line == 3);
  }
  {
    csv_source s("a\n\"open,\nstill\n", "m", ',', true);
    REQUIRE(s.next(rec));
    REQUIRE(s.next(rec));
    CHECK(rec.line == 2);
    CHECK(rec.error_column == 1);
    CHECK(rec.error.find("unterminated") != std::string::npos);
    CHECK_FALSE(s.next(rec));
  }
}

TEST_CASE("number parsers are strict", "[csv][numbers]") {
  using recsys::detail::number_error;
  using recsys::detail::parse_seconds;
  std::int64_t t = 0;
  CHECK(parse_seconds("1700000000", false, t) == number_error::none);
  CHECK(t == 1700000000);
  CHECK(parse_seconds("-5", false, t) == number_error::none);
  CHECK(t == -5);
  CHECK(parse_seconds("12.000", false, t) == number_error::none);
  CHECK(t == 12);
  CHECK(parse_seconds("12.5", false, t) == number_error::fraction);
  CHECK(parse_seconds("12.5", true, t) == number_error::none);
  CHECK(t == 12);
  CHECK(parse_seconds("-12.5", true, t) == number_error::none);
  CHECK(t == -13);
  CHECK(parse_seconds("-0.5", true, t) == number_error::none);
  CHECK(t == -1);
  CHECK(parse_seconds("9223372036854775807", false, t) == number_error::none);
  CHECK(t == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_seconds("-9223372036854775808", false, t) == number_error::none);
  CHECK(parse_seconds("-9223372036854775808.5", true, t) == number_error::out_of_range);
  CHECK(parse_seconds("9223372036854775808", false, t) == number_error::out_of_range);
  CHECK(parse_seconds("123456789012345678901234567890", false, t) == number_error::out_of_range);
  for (const char* bad : {"abc", " 1", "1 ", "+1", "1e9", "0x10", "1.", ".5", "1.2.3", "-", "1,5"})
    CHECK(parse_seconds(bad, true, t) == number_error::invalid);
  CHECK(parse_seconds("", false, t) == number_error::empty);

  using recsys::detail::parse_float;
  float v = 0;
  CHECK(parse_float("2.5", v) == number_error::none);
  CHECK(v == 2.5f);
  CHECK(parse_float("-1e3", v) == number_error::none);
  CHECK(v == -1000.0f);
  CHECK(parse_float("1e-50", v) == number_error::none);  // underflows to zero, not an error
  CHECK(v == 0.0f);
  CHECK(parse_float("1e39", v) == number_error::out_of_range);
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "abc", " 1", "+1", "1,5", "0x1p3", "1e"})
    CHECK(parse_float(bad, v) == number_error::invalid);
  double d = 0;
  CHECK(recsys::detail::parse_double("1e308", d) == number_error::none);
  CHECK(recsys::detail::parse_double("1e309", d) == number_error::out_of_range);
  CHECK(recsys::detail::parse_double("1e-400", d) == number_error::none);
  CHECK(d == 0.0);
}

// ============================================================================================
// Personalize interactions CSV

TEST_CASE("interactions: all columns, values, flags and report", "[csv][interactions]") {
  const auto log = parse(
      "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,SESSION_ID\n"
      "u1,i1,100,click,1.5,s1\n"
      "u2,i1,90,,,\n"
      "u1,i2,110,purchase,20,s1\n");
  REQUIRE(log.size() == 3);
  CHECK(log.num_users() == 2);
  CHECK(log.num_items() == 2);
  CHECK((log.users == std::vector<index_t>{0, 1, 0}));
  CHECK((log.items == std::vector<index_t>{0, 0, 1}));
  CHECK((log.timestamps == std::vector<recsys::timestamp_t>{100, 90, 110}));
  CHECK((log.event_types == std::vector<index_t>{0, -1, 1}));
  CHECK(log.event_type_names.id(1) == "purchase");
  CHECK(log.event_values[0] == 1.5f);
  CHECK(std::isnan(log.event_values[1]));
  CHECK(log.event_values[2] == 20.0f);
  CHECK((log.sessions == std::vector<index_t>{0, -1, 0}));
  CHECK((log.weights == std::vector<float>{1, 1, 1}));
  CHECK(log.has_event_type);
  CHECK(log.has_event_value);
  CHECK(log.has_session);
  CHECK(log.report.source == "t.csv");
  CHECK(log.report.rows_read == 3);
  CHECK(log.report.rows_kept == 3);
  CHECK(log.report.rows_bad == 0);
  CHECK(log.report.problems.empty());
  log.validate();
}

TEST_CASE("interactions: column order, letter case and extra columns", "[csv][interactions]") {
  const auto log = parse(
      "Notes,timestamp,Event_Value,item_id,,User_Id,DEVICE\n"
      "hello,5,2,i9,x,u7,phone\n");
  REQUIRE(log.size() == 1);
  CHECK(log.user_ids.id(0) == "u7");
  CHECK(log.item_ids.id(0) == "i9");
  CHECK(log.timestamps[0] == 5);
  CHECK(log.event_values[0] == 2.0f);
  CHECK_FALSE(log.has_event_type);
  CHECK(log.has_event_value);
  CHECK_FALSE(log.has_session);
}

TEST_CASE("interactions: RFC 4180 quoting, line ends and BOM", "[csv][interactions]") {
  SECTION("embedded delimiters, doubled quotes and line breaks") {
    const auto log = parse(
        "USER_ID,ITEM_ID,TIMESTAMP\n"
        "\"Smith, J.\",\"the \"\"best\"\" item\",1\n"
        "\"multi\nline\r\nuser\",i,2\n"
        "\"\"\"\",\",\",3\n");
    REQUIRE(log.size() == 3);
    CHECK(log.user_ids.id(0) == "Smith, J.");
    CHECK(log.item_ids.id(0) == "the \"best\" item");
    CHECK(log.user_ids.id(1) == "multi\nline\r\nuser");
    CHECK(log.user_ids.id(2) == "\"");
    CHECK(log.item_ids.id(2) == ",");
  }
  SECTION("line numbers count the physical lines inside quoted fields") {
    check_bad("USER_ID,ITEM_ID,TIMESTAMP\n\"a\nb\nc\",i,1\nu,i,x\n", 5, 3, "not an integer");
  }
  SECTION("CRLF, lone CR and no final line break give the same log as LF") {
    const auto lf = parse("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\nv,j,2\n");
    check_same_log(parse("USER_ID,ITEM_ID,TIMESTAMP\r\nu,i,1\r\nv,j,2\r\n"), lf);
    check_same_log(parse("USER_ID,ITEM_ID,TIMESTAMP\ru,i,1\rv,j,2\r"), lf);
    check_same_log(parse("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\nv,j,2"), lf);
  }
  SECTION("a UTF-8 BOM before the header") {
    const auto log = parse("\xEF\xBB\xBFUSER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n");
    REQUIRE(log.size() == 1);
    CHECK(log.user_ids.id(0) == "u");
  }
  SECTION("other delimiters") {
    recsys::csv_options o;
    o.delimiter = ';';
    const auto log = parse("USER_ID;ITEM_ID;TIMESTAMP\n\"a;b\";i,j;7\n", o);
    CHECK(log.user_ids.id(0) == "a;b");
    CHECK(log.item_ids.id(0) == "i,j");
    o.delimiter = '\t';
    CHECK(parse("USER_ID\tITEM_ID\tTIMESTAMP\nu\ti\t1\n", o).size() == 1);
  }
}

TEST_CASE("interactions: header-only, empty input and header problems", "[csv][interactions][errors]") {
  SECTION("a header alone is an empty log with the header's flags") {
    const auto log = parse("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n");
    CHECK(log.empty());
    CHECK(log.has_event_type);
    CHECK_FALSE(log.has_event_value);
    CHECK(log.report.rows_read == 0);
    CHECK(parse("USER_ID,ITEM_ID,TIMESTAMP").empty());
  }
  SECTION("empty input throws") {
    for (const std::string_view text : {std::string_view(""), std::string_view("\xEF\xBB\xBF")}) {
      const auto e = io_error_of([&] { (void)parse(text); });
      REQUIRE(e.has_value());
      CHECK(e->line() == 0);
      CHECK(e->reason().find("empty file") != std::string::npos);
    }
  }
  SECTION("missing required columns") {
    check_bad("USER_ID,ITEM_ID\nu,i\n", 1, 0, "missing required column TIMESTAMP");
    check_bad("ITEM_ID,TIMESTAMP\n", 1, 0, "missing required column USER_ID");
    check_bad("\n", 1, 0, "missing required column USER_ID");
    check_bad("USER_ID, ITEM_ID,TIMESTAMP\n", 1, 0, "header names are not trimmed");
  }
  SECTION("duplicate names, also among ignored columns and across letter case") {
    check_bad("USER_ID,ITEM_ID,TIMESTAMP,user_id\n", 1, 4, "duplicate column name 'user_id' (also column 1)");
    check_bad("USER_ID,ITEM_ID,TIMESTAMP,x,X\n", 1, 5, "duplicate column name");
    CHECK(parse("USER_ID,,ITEM_ID,,TIMESTAMP\nu,,i,,1\n").size() == 1);  // unnamed columns are ignored
  }
  SECTION("a syntax error in the header always throws") {
    check_bad("USER_ID,\"ITEM_ID,TIMESTAMP\n", 1, 2, "unterminated", skipping());
  }
}

TEST_CASE("interactions: malformed rows name line, column and reason", "[csv][interactions][errors]") {
  const std::string h = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_VALUE\n";
  check_bad(h + "u,i,1,2\nu,i,1\n", 3, 4, "missing field: the row has 3 field(s), expected 4");
  check_bad(h + "u,i,1,2,9\n", 2, 5, "too many fields: the row has 5, expected 4");
  check_bad(h + "u,i,abc,2\n", 2, 3, "TIMESTAMP 'abc' is not an integer");
  check_bad(h + "u,i,,2\n", 2, 3, "empty TIMESTAMP");
  check_bad(h + "u,i, 5,2\n", 2, 3, "not an integer");
  check_bad(h + "u,i,1.5,2\n", 2, 3, "has a fractional part");
  check_bad(h + "u,i,99999999999999999999,2\n", 2, 3, "outside the int64 range");
  check_bad(h + "u,i,1,abc\n", 2, 4, "EVENT_VALUE 'abc' is not a finite number");
  check_bad(h + "u,i,1,nan\n", 2, 4, "not a finite number");
  check_bad(h + "u,i,1,1e40\n", 2, 4, "outside the float range");
  check_bad(h + ",i,1,2\n", 2, 1, "empty USER_ID");
  check_bad(h + "u,\"\",1,2\n", 2, 2, "empty ITEM_ID");
  check_bad(h + "u,i,1,2\n\nu,i,1,2\n", 3, 1, "empty line");
  check_bad(h + "u,i,1,2\nu,\"i,1,2\nv,j,3,4\n", 3, 2, "unterminated quoted field");
  check_bad(h + "u,i\"x,1,2\n", 2, 2, "quote character inside an unquoted field");
  check_bad(h + "u,\"i\"x,1,2\n", 2, 2, "after the closing quote");
  // what() carries file:line:column
  const auto e = io_error_of([&] { (void)parse(h + "u,i,x,1\n"); });
  REQUIRE(e.has_value());
  CHECK(std::string(e->what()).rfind("t.csv:2:3: ", 0) == 0);
}

TEST_CASE("interactions: fractional timestamps are floored only when asked", "[csv][interactions]") {
  recsys::csv_options o;
  o.fractional_timestamps = recsys::fractional_timestamp::floor;
  const auto log = parse("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1396437466.94\nu,i,-1.5\nu,i,7.000\n", o);
  CHECK((log.timestamps == std::vector<recsys::timestamp_t>{1396437466, -2, 7}));
  CHECK(parse("USER_ID,ITEM_ID,TIMESTAMP\nu,i,7.000\n").timestamps[0] == 7);  // zeros are fine by default
}

TEST_CASE("interactions: huge ids are plain strings; huge numbers are errors", "[csv][interactions]") {
  const std::string long_id(100000, 'x');
  const std::string numeric_id = "123456789012345678901234567890123456789";
  const auto log = parse("USER_ID,ITEM_ID,TIMESTAMP\n" + long_id + "," + numeric_id + ",9223372036854775807\n" +
                         "007,7,-9223372036854775808\n");
  REQUIRE(log.size() == 2);
  CHECK(log.user_ids.id(0) == long_id);
  CHECK(log.item_ids.id(0) == numeric_id);
  CHECK(log.timestamps[0] == std::numeric_limits<std::int64_t>::max());
  CHECK(log.user_ids.id(1) == "007");  // never converted: "007" and "7" are different ids
  CHECK(log.item_ids.id(1) == "7");
  CHECK(log.timestamps[1] == std::numeric_limits<std::int64_t>::min());
  check_bad("USER_ID,ITEM_ID,TIMESTAMP\nu,i,9223372036854775808\n", 2, 3, "outside the int64 range");
}

TEST_CASE("interactions: the skip policy counts bad rows, keeps the first problems, adds no ids",
          "[csv][interactions][errors]") {
  const std::string text =
      "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\n"
      "u1,i1,1,view\n"      // 2 ok
      "bad1,bad1,x,view\n"  // 3 bad timestamp
      "u2,i2,2\n"           // 4 missing field
      "\n"                  // 5 empty line
      "u3,\"i\"3,4,view\n"  // 6 text after a closing quote
      "u1,i2,5,buy\n"       // 7 ok
      ",i9,6,view\n";       // 8 empty user
  const auto log = parse(text, skipping(3));
  CHECK(log.size() == 2);
  CHECK(log.report.rows_read == 7);
  CHECK(log.report.rows_kept == 2);
  CHECK(log.report.rows_bad == 5);
  CHECK(log.report.rows_read == log.report.rows_kept + log.report.rows_bad);
  REQUIRE(log.report.problems.size() == 3);
  CHECK(log.report.problems[0].line == 3);
  CHECK(log.report.problems[0].column == 3);
  CHECK(log.report.problems[1].line == 4);
  CHECK(log.report.problems[1].column == 4);
  CHECK(log.report.problems[2].line == 5);
  CHECK(log.report.problems[2].reason.find("empty line") != std::string::npos);
  // bad rows contributed no ids
  CHECK(log.user_ids.ids() == std::vector<std::string>{"u1"});
  CHECK(log.item_ids.ids() == std::vector<std::string>{"i1", "i2"});
  CHECK(log.event_type_names.ids() == std::vector<std::string>{"view", "buy"});
  CHECK(log.report.summary().find("5 bad rows skipped") != std::string::npos);
  // an unterminated quote swallows the rest of the input as one bad row
  const auto tail = parse("USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\nu,\"i,2\nv,j,3\n", skipping());
  CHECK(tail.size() == 1);
  CHECK(tail.report.rows_bad == 1);
  CHECK(tail.report.problems.at(0).line == 3);
}

TEST_CASE("interactions: file reader equals the in-memory parser, for any chunk size", "[csv][interactions]") {
  const auto dir = recsys::test::scratch_dir("csv-interactions-file");
  recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.csv.file"));
  std::string text = "\xEF\xBB\xBFSESSION_ID,TIMESTAMP,ITEM_ID,USER_ID,EVENT_VALUE,EVENT_TYPE\r\n";
  for (int k = 0; k < 3000; ++k) {
    std::ostringstream row;  // (string operator+ chains trip GCC 12's -Wrestrict false positive)
    row << 's' << k / 4 << ',' << 1000 + k << ",\"item " << r.uniform_index(300)
        << (r.bernoulli(0.1) ? ", \"\"red\"\"\"" : "\"") << ",user" << r.uniform_index(200) << ',';
    if (!r.bernoulli(0.2)) row << r.uniform_index(100);
    row << ',' << (r.bernoulli(0.5) ? "view" : "buy") << (r.bernoulli(0.5) ? "\r\n" : "\n");
    text += row.str();
  }
  spit(dir / "i.csv", text);
  const auto expected = parse(text);
  REQUIRE(expected.size() == 3000);
  check_same_log(recsys::read_interactions_csv(dir / "i.csv"), expected);
  for (const std::size_t chunk : {4u, 9u, 100u, 4096u}) {
    recsys::detail::csv_source src(dir / "i.csv", ',', true, chunk);
    auto log = recsys::detail::read_personalize(src, {});
    log.report.source = "t.csv";
    check_same_log(log, expected);
  }
  // id_map-only reference: the batched key_index gives the same dense indices
  recsys::interaction_log ref;
  for (std::size_t k = 0; k < expected.size(); ++k) {
    CHECK(ref.user_ids.insert(expected.user_ids.id(expected.users[k])) == expected.users[k]);
    CHECK(ref.item_ids.insert(expected.item_ids.id(expected.items[k])) == expected.items[k]);
  }
  // missing file and directory
  const auto missing = io_error_of([&] { (void)recsys::read_interactions_csv(dir / "nope.csv"); });
  REQUIRE(missing.has_value());
  CHECK(missing->file() == (dir / "nope.csv").string());
  CHECK(missing->reason().find("cannot open") != std::string::npos);
  CHECK_THROWS_AS(recsys::read_interactions_csv(dir), recsys::io_error);
  fs::remove_all(dir);
}

TEST_CASE("interactions: unusable options are invalid_argument", "[csv][interactions][errors]") {
  recsys::csv_options o;
  o.delimiter = '"';
  CHECK_THROWS_AS(parse("x", o), recsys::invalid_argument);
  o.delimiter = '\n';
  CHECK_THROWS_AS(parse("x", o), recsys::invalid_argument);
}

TEST_CASE("interactions writer round-trips exactly", "[csv][interactions][writer]") {
  recsys::interaction_log log;
  const std::vector<std::string> tricky = {
      "plain", "with,comma",          "with \"quotes\"", "multi\nline", "cr\rlf\r\n", " spaced ", "\xC3\xA9t\xC3\xA9",
      "007",   std::string(5000, 'z')};
  recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.csv.roundtrip"));
  for (int k = 0; k < 500; ++k) {
    const auto& u = tricky[r.uniform_index(static_cast<std::uint32_t>(tricky.size()))];
    const auto& i = tricky[r.uniform_index(static_cast<std::uint32_t>(tricky.size()))];
    // random float bit patterns (finite, any exponent) exercise the shortest representation
    float v = std::numeric_limits<float>::quiet_NaN();
    if (r.bernoulli(0.8)) {
      do v = std::bit_cast<float>(static_cast<std::uint32_t>(r()));
      while (!std::isfinite(v));
    }
    const std::string type = r.bernoulli(0.2) ? "" : (r.bernoulli(0.5) ? "view" : "a,b");
    std::string session;
    if (!r.bernoulli(0.3)) session.append("s").append(std::to_string(k / 5));
    log.add(u, i, static_cast<recsys::timestamp_t>(r()), type, v, session);
  }
  std::ostringstream first;
  recsys::write_interactions_csv(log, first);
  auto back = parse(first.str());
  back.report = log.report;
  check_same_log(back, log);
  std::ostringstream second;
  recsys::write_interactions_csv(back, second);
  CHECK(second.str() == first.str());

  SECTION("only the optional columns the log has are written") {
    const auto minimal = parse("user_id,Item_Id,TIMESTAMP,extra\nu,i,1,x\n");
    std::ostringstream os;
    recsys::write_interactions_csv(minimal, os);
    CHECK(os.str() == "USER_ID,ITEM_ID,TIMESTAMP\nu,i,1\n");
    const auto flagged = parse("USER_ID,ITEM_ID,TIMESTAMP,SESSION_ID,EVENT_TYPE\nu,i,1,,\n");
    std::ostringstream os2;
    recsys::write_interactions_csv(flagged, os2);
    CHECK(os2.str() == "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,SESSION_ID\nu,i,1,,\n");
    check_same_log(parse(os2.str()), flagged);
  }
  SECTION("files, other delimiters") {
    const auto dir = recsys::test::scratch_dir("csv-writer");
    recsys::write_interactions_csv(log, dir / "a.csv", '\t');
    recsys::csv_options o;
    o.delimiter = '\t';
    auto from_file = recsys::read_interactions_csv(dir / "a.csv", o);
    check_same_log(from_file, log);
    CHECK_THROWS_AS(recsys::write_interactions_csv(log, dir / "no-such-dir" / "a.csv"), recsys::io_error);
    fs::remove_all(dir);
  }
  SECTION("what the reader would refuse is not written") {
    recsys::interaction_log bad;
    bad.add("", "i", 1);
    std::ostringstream os;
    CHECK_THROWS_AS(recsys::write_interactions_csv(bad, os), recsys::invalid_argument);
    recsys::interaction_log inf;
    inf.add("u", "i", 1, {}, std::numeric_limits<float>::infinity());
    CHECK_THROWS_AS(recsys::write_interactions_csv(inf, os), recsys::invalid_argument);
    std::ostringstream failed;
    failed.setstate(std::ios::badbit);
    CHECK_THROWS_AS(recsys::write_interactions_csv(log, failed), recsys::io_error);
  }
}

// ============================================================================================
// Raw delimited formats

TEST_CASE("raw formats: MovieLens u.data and RSC15 presets", "[csv][raw]") {
  SECTION("movielens: rating -> EVENT_VALUE") {
    const auto log = recsys::parse_delimited("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n",
                                             "u.data", recsys::raw_format::movielens());
    REQUIRE(log.size() == 3);
    CHECK(log.num_users() == 2);
    CHECK(log.user_ids.id(0) == "196");
    CHECK(log.item_ids.id(2) == "377");
    CHECK(log.event_values[2] == 1.0f);
    CHECK(log.timestamps[0] == 881250949);
    CHECK(log.has_event_value);
    CHECK_FALSE(log.has_event_type);
    CHECK_FALSE(log.has_session);
    CHECK(log.report.rows_read == 3);
    const auto e = io_error_of(
        [] { (void)recsys::parse_delimited("1\t2\t3\t4\n1\t2\t3\n", "u.data", recsys::raw_format::movielens()); });
    REQUIRE(e.has_value());
    CHECK(e->line() == 2);
    CHECK(e->column() == 4);
  }
  SECTION("rsc15: header checked, fractional time floored, session = user") {
    const auto log = recsys::parse_delimited(
        "SessionId\tItemId\tTime\n3\t214716935\t1396437466.94\n3\t214832672\t1396438212.318\n9\t1\t5\n", "train.txt",
        recsys::raw_format::rsc15());
    REQUIRE(log.size() == 3);
    CHECK((log.timestamps == std::vector<recsys::timestamp_t>{1396437466, 1396438212, 5}));
    CHECK(log.has_session);
    CHECK(log.session_ids == log.user_ids);
    CHECK(log.sessions == log.users);
    CHECK(log.report.rows_read == 3);  // the header is not a row
    const auto e = io_error_of(
        [] { (void)recsys::parse_delimited("UserId\tItemId\tTime\n3\t1\t2\n", "x.txt", recsys::raw_format::rsc15()); });
    REQUIRE(e.has_value());
    CHECK(e->line() == 1);
    CHECK(e->reason().find("does not match") != std::string::npos);
    CHECK_THROWS_AS(recsys::parse_delimited("", "x.txt", recsys::raw_format::rsc15()), recsys::io_error);
  }
}

TEST_CASE("raw formats: custom columns, field counts, quoting, validation", "[csv][raw]") {
  recsys::raw_format f;
  f.delimiter = ';';
  f.header_lines = 2;
  f.timestamp_column = 0;
  f.item_column = 2;
  f.user_column = 3;
  f.event_type_column = 1;
  const auto log = recsys::parse_delimited("junk\nmore junk\n10;view;i\"1;u1\n11;buy;i2;u2\n", "x", f);
  REQUIRE(log.size() == 2);
  CHECK(log.item_ids.id(0) == "i\"1");  // quoting off: a quote is an ordinary byte
  CHECK(log.event_type_names.id(1) == "buy");
  CHECK(log.timestamps[1] == 11);
  // the first good row fixes the field count
  recsys::raw_format g;
  g.delimiter = ',';
  g.bad_rows = recsys::bad_row_policy::skip;
  const auto skipped = recsys::parse_delimited("u,i\nu,i,1\nu,i,2,extra\nv,j,3\n", "x", g);
  CHECK(skipped.size() == 2);
  CHECK(skipped.report.rows_bad == 2);
  CHECK(skipped.report.problems.at(0).reason.find("at least 3 needed") != std::string::npos);
  CHECK(skipped.report.problems.at(1).reason.find("too many fields") != std::string::npos);
  // quoting on
  g.quoting = true;
  CHECK(recsys::parse_delimited("\"a,b\",i,1\n", "x", g).user_ids.id(0) == "a,b");
  // empty input without a header
  CHECK_THROWS_AS(recsys::parse_delimited("", "x", recsys::raw_format{}), recsys::io_error);
  // unusable formats
  recsys::raw_format bad;
  bad.item_column = 0;
  CHECK_THROWS_AS(recsys::parse_delimited("a\tb\tc\n", "x", bad), recsys::invalid_argument);
  bad = {};
  bad.user_column = -1;
  CHECK_THROWS_AS(recsys::parse_delimited("a\tb\tc\n", "x", bad), recsys::invalid_argument);
  bad = {};
  bad.num_fields = 2;
  CHECK_THROWS_AS(recsys::parse_delimited("a\tb\tc\n", "x", bad), recsys::invalid_argument);
  bad = {};
  bad.expected_header = {"a"};
  CHECK_THROWS_AS(recsys::parse_delimited("a\tb\tc\n", "x", bad), recsys::invalid_argument);
  bad = {};
  bad.session_column = 1;  // the item column
  CHECK_THROWS_AS(recsys::parse_delimited("a\tb\tc\n", "x", bad), recsys::invalid_argument);
}

// ============================================================================================
// Baskets

TEST_CASE("baskets: lines, quoting, empty lines, repeats", "[csv][baskets]") {
  const auto b =
      recsys::parse_baskets("citrus fruit,semi-finished bread,margarine\n\n\"a, b\",whole milk\r\nwhole milk", "g.csv");
  REQUIRE(b.size() == 4);
  CHECK(b.num_items() == 5);
  CHECK(b.length(0) == 3);
  CHECK(b.length(1) == 0);  // an empty line is an empty basket
  CHECK(b.item_ids.id(b.basket(2)[0]) == "a, b");
  CHECK(b.basket(3)[0] == b.basket(2)[1]);
  CHECK(b.report.rows_read == 4);
  CHECK(b.report.rows_kept == 4);
  CHECK(recsys::parse_baskets("", "e").empty());

  const auto e = io_error_of([] { (void)recsys::parse_baskets("a,b\nc,,d\n", "g.csv"); });
  REQUIRE(e.has_value());
  CHECK(e->line() == 2);
  CHECK(e->column() == 2);
  CHECK(e->reason() == "empty item id");
  const auto rep = io_error_of([] { (void)recsys::parse_baskets("a,b,c,b\n", "g.csv"); });
  REQUIRE(rep.has_value());
  CHECK(rep->column() == 4);
  CHECK(rep->reason().find("repeated in the basket (fields 2 and 4") != std::string::npos);
  CHECK_THROWS_AS(recsys::parse_baskets("a,b,\n", "g.csv"), recsys::io_error);  // trailing delimiter

  recsys::basket_options merge;
  merge.repeated_items = recsys::repeated_item_policy::merge;
  const auto m = recsys::parse_baskets("a,b,a,a\nb,b\n", "g.csv", merge);
  CHECK(m.length(0) == 2);
  CHECK(m.length(1) == 1);
  CHECK(m.items_merged == 3);

  recsys::basket_options skip;
  skip.bad_rows = recsys::bad_row_policy::skip;
  skip.delimiter = ';';
  const auto s = recsys::parse_baskets("x;y\nnew;x;x\nz;;w\n\"q\"r\ny\n", "g.csv", skip);
  CHECK(s.size() == 2);
  CHECK(s.report.rows_bad == 3);
  CHECK(s.report.rows_read == 5);
  CHECK(s.item_ids.ids() == std::vector<std::string>{"x", "y"});  // bad rows added no items
  REQUIRE(s.report.problems.size() == 3);
  CHECK(s.report.problems[2].line == 4);
}

TEST_CASE("baskets writer round-trips", "[csv][baskets][writer]") {
  recsys::basket_data b;
  b.add_basket(std::vector<std::string>{"milk", "bread, white", "\"quoted\""});
  b.add_basket(std::vector<std::string>{});
  b.add_basket(std::vector<std::string>{"bread, white", "line\nbreak"});
  b.add_basket(std::vector<std::string>{});
  std::ostringstream os;
  recsys::write_baskets(b, os);
  const auto back = recsys::parse_baskets(os.str(), "b");
  CHECK(back.offsets == b.offsets);
  CHECK(back.items == b.items);
  CHECK(back.item_ids == b.item_ids);
  std::ostringstream again;
  recsys::write_baskets(back, again);
  CHECK(again.str() == os.str());

  const auto dir = recsys::test::scratch_dir("csv-baskets");
  recsys::write_baskets(b, dir / "b.csv", ';');
  const auto from_file = recsys::read_baskets(dir / "b.csv", ';');
  CHECK(from_file.items == b.items);
  CHECK(from_file.offsets == b.offsets);
  recsys::basket_data empty;
  recsys::write_baskets(empty, dir / "e.csv");
  CHECK(recsys::read_baskets(dir / "e.csv").empty());
  fs::remove_all(dir);

  recsys::basket_data bad;
  bad.item_ids.insert("");
  bad.push_basket(std::vector<index_t>{0});
  CHECK_THROWS_AS(recsys::write_baskets(bad, os), recsys::invalid_argument);
}

TEST_CASE("mutated inputs give a log or an io_error, never anything else", "[csv][robustness]") {
  const std::string base =
      "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,SESSION_ID\r\n"
      "u1,\"i,1\",100,click,1.5,s1\n"
      "\"u\"\"2\",i1,90,,,\n"
      "u1,\"i\n2\",110,purchase,20,s1\n";
  const std::string bytes = std::string(",\"\n\r\t ;x0.-e") + '\0' + "\xEF\xBB\xBF";
  for (int trial = 0; trial < 3000; ++trial) {
    recsys::rng r(recsys::test::seed(), recsys::stream_tag("test.csv.mutate"), static_cast<std::uint64_t>(trial));
    std::string text = base;
    const auto edits = 1 + r.uniform_index(4);
    for (std::uint32_t k = 0; k < edits && !text.empty(); ++k) {
      const auto pos = r.uniform_index(static_cast<std::uint32_t>(text.size()));
      const char c = bytes[r.uniform_index(static_cast<std::uint32_t>(bytes.size()))];
      switch (r.uniform_index(3)) {
        case 0:
          text[pos] = c;
          break;
        case 1:
          text.insert(text.begin() + pos, c);
          break;
        default:
          text.erase(pos, 1);
          break;
      }
    }
    if (r.bernoulli(0.2)) text.resize(r.uniform_index(static_cast<std::uint32_t>(text.size() + 1)));
    INFO("seed " << recsys::test::seed() << " trial " << trial);
    try {
      const auto log = parse(text);
      log.validate();
    } catch (const recsys::io_error& e) {
      CHECK(e.line() >= 0);
    }
    try {
      const auto log = parse(text, skipping());
      log.validate();
      CHECK(log.report.rows_read == log.report.rows_kept + log.report.rows_bad);
    } catch (const recsys::io_error& e) {
      CHECK(e.line() <= 1);  // with skip only the header (or an empty input) can throw
    }
    try {
      const auto b = recsys::parse_baskets(text, "b");
      CHECK(b.offsets.back() == static_cast<std::int64_t>(b.items.size()));
    } catch (const recsys::io_error&) {
    }
  }
}
