// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_MODELS_ITEM_TO_ITEM_CONVERT_INL_HPP
#define RECSYS_MODELS_ITEM_TO_ITEM_CONVERT_INL_HPP

/// @file
/// Definitions of models/item_to_item.hpp (included by item_to_item-inl.hpp): the conversion of
/// a log or a matrix into incidences (rows of distinct sorted items with summed weights), in
/// parallel, with the same result for any thread count.

#include <recsys/models/item_to_item.hpp>

#include <recsys/data/baskets.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/data/sessions.hpp>
#include <recsys/detail/cooccurrence.hpp>
#include <recsys/detail/params.hpp>
#include <recsys/detail/select.hpp>
#include <recsys/detail/sparse_accumulator.hpp>
#include <recsys/errors.hpp>
#include <recsys/io/model_store.hpp>
#include <recsys/parallel.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>

namespace recsys {

template <class T>
void basic_item_to_item<T>::plain_log_rows(const interaction_log& log, const char* where, const parallel_options& po,
    detail::incidence& left, detail::incidence& history) const {
  const auto users = static_cast<std::size_t>(log.num_users());
  const std::size_t n = log.size();
  const index_t* user = log.users.data();
  const index_t* item = log.items.data();
  const float* weight = log.weights.data();
  // Events go to buckets of 2^shift consecutive users (at most 1024 buckets, so at most 1024
  // write streams per thread: the writes stay in cache whatever the log's order; a
  // time-ordered log scattered straight to 50,000 users costs 5x more), with the user's low
  // bits beside the item in the key's high half; when those do not fit in 32 bits, every user
  // is a bucket (shift 0). The scatter is a counting sort over blocks of events in parallel
  // (each block counts its buckets, a prefix over (bucket, block) gives each block its slots,
  // each block writes its own: the first touch of the key array is spread over the threads
  // too, and on a VM first touches are expensive).
  int item_bits = 0;
  while (item_bits < 32 && (std::int64_t{1} << item_bits) < static_cast<std::int64_t>(log.num_items())) ++item_bits;
  int shift = 0;
  while ((users >> shift) > 1024) ++shift;
  if (item_bits + shift > 32) shift = 0;
  const std::size_t buckets = (users + (std::size_t{1} << shift) - 1) >> shift;
  auto first_user = [&](std::size_t b) { return std::min(b << shift, users); };
  // (one block for small logs, and when every user is a bucket: block x bucket counters)
  const auto blocks = static_cast<std::size_t>(n < 65536 || buckets > 4096 ? 1 : std::min(16, max_threads(po)));
  auto block_lo = [&](std::size_t q) { return n * q / blocks; };
  parallel_options pb = po;
  pb.chunk = 1;
  std::vector<std::int64_t> at(blocks * buckets, 0);  // block q's count, then next slot, of bucket b
  parallel_for(0, static_cast<std::int64_t>(blocks), pb, [&](std::int64_t q64) {
    const auto q = static_cast<std::size_t>(q64);
    std::int64_t* c = at.data() + q * buckets;
    for (std::size_t r = block_lo(q); r < block_lo(q + 1); ++r) ++c[static_cast<std::uint32_t>(user[r]) >> shift];
  });
  std::vector<std::int64_t> bucket_start(buckets + 1, 0);
  for (std::size_t b = 0, sum = 0; b < buckets; ++b) {
    bucket_start[b] = static_cast<std::int64_t>(sum);
    for (std::size_t q = 0; q < blocks; ++q) {
      const std::int64_t c = at[q * buckets + b];
      at[q * buckets + b] = static_cast<std::int64_t>(sum);
      sum += static_cast<std::size_t>(c);
    }
  }
  bucket_start[buckets] = static_cast<std::int64_t>(n);
  detail::buffer<std::uint64_t> keys(n);
  parallel_for(0, static_cast<std::int64_t>(blocks), pb, [&](std::int64_t q64) {
    const auto q = static_cast<std::size_t>(q64);
    std::int64_t* next = at.data() + q * buckets;
    const std::uint32_t low = (std::uint32_t{1} << shift) - 1;
    std::uint64_t* k = keys.data();
    for (std::size_t r = block_lo(q); r < block_lo(q + 1); ++r) {
      const auto u = static_cast<std::uint32_t>(user[r]);
      const std::uint32_t tag = static_cast<std::uint32_t>(item[r]) | (shift > 0 ? (u & low) << item_bits : 0u);
      k[next[u >> shift]++] = (static_cast<std::uint64_t>(tag) << 32) | std::bit_cast<std::uint32_t>(weight[r]);
    }
  });
  // In parallel over buckets: the bucket's keys counted and grouped by user (a counting sort
  // through a per-thread scratch, the user bits dropped), which gives the users' offsets
  // start[u]; then per user: sort, and each run of one item -> (sum bits << 32 | item),
  // written over the run's first keys (a run is read before anything is written at or after
  // its start).
  std::vector<std::int64_t> start(users + 1);
  start[users] = static_cast<std::int64_t>(n);
  std::vector<std::int64_t> len(users);
  std::vector<std::uint8_t> bad(users);
  const int item_bytes = detail::item_key_bytes(log.num_items());
  const std::uint32_t item_mask = item_bits >= 32 ? 0xffffffffu : (std::uint32_t{1} << item_bits) - 1;
  parallel_options pu = po;
  pu.chunk = shift > 0 ? 1 : 64;
  struct scratch_t {
    std::vector<std::uint64_t> bucket, sort;
    std::vector<std::int64_t> next;
  };
  std::vector<scratch_t> scratch(static_cast<std::size_t>(max_threads(pu)));
  parallel_for(0, static_cast<std::int64_t>(buckets), pu, [&](std::int64_t b64, int tid) {
    const auto b = static_cast<std::size_t>(b64);
    const std::size_t u0 = first_user(b), u1 = first_user(b + 1);
    const std::int64_t lo = bucket_start[b], hi = bucket_start[b + 1];
    scratch_t& sc = scratch[static_cast<std::size_t>(tid)];
    if (shift > 0) {
      sc.next.assign(u1 - u0, 0);
      for (std::int64_t e = lo; e < hi; ++e)
        ++sc.next[static_cast<std::uint32_t>(keys[static_cast<std::size_t>(e)] >> 32) >> item_bits];
      std::int64_t sum = lo;
      for (std::size_t u = u0; u < u1; ++u) {
        start[u] = sum;
        const std::int64_t c = sc.next[u - u0];
        sc.next[u - u0] = sum - lo;
        sum += c;
      }
      sc.bucket.resize(static_cast<std::size_t>(hi - lo));
      for (std::int64_t e = lo; e < hi; ++e) {
        const std::uint64_t key = keys[static_cast<std::size_t>(e)];
        const auto tag = static_cast<std::uint32_t>(key >> 32);
        sc.bucket[static_cast<std::size_t>(sc.next[tag >> item_bits]++)] =
            (static_cast<std::uint64_t>(tag & item_mask) << 32) | static_cast<std::uint32_t>(key);
      }
      std::copy(sc.bucket.begin(), sc.bucket.end(), keys.begin() + lo);
    } else if (u0 < u1) {
      start[u0] = lo;  // a bucket is one user
    }
    for (std::size_t u = u0; u < u1; ++u) {
      std::uint64_t* const k = keys.data() + start[u];
      const auto m = static_cast<std::size_t>((u + 1 < u1 ? start[u + 1] : hi) - start[u]);
      if (!std::is_sorted(k, k + m)) detail::sort_item_keys(k, m, item_bytes, sc.sort);
      std::size_t out = 0;
      bool any_bad = false;
      for (std::size_t e = 0; e < m;) {
        const std::uint64_t it = k[e] >> 32;
        double acc = std::bit_cast<float>(static_cast<std::uint32_t>(k[e]));
        for (++e; e < m && (k[e] >> 32) == it; ++e)
          acc += static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(k[e])));
        const auto v = static_cast<float>(acc);
        any_bad = any_bad || !(std::isfinite(v) && v > 0.0f);
        k[out++] = (static_cast<std::uint64_t>(std::bit_cast<std::uint32_t>(v)) << 32) | it;
      }
      len[u] = static_cast<std::int64_t>(out);
      bad[u] = any_bad ? 1 : 0;
    }
  });
  for (std::size_t u = 0; u < users; ++u) {
    if (!bad[u]) continue;
    for (std::int64_t e = 0; e < len[u]; ++e) {
      const std::uint64_t key = keys[static_cast<std::size_t>(start[u] + e)];
      const float v = std::bit_cast<float>(static_cast<std::uint32_t>(key >> 32));
      RECSYS_REQUIRE(std::isfinite(v) && v > 0.0f, where, "the weights of an item's events sum to ", v,
                     " for a user; co-occurrence needs a finite sum > 0 (item ", static_cast<index_t>(key), ")");
    }
  }
  left.cols = log.num_items();
  left.ptr.resize(users + 1);
  left.ptr[0] = 0;
  for (std::size_t u = 0; u < users; ++u) left.ptr[u + 1] = left.ptr[u] + len[u];
  const auto nnz = static_cast<std::size_t>(left.ptr[users]);
  left.idx.resize(nnz);
  left.val.resize(nnz);
  history.cols = left.cols;
  history.ptr = left.ptr;
  history.idx.resize(nnz);
  history.val.resize(nnz);
  pu.chunk = 256;
  parallel_for(0, static_cast<std::int64_t>(users), pu, [&](std::int64_t u64) {
    const auto u = static_cast<std::size_t>(u64);
    const std::uint64_t* k = keys.data() + start[u];
    const auto to = static_cast<std::size_t>(left.ptr[u]);
    for (std::int64_t e = 0; e < len[u]; ++e) {
      const auto w = to + static_cast<std::size_t>(e);
      const auto it = static_cast<index_t>(static_cast<std::uint32_t>(k[e]));
      left.idx[w] = it;
      left.val[w] = std::bit_cast<float>(static_cast<std::uint32_t>(k[e] >> 32));
      history.idx[w] = it;
      history.val[w] = 1.0f;
    }
  });
}

