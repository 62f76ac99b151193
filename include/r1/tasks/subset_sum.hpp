#pragma once
// A guess-and-check task for R1-Zero's "second act": pick some of the numbers so
// that they add up to a target. Choosing the numbers is a subset-sum search (2^n
// subsets of n numbers), which a small model cannot do in one shot at large n;
// checking a choice is a comparison. The work is unsigned one-shot additions
// only. Difficulty is n.
//
//   prompt   47,23,81,15=062          (numbers of `digits` digits; target digits + 1 digits)
//   direct   <think></think><answer>47+15</answer>
//   worked   <think>+47=047;+15=062</think><answer>47+15</answer>
//   checked  <think>+47=047;+23=070<check>070>062<wrong>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>
//   checked, revised on paper (SubsetSumRevision::gap_move)
//            <think>+47=047;+23=070<check>070>062<wrong>062+008=070,23+47=047<check>047<062<wrong>047+015=062,15+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>
//
// A chain adds the chosen numbers in the prompt's order, one step
// "+<number>=<running sum>" each. The check substitutes the chain's sum back and
// compares it with the target: "<sum>" then '<', '=' or '>' then "<target>". On a
// mismatch (<wrong>) the choice is revised, the comparison saying which way to
// move, and the chain worked and checked again, up to a budget of attempts. Two
// revisions (SubsetSumRevision):
// - nearest_sum (the committed bases' corpus): of the untried choices that add or
//   drop one or two numbers, the one whose sum is nearest the target. The sums it
//   compares are never written, so a model can only guess it.
// - gap_move: worked on paper, from what the text shows. The gap is written as an
//   addition, "<smaller>+<gap>=<larger>" of the chain's sum and the target (only
//   the task's characters), then ",<number>": the move. Over the target, the
//   chosen number nearest the gap is dropped; under it, the unchosen number nearest
//   the gap is added (ties: the first in the prompt's order), never the number the
//   previous move toggled and never emptying the choice. When the gap equals a
//   number that one move solves; otherwise the next check shows the new gap.
//
// The corpus's checked examples start from a missed choice drawn one of two ways
// (SubsetSumMissDraw): near (the committed bases: one or two numbers off a
// solution, so with gap_move most first gaps are a number of the prompt) or far
// (draw_far_miss: the first gap is no number of the prompt, bar problems with no
// such choice, and the revision still reaches the target; the gap before a move
// that solves is that number either way).
//
//   r1::SubsetSum problem{{47, 23, 81, 15}, 2, 62};
//   problem.prompt() == "47,23,81,15=062"; problem.sum(0b1001) == 62 (bit i: number i is chosen)
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

// Every plain character a subset-sum prompt or completion uses.
inline constexpr std::string_view kSubsetSumAlphabet = "0123456789+=;,<>";
// Its tags, each meant to be one token: the R1 tags and the three of the self-check.
inline constexpr std::string_view kSubsetSumTags[] = {"<think>", "</think>", "<answer>", "</answer>",
                                                      "<check>", "<ok>",     "<wrong>"};
// With at most 10 numbers of d digits every running sum and the target fit in d + 1 digits.
inline constexpr int kSubsetSumMaxNumbers = 10;

// How a checked completion revises its choice after a <wrong> (the header comment has both).
enum class SubsetSumRevision : std::uint8_t { nearest_sum, gap_move };

struct SubsetSumConfig {
  int numbers = 4;  // difficulty: numbers to choose from, 2..kSubsetSumMaxNumbers
  int digits = 2;   // digits of each number, 1..4; numbers are drawn in [10^(digits-1), 10^digits - 1]
  SplitRule split;
};

inline void validate(const SubsetSumConfig& config) {
  require(config.numbers >= 2 && config.numbers <= kSubsetSumMaxNumbers, "SubsetSumConfig.numbers: expected 2..",
          kSubsetSumMaxNumbers, ", got ", config.numbers);
  require(config.digits >= 1 && config.digits <= 4, "SubsetSumConfig.digits: expected 1..4, got ", config.digits);
}

// A choice of numbers: bit i set means number i is chosen.
using SubsetChoice = std::uint32_t;

class SubsetSum {
 public:
  SubsetSum(std::vector<std::int64_t> numbers, int digits, std::int64_t target)
      : numbers_(std::move(numbers)), digits_(digits), target_(target) {
    validate(SubsetSumConfig{static_cast<int>(numbers_.size()), digits_, {}});
    const std::int64_t bound = detail::power_of_ten(digits_);
    for (const std::int64_t number : numbers_)
      require(number >= 1 && number < bound, "SubsetSum: number ", number, " outside 1..", bound - 1);
    require(target_ >= 1 && target_ < detail::power_of_ten(sum_digits()), "SubsetSum: target ", target_,
            " outside 1..", detail::power_of_ten(sum_digits()) - 1);
  }

