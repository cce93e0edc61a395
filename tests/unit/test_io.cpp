// SPDX-License-Identifier: Apache-2.0
// .npy files (against xtensor's reader/writer as the reference) and the manifest JSON.
#include <recsys/detail/json.hpp>
#include <recsys/io/npy.hpp>
#include <recsys/io/xtensor.hpp>

#include "recsys_test.hpp"

#include <filesystem>
#include <fstream>
#include <functional>

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

TEST_CASE("writers are all or nothing: a failed write keeps the old file and leaves no temporary file", "[npy]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("recsys-test-atomic-" + std::to_string(recsys::test::seed()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path target = dir / "a.npy";
  const std::vector<float> v = {1, 2, 3};
  recsys::write_npy(target, v);
  const auto count_files = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
    return n;
  };
  // a body that fails half way (as a CSV writer meeting a bad row, or a full disk)
  CHECK_THROWS_AS(recsys::detail::write_file(target,
                                             [](std::ostream& os) {
                                               os << "partial";
                                               throw recsys::io_error("body", "fails half way");
                                             }),
                  recsys::io_error);
  CHECK(recsys::read_npy<float>(target).data == v);
  CHECK(count_files() == 1);
  // a successful write replaces the file
  const std::vector<float> w = {4, 5};
  recsys::write_npy(target, w);
  CHECK(recsys::read_npy<float>(target).data == w);
  CHECK(count_files() == 1);
  CHECK_THROWS_AS(recsys::write_npy(dir / "missing" / "b.npy", v), recsys::io_error);
  CHECK(count_files() == 1);
  fs::remove_all(dir);
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

#include <recsys/io/model_store.hpp>
#include <recsys/io/model_store-inl.hpp>  // detail::write_bytes, crc32, hex32 (the store's internals)

namespace {
void write_sample(const std::filesystem::path& dir, const std::string& recipe = "als") {
  recsys::model_writer w(dir, recipe);
  w.set_params({{"factors", "4"}, {"alpha", "2.5"}});
  recsys::row_matrix<float> f(3, 4);
  for (int i = 0; i < 12; ++i) f.data()[i] = static_cast<float>(i);
  w.add_matrix("item_factors", f);
  w.add_vector("bias", std::vector<double>{0.5, -1, 2});
  recsys::id_map<> ids;
  ids.insert("a,\"b\"");
  ids.insert("c\nd");
  ids.insert("é");
  w.add_ids("item_ids", ids);
  recsys::csr_matrix m(2, 3);
  m.insert(0, 2) = 1.5f;
  m.insert(1, 0) = 2;
  m.makeCompressed();
  w.add_sparse("seen", m);
  recsys::detail::json::object data;
  data.emplace_back("interactions", std::int64_t{1234});
  w.set_field("data", std::move(data));
  w.commit();
}
void corrupt(const std::filesystem::path& file, const std::function<void(std::string&)>& edit) {
  std::string bytes = recsys::detail::read_file_bytes(file);
  edit(bytes);
  recsys::detail::write_bytes(file, bytes);
}
void expect_io_error(const std::function<void()>& f, const std::string& file_part, const std::string& fragment) {
  try {
    f();
    FAIL("no error; expected: " << fragment);
  } catch (const recsys::io_error& e) {
    INFO(e.what());
    CHECK(e.file().find(file_part) != std::string::npos);
    CHECK(std::string(e.what()).find(fragment) != std::string::npos);
  }
}
}  // namespace

