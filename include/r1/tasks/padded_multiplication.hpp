#pragma once
// The toy R1-Zero task: an a-digit by b-digit multiplication with zero-padded
// operands, "043*75=", whose gold answer is the product zero-padded to a+b
// digits, "03225". Everything is written with the characters of
// kPaddedMultiplicationAlphabet plus the four tags of kPaddedMultiplicationTags,
// so a character tokenizer of ~20 ids covers prompts and completions.
//
// Two completion styles make the toy pretraining corpus:
//   direct      <think></think><answer>03225</answer>
//   scratchpad  <think>5*043=15,21,02=0215;7*043=21,30,03=0301;00215+03010=05,02,02,03,00=03225</think><answer>03225</answer>
// The scratchpad, for each digit of b from the least significant (5, then 7):
//   "<digit>*<a>=" then, for each digit of a from the least significant, the two
//   digits of digit_a*digit_b + carry (the tens digit is the next carry), then
//   "=" and the partial product (a+1 digits: the final carry, then the units
//   digits, most significant first); ";" ends it. Then the column addition: the
//   partial products shifted by their position and padded to a+b digits, joined
//   by "+", "=", for each column from the least significant the two digits of
//   column sum + carry, and "=" the answer.
//
//   r1::PaddedMultiplication problem{3, 2, 43, 75};
//   problem.prompt() == "043*75=", problem.answer() == "03225"
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/reward.hpp"
#include "r1/tasks/decimal_text.hpp"
#include "r1/tasks/split.hpp"

namespace r1 {

// Every plain character a padded-multiplication prompt or completion uses.
inline constexpr std::string_view kPaddedMultiplicationAlphabet = "0123456789+*=;,";
// The special tokens of its completions.
inline constexpr std::string_view kPaddedMultiplicationTags[] = {"<think>", "</think>", "<answer>", "</answer>"};

struct PaddedMultiplicationConfig {
  int a_digits = 3;  // digits of the first operand, 1..9
  int b_digits = 2;  // digits of the second operand, 1..9 (column sums then stay below 100)
  SplitRule split;
};

inline void validate(const PaddedMultiplicationConfig& config) {
  require(config.a_digits >= 1 && config.a_digits <= 9 && config.b_digits >= 1 && config.b_digits <= 9,
          "PaddedMultiplicationConfig: expected a_digits and b_digits in 1..9, got ", config.a_digits, " and ",
          config.b_digits);
}

namespace detail {
inline std::string two_digits(std::int64_t value) { return zero_padded(value, 2); }
}  // namespace detail

class PaddedMultiplication {
 public:
  PaddedMultiplication(int a_digits, int b_digits, std::int64_t a, std::int64_t b)
      : a_digits_(a_digits), b_digits_(b_digits), a_(a), b_(b) {
    validate(PaddedMultiplicationConfig{a_digits, b_digits, {}});
    require(a >= 0 && a < detail::power_of_ten(a_digits) && b >= 0 && b < detail::power_of_ten(b_digits),
            "PaddedMultiplication: operands ", a, " and ", b, " do not fit in ", a_digits, " and ", b_digits,
            " digits");
  }

  // Reads "043*75=" back (operand widths from the text).
  static PaddedMultiplication parse(std::string_view prompt) {
    const auto star = prompt.find('*');
    const bool shaped = star != std::string_view::npos && star > 0 && !prompt.empty() && prompt.back() == '=' &&
                        prompt.size() > star + 2;
    require(shaped, "padded multiplication prompt '", prompt, "': expected the form <digits>*<digits>=");
    const auto a_text = prompt.substr(0, star);
    const auto b_text = prompt.substr(star + 1, prompt.size() - star - 2);
    require(a_text.size() <= 9 && b_text.size() <= 9 && detail::is_decimal(a_text) && detail::is_decimal(b_text),
            "padded multiplication prompt '", prompt, "': operands must be 1..9 digits");
    return PaddedMultiplication(static_cast<int>(a_text.size()), static_cast<int>(b_text.size()),
                                detail::decimal_value(a_text), detail::decimal_value(b_text));
  }

  std::int64_t a() const { return a_; }
  std::int64_t b() const { return b_; }
  int a_digits() const { return a_digits_; }
  int b_digits() const { return b_digits_; }

  std::string prompt() const {
    return detail::zero_padded(a_, a_digits_) + "*" + detail::zero_padded(b_, b_digits_) + "=";
  }
  std::string answer() const { return detail::zero_padded(a_ * b_, a_digits_ + b_digits_); }

  Problem problem() const {
    Problem problem;
    problem.prompt = prompt();
    problem.answer = answer();
    problem.extra = Json{{"identity", "padded_multiplication:" + problem.prompt},
                         {"task", "padded_multiplication"},
                         {"a", a_},
                         {"b", b_}};
    return problem;
  }

