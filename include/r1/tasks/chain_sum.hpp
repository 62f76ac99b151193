#pragma once
// A task family of graded difficulty for R1-Zero's "second act": the sum of
// `terms` zero-padded numbers, "483+295+106=", whose gold answer is the sum
// zero-padded to one digit more than a term, "0884". Difficulty is the number of
// terms: each added term is one more one-shot addition a worked solution can slip on.
//
// Completion styles of the pretraining corpus (tags are single tokens):
//   direct   <think></think><answer>0884</answer>
//   worked   <think>0483+295=0778;0778+106=0884</think><answer>0884</answer>
//   checked  <think>0483+295=0778;0778+106=0884<check>0106+295=0401;0401+483=0884<ok></think><answer>0884</answer>
// A worked chain adds the terms in one direction (left to right as above, or right
// to left), one step "<running sum>+<term>=<new sum>" per term. The self-check
// recomputes the sum by the other route, the other direction, and compares the
// two results: <ok> when they agree; on a mismatch, <wrong> and the first chain
// is worked again, whose result is the answer:
//   <think>0483+295=0778;0778+106=0894<check>0106+295=0401;0401+483=0884<wrong>0483+295=0778;0778+106=0884</think>...
// A "slip" is one step whose written result is off by ±1, ±10 or ±100 (a digit or
// carry error); later steps continue from the wrong sum, as a person's would.
//
//   r1::ChainSum problem{{483, 295, 106}, 3};
//   problem.prompt() == "483+295+106=", problem.answer() == "0884"
#include <cstddef>
#include <cstdint>
#include <optional>
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

// Every plain character a chain-sum prompt or completion uses.
inline constexpr std::string_view kChainSumAlphabet = "0123456789+=;";
// Its tags, each meant to be one token: the R1 tags and the three of the self-check.
inline constexpr std::string_view kChainSumTags[] = {"<think>", "</think>", "<answer>", "</answer>",
                                                     "<check>", "<ok>",     "<wrong>"};
inline constexpr int kChainSumMaxTerms = 10;  // the sum then needs at most term_digits + 1 digits

struct ChainSumConfig {
  int terms = 3;        // difficulty: numbers to add, 2..kChainSumMaxTerms
  int term_digits = 3;  // digits of each (zero-padded) term, 1..6
  SplitRule split;
};

inline void validate(const ChainSumConfig& config) {
  require(config.terms >= 2 && config.terms <= kChainSumMaxTerms, "ChainSumConfig.terms: expected 2..",
          kChainSumMaxTerms, ", got ", config.terms);
  require(config.term_digits >= 1 && config.term_digits <= 6, "ChainSumConfig.term_digits: expected 1..6, got ",
          config.term_digits);
}

// One step of a chain whose written result is wrong by `delta`.
struct ChainSlip {
  int step = 0;             // 0-based step of the chain (terms - 1 steps)
  std::int64_t delta = 0;   // written result = true result + delta
};

class ChainSum {
 public:
  ChainSum(std::vector<std::int64_t> terms, int term_digits) : terms_(std::move(terms)), term_digits_(term_digits) {
    validate(ChainSumConfig{static_cast<int>(terms_.size()), term_digits_, {}});
    const std::int64_t bound = detail::power_of_ten(term_digits_);
    for (const std::int64_t term : terms_)
      require(term >= 0 && term < bound, "ChainSum: term ", term, " does not fit in ", term_digits_, " digits");
  }

  // Reads "483+295+106=" back (the term width from the text; all terms must share it).
  static ChainSum parse(std::string_view prompt) {
    require(prompt.size() >= 4 && prompt.size() <= 128 && prompt.back() == '=', "chain-sum prompt '", prompt,
            "': expected the form <digits>+<digits>[+<digits>...]=");
    const std::string_view body = prompt.substr(0, prompt.size() - 1);
    const std::string context = "chain-sum prompt '" + std::string(prompt) + "': ";
    detail::DecimalList terms = detail::parse_decimal_list(body, '+', 6, kChainSumMaxTerms, context, "term");
    return ChainSum(std::move(terms.values), terms.width);
  }

  const std::vector<std::int64_t>& terms() const { return terms_; }
  int term_count() const { return static_cast<int>(terms_.size()); }
  int term_digits() const { return term_digits_; }
  int sum_digits() const { return term_digits_ + 1; }  // 10 terms of 10^d - 1 stay below 10^(d+1)
  int steps() const { return term_count() - 1; }
  std::int64_t sum() const {
    std::int64_t total = 0;
    for (const std::int64_t term : terms_) total += term;
    return total;
  }

