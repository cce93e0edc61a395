// SPDX-License-Identifier: Apache-2.0
// .npy files (against xtensor's reader/writer as the reference) and the manifest JSON.
#include <recsys/detail/json.hpp>
#include <recsys/io/npy.hpp>

#include "recsys_test.hpp"

#include <fstream>

using recsys::detail::json::value;

TEST_CASE("npy round trip and interop with xtensor", "[npy]") {
  const auto dir = recsys::test::scratch_dir("npy");
  recsys::row_matrix<float> m(3, 4);
  for (int i = 0; i < 12; ++i) m.data()[i] = static_cast<float>(i) * 0.5f - 1.f;
  recsys::write_npy(dir / "m.npy", m);
  CHECK(recsys::read_npy_matrix<float>(dir / "m.npy") == m);
  // xtensor reads what we write ...
  auto x = xt::load_npy<float>((dir / "m.npy").string());
  REQUIRE(x.shape().size() == 2);
  CHECK(x.shape()[0] == 3);
  CHECK(x(2, 3) == m(2, 3));
  // ... and we read what xtensor writes
  xt::xarray<double> y = {{1.5, 2.5}, {3.5, 4.5}, {5.5, 6.5}};
  xt::dump_npy((dir / "y.npy").string(), y);
  const auto back = recsys::read_npy<double>(dir / "y.npy");
  CHECK(back.shape == std::vector<std::int64_t>{3, 2});
  CHECK(back.data[5] == 6.5);
  const bool same = recsys::to_xarray(back) == y;  // outside CHECK: xtensor overloads operator==
  CHECK(same);
  // 1-d and empty arrays
  recsys::write_npy(dir / "v.npy", std::vector<std::int64_t>{7, -8, 9'000'000'000});
  CHECK(recsys::read_npy_vector<std::int64_t>(dir / "v.npy") == std::vector<std::int64_t>{7, -8, 9'000'000'000});
  recsys::write_npy(dir / "e.npy", std::vector<std::int32_t>{});
  CHECK(recsys::read_npy_vector<std::int32_t>(dir / "e.npy").empty());
  CHECK(xt::load_npy<std::int32_t>((dir / "e.npy").string()).size() == 0);
}

TEST_CASE("npy reader rejects damaged files with clear errors", "[npy]") {
  const auto dir = recsys::test::scratch_dir("npy-bad");
  recsys::write_npy(dir / "ok.npy", std::vector<float>{1, 2, 3, 4});
  const std::string good = recsys::detail::read_file_bytes(dir / "ok.npy");
  auto expect_error = [&](const std::string& bytes, const std::string& fragment) {
    try {
      (void)recsys::parse_npy<float>(bytes, "f.npy");
      FAIL("accepted: " << fragment);
    } catch (const recsys::io_error& e) {
      INFO(e.what());
      CHECK(e.file() == "f.npy");
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
  };
  expect_error("", "bad magic");
  expect_error("hello world, not npy", "bad magic");
  expect_error(good.substr(0, good.size() - 1), "truncated or corrupted");
  expect_error(good + "x", "truncated or corrupted");
  expect_error(good.substr(0, 20), "truncated .npy header");
  std::string wrong_type = good;
  wrong_type.replace(wrong_type.find("<f4"), 3, "<i4");
  expect_error(wrong_type, "element type");
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  expect_error(fortran, "Fortran");
  std::string huge = good;
  huge.replace(huge.find("(4,)"), 4, "(99999999999999999,)");
  expect_error(huge.substr(0, 10) + huge.substr(10), "");  // any io_error
  std::string version = good;
  version[6] = 9;
  expect_error(version, "version");
  CHECK_THROWS_AS(recsys::read_npy_matrix<float>(dir / "ok.npy"), recsys::io_error);  // 1-d, not 2-d
  CHECK_THROWS_AS(recsys::read_npy<float>(dir / "missing.npy"), recsys::io_error);
}

TEST_CASE("json round trip keeps order, exact integers and escapes", "[json]") {
  const std::string text = R"({"format": 1, "recipe": "als", "big": 9007199254740993, "pi": 3.25,
    "ok": true, "none": null, "list": [1, -2, "x\n\"y\"", {"a": []}], "u": "\u00e9\ud83d\ude00"})";
  const value v = recsys::detail::json::parse(text);
  CHECK(v.at("big").as_int("big") == 9007199254740993LL);
  CHECK(v.at("pi").as_double("pi") == 3.25);
  CHECK(v.at("list").as_array("list")[2].as_string("") == "x\n\"y\"");
  CHECK(v.at("u").as_string("u") == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.as_object("")[1].first == "recipe");
  const value again = recsys::detail::json::parse(recsys::detail::json::dump(v));
  CHECK(again == v);
  CHECK(recsys::detail::json::parse(recsys::detail::json::dump(v, 0)) == v);
  CHECK(recsys::detail::json::dump(value(2.0), 0) == "2.0");
  CHECK(recsys::detail::json::parse("2.0").type() == value::kind::number);
  CHECK_THROWS_AS(v.at("missing"), recsys::invalid_argument);
  CHECK_THROWS_AS(v.at("pi").as_int("pi"), recsys::invalid_argument);
}

TEST_CASE("json parser rejects malformed text with line and column", "[json]") {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", "NaN", "[1 2]", "\"\\q\"",
                          "\"\\ud800\"", "{\"a\":1,\"a\":2}", "tru", "1e999", "\"a", "[] []"}) {
    INFO(bad);
    CHECK_THROWS_AS(recsys::detail::json::parse(bad, "m.json"), recsys::io_error);
  }
  try {
    (void)recsys::detail::json::parse("{\n  \"a\": [1,\n  2,,]}", "manifest.json");
    FAIL("no throw");
  } catch (const recsys::io_error& e) {
    CHECK(e.file() == "manifest.json");
    CHECK(e.line() == 3);
    CHECK(e.column() == 5);
  }
  std::string deep(200, '[');
  deep += std::string(200, ']');
  CHECK_THROWS_AS(recsys::detail::json::parse(deep), recsys::io_error);
}