  // Reads "47,23,81,15=062" back; every number must have the same width, the target one digit more.
  static SubsetSum parse(std::string_view prompt) {
    require(prompt.size() >= 5 && prompt.size() <= 128, "subset-sum prompt '", prompt,
            "': expected the form <digits>,<digits>[,<digits>...]=<digits>");
    const std::size_t equals = prompt.find('=');
    require(equals != std::string_view::npos, "subset-sum prompt '", prompt, "': no '='");
    const std::string_view body = prompt.substr(0, equals);
    const std::string_view target = prompt.substr(equals + 1);
    const std::string context = "subset-sum prompt '" + std::string(prompt) + "': ";
    const detail::DecimalList numbers =
        detail::parse_decimal_list(body, ',', 4, kSubsetSumMaxNumbers, context, "number");
    const int width = numbers.width;
    require(static_cast<int>(target.size()) == width + 1 && detail::is_decimal(target), context, "the target must be ",
            width + 1, " digits");
    require(numbers.values.size() >= 2, context, "expected at least 2 numbers");
    return SubsetSum(numbers.values, width, detail::decimal_value(target));
  }

  const std::vector<std::int64_t>& numbers() const { return numbers_; }
  int count() const { return static_cast<int>(numbers_.size()); }
  int digits() const { return digits_; }
  int sum_digits() const { return digits_ + 1; }  // running sums and the target
  std::int64_t target() const { return target_; }
  SubsetChoice choice_count() const { return SubsetChoice{1} << count(); }

  std::int64_t sum(SubsetChoice choice) const {
    std::int64_t total = 0;
    for (int i = 0; i < count(); ++i) total += chosen(choice, i) ? numbers_[at(i)] : 0;
    return total;
  }
  bool solves(SubsetChoice choice) const { return choice < choice_count() && sum(choice) == target_; }
  int solution_count() const {
    int solutions = 0;
    for (SubsetChoice choice = 0; choice < choice_count(); ++choice) solutions += solves(choice) ? 1 : 0;
    return solutions;
  }

  std::string prompt() const {
    std::string text;
    for (int i = 0; i < count(); ++i) {
      if (i > 0) text += ',';
      text += detail::zero_padded(numbers_[at(i)], digits_);
    }
    return text + "=" + detail::zero_padded(target_, sum_digits());
  }

  // The chosen numbers in the prompt's order, "47+15" (the answer); empty for the empty choice.
  std::string expression(SubsetChoice choice) const {
    std::string text;
    for (int i = 0; i < count(); ++i) {
      if (!chosen(choice, i)) continue;
      if (!text.empty()) text += '+';
      text += detail::zero_padded(numbers_[at(i)], digits_);
    }
    return text;
  }

  // The chain of running sums, "+47=047;+15=062".
  std::string chain(SubsetChoice choice) const {
    std::string text;
    std::int64_t running = 0;
    for (int i = 0; i < count(); ++i) {
      if (!chosen(choice, i)) continue;
      running += numbers_[at(i)];
      if (!text.empty()) text += ';';
      text += "+" + detail::zero_padded(numbers_[at(i)], digits_) + "=" + detail::zero_padded(running, sum_digits());
    }
    return text;
  }

  // The check of a chain that ended on `value`: "070>062" (the sum compared with the target).
  std::string check(std::int64_t value) const {
    const char relation = value < target_ ? '<' : value > target_ ? '>' : '=';
    return detail::zero_padded(value, sum_digits()) + relation + detail::zero_padded(target_, sum_digits());
  }

  Problem problem(SubsetChoice witness) const {
    require(solves(witness), "SubsetSum::problem: the witness does not reach the target");
    Problem problem;
    problem.prompt = prompt();
    problem.answer = expression(witness);
    problem.numbers = numbers_;
    problem.target = target_;
    problem.extra = Json{{"identity", "subset_sum:" + problem.prompt}, {"task", "subset_sum"}, {"numbers", count()}};
    return problem;
  }

  std::string direct_completion(SubsetChoice choice) const {
    return "<think></think><answer>" + expression(choice) + "</answer>";
  }
  std::string worked_completion(SubsetChoice choice) const {
    return "<think>" + chain(choice) + "</think><answer>" + expression(choice) + "</answer>";
  }

