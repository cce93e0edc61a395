// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_DIVERSITY_INL_HPP
#define RECSYS_RANKING_DIVERSITY_INL_HPP

/// @file
/// Definitions of ranking/diversity.hpp (header-only mode includes this file; the compiled
/// library instantiates it in src/rerank.cpp).

#include <recsys/ranking/diversity.hpp>

#include <recsys/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>

namespace recsys {

template <class T>
basic_cooccurrence_similarity<T>::basic_cooccurrence_similarity(const csr_matrix* neighbours) : s_(neighbours) {
  scale_ = 0;
  for (Eigen::Index e = 0; e < s_->nonZeros(); ++e) scale_ = std::max(scale_, std::abs(s_->valuePtr()[e]));
  if (!(scale_ > 0)) scale_ = 1;
}

template <class T>
void basic_cooccurrence_similarity<T>::operator()(index_t item, std::span<const index_t> others,
                                                  std::span<score_t> out) const {
  RECSYS_REQUIRE(out.size() >= others.size(), "cooccurrence_similarity", "out has ", out.size(), " entries for ",
                 others.size(), " items");
  for (std::size_t j = 0; j < others.size(); ++j) {
    const auto ab = lookup(item, others[j]);
    const auto ba = lookup(others[j], item);
    score_t v = 0;
    if (ab && ba) v = std::max(*ab, *ba);
    else if (ab) v = *ab;
    else if (ba) v = *ba;
    out[j] = v / scale_;
  }
}

template <class T>
std::optional<score_t> basic_cooccurrence_similarity<T>::lookup(index_t a, index_t b) const {
  if (a < 0 || a >= s_->rows()) return std::nullopt;
  const index_t* begin = s_->innerIndexPtr() + s_->outerIndexPtr()[a];
  const index_t* end = s_->innerIndexPtr() + s_->outerIndexPtr()[a + 1];
  const index_t* p = std::lower_bound(begin, end, b);
  if (p == end || *p != b) return std::nullopt;
  return s_->valuePtr()[p - s_->innerIndexPtr()];
}

}  // namespace recsys

#endif  // RECSYS_RANKING_DIVERSITY_INL_HPP
