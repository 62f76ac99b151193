#pragma once
// Does a program's output equal the expected output?
//
// Text (stdin/stdout tests): lines are compared after removing each line's
// trailing whitespace (so "\r\n" equals "\n") and ignoring empty lines at the end
// of either side (so a missing or extra final newline does not matter). The
// comparison is of the whole output: a prefix of the expected output is wrong,
// and so are extra lines. (Some popular harnesses accept any output whose first
// lines match, which rewards printing a prefix and stopping.)
// With a float tolerance t, each line is split into whitespace-separated tokens;
// tokens must be equal, or both be finite numbers with |a - b| <= t * max(1, |b|)
// (b expected): the "absolute or relative error" rule of judges such as
// Codeforces.
//
// JSON values (function-call tests): equal as JSON, numbers compared as doubles
// (3 equals 3.0) and with the same tolerance rule; an expected value that is a
// one-element list also matches its element (APPS stores call-style outputs
// wrapped in a list).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "r1/core/json.hpp"

namespace r1::code {

namespace detail {

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Lines with trailing whitespace removed, trailing empty lines dropped.
inline std::vector<std::string_view> comparable_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t position = 0;
  while (position <= text.size()) {
    const std::size_t end = std::min(text.find('\n', position), text.size());
    std::string_view line = text.substr(position, end - position);
    while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
    lines.push_back(line);
    position = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

inline std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t position = 0;
  while (position < line.size()) {
    while (position < line.size() && (is_blank(line[position]))) ++position;
    std::size_t end = position;
    while (end < line.size() && !is_blank(line[end])) ++end;
    if (end > position) out.push_back(line.substr(position, end - position));
    position = end;
  }
  return out;
}

inline std::optional<double> parse_number(std::string_view token) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

inline bool numbers_close(double actual, double expected, double tolerance) {
  return std::fabs(actual - expected) <= tolerance * std::max(1.0, std::fabs(expected));
}

}  // namespace detail

inline bool outputs_match(std::string_view actual, std::string_view expected,
                          std::optional<double> float_tolerance = std::nullopt) {
  const auto actual_lines = detail::comparable_lines(actual);
  const auto expected_lines = detail::comparable_lines(expected);
  if (actual_lines.size() != expected_lines.size()) return false;
  for (std::size_t i = 0; i < actual_lines.size(); ++i) {
    if (actual_lines[i] == expected_lines[i]) continue;
    if (!float_tolerance) return false;
    const auto actual_tokens = detail::tokens(actual_lines[i]);
    const auto expected_tokens = detail::tokens(expected_lines[i]);
    if (actual_tokens.size() != expected_tokens.size()) return false;
    for (std::size_t t = 0; t < actual_tokens.size(); ++t) {
      if (actual_tokens[t] == expected_tokens[t]) continue;
      const auto a = detail::parse_number(actual_tokens[t]);
      const auto b = detail::parse_number(expected_tokens[t]);
      if (!a || !b || !detail::numbers_close(*a, *b, *float_tolerance)) return false;
    }
  }
  return true;
}

namespace detail {
inline bool json_equal(const Json& actual, const Json& expected, double tolerance) {
  if (actual.is_number() && expected.is_number()) {
    if (actual.is_number_float() || expected.is_number_float()) {
      return numbers_close(actual.get<double>(), expected.get<double>(), tolerance);
    }
    return actual == expected;  // nlohmann compares signed and unsigned integers by value
  }
  if (actual.type() != expected.type()) return false;
  if (actual.is_array()) {
    if (actual.size() != expected.size()) return false;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (!json_equal(actual[i], expected[i], tolerance)) return false;
    }
    return true;
  }
  if (actual.is_object()) {
    if (actual.size() != expected.size()) return false;
    for (const auto& [key, value] : expected.items()) {
      const auto it = actual.find(key);
      if (it == actual.end() || !json_equal(*it, value, tolerance)) return false;
    }
    return true;
  }
  return actual == expected;
}
}  // namespace detail

inline bool json_values_match(const Json& actual, const Json& expected,
                              std::optional<double> float_tolerance = std::nullopt) {
  const double tolerance = float_tolerance.value_or(0.0);
  if (detail::json_equal(actual, expected, tolerance)) return true;
  return expected.is_array() && expected.size() == 1 && detail::json_equal(actual, expected[0], tolerance);
}

}  // namespace r1::code