  // The gap line of a chain that ended on `value` off the target: "<smaller>+<gap>=<larger>", "062+008=070".
  std::string gap_line(std::int64_t value) const {
    const std::int64_t smaller = std::min(value, target_), larger = std::max(value, target_);
    return detail::zero_padded(smaller, sum_digits()) + "+" + detail::zero_padded(larger - smaller, sum_digits()) +
           "=" + detail::zero_padded(larger, sum_digits());
  }

  // The gap_move revision's move after `choice` missed, as the index of the number to toggle: over the target the
  // chosen number nearest the gap, under it the unchosen one (ties: the first in the prompt's order); never a
  // number equal to `excluded` (the number the previous move toggled; 0: none: numbers are positive) and never
  // the last chosen number. -1 when there is none (or `choice` solves).
  int gap_move(SubsetChoice choice, std::int64_t excluded = 0) const {
    const std::int64_t reached = sum(choice);
    if (reached == target_) return -1;
    const bool over = reached > target_;
    const std::int64_t gap = over ? reached - target_ : target_ - reached;
    int best = -1;
    for (int i = 0; i < count(); ++i) {
      if (numbers_[at(i)] == excluded || chosen(choice, i) != over || (over && std::popcount(choice) == 1)) continue;
      if (best < 0 || std::abs(gap - numbers_[at(i)]) < std::abs(gap - numbers_[at(best)])) best = i;
    }
    return best;
  }

  // Worked with `first`, checked; on a mismatch revised (`revision`) and worked and checked again, at most
  // `max_attempts` chains. The answer is the last chain's numbers, right or not. `first` must not be empty.
  std::string checked_completion(SubsetChoice first, int max_attempts = 4,
                                 SubsetSumRevision revision_rule = SubsetSumRevision::nearest_sum) const {
    std::string text = "<think>";
    const SubsetChoice last = revise(first, max_attempts, revision_rule, &text);
    return text + "</think><answer>" + expression(last) + "</answer>";
  }

  // The choice a checked completion from `first` answers (its last chain), without writing the text.
  SubsetChoice revised_choice(SubsetChoice first, int max_attempts = 4,
                              SubsetSumRevision revision_rule = SubsetSumRevision::nearest_sum) const {
    return revise(first, max_attempts, revision_rule, nullptr);
  }

  // The next choice after `choice` missed: of the non-empty choices not in `tried` that add or drop one or two
  // numbers, the one whose sum is nearest the target (ties: fewer changes, then the smaller choice). `choice`
  // itself when there is none.
  SubsetChoice revision(SubsetChoice choice, const std::vector<SubsetChoice>& tried) const {
    SubsetChoice best = choice;
    std::int64_t best_distance = -1;
    int best_changes = 0;
    for (SubsetChoice candidate = 1; candidate < choice_count(); ++candidate) {
      const int changes = std::popcount(candidate ^ choice);
      if (changes < 1 || changes > 2 || std::find(tried.begin(), tried.end(), candidate) != tried.end()) continue;
      const std::int64_t distance = std::abs(sum(candidate) - target_);
      if (best_distance < 0 || distance < best_distance || (distance == best_distance && changes < best_changes)) {
        best = candidate;
        best_distance = distance;
        best_changes = changes;
      }
    }
    return best;
  }

 private:
  // The checked completion's attempts from `first` (checked_completion has the rule); appends the thinking's
  // text to `text` unless it is null, and returns the last chain's choice.
  SubsetChoice revise(SubsetChoice first, int max_attempts, SubsetSumRevision revision_rule, std::string* text) const {
    require(max_attempts >= 1, "SubsetSum::checked_completion: max_attempts must be >= 1");
    require(first != 0 && first < choice_count(), "SubsetSum::checked_completion: the first choice is empty or too wide");
    std::vector<SubsetChoice> tried;
    SubsetChoice choice = first;
    std::int64_t moved = 0;  // gap_move: the number the previous move toggled (0: none)
    for (int attempt = 0;; ++attempt) {
      tried.push_back(choice);
      const std::int64_t reached = sum(choice);
      if (text) *text += chain(choice) + "<check>" + check(reached);
      if (reached == target_) {
        if (text) *text += "<ok>";
        break;
      }
      if (text) *text += "<wrong>";
      if (attempt + 1 == max_attempts) break;
      if (revision_rule == SubsetSumRevision::gap_move) {
        const int move = gap_move(choice, moved);
        if (move < 0) break;  // no number to move
        moved = numbers_[at(move)];
        if (text) *text += gap_line(reached) + "," + detail::zero_padded(moved, digits_);
        choice ^= SubsetChoice{1} << move;
        continue;
      }
      const SubsetChoice next = revision(choice, tried);
      if (next == choice) break;  // nothing left to try nearby
      choice = next;
    }
    return choice;
  }

