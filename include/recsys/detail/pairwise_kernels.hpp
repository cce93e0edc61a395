// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PAIRWISE_KERNELS_HPP
#define RECSYS_DETAIL_PAIRWISE_KERNELS_HPP

/// @file
/// Internal: the per-sample kernels of recsys::bpr_model and recsys::warp_model (models/bpr.hpp):
/// the settings resolved from a config, the BPR and WARP updates, negative sampling and the loop
/// over a run of (user, positive) pairs. The schedules that drive them are in
/// detail/pairwise_engine.hpp (detail/pairwise_sgd.hpp includes both).

#include <recsys/detail/platform.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace recsys::detail {

enum class pairwise_loss : std::uint8_t { bpr, warp };

/// Everything the engine needs, resolved from bpr_config / warp_config.
struct pairwise_settings {
  pairwise_loss loss = pairwise_loss::bpr;
  const char* where = "bpr_model::fit";  ///< function named in error messages
  int factors = 64;
  int epochs = 1;
  float learning_rate = 0.05f;
  float learning_rate_decay = 1.0f;
  float reg_user = 0.0f;
  float reg_positive = 0.0f;
  float reg_negative = 0.0f;
  float reg_bias = 0.0f;
  bool item_bias = true;
  float sample_alpha = 0.0f;
  bool verify_negatives = true;
  int max_trials = 10;            ///< WARP
  float max_rank_weight = 10.0f;  ///< WARP: cap of log(rank estimate) (LightFM's MAX_LOSS)
  bool hogwild = false;
  int num_threads = 0;
  int blocks = 0;  ///< strata per side; 0 = auto_blocks()
  std::uint64_t seed = 0;
  float init_scale = 0.1f;

  /// Learning rate of epoch e (0-based): learning_rate * learning_rate_decay^e.
  [[nodiscard]] float learning_rate_at(int epoch) const noexcept {
    return static_cast<float>(static_cast<double>(learning_rate) *
                              std::pow(static_cast<double>(learning_rate_decay), epoch));
  }
};

/// Per-component L2 regularisation of one update.
struct sgd_regularization {
  float user = 0.0f;
  float positive = 0.0f;
  float negative = 0.0f;
  float bias = 0.0f;
};

/// Sums over the samples of an epoch (or a stratum / block), combined in a fixed order.
struct pairwise_sums {
  double loss = 0.0;          ///< BPR: sum of -ln sigma(x_uij); WARP: sum of L * (1 - s_i + s_j) over updates
  std::int64_t samples = 0;   ///< positives visited
  std::int64_t compared = 0;  ///< samples with a first negative (denominator of the sampled AUC)
  std::int64_t correct = 0;   ///< ... that scored below the positive (numerator)
  std::int64_t updates = 0;   ///< SGD updates applied
  std::int64_t skipped = 0;   ///< BPR: no valid negative found; WARP: no margin violator in max_trials
  std::int64_t trials = 0;    ///< negatives scored (WARP)

  void add(const pairwise_sums& o) noexcept {
    loss += o.loss;
    samples += o.samples;
    compared += o.compared;
    correct += o.correct;
    updates += o.updates;
    skipped += o.skipped;
    trials += o.trials;
  }
};

// ------------------------------------------------------------------------------------------
// Kernels. F is the factor count when known at compile time (32, 64, 128), 0 for a runtime f.
// Dot products accumulate in 16 independent lanes, so the compiler vectorises them without
// -ffast-math and the summation order is the same on every instruction set.

inline constexpr int kernel_lanes = 16;

template <int F>
[[nodiscard]] inline float dot(const float* __restrict a, const float* __restrict b, int f) noexcept {
  const int n = F > 0 ? F : f;
  float acc[kernel_lanes] = {};
  int k = 0;
  for (; k + kernel_lanes <= n; k += kernel_lanes)
    for (int l = 0; l < kernel_lanes; ++l) acc[l] += a[k + l] * b[k + l];
  float tail = 0.0f;
  for (; k < n; ++k) tail += a[k] * b[k];
  for (int w = kernel_lanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0] + tail;
}

