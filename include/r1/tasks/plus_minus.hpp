#pragma once
// A guess-and-check task for R1-Zero's "second act": put + or - between numbers,
// kept in their order, so that the expression reaches a target. It is countdown
// (r1/tasks/countdown.hpp) with two operations and a fixed order, so a witness is
// easy to draw and r1::Countdown verifies any answer. Finding the signs is a
// subset-sum search (2^(n-1) patterns for n numbers), which a small model cannot
// do in one shot at large n; checking a guess is one subtraction. Difficulty is n.
//
//   prompt   47?23?81?15=004          (numbers of `digits` digits; target >= 0, digits + 1 digits)
//   direct   <think></think><answer>47+23-81+15</answer>
//   worked   <think>+23=+070;-81=-011;+15=+004</think><answer>47+23-81+15</answer>
//   checked  <think>+23=+070;+81=+151;-15=+136<check>+136>004<wrong>+23=+070;-81=-011;+15=+004<check>+004=004<ok></think><answer>47+23-81+15</answer>
//
// A chain applies the chosen sign and number to the running value, one step
// "<sign><number>=<signed running value>" per number after the first. The check
// substitutes the chain's value back into the equation and compares it with the
// target: "<value>" then '<', '=' or '>' then "<target>". On a mismatch (<wrong>)
// the signs are revised, with the comparison saying which way to move, and the
// chain is worked again, then checked again, up to a budget of attempts. The revision of the corpus moves towards the
// target: of the untried patterns one or two sign flips away, the one whose value
// is nearest the target.
//
//   r1::PlusMinus problem{{47, 23, 81, 15}, 2, 4};
//   problem.prompt() == "47?23?81?15=004"; problem.value(0b010) == 4 (bit i: a minus before number i + 1)
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
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

// Every plain character a plus-minus prompt or completion uses.
inline constexpr std::string_view kPlusMinusAlphabet = "0123456789+-=;?<>";
// Its tags, each meant to be one token: the R1 tags and the three of the self-check.
inline constexpr std::string_view kPlusMinusTags[] = {"<think>", "</think>", "<answer>", "</answer>",
                                                      "<check>", "<ok>",     "<wrong>"};
// With at most 10 numbers of d digits every running value and the target fit in d + 1 digits.
inline constexpr int kPlusMinusMaxNumbers = 10;

struct PlusMinusConfig {
  int numbers = 4;  // difficulty: numbers in the expression, 2..kPlusMinusMaxNumbers
  int digits = 2;   // digits of each number, 1..4; numbers are drawn in [10^(digits-1), 10^digits - 1]
  SplitRule split;
};

inline void validate(const PlusMinusConfig& config) {
  require(config.numbers >= 2 && config.numbers <= kPlusMinusMaxNumbers, "PlusMinusConfig.numbers: expected 2..",
          kPlusMinusMaxNumbers, ", got ", config.numbers);
  require(config.digits >= 1 && config.digits <= 4, "PlusMinusConfig.digits: expected 1..4, got ", config.digits);
}

// A sign pattern: bit i set means a minus before number i + 1 (the first number is always added).
using SignPattern = std::uint32_t;

class PlusMinus {
 public:
  PlusMinus(std::vector<std::int64_t> numbers, int digits, std::int64_t target)
      : numbers_(std::move(numbers)), digits_(digits), target_(target) {
    validate(PlusMinusConfig{static_cast<int>(numbers_.size()), digits_, {}});
    const std::int64_t bound = detail::power_of_ten(digits_);
    for (const std::int64_t number : numbers_)
      require(number >= 0 && number < bound, "PlusMinus: number ", number, " does not fit in ", digits_, " digits");
    require(target_ >= 0 && target_ < detail::power_of_ten(value_digits()), "PlusMinus: target ", target_,
            " outside 0..", detail::power_of_ten(value_digits()) - 1);
  }

