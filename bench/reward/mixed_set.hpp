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

// Long free-text completions as models write them without the R1 template: about
// 1.5 KB of reasoning with inline LaTeX and numbers, ending in an answer in one of the
// forms Math-Verify extracts (a cue and a span, a cue in another language, a last box
// followed by text, a display span, a bare last number), right and wrong in turn.
inline MixedSet long_free_text_set(std::size_t count) {
  static const char* const reasoning_paragraph =
      "We are given that the sequence starts at $a_1 = 3$ and each term adds the common difference $d$. "
      "Since the tenth term is $a_{10} = 30$, we have $3 + 9d = 30$, so $9d = 27$ and $d = 3$. "
      "Let me double check this: $a_2 = 6$, $a_3 = 9$, and in general $a_n = 3n$. The sum of the first "
      "$n$ terms is therefore $S_n = \\frac{n(a_1 + a_n)}{2} = \\frac{3n(n+1)}{2}$. For $n = 12$ this gives "
      "$\\frac{3 \\cdot 12 \\cdot 13}{2} = 234$. Hmm, wait, the problem asks for something slightly different, "
      "so let me reread it carefully. We need the number of terms below 100, which are $3, 6, \\ldots, 99$, "
      "that is 33 terms, and their sum is $3 \\cdot \\frac{33 \\cdot 34}{2} = 1683$. ";
  static const std::pair<const char*, const char*> endings[] = {
      {"1683", "Therefore, the final answer is $1683$. I hope it is correct."},
      {"1683", "Final Answer: The final answer is $1{,}683$."},
      {"\\frac{3}{4}", "Donc la r\xC3\xA9ponse est $\\frac{3}{4}$."},
      {"33", "So the count is \\boxed{33}, which matches the list above."},
      {"x \\geq 5", "Hence the solution set is \\[ x \\ge 5 \\]"},
      {"1683", "Adding them up, the total comes to 1,683."},
      {"(2, 3)", "\xE6\x89\x80\xE4\xBB\xA5\xE7\xAD\x94\xE6\xA1\x88\xE6\x98\xAF $(x, y) = (2, 3)$\xE3\x80\x82"},
      {"1683", "Therefore, the final answer is $1684$."},
  };
  MixedSet set;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& [gold, ending] = endings[i % (sizeof(endings) / sizeof(endings[0]))];
    Problem problem;
    problem.answer = gold;
    set.problems.push_back(std::move(problem));
    std::string completion;
    for (int paragraph = 0; paragraph < 2 + static_cast<int>(i % 2); ++paragraph) completion += reasoning_paragraph;
    completion += ending;
    set.completions.push_back(std::move(completion));
  }
  return set;
}

}  // namespace r1::bench
