#pragma once
// r1::BigInt: a signed integer of any size up to a bit cap, for exact answer
// comparison (10,000-digit numbers and 9^{9^{9}} must not overflow silently nor
// run away). Magnitude in base 2^32 limbs, little-endian. Only what exact
// rational comparison needs: parse, +, -, *, compare, and a double view.
//
// Every operation that could grow past `max_bits` returns std::nullopt instead,
// so callers fall back to a "not exact" path in bounded time.
#include <algorithm>
#include <bit>
#include <cmath>
#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace r1 {

class BigInt {
 public:
  // 2^16 bits (~19,700 decimal digits): larger values are refused, not computed.
  static constexpr std::int64_t default_max_bits = 1 << 16;

  BigInt() = default;
  explicit BigInt(std::int64_t value) {
    negative_ = value < 0;
    std::uint64_t magnitude = negative_ ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
    while (magnitude != 0) {
      limbs_.push_back(static_cast<std::uint32_t>(magnitude));
      magnitude >>= 32;
    }
  }

  // Decimal digits only (no sign, no separators); nullopt when empty, not all
  // digits, or longer than `max_digits`.
  static std::optional<BigInt> from_decimal(std::string_view digits, std::size_t max_digits = 4000) {
    if (digits.empty() || digits.size() > max_digits) return std::nullopt;
    BigInt result;
    // Nine digits at a time: multiply by 10^9 and add.
    std::size_t position = 0;
    while (position < digits.size()) {
      const std::size_t chunk = std::min<std::size_t>(9, digits.size() - position);
      std::uint32_t chunk_value = 0;
      std::uint32_t scale = 1;
      for (std::size_t k = 0; k < chunk; ++k) {
        const char c = digits[position + k];
        if (c < '0' || c > '9') return std::nullopt;
        chunk_value = chunk_value * 10 + static_cast<std::uint32_t>(c - '0');
        scale *= 10;
      }
      result.multiply_add_small(scale, chunk_value);
      position += chunk;
    }
    return result;
  }

  bool is_zero() const { return limbs_.empty(); }
  bool is_negative() const { return negative_; }
  std::int64_t bit_length() const {
    if (limbs_.empty()) return 0;
    return static_cast<std::int64_t>(limbs_.size() - 1) * 32 + (32 - std::countl_zero(limbs_.back()));
  }

  BigInt negated() const {
    BigInt result = *this;
    if (!result.is_zero()) result.negative_ = !result.negative_;
    return result;
  }
  BigInt abs() const {
    BigInt result = *this;
    result.negative_ = false;
    return result;
  }

  friend BigInt operator+(const BigInt& a, const BigInt& b) {
    if (a.negative_ == b.negative_) {
      BigInt result = add_magnitudes(a, b);
      result.negative_ = a.negative_ && !result.is_zero();
      return result;
    }
    const int order = compare_magnitudes(a, b);
    if (order == 0) return BigInt{};
    BigInt result = order > 0 ? subtract_magnitudes(a, b) : subtract_magnitudes(b, a);
    result.negative_ = order > 0 ? a.negative_ : b.negative_;
    return result;
  }
  friend BigInt operator-(const BigInt& a, const BigInt& b) { return a + b.negated(); }

  // Product, or nullopt when it would exceed `max_bits`.
  static std::optional<BigInt> multiply(const BigInt& a, const BigInt& b, std::int64_t max_bits = default_max_bits) {
    if (a.is_zero() || b.is_zero()) return BigInt{};
    if (a.bit_length() + b.bit_length() - 1 > max_bits) return std::nullopt;
    BigInt result;
    result.limbs_.assign(a.limbs_.size() + b.limbs_.size(), 0);
    for (std::size_t i = 0; i < a.limbs_.size(); ++i) {
      std::uint64_t carry = 0;
      for (std::size_t j = 0; j < b.limbs_.size(); ++j) {
        const std::uint64_t t = static_cast<std::uint64_t>(a.limbs_[i]) * b.limbs_[j] + result.limbs_[i + j] + carry;
        result.limbs_[i + j] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
      }
      result.limbs_[i + b.limbs_.size()] = static_cast<std::uint32_t>(carry);
    }
    result.trim();
    result.negative_ = a.negative_ != b.negative_;
    return result;
  }

  // base^exponent by squaring, or nullopt when the result would exceed `max_bits`
  // (checked from the bit lengths before any work, so 9^(9^9) is refused at once).
  static std::optional<BigInt> power(const BigInt& base, std::uint64_t exponent, std::int64_t max_bits = default_max_bits) {
    if (exponent == 0) return BigInt{1};
    if (base.is_zero()) return BigInt{};
    const std::int64_t base_bits = base.bit_length();
    if (base_bits > 1 && (static_cast<double>(base_bits - 1) * static_cast<double>(exponent) > static_cast<double>(max_bits)))
      return std::nullopt;
    if (base_bits == 1) {  // |base| == 1
      BigInt result{1};
      result.negative_ = base.negative_ && (exponent % 2 == 1);
      return result;
    }
    BigInt result{1};
    BigInt square = base;
    while (true) {
      if (exponent & 1) {
        auto next = multiply(result, square, max_bits);
        if (!next) return std::nullopt;
        result = std::move(*next);
      }
      exponent >>= 1;
      if (exponent == 0) break;
      auto next = multiply(square, square, max_bits);
      if (!next) return std::nullopt;
      square = std::move(*next);
    }
    return result;
  }

