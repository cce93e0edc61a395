// SPDX-License-Identifier: Apache-2.0
// Interim data for bench_bpr until the shared generator (data/synthetic.hpp) and the matrix
// builder (data/matrix.hpp) are on main; then this file goes and bench_bpr uses
// synthetic_config::benchmark().
#ifndef RECSYS_BENCH_BPR_BENCH_DATA_HPP
#define RECSYS_BENCH_BPR_BENCH_DATA_HPP

#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <cmath>
#include <vector>

#include "bench_support.hpp"

namespace recsys::bench {

/// 50k users x 20k items, 2M distinct interactions (smoke: 2k x 1k x 40k); Zipf(0.9) items,
/// users in 50 taste clusters.
inline const csr_matrix& bpr_data() {
  static const csr_matrix x = [] {
    const index_t users = size<index_t>(50000, 2000);
    const index_t items = size<index_t>(20000, 1000);
    const std::int64_t target = size<std::int64_t>(2000000, 40000);
    rng r(20261129, stream_tag("bench.bpr.data"));
    std::vector<double> w(static_cast<std::size_t>(items));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 1.0 / std::pow(static_cast<double>(i + 1), 0.9);
    const alias_table pick(w);
    std::vector<Eigen::Triplet<float, index_t>> trips;
    csr_matrix m(users, items);
    std::int64_t want = target;
    while (m.nonZeros() < target) {
      for (std::int64_t n = 0; n < want; ++n) {
        const auto u = static_cast<index_t>(r.uniform_index(static_cast<std::uint32_t>(users)));
        auto i = static_cast<index_t>(pick(r));
        if (r.uniform() < 0.7f) i = static_cast<index_t>((i / 50 * 50 + u % 50) % items);
        trips.emplace_back(u, i, 1.0f);
      }
      m.setFromTriplets(trips.begin(), trips.end(), [](float a, float) { return a; });
      want = target - m.nonZeros();
    }
    m.makeCompressed();
    return m;
  }();
  return x;
}

}  // namespace recsys::bench

#endif
