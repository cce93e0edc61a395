// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: re-ranking (ranking/rerank.hpp and its parts): slot placement and blending,
// the new-item explorer and the co-occurrence similarity. rank_candidates, the promotion,
// exploration and MMR functions and factor_similarity are templates over the caller's model,
// similarity or scalar type and stay in the headers.
#include <recsys/ranking/blend-inl.hpp>
#include <recsys/ranking/diversity-inl.hpp>
#include <recsys/ranking/exploration-inl.hpp>

namespace recsys {
template std::vector<index_t> slot_positions<>(index_t, index_t, slot_placement, rng&);
template reranked_list blend<>(const topk_result&, std::span<const slot_group>, index_t, rng&);
template reranked_list blend<>(const topk_result&, std::span<const slot_group>, index_t, std::uint64_t, index_t);
template class basic_new_item_explorer<void>;
template class basic_cooccurrence_similarity<void>;
}  // namespace recsys
