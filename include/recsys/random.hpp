// SPDX-License-Identifier: Apache-2.0
#ifndef RECSYS_RANDOM_HPP
#define RECSYS_RANDOM_HPP

/// @file
/// Explicitly seeded randomness that does not depend on the thread count.
///
/// recsys never uses a global engine, std::rand or std::random_device. Every random choice
/// is drawn from an `rng` built from (seed, stream tag, block index): work is cut into blocks
/// whose boundaries do not depend on the number of threads (a row of a factor matrix, a block
/// of 1024 samples, one epoch), each block draws from its own stream, and so 1 thread and
/// 16 threads produce the same numbers. std::shuffle and std::*_distribution differ between
/// standard libraries, so recsys brings its own (rng::uniform_index, shuffle, alias_table).
///
/// @code
///   recsys::rng r(seed, recsys::stream_tag("als.init"), row);   // one stream per row
///   float x = r.normal() * 0.01f;
/// @endcode

#include <recsys/errors.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string_view>
#include <utility>
#include <vector>

namespace recsys {

/// SplitMix64 finaliser: a bijective 64-bit mix (Steele, Lea, Flood 2014).
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A 64-bit tag for a named random stream (FNV-1a of the name), so that two components
/// seeded with the same user seed still draw independent numbers.
[[nodiscard]] constexpr std::uint64_t stream_tag(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// Derives the seed of stream (tag, block) from a user seed. Distinct (tag, block) pairs give
/// statistically independent streams.
[[nodiscard]] constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t tag,
                                                  std::uint64_t block = 0) noexcept {
  return splitmix64(splitmix64(seed ^ splitmix64(tag)) + splitmix64(block + 0x632be59bd9b4e019ULL));
}

/// xoshiro256++ (Blackman & Vigna): small, fast, and identical on every platform.
/// Satisfies std::uniform_random_bit_generator.
class rng {
 public:
  using result_type = std::uint64_t;

  /// Engine for stream `block` of the named stream `tag` under `seed`.
  constexpr explicit rng(std::uint64_t seed, std::uint64_t tag = 0, std::uint64_t block = 0) noexcept {
    std::uint64_t x = derive_seed(seed, tag, block);
    for (auto& s : s_) {
      x += 0x9e3779b97f4a7c15ULL;
      s = splitmix64(x);
    }
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform integer in [0, n) without modulo bias (Lemire 2019). n must be > 0.
  constexpr std::uint32_t uniform_index(std::uint32_t n) noexcept {
    std::uint64_t m = static_cast<std::uint64_t>(static_cast<std::uint32_t>((*this)() >> 32)) * n;
    auto low = static_cast<std::uint32_t>(m);
    if (low < n) {
      const std::uint32_t threshold = static_cast<std::uint32_t>(-n) % n;
      while (low < threshold) {
        m = static_cast<std::uint64_t>(static_cast<std::uint32_t>((*this)() >> 32)) * n;
        low = static_cast<std::uint32_t>(m);
      }
    }
    return static_cast<std::uint32_t>(m >> 32);
  }

  /// Uniform float in [0, 1) with 24 random bits.
  constexpr float uniform() noexcept { return static_cast<float>((*this)() >> 40) * 0x1.0p-24f; }

  /// Uniform double in [0, 1) with 53 random bits.
  constexpr double uniform_double() noexcept {
    return static_cast<double>((*this)() >> 11) * 0x1.0p-53;
  }

  /// Standard normal deviate (Box-Muller; the second deviate is cached).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0.0;
    do u1 = uniform_double();
    while (u1 <= 0.0);
    const double u2 = uniform_double();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

  /// True with probability p.
  constexpr bool bernoulli(double p) noexcept { return uniform_double() < p; }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4]{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// Fisher-Yates shuffle with rng::uniform_index: the same permutation on every platform
/// (std::shuffle is implementation-defined).
template <class RandomIt>
void shuffle(RandomIt first, RandomIt last, rng& r) {
  const auto n = last - first;
  for (auto i = n - 1; i > 0; --i) {
    const auto j = static_cast<decltype(i)>(r.uniform_index(static_cast<std::uint32_t>(i + 1)));
    using std::swap;
    swap(first[i], first[j]);
  }
}

/// Samples indices in [0, n) with probability proportional to given non-negative weights in
/// O(1) per draw (Vose's alias method). Construction is O(n) and deterministic.
class alias_table {
 public:
  alias_table() = default;

  /// @throws recsys::invalid_argument if a weight is negative or not finite, or all are zero.
  template <class Range>
  explicit alias_table(const Range& weights) {
    const std::size_t n = std::size(weights);
    RECSYS_REQUIRE(n > 0 && n <= std::numeric_limits<std::uint32_t>::max(), "alias_table",
                   "needs between 1 and 2^32-1 weights (got ", n, ")");
    double total = 0.0;
    std::size_t i = 0;
    for (const auto& w : weights) {
      const double x = static_cast<double>(w);
      RECSYS_REQUIRE(std::isfinite(x) && x >= 0.0, "alias_table", "weight ", i,
                     " must be finite and >= 0 (got ", x, ")");
      total += x;
      ++i;
    }
    RECSYS_REQUIRE(total > 0.0, "alias_table", "all ", n, " weights are zero");
    prob_.assign(n, 0.0);
    alias_.assign(n, 0);
    std::vector<double> scaled(n);
    std::vector<std::uint32_t> small, large;
    small.reserve(n);
    large.reserve(n);
    i = 0;
    for (const auto& w : weights) {
      scaled[i] = static_cast<double>(w) * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
      ++i;
    }
    while (!small.empty() && !large.empty()) {
      const std::uint32_t s = small.back();
      small.pop_back();
      const std::uint32_t l = large.back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (std::uint32_t l : large) prob_[l] = 1.0;
    for (std::uint32_t s : small) prob_[s] = 1.0;  // numerical leftovers
  }

  /// One draw.
  std::uint32_t operator()(rng& r) const noexcept {
    const std::uint32_t i = r.uniform_index(static_cast<std::uint32_t>(prob_.size()));
    return r.uniform_double() < prob_[i] ? i : alias_[i];
  }

  [[nodiscard]] std::size_t size() const noexcept { return prob_.size(); }
  [[nodiscard]] bool empty() const noexcept { return prob_.empty(); }

 private:
  std::vector<double> prob_;
  std::vector<std::uint32_t> alias_;
};

}  // namespace recsys

#endif  // RECSYS_RANDOM_HPP