/// u . (a - b)
template <int F>
[[nodiscard]] inline float dot_diff(const float* __restrict u, const float* __restrict a, const float* __restrict b,
                                    int f) noexcept {
  const int n = F > 0 ? F : f;
  float acc[kernel_lanes] = {};
  int k = 0;
  for (; k + kernel_lanes <= n; k += kernel_lanes)
    for (int l = 0; l < kernel_lanes; ++l) acc[l] += u[k + l] * (a[k + l] - b[k + l]);
  float tail = 0.0f;
  for (; k < n; ++k) tail += u[k] * (a[k] - b[k]);
  for (int w = kernel_lanes / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0] + tail;
}

/// The shared pairwise step, every right-hand side taken at the old values:
///   u  += lr * ( g * (vi - vj) - reg.user     * u )
///   vi += lr * ( g * u         - reg.positive * vi )
///   vj += lr * (-g * u         - reg.negative * vj )
/// BPR uses g = sigma(-x_uij), WARP g = L(rank estimate).
template <int F>
inline void pair_step(float* __restrict u, float* __restrict vi, float* __restrict vj, int f, float g, float lr,
                      const sgd_regularization& reg) noexcept {
  const int n = F > 0 ? F : f;
  const float a = lr * g;
  const float du = 1.0f - lr * reg.user;
  const float dp = 1.0f - lr * reg.positive;
  const float dn = 1.0f - lr * reg.negative;
  for (int k = 0; k < n; ++k) {
    const float uk = u[k];
    const float ik = vi[k];
    const float jk = vj[k];
    u[k] = du * uk + a * (ik - jk);
    vi[k] = dp * ik + a * uk;
    vj[k] = dn * jk - a * uk;
  }
}

/// sigma(-x) and -ln sigma(x) from one exponential, stable for any finite x (NaN propagates).
/// ln(1 + e) rather than log1p(e): the loss is a progress figure, and logf is several times
/// cheaper than log1pf (whose extra precision for e -> 0 does not matter here).
inline void logistic_terms(float x, float& sigma_minus_x, float& loss) noexcept {
  const float e = std::exp(-std::fabs(x));
  const float l = std::log(1.0f + e);
  if (x >= 0.0f) {
    sigma_minus_x = e / (1.0f + e);
    loss = l;
  } else {
    sigma_minus_x = 1.0f / (1.0f + e);
    loss = -x + l;
  }
}

/// One BPR update (Rendle et al. 2009) of user u, positive item i and negative item j:
/// gradient ascent on ln sigma(x_uij) - reg.user/2 |u|^2 - reg.positive/2 |vi|^2
/// - reg.negative/2 |vj|^2 - reg.bias/2 (bi^2 + bj^2), x_uij = u.(vi - vj) + bi - bj.
/// bi, bj may be null (no item bias). Returns x_uij before the update; adds -ln sigma(x) to loss.
template <int F = 0>
inline float bpr_update(float* u, float* vi, float* vj, float* bi, float* bj, int f, float lr,
                        const sgd_regularization& reg, double& loss) noexcept {
  float x = dot_diff<F>(u, vi, vj, f);
  if (bi != nullptr) x += *bi - *bj;
  float g = 0.0f;
  float l = 0.0f;
  logistic_terms(x, g, l);
  loss += static_cast<double>(l);
  pair_step<F>(u, vi, vj, f, g, lr, reg);
  if (bi != nullptr) {
    const float b_i = *bi;
    const float b_j = *bj;
    *bi = b_i + lr * (g - reg.bias * b_i);
    *bj = b_j + lr * (-g - reg.bias * b_j);
  }
  return x;
}

/// One WARP update (Weston et al. 2011, LightFM's form) for a violating pair: gradient descent
/// on weight * (1 - s_ui + s_uj) + reg.user/2 |u|^2 + reg.positive/2 |vi|^2 + reg.negative/2 |vj|^2
/// + reg.bias/2 (bi^2 + bj^2), with weight = L(rank estimate) held constant.
template <int F = 0>
inline void warp_update(float* u, float* vi, float* vj, float* bi, float* bj, int f, float lr, float weight,
                        const sgd_regularization& reg) noexcept {
  pair_step<F>(u, vi, vj, f, weight, lr, reg);
  if (bi != nullptr) {
    const float b_i = *bi;
    const float b_j = *bj;
    *bi = b_i + lr * (weight - reg.bias * b_i);
    *bj = b_j + lr * (-weight - reg.bias * b_j);
  }
}

