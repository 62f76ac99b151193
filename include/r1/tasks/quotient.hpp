#pragma once
// An estimate-and-check task for R1-Zero's "second act": the one-digit quotient
// q = floor(a / b) of a dividend a by a divisor b of d digits, with a in [b, 10b) so
// that q is 1..9. Difficulty is d. The point of the task is its first attempt: the
// textbook estimate from leading digits (long division's trial quotient) is often
// too big, and whether it is cannot be seen without multiplying back, which is the
// check; a failed check moves the estimate by one, mechanically.
//
//   prompt   4837/612                 (the dividend zero-padded to d + 1 digits, then the divisor)
//   direct   <think></think><answer>7</answer>
//   worked   <think>48/6=8</think><answer>8</answer>
//   checked  <think>48/6=8<check>8*612=4896>4837<wrong>7*612=4284<4837<ok></think><answer>7</answer>
//   checked, the estimate right
//            <think>42/6=7<check>7*612=4284<4837,8*612=4896>4837<ok></think><answer>7</answer>
//   drill    prompt 8*612, completion <think>8*612=4896</think><answer>4896</answer>
//   drill, compared (QuotientDrill::compared)
//            prompt 8*612,4837, completion <think>8*612=4896>4837</think><answer>4896</answer>
//
// The estimate "48/6=8" divides the dividend's leading two digits (of its d + 1) by
// the divisor's leading digit, at most 9: the trial quotient of long division
// (e.g. Knuth, TAOCP vol. 2, 4.3.1, the q-hat of Algorithm D before its correction).
// It is never below q, since b >= (leading digit) * 10^(d-1), and it is too big about
// 45% of the time at every d >= 2 (always right at d = 1), mostly by one.
//
// The check brackets the quotient by substitution, q * b <= a < (q + 1) * b (the
// division theorem: that q is unique). Each line "m*b=<m*b><relation><a>" writes one
// multiple, zero-padded to d + 1 digits like the dividend, and compares it with the
// dividend. The walk starts at the estimate. A multiple over the dividend refutes the
// candidate ("<wrong>"), which moves down by one; the next line is that one's
// multiple. A multiple at most the dividend is followed by "," and the next multiple
// up; when that one is over, the bracket is complete ("<ok>"); when it is not, the
// candidate was too small ("<wrong>") and the walk goes on up. The answer is the
// lower multiplier of the last two lines. Every product is one-shot, so the corpus
// has product drills ("8*612" as a prompt of its own) in both bases, the checks
// base and the ablation, to make the base's products reliable: a check is only
// worth learning when its arithmetic is right. The compared drill also compares the
// product with a dividend, its multiplier drawn near that dividend's quotient (one
// below to two above, as a walk's lines are), from training-split problems only: the
// arithmetic of a check line without the check (no verdict, no move, no answer
// changed).
//
//   r1::Quotient problem{4837, 612};
//   problem.prompt() == "4837/612"; problem.quotient() == 7; problem.estimate() == 8
#include <algorithm>
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

// Every plain character a quotient prompt or completion uses.
inline constexpr std::string_view kQuotientAlphabet = "0123456789/*=,<>";
// Its tags, each meant to be one token: the R1 tags and the three of the self-check.
inline constexpr std::string_view kQuotientTags[] = {"<think>", "</think>", "<answer>", "</answer>",
                                                     "<check>", "<ok>",     "<wrong>"};
inline constexpr int kQuotientMaxDigits = 6;  // divisor digits; 10 * divisor < 10^7 fits everywhere

struct QuotientConfig {
  int digits = 3;  // difficulty: digits of the divisor, 1..kQuotientMaxDigits
  SplitRule split;
};

inline void validate(const QuotientConfig& config) {
  require(config.digits >= 1 && config.digits <= kQuotientMaxDigits, "QuotientConfig.digits: expected 1..",
          kQuotientMaxDigits, ", got ", config.digits);
}

enum class QuotientStyle : std::uint8_t { direct, worked, checked };

