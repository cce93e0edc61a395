// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PAIRWISE_SGD_HPP
#define RECSYS_DETAIL_PAIRWISE_SGD_HPP

/// @file
/// Internal: the SGD engine behind recsys::bpr_model and recsys::warp_model (models/bpr.hpp).
/// Do not include directly; the public contract is in models/bpr.hpp.
///
/// Two schedules run the same per-sample kernels:
///
/// - deterministic (default): a stratified schedule (Gemulla et al., "Large-scale matrix
///   factorization with distributed SGD", 2011). Every epoch draws a random partition of users
///   into S blocks and of items into S blocks; the interactions fall into S x S strata. An epoch
///   is S sub-epochs; in sub-epoch s the S strata (g, (g + shift_s) mod S) touch pairwise
///   disjoint users and items, so they run in parallel without any write conflict. A positive of
///   stratum (g, h) is contrasted with negatives drawn from item block h, so a stratum never
///   touches an item row outside its block. A stratum visits its interactions user by user, the
///   users in the epoch's random order (a user has about 1/S of its items in a stratum, so its
///   runs are short, and its factor row and positives stay in cache across the run). Each
///   stratum draws from its own random stream (seed, epoch, g, h). The sub-epochs are not
///   separated by barriers: a stratum task waits only for the previous tasks on its user block
///   and its item block (a task graph). Nothing depends on the thread count or on timing: the
///   factors are bitwise identical for any number of threads.
/// - hogwild: every interaction once per epoch, user by user in a random user order, cut into
///   chunks of users (each chunk with its own stream) that threads take in any order; negatives
///   from the whole catalogue; lock-free updates of the shared item factors. Not reproducible.

#include <recsys/detail/platform.hpp>
#include <recsys/errors.hpp>
#include <recsys/parallel.hpp>
#include <recsys/progress.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <numeric>
#include <span>
#include <string>
#include <vector>

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

// ------------------------------------------------------------------------------------------
// The engine.

/// Number of strata per side used when blocks = 0: 16, fewer for tiny catalogues so that an
/// item block keeps at least 64 items and a user block 16 users. Depends on the data only.
[[nodiscard]] inline int auto_blocks(index_t num_users, index_t num_items) noexcept {
  const int by_items = std::max(1, static_cast<int>(num_items / 64));
  const int by_users = std::max(1, static_cast<int>(num_users / 16));
  return std::min({16, by_items, by_users});
}

/// First position of block b when n positions are cut into s near-equal contiguous blocks.
[[nodiscard]] inline std::int64_t block_begin(std::int64_t b, std::int64_t n, std::int64_t s) noexcept {
  return (b * n + s - 1) / s;
}

/// Checks a training matrix for the pairwise models: at least one interaction, at least two
/// items, rows sorted without duplicates, every stored value finite and > 0.
inline void validate_training_matrix(const char* where, const csr_matrix& x) {
  RECSYS_REQUIRE(x.rows() > 0 && x.cols() >= 2, where, "the interaction matrix is ", x.rows(), " x ", x.cols(),
                 "; pairwise ranking needs at least one user and two items");
  RECSYS_REQUIRE(x.nonZeros() > 0, where, "the interaction matrix has no interactions");
  RECSYS_REQUIRE(x.isCompressed(), where, "the interaction matrix must be compressed (call makeCompressed())");
  const index_t* outer = x.outerIndexPtr();
  const index_t* inner = x.innerIndexPtr();
  const score_t* values = x.valuePtr();
  for (index_t u = 0; u < x.rows(); ++u) {
    for (index_t n = outer[u]; n < outer[u + 1]; ++n) {
      RECSYS_REQUIRE(std::isfinite(values[n]) && values[n] > 0.0f, where, "interaction (user ", u, ", item ", inner[n],
                     ") has value ", values[n],
                     "; every stored entry is a positive and must be finite and > 0 (drop the others first)");
      RECSYS_REQUIRE(n == outer[u] || inner[n] > inner[n - 1], where, "row ", u,
                     " is not sorted by item or repeats item ", inner[n]);
    }
  }
}

