// SPDX-License-Identifier: Apache-2.0
// Fuzz target: Personalize filter expressions (ranking/filter_expression.hpp). The option byte
// is ignored (kept so every target shares the input layout).
// Invariants of a successful parse: at least one clause, every clause has a non-empty WHERE with
// non-empty AND groups, every condition has a field and at least one value (exactly one for
// comparisons), columns point inside the text, and the text is kept verbatim.
#include "fuzz_support.hpp"

#include <recsys/errors.hpp>
#include <recsys/ranking/filter_expression.hpp>

#include <cmath>
#include <optional>

namespace {

void check_dnf(const recsys::filter_condition_dnf& dnf, std::size_t text_size) {
  for (const auto& group : dnf) {
    RECSYS_FUZZ_CHECK(!group.empty());
    for (const auto& c : group) {
      RECSYS_FUZZ_CHECK(!c.field.empty());
      RECSYS_FUZZ_CHECK(!c.values.empty());
      const bool set_op = c.op == recsys::filter_op::in || c.op == recsys::filter_op::not_in;
      RECSYS_FUZZ_CHECK(set_op || c.values.size() == 1);
      RECSYS_FUZZ_CHECK(c.column >= 1 && c.column <= text_size);
      for (const auto& v : c.values) {
        RECSYS_FUZZ_CHECK(v.column >= 1 && v.column <= text_size);
        if (v.type == recsys::filter_value::kind::number) RECSYS_FUZZ_CHECK(std::isfinite(v.number));
        if (v.type == recsys::filter_value::kind::parameter || v.type == recsys::filter_value::kind::current_item)
          RECSYS_FUZZ_CHECK(!v.text.empty());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = recsys::fuzz::split(data, size);
  std::optional<recsys::filter_expression> f;
  try {
    f = recsys::filter_expression::parse(in.text);
  } catch (const recsys::error&) {
    return 0;
  }
  RECSYS_FUZZ_CHECK(f->text() == in.text);
  RECSYS_FUZZ_CHECK(!f->clauses().empty());
  for (const auto& c : f->clauses()) {
    RECSYS_FUZZ_CHECK(!c.where.empty());
    RECSYS_FUZZ_CHECK(c.column >= 1 && c.column <= in.text.size());
    check_dnf(c.where, in.text.size());
    check_dnf(c.only_if, in.text.size());
    (void)c.about_interactions();
  }
  (void)f->parameters();
  (void)f->uses_current_item();
  return 0;
}