template <class T>
detail::incidence basic_item_to_item<T>::convert_rows(const csr_matrix& m, const char* where, detail::incidence& history) const {
  const auto rows = static_cast<std::size_t>(m.rows());
  const index_t* outer = m.outerIndexPtr();
  const index_t* nz = m.innerNonZeroPtr();  // null when compressed
  const index_t* inner = m.innerIndexPtr();
  const score_t* value = m.valuePtr();
  auto bounds = [&](std::size_t u) {
    const auto b = static_cast<std::size_t>(outer[u]);
    return std::pair<std::size_t, std::size_t>{b, nz ? b + static_cast<std::size_t>(nz[u]) : static_cast<std::size_t>(outer[u + 1])};
  };
  // a row that is not ascending (not in a valid compressed matrix) goes through push_row
  auto general_row = [&](std::size_t u) {
    detail::incidence one;
    one.cols = static_cast<index_t>(m.cols());
    std::vector<std::pair<index_t, float>> entries;
    const auto [b, e] = bounds(u);
    for (std::size_t q = b; q < e; ++q)
      if (value[q] > 0.0f) entries.emplace_back(inner[q], value[q]);
    one.push_row(entries);
    return one;
  };
  parallel_options po;
  po.num_threads = config_.num_threads;
  po.chunk = 512;
  enum : std::int8_t { ascending = 0, general = 1, bad = 2 };
  std::vector<std::int8_t> kind(rows, ascending);
  detail::incidence x;
  x.cols = static_cast<index_t>(m.cols());
  x.ptr.assign(rows + 1, 0);
  parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u64) {
    const auto u = static_cast<std::size_t>(u64);
    const auto [b, e] = bounds(u);
    std::int64_t n = 0;
    index_t last = -1;
    bool asc = true;
    for (std::size_t q = b; q < e; ++q) {
      const float v = value[q];
      if (!(std::isfinite(v) && v >= 0.0f)) {
        kind[u] = bad;
        return;
      }
      if (v > 0.0f) {
        asc = asc && inner[q] > last;
        last = inner[q];
        ++n;
      }
    }
    if (!asc) {
      kind[u] = general;
      n = static_cast<std::int64_t>(general_row(u).nnz());
    }
    x.ptr[u + 1] = n;
  });
  for (std::size_t u = 0; u < rows; ++u) {
    if (kind[u] == bad)  // the first bad entry, with the message of the serial check
      for (csr_matrix::InnerIterator it(m, static_cast<Eigen::Index>(u)); it; ++it)
        RECSYS_REQUIRE(std::isfinite(it.value()) && it.value() >= 0.0f, where, "entry (", u, ", ", it.col(),
                       ") is ", it.value(), "; co-occurrence needs finite values >= 0");
    x.ptr[u + 1] += x.ptr[u];
  }
  const auto nnz = static_cast<std::size_t>(x.ptr.back());
  x.idx.resize(nnz);
  x.val.resize(nnz);
  history.cols = x.cols;
  history.ptr = x.ptr;
  history.idx.resize(nnz);
  history.val.resize(nnz);
  parallel_for(0, static_cast<std::int64_t>(rows), po, [&](std::int64_t u64) {
    const auto u = static_cast<std::size_t>(u64);
    auto w = static_cast<std::size_t>(x.ptr[u]);
    if (kind[u] == general) {
      const detail::incidence one = general_row(u);
      std::copy(one.idx.begin(), one.idx.end(), x.idx.begin() + static_cast<std::ptrdiff_t>(w));
      std::copy(one.val.begin(), one.val.end(), x.val.begin() + static_cast<std::ptrdiff_t>(w));
      std::copy(one.idx.begin(), one.idx.end(), history.idx.begin() + static_cast<std::ptrdiff_t>(w));
      std::fill_n(history.val.begin() + static_cast<std::ptrdiff_t>(w), one.nnz(), 1.0f);
      return;
    }
    const auto [b, e] = bounds(u);
    for (std::size_t q = b; q < e; ++q)
      if (value[q] > 0.0f) {
        x.idx[w] = inner[q];
        x.val[w] = value[q];  // = float(0.0 + double(v)), as push_row copies an ascending row
        history.idx[w] = inner[q];
        history.val[w] = 1.0f;
        ++w;
      }
  });
  return x;
}

}  // namespace recsys

#endif  // RECSYS_MODELS_ITEM_TO_ITEM_CONVERT_INL_HPP