/// Runs tasks [0, n) on up to num_threads threads (through parallel_for), each once, a task
/// only after its predecessors: pending[t] counts them; successors(t, release) calls release(s)
/// for every task s that waits on t. The graph must be acyclic. The first exception thrown by a
/// task stops the others from starting new tasks and is rethrown.
template <class Successors, class Body>
void run_task_graph(int n, std::vector<int> pending, int num_threads, Successors&& successors, Body&& body) {
  std::mutex m;
  std::condition_variable cv;
  std::deque<int> ready;
  for (int t = 0; t < n; ++t)
    if (pending[static_cast<std::size_t>(t)] == 0) ready.push_back(t);
  int done = 0;
  bool abort = false;
  parallel_options po;
  po.num_threads = num_threads;
  po.chunk = 1;
  const int workers = std::max(1, std::min(max_threads(po), n));
  parallel_for(0, workers, po, [&](std::int64_t) {
    for (;;) {
      int t = 0;
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return abort || !ready.empty() || done == n; });
        if (abort || ready.empty()) return;  // aborted, or all tasks done
        t = ready.front();
        ready.pop_front();
      }
      try {
        body(t);
      } catch (...) {
        {
          std::lock_guard<std::mutex> lock(m);
          abort = true;
        }
        cv.notify_all();
        throw;
      }
      bool wake = false;
      {
        std::lock_guard<std::mutex> lock(m);
        ++done;
        successors(t, [&](int next) {
          if (--pending[static_cast<std::size_t>(next)] == 0) ready.push_back(next);
        });
        wake = !ready.empty() || done == n;
      }
      if (wake) cv.notify_all();
    }
  });
}

class pairwise_engine {
 public:
  /// `x` must outlive the engine and pass validate_training_matrix.
  pairwise_engine(const pairwise_settings& s, const csr_matrix& x)
      : s_(s),
        x_(&x),
        num_users_(static_cast<index_t>(x.rows())),
        num_items_(static_cast<index_t>(x.cols())),
        blocks_(s.blocks > 0 ? s.blocks : auto_blocks(num_users_, num_items_)),
        popularity_(static_cast<std::size_t>(num_items_), 0) {
    const index_t* inner = x.innerIndexPtr();
    for (Eigen::Index n = 0; n < x.nonZeros(); ++n) ++popularity_[static_cast<std::size_t>(inner[n])];
    if (s_.sample_alpha != 0.0f) {
      std::vector<double> w(popularity_.size());
      for (std::size_t i = 0; i < w.size(); ++i) w[i] = sample_weight(popularity_[i]);
      global_table_ = alias_table(w);
    }
    if (s_.hogwild) {
      const index_t* outer = x.outerIndexPtr();
      for (index_t u = 0; u < num_users_; ++u)
        if (outer[u + 1] > outer[u]) active_users_.push_back(u);
    }
  }

  [[nodiscard]] int blocks() const noexcept { return blocks_; }
  [[nodiscard]] const std::vector<index_t>& popularity() const noexcept { return popularity_; }
  /// The full-catalogue negative distribution (empty table: uniform).
  [[nodiscard]] const alias_table& global_table() const noexcept { return global_table_; }
  [[nodiscard]] double sample_weight(index_t pop) const noexcept {
    return pop > 0 ? std::pow(static_cast<double>(pop), static_cast<double>(s_.sample_alpha)) : 0.0;
  }

  /// Gaussian initialisation, std = init_scale / sqrt(factors); one stream per row, so the
  /// result does not depend on the thread count. Biases start at 0. Users without
  /// interactions get zero factors.
  void initialize(row_matrix<float>& users, row_matrix<float>& items, vector<float>& bias) const {
    const int f = s_.factors;
    users.resize(num_users_, f);
    items.resize(num_items_, f);
    bias.setZero(s_.item_bias ? num_items_ : 0);
    const double sd = static_cast<double>(s_.init_scale) / std::sqrt(static_cast<double>(f));
    const index_t* outer = x_->outerIndexPtr();
    parallel_options po;
    po.num_threads = s_.num_threads;
    po.chunk = 256;
    po.min_parallel = 4096;
    parallel_for(0, static_cast<std::int64_t>(num_users_) + num_items_, po, [&](std::int64_t r) {
      const bool is_user = r < num_users_;
      const auto id = static_cast<index_t>(is_user ? r : r - num_users_);
      float* p = is_user ? users.row(id).data() : items.row(id).data();
      if (is_user && outer[id + 1] == outer[id]) {
        std::fill(p, p + f, 0.0f);
        return;
      }
      rng g(s_.seed, stream_tag(is_user ? "bpr.init.user" : "bpr.init.item"), static_cast<std::uint64_t>(id));
      for (int k = 0; k < f; ++k) p[k] = static_cast<float>(g.normal() * sd);
    });
  }

