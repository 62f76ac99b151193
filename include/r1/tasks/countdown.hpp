#pragma once
// Countdown problems (the TinyZero task): reach `target` from `numbers` with
// + - * / using each number exactly once. Solvable by construction: a random
// expression tree over the drawn numbers is evaluated (every intermediate a
// positive integer, division only when exact) and its value becomes the target;
// the tree is kept in extra["witness"] as one solution.
//
//   r1::CountdownConfig config{.count_numbers = 4};
//   auto train = r1::countdown_problems(config, r1::Split::train, 10000, /*seed=*/1);
//   // train[0].numbers == {19, 36, 55, 7}, train[0].target == 65,
//   // train[0].extra["witness"] == "(55+36)-(19+7)"
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/reward.hpp"
#include "r1/tasks/split.hpp"

namespace r1 {

struct CountdownConfig {
  int count_numbers = 4;         // numbers per problem, in [2, 6]
  std::int64_t min_number = 1;   // each number drawn uniformly in [min_number, max_number]
  std::int64_t max_number = 99;
  std::int64_t min_target = 1;   // targets outside [min_target, max_target] are redrawn
  std::int64_t max_target = 100;
  SplitRule split;
};

inline void validate(const CountdownConfig& config) {
  require(config.count_numbers >= 2 && config.count_numbers <= 6,
          "CountdownConfig.count_numbers: expected 2..6, got ", config.count_numbers);
  require(config.min_number >= 1 && config.min_number <= config.max_number && config.max_number <= 100000,
          "CountdownConfig: expected 1 <= min_number <= max_number <= 100000, got ", config.min_number, "..",
          config.max_number);
  require(config.min_target >= 1 && config.min_target <= config.max_target,
          "CountdownConfig: expected 1 <= min_target <= max_target, got ", config.min_target, "..",
          config.max_target);
}

// The problem with the given numbers and target; `witness` is one solution.
inline Problem make_countdown_problem(std::vector<std::int64_t> numbers, std::int64_t target,
                                      const std::string& witness) {
  Problem problem;
  std::string listed;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0) listed += ", ";
    listed += std::to_string(numbers[i]);
  }
  problem.prompt = "Using the numbers [" + listed + "], create an equation that equals " + std::to_string(target) +
                   ". You can use basic arithmetic operations (+, -, *, /) and each number exactly once.";
  // The identity ignores the order the numbers are listed in: [3,5] -> 8 and [5,3] -> 8 are one problem.
  std::vector<std::int64_t> sorted = numbers;
  std::sort(sorted.begin(), sorted.end());
  std::string identity = "countdown:";
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) identity += ',';
    identity += std::to_string(sorted[i]);
  }
  identity += "=" + std::to_string(target);
  problem.numbers = std::move(numbers);
  problem.target = target;
  problem.extra = Json{{"identity", identity}, {"task", "countdown"}, {"witness", witness}};
  return problem;
}

namespace detail {
struct CountdownTerm {
  std::int64_t value;
  std::string expression;
  bool is_leaf;
};
inline std::string parenthesised(const CountdownTerm& term) {
  return term.is_leaf ? term.expression : "(" + term.expression + ")";
}
}  // namespace detail

// One solvable problem; redraws until the target is in range.
inline Problem draw_countdown_problem(const CountdownConfig& config, Philox& random) {
  constexpr int kMaxAttempts = 100000;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::vector<std::int64_t> numbers;
    std::vector<detail::CountdownTerm> terms;
    for (int i = 0; i < config.count_numbers; ++i) {
      const std::int64_t number =
          config.min_number + uniform_below(random, config.max_number - config.min_number + 1);
      numbers.push_back(number);
      terms.push_back({number, std::to_string(number), true});
    }
    // Combine two random terms with a random valid operation until one is left.
    while (terms.size() > 1) {
      const auto count = static_cast<std::int64_t>(terms.size());
      const auto first = static_cast<std::size_t>(uniform_below(random, count));
      auto second = static_cast<std::size_t>(uniform_below(random, count - 1));
      if (second >= first) ++second;
      const auto& x = terms[first];
      const auto& y = terms[second];
      std::vector<std::pair<char, std::int64_t>> valid;  // operations whose result stays a positive integer
      valid.emplace_back('+', x.value + y.value);
      if (x.value > y.value) valid.emplace_back('-', x.value - y.value);
      if (x.value <= 1000000 && y.value <= 1000000) valid.emplace_back('*', x.value * y.value);
      if (y.value > 1 && x.value % y.value == 0) valid.emplace_back('/', x.value / y.value);
      const auto& [op, value] =
          valid[static_cast<std::size_t>(uniform_below(random, static_cast<std::int64_t>(valid.size())))];
      detail::CountdownTerm combined{value, parenthesised(x) + op + parenthesised(y), false};
      terms.erase(terms.begin() + static_cast<std::ptrdiff_t>(std::max(first, second)));
      terms.erase(terms.begin() + static_cast<std::ptrdiff_t>(std::min(first, second)));
      terms.push_back(std::move(combined));
    }
    const auto& root = terms.front();
    if (root.value < config.min_target || root.value > config.max_target) continue;
    return make_countdown_problem(std::move(numbers), root.value, root.expression);
  }
  fail("countdown: no target in [", config.min_target, ", ", config.max_target, "] after ", kMaxAttempts,
       " attempts; widen the target range or change the number range");
}

// `count` problems of `split`, deterministic in (config, split, seed).
inline std::vector<Problem> countdown_problems(const CountdownConfig& config, Split split, std::size_t count,
                                               std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "countdown",
                                [&](Philox& random) { return draw_countdown_problem(config, random); });
}

}  // namespace r1
