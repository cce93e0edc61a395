// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the shared top-K kernel (ranking/topk.hpp), for float and double scores.
#include <recsys/ranking/topk-inl.hpp>

namespace recsys {
template class basic_item_lists<void>;
template topk_result topk_select<>(std::span<const score_t>, index_t, const topk_filter&);
namespace detail {
template void topk_inner_product_impl<float>(const const_row_ref<float>&, const const_row_ref<float>&,
                                             std::span<const float>, index_t, index_t*, score_t*, const topk_filter&,
                                             const topk_options&);
template void topk_inner_product_impl<double>(const const_row_ref<double>&, const const_row_ref<double>&,
                                              std::span<const double>, index_t, index_t*, score_t*, const topk_filter&,
                                              const topk_options&);
template void topk_select_impl<float>(const const_row_ref<float>&, index_t, index_t*, score_t*, const topk_filter&,
                                      const topk_options&);
template void topk_select_impl<double>(const const_row_ref<double>&, index_t, index_t*, score_t*, const topk_filter&,
                                       const topk_options&);
template std::vector<topk_result> split_results<>(Eigen::Index, index_t, const std::vector<index_t>&,
                                                  const std::vector<score_t>&);
}  // namespace detail
}  // namespace recsys