  /// One epoch over the parameters. Progress (samples) goes to `rep`, which also throws
  /// recsys::cancelled between strata / blocks. Throws numerical_error on a non-finite loss.
  pairwise_sums run_epoch(int epoch, row_matrix<float>& users, row_matrix<float>& items, vector<float>& bias,
                          progress_reporter& rep) {
    pass_context c;
    c.users = users.data();
    c.items = items.data();
    c.bias = s_.item_bias ? bias.data() : nullptr;
    c.f = s_.factors;
    c.outer = x_->outerIndexPtr();
    c.inner = x_->innerIndexPtr();
    c.num_items = num_items_;
    c.reg = {s_.reg_user, s_.reg_positive, s_.reg_negative, s_.reg_bias};
    c.verify = s_.verify_negatives;
    c.max_trials = s_.max_trials;
    c.max_rank_weight = s_.max_rank_weight;
    const float lr = s_.learning_rate_at(epoch);
    return s_.hogwild ? run_hogwild(epoch, c, lr, rep) : run_stratified(epoch, c, lr, rep);
  }

  /// The item blocks of an epoch's stratified plan (for tests): items of block h are
  /// plan_items()[plan_item_begin()[h] .. plan_item_begin()[h+1]).
  void plan(int epoch) { make_plan(epoch); }
  [[nodiscard]] std::span<const index_t> plan_items() const noexcept { return item_perm_; }
  [[nodiscard]] std::span<const std::int64_t> plan_item_begin() const noexcept { return item_begin_; }
  [[nodiscard]] const std::vector<alias_table>& plan_tables() const noexcept { return block_tables_; }

  /// Interactions per Hogwild task: users are added to a chunk until it holds at least this many.
  static constexpr std::int64_t hogwild_chunk = 8192;

  /// The user order of an epoch's Hogwild schedule (for tests; the engine must have been built
  /// with hogwild set): chunk b is hogwild_users()[hogwild_cuts()[b] .. hogwild_cuts()[b+1]).
  void plan_hogwild(int epoch) { make_hogwild_plan(epoch); }
  [[nodiscard]] std::span<const index_t> hogwild_users() const noexcept { return hogwild_users_; }
  [[nodiscard]] std::span<const std::int64_t> hogwild_cuts() const noexcept { return hogwild_cuts_; }

 private:
  void throw_if_not_finite(const pairwise_sums& sums, int epoch) const {
    if (std::isfinite(sums.loss)) return;
    throw_numerical_error(s_.where, "non-finite score or factor in epoch ", epoch, " (learning_rate ",
                          s_.learning_rate_at(epoch),
                          "): the updates diverged; lower the learning rate (e.g. by 10x) or raise the "
                          "regularization");
  }

  template <class Body>
  void dispatch(Body&& body) const {
    if (s_.loss == pairwise_loss::bpr)
      body(std::integral_constant<pairwise_loss, pairwise_loss::bpr>{});
    else
      body(std::integral_constant<pairwise_loss, pairwise_loss::warp>{});
  }

