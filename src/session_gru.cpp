// SPDX-License-Identifier: Apache-2.0
// recsys::compiled: the session GRU (models/session_gru.hpp): its queries, save / load, and fit
// for the one session source type it takes (session_data).
#include <recsys/models/session_gru-inl.hpp>
#include <recsys/models/session_gru_fit-inl.hpp>

namespace recsys {
template class basic_session_gru<void>;
template void basic_session_gru<void>::fit<session_data>(const session_data&, const job_control&);

static_assert(history_recommender<session_gru> && next_item_scorer<session_gru>);
}  // namespace recsys
