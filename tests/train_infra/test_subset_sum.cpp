// The subset-sum task family (r1/tasks/subset_sum.hpp), its self-check detector
// (r1/tasks/subset_sum_trace.hpp) and its verifier (r1/reward/subset_sum.hpp).
// Expected strings and sums are worked by hand.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/reward/subset_sum.hpp"
#include "r1/tasks/subset_sum.hpp"
#include "r1/tasks/subset_sum_trace.hpp"

namespace {

// Of the 15 non-empty choices of {47, 23, 81, 15} only 47 + 15 makes 62 (bit i: number i chosen).
const r1::SubsetSum kExample{{47, 23, 81, 15}, 2, 62};
constexpr r1::SubsetChoice kSolution = 0b1001;

}  // namespace

TEST_CASE("subset sum: prompt, sums, chains, checks and completions") {
  CHECK(kExample.prompt() == "47,23,81,15=062");
  CHECK(kExample.choice_count() == 16);
  CHECK(kExample.sum(0) == 0);
  CHECK(kExample.sum(0b1111) == 166);
  CHECK(kExample.sum(0b0110) == 104);
  CHECK(kExample.solution_count() == 1);
  CHECK(kExample.solves(kSolution));
  CHECK_FALSE(kExample.solves(16));
  CHECK(kExample.expression(kSolution) == "47+15");
  CHECK(kExample.expression(0b0100) == "81");
  CHECK(kExample.chain(kSolution) == "+47=047;+15=062");
  CHECK(kExample.chain(0b1110) == "+23=023;+81=104;+15=119");
  CHECK(kExample.check(70) == "070>062");
  CHECK(kExample.check(23) == "023<062");
  CHECK(kExample.check(62) == "062=062");
  CHECK(kExample.direct_completion(kSolution) == "<think></think><answer>47+15</answer>");
  CHECK(kExample.worked_completion(kSolution) == "<think>+47=047;+15=062</think><answer>47+15</answer>");
  CHECK(kExample.checked_completion(kSolution) ==
        "<think>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  // 47 + 23 = 70 overshoots; one or two changes away, dropping 23 and adding 15 makes 62 exactly.
  CHECK(kExample.checked_completion(0b0011) ==
        "<think>+47=047;+23=070<check>070>062<wrong>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  CHECK(kExample.checked_completion(0b0011, 1) ==
        "<think>+47=047;+23=070<check>070>062<wrong></think><answer>47+23</answer>");
  CHECK_THROWS_AS(kExample.checked_completion(0), r1::Error);
  const r1::Problem problem = kExample.problem(kSolution);
  CHECK(problem.prompt == "47,23,81,15=062");
  CHECK(problem.answer == "47+15");
  CHECK(problem.numbers == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(problem.target == 62);
  CHECK(problem.extra["identity"] == "subset_sum:47,23,81,15=062");
  CHECK_THROWS_AS(kExample.problem(0b0011), r1::Error);
}

TEST_CASE("subset sum: the revision moves towards the target, fewer changes and smaller choices first") {
  CHECK(kExample.revision(0b0011, {0b0011}) == kSolution);
  // 10,20,30=030: {10} is 20 short; 10+20 (add one) and 30 (swap: two changes) both make 30: one change wins.
  const r1::SubsetSum tie{{10, 20, 30}, 2, 30};
  CHECK(tie.revision(0b001, {0b001}) == 0b011);
  CHECK(tie.revision(0b001, {0b001, 0b011}) == 0b100);
  // Every non-empty neighbour tried: the choice itself comes back, and the checked completion stops there.
  const r1::SubsetSum pair{{10, 20}, 2, 30};
  CHECK(pair.revision(0b01, {0b01, 0b10, 0b11}) == 0b01);
}

TEST_CASE("subset sum: parse round-trips and rejects malformed prompts") {
  const auto parsed = r1::SubsetSum::parse("47,23,81,15=062");
  CHECK(parsed.numbers() == std::vector<std::int64_t>{47, 23, 81, 15});
  CHECK(parsed.digits() == 2);
  CHECK(parsed.target() == 62);
  for (const char* bad : {"", "=", "47=047", "47,23=70", "47,23=0070", "47+23=070", "4,23=070", "47,23,=070",
                          "47,23=", "47,23070", "47,2a=070", "12345,12345=123456", "47,23=000", "00,23=023",
                          "10,10,10,10,10,10,10,10,10,10,10=010"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(r1::SubsetSum::parse(bad), r1::Error);
  }
  CHECK_THROWS_AS(r1::SubsetSum({47}, 2, 47), r1::Error);
  CHECK_THROWS_AS(r1::SubsetSum({147, 23}, 2, 23), r1::Error);
  CHECK_THROWS_AS(r1::SubsetSum({47, 23}, 2, 1000), r1::Error);
}

TEST_CASE("subset sum: levels, targets, witnesses, disjoint splits and determinism") {
  std::set<std::string> train_prompts;
  for (const int numbers : {2, 3, 4, 6, 10}) {
    const r1::SubsetSumConfig config{numbers, 2, {}};
    const auto train = r1::subset_sum_problems(config, r1::Split::train, 300, 5);
    const auto held_out = r1::subset_sum_problems(config, r1::Split::held_out, 60, 5);
    for (const auto& problem : train) train_prompts.insert(problem.prompt);
    for (const auto* set : {&train, &held_out}) {
      for (const auto& problem : *set) {
        const auto parsed = r1::SubsetSum::parse(problem.prompt);
        CHECK(parsed.count() == numbers);
        CHECK(parsed.target() >= 10);
        for (const auto number : parsed.numbers()) CHECK((number >= 10 && number <= 99));
        CHECK(r1::subset_sum_answer_error(problem.answer, problem.numbers, problem.target).empty());
      }
    }
    for (const auto& problem : held_out) CHECK(train_prompts.count(problem.prompt) == 0);
    CHECK(r1::subset_sum_problems(config, r1::Split::train, 300, 5)[299].prompt == train[299].prompt);
  }
  CHECK_THROWS_AS(r1::subset_sum_problems({1, 2, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("subset sum: near misses are wrong, non-empty, and one or two changes from the solution") {
  r1::Philox random{9, 1};
  for (int i = 0; i < 500; ++i) {
    const auto draw = r1::draw_subset_sum({3 + i % 4, 2, {}}, random);
    const r1::SubsetChoice miss = r1::draw_near_miss(draw.problem, draw.witness, random);
    CHECK(miss != 0);
    CHECK_FALSE(draw.problem.solves(miss));
    const int changes = std::popcount(miss ^ draw.witness);
    CHECK((changes == 1 || changes == 2));
  }
}

TEST_CASE("subset sum: the pretraining corpus has the configured shares and never a held-out problem") {
  r1::SubsetSumCorpusConfig config;
  config.checked_fraction = 0.1;
  config.checked_miss_fraction = 0.5;
  const auto corpus = r1::subset_sum_pretraining_corpus(config, 20000, 3);
  REQUIRE(corpus.size() == 20000);
  std::size_t worked = 0, checked = 0, checked_missed = 0, worked_missed = 0, direct = 0, direct_missed = 0,
              corrected = 0;
  std::set<int> levels;
  for (const auto& example : corpus) {
    const auto problem = r1::SubsetSum::parse(example.prompt);
    CHECK(problem.count() == example.numbers);
    levels.insert(example.numbers);
    CHECK(r1::split_of("subset_sum:" + example.prompt, config.split) == r1::Split::train);
    const auto trace = r1::trace_subset_sum(problem, example.completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.style == static_cast<r1::SubsetSumStyle>(example.style));
    switch (example.style) {
      case r1::SubsetSumStyle::direct:
        ++direct;
        CHECK(trace.answer_solves == !example.missed);
        direct_missed += example.missed ? 1 : 0;
        break;
      case r1::SubsetSumStyle::worked:
        ++worked;
        CHECK(trace.first_choice_wrong() == example.missed);
        CHECK(trace.answer_solves == !example.missed);
        worked_missed += example.missed ? 1 : 0;
        break;
      case r1::SubsetSumStyle::checked:
        ++checked;
        CHECK(trace.first_choice_wrong() == example.missed);
        for (const auto& attempt : trace.attempts) {
          CHECK(attempt.arithmetic_right);
          CHECK(attempt.numbers_match);
          CHECK(attempt.check_right);
        }
        checked_missed += example.missed ? 1 : 0;
        CHECK(trace.caught_and_corrected() == (example.missed && trace.answer_solves));
        corrected += trace.caught_and_corrected() ? 1 : 0;
        break;
    }
  }
  CHECK(levels == std::set<int>{3, 4, 5, 6});
  // Binomial standard errors: worked share sqrt(.25/20000) = 0.0035; checked of worked sqrt(.09/10000) = 0.003;
  // misses sqrt(.1275/9000) = 0.0038 and sqrt(.25/1000) = 0.016. Bounds are 4 to 5 of them (deterministic seed).
  CHECK(std::abs(double(worked + checked) / double(corpus.size()) - 0.5) < 0.015);
  CHECK(std::abs(double(checked) / double(worked + checked) - 0.1) < 0.015);
  CHECK(std::abs(double(worked_missed) / double(worked) - 0.15) < 0.02);
  CHECK(std::abs(double(direct_missed) / double(direct) - 0.15) < 0.02);  // sqrt(.1275/10000) = 0.0036
  CHECK(std::abs(double(checked_missed) / double(checked) - 0.5) < 0.08);
  CHECK(double(corrected) > 0.9 * double(checked_missed));  // the revision finds most near misses' solutions
  CHECK(direct + worked + checked == corpus.size());
  r1::SubsetSumCorpusConfig bad;
  bad.checked_fraction = -0.5;
  CHECK_THROWS_AS(r1::subset_sum_pretraining_corpus(bad, 1, 1), r1::Error);
}

TEST_CASE("subset sum trace: reads each style and finds the caught-and-corrected completions") {
  const auto direct = r1::trace_subset_sum(kExample, "<think></think><answer>47+15</answer>");
  CHECK(direct.well_formed);
  CHECK(direct.style == r1::SubsetSumStyle::direct);
  CHECK(direct.answer == kSolution);
  CHECK(direct.answer_solves);

  const auto caught = r1::trace_subset_sum(kExample, kExample.checked_completion(0b0011));
  CHECK(caught.self_checked());
  REQUIRE(caught.attempts.size() == 2);
  CHECK(caught.attempts[0].choice == 0b0011);
  CHECK(caught.attempts[0].reached == 70);
  CHECK(caught.attempts[0].verdict == r1::SubsetSumVerdict::wrong);
  CHECK(caught.attempts[0].check_right);
  CHECK(caught.attempts[1].choice == kSolution);
  CHECK(caught.attempts[1].verdict == r1::SubsetSumVerdict::ok);
  CHECK(caught.caught_and_corrected());

  // A wrong sum, a number not in the problem, and a check that misreads or misjudges: read, and flagged.
  const auto sloppy = r1::trace_subset_sum(kExample, "<think>+47=047;+15=063<check>062=062<ok></think><answer>47+15</answer>");
  REQUIRE(sloppy.well_formed);
  CHECK_FALSE(sloppy.attempts[0].arithmetic_right);
  CHECK(sloppy.attempts[0].numbers_match);
  CHECK_FALSE(sloppy.attempts[0].check_right);  // the chain reached 63, the check read 62
  CHECK(sloppy.attempts[0].choice_solves);
  const auto foreign = r1::trace_subset_sum(kExample, "<think>+47=047;+16=063</think><answer>47+16</answer>");
  REQUIRE(foreign.well_formed);
  CHECK_FALSE(foreign.attempts[0].numbers_match);
  CHECK_FALSE(foreign.attempts[0].choice_solves);
  CHECK_FALSE(foreign.answer.has_value());
  const auto misjudged = r1::trace_subset_sum(kExample, "<think>+47=047;+23=070<check>070=062<ok></think><answer>47+23</answer>");
  REQUIRE(misjudged.well_formed);
  CHECK_FALSE(misjudged.attempts[0].check_right);
  CHECK(misjudged.attempts[0].arithmetic_right);
  CHECK_FALSE(misjudged.caught_and_corrected());

  // A right answer after checks that misread the sum: not an "aha".
  const auto lucky = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>075>062<wrong>+47=047;+15=062<check>062=062<ok></think><answer>47+15</answer>");
  REQUIRE(lucky.self_checked());
  CHECK(lucky.answer_solves);
  CHECK_FALSE(lucky.attempts[0].check_right);
  CHECK_FALSE(lucky.caught_and_corrected());
  const auto lucky_last = r1::trace_subset_sum(
      kExample, "<think>+47=047;+23=070<check>070>062<wrong>+47=047;+15=061<check>061=062<ok></think><answer>47+15</answer>");
  CHECK(lucky_last.answer_solves);
  CHECK_FALSE(lucky_last.caught_and_corrected());

  // Out of order: the verifier accepts it, the trace does not read it as a choice.
  const auto reordered = r1::trace_subset_sum(kExample, "<think></think><answer>15+47</answer>");
  CHECK(reordered.well_formed);
  CHECK_FALSE(reordered.answer.has_value());
}

TEST_CASE("subset sum trace: anything off the grammar is not well formed, and nothing throws") {
  for (const char* bad : {"", "<think>", "<think></think>", "<think></think><answer></answer>",
                          "<think></think><answer>47+15", "<think></think><answer>47+15</answer>x",
                          "<think>47=047</think><answer>47</answer>",          // no '+'
                          "<think>+47=047;</think><answer>47</answer>",        // an empty step
                          "<think>+47=047<check>047=062</think><answer>47</answer>",
                          "<think>+47=047<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047062<ok></think><answer>47</answer>",
                          "<think>+47=047<check>047<062<ok>+15=062</think><answer>47+15</answer>",  // a chain after <ok>
                          "<think></think><answer>47+1234567890123</answer>", "<think></think><answer>47++15</answer>",
                          "<think></think><answer>+47</answer>"}) {
    CAPTURE(bad);
    CHECK_FALSE(r1::trace_subset_sum(kExample, bad).well_formed);
  }
  CHECK_FALSE(r1::trace_subset_sum(kExample, "<think>" + std::string(5000, '+') + "</think><answer>47</answer>").well_formed);
}

TEST_CASE("subset sum answer: any sub-multiset adding up to the target, in any order") {
  r1::Problem problem;
  problem.numbers = {47, 23, 81, 15, 15};
  problem.target = 62;
  const r1::SubsetSumAnswer verifier;
  const auto score = [&](const std::string& answer) { return verifier(problem, "<answer>" + answer + "</answer>").score; };
  CHECK(score("47+15") == 1.0);
  CHECK(score("15+47") == 1.0);
  CHECK(score(" 47+15 ") == 1.0);       // trimmed
  CHECK(score("23+15+15") == 0.0);      // 53
  problem.target = 53;
  CHECK(score("23+15+15") == 1.0);      // 15 is given twice
  CHECK(score("23+15+15+15") == 0.0);   // not three times
  CHECK(score("53") == 0.0);            // not one of the numbers
  CHECK(score("") == 0.0);
  CHECK(score("23+15+") == 0.0);
  CHECK(score("23 + 15 + 15") == 0.0);  // the task's answers have no spaces inside
  CHECK(verifier(problem, "no answer").reason == "no <answer> block");
  CHECK(r1::subset_sum_answer_error("23+30", problem.numbers, 53) == "30 is not one of the numbers left to use");
  CHECK(r1::subset_sum_answer_error("23+15", problem.numbers, 53) == "adds up to 38, not 53");
  CHECK(r1::subset_sum_answer_error(std::string(300, '1'), problem.numbers, 53) == "answer longer than 256 bytes");
  r1::Problem none;
  CHECK_FALSE(verifier(none, "<answer>1</answer>").applicable);
}