  void make_plan(int epoch) {
    const int S = blocks_;
    rng pr(s_.seed, stream_tag("bpr.plan"), static_cast<std::uint64_t>(epoch));
    user_perm_.resize(static_cast<std::size_t>(num_users_));
    item_perm_.resize(static_cast<std::size_t>(num_items_));
    std::iota(user_perm_.begin(), user_perm_.end(), 0);
    std::iota(item_perm_.begin(), item_perm_.end(), 0);
    shuffle(user_perm_.begin(), user_perm_.end(), pr);
    shuffle(item_perm_.begin(), item_perm_.end(), pr);
    shift_.resize(static_cast<std::size_t>(S));
    std::iota(shift_.begin(), shift_.end(), 0);
    shuffle(shift_.begin(), shift_.end(), pr);

    item_group_.resize(static_cast<std::size_t>(num_items_));
    item_begin_.resize(static_cast<std::size_t>(S) + 1);
    for (int h = 0; h <= S; ++h) item_begin_[static_cast<std::size_t>(h)] = block_begin(h, num_items_, S);
    for (int h = 0; h < S; ++h)
      for (auto p = item_begin_[static_cast<std::size_t>(h)]; p < item_begin_[static_cast<std::size_t>(h) + 1]; ++p)
        item_group_[static_cast<std::size_t>(item_perm_[static_cast<std::size_t>(p)])] = static_cast<std::uint16_t>(h);

    // User block g is user_perm_[block_begin(g), block_begin(g + 1)), in that (random) order:
    // a stratum lists its interactions user by user in this order.
    group_users_begin_.resize(static_cast<std::size_t>(S) + 1);
    for (int g = 0; g <= S; ++g) group_users_begin_[static_cast<std::size_t>(g)] = block_begin(g, num_users_, S);

    // User block g owns pairs_[group_nnz_[g], group_nnz_[g+1]) and fills it in bucket_group(g);
    // stratum (g, h) starts at offsets_[g*S+h] and ends at offsets_[g*S+h+1], or at
    // group_nnz_[g+1] for h = S-1.
    const index_t* outer = x_->outerIndexPtr();
    group_nnz_.assign(static_cast<std::size_t>(S) + 1, 0);
    for (int g = 0; g < S; ++g) {
      std::int64_t n = 0;
      for (auto p = group_users_begin_[static_cast<std::size_t>(g)];
           p < group_users_begin_[static_cast<std::size_t>(g) + 1]; ++p) {
        const index_t u = user_perm_[static_cast<std::size_t>(p)];
        n += outer[u + 1] - outer[u];
      }
      group_nnz_[static_cast<std::size_t>(g) + 1] = group_nnz_[static_cast<std::size_t>(g)] + n;
    }
    pairs_.resize(static_cast<std::size_t>(x_->nonZeros()));
    offsets_.assign(static_cast<std::size_t>(S) * static_cast<std::size_t>(S) + 1, 0);
    offsets_.back() = x_->nonZeros();

    if (s_.sample_alpha != 0.0f) {
      block_tables_.resize(static_cast<std::size_t>(S));
      std::vector<double> w;
      for (int h = 0; h < S; ++h) {
        const auto b = item_begin_[static_cast<std::size_t>(h)];
        const auto e = item_begin_[static_cast<std::size_t>(h) + 1];
        w.assign(static_cast<std::size_t>(e - b), 0.0);
        double total = 0.0;
        for (auto p = b; p < e; ++p) {
          const double v =
              sample_weight(popularity_[static_cast<std::size_t>(item_perm_[static_cast<std::size_t>(p)])]);
          w[static_cast<std::size_t>(p - b)] = v;
          total += v;
        }
        // A block whose items were never interacted with has no positives either: no table needed.
        block_tables_[static_cast<std::size_t>(h)] = total > 0.0 ? alias_table(w) : alias_table();
      }
    }
  }

  /// Counting sort of user block g's interactions by item block (a task of the epoch graph).
  void bucket_group(std::int64_t g) {
    const int S = blocks_;
    const index_t* outer = x_->outerIndexPtr();
    const index_t* inner = x_->innerIndexPtr();
    std::vector<std::int64_t> count(static_cast<std::size_t>(S) + 1, 0);
    const auto ub = group_users_begin_[static_cast<std::size_t>(g)];
    const auto ue = group_users_begin_[static_cast<std::size_t>(g) + 1];
    for (auto p = ub; p < ue; ++p) {
      const index_t u = user_perm_[static_cast<std::size_t>(p)];
      for (index_t n = outer[u]; n < outer[u + 1]; ++n) ++count[item_group_[static_cast<std::size_t>(inner[n])] + 1u];
    }
    count[0] = group_nnz_[static_cast<std::size_t>(g)];
    for (int h = 0; h < S; ++h) count[static_cast<std::size_t>(h) + 1] += count[static_cast<std::size_t>(h)];
    for (int h = 0; h < S; ++h)
      offsets_[static_cast<std::size_t>(g) * static_cast<std::size_t>(S) + static_cast<std::size_t>(h)] =
          count[static_cast<std::size_t>(h)];
    for (auto p = ub; p < ue; ++p) {
      const index_t u = user_perm_[static_cast<std::size_t>(p)];
      for (index_t n = outer[u]; n < outer[u + 1]; ++n) {
        const index_t i = inner[n];
        pairs_[static_cast<std::size_t>(count[item_group_[static_cast<std::size_t>(i)]]++)] = {u, i};
      }
    }
  }

