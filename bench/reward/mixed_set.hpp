#pragma once
// The mixed set of (gold, completion) pairs the reward benchmarks time: MATH and
// GSM8K answer styles, right and wrong answers, R1-format and boxed completions
// with a few hundred bytes of reasoning before the answer.
#include <string>
#include <utility>
#include <vector>

#include "r1/reward/reward.hpp"

namespace r1::bench {

struct MixedSet {
  std::vector<Problem> problems;
  std::vector<std::string> completions;
};

inline MixedSet mixed_math_set(std::size_t count) {
  // (gold, answer) pairs: integers, leading zeros, fractions, decimals, percent,
  // radicals, pi, sets, intervals, tuples, expressions, equations, choices, text,
  // and wrong answers of each kind.
  static const std::pair<const char*, const char*> pairs[] = {
      {"72", "72"},
      {"3225", "03225"},
      {"18", "18.0"},
      {"\\frac{1}{2}", "0.5"},
      {"\\frac{3}{4}", "\\dfrac{3}{4}"},
      {"7,425,000", "7425000"},
      {"28\\%", "0.28"},
      {"2\\sqrt{2}", "\\sqrt{8}"},
      {"\\frac{\\pi}{3}", "\\frac{\\pi}{3}"},
      {"\\{1, 2\\}", "2, 1"},
      {"(0, 1]", "(0,1]"},
      {"(3, -1)", "(3,-1)"},
      {"\\frac{x+1}{2}", "0.5x+0.5"},
      {"x = 3", "3"},
      {"(B)", "B"},
      {"\\text{Monday}", "Monday"},
      {"72", "71"},
      {"\\frac{1}{2}", "\\frac{1}{3}"},
      {"[0, 1]", "(0, 1)"},
      {"1-\\frac{1}{e}", "1+\\frac{1}{e}"},
      {"28", "0.28"},
      {"x^2-1", "(x-1)(x+1)"},
      {"-5", "5"},
      {"10", "10\\text{ cm}"},
  };
  const std::string reasoning =
      "Let me think step by step. First we compute the total number of items, then we subtract the ones "
      "that were used, and finally we divide by the number of groups. Checking: 12 + 30 = 42, and 42 / 6 = 7. "
      "So the result follows from the computation above; let me double check the arithmetic once more. ";
  MixedSet set;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [gold, answer] = pairs[i % (sizeof(pairs) / sizeof(pairs[0]))];
    Problem problem;
    problem.answer = gold;
    set.problems.push_back(std::move(problem));
    set.completions.push_back(i % 2 == 0 ? "<think>" + reasoning + "</think>\n<answer>" + answer + "</answer>"
                                         : reasoning + "The answer is $\\boxed{" + answer + "}$.");
  }
  return set;
}

}  // namespace r1::bench