  std::string prompt() const {
    std::string text;
    for (std::size_t i = 0; i < terms_.size(); ++i) {
      if (i > 0) text += '+';
      text += detail::zero_padded(terms_[i], term_digits_);
    }
    return text + "=";
  }
  std::string answer() const { return detail::zero_padded(sum(), sum_digits()); }

  Problem problem() const {
    Problem problem;
    problem.prompt = prompt();
    problem.answer = answer();
    problem.extra = Json{{"identity", "chain_sum:" + problem.prompt}, {"task", "chain_sum"}, {"terms", term_count()}};
    return problem;
  }

  // A chain of steps adding the terms left to right (or right to left, `reversed`),
  // with an optional slip, and the sum it ends on (wrong after a slip).
  struct Chain {
    std::string text;
    std::int64_t result = 0;
  };
  Chain chain(bool reversed, std::optional<ChainSlip> slip = std::nullopt) const {
    require(!slip || (slip->step >= 0 && slip->step < steps()), "ChainSum::chain: slip step ", slip ? slip->step : 0,
            " outside 0..", steps() - 1);
    const auto term = [&](int i) { return terms_[static_cast<std::size_t>(reversed ? term_count() - 1 - i : i)]; };
    Chain chain;
    std::int64_t running = term(0);
    for (int step = 0; step < steps(); ++step) {
      std::int64_t result = running + term(step + 1);
      if (slip && slip->step == step) result += slip->delta;
      require(result >= 0 && result < detail::power_of_ten(sum_digits()), "ChainSum::chain: slip delta ",
              slip ? slip->delta : 0, " takes the sum out of ", sum_digits(), " digits");
      if (step > 0) chain.text += ';';
      chain.text += detail::zero_padded(running, sum_digits()) + "+" + detail::zero_padded(term(step + 1), term_digits_) +
                    "=" + detail::zero_padded(result, sum_digits());
      running = result;
    }
    chain.result = running;
    return chain;
  }

  std::string direct_completion() const { return "<think></think><answer>" + answer() + "</answer>"; }

  // Worked in one direction (`reversed`: right to left); with a slip the answer is the chain's wrong result.
  std::string worked_completion(std::optional<ChainSlip> slip = std::nullopt, bool reversed = false) const {
    const Chain first = chain(reversed, slip);
    return "<think>" + first.text + "</think><answer>" + padded(first.result) + "</answer>";
  }

  // Worked in one direction, then checked in the other; a mismatch (only after a
  // slip of the first chain) is caught and the first chain worked again, correctly.
  std::string checked_completion(std::optional<ChainSlip> slip = std::nullopt, bool reversed = false) const {
    const Chain forward = chain(reversed, slip);
    const Chain backward = chain(!reversed);
    std::string text = "<think>" + forward.text + "<check>" + backward.text;
    std::int64_t answer = forward.result;
    if (forward.result == backward.result) {
      text += "<ok>";
    } else {
      const Chain redo = chain(reversed);
      text += "<wrong>" + redo.text;
      answer = redo.result;
    }
    return text + "</think><answer>" + padded(answer) + "</answer>";
  }

  std::string padded(std::int64_t value) const { return detail::zero_padded(value, sum_digits()); }

 private:
  std::vector<std::int64_t> terms_;
  int term_digits_;
};

inline ChainSum draw_chain_sum(const ChainSumConfig& config, Philox& random) {
  validate(config);
  std::vector<std::int64_t> terms(static_cast<std::size_t>(config.terms));
  for (auto& term : terms) term = uniform_below(random, detail::power_of_ten(config.term_digits));
  return ChainSum(std::move(terms), config.term_digits);
}

// `count` problems of `split` at one difficulty, deterministic in (config, split, seed).
// The split is by the prompt, so a problem is held out at most once across levels.
inline std::vector<Problem> chain_sum_problems(const ChainSumConfig& config, Split split, std::size_t count,
                                               std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "chain_sum",
                                [&](Philox& random) { return draw_chain_sum(config, random).problem(); });
}