class Quotient {
 public:
  Quotient(std::int64_t dividend, std::int64_t divisor) : dividend_(dividend), divisor_(divisor) {
    require(divisor_ >= 1 && divisor_ < detail::power_of_ten(kQuotientMaxDigits), "Quotient: divisor ", divisor_,
            " outside 1..", detail::power_of_ten(kQuotientMaxDigits) - 1);
    digits_ = static_cast<int>(std::to_string(divisor_).size());
    require(dividend_ >= divisor_ && dividend_ < 10 * divisor_, "Quotient: dividend ", dividend_, " outside [",
            divisor_, ", ", 10 * divisor_, "): the quotient must be one digit, 1..9");
  }

  // Reads "4837/612" back: a divisor of d digits (no leading zero), the dividend of exactly d + 1 digits.
  static Quotient parse(std::string_view prompt) {
    const std::string context = "quotient prompt '" + std::string(prompt.substr(0, 64)) + "': ";
    require(prompt.size() >= 4 && prompt.size() <= 2 * kQuotientMaxDigits + 2, context,
            "expected the form <dividend>/<divisor>");
    const std::size_t slash = prompt.find('/');
    require(slash != std::string_view::npos, context, "no '/'");
    const std::string_view dividend = prompt.substr(0, slash);
    const std::string_view divisor = prompt.substr(slash + 1);
    require(!divisor.empty() && static_cast<int>(divisor.size()) <= kQuotientMaxDigits && detail::is_decimal(divisor) &&
                divisor.front() != '0',
            context, "the divisor must be 1..", kQuotientMaxDigits, " digits without a leading zero");
    require(dividend.size() == divisor.size() + 1 && detail::is_decimal(dividend), context, "the dividend must be ",
            divisor.size() + 1, " digits");
    return Quotient(detail::decimal_value(dividend), detail::decimal_value(divisor));
  }

  std::int64_t dividend() const { return dividend_; }
  std::int64_t divisor() const { return divisor_; }
  int digits() const { return digits_; }
  int wide_digits() const { return digits_ + 1; }  // the dividend's and every multiple's width
  std::int64_t quotient() const { return dividend_ / divisor_; }

  // The estimate's operands: the dividend's leading two digits (of its d + 1) and the divisor's leading digit.
  std::int64_t leading_dividend() const { return dividend_ / detail::power_of_ten(digits_ - 1); }
  std::int64_t leading_divisor() const { return divisor_ / detail::power_of_ten(digits_ - 1); }
  // The trial quotient, min(9, floor(leading two digits / leading digit)); never below quotient().
  std::int64_t estimate() const { return std::min<std::int64_t>(9, leading_dividend() / leading_divisor()); }

  std::string prompt() const { return detail::zero_padded(dividend_, wide_digits()) + "/" + std::to_string(divisor_); }
  // "48/6=8".
  std::string estimate_line() const {
    return detail::zero_padded(leading_dividend(), 2) + "/" + std::to_string(leading_divisor()) + "=" +
           std::to_string(estimate());
  }
  // "8*612=4896" (the product zero-padded to d + 1 digits); `multiplier` 1..10.
  std::string product_line(std::int64_t multiplier) const {
    require(multiplier >= 1 && multiplier <= 10, "Quotient::product_line: multiplier ", multiplier, " outside 1..10");
    return std::to_string(multiplier) + "*" + std::to_string(divisor_) + "=" +
           detail::zero_padded(multiplier * divisor_, wide_digits());
  }
  // "8*612=4896>4837": the multiple compared with the dividend.
  std::string check_line(std::int64_t multiplier) const {
    const std::int64_t product = multiplier * divisor_;
    const char relation = product < dividend_ ? '<' : product > dividend_ ? '>' : '=';
    return product_line(multiplier) + relation + detail::zero_padded(dividend_, wide_digits());
  }

  // The check's walk from the candidate `first` (1..9), as the header comment has it; ends on "<ok>".
  std::string walk(std::int64_t first) const {
    require(first >= 1 && first <= 9, "Quotient::walk: the first candidate ", first, " is not 1..9");
    std::int64_t candidate = first;
    std::string text = check_line(candidate);
    if (candidate * divisor_ > dividend_) {  // down: each multiple over the dividend refutes its multiplier
      while (candidate * divisor_ > dividend_) {
        --candidate;
        text += "<wrong>" + check_line(candidate);
      }
      return text + "<ok>";
    }
    text += "," + check_line(candidate + 1);  // up: the next multiple must be over the dividend
    while ((candidate + 1) * divisor_ <= dividend_) {
      ++candidate;
      text += "<wrong>" + check_line(candidate + 1);
    }
    return text + "<ok>";
  }

