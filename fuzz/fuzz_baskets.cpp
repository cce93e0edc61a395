// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the basket reader (data/csv.hpp parse_baskets, data/baskets.hpp basket_data).
// Option byte: bit0 skip bad rows, bit1 merge repeated items, bit2 no quoting, bits3-4
// delimiter (, ; TAB space).
// Invariants of a successful read: offsets start at 0 and never decrease, every item index is
// in range, no item repeats within a basket, the report adds up, and the incidence matrix has
// one non-zero per basket entry.
#include "fuzz_support.hpp"

#include <recsys/data/csv.hpp>

#include <algorithm>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  static constexpr char delimiters[] = {',', ';', '\t', ' '};
  recsys::basket_options o;
  o.bad_rows = (in.option & 1) ? recsys::bad_row_policy::skip : recsys::bad_row_policy::raise;
  o.repeated_items = (in.option & 2) ? recsys::repeated_item_policy::merge : recsys::repeated_item_policy::reject;
  o.quoting = (in.option & 4) == 0;
  o.delimiter = delimiters[(in.option >> 3) & 3];
  o.max_problems = 3;
  std::optional<recsys::basket_data> b;
  try {
    b = recsys::parse_baskets(in.text, "fuzz", o);
  } catch (const recsys::error&) {
    return 0;
  }
  RECSYS_FUZZ_CHECK(!b->offsets.empty() && b->offsets.front() == 0);
  RECSYS_FUZZ_CHECK(b->offsets.back() == static_cast<std::int64_t>(b->items.size()));
  for (std::size_t k = 0; k < b->size(); ++k) {
    RECSYS_FUZZ_CHECK(b->offsets[k] <= b->offsets[k + 1]);
    const auto basket = b->basket(k);
    for (std::size_t j = 0; j < basket.size(); ++j) {
      RECSYS_FUZZ_CHECK(basket[j] >= 0 && basket[j] < b->num_items());
      RECSYS_FUZZ_CHECK(std::find(basket.begin(), basket.begin() + static_cast<std::ptrdiff_t>(j), basket[j]) ==
                        basket.begin() + static_cast<std::ptrdiff_t>(j));
    }
  }
  for (const auto& id : b->item_ids.ids()) RECSYS_FUZZ_CHECK(!id.empty());
  const auto& rep = b->report;
  RECSYS_FUZZ_CHECK(rep.rows_read == rep.rows_kept + rep.rows_bad);
  RECSYS_FUZZ_CHECK(rep.rows_kept == static_cast<std::int64_t>(b->size()));
  RECSYS_FUZZ_CHECK(o.bad_rows == recsys::bad_row_policy::skip || rep.rows_bad == 0);
  RECSYS_FUZZ_CHECK(o.repeated_items == recsys::repeated_item_policy::merge || b->items_merged == 0);
  const auto m = b->to_matrix();
  RECSYS_FUZZ_CHECK(m.rows() == static_cast<Eigen::Index>(b->size()) && m.cols() == b->num_items());
  RECSYS_FUZZ_CHECK(m.nonZeros() == static_cast<Eigen::Index>(b->items.size()));
  return 0;
}