  static bool chosen(SubsetChoice choice, int i) { return ((choice >> i) & 1u) != 0; }
  static std::size_t at(int i) { return static_cast<std::size_t>(i); }

  std::vector<std::int64_t> numbers_;
  int digits_;
  std::int64_t target_;
};

// A problem and the choice it was drawn with (a solution; there may be others).
struct SubsetSumDraw {
  SubsetSum problem;
  SubsetChoice witness;
};

// Numbers uniform in [10^(digits-1), 10^digits - 1]; each chosen with probability 1/2, drawn again while none is.
inline SubsetSumDraw draw_subset_sum(const SubsetSumConfig& config, Philox& random) {
  validate(config);
  const std::int64_t low = config.digits == 1 ? 1 : detail::power_of_ten(config.digits - 1);
  const std::int64_t high = detail::power_of_ten(config.digits) - 1;
  std::vector<std::int64_t> numbers(static_cast<std::size_t>(config.numbers));
  for (auto& number : numbers) number = low + uniform_below(random, high - low + 1);
  SubsetChoice choice = 0;
  while (choice == 0) choice = static_cast<SubsetChoice>(uniform_below(random, std::int64_t{1} << config.numbers));
  std::int64_t target = 0;
  for (int i = 0; i < config.numbers; ++i) target += ((choice >> i) & 1u) ? numbers[static_cast<std::size_t>(i)] : 0;
  return {SubsetSum(std::move(numbers), config.digits, target), choice};
}

// `count` problems of `split` at one difficulty, deterministic in (config, split, seed).
// The split is by the prompt, so a problem is held out at most once across levels.
inline std::vector<Problem> subset_sum_problems(const SubsetSumConfig& config, Split split, std::size_t count,
                                                std::uint64_t seed, bool distinct = true) {
  validate(config);
  return draw_problems_in_split(count, split, config.split, seed, distinct, "subset_sum", [&](Philox& random) {
    const SubsetSumDraw draw = draw_subset_sum(config, random);
    return draw.problem.problem(draw.witness);
  });
}

// A wrong, non-empty choice near `solution`: one or two numbers added or dropped (one or two with equal
// probability), drawn again while it still reaches the target or is empty. `solution` when every other
// nearby choice also solves (only possible for tiny problems).
inline SubsetChoice draw_near_miss(const SubsetSum& problem, SubsetChoice solution, Philox& random) {
  const int n = problem.count();
  for (int attempt = 0; attempt < 1000; ++attempt) {
    SubsetChoice choice = solution ^ (SubsetChoice{1} << uniform_below(random, n));
    if (uniform_below(random, 2) == 1) {
      const SubsetChoice second = SubsetChoice{1} << uniform_below(random, n);
      if ((choice ^ solution) != second) choice ^= second;
    }
    if (choice != 0 && !problem.solves(choice)) return choice;
  }
  return solution;
}

// A wrong first choice of a checked example that is not a near miss: drawn uniformly from the non-empty wrong
// choices whose gap to the target, |sum - target|, is no number of the prompt (so the first written gap cannot be
// copied from the prompt, and the choice is at least two changes from every solution: one change would make the
// gap that number) and from which `revision_rule` reaches the target within `max_attempts` chains (so the
// checked example still ends right, as most near misses' do). draw_near_miss's draw when there is none.
inline SubsetChoice draw_far_miss(const SubsetSum& problem, SubsetChoice solution, Philox& random,
                                  int max_attempts = 4,
                                  SubsetSumRevision revision_rule = SubsetSumRevision::nearest_sum) {
  const auto is_prompt_number = [&](std::int64_t value) {
    return std::find(problem.numbers().begin(), problem.numbers().end(), value) != problem.numbers().end();
  };
  std::vector<SubsetChoice> candidates;
  for (SubsetChoice choice = 1; choice < problem.choice_count(); ++choice) {
    if (problem.solves(choice) || is_prompt_number(std::abs(problem.sum(choice) - problem.target()))) continue;
    if (problem.solves(problem.revised_choice(choice, max_attempts, revision_rule))) candidates.push_back(choice);
  }
  if (candidates.empty()) return draw_near_miss(problem, solution, random);
  return candidates[static_cast<std::size_t>(uniform_below(random, static_cast<std::int64_t>(candidates.size())))];
}

// How a checked example's missed first choice is drawn: near (draw_near_miss, the committed bases' corpus) or
// far (draw_far_miss).
enum class SubsetSumMissDraw : std::uint8_t { near, far };

