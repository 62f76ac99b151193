#pragma once
// Counter-based random numbers: Philox-4x32-10 (Salmon, Moraes, Dror, Shaw,
// "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11). A draw is a pure
// function of (key, counter), so a stream keyed by (seed, step, prompt, sample,
// position) gives the same numbers whatever the batch layout or thread count.
#include <array>
#include <cmath>
#include <cstdint>

namespace r1 {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// One Philox-4x32 block with `rounds` rounds (10 is the published default).
inline PhiloxCounter philox4x32(PhiloxCounter counter, PhiloxKey key, int rounds = 10) {
  // Constants from the paper (Table 2 / Random123 philox.h).
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < rounds; ++round) {
    const std::uint64_t product0 = std::uint64_t{kMul0} * counter[0];
    const std::uint64_t product1 = std::uint64_t{kMul1} * counter[2];
    const auto hi0 = static_cast<std::uint32_t>(product0 >> 32), lo0 = static_cast<std::uint32_t>(product0);
    const auto hi1 = static_cast<std::uint32_t>(product1 >> 32), lo1 = static_cast<std::uint32_t>(product1);
    counter = {hi1 ^ counter[1] ^ key[0], lo1, hi0 ^ counter[3] ^ key[1], lo0};
    key[0] += kWeyl0;
    key[1] += kWeyl1;
  }
  return counter;
}

// Uniform float in [0, 1) from the top 24 bits of a 32-bit word.
inline float uniform_float(std::uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

// Uniform double in [0, 1) from two 32-bit words (53 bits).
inline double uniform_double(std::uint32_t high, std::uint32_t low) {
  const std::uint64_t bits = (std::uint64_t{high} << 21) ^ (std::uint64_t{low} >> 11);
  return static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// A random stream addressed by a seed and up to four indices, e.g.
// RandomStream{seed, {step, prompt, sample}} then .uniform(position).
// Each index pair maps to its own Philox counter, so streams never overlap.
class RandomStream {
 public:
  constexpr RandomStream(std::uint64_t seed, std::array<std::uint32_t, 3> indices = {0, 0, 0})
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, indices_(indices) {}

  // Four 32-bit words for position `position` of this stream.
  PhiloxCounter block(std::uint32_t position) const {
    return philox4x32({position, indices_[0], indices_[1], indices_[2]}, key_);
  }
  // A uniform double in [0,1) for `position`.
  double uniform(std::uint32_t position) const {
    const auto words = block(position);
    return uniform_double(words[0], words[1]);
  }

 private:
  PhiloxKey key_;
  std::array<std::uint32_t, 3> indices_;
};

// A sequential generator on top of Philox for code that just wants "the next
// number" (initialisation, data shuffling). Satisfies UniformRandomBitGenerator.
class Philox {
 public:
  using result_type = std::uint32_t;
  explicit Philox(std::uint64_t seed, std::uint64_t stream = 0)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        counter_{0, 0, static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)} {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return 0xFFFFFFFFu; }
  result_type operator()() {
    if (used_ == 4) {
      buffer_ = philox4x32(counter_, key_);
      if (++counter_[0] == 0) ++counter_[1];
      used_ = 0;
    }
    return buffer_[used_++];
  }
  double uniform() {
    const auto high = (*this)();
    return uniform_double(high, (*this)());
  }
  // Standard normal by Box-Muller.
  double normal() {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }
  // Position in the stream, for checkpoints: (blocks drawn, words used of the last).
  std::array<std::uint64_t, 2> position() const {
    return {(std::uint64_t{counter_[1]} << 32) | counter_[0], static_cast<std::uint64_t>(used_)};
  }
  void set_position(std::array<std::uint64_t, 2> position) {
    counter_[0] = static_cast<std::uint32_t>(position[0]);
    counter_[1] = static_cast<std::uint32_t>(position[0] >> 32);
    used_ = 4;
    if (position[1] < 4 && position[0] > 0) {
      // Recompute the partially used block.
      PhiloxCounter previous = counter_;
      if (previous[0]-- == 0) --previous[1];
      buffer_ = philox4x32(previous, key_);
      used_ = static_cast<int>(position[1]);
    }
  }

 private:
  PhiloxKey key_;
  PhiloxCounter counter_;
  PhiloxCounter buffer_{};
  int used_ = 4;
};

}  // namespace r1
