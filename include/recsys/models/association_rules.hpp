// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ASSOCIATION_RULES_HPP
#define RECSYS_MODELS_ASSOCIATION_RULES_HPP

/// @file
/// Pair association rules ("whoever buys A also buys B") of baskets, sessions or a transactions
/// x items matrix, with support, confidence and lift, and their CSV output. Mined by the same
/// sparse co-occurrence product as recsys::item_to_item (models/item_to_item.hpp includes this
/// header). docs/item-to-item.md describes the measures.
///
/// @code
///   auto rules = recsys::association_rules(baskets, {.min_support = 0.001, .min_lift = 1.5});
///   recsys::write_rules_csv("rules.csv", rules, baskets.item_ids);
/// @endcode

#include <recsys/config.hpp>
#include <recsys/data/id_map.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/progress.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

namespace recsys {

/// One pair rule antecedent -> consequent ("whoever buys A also buys B").
struct association_rule {
  index_t antecedent = invalid_index;
  index_t consequent = invalid_index;
  std::int64_t count = 0;  ///< transactions holding both
  double support = 0;      ///< count / N
  double confidence = 0;   ///< count / (transactions holding the antecedent) = P(B | A)
  double lift = 0;         ///< confidence / P(B) = count N / (n_A n_B)
  friend bool operator==(const association_rule&, const association_rule&) = default;
};

/// Which measure ranks rules first ("strongest first").
enum class rule_order {
  lift,        ///< lift, then confidence, then count
  confidence,  ///< confidence, then lift, then count
  support,     ///< support, then confidence, then lift
};

/// Thresholds of association_rules(); a rule is kept when it meets all of them.
struct rule_options {
  double min_support = 0.001;   ///< in [0, 1]
  double min_confidence = 0.0;  ///< in [0, 1]
  double min_lift = 1.0;        ///< >= 0 (1: only positively associated pairs)
  std::int64_t min_count = 1;   ///< >= 1
  std::size_t max_rules = 0;    ///< keep the strongest this many (0: all)
  rule_order order = rule_order::lift;
  int num_threads = 0;  ///< 0: default

  void validate() const {
    constexpr const char* where = "rule_options";
    RECSYS_REQUIRE(min_support >= 0.0 && min_support <= 1.0, where, "min_support must be in [0, 1] (got ", min_support,
                   ")");
    RECSYS_REQUIRE(min_confidence >= 0.0 && min_confidence <= 1.0, where, "min_confidence must be in [0, 1] (got ",
                   min_confidence, ")");
    RECSYS_REQUIRE(std::isfinite(min_lift) && min_lift >= 0.0, where, "min_lift must be finite and >= 0 (got ",
                   min_lift, ")");
    RECSYS_REQUIRE(min_count >= 1, where, "min_count must be >= 1 (got ", min_count, ")");
    RECSYS_REQUIRE(num_threads >= 0, where, "num_threads must be >= 0 (got ", num_threads, ")");
  }
};

/// Pair association rules of baskets: every antecedent -> consequent with support, confidence
/// and lift at or above the thresholds, strongest first (options.order; ties by ascending
/// antecedent, then consequent). N = non-empty baskets.
/// @throws recsys::invalid_argument for bad options or an item index out of range.
/// @throws recsys::cancelled if job.cancel is set.
template <class = void>
[[nodiscard]] std::vector<association_rule> association_rules(const basket_data& baskets, const rule_options& options = {}, const job_control& job = {});

/// Pair association rules of sessions (transactions = sessions; repeats count once).
template <class = void>
[[nodiscard]] std::vector<association_rule> association_rules(const session_data& sessions, const rule_options& options = {}, const job_control& job = {});

/// Pair association rules of a transactions x items matrix (an entry > 0 means "holds").
/// @throws recsys::invalid_argument for a negative or non-finite entry, or bad options.
template <class = void>
[[nodiscard]] std::vector<association_rule> association_rules(const csr_matrix& transactions, const rule_options& options = {}, const job_control& job = {});

/// Writes rules as CSV: header `antecedent,consequent,support,confidence,lift,count`, one rule
/// per line in the given order, item names from `items` (RFC 4180 quoting when a name holds a
/// comma, a quote, a line break, or leading/trailing blanks), numbers with 9 significant digits.
/// @throws recsys::invalid_argument if a rule's item is not in `items`.
template <class = void>
void write_rules_csv(std::ostream& os, std::span<const association_rule> rules, const id_map<std::string>& items);

/// write_rules_csv to a file.
/// @throws recsys::io_error if the file cannot be written.
template <class = void>
void write_rules_csv(const std::string& path, std::span<const association_rule> rules, const id_map<std::string>& items);

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/models/association_rules-inl.hpp>
#else
namespace recsys {
extern template std::vector<association_rule> association_rules<>(const basket_data&, const rule_options&,
                                                                  const job_control&);
extern template std::vector<association_rule> association_rules<>(const session_data&, const rule_options&,
                                                                  const job_control&);
extern template std::vector<association_rule> association_rules<>(const csr_matrix&, const rule_options&,
                                                                  const job_control&);
extern template void write_rules_csv<>(std::ostream&, std::span<const association_rule>, const id_map<std::string>&);
extern template void write_rules_csv<>(const std::string&, std::span<const association_rule>,
                                       const id_map<std::string>&);
}  // namespace recsys
#endif

#endif  // RECSYS_MODELS_ASSOCIATION_RULES_HPP
