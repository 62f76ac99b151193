#pragma once
// bfloat16 rounding done by hand, so CPU tests can model what bf16 storage does
// to a value: round to nearest, ties to even, on the top 16 bits of an fp32
// (the same rule as __float2bfloat16_rn). Unit roundoff u = 2^-8 (8 significand bits).
#include <bit>
#include <cstdint>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

inline constexpr double bf16_unit_roundoff = 1.0 / 256.0;         // 2^-8
inline constexpr double fp32_unit_roundoff = 1.0 / 16777216.0;    // 2^-24

R1_HOST_DEVICE float round_to_bf16(float value) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7f800000u) == 0x7f800000u) return value;  // inf and NaN pass through
  const std::uint32_t lsb = (bits >> 16) & 1u;
  bits += 0x7fffu + lsb;
  return std::bit_cast<float>(bits & 0xffff0000u);
}

}  // namespace r1::gpu