  Problem problem() const {
    Problem problem;
    problem.prompt = prompt();
    problem.answer = std::to_string(quotient());
    problem.numbers = {dividend_, divisor_};
    problem.target = quotient();
    problem.extra = Json{{"identity", "quotient:" + problem.prompt}, {"task", "quotient"}, {"digits", digits_}};
    return problem;
  }

  std::string direct_completion(std::int64_t answer) const {
    return "<think></think><answer>" + std::to_string(answer) + "</answer>";
  }
  // The estimate, answered as it is (wrong when it is too big).
  std::string worked_completion() const {
    return "<think>" + estimate_line() + "</think><answer>" + std::to_string(estimate()) + "</answer>";
  }
  // The estimate, checked by the walk from it, and the quotient the walk brackets.
  std::string checked_completion() const {
    return "<think>" + estimate_line() + "<check>" + walk(estimate()) + "</think><answer>" +
           std::to_string(quotient()) + "</answer>";
  }
  // The product drill: prompt "8*612", this completion.
  std::string drill_prompt(std::int64_t multiplier) const {
    return std::to_string(multiplier) + "*" + std::to_string(divisor_);
  }
  std::string drill_completion(std::int64_t multiplier) const {
    return "<think>" + product_line(multiplier) + "</think><answer>" +
           detail::zero_padded(multiplier * divisor_, wide_digits()) + "</answer>";
  }
  // The compared drill: prompt "8*612,4837", completion "<think>8*612=4896>4837</think><answer>4896</answer>".
  std::string compared_drill_prompt(std::int64_t multiplier) const {
    return drill_prompt(multiplier) + "," + detail::zero_padded(dividend_, wide_digits());
  }
  std::string compared_drill_completion(std::int64_t multiplier) const {
    return "<think>" + check_line(multiplier) + "</think><answer>" +
           detail::zero_padded(multiplier * divisor_, wide_digits()) + "</answer>";
  }

 private:
  std::int64_t dividend_;
  std::int64_t divisor_;
  int digits_ = 0;
};

// A divisor uniform over the d-digit numbers, then a dividend uniform in [divisor, 10 * divisor), so the
// quotient is 1..9 with equal chances (each quotient q has the divisor's q * divisor .. (q + 1) * divisor - 1).
inline Quotient draw_quotient(const QuotientConfig& config, Philox& random) {
  validate(config);
  const std::int64_t low = detail::power_of_ten(config.digits - 1);
  const std::int64_t divisor = low + uniform_below(random, detail::power_of_ten(config.digits) - low);
  return Quotient(divisor + uniform_below(random, 9 * divisor), divisor);
}

// `count` problems of `split` at one difficulty, deterministic in (config, split, seed).
inline std::vector<Problem> quotient_problems(const QuotientConfig& config, Split split, std::size_t count,
                                              std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "quotient",
                                [&](Philox& random) { return draw_quotient(config, random).problem(); });
}

// What a drill example practises: a product alone, or a product compared with a dividend (the header comment).
enum class QuotientDrill : std::uint8_t { product, compared };

struct QuotientCorpusConfig {
  std::vector<int> levels{2, 3, 4, 5};  // divisor digits, drawn uniformly per example
  SplitRule split;
  double drill_fraction = 0.25;         // examples that are a product drill instead of a division
  QuotientDrill drill = QuotientDrill::product;
  double worked_fraction = 0.5;         // of the divisions, those worked out; the rest answer directly
  double direct_miss_fraction = 0.15;   // direct answers that are wrong: one above the quotient (below it at 9)
  double checked_fraction = 0.05;       // of the worked examples, those that check
  double checked_miss_fraction = -1;    // checked examples whose estimate is too big; < 0: as drawn (~45%)
};

struct QuotientExample {
  std::string prompt;
  std::string completion;
  int digits = 0;
  bool drill = false;
  QuotientStyle style = QuotientStyle::direct;
  bool missed = false;  // the (first) answer is wrong: a direct miss, or a worked or checked estimate too big
};

