// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the Items / Users metadata reader of data/metadata.hpp.
// Option byte: bit0 skip bad rows, bit1 floor fractional CREATION_TIMESTAMP, bits2-3 delimiter
// (, ; TAB ,), bit4 Users (USER_ID) instead of Items, bit5 no multi-value separator, bit6 force
// the field GENRE categorical, bit7 force PRICE numeric.
// Invariants of a successful read: every field has one entry per row of its type, codes are
// inside their dictionary, ids are unique and findable, the report adds up, and writing the
// table and reading it back (same options) gives the same ids and field names.
#include "fuzz_support.hpp"

#include <recsys/data/metadata.hpp>

#include <cmath>
#include <optional>
#include <sstream>

namespace {

void check_table(const recsys::metadata_table& t) {
  const std::size_t n = t.size();
  for (std::size_t r = 0; r < n; ++r) {
    const auto& id = t.ids.ids()[r];
    RECSYS_FUZZ_CHECK(!id.empty());
    RECSYS_FUZZ_CHECK(t.row_of(id) == static_cast<recsys::index_t>(r));
  }
  for (const auto& f : t.fields) {
    RECSYS_FUZZ_CHECK(t.find_field(f.name) != nullptr);
    for (std::size_t r = 0; r < n; ++r) {
      (void)f.is_missing(r);
      for (const recsys::index_t c : f.values(r)) RECSYS_FUZZ_CHECK(c >= 0 && c < f.dictionary.size());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  static constexpr char delimiters[] = {',', ';', '\t', ','};
  recsys::metadata_options o;
  o.bad_rows = (in.option & 1) ? recsys::bad_row_policy::skip : recsys::bad_row_policy::raise;
  o.fractional_timestamps = (in.option & 2) ? recsys::fractional_timestamp::floor : recsys::fractional_timestamp::reject;
  o.delimiter = delimiters[(in.option >> 2) & 3];
  const bool users = (in.option & 16) != 0;
  if (in.option & 32) o.multi_value_separator = '\0';
  if (in.option & 64) o.categorical_fields = {"GENRE"};
  if (in.option & 128) o.numeric_fields = {"PRICE"};
  o.max_problems = 3;
  std::optional<recsys::metadata_table> t;
  try {
    t = users ? recsys::parse_users_csv(in.text, "fuzz", o) : recsys::parse_items_csv(in.text, "fuzz", o);
  } catch (const recsys::error&) {
    return 0;
  }
  check_table(*t);
  const auto& rep = t->report;
  RECSYS_FUZZ_CHECK(rep.rows_read == rep.rows_kept + rep.rows_bad);
  RECSYS_FUZZ_CHECK(rep.rows_kept == static_cast<std::int64_t>(t->size()));
  RECSYS_FUZZ_CHECK(o.bad_rows == recsys::bad_row_policy::skip || rep.rows_bad == 0);

  std::ostringstream os;
  recsys::write_metadata_csv(*t, os, o.delimiter, o.multi_value_separator);
  recsys::metadata_options back_o = o;
  back_o.bad_rows = recsys::bad_row_policy::raise;
  const auto back = users ? recsys::parse_users_csv(os.str(), "round-trip", back_o)
                          : recsys::parse_items_csv(os.str(), "round-trip", back_o);
  RECSYS_FUZZ_CHECK(back.size() == t->size());
  for (std::size_t r = 0; r < t->size(); ++r) RECSYS_FUZZ_CHECK(back.ids.ids()[r] == t->ids.ids()[r]);
  RECSYS_FUZZ_CHECK(back.fields.size() == t->fields.size());
  for (std::size_t f = 0; f < t->fields.size(); ++f) RECSYS_FUZZ_CHECK(back.fields[f].name == t->fields[f].name);
  return 0;
}
