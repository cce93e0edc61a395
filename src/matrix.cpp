// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the matrix builder, weightings and conversions (data/matrix.hpp).
#include <recsys/data/matrix-inl.hpp>

namespace recsys {
template std::vector<index_t> user_history_lengths<>(const csr_matrix&);
template std::vector<index_t> item_popularity<>(const csr_matrix&);
template void apply_weighting<>(csr_matrix&, const matrix_options&);
template csr_matrix build_matrix<>(const interaction_log&, const matrix_options&);
template csc_matrix to_csc<>(const csr_matrix&);
template csr_matrix transpose_csr<>(const csr_matrix&);
namespace detail {
template csr_matrix seen_matrix<>(const interaction_log&);
template csr_matrix build_matrix_impl<>(const interaction_log&, const matrix_options&, bool);
}  // namespace detail
}  // namespace recsys
