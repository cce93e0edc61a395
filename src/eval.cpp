// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: AutoML and the time-window search (eval/automl.hpp, eval/windows.hpp).
#include <recsys/eval/automl-inl.hpp>
#include <recsys/eval/windows-inl.hpp>

namespace recsys {
template automl_result automl<>(const interaction_log&, const automl_options&, const job_control&);
template window_search_result search_time_windows<>(const interaction_log&, std::string_view,
                                                    const window_search_options&, const job_control&);
}  // namespace recsys