// `count` training-split examples (repeats allowed), deterministic in (config, seed). Held-out divisions never
// appear (a drill multiplies a divisor, which gives no quotient away). A worked example answers its estimate,
// wrong whenever that is too big; a checked one, drawn with checked_miss_fraction of estimates too big when
// that is set, ends on the quotient.
inline std::vector<QuotientExample> quotient_pretraining_corpus(const QuotientCorpusConfig& config, std::size_t count,
                                                                std::uint64_t seed) {
  const auto fraction_ok = [](double f) { return f >= 0.0 && f <= 1.0; };
  require(!config.levels.empty(), "QuotientCorpusConfig.levels: expected at least one level");
  for (const int level : config.levels) validate(QuotientConfig{level, config.split});
  require(fraction_ok(config.drill_fraction) && fraction_ok(config.worked_fraction) &&
              fraction_ok(config.direct_miss_fraction) && fraction_ok(config.checked_fraction) &&
              (config.checked_miss_fraction < 0 || fraction_ok(config.checked_miss_fraction)),
          "QuotientCorpusConfig: drill_fraction, worked_fraction, direct_miss_fraction, checked_fraction and "
          "checked_miss_fraction must be in [0, 1]");
  // Only d >= 2 has estimates that miss; a checked miss at d = 1 alone cannot be drawn.
  require(config.checked_miss_fraction <= 0 ||
              std::any_of(config.levels.begin(), config.levels.end(), [](int level) { return level >= 2; }),
          "QuotientCorpusConfig.checked_miss_fraction: no level has estimates that miss (all are 1 digit)");
  Philox random{seed, /*stream=*/0x9b0c1e7ull};
  std::vector<QuotientExample> corpus;
  corpus.reserve(count);
  while (corpus.size() < count) {
    const int digits = config.levels[static_cast<std::size_t>(
        uniform_below(random, static_cast<std::int64_t>(config.levels.size())))];
    const QuotientConfig level{digits, config.split};
    if (random.uniform() < config.drill_fraction) {
      const Quotient problem = draw_quotient(level, random);
      if (config.drill == QuotientDrill::product) {
        const std::int64_t multiplier = 1 + uniform_below(random, 9);
        corpus.push_back({problem.drill_prompt(multiplier), problem.drill_completion(multiplier), digits, true,
                          QuotientStyle::direct, false});
        continue;
      }
      if (split_of("quotient:" + problem.prompt(), config.split) != Split::train) continue;
      const std::int64_t multiplier = std::clamp<std::int64_t>(problem.quotient() - 1 + uniform_below(random, 4), 1, 10);
      corpus.push_back({problem.compared_drill_prompt(multiplier), problem.compared_drill_completion(multiplier), digits,
                        true, QuotientStyle::direct, false});
      continue;
    }
    const bool worked = random.uniform() < config.worked_fraction;
    const bool checks = worked && random.uniform() < config.checked_fraction;
    // A checked example's estimate misses with checked_miss_fraction: problems are drawn until one agrees
    // (at d = 1 no estimate misses, so the level is drawn again too).
    const int want_miss = checks && config.checked_miss_fraction >= 0
                              ? (random.uniform() < config.checked_miss_fraction ? 1 : 0)
                              : -1;
    QuotientConfig drawn = level;
    Quotient problem = draw_quotient(drawn, random);
    while (split_of("quotient:" + problem.prompt(), config.split) != Split::train ||
           (want_miss >= 0 && (problem.estimate() != problem.quotient()) != (want_miss == 1))) {
      if (want_miss == 1 && drawn.digits == 1)
        drawn.digits = config.levels[static_cast<std::size_t>(
            uniform_below(random, static_cast<std::int64_t>(config.levels.size())))];
      problem = draw_quotient(drawn, random);
    }
    QuotientExample example{problem.prompt(), {}, drawn.digits, false, QuotientStyle::direct, false};
    if (checks) {
      example.style = QuotientStyle::checked;
      example.missed = problem.estimate() != problem.quotient();
      example.completion = problem.checked_completion();
    } else if (worked) {
      example.style = QuotientStyle::worked;
      example.missed = problem.estimate() != problem.quotient();
      example.completion = problem.worked_completion();
    } else {
      const std::int64_t q = problem.quotient();
      example.missed = random.uniform() < config.direct_miss_fraction;
      example.completion = problem.direct_completion(example.missed ? (q == 9 ? 8 : q + 1) : q);
    }
    corpus.push_back(std::move(example));
  }
  return corpus;
}

}  // namespace r1
