// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_DIVERSITY_HPP
#define RECSYS_RANKING_DIVERSITY_HPP

/// @file
/// Diversity (diversify_mmr): maximal marginal relevance (Carbonell & Goldstein 1998) over a
/// ranked pool: repeatedly pick argmax lambda * rel(i) - (1 - lambda) * max_{j picked} sim(i, j),
/// rel = the pool's scores scaled to [0, 1] (min-max; NaN = 0); similarity from item factors
/// (factor_similarity: cosine) or co-occurrence (cooccurrence_similarity: an item-to-item
/// model's neighbour scores, symmetrised and scaled by the largest |score|).
///
/// The similarities take any model that provides what they need (item_factors() for
/// factor_similarity, neighbours() for cooccurrence_similarity): this header names no concrete
/// model.

#include <recsys/config.hpp>
#include <recsys/errors.hpp>
#include <recsys/fwd.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace recsys {

namespace detail {
/// A model whose item factors are a row_matrix<Scalar> it owns (factor models).
template <class M, class Scalar>
concept has_item_factors = requires(const M& m) {
  { m.item_factors() } -> std::same_as<const row_matrix<Scalar>&>;
};
/// A model with an item x item neighbour matrix it owns (item-to-item models).
template <class M>
concept has_neighbours = requires(const M& m) {
  { m.neighbours() } -> std::same_as<const csr_matrix&>;
};
}  // namespace detail

/// Item-item similarity for MMR: cosine of a factor model's item factors (in [-1, 1]; 0 for an
/// item with zero factors). Takes any model with `const row_matrix<Scalar>& item_factors()`
/// (recsys::factor_model and the recipes built on it); `factor_similarity sim(model)` deduces
/// Scalar. Refers to the model's factors: keep the model alive.
template <class Scalar = score_t>
class factor_similarity {
 public:
  template <detail::has_item_factors<Scalar> Model>
  explicit factor_similarity(const Model& model) : factors_(&model.item_factors()) {
    norms_ = factors_->rowwise().norm();
  }
  /// out[j] = cos(item, others[j]); 0 when either id is outside the catalogue (a re-ranked pool
  /// may hold unscored ids the model does not know, see rank_candidates).
  /// @throws recsys::invalid_argument when out is shorter than others.
  void operator()(index_t item, std::span<const index_t> others, std::span<score_t> out) const {
    RECSYS_REQUIRE(out.size() >= others.size(), "factor_similarity", "out has ", out.size(), " entries for ",
                   others.size(), " items");
    const index_t n = num_items();
    const Scalar na = item >= 0 && item < n ? norms_[item] : Scalar(0);
    for (std::size_t j = 0; j < others.size(); ++j) {
      const index_t b = others[j];
      const Scalar nb = b >= 0 && b < n ? norms_[b] : Scalar(0);
      out[j] = na > 0 && nb > 0 ? static_cast<score_t>(factors_->row(item).dot(factors_->row(b)) / (na * nb)) : 0.0f;
    }
  }
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(factors_->rows()); }

 private:
  const row_matrix<Scalar>* factors_;
  vector<Scalar> norms_;
};

/// `factor_similarity sim(model)` takes the model's scalar type.
template <class Model>
factor_similarity(const Model&)
    -> factor_similarity<typename std::remove_cvref_t<decltype(std::declval<const Model&>().item_factors())>::Scalar>;

/// Item-item similarity for MMR from co-occurrence: an item-to-item model's neighbour scores
/// (any model with `const csr_matrix& neighbours()`, e.g. recsys::item_to_item), symmetrised (max
/// of S(a, b) and S(b, a); 0 when neither is a neighbour of the other) and divided by the
/// largest |score| of the model, so it lies in [-1, 1]. Refers to the model's neighbour matrix:
/// keep the model alive. (`cooccurrence_similarity` is `basic_cooccurrence_similarity<>`; see
/// config.hpp.)
template <class T>
class basic_cooccurrence_similarity {
 public:
  template <detail::has_neighbours Model>
  explicit basic_cooccurrence_similarity(const Model& model) : basic_cooccurrence_similarity(&model.neighbours()) {}
  /// @throws recsys::invalid_argument when out is shorter than others.
  void operator()(index_t item, std::span<const index_t> others, std::span<score_t> out) const;
  [[nodiscard]] index_t num_items() const noexcept { return static_cast<index_t>(s_->rows()); }