  // Reads "47?23?81?15=004" back; every number must have the same width, the target one digit more.
  static PlusMinus parse(std::string_view prompt) {
    require(prompt.size() >= 5 && prompt.size() <= 128, "plus-minus prompt '", prompt,
            "': expected the form <digits>?<digits>[?<digits>...]=<digits>");
    const std::size_t equals = prompt.find('=');
    require(equals != std::string_view::npos, "plus-minus prompt '", prompt, "': no '='");
    const std::string_view body = prompt.substr(0, equals);
    const std::string_view target = prompt.substr(equals + 1);
    std::vector<std::int64_t> numbers;
    int width = -1;
    std::size_t start = 0;
    while (start <= body.size()) {
      std::size_t end = body.find('?', start);
      if (end == std::string_view::npos) end = body.size();
      const std::string_view digits = body.substr(start, end - start);
      require(!digits.empty() && digits.size() <= 4 && is_digits(digits), "plus-minus prompt '", prompt, "': number ",
              numbers.size() + 1, " must be 1..4 digits");
      require(width < 0 || static_cast<int>(digits.size()) == width, "plus-minus prompt '", prompt,
              "': every number must have the same number of digits");
      width = static_cast<int>(digits.size());
      require(numbers.size() < static_cast<std::size_t>(kPlusMinusMaxNumbers), "plus-minus prompt '", prompt,
              "': more than ", kPlusMinusMaxNumbers, " numbers");
      numbers.push_back(to_int(digits));
      start = end + 1;
    }
    require(static_cast<int>(target.size()) == width + 1 && is_digits(target), "plus-minus prompt '", prompt,
            "': the target must be ", width + 1, " digits");
    require(numbers.size() >= 2, "plus-minus prompt '", prompt, "': expected at least 2 numbers");
    return PlusMinus(std::move(numbers), width, to_int(target));
  }

  const std::vector<std::int64_t>& numbers() const { return numbers_; }
  int count() const { return static_cast<int>(numbers_.size()); }
  int digits() const { return digits_; }
  int value_digits() const { return digits_ + 1; }  // running values and the target
  std::int64_t target() const { return target_; }
  SignPattern pattern_count() const { return SignPattern{1} << (count() - 1); }

  std::int64_t value(SignPattern pattern) const {
    std::int64_t total = numbers_[0];
    for (int i = 1; i < count(); ++i) total += minus_before(pattern, i) ? -numbers_[at(i)] : numbers_[at(i)];
    return total;
  }
  bool solves(SignPattern pattern) const { return pattern < pattern_count() && value(pattern) == target_; }
  int solution_count() const {
    int solutions = 0;
    for (SignPattern pattern = 0; pattern < pattern_count(); ++pattern) solutions += solves(pattern) ? 1 : 0;
    return solutions;
  }

  std::string prompt() const {
    std::string text;
    for (int i = 0; i < count(); ++i) {
      if (i > 0) text += '?';
      text += detail::zero_padded(numbers_[at(i)], digits_);
    }
    return text + "=" + detail::zero_padded(target_, value_digits());
  }

  // The expression with `pattern`'s signs, "47+23-81+15" (the answer).
  std::string expression(SignPattern pattern) const {
    std::string text = detail::zero_padded(numbers_[0], digits_);
    for (int i = 1; i < count(); ++i)
      text += (minus_before(pattern, i) ? "-" : "+") + detail::zero_padded(numbers_[at(i)], digits_);
    return text;
  }

  // The chain of running values under `pattern`, "+23=+070;-81=-011;+15=+004".
  std::string chain(SignPattern pattern) const {
    std::string text;
    std::int64_t running = numbers_[0];
    for (int i = 1; i < count(); ++i) {
      const bool minus = minus_before(pattern, i);
      running += minus ? -numbers_[at(i)] : numbers_[at(i)];
      if (i > 1) text += ';';
      text += (minus ? "-" : "+") + detail::zero_padded(numbers_[at(i)], digits_) + "=" + signed_text(running, value_digits());
    }
    return text;
  }

  // The check of a chain that ended on `value`: "+136>004" (the value compared with the target).
  std::string check(std::int64_t value) const {
    const char relation = value < target_ ? '<' : value > target_ ? '>' : '=';
    return signed_text(value, value_digits()) + relation + detail::zero_padded(target_, value_digits());
  }

  Problem problem(SignPattern witness) const {
    require(solves(witness), "PlusMinus::problem: the witness does not reach the target");
    Problem problem;
    problem.prompt = prompt();
    problem.answer = expression(witness);
    problem.numbers = numbers_;
    problem.target = target_;
    problem.extra = Json{{"identity", "plus_minus:" + problem.prompt}, {"task", "plus_minus"}, {"numbers", count()}};
    return problem;
  }

  std::string direct_completion(SignPattern pattern) const {
    return "<think></think><answer>" + expression(pattern) + "</answer>";
  }
  std::string worked_completion(SignPattern pattern) const {
    return "<think>" + chain(pattern) + "</think><answer>" + expression(pattern) + "</answer>";
  }

