// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_MATRIX_INL_HPP
#define RECSYS_DATA_MATRIX_INL_HPP

/// @file
/// Definitions of data/matrix.hpp: the matrix builder, its weightings and conversions, and
/// detail::seen_matrix (header-only mode includes this file; the compiled library instantiates
/// it in src/matrix.cpp).

#include <recsys/data/matrix.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace recsys {

namespace detail {

template <class = void>
void check_matrix_options(const matrix_options& o, const char* where) {
  RECSYS_REQUIRE(std::isfinite(o.alpha) && o.alpha >= 0.0f, where, "alpha must be finite and >= 0 (got ", o.alpha, ")");
  RECSYS_REQUIRE(std::isfinite(o.bm25_k1) && o.bm25_k1 >= 0.0f, where, "bm25_k1 must be finite and >= 0 (got ",
                 o.bm25_k1, ")");
  RECSYS_REQUIRE(o.bm25_b >= 0.0f && o.bm25_b <= 1.0f, where, "bm25_b must be in [0, 1] (got ", o.bm25_b, ")");
  RECSYS_REQUIRE(std::isfinite(o.half_life_seconds) && o.half_life_seconds >= 0.0, where,
                 "half_life_seconds must be finite and >= 0 (got ", o.half_life_seconds, ")");
  RECSYS_REQUIRE(o.num_threads >= 0, where, "num_threads must be >= 0 (got ", o.num_threads, ")");
}

template <class = void>
void store_bits(score_t* at, std::uint32_t bits) noexcept {
  std::memcpy(at, &bits, sizeof bits);
}
template <class = void>
[[nodiscard]] std::uint32_t load_bits(const score_t* at) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, at, sizeof bits);
  return bits;
}

template <class>
csr_matrix seen_matrix(const interaction_log& log) {
  std::vector<Eigen::Triplet<score_t, index_t>> t;
  t.reserve(log.size());
  for (std::size_t r = 0; r < log.size(); ++r) t.emplace_back(log.users[r], log.items[r], 1.0f);
  csr_matrix m(log.num_users(), log.num_items());
  m.setFromTriplets(t.begin(), t.end(), [](score_t a, score_t) { return a; });
  m.makeCompressed();
  return m;
}

