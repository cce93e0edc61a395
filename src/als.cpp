// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: implicit ALS (models/als.hpp), for float and double factors.
#include <recsys/models/als-inl.hpp>

namespace recsys {
template class als<float>;
template class als<double>;
}  // namespace recsys
