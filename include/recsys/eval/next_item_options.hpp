// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_EVAL_NEXT_ITEM_OPTIONS_HPP
#define RECSYS_EVAL_NEXT_ITEM_OPTIONS_HPP

/// @file
/// The options of the next-item evaluation (eval/next_item.hpp): the cutoffs and how ties are
/// ranked. Apart so that recsys::model (models/model.hpp), whose evaluate_next_item takes them
/// with a default, declares it without the evaluation.

#include <recsys/types.hpp>

#include <vector>

namespace recsys {

/// How a target that shares its score with other items is ranked (see eval/next_item.hpp).
enum class tie_mode { standard, conservative, median };

/// "standard", "conservative" or "median".
[[nodiscard]] inline const char* to_string(tie_mode m) noexcept {
  switch (m) {
    case tie_mode::standard: return "standard";
    case tie_mode::conservative: return "conservative";
    case tie_mode::median: return "median";
  }
  return "?";
}

/// What evaluate_next_item measures.
struct next_item_options {
  std::vector<index_t> cutoffs{1, 5, 10, 20};  ///< the K of Recall@K and MRR@K
  tie_mode ties = tie_mode::conservative;      ///< GRU4Rec's default
  int num_threads = 0;                         ///< 0 = default
};

}  // namespace recsys

#endif  // RECSYS_EVAL_NEXT_ITEM_OPTIONS_HPP
