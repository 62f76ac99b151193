#pragma once
// r1::Rational: an exact fraction of two r1::BigInt, for comparing answers such as
// 0.5, \frac{1}{2} and 50\% without rounding. Fractions are never reduced (no gcd
// needed): equality is decided by cross-multiplication, a/b == c/d  <=>  a*d == c*b.
// Every operation returns std::nullopt when a part would pass the bit cap, so
// hostile input ends on the inexact path in bounded time.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "r1/reward/bigint.hpp"

namespace r1 {

class Rational {
 public:
  Rational() : numerator_(0), denominator_(1) {}
  explicit Rational(std::int64_t value) : numerator_(value), denominator_(1) {}

  // (numerator, denominator) with a non-zero denominator; the sign moves to the numerator.
  static std::optional<Rational> fraction(BigInt numerator, BigInt denominator) {
    if (denominator.is_zero()) return std::nullopt;
    Rational result;
    if (denominator.is_negative()) {
      numerator = numerator.negated();
      denominator = denominator.negated();
    }
    result.numerator_ = std::move(numerator);
    result.denominator_ = std::move(denominator);
    return result;
  }

  // A decimal literal "123", "0.25", ".5", "007" (no sign): 0.25 = 25 / 10^2.
  static std::optional<Rational> from_decimal(std::string_view text, std::size_t max_digits = 4000) {
    const std::size_t point = text.find('.');
    std::string digits;
    std::size_t fraction_digits = 0;
    if (point == std::string_view::npos) {
      digits.assign(text);
    } else {
      digits.assign(text.substr(0, point));
      const std::string_view fraction_part = text.substr(point + 1);
      digits.append(fraction_part);
      fraction_digits = fraction_part.size();
    }
    if (digits.empty()) return std::nullopt;
    auto numerator = BigInt::from_decimal(digits, max_digits);
    if (!numerator) return std::nullopt;
    auto denominator = BigInt::power(BigInt{10}, fraction_digits);
    if (!denominator) return std::nullopt;
    return fraction(std::move(*numerator), std::move(*denominator));
  }

  const BigInt& numerator() const { return numerator_; }
  const BigInt& denominator() const { return denominator_; }
  bool is_zero() const { return numerator_.is_zero(); }
  bool is_negative() const { return numerator_.is_negative(); }
  std::int64_t bit_length() const { return numerator_.bit_length() + denominator_.bit_length(); }

  Rational negated() const {
    Rational result = *this;
    result.numerator_ = numerator_.negated();
    return result;
  }

  // a/b + c/d = (ad + cb) / bd
  static std::optional<Rational> add(const Rational& x, const Rational& y, std::int64_t max_bits = BigInt::default_max_bits) {
    if (x.denominator_ == y.denominator_) return fraction(x.numerator_ + y.numerator_, x.denominator_);
    auto ad = BigInt::multiply(x.numerator_, y.denominator_, max_bits);
    auto cb = BigInt::multiply(y.numerator_, x.denominator_, max_bits);
    auto bd = BigInt::multiply(x.denominator_, y.denominator_, max_bits);
    if (!ad || !cb || !bd) return std::nullopt;
    return fraction(*ad + *cb, std::move(*bd));
  }
  static std::optional<Rational> subtract(const Rational& x, const Rational& y, std::int64_t max_bits = BigInt::default_max_bits) {
    return add(x, y.negated(), max_bits);
  }
  static std::optional<Rational> multiply(const Rational& x, const Rational& y, std::int64_t max_bits = BigInt::default_max_bits) {
    auto n = BigInt::multiply(x.numerator_, y.numerator_, max_bits);
    auto d = BigInt::multiply(x.denominator_, y.denominator_, max_bits);
    if (!n || !d) return std::nullopt;
    return fraction(std::move(*n), std::move(*d));
  }
  // nullopt also for division by zero.
  static std::optional<Rational> divide(const Rational& x, const Rational& y, std::int64_t max_bits = BigInt::default_max_bits) {
    if (y.is_zero()) return std::nullopt;
    auto n = BigInt::multiply(x.numerator_, y.denominator_, max_bits);
    auto d = BigInt::multiply(x.denominator_, y.numerator_, max_bits);
    if (!n || !d) return std::nullopt;
    return fraction(std::move(*n), std::move(*d));
  }
  // x^k for an integer k (negative k inverts; 0^negative is nullopt).
  static std::optional<Rational> power(const Rational& x, std::int64_t exponent, std::int64_t max_bits = BigInt::default_max_bits) {
    const bool invert = exponent < 0;
    const auto magnitude = static_cast<std::uint64_t>(invert ? -(exponent + 1) + std::uint64_t{1} : exponent);
    auto n = BigInt::power(x.numerator_, magnitude, max_bits);
    auto d = BigInt::power(x.denominator_, magnitude, max_bits);
    if (!n || !d) return std::nullopt;
    return invert ? fraction(std::move(*d), std::move(*n)) : fraction(std::move(*n), std::move(*d));
  }

  // Exact equality by cross-multiplication; nullopt when the products pass the cap.
  static std::optional<bool> equal(const Rational& x, const Rational& y, std::int64_t max_bits = 2 * BigInt::default_max_bits) {
    if (x.is_negative() != y.is_negative()) return false;
    auto left = BigInt::multiply(x.numerator_, y.denominator_, max_bits);
    auto right = BigInt::multiply(y.numerator_, x.denominator_, max_bits);
    if (!left || !right) return std::nullopt;
    return *left == *right;
  }

  // The integer value when the fraction is an integer that fits in int64
  // (checked exactly: n == q * d), else nullopt.
  std::optional<std::int64_t> to_int64() const {
    const auto d = denominator_.to_int64();
    const auto n = numerator_.to_int64();
    if (!d || !n || *d == 0 || *n % *d != 0) return std::nullopt;
    return *n / *d;
  }

  // Nearest double; ±inf or 0 only when the value is beyond double's range.
  double to_double() const {
    const auto [nm, ne] = numerator_.to_scaled_double();
    const auto [dm, de] = denominator_.to_scaled_double();
    if (nm == 0.0) return 0.0;
    const std::int64_t exponent = ne - de;
    if (exponent > 2000) return nm > 0 ? HUGE_VAL : -HUGE_VAL;
    if (exponent < -2000) return 0.0;
    return std::ldexp(nm / dm, static_cast<int>(exponent));
  }

 private:
  BigInt numerator_;
  BigInt denominator_;
};

}  // namespace r1