// A slip at a uniformly drawn step: ±1, ±10 or ±100 with equal probability, drawn
// again while it would take the sum below 0 or past the sum's digits.
// `reversed`: for the chain that adds right to left.
inline ChainSlip draw_chain_slip(const ChainSum& problem, Philox& random, bool reversed = false) {
  static constexpr std::int64_t kMagnitudes[] = {1, 10, 100};
  const std::int64_t limit = detail::power_of_ten(problem.sum_digits());
  const auto term = [&](int i) {
    return problem.terms()[static_cast<std::size_t>(reversed ? problem.term_count() - 1 - i : i)];
  };
  for (;;) {
    ChainSlip slip;
    slip.step = static_cast<int>(uniform_below(random, problem.steps()));
    slip.delta = kMagnitudes[uniform_below(random, 3)] * (uniform_below(random, 2) == 0 ? 1 : -1);
    std::int64_t running = term(0);
    bool fits = true;
    for (int step = 0; step < problem.steps(); ++step) {
      running += term(step + 1) + (step == slip.step ? slip.delta : 0);
      fits = fits && running >= 0 && running < limit;
    }
    if (fits) return slip;
  }
}

enum class ChainSumStyle : std::uint8_t { direct, worked, checked };

struct ChainSumCorpusConfig {
  std::vector<int> levels{2, 3, 4, 6};  // term counts, drawn uniformly per example
  int term_digits = 3;
  SplitRule split;
  double worked_fraction = 0.5;   // examples worked out; the rest answer directly
  double slip_fraction = 0.15;    // worked (or checked) examples whose first chain slips once
  double checked_fraction = 0.05; // of the worked examples, those that check (and correct a slip)
  double reversed_fraction = 0.5; // of the worked examples, those whose (first) chain adds right to left
  // The slip rate of the checked examples; < 0: slip_fraction, so that a check is not more likely after a slip.
  double checked_slip_fraction = -1;
};

struct ChainSumExample {
  std::string prompt;
  std::string completion;
  int terms = 0;
  ChainSumStyle style = ChainSumStyle::direct;
  bool slipped = false;
  bool reversed = false;  // the (first) chain adds right to left
};

// `count` training-split examples (repeats allowed: a corpus is sampled),
// deterministic in (config, seed). Held-out problems never appear. By default
// whether an example slips and whether it checks are independent: a check is
// not more likely after a slip (checked_slip_fraction changes that).
inline std::vector<ChainSumExample> chain_sum_pretraining_corpus(const ChainSumCorpusConfig& config, std::size_t count,
                                                                 std::uint64_t seed) {
  const auto fraction_ok = [](double f) { return f >= 0.0 && f <= 1.0; };
  require(!config.levels.empty(), "ChainSumCorpusConfig.levels: expected at least one term count");
  require(fraction_ok(config.worked_fraction) && fraction_ok(config.slip_fraction) &&
              fraction_ok(config.checked_fraction) && fraction_ok(config.reversed_fraction),
          "ChainSumCorpusConfig: worked_fraction, slip_fraction, checked_fraction and reversed_fraction must be in "
          "[0, 1]");
  Philox random{seed, /*stream=*/0xc4a175ull};
  std::vector<ChainSumExample> corpus;
  corpus.reserve(count);
  while (corpus.size() < count) {
    const int terms = config.levels[static_cast<std::size_t>(
        uniform_below(random, static_cast<std::int64_t>(config.levels.size())))];
    const ChainSumConfig level{terms, config.term_digits, config.split};
    const ChainSum problem = draw_chain_sum(level, random);
    if (split_of("chain_sum:" + problem.prompt(), config.split) != Split::train) continue;
    ChainSumExample example{problem.prompt(), {}, terms, ChainSumStyle::direct, false};
    if (random.uniform() < config.worked_fraction) {
      example.reversed = random.uniform() < config.reversed_fraction;
      const bool checks = random.uniform() < config.checked_fraction;
      const double slip_fraction = checks && config.checked_slip_fraction >= 0 ? config.checked_slip_fraction
                                                                                : config.slip_fraction;
      std::optional<ChainSlip> slip;
      if (random.uniform() < slip_fraction) slip = draw_chain_slip(problem, random, example.reversed);
      example.slipped = slip.has_value();
      if (checks) {
        example.style = ChainSumStyle::checked;
        example.completion = problem.checked_completion(slip, example.reversed);
      } else {
        example.style = ChainSumStyle::worked;
        example.completion = problem.worked_completion(slip, example.reversed);
      }
    } else {
      example.completion = problem.direct_completion();
    }
    corpus.push_back(std::move(example));
  }
  return corpus;
}

}  // namespace r1