  friend bool operator==(const BigInt& a, const BigInt& b) { return a.negative_ == b.negative_ && a.limbs_ == b.limbs_; }
  friend std::strong_ordering operator<=>(const BigInt& a, const BigInt& b) {
    if (a.negative_ != b.negative_) return a.negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
    const int order = compare_magnitudes(a, b);
    const int signed_order = a.negative_ ? -order : order;
    return signed_order < 0 ? std::strong_ordering::less
                            : (signed_order > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

  // value == mantissa * 2^exponent with mantissa in [0.5, 1) (or 0): finite for any size.
  std::pair<double, std::int64_t> to_scaled_double() const {
    if (limbs_.empty()) return {0.0, 0};
    // The top three limbs carry more than a double's 53 bits of precision.
    double mantissa = 0.0;
    const std::size_t top = limbs_.size();
    const std::size_t used = std::min<std::size_t>(3, top);
    for (std::size_t k = 0; k < used; ++k) mantissa = mantissa * 4294967296.0 + limbs_[top - 1 - k];
    int exponent = 0;
    mantissa = std::frexp(mantissa, &exponent);
    const std::int64_t total = exponent + static_cast<std::int64_t>(top - used) * 32;
    return {negative_ ? -mantissa : mantissa, total};
  }
  double to_double() const {
    const auto [mantissa, exponent] = to_scaled_double();
    if (exponent > 2000) return mantissa > 0 ? HUGE_VAL : -HUGE_VAL;
    return std::ldexp(mantissa, static_cast<int>(exponent));
  }
  // The value as int64 when it fits.
  std::optional<std::int64_t> to_int64() const {
    if (bit_length() > 62) return std::nullopt;
    std::uint64_t magnitude = 0;
    for (std::size_t k = limbs_.size(); k-- > 0;) magnitude = (magnitude << 32) | limbs_[k];
    const auto value = static_cast<std::int64_t>(magnitude);
    return negative_ ? -value : value;
  }

 private:
  void trim() {
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
    if (limbs_.empty()) negative_ = false;
  }
  void multiply_add_small(std::uint32_t factor, std::uint32_t addend) {
    std::uint64_t carry = addend;
    for (auto& limb : limbs_) {
      const std::uint64_t t = static_cast<std::uint64_t>(limb) * factor + carry;
      limb = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    if (carry != 0) limbs_.push_back(static_cast<std::uint32_t>(carry));
    trim();
  }
  static int compare_magnitudes(const BigInt& a, const BigInt& b) {
    if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size() ? -1 : 1;
    for (std::size_t k = a.limbs_.size(); k-- > 0;)
      if (a.limbs_[k] != b.limbs_[k]) return a.limbs_[k] < b.limbs_[k] ? -1 : 1;
    return 0;
  }
  static BigInt add_magnitudes(const BigInt& a, const BigInt& b) {
    const BigInt& longer = a.limbs_.size() >= b.limbs_.size() ? a : b;
    const BigInt& shorter = a.limbs_.size() >= b.limbs_.size() ? b : a;
    BigInt result;
    result.limbs_.resize(longer.limbs_.size() + 1);
    std::uint64_t carry = 0;
    for (std::size_t k = 0; k < longer.limbs_.size(); ++k) {
      const std::uint64_t t = static_cast<std::uint64_t>(longer.limbs_[k]) + (k < shorter.limbs_.size() ? shorter.limbs_[k] : 0) + carry;
      result.limbs_[k] = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    result.limbs_.back() = static_cast<std::uint32_t>(carry);
    result.trim();
    return result;
  }
  // |a| - |b| for |a| >= |b|.
  static BigInt subtract_magnitudes(const BigInt& a, const BigInt& b) {
    BigInt result;
    result.limbs_.resize(a.limbs_.size());
    std::int64_t borrow = 0;
    for (std::size_t k = 0; k < a.limbs_.size(); ++k) {
      std::int64_t t = static_cast<std::int64_t>(a.limbs_[k]) - (k < b.limbs_.size() ? b.limbs_[k] : 0) - borrow;
      borrow = t < 0 ? 1 : 0;
      if (t < 0) t += (std::int64_t{1} << 32);
      result.limbs_[k] = static_cast<std::uint32_t>(t);
    }
    result.trim();
    return result;
  }

  std::vector<std::uint32_t> limbs_;
  bool negative_ = false;
};

}  // namespace r1
