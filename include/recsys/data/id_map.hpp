// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_DATA_ID_MAP_HPP
#define RECSYS_DATA_ID_MAP_HPP

/// @file
/// recsys::id_map: external ids (strings or int64) <-> dense int32 indices.
///
/// Order: indices are assigned in first-seen order (the first id inserted gets 0, the next new
/// one 1, ...). That order is stable: inserting more ids never renumbers existing ones, which is
/// what fold-in of new users/items relies on. sort_by_key() renumbers in ascending key order
/// when a canonical order is wanted and returns the old -> new permutation.
///
/// Looking up an unknown id is a normal outcome: find() returns an empty optional.
///
/// @code
///   recsys::id_map<> users;                 // std::string keys
///   recsys::index_t a = users.insert("alice");   // 0
///   users.insert("bob");                    // 1
///   users.insert("alice");                  // 0 again
///   if (auto i = users.find("carol")) { ... } else { /* unknown user: fallback */ }
///   users.id(1);                            // "bob"
/// @endcode

#include <recsys/errors.hpp>
#include <recsys/random.hpp>
#include <recsys/types.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace recsys {

/// Bidirectional map between external ids of type Key (std::string or std::int64_t) and dense
/// indices 0..size()-1. Lookups are O(1) (open addressing, linear probing).
template <class Key = std::string>
class id_map {
  static_assert(std::is_same_v<Key, std::string> || std::is_same_v<Key, std::int64_t>,
                "recsys::id_map supports std::string and std::int64_t keys");

 public:
  using key_type = Key;
  /// What lookups accept: std::string_view for string keys (no allocation), Key otherwise.
  using lookup_type = std::conditional_t<std::is_same_v<Key, std::string>, std::string_view, Key>;

  id_map() = default;

  /// Builds a map from keys in the given order (index i = keys[i]).
  /// @throws recsys::invalid_argument if a key repeats.
  template <class Range>
  static id_map from_keys(const Range& keys) {
    id_map m;
    m.reserve(std::size(keys));
    for (const auto& k : keys) {
      const index_t before = m.size();
      const index_t i = m.insert(k);
      RECSYS_REQUIRE(i == before, "id_map::from_keys", "duplicate id '", k, "' at position ", before);
    }
    return m;
  }

  [[nodiscard]] index_t size() const noexcept { return static_cast<index_t>(keys_.size()); }
  [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }

  void reserve(std::size_t n) {
    keys_.reserve(n);
    if (n * 2 > slots_.size()) rehash(capacity_for(n));
  }

  /// The index of `key`, inserting it with the next free index if it is new.
  /// @throws recsys::invalid_argument when the map already holds 2^31-1 ids.
  index_t insert(lookup_type key) {
    if ((keys_.size() + 1) * 2 > slots_.size()) rehash(capacity_for(keys_.size() + 1));
    std::size_t s = slot_of(key);
    while (slots_[s] != empty_slot) {
      if (equal(keys_[static_cast<std::size_t>(slots_[s])], key)) return slots_[s];
      s = (s + 1) & mask_;
    }
    RECSYS_REQUIRE(keys_.size() < static_cast<std::size_t>(std::numeric_limits<index_t>::max()),
                   "id_map::insert", "more than 2^31-1 distinct ids");
    const auto i = static_cast<index_t>(keys_.size());
    keys_.emplace_back(key);
    slots_[s] = i;
    return i;
  }

  /// The index of `key`, or an empty optional when the id is unknown.
  [[nodiscard]] std::optional<index_t> find(lookup_type key) const noexcept {
    const index_t i = find_or(key, invalid_index);
    if (i == invalid_index) return std::nullopt;
    return i;
  }

  /// The index of `key`, or `fallback` when the id is unknown.
  [[nodiscard]] index_t find_or(lookup_type key, index_t fallback) const noexcept {
    if (slots_.empty()) return fallback;
    std::size_t s = slot_of(key);
    while (slots_[s] != empty_slot) {
      if (equal(keys_[static_cast<std::size_t>(slots_[s])], key)) return slots_[s];
      s = (s + 1) & mask_;
    }
    return fallback;
  }

  [[nodiscard]] bool contains(lookup_type key) const noexcept { return find_or(key, invalid_index) != invalid_index; }

  /// The external id of dense index i.
  /// @throws recsys::invalid_argument if i is out of range.
  [[nodiscard]] const Key& id(index_t i) const {
    RECSYS_REQUIRE(i >= 0 && i < size(), "id_map::id", "index ", i, " out of range [0, ", size(), ")");
    return keys_[static_cast<std::size_t>(i)];
  }

  /// All external ids, position = dense index.
  [[nodiscard]] const std::vector<Key>& ids() const noexcept { return keys_; }

  /// Renumbers the ids in ascending key order (for strings: byte order). Returns `perm` with
  /// perm[old_index] = new_index, to apply to data that refers to the old indices.
  std::vector<index_t> sort_by_key() {
    std::vector<index_t> order(keys_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](index_t a, index_t b) {
      return keys_[static_cast<std::size_t>(a)] < keys_[static_cast<std::size_t>(b)];
    });
    std::vector<index_t> perm(keys_.size());
    std::vector<Key> sorted;
    sorted.reserve(keys_.size());
    for (std::size_t n = 0; n < order.size(); ++n) {
      perm[static_cast<std::size_t>(order[n])] = static_cast<index_t>(n);
      sorted.push_back(std::move(keys_[static_cast<std::size_t>(order[n])]));
    }
    keys_ = std::move(sorted);
    rehash(slots_.size());
    return perm;
  }

  friend bool operator==(const id_map& a, const id_map& b) { return a.keys_ == b.keys_; }

 private:
  static constexpr index_t empty_slot = -1;

  static std::size_t capacity_for(std::size_t n) {
    std::size_t c = 16;
    while (c < n * 2) c *= 2;
    return c;
  }
  static std::uint64_t hash(lookup_type key) noexcept {
    if constexpr (std::is_same_v<Key, std::string>)
      return splitmix64(std::hash<std::string_view>{}(key));
    else
      return splitmix64(static_cast<std::uint64_t>(key));
  }
  static bool equal(const Key& stored, lookup_type key) noexcept {
    if constexpr (std::is_same_v<Key, std::string>)
      return std::string_view(stored) == key;
    else
      return stored == key;
  }
  std::size_t slot_of(lookup_type key) const noexcept { return static_cast<std::size_t>(hash(key)) & mask_; }

  void rehash(std::size_t capacity) {
    slots_.assign(capacity, empty_slot);
    mask_ = capacity - 1;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      std::size_t s = slot_of(keys_[i]);
      while (slots_[s] != empty_slot) s = (s + 1) & mask_;
      slots_[s] = static_cast<index_t>(i);
    }
  }

  std::vector<Key> keys_;
  std::vector<index_t> slots_;
  std::size_t mask_ = 0;
};

}  // namespace recsys

#endif  // RECSYS_DATA_ID_MAP_HPP
