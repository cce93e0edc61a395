// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: next-item evaluation (eval/next_item.hpp).
#include <recsys/eval/next_item-inl.hpp>

namespace recsys {
template double next_item_rank<>(std::span<const score_t>, index_t, tie_mode);
template class basic_next_item_accumulator<void>;
namespace detail {
template next_item_metrics evaluate_next_item_any<>(const next_item_scorer_ref&, const session_data&,
                                                    const next_item_options&, const job_control&);
}  // namespace detail
}  // namespace recsys
