#pragma once
// Decimal helpers the synthetic arithmetic tasks share: powers of ten,
// zero-padded decimal text ("0884"), equal-width number lists as prompts write
// them ("483+295+106", "47,23,81,15"), and a bounded reader of digit runs for the
// self-check detectors.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"

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

inline bool is_decimal(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// The value of a digit run of at most 18 digits (is_decimal).
inline std::int64_t decimal_value(std::string_view digits) {
  std::int64_t value = 0;
  for (const char c : digits) value = value * 10 + (c - '0');
  return value;
}

// Numbers of one width separated by `separator`, as a prompt lists them.
struct DecimalList {
  std::vector<std::int64_t> values;
  int width = 0;
};

// Reads "483+295+106" (separator '+'): at most `max_count` numbers of 1..`max_width` digits, all of one width.
// Errors name `context` (e.g. "chain-sum prompt '483+29=': ") and call each number an `item` ("term").
inline DecimalList parse_decimal_list(std::string_view text, char separator, int max_width, std::size_t max_count,
                                      std::string_view context, std::string_view item) {
  DecimalList list;
  list.width = -1;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view digits = text.substr(start, end - start);
    require(digits.size() <= static_cast<std::size_t>(max_width) && is_decimal(digits), context, item, " ",
            list.values.size() + 1, " must be 1..", max_width, " digits");
    require(list.width < 0 || static_cast<int>(digits.size()) == list.width, context, "every ", item,
            " must have the same number of digits");
    list.width = static_cast<int>(digits.size());
    require(list.values.size() < max_count, context, "more than ", max_count, " ", item, "s");
    list.values.push_back(decimal_value(digits));
    start = end + 1;
  }
  return list;
}

// The digit run at `position` of `text`, moving past it; nullopt when there is none or it is longer than
// `max_digits` (so it cannot overflow for max_digits <= 18).
inline std::optional<std::int64_t> read_decimal(std::string_view text, std::size_t& position, std::size_t max_digits) {
  std::size_t digits = 0;
  std::int64_t value = 0;
  while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
    if (++digits > max_digits) return std::nullopt;
    value = value * 10 + (text[position++] - '0');
  }
  if (digits == 0) return std::nullopt;
  return value;
}

// A cursor over model output for the task trace readers: literals taken in order, decimal numbers of at most
// `max_digits` digits (read_decimal). It never reads past the text.
class TextCursor {
 public:
  TextCursor(std::string_view text, std::size_t max_digits) : text_(text), max_digits_(max_digits) {}

  bool at_end() const { return position_ == text_.size(); }
  bool peek(std::string_view literal) const { return text_.substr(position_, literal.size()) == literal; }
  bool take(std::string_view literal) {
    if (!peek(literal)) return false;
    position_ += literal.size();
    return true;
  }
  bool digit_next() const { return position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9'; }
  std::optional<std::int64_t> number() { return read_decimal(text_, position_, max_digits_); }

 protected:
  std::string_view text_;
  std::size_t position_ = 0;

 private:
  std::size_t max_digits_;
};

}  // namespace r1::detail
