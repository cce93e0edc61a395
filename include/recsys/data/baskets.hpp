// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_BASKETS_HPP
#define RECSYS_DATA_BASKETS_HPP

/// @file
/// recsys::basket_data: transactions (orders, baskets) as a ragged array of item indices, the
/// input of "frequently bought together" mining and association rules.

#include <recsys/data/id_map.hpp>
#include <recsys/data/interaction_log.hpp>
#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace recsys {

/// Basket b holds items[offsets[b] .. offsets[b+1]) (distinct items, in input order).
struct basket_data {
  std::vector<std::int64_t> offsets{0};  ///< size() + 1 entries
  std::vector<index_t> items;            ///< item indices into item_ids
  id_map<std::string> item_ids;          ///< external item ids
  load_report report;                    ///< rows = baskets
  std::int64_t items_merged = 0;         ///< repeated items within a basket a reader kept once

  [[nodiscard]] std::size_t size() const noexcept { return offsets.size() - 1; }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] index_t num_items() const noexcept { return item_ids.size(); }
  [[nodiscard]] std::size_t length(std::size_t b) const noexcept {
    return static_cast<std::size_t>(offsets[b + 1] - offsets[b]);
  }
  [[nodiscard]] std::span<const index_t> basket(std::size_t b) const noexcept {
    return {items.data() + offsets[b], length(b)};
  }

  /// Appends a basket of item indices that exist in item_ids; repeated items are kept once.
  /// @throws recsys::invalid_argument for an index outside item_ids.
  void push_basket(std::span<const index_t> basket_items) {
    const auto start = static_cast<std::int64_t>(items.size());
    for (index_t i : basket_items) {
      RECSYS_REQUIRE(i >= 0 && i < num_items(), "basket_data::push_basket", "item index ", i,
                     " out of range [0, ", num_items(), ")");
      bool repeated = false;
      for (auto p = start; p < static_cast<std::int64_t>(items.size()); ++p)
        if (items[static_cast<std::size_t>(p)] == i) repeated = true;
      if (!repeated) items.push_back(i);
    }
    offsets.push_back(static_cast<std::int64_t>(items.size()));
  }

  /// Appends a basket given by external item ids (new ids get new indices).
  template <class Range>
  void add_basket(const Range& external_ids) {
    std::vector<index_t> idx;
    for (const auto& id : external_ids) idx.push_back(item_ids.insert(std::string_view(id)));
    push_basket(idx);
    ++report.rows_read;
    ++report.rows_kept;
  }

  /// The basket x item incidence matrix (binary), the input of co-occurrence mining.
  /// (A template only so that a unit compiles it where it is called; see config.hpp.)
  template <class = void>
  [[nodiscard]] csr_matrix to_matrix() const {
    csr_matrix m(static_cast<index_t>(size()), num_items());
    m.reserve(static_cast<Eigen::Index>(items.size()));
    std::vector<Eigen::Triplet<score_t, index_t>> t;
    t.reserve(items.size());
    for (std::size_t b = 0; b < size(); ++b)
      for (index_t i : basket(b)) t.emplace_back(static_cast<index_t>(b), i, 1.0f);
    m.setFromTriplets(t.begin(), t.end());
    return m;
  }
};

}  // namespace recsys

#endif  // RECSYS_DATA_BASKETS_HPP
