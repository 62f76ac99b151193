// The plus-minus task family (r1/tasks/plus_minus.hpp) and its self-check detector
// (r1/tasks/plus_minus_trace.hpp). Expected strings and values are worked by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/tasks/plus_minus.hpp"
#include "r1/tasks/plus_minus_trace.hpp"

namespace {

// Signs before 23, 81, 15 (bit 0 is the sign before 23):
//   +++ 166, -++ 120, +-+ 4, --+ -42, ++- 136, -+- 90, +-- -26, --- -72: 47+23-81+15 is the one solution of 4.
const r1::PlusMinus kExample{{47, 23, 81, 15}, 2, 4};
constexpr r1::SignPattern kSolution = 0b010;

}  // namespace

TEST_CASE("plus-minus: prompt, values, chains, checks and completions") {
  CHECK(kExample.prompt() == "47?23?81?15=004");
  CHECK(kExample.pattern_count() == 8);
  const std::int64_t values[] = {166, 120, 4, -42, 136, 90, -26, -72};
  for (r1::SignPattern pattern = 0; pattern < 8; ++pattern) CHECK(kExample.value(pattern) == values[pattern]);
  CHECK(kExample.solution_count() == 1);
  CHECK(kExample.solves(kSolution));
  CHECK_FALSE(kExample.solves(8));  // not a pattern of three signs
  CHECK(kExample.expression(kSolution) == "47+23-81+15");
  CHECK(kExample.chain(kSolution) == "+23=+070;-81=-011;+15=+004");
  CHECK(kExample.chain(0b111) == "-23=+024;-81=-057;-15=-072");
  CHECK(kExample.check(136) == "+136>004");
  CHECK(kExample.check(-72) == "-072<004");
  CHECK(kExample.check(3) == "+003<004");
  CHECK(kExample.check(4) == "+004=004");
  CHECK(kExample.direct_completion(kSolution) == "<think></think><answer>47+23-81+15</answer>");
  CHECK(kExample.worked_completion(kSolution) == "<think>+23=+070;-81=-011;+15=+004</think><answer>47+23-81+15</answer>");
  CHECK(kExample.checked_completion(kSolution) ==
        "<think>+23=+070;-81=-011;+15=+004<check>+004=004<ok></think><answer>47+23-81+15</answer>");
  // ++- reaches 136; of the patterns one or two flips away, +-+ (two flips) reaches 4 exactly.
  CHECK(kExample.checked_completion(0b100) ==
        "<think>+23=+070;+81=+151;-15=+136<check>+136>004<wrong>+23=+070;-81=-011;+15=+004<check>+004=004"
        "<ok></think><answer>47+23-81+15</answer>");
  // With one attempt the wrong guess is the answer.
  CHECK(kExample.checked_completion(0b100, 1) ==
        "<think>+23=+070;+81=+151;-15=+136<check>+136>004<wrong></think><answer>47+23+81-15</answer>");
  const r1::Problem problem = kExample.problem(kSolution);
  CHECK(problem.prompt == "47?23?81?15=004");
  CHECK(problem.answer == "47+23-81+15");
  CHECK(problem.numbers == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(problem.target == 4);
  CHECK(problem.extra["identity"] == "plus_minus:47?23?81?15=004");
  CHECK_THROWS_AS(kExample.problem(0), r1::Error);  // 166 is not the target
}

TEST_CASE("plus-minus: the revision moves towards the target, fewer flips and smaller patterns first") {
  // From ++- (136, 132 away): +-- -26 (30 away, one flip) loses to +-+ 4 (two flips, exact).
  CHECK(kExample.revision(0b100, {0b100}) == 0b010);
  // 10?10?10=010: -- reaches -10; ++ 30, -+ 10 and +- 10; the two exact ones are one flip away: the smaller wins.
  const r1::PlusMinus tie{{10, 10, 10}, 2, 10};
  CHECK(tie.revision(0b11, {0b11}) == 0b01);
  CHECK(tie.revision(0b11, {0b11, 0b01}) == 0b10);
  // Every neighbour tried: the pattern itself comes back.
  CHECK(tie.revision(0b11, {0b11, 0b01, 0b10, 0b00}) == 0b11);
}

TEST_CASE("plus-minus: parse round-trips and rejects malformed prompts") {
  const auto parsed = r1::PlusMinus::parse("47?23?81?15=004");
  CHECK(parsed.numbers() == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(parsed.digits() == 2);
  CHECK(parsed.target() == 4);
  CHECK(r1::PlusMinus::parse("07?05=002").numbers() == std::vector<std::int64_t>{7, 5});
  for (const char* bad : {"", "=", "47=047", "47?23=70", "47?23=0070", "47+23=070", "4?23=070", "47?23?=070",
                          "47?23=", "47?23070", "47?2a=070", "12345?12345=123456",
                          "10?10?10?10?10?10?10?10?10?10?10=010"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(r1::PlusMinus::parse(bad), r1::Error);
  }
  CHECK_THROWS_AS(r1::PlusMinus({47}, 2, 47), r1::Error);        // one number
  CHECK_THROWS_AS(r1::PlusMinus({147, 23}, 2, 124), r1::Error);  // 147 is not two digits
  CHECK_THROWS_AS(r1::PlusMinus({47, 23}, 2, 1000), r1::Error);  // the target is three digits at most
  CHECK_THROWS_AS(r1::PlusMinus({47, 23}, 2, -1), r1::Error);
}

TEST_CASE("plus-minus: levels, targets, witnesses, disjoint splits and determinism") {
  std::set<std::string> train_prompts;
  for (const int numbers : {2, 3, 4, 6, 10}) {
    const r1::PlusMinusConfig config{numbers, 2, {}};
    const auto train = r1::plus_minus_problems(config, r1::Split::train, 300, 5);
    const auto held_out = r1::plus_minus_problems(config, r1::Split::held_out, 60, 5);
    for (const auto& problem : train) train_prompts.insert(problem.prompt);
    for (const auto* set : {&train, &held_out}) {
      for (const auto& problem : *set) {
        const auto parsed = r1::PlusMinus::parse(problem.prompt);
        CHECK(parsed.count() == numbers);
        CHECK(parsed.target() >= 0);
        for (const auto number : parsed.numbers()) CHECK((number >= 10 && number <= 99));
        // The stored witness is a solution the verifier's reading accepts.
        const auto trace = r1::trace_plus_minus(parsed, "<think></think><answer>" + problem.answer + "</answer>");
        CHECK(trace.well_formed);
        CHECK(trace.answer_solves);
      }
    }
    for (const auto& problem : held_out) CHECK(train_prompts.count(problem.prompt) == 0);
    CHECK(r1::plus_minus_problems(config, r1::Split::train, 300, 5)[299].prompt == train[299].prompt);
  }
  CHECK_THROWS_AS(r1::plus_minus_problems({1, 2, {}}, r1::Split::train, 1, 1), r1::Error);
  CHECK_THROWS_AS(r1::plus_minus_problems({11, 2, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("plus-minus: near misses are wrong and one or two flips from the solution") {
  r1::Philox random{9, 1};
  for (int i = 0; i < 500; ++i) {
    const auto draw = r1::draw_plus_minus({3 + i % 4, 2, {}}, random);
    const r1::SignPattern miss = r1::draw_near_miss(draw.problem, draw.witness, random);
    CHECK_FALSE(draw.problem.solves(miss));
    const int flips = std::popcount(miss ^ draw.witness);
    CHECK((flips == 1 || flips == 2));
  }
}

TEST_CASE("plus-minus: the pretraining corpus has the configured shares and never a held-out problem") {
  r1::PlusMinusCorpusConfig config;
  config.checked_fraction = 0.1;
  config.checked_miss_fraction = 0.5;
  const auto corpus = r1::plus_minus_pretraining_corpus(config, 20000, 3);
  REQUIRE(corpus.size() == 20000);
  std::size_t worked = 0, checked = 0, checked_missed = 0, worked_missed = 0, direct_right = 0;
  std::set<int> levels;
  for (const auto& example : corpus) {
    const auto problem = r1::PlusMinus::parse(example.prompt);
    CHECK(problem.count() == example.numbers);
    levels.insert(example.numbers);
    CHECK(r1::split_of("plus_minus:" + example.prompt, config.split) == r1::Split::train);
    const auto trace = r1::trace_plus_minus(problem, example.completion);
    REQUIRE(trace.well_formed);
    switch (example.style) {
      case r1::PlusMinusStyle::direct:
        CHECK(trace.style == r1::PlusMinusStyle::direct);
        direct_right += trace.answer_solves ? 1 : 0;
        break;
      case r1::PlusMinusStyle::worked:
        ++worked;
        CHECK(trace.style == r1::PlusMinusStyle::worked);
        CHECK(trace.first_guess_wrong() == example.missed);
        CHECK(trace.answer_solves == !example.missed);
        worked_missed += example.missed ? 1 : 0;
        break;
      case r1::PlusMinusStyle::checked:
        ++checked;
        CHECK(trace.style == r1::PlusMinusStyle::checked);
        CHECK(trace.first_guess_wrong() == example.missed);
        for (const auto& attempt : trace.attempts) {
          CHECK(attempt.arithmetic_right);
          CHECK(attempt.numbers_match);
          CHECK(attempt.check_right);
        }
        checked_missed += example.missed ? 1 : 0;
        CHECK(trace.caught_and_corrected() == (example.missed && trace.answer_solves));
        break;
    }
  }
  CHECK(levels == std::set<int>{3, 4, 5, 6});
  CHECK(direct_right == corpus.size() - worked - checked);
  // Binomial standard errors: worked share sqrt(.25/20000) = 0.0035; checked of worked sqrt(.09/10000) = 0.003;
  // misses sqrt(.1275/9000) = 0.0038 and sqrt(.25/1000) = 0.016. Bounds are 4 to 5 of them (deterministic seed).
  const double worked_share = double(worked + checked) / double(corpus.size());
  CHECK(std::abs(worked_share - 0.5) < 0.015);
  CHECK(std::abs(double(checked) / double(worked + checked) - 0.1) < 0.015);
  CHECK(std::abs(double(worked_missed) / double(worked) - 0.15) < 0.02);
  CHECK(std::abs(double(checked_missed) / double(checked) - 0.5) < 0.08);
  // Most corrections of a near miss succeed within four attempts.
  std::size_t corrected = 0;
  for (const auto& example : corpus)
    if (example.style == r1::PlusMinusStyle::checked && example.missed &&
        r1::trace_plus_minus(r1::PlusMinus::parse(example.prompt), example.completion).caught_and_corrected())
      ++corrected;
  CHECK(double(corrected) > 0.9 * double(checked_missed));
  r1::PlusMinusCorpusConfig bad;
  bad.miss_fraction = 1.5;
  CHECK_THROWS_AS(r1::plus_minus_pretraining_corpus(bad, 1, 1), r1::Error);
}

TEST_CASE("plus-minus trace: reads each style and finds the caught-and-corrected completions") {
  const auto direct = r1::trace_plus_minus(kExample, "<think></think><answer>47+23-81+15</answer>");
  CHECK(direct.well_formed);
  CHECK(direct.style == r1::PlusMinusStyle::direct);
  CHECK(direct.attempts.empty());
  CHECK(direct.answer == kSolution);
  CHECK(direct.answer_solves);
  CHECK_FALSE(direct.first_guess_wrong());

  const auto caught = r1::trace_plus_minus(kExample, kExample.checked_completion(0b100));
  CHECK(caught.self_checked());
  REQUIRE(caught.attempts.size() == 2);
  CHECK(caught.attempts[0].pattern == 0b100);
  CHECK(caught.attempts[0].reached == 136);
  CHECK(caught.attempts[0].verdict == r1::PlusMinusVerdict::wrong);
  CHECK(caught.attempts[0].check_right);
  CHECK(caught.attempts[1].verdict == r1::PlusMinusVerdict::ok);
  CHECK(caught.first_guess_wrong());
  CHECK(caught.caught_and_corrected());

  // Wrong arithmetic, a wrong number, and a check that misreads the chain's value: read, and flagged.
  const auto sloppy = r1::trace_plus_minus(
      kExample, "<think>+23=+071;-80=-009;+15=+006<check>+004=004<ok></think><answer>47+23-81+15</answer>");
  REQUIRE(sloppy.well_formed);
  CHECK_FALSE(sloppy.attempts[0].arithmetic_right);
  CHECK_FALSE(sloppy.attempts[0].numbers_match);
  CHECK_FALSE(sloppy.attempts[0].check_right);  // the chain reached 6, the check read 4
  CHECK(sloppy.attempts[0].guess_solves);       // the signs written are right
  // A check that reads the value and the target but states the wrong relation.
  const auto misjudged = r1::trace_plus_minus(
      kExample, "<think>+23=+070;-81=-011;+15=+004<check>+004<004<ok></think><answer>47+23-81+15</answer>");
  REQUIRE(misjudged.well_formed);
  CHECK_FALSE(misjudged.attempts[0].check_right);
  CHECK(misjudged.attempts[0].arithmetic_right);

  // Checked, the check says <wrong>, but the answer repeats the miss: checked and not caught.
  const auto stubborn = r1::trace_plus_minus(
      kExample, "<think>+23=+070;+81=+151;-15=+136<check>+136>004<wrong></think><answer>47+23+81-15</answer>");
  CHECK(stubborn.self_checked());
  CHECK_FALSE(stubborn.answer_solves);
  CHECK_FALSE(stubborn.caught_and_corrected());

  // A right answer after a check that misjudged: not an "aha".
  const auto lucky = r1::trace_plus_minus(
      kExample, "<think>+23=+070;+81=+151;-15=+136<check>+136<004<wrong>+23=+070;-81=-011;+15=+004<check>+004=004<ok>"
                "</think><answer>47+23-81+15</answer>");
  CHECK(lucky.answer_solves);
  CHECK_FALSE(lucky.caught_and_corrected());

  // An answer that reorders the numbers is well formed but not read as signs.
  const auto reordered = r1::trace_plus_minus(kExample, "<think></think><answer>23+47-81+15</answer>");
  CHECK(reordered.well_formed);
  CHECK_FALSE(reordered.answer.has_value());
  CHECK_FALSE(reordered.answer_solves);
}

TEST_CASE("plus-minus trace: anything off the grammar is not well formed, and nothing throws") {
  for (const char* bad : {"", "<think>", "<think></think>", "<think></think><answer></answer>",
                          "<think></think><answer>47+23-81+15", "<think></think><answer>47+23-81+15</answer>x",
                          "<think>+23=+070;-81=-011</think><answer>47+23-81+15</answer>",             // too short
                          "<think>+23=+070;-81=-011;+15=+004;+1=+005</think><answer>47+23-81+15</answer>",  // too long
                          "<think>23=+070;-81=-011;+15=+004</think><answer>47+23-81+15</answer>",    // no sign
                          "<think>+23=070;-81=-011;+15=+004</think><answer>47+23-81+15</answer>",    // unsigned value
                          "<think>+23=+070;-81=-011;+15=+004<check>+004=004</think><answer>47+23-81+15</answer>",
                          "<think>+23=+070;-81=-011;+15=+004<ok></think><answer>47+23-81+15</answer>",
                          "<think>+23=+070;-81=-011;+15=+004<check>+004<ok></think><answer>47+23-81+15</answer>",
                          "<think>+23=+070;-81=-011;+15=+004<check>+004004<ok></think><answer>47+23-81+15</answer>",
                          "<think>+23=+070;-81=-011;+15=+004<check>+004=004<ok>+23=+070;-81=-011;+15=+004"
                          "</think><answer>47+23-81+15</answer>",  // a chain after <ok>
                          "<think></think><answer>47+23-81+1234567890123</answer>",
                          "<think></think><answer>47+-23</answer>"}) {
    CAPTURE(bad);
    CHECK_FALSE(r1::trace_plus_minus(kExample, bad).well_formed);
  }
  const std::string huge = "<think>" + std::string(5000, '+') + "</think><answer>47</answer>";
  CHECK_FALSE(r1::trace_plus_minus(kExample, huge).well_formed);
}