enum class SubsetSumStyle : std::uint8_t { direct, worked, checked };

struct SubsetSumCorpusConfig {
  std::vector<int> levels{3, 4, 5, 6};  // numbers per problem, drawn uniformly per example
  int digits = 2;
  SplitRule split;
  double worked_fraction = 0.5;         // examples worked out; the rest answer directly
  double miss_fraction = 0.15;          // examples whose (first) choice misses the target, direct or worked
  double direct_miss_fraction = -1;     // the miss rate of the direct answers; < 0: miss_fraction
  double checked_fraction = 0.05;       // of the worked examples, those that check (and revise a miss)
  double checked_miss_fraction = -1;    // the miss rate of the checked examples; < 0: miss_fraction
  int max_attempts = 4;                 // chains a checked example works at most
  SubsetSumRevision revision = SubsetSumRevision::nearest_sum;  // how a checked example revises a miss
  SubsetSumMissDraw checked_miss_draw = SubsetSumMissDraw::near;  // how a checked example's missed first choice is drawn
};

struct SubsetSumExample {
  std::string prompt;
  std::string completion;
  int numbers = 0;
  SubsetSumStyle style = SubsetSumStyle::direct;
  bool missed = false;  // the (first) choice does not reach the target
};

// `count` training-split examples (repeats allowed: a corpus is sampled),
// deterministic in (config, seed). Held-out problems never appear. A direct answer
// is a guess like a worked example's first choice: wrong with direct_miss_fraction
// (by default miss_fraction); a worked example chooses wrong with miss_fraction and
// then answers its wrong choice unless it checks.
inline std::vector<SubsetSumExample> subset_sum_pretraining_corpus(const SubsetSumCorpusConfig& config,
                                                                   std::size_t count, std::uint64_t seed) {
  const auto fraction_ok = [](double f) { return f >= 0.0 && f <= 1.0; };
  require(!config.levels.empty(), "SubsetSumCorpusConfig.levels: expected at least one level");
  require(fraction_ok(config.worked_fraction) && fraction_ok(config.miss_fraction) &&
              fraction_ok(config.checked_fraction) &&
              (config.checked_miss_fraction < 0 || fraction_ok(config.checked_miss_fraction)) &&
              (config.direct_miss_fraction < 0 || fraction_ok(config.direct_miss_fraction)),
          "SubsetSumCorpusConfig: worked_fraction, miss_fraction, checked_fraction, checked_miss_fraction and "
          "direct_miss_fraction must be in [0, 1]");
  require(config.max_attempts >= 1, "SubsetSumCorpusConfig.max_attempts: expected >= 1");
  Philox random{seed, /*stream=*/0x5b5e75ull};
  std::vector<SubsetSumExample> corpus;
  corpus.reserve(count);
  while (corpus.size() < count) {
    const int numbers = config.levels[static_cast<std::size_t>(
        uniform_below(random, static_cast<std::int64_t>(config.levels.size())))];
    const SubsetSumDraw draw = draw_subset_sum({numbers, config.digits, config.split}, random);
    const SubsetSum& problem = draw.problem;
    if (split_of("subset_sum:" + problem.prompt(), config.split) != Split::train) continue;
    SubsetSumExample example{problem.prompt(), {}, numbers, SubsetSumStyle::direct, false};
    if (random.uniform() < config.worked_fraction) {
      const bool checks = random.uniform() < config.checked_fraction;
      const double miss = checks && config.checked_miss_fraction >= 0 ? config.checked_miss_fraction
                                                                       : config.miss_fraction;
      SubsetChoice choice = draw.witness;
      if (random.uniform() < miss)
        choice = checks && config.checked_miss_draw == SubsetSumMissDraw::far
                     ? draw_far_miss(problem, draw.witness, random, config.max_attempts, config.revision)
                     : draw_near_miss(problem, draw.witness, random);
      example.missed = !problem.solves(choice);
      example.style = checks ? SubsetSumStyle::checked : SubsetSumStyle::worked;
      example.completion =
          checks ? problem.checked_completion(choice, config.max_attempts, config.revision)
                 : problem.worked_completion(choice);
    } else {
      const double miss = config.direct_miss_fraction >= 0 ? config.direct_miss_fraction : config.miss_fraction;
      SubsetChoice choice = draw.witness;
      if (random.uniform() < miss) choice = draw_near_miss(problem, draw.witness, random);
      example.missed = !problem.solves(choice);
      example.completion = problem.direct_completion(choice);
    }
    corpus.push_back(std::move(example));
  }
  return corpus;
}

}  // namespace r1
