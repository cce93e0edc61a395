// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DETAIL_PAIRWISE_ENGINE_HPP
#define RECSYS_DETAIL_PAIRWISE_ENGINE_HPP

/// @file
/// Internal: the two training schedules of recsys::bpr_model and recsys::warp_model (the
/// deterministic stratified one and Hogwild; detail/pairwise_sgd.hpp describes both), the check
/// of a training matrix and the fold-in of a history. The per-sample kernels are in
/// detail/pairwise_kernels.hpp. Templates (`template <class = void>`) only so that a unit
/// compiles them where it uses them (see config.hpp).

#include <recsys/detail/pairwise_kernels.hpp>
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
#include <type_traits>
#include <vector>

namespace recsys::detail {

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
template <class = void>
void validate_training_matrix(const char* where, const csr_matrix& x) {
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

/// The SGD engine: the deterministic (stratified) and Hogwild epochs over a training matrix.
/// (`pairwise_engine` is `basic_pairwise_engine<>`: a template only so that its code is compiled
/// where it is used; see config.hpp.)
template <class = void>
class basic_pairwise_engine {
 public:
  /// `x` must outlive the engine and pass validate_training_matrix.
  basic_pairwise_engine(const pairwise_settings& s, const csr_matrix& x)
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

using pairwise_engine = basic_pairwise_engine<>;

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
template <class = void>
vector<float> fold_in_user(const fold_in_settings& s, const row_matrix<float>& items, const vector<float>& bias,
                           std::span<const index_t> hist, std::span<const float> weights, const negative_sampler& neg) {
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

#endif  // RECSYS_DETAIL_PAIRWISE_ENGINE_HPP