  // Worked with `first`, checked; on a mismatch revised (revision()) and worked and checked again, at most
  // `max_attempts` chains. The answer is the last chain's expression, right or not.
  std::string checked_completion(SignPattern first, int max_attempts = 4) const {
    require(max_attempts >= 1, "PlusMinus::checked_completion: max_attempts must be >= 1");
    std::string text = "<think>";
    std::vector<SignPattern> tried;
    SignPattern pattern = first;
    for (int attempt = 0;; ++attempt) {
      tried.push_back(pattern);
      const std::int64_t reached = value(pattern);
      text += chain(pattern) + "<check>" + check(reached);
      if (reached == target_) {
        text += "<ok>";
        break;
      }
      text += "<wrong>";
      if (attempt + 1 == max_attempts) break;
      pattern = revision(pattern, tried);
    }
    return text + "</think><answer>" + expression(pattern) + "</answer>";
  }

  // The next guess after `pattern` missed: of the patterns not in `tried` that differ from it in one or two
  // signs, the one whose value is nearest the target (ties: fewer flips, then the smaller pattern).
  SignPattern revision(SignPattern pattern, const std::vector<SignPattern>& tried) const {
    SignPattern best = pattern;
    std::int64_t best_distance = -1;
    int best_flips = 0;
    for (SignPattern candidate = 0; candidate < pattern_count(); ++candidate) {
      const int flips = std::popcount(candidate ^ pattern);
      if (flips < 1 || flips > 2 || std::find(tried.begin(), tried.end(), candidate) != tried.end()) continue;
      const std::int64_t distance = std::abs(value(candidate) - target_);
      if (best_distance < 0 || distance < best_distance || (distance == best_distance && flips < best_flips)) {
        best = candidate;
        best_distance = distance;
        best_flips = flips;
      }
    }
    return best;
  }

  static std::string signed_text(std::int64_t value, int width) {
    return (value < 0 ? "-" : "+") + detail::zero_padded(value < 0 ? -value : value, width);
  }

 private:
  static bool minus_before(SignPattern pattern, int i) { return ((pattern >> (i - 1)) & 1u) != 0; }
  static std::size_t at(int i) { return static_cast<std::size_t>(i); }
  static bool is_digits(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text)
      if (c < '0' || c > '9') return false;
    return true;
  }
  static std::int64_t to_int(std::string_view digits) {
    std::int64_t value = 0;
    for (const char c : digits) value = value * 10 + (c - '0');
    return value;
  }

  std::vector<std::int64_t> numbers_;
  int digits_;
  std::int64_t target_;
};

// A problem and the signs it was drawn with (a solution; there may be others).
struct PlusMinusDraw {
  PlusMinus problem;
  SignPattern witness;
};

// Numbers uniform in [10^(digits-1), 10^digits - 1] and signs uniform; drawn again while the target is negative.
inline PlusMinusDraw draw_plus_minus(const PlusMinusConfig& config, Philox& random) {
  validate(config);
  const std::int64_t low = config.digits == 1 ? 1 : detail::power_of_ten(config.digits - 1);
  const std::int64_t high = detail::power_of_ten(config.digits) - 1;
  for (;;) {
    std::vector<std::int64_t> numbers(static_cast<std::size_t>(config.numbers));
    for (auto& number : numbers) number = low + uniform_below(random, high - low + 1);
    const auto pattern = static_cast<SignPattern>(uniform_below(random, std::int64_t{1} << (config.numbers - 1)));
    std::int64_t target = numbers[0];
    for (int i = 1; i < config.numbers; ++i)
      target += ((pattern >> (i - 1)) & 1u) ? -numbers[static_cast<std::size_t>(i)] : numbers[static_cast<std::size_t>(i)];
    if (target < 0) continue;
    return {PlusMinus(std::move(numbers), config.digits, target), pattern};
  }
}

// `count` problems of `split` at one difficulty, deterministic in (config, split, seed).
// The split is by the prompt, so a problem is held out at most once across levels.
inline std::vector<Problem> plus_minus_problems(const PlusMinusConfig& config, Split split, std::size_t count,
                                                std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "plus_minus", [&](Philox& random) {
    const PlusMinusDraw draw = draw_plus_minus(config, random);
    return draw.problem.problem(draw.witness);
  });
}

