// The backoff jitter's random source: SplitMix64, eight bytes of state. A std::mt19937_64
// (2.5 KiB) lived in every agent's model-turn coroutine frame and was the largest single
// part of an agent's memory; jitter needs spread, not a long period.
#pragma once

#include <cstdint>
#include <limits>

namespace conclave::detail {

/// A UniformRandomBitGenerator for std::uniform_real_distribution and friends.
class jitter_rng {
 public:
  using result_type = std::uint64_t;
  explicit jitter_rng(std::uint64_t seed) noexcept : state_(seed) {}
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }
  result_type operator()() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace conclave::detail
