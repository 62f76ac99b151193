#pragma once
// Synthetic arithmetic problems "a<op>b=" with op in + - *, a configurable number
// of digits per operand, and disjoint train / held-out splits (tasks/split.hpp).
//
//   r1::ArithmeticConfig config{.min_digits = 2, .max_digits = 3, .operations = "+*"};
//   auto train = r1::arithmetic_problems(config, r1::Split::train, 10000, /*seed=*/1);
//   auto test  = r1::arithmetic_problems(config, r1::Split::held_out, 500, /*seed=*/2);
//   // train[0].prompt == "417+38=", train[0].answer == "455"
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/reward.hpp"
#include "r1/tasks/split.hpp"

namespace r1 {

struct ArithmeticConfig {
  int min_digits = 1;              // digits of each operand, drawn uniformly in [min_digits, max_digits]
  int max_digits = 2;              // at most 9, so every product fits in 64 bits
  std::string operations = "+-*";  // any non-empty subset of "+-*"
  SplitRule split;
};

inline void validate(const ArithmeticConfig& config) {
  require(config.min_digits >= 1 && config.min_digits <= config.max_digits && config.max_digits <= 9,
          "ArithmeticConfig: expected 1 <= min_digits <= max_digits <= 9, got min_digits=", config.min_digits,
          " max_digits=", config.max_digits);
  require(!config.operations.empty(), "ArithmeticConfig.operations: expected a non-empty subset of \"+-*\"");
  for (const char op : config.operations) {
    require(op == '+' || op == '-' || op == '*', "ArithmeticConfig.operations: '", op,
            "' is not one of + - *");
  }
}

// The problem "a<op>b=" with its exact integer answer (negative for a - b < 0).
inline Problem make_arithmetic_problem(std::int64_t a, char op, std::int64_t b) {
  require(a >= 0 && b >= 0 && a < 1000000000 && b < 1000000000,
          "make_arithmetic_problem: operands must be in [0, 1e9), got ", a, " and ", b);
  std::int64_t result = 0;
  switch (op) {
    case '+': result = a + b; break;
    case '-': result = a - b; break;
    case '*': result = a * b; break;
    default: fail("make_arithmetic_problem: operation '", op, "' is not one of + - *");
  }
  Problem problem;
  problem.prompt = std::to_string(a) + op + std::to_string(b) + "=";
  problem.answer = std::to_string(result);
  problem.extra = Json{{"identity", "arithmetic:" + problem.prompt}, {"task", "arithmetic"}};
  return problem;
}

// A number with exactly `digits` digits (0..9 for one digit), uniformly.
inline std::int64_t draw_number_with_digits(Philox& random, int digits) {
  std::int64_t low = 1;
  for (int d = 1; d < digits; ++d) low *= 10;
  const std::int64_t high = low * 10;  // exclusive
  if (digits == 1) return uniform_below(random, 10);
  return low + uniform_below(random, high - low);
}

inline Problem draw_arithmetic_problem(const ArithmeticConfig& config, Philox& random) {
  const auto digit_choices = static_cast<std::int64_t>(config.max_digits - config.min_digits + 1);
  const int digits_a = config.min_digits + static_cast<int>(uniform_below(random, digit_choices));
  const int digits_b = config.min_digits + static_cast<int>(uniform_below(random, digit_choices));
  const std::int64_t a = draw_number_with_digits(random, digits_a);
  const std::int64_t b = draw_number_with_digits(random, digits_b);
  const char op = config.operations[static_cast<std::size_t>(
      uniform_below(random, static_cast<std::int64_t>(config.operations.size())))];
  return make_arithmetic_problem(a, op, b);
}

// `count` problems of `split`, deterministic in (config, split, seed). With
// `distinct` (the default) no problem repeats; held-out sets should keep it.
inline std::vector<Problem> arithmetic_problems(const ArithmeticConfig& config, Split split, std::size_t count,
                                                std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "arithmetic",
                                [&](Philox& random) { return draw_arithmetic_problem(config, random); });
}

}  // namespace r1