/// WARP's rank weight after `trials` negatives were scored to find a violator among n_items:
/// min(max_weight, ln(max(1, floor((n_items - 1) / trials)))).
[[nodiscard]] inline float warp_rank_weight(index_t n_items, int trials, float max_weight) noexcept {
  const auto est = static_cast<std::int64_t>(n_items - 1) / std::max(1, trials);
  const float w = std::log(static_cast<float>(std::max<std::int64_t>(1, est)));
  return std::min(w, max_weight);
}

/// Prefetches a factor row of f floats for writing.
inline void prefetch_row(const float* p, int f) noexcept {
  for (int o = 0; o < f; o += 16) prefetch_write(p + o);
}

/// Prefetches the cache lines a binary search over inner[begin, end) reads first: the whole
/// row when it spans at most 8 lines, else the lines of the first probes (1/2, 1/4, 3/4, ...).
inline void prefetch_row_search(const index_t* inner, index_t begin, index_t end) noexcept {
  constexpr index_t per_line = 64 / sizeof(index_t);
  const index_t n = end - begin;
  if (n <= 8 * per_line) {
    for (index_t k = 0; k < n; k += per_line) prefetch(inner + begin + k);
    if (n > 0) prefetch(inner + end - 1);
    return;
  }
  for (int d = 2; d <= 8; d *= 2)
    for (int q = 1; q < d; q += 2)
      prefetch(inner + begin + static_cast<index_t>(static_cast<std::int64_t>(n) * q / d));
}

// ------------------------------------------------------------------------------------------
// Negative sampling.

/// Draws a candidate negative: uniformly or by an alias table over `items` (null: 0..n-1).
struct negative_sampler {
  const index_t* items = nullptr;
  std::uint32_t n = 0;
  const alias_table* table = nullptr;

  index_t operator()(rng& r) const noexcept {
    const std::uint32_t k = table != nullptr ? (*table)(r) : r.uniform_index(n);
    return items != nullptr ? items[k] : static_cast<index_t>(k);
  }
};

/// True when `item` is stored in row `user` of a CSR matrix with sorted rows. Short rows are
/// scanned (a branch-free loop the compiler vectorises); long rows are binary-searched without
/// data-dependent branches (a branchy search mispredicts on every probe).
[[nodiscard]] inline bool row_contains(const index_t* outer, const index_t* inner, index_t user,
                                       index_t item) noexcept {
  const index_t* p = inner + outer[user];
  index_t n = outer[user + 1] - outer[user];
  if (n <= 96) {
    int hit = 0;
    for (index_t k = 0; k < n; ++k) hit |= p[k] == item ? 1 : 0;
    return hit != 0;
  }
  while (n > 1) {
    const index_t half = n / 2;
    p = p[half] <= item ? p + half : p;
    n -= half;
  }
  return *p == item;
}

/// Attempts at drawing a BPR negative (≠ the positive, and not a positive of the user when
/// verification is on) before the sample is skipped.
inline constexpr int max_negative_attempts = 32;

/// A user / positive item pair to train on.
struct ui_pair {
  index_t user;
  index_t item;
};

/// What the per-sample loops read and write.
struct pass_context {
  float* users = nullptr;
  float* items = nullptr;
  float* bias = nullptr;  ///< null when the model has no item bias
  int f = 0;
  const index_t* outer = nullptr;
  const index_t* inner = nullptr;
  index_t num_items = 0;
  sgd_regularization reg;
  bool verify = true;
  int max_trials = 10;
  float max_rank_weight = 10.0f;
};

inline index_t draw_bpr_negative(const pass_context& c, const negative_sampler& neg, rng& r, ui_pair p) noexcept {
  for (int a = 0; a < max_negative_attempts; ++a) {
    const index_t j = neg(r);
    if (j == p.item) continue;
    if (c.verify && row_contains(c.outer, c.inner, p.user, j)) continue;
    return j;
  }
  return invalid_index;
}