  std::string direct_completion() const { return "<think></think><answer>" + answer() + "</answer>"; }

  std::string scratchpad_completion() const { return "<think>" + scratchpad() + "</think><answer>" + answer() + "</answer>"; }

  // The text inside <think> of the scratchpad style (see the top of this file).
  std::string scratchpad() const {
    const std::string a_text = detail::zero_padded(a_, a_digits_);
    std::string text;
    std::vector<std::int64_t> partial_products;
    std::int64_t b_rest = b_;
    for (int j = 0; j < b_digits_; ++j, b_rest /= 10) {
      const std::int64_t b_digit = b_rest % 10;
      text += std::to_string(b_digit) + "*" + a_text + "=";
      std::int64_t carry = 0, partial = 0, place = 1, a_rest = a_;
      for (int i = 0; i < a_digits_; ++i, a_rest /= 10, place *= 10) {
        const std::int64_t step = (a_rest % 10) * b_digit + carry;  // at most 9*9+8 = 89: two digits
        if (i > 0) text += ',';
        text += detail::two_digits(step);
        partial += (step % 10) * place;
        carry = step / 10;
      }
      partial += carry * place;
      partial_products.push_back(partial);
      text += "=" + detail::zero_padded(partial, a_digits_ + 1) + ";";
    }
    const int width = a_digits_ + b_digits_;
    for (int j = 0; j < b_digits_; ++j) {
      if (j > 0) text += '+';
      text += detail::zero_padded(partial_products[static_cast<std::size_t>(j)] * detail::power_of_ten(j), width);
    }
    text += "=";
    // Column sums: at most b_digits*9 + carry < 100 for b_digits <= 9 (carry < b_digits), so two digits.
    std::int64_t carry = 0, place = 1;
    for (int column = 0; column < width; ++column, place *= 10) {
      std::int64_t sum = carry;
      for (int j = 0; j < b_digits_; ++j) {
        sum += (partial_products[static_cast<std::size_t>(j)] * detail::power_of_ten(j) / place) % 10;
      }
      if (column > 0) text += ',';
      text += detail::two_digits(sum);
      carry = sum / 10;
    }
    text += "=" + answer();
    return text;
  }

 private:
  int a_digits_, b_digits_;
  std::int64_t a_, b_;
};

inline PaddedMultiplication draw_padded_multiplication(const PaddedMultiplicationConfig& config, Philox& random) {
  return PaddedMultiplication(config.a_digits, config.b_digits,
                              uniform_below(random, detail::power_of_ten(config.a_digits)),
                              uniform_below(random, detail::power_of_ten(config.b_digits)));
}

// `count` problems of `split`, deterministic in (config, split, seed).
inline std::vector<Problem> padded_multiplication_problems(const PaddedMultiplicationConfig& config, Split split,
                                                           std::size_t count, std::uint64_t seed,
                                                           bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "padded_multiplication",
                                [&](Philox& random) { return draw_padded_multiplication(config, random).problem(); });
}

// One example of the toy pretraining corpus: prompt followed by a completion.
struct CorpusExample {
  std::string prompt;
  std::string completion;
  bool scratchpad = false;
};

struct MultiplicationCorpusConfig {
  PaddedMultiplicationConfig task;
  double scratchpad_fraction = 0.1;  // share of examples that work it out step by step; the rest answer directly
};

// `count` training-split examples (duplicates allowed: a corpus is sampled),
// each scratchpad with probability scratchpad_fraction, deterministic in seed.
// Held-out problems never appear, so a later evaluation on them is clean.
inline std::vector<CorpusExample> multiplication_pretraining_corpus(const MultiplicationCorpusConfig& config,
                                                                    std::size_t count, std::uint64_t seed) {
  validate(config.task);
  require(config.scratchpad_fraction >= 0.0 && config.scratchpad_fraction <= 1.0,
          "MultiplicationCorpusConfig.scratchpad_fraction: expected a value in [0, 1], got ",
          config.scratchpad_fraction);
  const auto problems = padded_multiplication_problems(config.task, Split::train, count, seed, /*distinct=*/false);
  Philox style_random{seed, /*stream=*/0x5c7a7c4ull};
  std::vector<CorpusExample> corpus;
  corpus.reserve(count);
  for (const auto& problem : problems) {
    const auto task = PaddedMultiplication::parse(problem.prompt);
    const bool scratchpad = style_random.uniform() < config.scratchpad_fraction;
    corpus.push_back({problem.prompt, scratchpad ? task.scratchpad_completion() : task.direct_completion(), scratchpad});
  }
  return corpus;
}

}  // namespace r1
