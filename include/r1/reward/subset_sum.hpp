#pragma once
// r1::SubsetSumAnswer: the last <answer>...</answer> holds numbers joined by '+'
// ("47+15"), each one of the problem's numbers (Problem::numbers) used at most as
// often as it is given, in any order, adding up to Problem::target. The task is
// r1/tasks/subset_sum.hpp. Scores: correct 1, anything else 0 (configurable).
//
//   r1::Problem p;  p.numbers = {47, 23, 81, 15};  p.target = 62;
//   r1::SubsetSumAnswer{}(p, "<think></think><answer>47+15</answer>").score == 1
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/reward/answer_tag_reward.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

struct SubsetSumAnswerOptions {
  double correct_score = 1.0;
  double wrong_score = 0.0;           // an answer that is there but wrong
  double no_answer_score = 0.0;
  std::size_t max_answer_bytes = 256;
};

// Why `answer` is or is not a sub-multiset of `numbers` adding up to `target`; empty when it is.
inline std::string subset_sum_answer_error(std::string_view answer, const std::vector<std::int64_t>& numbers,
                                           std::int64_t target, std::size_t max_bytes = 256) {
  if (answer.empty()) return "empty answer";
  if (answer.size() > max_bytes) return "answer longer than " + std::to_string(max_bytes) + " bytes";
  std::vector<std::int64_t> available = numbers;
  std::int64_t total = 0;
  std::size_t position = 0;
  for (;;) {
    std::size_t digits = 0;
    std::int64_t value = 0;
    while (position < answer.size() && answer[position] >= '0' && answer[position] <= '9') {
      if (++digits > 12) return "a number of more than 12 digits";
      value = value * 10 + (answer[position++] - '0');
    }
    if (digits == 0) return "expected a number at byte " + std::to_string(position);
    const auto it = std::find(available.begin(), available.end(), value);
    if (it == available.end()) return std::to_string(value) + " is not one of the numbers left to use";
    available.erase(it);
    total += value;
    if (position == answer.size()) break;
    if (answer[position] != '+') return "expected '+' at byte " + std::to_string(position);
    ++position;
  }
  if (total != target) return "adds up to " + std::to_string(total) + ", not " + std::to_string(target);
  return {};
}

class SubsetSumAnswer {
 public:
  SubsetSumAnswer() = default;
  explicit SubsetSumAnswer(SubsetSumAnswerOptions options) : options_(options) {}

  std::string_view name() const { return "subset_sum"; }

  Reward operator()(const Problem& problem, std::string_view completion) const {
    if (problem.numbers.empty()) return Reward::not_applicable("no subset-sum numbers");
    return reward_from_answer_tag(completion, options_.no_answer_score, [&](std::string_view answer, Reward& reward) {
      const std::string error = subset_sum_answer_error(answer, problem.numbers, problem.target, options_.max_answer_bytes);
      reward.score = error.empty() ? options_.correct_score : options_.wrong_score;
      reward.reason = error.empty() ? "correct" : error;
    });
  }

 private:
  SubsetSumAnswerOptions options_;
};

}  // namespace r1