/// Trains on pairs[0, n) in order. A candidate negative is drawn `distance` samples ahead so
/// that the factor rows and the positives of the coming samples are prefetched while the
/// current one is updated; it is verified (and re-drawn if it is a positive) when used.
template <int F, pairwise_loss Loss>
void process_pairs(const pass_context& c, const ui_pair* pairs, std::size_t n, const negative_sampler& neg, rng& r,
                   float lr, pairwise_sums& sums) {
  constexpr std::size_t distance = 8;
  const int f = F > 0 ? F : c.f;
  const auto row = [&](float* base, index_t id) {
    return base + static_cast<std::size_t>(id) * static_cast<std::size_t>(f);
  };
  index_t ring[distance] = {};
  const bool prefetch_csr = c.verify && Loss == pairwise_loss::bpr;
  const auto prepare = [&](std::size_t t) {
    const ui_pair p = pairs[t];
    index_t j = neg(r);
    if (j == p.item) j = neg(r);
    ring[t % distance] = j;
    prefetch_row(row(c.users, p.user), f);
    prefetch_row(row(c.items, p.item), f);
    prefetch_row(row(c.items, j), f);
    if (prefetch_csr) prefetch_row_search(c.inner, c.outer[p.user], c.outer[p.user + 1]);
  };
  for (std::size_t t = 0; t < std::min(n, distance); ++t) prepare(t);

  for (std::size_t t = 0; t < n; ++t) {
    index_t j0 = ring[t % distance];
    if (t + distance < n) prepare(t + distance);
    const ui_pair p = pairs[t];
    ++sums.samples;
    float* u = row(c.users, p.user);
    float* vi = row(c.items, p.item);
    float* bi = c.bias != nullptr ? c.bias + p.item : nullptr;

    if constexpr (Loss == pairwise_loss::bpr) {
      if (j0 == p.item || (c.verify && row_contains(c.outer, c.inner, p.user, j0)))
        j0 = draw_bpr_negative(c, neg, r, p);
      if (j0 < 0) {
        ++sums.skipped;
        continue;
      }
      float* bj = c.bias != nullptr ? c.bias + j0 : nullptr;
      const float x = bpr_update<F>(u, vi, row(c.items, j0), bi, bj, f, lr, c.reg, sums.loss);
      ++sums.compared;
      sums.correct += x > 0.0f ? 1 : 0;
      ++sums.updates;
    } else {
      const float si = dot<F>(u, vi, f) + (bi != nullptr ? *bi : 0.0f);
      bool updated = false;
      // Candidates after the first (drawn and prefetched `distance` samples ago) come in groups
      // of up to 4 whose rows are prefetched together before they are scored in order.
      constexpr int group = 4;
      index_t cand[group] = {j0};
      int have = 1, used = 0;
      for (int trial = 1; trial <= c.max_trials; ++trial) {
        if (used == have) {
          have = std::min(group, c.max_trials - trial + 1);
          for (int k = 0; k < have; ++k) {
            cand[k] = neg(r);
            prefetch_row(row(c.items, cand[k]), f);
          }
          used = 0;
        }
        const index_t j = cand[used++];
        ++sums.trials;
        if (j == p.item) continue;
        float* vj = row(c.items, j);
        float* bj = c.bias != nullptr ? c.bias + j : nullptr;
        const float sj = dot<F>(u, vj, f) + (bj != nullptr ? *bj : 0.0f);
        if (trial == 1) {
          ++sums.compared;
          sums.correct += si > sj ? 1 : 0;
        }
        if (!(sj > si - 1.0f)) {
          if (sj != sj || si != si) sums.loss += std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        if (c.verify && row_contains(c.outer, c.inner, p.user, j)) continue;
        const float w = warp_rank_weight(c.num_items, trial, c.max_rank_weight);
        sums.loss += static_cast<double>(w) * static_cast<double>(1.0f - si + sj);
        warp_update<F>(u, vi, vj, bi, bj, f, lr, w, c.reg);
        ++sums.updates;
        updated = true;
        break;
      }
      if (!updated) ++sums.skipped;
    }
  }
}

template <pairwise_loss Loss>
void process_pairs_dispatch(const pass_context& c, const ui_pair* pairs, std::size_t n, const negative_sampler& neg,
                            rng& r, float lr, pairwise_sums& sums) {
  switch (c.f) {
    case 32:
      process_pairs<32, Loss>(c, pairs, n, neg, r, lr, sums);
      break;
    case 64:
      process_pairs<64, Loss>(c, pairs, n, neg, r, lr, sums);
      break;
    case 128:
      process_pairs<128, Loss>(c, pairs, n, neg, r, lr, sums);
      break;
    default:
      process_pairs<0, Loss>(c, pairs, n, neg, r, lr, sums);
      break;
  }
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PAIRWISE_KERNELS_HPP