template <class>
csr_matrix build_matrix_impl(const interaction_log& log, const matrix_options& o, bool force_user_column) {
  detail::check_matrix_options(o, "build_matrix");
  const std::size_t n = log.size();
  RECSYS_REQUIRE(log.items.size() == n && log.timestamps.size() == n && log.weights.size() == n, "build_matrix",
                 "the log's columns have different lengths");
  RECSYS_REQUIRE(n <= static_cast<std::size_t>(std::numeric_limits<index_t>::max()), "build_matrix",
                 "more than 2^31-1 events (", n, ")");
  const index_t num_users = log.num_users(), num_items = log.num_items();
  const auto U = static_cast<std::size_t>(num_users);

  const bool decay = o.half_life_seconds > 0.0;
  const timestamp_t ref = o.reference_time ? *o.reference_time : log.time_range().second;
  const double inv_half_life = decay ? 1.0 / o.half_life_seconds : 0.0;
  const bool weight_based = o.scheme != weighting::binary && o.scheme != weighting::count;
  const duplicate_aggregation agg = o.scheme == weighting::count    ? duplicate_aggregation::sum
                                    : o.scheme == weighting::binary ? duplicate_aggregation::max
                                                                    : o.duplicates;
  // sum / max need only (item, value bits), which sort together as one 64-bit key. latest needs
  // log order and time: the slot carries the log row, and the key (item, position in row).
  const bool packed = agg != duplicate_aggregation::latest;
  auto event_value = [&](std::size_t r) {
    float v = 1.0f;
    if (weight_based) {
      v = log.weights[r];
      RECSYS_REQUIRE(std::isfinite(v), "build_matrix", "row ", r, ": weight ", v, " is not finite");
    }
    if (decay)
      v = static_cast<float>(static_cast<double>(v) *
                             std::exp2(-static_cast<double>(ref - log.timestamps[r]) * inv_half_life));
    return v;
  };

  // Rows: row_start[u] = first slot of user u's events.
  std::vector<std::int64_t> row_start(U + 1, 0);
  for (std::size_t r = 0; r < n; ++r) {
    const index_t u = log.users[r];
    RECSYS_REQUIRE(u >= 0 && u < num_users, "build_matrix", "row ", r, ": user index ", u, " out of range [0, ",
                   num_users, ")");
    ++row_start[static_cast<std::size_t>(u) + 1];
  }
  for (std::size_t u = 0; u < U; ++u) row_start[u + 1] += row_start[u];
  // Buckets of 2^shift consecutive users; the user's low bits ride above the item's bits in the
  // inner index when they fit in 32 bits, otherwise a separate user column is kept.
  int shift = 0;
  while ((static_cast<std::int64_t>(num_users) >> shift) > 1024) ++shift;
  int item_bits = 0;
  while (item_bits < 32 && (std::int64_t{1} << item_bits) < static_cast<std::int64_t>(num_items)) ++item_bits;
  const bool user_in_inner = item_bits + shift <= 32 && !force_user_column;
  const std::size_t num_buckets = (U >> shift) + 1;
  auto first_user = [&](std::size_t b) { return std::min(b << shift, U); };

  csr_matrix m(num_users, num_items);
  m.resizeNonZeros(static_cast<Eigen::Index>(n));  // working storage, shrunk to nnz at the end
  index_t* inner = m.innerIndexPtr();
  score_t* val = m.valuePtr();
  std::unique_ptr<index_t[]> slot_user(user_in_inner ? nullptr : new index_t[n]);

  // (a) scatter into buckets (stable)
  {
    std::vector<std::int64_t> next(num_buckets);
    for (std::size_t b = 0; b < num_buckets; ++b) next[b] = row_start[first_user(b)];
    const std::uint32_t low_mask = (std::uint32_t{1} << shift) - 1;
    for (std::size_t r = 0; r < n; ++r) {
      const auto u = static_cast<std::uint32_t>(log.users[r]);
      const index_t i = log.items[r];
      RECSYS_REQUIRE(i >= 0 && i < num_items, "build_matrix", "row ", r, ": item index ", i, " out of range [0, ",
                     num_items, ")");
      const auto slot = static_cast<std::size_t>(next[u >> shift]++);
      auto tag = static_cast<std::uint32_t>(i);
      if (user_in_inner)
        tag |= item_bits < 32 ? (u & low_mask) << item_bits : 0u;
      else
        slot_user[slot] = static_cast<index_t>(u);
      inner[slot] = static_cast<index_t>(tag);
      detail::store_bits(val + slot,
                         packed ? std::bit_cast<std::uint32_t>(event_value(r)) : static_cast<std::uint32_t>(r));
    }
  }

  // (b) per bucket: sort by user, sort each row, aggregate, write back in place
  std::vector<index_t> row_nnz(U, 0);
  {
    parallel_options pb;
    pb.num_threads = n < 65536 ? 1 : o.num_threads;  // small logs: not worth starting threads
    pb.chunk = 1;
    struct scratch_t {
      std::vector<std::uint64_t> key;
      std::vector<float> value;
      std::vector<timestamp_t> time;
      std::vector<std::int64_t> next;
    };
    std::vector<scratch_t> scratch(static_cast<std::size_t>(max_threads(pb)));
    const std::uint32_t item_mask = item_bits >= 32 ? 0xffffffffu : (std::uint32_t{1} << item_bits) - 1;
    parallel_for(0, static_cast<std::int64_t>(num_buckets), pb, [&](std::int64_t bb, int tid) {
      const std::size_t u0 = first_user(static_cast<std::size_t>(bb));
      const std::size_t u1 = first_user(static_cast<std::size_t>(bb) + 1);
      if (u0 == u1) return;
      const std::int64_t lo = row_start[u0], hi = row_start[u1];
      scratch_t& sc = scratch[static_cast<std::size_t>(tid)];
      sc.key.resize(static_cast<std::size_t>(hi - lo));
      if (!packed) {
        sc.value.resize(sc.key.size());
        sc.time.resize(sc.key.size());
      }
      sc.next.assign(row_start.begin() + static_cast<std::ptrdiff_t>(u0),
                     row_start.begin() + static_cast<std::ptrdiff_t>(u1));
      for (std::int64_t k = lo; k < hi; ++k) {
        const auto tag = static_cast<std::uint32_t>(inner[k]);
        const std::size_t u = user_in_inner ? (u0 | (item_bits < 32 ? tag >> item_bits : 0u))
                                            : static_cast<std::size_t>(slot_user[static_cast<std::size_t>(k)]);
        const std::uint64_t item = tag & item_mask;
        const std::int64_t at = sc.next[u - u0]++;
        const auto s = static_cast<std::size_t>(at - lo);
        const std::uint32_t payload = detail::load_bits(val + k);
        if (packed) {
          sc.key[s] = (item << 32) | payload;
        } else {
          sc.key[s] = (item << 32) | static_cast<std::uint64_t>(at - row_start[u]);
          sc.value[s] = event_value(payload);
          sc.time[s] = log.timestamps[payload];
        }
      }
      for (std::size_t u = u0; u < u1; ++u) {
        const auto base = static_cast<std::size_t>(row_start[u] - lo);
        const auto end = static_cast<std::size_t>(row_start[u + 1] - lo);
        std::uint64_t* keys = sc.key.data();
        if (end - base > 1) std::sort(keys + base, keys + end);
        auto out = static_cast<std::size_t>(row_start[u]);
        for (std::size_t k = base; k < end;) {
          const std::uint64_t item = keys[k] >> 32;
          double acc = 0.0;
          std::size_t j = k;
          if (packed) {
            // the keys of one item are sorted by the value's bits: a fixed summation order
            acc = std::bit_cast<float>(static_cast<std::uint32_t>(keys[j]));
            for (++j; j < end && (keys[j] >> 32) == item; ++j) {
              const double v = std::bit_cast<float>(static_cast<std::uint32_t>(keys[j]));
              acc = agg == duplicate_aggregation::sum ? acc + v : std::max(acc, v);
            }
          } else {
            // positions ascend within the item, so ">=" keeps the last of equal times
            std::size_t best = base + (keys[j] & 0xffffffffu);
            for (++j; j < end && (keys[j] >> 32) == item; ++j) {
              const std::size_t at = base + (keys[j] & 0xffffffffu);
              if (sc.time[at] >= sc.time[best]) best = at;
            }
            acc = sc.value[best];
          }
          inner[out] = static_cast<index_t>(item);
          val[out] = static_cast<score_t>(acc);
          ++out;
          k = j;
        }
        row_nnz[u] = static_cast<index_t>(out - static_cast<std::size_t>(row_start[u]));
      }
    });
  }
  slot_user.reset();

  // (c) shift rows left into place (outer[u] <= row_start[u]) and shrink the storage
  index_t* outer = m.outerIndexPtr();
  outer[0] = 0;
  for (std::size_t u = 0; u < U; ++u) {
    outer[u + 1] = outer[u] + row_nnz[u];
    const auto from = static_cast<std::size_t>(row_start[u]), to = static_cast<std::size_t>(outer[u]);
    if (from != to && row_nnz[u] > 0) {
      std::memmove(inner + to, inner + from, static_cast<std::size_t>(row_nnz[u]) * sizeof(index_t));
      std::memmove(val + to, val + from, static_cast<std::size_t>(row_nnz[u]) * sizeof(score_t));
    }
  }
  const auto nnz = static_cast<Eigen::Index>(outer[U]);
  m.resizeNonZeros(nnz);
  if (2 * static_cast<std::size_t>(nnz) < n) m.data().squeeze();  // many duplicates: give the slack back
  val = m.valuePtr();                                             // squeeze() may have moved the storage
  for (Eigen::Index k = 0; k < nnz; ++k)
    RECSYS_REQUIRE(std::isfinite(val[k]), "build_matrix", "aggregated value ", val[k],
                   " is not a finite float at entry ", k,
                   " (weights or time decay overflow; check half_life_seconds and reference_time)");

  // Value transform.
  if (o.scheme != weighting::raw && o.scheme != weighting::count && o.scheme != weighting::binary) {
    try {
      apply_weighting(m, o);
    } catch (const invalid_argument& e) {
      throw invalid_argument(std::string(e.what()) + " (build_matrix)");
    }
  }
  return m;
}

}  // namespace detail

