// SPDX-License-Identifier: Apache-2.0
// Regression tests for defects the fuzz targets in fuzz/ found (docs/reliability.md). Each test
// reproduces the failing input through the public API; the raw reproducers are also replayed
// from fuzz/crashes/<target>/ by the fuzz:replay:* tests.
#include <recsys/data/csv.hpp>
#include <recsys/data/metadata.hpp>
#include <recsys/io/model_store.hpp>

#include "recsys_test.hpp"

#include <string>

TEST_CASE("metadata: values() and has_code() of a numeric or timestamp field are empty, not out of bounds",
          "[metadata][fuzz]") {
  // fuzz_metadata_csv: metadata_field::values(r) read offsets[r + 1] of a non-categorical field,
  // whose offsets vector only holds {0} (heap-buffer-overflow).
  const auto t = recsys::parse_items_csv("ITEM_ID,GENRE,PRICE,CREATION_TIMESTAMP\ni1,a|b,9.5,17\ni2,,,\n", "t");
  const auto& price = t.field("PRICE");
  const auto& created = t.field("CREATION_TIMESTAMP");
  REQUIRE(price.type == recsys::field_type::numeric);
  REQUIRE(created.type == recsys::field_type::timestamp);
  for (std::size_t r = 0; r < t.size(); ++r) {
    CHECK(price.values(r).empty());
    CHECK(created.values(r).empty());
    CHECK_FALSE(price.has_code(r, 0));
    CHECK_FALSE(created.has_code(r, 0));
  }
  CHECK(t.field("GENRE").values(0).size() == 2);
  CHECK(t.field("GENRE").values(1).empty());
}

TEST_CASE("model_reader::sparse rejects an indptr that decreases after a row that overruns indices",
          "[io][fuzz]") {
  // fuzz_model_store (sparse mode): indptr {0, 5, 2} with 2 indices passed the front/back checks
  // and row 0 read indices[2..4] past the end before the decrease at row 1 was seen
  // (heap-buffer-overflow).
  const auto dir = recsys::test::scratch_dir("fuzz-sparse-indptr");
  {
    recsys::model_writer w(dir / "m", "test");
    w.add_vector("s_indptr", std::vector<std::int64_t>{0, 5, 2});
    w.add_vector("s_indices", std::vector<std::int32_t>{1, 2});
    w.add_vector("s_data", std::vector<float>{1.0f, 2.0f});
    w.set_field("s_shape", recsys::detail::json::value(recsys::detail::json::array{2, 3}));
    w.commit();
  }
  const recsys::model_reader r(dir / "m");
  try {
    (void)r.sparse("s");
    FAIL("no throw");
  } catch (const recsys::io_error& e) {
    CHECK(std::string(e.what()).find("non-decreasing") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}
