// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANKING_ITEM_MASK_HPP
#define RECSYS_RANKING_ITEM_MASK_HPP

/// @file
/// recsys::item_mask: a set of catalogue items, one bit per item. What a filter evaluates to for
/// one request (ranking/item_filter.hpp) and what the re-ranking functions take as "the items a
/// query may return". Small inline operations only.

#include <recsys/errors.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace recsys {

/// A set of catalogue items, one bit per item: what a filter allows for one request.
class item_mask {
 public:
  item_mask() = default;
  /// `num_items` items, all in the set (value = true) or none.
  explicit item_mask(index_t num_items, bool value = true) {
    RECSYS_REQUIRE(num_items >= 0, "item_mask", "num_items must be >= 0 (got ", num_items, ")");
    size_ = num_items;
    words_.assign((static_cast<std::size_t>(num_items) + 63) / 64, value ? ~std::uint64_t{0} : 0);
    clear_tail();
  }

  /// Makes this the set of all (value = true) or none of `num_items` items, reusing the storage
  /// (for a per-query mask kept between queries).
  void assign(index_t num_items, bool value) {
    RECSYS_REQUIRE(num_items >= 0, "item_mask::assign", "num_items must be >= 0 (got ", num_items, ")");
    size_ = num_items;
    words_.assign((static_cast<std::size_t>(num_items) + 63) / 64, value ? ~std::uint64_t{0} : 0);
    clear_tail();
  }
  /// The items i of [0, num_items) for which pred(i) is true (built 64 items per word).
  template <class Pred>
  [[nodiscard]] static item_mask where(index_t num_items, Pred&& pred) {
    item_mask m(num_items, false);
    for (std::size_t w = 0; w < m.words_.size(); ++w) {
      const auto base = static_cast<index_t>(w * 64);
      const index_t end = std::min<index_t>(num_items, base + 64);
      std::uint64_t bits = 0;
      for (index_t i = base; i < end; ++i) bits |= static_cast<std::uint64_t>(static_cast<bool>(pred(i))) << (i - base);
      m.words_[w] = bits;
    }
    return m;
  }

  /// The set of `items` (ids outside [0, num_items) are ignored; duplicates do not matter).
  [[nodiscard]] static item_mask of(index_t num_items, std::span<const index_t> items) {
    item_mask m(num_items, false);
    for (const index_t i : items) m.set(i);
    return m;
  }

  [[nodiscard]] index_t size() const noexcept { return size_; }
  /// Whether item i is in the set (false outside [0, size())).
  [[nodiscard]] bool test(index_t i) const noexcept {
    return i >= 0 && i < size_ && ((words_[static_cast<std::size_t>(i) >> 6] >> (i & 63)) & 1u) != 0;
  }
  [[nodiscard]] bool operator[](index_t i) const noexcept { return test(i); }
  /// Adds (value = true) or removes item i; ids outside [0, size()) are ignored.
  void set(index_t i, bool value = true) noexcept {
    if (i < 0 || i >= size_) return;
    const std::uint64_t bit = std::uint64_t{1} << (i & 63);
    auto& w = words_[static_cast<std::size_t>(i) >> 6];
    w = value ? (w | bit) : (w & ~bit);
  }
  /// Number of items in the set.
  [[nodiscard]] index_t count() const noexcept {
    std::int64_t n = 0;
    for (const std::uint64_t w : words_) n += std::popcount(w);
    return static_cast<index_t>(n);
  }
  [[nodiscard]] bool none() const noexcept {
    return std::all_of(words_.begin(), words_.end(), [](std::uint64_t w) { return w == 0; });
  }

  /// Intersection, union, difference (this and not `o`); sizes must agree.
  item_mask& operator&=(const item_mask& o) {
    check_size(o, "item_mask::operator&=");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= o.words_[w];
    return *this;
  }
  item_mask& operator|=(const item_mask& o) {
    check_size(o, "item_mask::operator|=");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= o.words_[w];
    return *this;
  }
  item_mask& subtract(const item_mask& o) {
    check_size(o, "item_mask::subtract");
    for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= ~o.words_[w];
    return *this;
  }
  /// The complement within [0, size()).
  void flip() noexcept {
    for (auto& w : words_) w = ~w;
    clear_tail();
  }

  /// Calls f(item) for every item in the set, ascending.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w)
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1)
        f(static_cast<index_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits))));
  }
  /// The items in the set, ascending.
  [[nodiscard]] std::vector<index_t> items() const {
    std::vector<index_t> out;
    out.reserve(static_cast<std::size_t>(count()));
    for_each([&](index_t i) { out.push_back(i); });
    return out;
  }
  /// The items of [0, size()) not in the set, ascending.
  [[nodiscard]] std::vector<index_t> complement_items() const {
    item_mask c = *this;
    c.flip();
    return c.items();
  }
  /// The bits, 64 items per word (item i is bit i % 64 of word i / 64; bits past size() are 0).
  [[nodiscard]] std::span<const std::uint64_t> words() const noexcept { return words_; }

  friend bool operator==(const item_mask&, const item_mask&) = default;

 private:
  void clear_tail() noexcept {
    if (size_ % 64 != 0 && !words_.empty()) words_.back() &= (std::uint64_t{1} << (size_ % 64)) - 1;
  }
  void check_size(const item_mask& o, const char* where) const {
    RECSYS_REQUIRE(o.size_ == size_, where, "masks of ", size_, " and ", o.size_, " items");
  }

  index_t size_ = 0;
  std::vector<std::uint64_t> words_;
};

}  // namespace recsys

#endif  // RECSYS_RANKING_ITEM_MASK_HPP
