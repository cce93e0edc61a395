// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_SESSION_GRU_BATCHING_HPP
#define RECSYS_DETAIL_SESSION_GRU_BATCHING_HPP

/// @file
/// Internal: GRU4Rec's session-parallel mini-batches (gru_row_walker), used by training and by
/// the batch evaluation. Each batch row walks a "group" of sessions (one session, or with HRNN all
/// sessions of one user in time order); when a row's session ends the next session (or group)
/// takes the row. Rows without work are dropped at the end.

#include <recsys/data/sessions.hpp>
#include <recsys/types.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace recsys::detail {

/// Walks groups of sessions with a fixed number of batch rows (see the file comment).
///
/// The walker reports to a handler with three members:
///   - start(row, group, same_group, previous_last_item): the row enters a session of `group`.
///     same_group: the row's previous session belonged to the same group and ended with
///     previous_last_item.
///   - group_end(row, group, last_item): the row finished every session of `group`.
///   - compact(keep): rows keep[0..n) (old indices, increasing) survive as rows 0..n.
template <class = void>
class basic_gru_row_walker {
 public:
  /// groups: CSR over session indices (group g = sessions[offsets[g] .. offsets[g+1])). Sessions
  /// with one event produce no (input, target) pair but are still started (HRNN counts them);
  /// empty sessions are skipped.
  basic_gru_row_walker(const session_data& data, std::vector<std::int64_t> group_offsets,
                 std::vector<index_t> group_sessions, index_t rows)
      : data_(&data), goff_(std::move(group_offsets)), gses_(std::move(group_sessions)), max_rows_(rows) {}

  /// Number of (input, target) pairs over all groups.
  [[nodiscard]] std::int64_t pairs() const noexcept {
    std::int64_t n = 0;
    for (index_t s : gses_)
      n += std::max<std::int64_t>(0, static_cast<std::int64_t>(data_->length(static_cast<std::size_t>(s))) - 1);
    return n;
  }
  [[nodiscard]] std::size_t groups() const noexcept { return goff_.size() - 1; }
  [[nodiscard]] const std::vector<std::int64_t>& group_offsets() const noexcept { return goff_; }
  [[nodiscard]] const std::vector<index_t>& group_sessions() const noexcept { return gses_; }

  /// Starts a pass over groups [g_begin, g_end) (default: all): rows take the first groups.
  template <class Handler>
  void begin(Handler& h, std::size_t g_begin = 0, std::size_t g_end = static_cast<std::size_t>(-1)) {
    rows_.clear();
    next_group_ = static_cast<std::int64_t>(g_begin);
    end_group_ = static_cast<std::int64_t>(std::min(g_end, groups()));
    for (index_t r = 0; r < max_rows_; ++r) {
      row_state st;
      if (!take_group(st, static_cast<Eigen::Index>(rows_.size()), h)) break;
      rows_.push_back(st);
    }
  }

  [[nodiscard]] Eigen::Index rows() const noexcept { return static_cast<Eigen::Index>(rows_.size()); }

  /// The current (input, target) pair of every row, and whether it is the first of its session.
  void fill(std::vector<index_t>& inputs, std::vector<index_t>& targets, std::vector<std::uint8_t>& first) const {
    const std::size_t B = rows_.size();
    inputs.resize(B);
    targets.resize(B);
    first.resize(B);
    for (std::size_t r = 0; r < B; ++r) {
      inputs[r] = data_->items[static_cast<std::size_t>(rows_[r].pos)];
      targets[r] = data_->items[static_cast<std::size_t>(rows_[r].pos + 1)];
      first[r] = rows_[r].pos == rows_[r].start ? 1 : 0;
    }
  }

  /// The session index (into the data) and the position in it of every row's current input.
  void positions(std::vector<std::size_t>& sessions, std::vector<std::size_t>& pos) const {
    sessions.resize(rows_.size());
    pos.resize(rows_.size());
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      sessions[r] = static_cast<std::size_t>(gses_[static_cast<std::size_t>(rows_[r].cursor)]);
      pos[r] = static_cast<std::size_t>(rows_[r].pos - rows_[r].start);
    }
  }

  /// Moves every row one event on; rows whose session ended take the next session of their group
  /// or the next group; rows with nothing left are removed (handler.compact).
  template <class Handler>
  void advance(Handler& h) {
    bool dropped = false;
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      row_state& st = rows_[r];
      ++st.pos;
      if (st.pos + 1 < st.end) continue;
      const auto row = static_cast<Eigen::Index>(r);
      st.last_item = data_->items[static_cast<std::size_t>(st.pos)];
      if (st.cursor + 1 < goff_[static_cast<std::size_t>(st.group) + 1]) {
        ++st.cursor;
        if (enter(st, row, true, st.last_item, h)) continue;
      }
      h.group_end(row, st.group, st.last_item);
      if (!take_group(st, row, h)) {
        st.group = -1;
        dropped = true;
      }
    }
    if (dropped) {
      std::vector<Eigen::Index> keep;
      for (std::size_t r = 0; r < rows_.size(); ++r)
        if (rows_[r].group >= 0) keep.push_back(static_cast<Eigen::Index>(r));
      h.compact(std::span<const Eigen::Index>(keep));
      std::vector<row_state> kept;
      kept.reserve(keep.size());
      for (Eigen::Index r : keep) kept.push_back(rows_[static_cast<std::size_t>(r)]);
      rows_ = std::move(kept);
    }
  }

 private:
  struct row_state {
    std::int64_t group = -1;                   // current group
    std::int64_t cursor = 0;                   // index into gses_ of the current session
    std::int64_t start = 0, pos = 0, end = 0;  // event offsets of the session; pos = current input
    index_t last_item = invalid_index;         // last event of the last finished session
  };

  // Enters the session at st.cursor; sessions with one event are started and finished at once,
  // empty ones skipped. False when the group ends before a session with a pair.
  template <class Handler>
  bool enter(row_state& st, Eigen::Index row, bool same_group, index_t prev_last, Handler& h) {
    const std::int64_t group_end = goff_[static_cast<std::size_t>(st.group) + 1];
    for (; st.cursor < group_end; ++st.cursor) {
      const auto s = static_cast<std::size_t>(gses_[static_cast<std::size_t>(st.cursor)]);
      const std::int64_t b = data_->offsets[s], e = data_->offsets[s + 1];
      if (e == b) continue;
      h.start(row, st.group, same_group, prev_last);
      st.start = st.pos = b;
      st.end = e;
      if (e - b >= 2) return true;
      prev_last = st.last_item = data_->items[static_cast<std::size_t>(b)];
      same_group = true;
    }
    return false;
  }

  template <class Handler>
  bool take_group(row_state& st, Eigen::Index row, Handler& h) {
    while (next_group_ < end_group_) {
      st.group = next_group_++;
      st.cursor = goff_[static_cast<std::size_t>(st.group)];
      st.last_item = invalid_index;
      if (enter(st, row, false, invalid_index, h)) return true;
      if (st.last_item != invalid_index) h.group_end(row, st.group, st.last_item);
    }
    return false;
  }

  const session_data* data_;
  std::vector<std::int64_t> goff_;
  std::vector<index_t> gses_;
  index_t max_rows_;
  std::vector<row_state> rows_;
  std::int64_t next_group_ = 0, end_group_ = 0;
};

/// The walker (a template only so that its code is compiled where it is used; see config.hpp).
using gru_row_walker = basic_gru_row_walker<>;

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_SESSION_GRU_BATCHING_HPP