 private:
  explicit basic_cooccurrence_similarity(const csr_matrix* neighbours);
  std::optional<score_t> lookup(index_t a, index_t b) const;

  const csr_matrix* s_;
  score_t scale_ = 1;
};

/// What MMR needs of a similarity: sim(item, others, out) writes out[j] = sim(item, others[j]).
template <class S>
concept item_similarity_function = requires(const S& s, index_t i, std::span<const index_t> o, std::span<score_t> out) {
  s(i, o, out);
};

/// Maximal marginal relevance: k items of `pool` (a ranked list), picked one at a time by
/// lambda * rel - (1 - lambda) * (largest similarity to an item already picked), rel = the pool's
/// score scaled to [0, 1] over the pool (NaN counts 0; all equal: 1). Ties go to the earlier
/// pool entry, so lambda = 1 returns the pool's first k unchanged. Entries keep their scores.
/// @throws recsys::invalid_argument for k < 0 or lambda outside [0, 1].
template <item_similarity_function Similarity>
[[nodiscard]] topk_result diversify_mmr(const topk_result& pool, index_t k, double lambda, const Similarity& sim) {
  RECSYS_REQUIRE(k >= 0, "diversify_mmr", "k must be >= 0 (got ", k, ")");
  RECSYS_REQUIRE(lambda >= 0.0 && lambda <= 1.0, "diversify_mmr", "lambda must be in [0, 1] (got ", lambda, ")");
  const std::size_t n = pool.size();
  const std::size_t m = std::min(n, static_cast<std::size_t>(k));
  topk_result out;
  if (m == 0) return out;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const score_t s : pool.scores)
    if (!std::isnan(s)) {
      lo = std::min(lo, static_cast<double>(s));
      hi = std::max(hi, static_cast<double>(s));
    }
  // rel[j] and max_sim[j] in one buffer (two vectors<double> here trip GCC 12's
  // -Wfree-nonheap-object false positive with -march=native).
  std::vector<double> work(2 * n);
  double* const rel = work.data();
  double* const max_sim = work.data() + n;
  for (std::size_t j = 0; j < n; ++j) {
    const score_t s = pool.scores[j];
    rel[j] = std::isnan(s) ? 0.0 : hi > lo ? (static_cast<double>(s) - lo) / (hi - lo) : 1.0;
    max_sim[j] = -std::numeric_limits<double>::infinity();
  }
  std::vector<char> taken(n, 0);
  std::vector<score_t> row(n);
  out.reserve(m);
  for (std::size_t step = 0; step < m; ++step) {
    std::size_t best = n;
    double best_value = -std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < n; ++j) {
      if (taken[j]) continue;
      const double v = lambda * rel[j] - (step == 0 ? 0.0 : (1.0 - lambda) * max_sim[j]);
      if (best == n || v > best_value) {
        best = j;
        best_value = v;
      }
    }
    taken[best] = 1;
    out.push_back(pool.ids[best], pool.scores[best]);
    if (step + 1 == m) break;
    sim(pool.ids[best], std::span<const index_t>(pool.ids), std::span<score_t>(row));
    for (std::size_t j = 0; j < n; ++j) max_sim[j] = std::max(max_sim[j], static_cast<double>(row[j]));
  }
  return out;
}

}  // namespace recsys

#if RECSYS_HEADER_ONLY
#include <recsys/ranking/diversity-inl.hpp>
#else
namespace recsys {
extern template class basic_cooccurrence_similarity<void>;
}  // namespace recsys
#endif

#endif  // RECSYS_RANKING_DIVERSITY_HPP
