#pragma once
// Decimal helpers the synthetic arithmetic tasks share: powers of ten and
// zero-padded decimal text ("0884").
#include <cstddef>
#include <cstdint>
#include <string>

namespace r1::detail {

// 10^exponent for 0 <= exponent <= 18 (fits in int64).
inline std::int64_t power_of_ten(int exponent) {
  std::int64_t value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

// `value` (>= 0) in decimal, left-padded with zeros to `width` digits; longer numbers are not cut.
inline std::string zero_padded(std::int64_t value, int width) {
  const std::string digits = std::to_string(value);
  const auto length = static_cast<int>(digits.size());
  return length < width ? std::string(static_cast<std::size_t>(width - length), '0') + digits : digits;
}

}  // namespace r1::detail