// A wrong guess near `solution`: one or two signs flipped (uniformly one or two when there are two signs or
// more), drawn again while it still reaches the target. None exists when every pattern solves (n = 2 with a
// zero); then `solution` is returned.
inline SignPattern draw_near_miss(const PlusMinus& problem, SignPattern solution, Philox& random) {
  const int signs = problem.count() - 1;
  if (problem.solution_count() == static_cast<int>(problem.pattern_count())) return solution;
  for (;;) {
    SignPattern pattern = solution ^ (SignPattern{1} << uniform_below(random, signs));
    if (signs >= 2 && uniform_below(random, 2) == 1) {
      const SignPattern second = SignPattern{1} << uniform_below(random, signs);
      if ((pattern ^ solution) != second) pattern ^= second;
    }
    if (!problem.solves(pattern)) return pattern;
  }
}

enum class PlusMinusStyle : std::uint8_t { direct, worked, checked };

struct PlusMinusCorpusConfig {
  std::vector<int> levels{3, 4, 5, 6};  // numbers per problem, drawn uniformly per example
  int digits = 2;
  SplitRule split;
  double worked_fraction = 0.5;     // examples worked out; the rest answer directly
  double miss_fraction = 0.15;      // worked examples whose (first) guess misses the target
  double checked_fraction = 0.05;   // of the worked examples, those that check (and revise a miss)
  double checked_miss_fraction = -1;  // the miss rate of the checked examples; < 0: miss_fraction
  int max_attempts = 4;             // chains a checked example works at most
};

struct PlusMinusExample {
  std::string prompt;
  std::string completion;
  int numbers = 0;
  PlusMinusStyle style = PlusMinusStyle::direct;
  bool missed = false;  // the (first) guess does not reach the target
};

// `count` training-split examples (repeats allowed: a corpus is sampled),
// deterministic in (config, seed). Held-out problems never appear. Direct answers
// are always right; a worked example guesses wrong with miss_fraction and then
// answers its wrong guess unless it checks.
inline std::vector<PlusMinusExample> plus_minus_pretraining_corpus(const PlusMinusCorpusConfig& config,
                                                                   std::size_t count, std::uint64_t seed) {
  const auto fraction_ok = [](double f) { return f >= 0.0 && f <= 1.0; };
  require(!config.levels.empty(), "PlusMinusCorpusConfig.levels: expected at least one level");
  require(fraction_ok(config.worked_fraction) && fraction_ok(config.miss_fraction) &&
              fraction_ok(config.checked_fraction) &&
              (config.checked_miss_fraction < 0 || fraction_ok(config.checked_miss_fraction)),
          "PlusMinusCorpusConfig: worked_fraction, miss_fraction, checked_fraction and checked_miss_fraction must be "
          "in [0, 1]");
  require(config.max_attempts >= 1, "PlusMinusCorpusConfig.max_attempts: expected >= 1");
  Philox random{seed, /*stream=*/0x9105e5ull};
  std::vector<PlusMinusExample> corpus;
  corpus.reserve(count);
  while (corpus.size() < count) {
    const int numbers = config.levels[static_cast<std::size_t>(
        uniform_below(random, static_cast<std::int64_t>(config.levels.size())))];
    const PlusMinusDraw draw = draw_plus_minus({numbers, config.digits, config.split}, random);
    const PlusMinus& problem = draw.problem;
    if (split_of("plus_minus:" + problem.prompt(), config.split) != Split::train) continue;
    PlusMinusExample example{problem.prompt(), {}, numbers, PlusMinusStyle::direct, false};
    if (random.uniform() < config.worked_fraction) {
      const bool checks = random.uniform() < config.checked_fraction;
      const double miss = checks && config.checked_miss_fraction >= 0 ? config.checked_miss_fraction
                                                                       : config.miss_fraction;
      SignPattern guess = draw.witness;
      if (random.uniform() < miss) guess = draw_near_miss(problem, draw.witness, random);
      example.missed = !problem.solves(guess);
      example.style = checks ? PlusMinusStyle::checked : PlusMinusStyle::worked;
      example.completion =
          checks ? problem.checked_completion(guess, config.max_attempts) : problem.worked_completion(guess);
    } else {
      example.completion = problem.direct_completion(draw.witness);
    }
    corpus.push_back(std::move(example));
  }
  return corpus;
}

}  // namespace r1