  // The epoch as a task graph: S bucketing tasks, then S x S stratum tasks. Stratum task
  // (sub, g) works on user block g and item block h = (g + shift[sub]) mod S; it waits for the
  // previous tasks on the same two blocks only (no global barrier between sub-epochs), so a
  // thread that is descheduled holds up its two successors, not the whole epoch. Every block
  // sees its tasks in sub-epoch order, so the result does not depend on the execution order.
  pairwise_sums run_stratified(int epoch, const pass_context& c, float lr, progress_reporter& rep) {
    make_plan(epoch);
    const int S = blocks_;
    const auto su = static_cast<std::size_t>(S);
    std::vector<pairwise_sums> sums(su * su);
    const auto item_block = [&](int sub, int g) {
      return (g + static_cast<int>(shift_[static_cast<std::size_t>(sub)])) % S;
    };
    const auto user_of_item_block = [&](int sub, int h) {
      return ((h - static_cast<int>(shift_[static_cast<std::size_t>(sub)])) % S + S) % S;
    };
    // Task ids: [0, S) bucket user block g; S + sub * S + g: stratum task (sub, g).
    const int n_tasks = S + S * S;
    std::vector<int> pending(static_cast<std::size_t>(n_tasks), 0);
    for (int g = 0; g < S; ++g) pending[su + static_cast<std::size_t>(g)] = 1;  // its bucket
    for (int sub = 1; sub < S; ++sub)
      for (int g = 0; g < S; ++g) pending[su + static_cast<std::size_t>(sub * S + g)] = 2;
    const auto successors = [&](int t, auto&& release) {
      if (t < S) {
        release(S + t);  // (0, g)
        return;
      }
      const int sub = (t - S) / S;
      const int g = (t - S) % S;
      if (sub + 1 == S) return;
      release(S + (sub + 1) * S + g);                                                // same user block
      release(S + (sub + 1) * S + user_of_item_block(sub + 1, item_block(sub, g)));  // same item block
    };
    const auto body = [&](int t) {
      if (t < S) {
        bucket_group(t);
        return;
      }
      const int sub = (t - S) / S;
      const int g = (t - S) % S;
      const auto h = static_cast<std::size_t>(item_block(sub, g));
      const std::size_t cell = static_cast<std::size_t>(g) * su + h;
      const auto begin = offsets_[cell];
      // The end of the last stratum of user block g is where block g ends (group_nnz_, set by
      // the plan), never offsets_[cell + 1]: that entry belongs to block g + 1, whose bucketing
      // task may not have run yet.
      const auto end = h + 1 < su ? offsets_[cell + 1] : group_nnz_[static_cast<std::size_t>(g) + 1];
      if (end == begin) return;
      rng r(s_.seed, stream_tag("bpr.sgd"),
            (static_cast<std::uint64_t>(epoch) * su + static_cast<std::uint64_t>(g)) * su + h);
      ui_pair* first = pairs_.data() + begin;
      negative_sampler neg;
      neg.items = item_perm_.data() + item_begin_[h];
      neg.n = static_cast<std::uint32_t>(item_begin_[h + 1] - item_begin_[h]);
      neg.table = s_.sample_alpha != 0.0f ? &block_tables_[h] : nullptr;
      dispatch([&](auto loss) {
        process_pairs_dispatch<decltype(loss)::value>(c, first, static_cast<std::size_t>(end - begin), neg, r, lr,
                                                      sums[cell]);
      });
      throw_if_not_finite(sums[cell], epoch);
      rep.advance(end - begin);
    };
    run_task_graph(n_tasks, std::move(pending), s_.num_threads, successors, body);
    pairwise_sums total;
    for (const auto& x : sums) total.add(x);
    throw_if_not_finite(total, epoch);
    return total;
  }

