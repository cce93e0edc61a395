// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: batch inference and user segments (io/batch.hpp).
#include <recsys/io/batch-inl.hpp>

namespace recsys {
template batch_report batch_recommend<>(const model&, const std::filesystem::path&, const batch_options&,
                                        const job_control&);
template batch_report batch_segments<>(const model&, const std::filesystem::path&, const batch_options&,
                                       const job_control&);
template std::vector<std::string> read_batch_ids<>(const std::filesystem::path&, std::string_view);
}  // namespace recsys
