// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_GROUPING_HPP
#define RECSYS_DETAIL_GROUPING_HPP

/// @file
/// Internal: grouping the rows of an interaction log by a dense key (user, item, session) with a
/// stable counting sort, then ordering each group independently (in parallel over groups).
/// Used by the ingestion rules (dedupe, percentiles), the splits and the session builder.
/// Results never depend on the thread count: groups are disjoint and each is sorted by a
/// strict total order (ties are broken by log row).
///
/// The functions are templates (group_rows_by with an unused parameter) defined here in both
/// modes: a unit compiles them only when it groups rows (see config.hpp).

#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace recsys::detail {

/// Rows grouped by key: group g holds rows[offsets[g] .. offsets[g+1]).
struct row_groups {
  std::vector<std::int64_t> offsets;  ///< num_groups + 1 entries
  std::vector<std::size_t> rows;      ///< log rows, grouped

  [[nodiscard]] std::size_t num_groups() const noexcept { return offsets.empty() ? 0 : offsets.size() - 1; }
  [[nodiscard]] std::size_t group_size(std::size_t g) const noexcept {
    return static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
  }
};

/// Stable counting sort of rows 0..keys.size()-1 by keys[row] in [0, num_keys). Rows with a
/// negative key (absent) are left out. Within a group rows keep log order. O(n + num_keys).
template <class = void>
[[nodiscard]] row_groups group_rows_by(const std::vector<index_t>& keys, index_t num_keys) {
  row_groups g;
  g.offsets.assign(static_cast<std::size_t>(num_keys) + 1, 0);
  for (index_t k : keys)
    if (k >= 0) ++g.offsets[static_cast<std::size_t>(k) + 1];
  for (std::size_t k = 0; k < static_cast<std::size_t>(num_keys); ++k) g.offsets[k + 1] += g.offsets[k];
  g.rows.resize(static_cast<std::size_t>(g.offsets.back()));
  std::vector<std::int64_t> next(g.offsets.begin(), g.offsets.end() - 1);
  for (std::size_t r = 0; r < keys.size(); ++r)
    if (keys[r] >= 0) g.rows[static_cast<std::size_t>(next[static_cast<std::size_t>(keys[r])]++)] = r;
  return g;
}

/// Sorts the rows of every group with `less` (which must be a strict total order on rows, e.g.
/// ending with the row index), in parallel over groups.
template <class Less>
void sort_groups(row_groups& g, int num_threads, Less less) {
  parallel_options o;
  o.num_threads = num_threads;
  o.chunk = 256;
  o.min_parallel = 4096;
  parallel_for(0, static_cast<std::int64_t>(g.num_groups()), o, [&](std::int64_t k) {
    const auto b = g.rows.begin() + g.offsets[static_cast<std::size_t>(k)];
    const auto e = g.rows.begin() + g.offsets[static_cast<std::size_t>(k) + 1];
    if (e - b > 1) std::sort(b, e, less);
  });
}

/// Rows grouped by user, each user's rows in (timestamp, log row) order.
template <class Log>
[[nodiscard]] row_groups rows_by_user_time(const Log& log, int num_threads) {
  row_groups g = group_rows_by(log.users, log.num_users());
  const auto& ts = log.timestamps;
  sort_groups(g, num_threads, [&](std::size_t a, std::size_t b) { return ts[a] != ts[b] ? ts[a] < ts[b] : a < b; });
  return g;
}

/// Rows grouped by user, each user's rows in (item, log row) order: repeated (user, item)
/// pairs are adjacent.
template <class Log>
[[nodiscard]] row_groups rows_by_user_item(const Log& log, int num_threads) {
  row_groups g = group_rows_by(log.users, log.num_users());
  const auto& it = log.items;
  sort_groups(g, num_threads, [&](std::size_t a, std::size_t b) { return it[a] != it[b] ? it[a] < it[b] : a < b; });
  return g;
}

/// The value at fraction p of the sorted sample: sorted[floor(p * (n - 1))] (numpy's
/// quantile(method="lower")), with a 1e-9 tolerance so that e.g. p = 0.29, n = 101 gives
/// index 29 despite 0.29 * 100 = 28.999999999999996. p in [0, 1]; the sample must not be empty.
template <class T>
[[nodiscard]] T lower_quantile(const std::vector<T>& sorted, double p) {
  RECSYS_ASSERT(!sorted.empty());
  const auto n = static_cast<double>(sorted.size() - 1);
  auto k = static_cast<std::size_t>(p * n + 1e-9);  // floor for p >= 0
  if (k >= sorted.size()) k = sorted.size() - 1;
  return sorted[k];
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_GROUPING_HPP
