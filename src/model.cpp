// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the model interface's default implementations (models/model.hpp).
#include <recsys/models/model-inl.hpp>

namespace recsys {
template class basic_model<void>;
}  // namespace recsys
