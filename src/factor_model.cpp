// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the query layer of the factor models (models/factor_model.hpp), for the
// scalars the top-K kernel takes.
#include <recsys/models/factor_model-inl.hpp>

namespace recsys {
template class factor_model<float>;
template class factor_model<double>;
}  // namespace recsys
