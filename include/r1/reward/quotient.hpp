#pragma once
// r1::QuotientAnswer: the last <answer>...</answer> holds the one-digit quotient q of
// Problem::numbers = {dividend a, divisor b}, right when q * b <= a < (q + 1) * b.
// For a >= 0 and b > 0 that q is unique and is floor(a / b) (the division theorem),
// so the check is an integer division and cannot overflow. The task is
// r1/tasks/quotient.hpp. Scores: correct 1, anything else 0 (configurable).
//
//   r1::Problem p;  p.numbers = {4837, 612};
//   r1::QuotientAnswer{}(p, "<think></think><answer>7</answer>").score == 1
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/reward/answer_tag_reward.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct QuotientAnswerOptions {
  double correct_score = 1.0;
  double wrong_score = 0.0;  // an answer that is there but wrong
  double no_answer_score = 0.0;
  std::size_t max_answer_digits = 12;
};

// Why `answer` is not floor(dividend / divisor) written in decimal digits; empty when it is.
inline std::string quotient_answer_error(std::string_view answer, std::int64_t dividend, std::int64_t divisor,
                                         std::size_t max_digits = 12) {
  if (answer.empty()) return "empty answer";
  max_digits = std::min<std::size_t>(max_digits, 18);  // 18 digits fit in int64
  if (answer.size() > max_digits) return "answer longer than " + std::to_string(max_digits) + " digits";
  std::int64_t value = 0;
  for (const char c : answer) {
    if (c < '0' || c > '9') return "not a decimal number";
    value = value * 10 + (c - '0');
  }
  const std::int64_t quotient = dividend / divisor;
  if (value != quotient) return std::to_string(value) + " is not the quotient " + std::to_string(quotient);
  return {};
}

class QuotientAnswer {
 public:
  QuotientAnswer() = default;
  explicit QuotientAnswer(QuotientAnswerOptions options) : options_(options) {}

  std::string_view name() const { return "quotient"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    if (problem.numbers.size() != 2 || problem.numbers[0] < 0 || problem.numbers[1] <= 0)
      return Reward::not_applicable("no quotient operands (numbers = {dividend >= 0, divisor > 0})");
    const std::int64_t dividend = problem.numbers[0], divisor = problem.numbers[1];
    return reward_from_answer_tag(completion, options_.no_answer_score, [&](std::string_view answer, Reward& reward) {
      const std::string error = quotient_answer_error(answer, dividend, divisor, options_.max_answer_digits);
      reward.score = error.empty() ? options_.correct_score : options_.wrong_score;
      reward.reason = error.empty() ? "correct" : error;
    });
  }

 private:
  QuotientAnswerOptions options_;
};

}  // namespace r1