  // Hogwild epoch: every interaction once, user by user. The users are visited in a random
  // order (a permutation per epoch) cut into chunks of about hogwild_chunk interactions; the
  // chunks are the tasks, taken by whichever thread is free. Within a chunk a user's positives
  // are visited consecutively, in a random order, so the user's factor row and positives stay in
  // L1 for the whole run; negatives come from the whole catalogue. Threads update the shared
  // item rows without locks (users never race: a user belongs to one chunk).
  //
  // Sampling the interactions with replacement (implicit's scheme, what this mode did before)
  // makes every sample a cache miss on a random user row and a random CSR row: on the benchmark
  // set that was 1.3-1.6x the per-sample cost of the stratified schedule, with one thread as
  // with two (docs/bpr.md).
  void make_hogwild_plan(int epoch) {
    rng plan(s_.seed, stream_tag("bpr.hogwild.plan"), static_cast<std::uint64_t>(epoch));
    hogwild_users_ = active_users_;
    shuffle(hogwild_users_.begin(), hogwild_users_.end(), plan);
    const index_t* outer = x_->outerIndexPtr();
    hogwild_cuts_.assign(1, 0);
    std::int64_t run = 0;
    for (std::size_t k = 0; k < hogwild_users_.size(); ++k) {
      const index_t u = hogwild_users_[k];
      run += outer[u + 1] - outer[u];
      if (run >= hogwild_chunk || k + 1 == hogwild_users_.size()) {
        hogwild_cuts_.push_back(static_cast<std::int64_t>(k) + 1);
        run = 0;
      }
    }
  }

  pairwise_sums run_hogwild(int epoch, const pass_context& c, float lr, progress_reporter& rep) {
    make_hogwild_plan(epoch);
    const index_t* outer = x_->outerIndexPtr();
    const index_t* inner = x_->innerIndexPtr();
    const auto nchunks = static_cast<std::int64_t>(hogwild_cuts_.size()) - 1;
    std::vector<pairwise_sums> sums(static_cast<std::size_t>(nchunks));
    parallel_options po;
    po.num_threads = s_.num_threads;
    po.chunk = 1;
    std::vector<std::vector<ui_pair>> scratch(static_cast<std::size_t>(max_threads(po)));
    negative_sampler neg;
    neg.n = static_cast<std::uint32_t>(num_items_);
    neg.table = s_.sample_alpha != 0.0f ? &global_table_ : nullptr;
    parallel_for(0, nchunks, po, [&](std::int64_t b, int tid) {
      rng r(s_.seed, stream_tag("bpr.hogwild"),
            static_cast<std::uint64_t>(epoch) * static_cast<std::uint64_t>(nchunks) + static_cast<std::uint64_t>(b));
      auto& pairs = scratch[static_cast<std::size_t>(tid)];
      pairs.clear();
      for (auto k = hogwild_cuts_[static_cast<std::size_t>(b)]; k < hogwild_cuts_[static_cast<std::size_t>(b) + 1];
           ++k) {
        const index_t u = hogwild_users_[static_cast<std::size_t>(k)];
        const std::size_t first = pairs.size();
        for (index_t n = outer[u]; n < outer[u + 1]; ++n) pairs.push_back({u, inner[n]});
        shuffle(pairs.begin() + static_cast<std::ptrdiff_t>(first), pairs.end(), r);
      }
      // Sums on the stack: the neighbouring entries of `sums` belong to chunks that the other
      // threads are running.
      pairwise_sums local;
      dispatch([&](auto loss) {
        process_pairs_dispatch<decltype(loss)::value>(c, pairs.data(), pairs.size(), neg, r, lr, local);
      });
      sums[static_cast<std::size_t>(b)] = local;
      throw_if_not_finite(local, epoch);
      rep.advance(static_cast<std::int64_t>(pairs.size()));
    });
    pairwise_sums total;
    for (const auto& s : sums) total.add(s);
    throw_if_not_finite(total, epoch);
    return total;
  }