TEST_CASE("model store round trip", "[model_store]") {
  const auto dir = recsys::test::scratch_dir("store") / "model";
  write_sample(dir);
  recsys::model_reader r(dir, "als");
  CHECK(r.recipe() == "als");
  CHECK(r.params() == std::vector<std::pair<std::string, std::string>>{{"factors", "4"}, {"alpha", "2.5"}});
  const auto f = r.matrix<float>("item_factors", 3, 4);
  CHECK(f(2, 3) == 11.f);
  CHECK(r.vector<double>("bias", 3) == std::vector<double>{0.5, -1, 2});
  const auto ids = r.ids("item_ids", 3);
  CHECK(ids.id(0) == "a,\"b\"");
  CHECK(ids.id(1) == "c\nd");
  CHECK(ids.find("é").value() == 2);
  const auto m = r.sparse("seen");
  CHECK(m.rows() == 2);
  CHECK(m.coeff(0, 2) == 1.5f);
  CHECK(m.nonZeros() == 2);
  CHECK(r.field("data")->at("interactions").as_int("") == 1234);
  CHECK(r.has("bias"));
  CHECK_FALSE(r.has("nope"));
  // numpy-compatible arrays: xtensor (numpy's format twin) reads them directly
  CHECK(xt::load_npy<float>((dir / "item_factors.npy").string())(1, 0) == 4.f);
  // commit replaces an existing model and leaves no temporary directories behind
  write_sample(dir, "bpr");
  CHECK(recsys::model_reader(dir).recipe() == "bpr");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.parent_path())) ++entries;
  CHECK(entries == 1);
  {
    recsys::model_writer abandoned(dir.parent_path() / "never", "als");
    abandoned.add_vector("x", std::vector<float>{1});
  }  // no commit: nothing left
  CHECK_FALSE(std::filesystem::exists(dir.parent_path() / "never"));
  entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.parent_path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("model store rejects damaged, truncated and mismatched models", "[model_store]") {
  const auto base = recsys::test::scratch_dir("store-bad");
  int n = 0;
  auto fresh = [&] {
    auto d = base / ("m" + std::to_string(n++));
    write_sample(d);
    return d;
  };
  auto d = fresh();
  expect_io_error([&] { recsys::model_reader r(d, "bpr"); }, "manifest.json", "expected 'bpr'");
  expect_io_error([&] { recsys::model_reader r(base / "absent"); }, "absent", "not a model directory");
  d = fresh();
  corrupt(d / "item_factors.npy", [](std::string& b) { b[b.size() - 1] ^= 1; });
  expect_io_error([&] { (void)recsys::model_reader(d).matrix<float>("item_factors"); }, "item_factors.npy", "checksum");
  d = fresh();
  corrupt(d / "item_factors.npy", [](std::string& b) { b.resize(b.size() - 4); });
  expect_io_error([&] { (void)recsys::model_reader(d).matrix<float>("item_factors"); }, "item_factors.npy",
                  "truncated");
  d = fresh();
  std::filesystem::remove(d / "item_ids.json");
  expect_io_error([&] { (void)recsys::model_reader(d).ids("item_ids"); }, "item_ids.json", "missing");
  d = fresh();
  expect_io_error([&] { (void)recsys::model_reader(d).matrix<float>("item_factors", 5, 4); }, "item_factors.npy",
                  "does not match");
  expect_io_error([&] { (void)recsys::model_reader(d).matrix<double>("item_factors"); }, "item_factors.npy",
                  "element type");
  expect_io_error([&] { (void)recsys::model_reader(d).ids("item_ids", 7); }, "item_ids.json", "needs 7");
  expect_io_error([&] { (void)recsys::model_reader(d).vector<float>("user_factors"); }, "manifest.json", "no entry");
  d = fresh();
  corrupt(d / "manifest.json",
          [](std::string& b) { b.replace(b.find("\"format_version\": 1"), 19, "\"format_version\": 9"); });
  expect_io_error([&] { recsys::model_reader r(d); }, "manifest.json", "format_version 9");
  d = fresh();
  corrupt(d / "manifest.json", [](std::string& b) { b.resize(b.size() / 2); });
  expect_io_error([&] { recsys::model_reader r(d); }, "manifest.json", "invalid JSON");
  d = fresh();
  corrupt(d / "manifest.json", [](std::string& b) { b.replace(b.find("\"item_factors.npy\""), 18, "\"../x.npy\""); });
  expect_io_error([&] { (void)recsys::model_reader(d).matrix<float>("item_factors"); }, "manifest.json",
                  "invalid file");
  d = fresh();
  corrupt(d / "manifest.json", [](std::string& b) { b.replace(b.find("\"recipe\": \"als\""), 15, "\"recipe\": 7"); });
  expect_io_error([&] { recsys::model_reader r(d); }, "manifest.json", "recipe must be a string");
  // the declared shape must agree with the array file (a rewritten file with a fixed checksum)
  d = fresh();
  {
    std::string bytes = recsys::detail::read_file_bytes(d / "bias.npy");
    const std::string replaced =
        recsys::detail::npy_bytes(std::vector<double>{1, 2}.data(), std::vector<std::int64_t>{2});
    recsys::detail::write_bytes(d / "bias.npy", replaced);
    corrupt(d / "manifest.json", [&](std::string& b) {
      const auto pos = b.find(recsys::detail::hex32(recsys::detail::crc32(bytes)));
      b.replace(pos, 8, recsys::detail::hex32(recsys::detail::crc32(replaced)));
      const auto bpos = b.find("\"bytes\": " + std::to_string(bytes.size()));
      b.replace(bpos, 9 + std::to_string(bytes.size()).size(), "\"bytes\": " + std::to_string(replaced.size()));
    });
  }
  expect_io_error([&] { (void)recsys::model_reader(d).vector<double>("bias"); }, "bias.npy", "shape differs");
  CHECK(recsys::detail::crc32("123456789") == 0xCBF43926u);  // the standard check value
}