template <class>
std::vector<index_t> user_history_lengths(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "user_history_lengths", "the matrix must be compressed (call makeCompressed())");
  std::vector<index_t> n(static_cast<std::size_t>(m.rows()));
  const index_t* outer = m.outerIndexPtr();
  for (Eigen::Index u = 0; u < m.rows(); ++u) n[static_cast<std::size_t>(u)] = outer[u + 1] - outer[u];
  return n;
}

template <class>
std::vector<index_t> item_popularity(const csr_matrix& m) {
  RECSYS_REQUIRE(m.isCompressed(), "item_popularity", "the matrix must be compressed (call makeCompressed())");
  std::vector<index_t> n(static_cast<std::size_t>(m.cols()), 0);
  const index_t* inner = m.innerIndexPtr();
  for (Eigen::Index k = 0; k < m.nonZeros(); ++k) ++n[static_cast<std::size_t>(inner[k])];
  return n;
}

template <class>
void apply_weighting(csr_matrix& m, const matrix_options& o) {
  detail::check_matrix_options(o, "apply_weighting");
  RECSYS_REQUIRE(o.scheme != weighting::count, "apply_weighting",
                 "count needs the events: use build_matrix with matrix_options::scheme = weighting::count");
  if (o.scheme == weighting::raw) return;
  m.makeCompressed();
  const Eigen::Index rows = m.rows(), cols = m.cols();
  const index_t* outer = m.outerIndexPtr();
  const index_t* inner = m.innerIndexPtr();
  score_t* val = m.valuePtr();
  if (o.scheme == weighting::log1p || o.scheme == weighting::bm25 || o.scheme == weighting::tfidf) {
    for (Eigen::Index u = 0; u < rows; ++u)
      for (index_t k = outer[u]; k < outer[u + 1]; ++k)
        RECSYS_REQUIRE(val[k] >= 0.0f, "apply_weighting", detail::scheme_name(o.scheme),
                       " needs non-negative values; entry (", u, ", ", inner[k], ") is ", val[k]);
  }
  std::vector<double> idf, norm;
  if (o.scheme == weighting::bm25 || o.scheme == weighting::tfidf) {
    idf.resize(static_cast<std::size_t>(rows));
    for (Eigen::Index u = 0; u < rows; ++u)
      idf[static_cast<std::size_t>(u)] =
          std::log(static_cast<double>(cols) / (1.0 + static_cast<double>(outer[u + 1] - outer[u])));
  }
  if (o.scheme == weighting::bm25 && m.nonZeros() > 0) {
    std::vector<double> col_sum(static_cast<std::size_t>(cols), 0.0);
    for (Eigen::Index k = 0; k < m.nonZeros(); ++k) col_sum[static_cast<std::size_t>(inner[k])] += val[k];
    double total = 0.0;
    for (double s : col_sum) total += s;
    const double avg = total / static_cast<double>(cols);
    RECSYS_REQUIRE(avg > 0.0, "apply_weighting", "bm25 needs a positive total weight (all values are 0)");
    norm.resize(static_cast<std::size_t>(cols));
    const double b = o.bm25_b;
    for (std::size_t i = 0; i < norm.size(); ++i) norm[i] = o.bm25_k1 * ((1.0 - b) + b * col_sum[i] / avg);
  }
  parallel_options po;
  po.num_threads = o.num_threads;
  po.chunk = 1024;
  po.min_parallel = 1 << 14;
  const double k1p1 = static_cast<double>(o.bm25_k1) + 1.0;
  parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u) {
    for (index_t k = outer[u]; k < outer[u + 1]; ++k) {
      const double x = val[k];
      double y = x;
      switch (o.scheme) {
        case weighting::binary:
          y = 1.0;
          break;
        case weighting::log1p:
          y = std::log1p(x);
          break;
        case weighting::confidence:
          y = 1.0 + static_cast<double>(o.alpha) * x;
          break;
        case weighting::bm25:
          y = x * k1p1 / (norm[static_cast<std::size_t>(inner[k])] + x) * idf[static_cast<std::size_t>(u)];
          break;
        case weighting::tfidf:
          y = std::sqrt(x) * idf[static_cast<std::size_t>(u)];
          break;
        default:
          break;
      }
      val[k] = static_cast<score_t>(y);
    }
  });
}

template <class>
csr_matrix build_matrix(const interaction_log& log, const matrix_options& o) {
  return detail::build_matrix_impl(log, o, false);
}

template <class>
csc_matrix to_csc(const csr_matrix& m) {
  csc_matrix c(m);
  c.makeCompressed();
  return c;
}

template <class>
csr_matrix transpose_csr(const csr_matrix& m) {
  csr_matrix t = m.transpose();
  t.makeCompressed();
  return t;
}

}  // namespace recsys

#endif  // RECSYS_DATA_MATRIX_INL_HPP
