#pragma once
// r1::Countdown: the TinyZero countdown task. The last <answer>...</answer> holds an
// equation that must use each given number exactly once, only + - * / and
// parentheses (unary minus allowed), and evaluate exactly to the target. Arithmetic
// is exact (r1::Rational): 7/2*2 is 7, and division by zero makes the answer wrong.
// An optional trailing "= <target>" is accepted.
//
// Scores follow TinyZero's countdown reward (correct 1.0, an answer that is there
// but wrong 0.1, no answer 0), all configurable.
//
//   r1::Problem p;  p.numbers = {3, 5, 7};  p.target = 22;
//   r1::Countdown{}(p, "<answer>(7 - 3) * 5 + ... </answer>")
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/answer_tag_reward.hpp"
#include "r1/reward/rational.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct CountdownOptions {
  double correct_score = 1.0;
  double format_score = 0.1;     // an <answer> is present but the equation is wrong
  double no_answer_score = 0.0;
  std::size_t max_equation_bytes = 1000;
  int max_depth = 100;
};

// What checking an equation found.
struct CountdownCheck {
  bool correct = false;
  std::string reason;
};

namespace countdown_detail {

// Recursive descent over digits, + - * / ( ) and spaces; every literal is recorded.
class EquationParser {
 public:
  EquationParser(std::string_view text, int max_depth) : text_(text), max_depth_(max_depth) {}

  std::optional<Rational> parse(std::vector<std::int64_t>& literals, std::string& error) {
    literals_ = &literals;
    auto value = sum();
    skip_spaces();
    if (value && position_ != text_.size()) {
      error_ = "unexpected '" + std::string(1, text_[position_]) + "'";
      value.reset();
    }
    if (!value) error = error_;
    return value;
  }

 private:
  void skip_spaces() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\n' || text_[position_] == '\t'))
      ++position_;
  }
  char peek() {
    skip_spaces();
    return position_ < text_.size() ? text_[position_] : '\0';
  }
  std::optional<Rational> fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return std::nullopt;
  }
  std::optional<Rational> sum() {
    if (++depth_ > max_depth_) return fail("nested too deeply");
    auto left = product();
    while (left) {
      const char op = peek();
      if (op != '+' && op != '-') break;
      ++position_;
      auto right = product();
      if (!right) return std::nullopt;
      left = op == '+' ? Rational::add(*left, *right) : Rational::subtract(*left, *right);
      if (!left) return fail("value too large");
    }
    --depth_;
    return left;
  }
  std::optional<Rational> product() {
    auto left = factor();
    while (left) {
      const char op = peek();
      if (op != '*' && op != '/') break;
      ++position_;
      auto right = factor();
      if (!right) return std::nullopt;
      if (op == '/' && right->is_zero()) return fail("division by zero");
      left = op == '*' ? Rational::multiply(*left, *right) : Rational::divide(*left, *right);
      if (!left) return fail("value too large");
    }
    return left;
  }
  std::optional<Rational> factor() {
    if (++depth_ > max_depth_) return fail("nested too deeply");
    const char c = peek();
    std::optional<Rational> value;
    if (c == '-') {
      ++position_;
      value = factor();
      if (value) value = value->negated();
    } else if (c == '(') {
      ++position_;
      value = sum();
      if (value && peek() != ')') return fail("missing ')'");
      if (value) ++position_;
    } else if (c >= '0' && c <= '9') {
      const std::size_t start = position_;
      while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') ++position_;
      if (position_ - start > 18) return fail("number too long");
      std::int64_t literal = 0;
      for (std::size_t k = start; k < position_; ++k) literal = literal * 10 + (text_[k] - '0');
      literals_->push_back(literal);
      value = Rational{literal};
    } else if (c == '\0') {
      return fail("equation ends early");
    } else {
      return fail("'" + std::string(1, c) + "' is not allowed (only digits, + - * / and parentheses)");
    }
    --depth_;
    return value;
  }

  std::string_view text_;
  int max_depth_;
  int depth_ = 0;
  std::size_t position_ = 0;
  std::vector<std::int64_t>* literals_ = nullptr;
  std::string error_;
};

inline std::string join(std::span<const std::int64_t> values) {
  std::string out;
  for (const auto v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace countdown_detail

// Does `equation` use each of `numbers` once and equal `target`?
inline CountdownCheck check_countdown_equation(std::string_view equation, std::span<const std::int64_t> numbers,
                                               std::int64_t target, const CountdownOptions& options = {}) {
  if (equation.size() > options.max_equation_bytes) return {false, "equation too long"};
  // "... = target": the right-hand side must be the target itself.
  if (const std::size_t equals = equation.find('='); equals != std::string_view::npos) {
    const std::string_view rhs = extraction_detail::trim(equation.substr(equals + 1));
    if (rhs != std::to_string(target)) return {false, "right-hand side is not the target"};
    equation = equation.substr(0, equals);
  }
  std::vector<std::int64_t> literals;
  std::string error;
  const auto value = countdown_detail::EquationParser(equation, options.max_depth).parse(literals, error);
  if (!value) return {false, "not an equation: " + error};
  std::vector<std::int64_t> expected(numbers.begin(), numbers.end());
  std::sort(expected.begin(), expected.end());
  std::sort(literals.begin(), literals.end());
  if (literals != expected)
    return {false, "uses {" + countdown_detail::join(literals) + "}, expected each of {" + countdown_detail::join(expected) +
                       "} once"};
  const auto equal = Rational::equal(*value, Rational{target});
  if (!equal || !*equal) return {false, "evaluates to " + std::to_string(value->to_double()) + ", not the target"};
  return {true, "correct"};
}

class Countdown {
 public:
  Countdown() = default;
  explicit Countdown(CountdownOptions options) : options_(options) {}

  std::string_view name() const { return "countdown"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    if (problem.numbers.empty()) return Reward::not_applicable("no countdown numbers");
    return reward_from_answer_tag(completion, options_.no_answer_score, [&](std::string_view equation, Reward& reward) {
      const auto check = check_countdown_equation(equation, problem.numbers, problem.target, options_);
      reward.score = check.correct ? options_.correct_score : options_.format_score;
      reward.reason = check.reason;
    });
  }

 private:
  CountdownOptions options_;
};

}  // namespace r1