  pairwise_settings s_;
  const csr_matrix* x_;
  index_t num_users_;
  index_t num_items_;
  int blocks_;
  std::vector<index_t> popularity_;
  alias_table global_table_;
  // hogwild: the users with interactions; this epoch's order of them and its chunk boundaries
  std::vector<index_t> active_users_, hogwild_users_;
  std::vector<std::int64_t> hogwild_cuts_;
  // stratified plan (rebuilt every epoch)
  std::vector<index_t> user_perm_, item_perm_;
  std::vector<std::int64_t> group_users_begin_, item_begin_, offsets_, group_nnz_;
  std::vector<std::uint16_t> item_group_;
  std::vector<std::int64_t> shift_;
  std::vector<ui_pair> pairs_;
  std::vector<alias_table> block_tables_;
};

// ------------------------------------------------------------------------------------------
// Fold-in: a fresh user vector trained against fixed item factors.

struct fold_in_settings {
  pairwise_loss loss = pairwise_loss::bpr;
  int epochs = 20;
  float learning_rate = 0.05f;
  float reg_user = 0.0f;
  bool verify = true;
  int max_trials = 10;
  float max_rank_weight = 10.0f;
  std::uint64_t seed = 0;
};

/// SGD on a user vector that starts at zero: `epochs` passes over the history in a shuffled
/// order, one negative (BPR) or up to max_trials (WARP) per history entry, drawn by `neg`
/// (never a history item when verify is on); each update is scaled by the entry's weight.
/// Deterministic: the streams depend on the seed only.
inline vector<float> fold_in_user(const fold_in_settings& s, const row_matrix<float>& items, const vector<float>& bias,
                                  std::span<const index_t> hist, std::span<const float> weights,
                                  const negative_sampler& neg) {
  const int f = static_cast<int>(items.cols());
  const auto num_items = static_cast<index_t>(items.rows());
  vector<float> u = vector<float>::Zero(f);
  if (hist.empty()) return u;
  std::vector<index_t> sorted(hist.begin(), hist.end());
  std::sort(sorted.begin(), sorted.end());
  const auto in_history = [&](index_t j) { return std::binary_search(sorted.begin(), sorted.end(), j); };
  std::vector<std::size_t> order(hist.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  rng r(s.seed, stream_tag("bpr.fold_in"), 0);
  const bool has_bias = bias.size() > 0;
  const float decay = 1.0f - s.learning_rate * s.reg_user;
  std::vector<float> old(static_cast<std::size_t>(f));
  for (int e = 0; e < s.epochs; ++e) {
    shuffle(order.begin(), order.end(), r);
    for (std::size_t o : order) {
      const index_t i = hist[o];
      const float w = weights.empty() ? 1.0f : weights[o];
      const float* vi = items.row(i).data();
      const float bi = has_bias ? bias[i] : 0.0f;
      if (s.loss == pairwise_loss::bpr) {
        index_t j = invalid_index;
        for (int a = 0; a < max_negative_attempts && j < 0; ++a) {
          const index_t c = neg(r);
          if (c != i && !(s.verify && in_history(c))) j = c;
        }
        if (j < 0) continue;
        const float* vj = items.row(j).data();
        const float x = dot_diff<0>(u.data(), vi, vj, f) + bi - (has_bias ? bias[j] : 0.0f);
        float g = 0.0f;
        float l = 0.0f;
        logistic_terms(x, g, l);
        const float a = s.learning_rate * w * g;
        for (int k = 0; k < f; ++k) u[k] = decay * u[k] + a * (vi[k] - vj[k]);
      } else {
        const float si = dot<0>(u.data(), vi, f) + bi;
        for (int trial = 1; trial <= s.max_trials; ++trial) {
          const index_t j = neg(r);
          if (j == i) continue;
          const float* vj = items.row(j).data();
          const float sj = dot<0>(u.data(), vj, f) + (has_bias ? bias[j] : 0.0f);
          if (!(sj > si - 1.0f)) continue;
          if (s.verify && in_history(j)) continue;
          const float a = s.learning_rate * w * warp_rank_weight(num_items, trial, s.max_rank_weight);
          for (int k = 0; k < f; ++k) u[k] = decay * u[k] + a * (vi[k] - vj[k]);
          break;
        }
      }
    }
  }
  return u;
}

}  // namespace recsys::detail

#endif  // RECSYS_DETAIL_PAIRWISE_SGD_HPP
