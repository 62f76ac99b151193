// The quotient task family (r1/tasks/quotient.hpp), its self-check detector
// (r1/tasks/quotient_trace.hpp) and its verifier (r1/reward/quotient.hpp).
// Expected strings, products and quotients are worked by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/reward/quotient.hpp"
#include "r1/tasks/quotient.hpp"
#include "r1/tasks/quotient_trace.hpp"

namespace {

// 4837 / 612: 7 * 612 = 4284 <= 4837 < 4896 = 8 * 612, so q = 7; the estimate 48 / 6 = 8 is one too big.
const r1::Quotient kExample{4837, 612};

r1::Problem problem_of(std::int64_t dividend, std::int64_t divisor) {
  r1::Problem problem;
  problem.numbers = {dividend, divisor};
  return problem;
}

}  // namespace

TEST_CASE("quotient: prompt, estimate, check lines and completions") {
  CHECK(kExample.prompt() == "4837/612");
  CHECK(kExample.digits() == 3);
  CHECK(kExample.quotient() == 7);
  CHECK(kExample.leading_dividend() == 48);
  CHECK(kExample.leading_divisor() == 6);
  CHECK(kExample.estimate() == 8);
  CHECK(kExample.estimate_line() == "48/6=8");
  CHECK(kExample.product_line(1) == "1*612=0612");
  CHECK(kExample.check_line(8) == "8*612=4896>4837");
  CHECK(kExample.check_line(7) == "7*612=4284<4837");
  CHECK(kExample.direct_completion(7) == "<think></think><answer>7</answer>");
  CHECK(kExample.worked_completion() == "<think>48/6=8</think><answer>8</answer>");
  CHECK(kExample.checked_completion() ==
        "<think>48/6=8<check>8*612=4896>4837<wrong>7*612=4284<4837<ok></think><answer>7</answer>");
  // From the quotient: its multiple and the next. From below (5): up two, each refuting its candidate.
  CHECK(kExample.walk(7) == "7*612=4284<4837,8*612=4896>4837<ok>");
  CHECK(kExample.walk(5) ==
        "5*612=3060<4837,6*612=3672<4837<wrong>7*612=4284<4837<wrong>8*612=4896>4837<ok>");
  // From 9: 9 * 612 = 5508 and 8 * 612 = 4896 are over 4837.
  CHECK(kExample.walk(9) ==
        "9*612=5508>4837<wrong>8*612=4896>4837<wrong>7*612=4284<4837<ok>");
  CHECK_THROWS_AS(kExample.walk(0), r1::Error);
  CHECK(kExample.drill_prompt(8) == "8*612");
  CHECK(kExample.drill_completion(8) == "<think>8*612=4896</think><answer>4896</answer>");
  CHECK(kExample.compared_drill_prompt(8) == "8*612,4837");
  CHECK(kExample.compared_drill_completion(8) == "<think>8*612=4896>4837</think><answer>4896</answer>");
  CHECK(r1::Quotient(47, 47).compared_drill_completion(1) == "<think>1*47=047=047</think><answer>047</answer>");

  // A dividend of d digits is zero-padded to d + 1: 47 / 47 = 1, the estimate 04 / 4 = 1 is right.
  const r1::Quotient small{47, 47};
  CHECK(small.prompt() == "047/47");
  CHECK(small.estimate_line() == "04/4=1");
  CHECK(small.checked_completion() == "<think>04/4=1<check>1*47=047=047,2*47=094>047<ok></think><answer>1</answer>");
  // q = 9: the next multiple is 10 * b. 9 * 11 = 99 <= 109 < 110; estimate 10 / 1 = 10, capped at 9.
  const r1::Quotient nine{109, 11};
  CHECK(nine.quotient() == 9);
  CHECK(nine.estimate_line() == "10/1=9");
  CHECK(nine.walk(9) == "9*11=099<109,10*11=110>109<ok>");
  // A leading digit of 1 can be far off: 3997 / 1999 = 1 (2 * 1999 = 3998), the estimate 03 / 1 = 3.
  const r1::Quotient far{3997, 1999};
  CHECK(far.quotient() == 1);
  CHECK(far.estimate() == 3);
  // One digit: the estimate is the quotient itself (17 / 3 = 5).
  CHECK(r1::Quotient{17, 3}.estimate_line() == "17/3=5");

  const r1::Problem problem = kExample.problem();
  CHECK(problem.prompt == "4837/612");
  CHECK(problem.answer == "7");
  CHECK(problem.numbers == std::vector<std::int64_t>{4837, 612});
  CHECK(problem.extra["identity"] == "quotient:4837/612");

  CHECK_THROWS_AS(r1::Quotient(611, 612), r1::Error);   // quotient 0
  CHECK_THROWS_AS(r1::Quotient(6120, 612), r1::Error);  // quotient 10
  CHECK_THROWS_AS(r1::Quotient(5, 0), r1::Error);
}

TEST_CASE("quotient: prompts parse back, bad ones are errors") {
  const r1::Quotient parsed = r1::Quotient::parse("4837/612");
  CHECK(parsed.dividend() == 4837);
  CHECK(parsed.divisor() == 612);
  CHECK(r1::Quotient::parse("047/47").dividend() == 47);
  for (const char* bad : {"", "4837612", "837/612", "04837/612", "4837/0612", "0611/612", "6120/612", "48a7/612",
                          "4837/", "/612", "48/6/1", "12345678901234/1234567"})
    CHECK_THROWS_AS(r1::Quotient::parse(bad), r1::Error);
}

TEST_CASE("quotient: levels, distinct problems and disjoint splits") {
  for (const int digits : {1, 2, 3, 5}) {
    const auto problems = r1::quotient_problems({digits, {}}, r1::Split::train, 200, 11);
    REQUIRE(problems.size() == 200);
    std::set<std::string> prompts;
    for (const auto& problem : problems) {
      const r1::Quotient parsed = r1::Quotient::parse(problem.prompt);
      CHECK(parsed.digits() == digits);
      CHECK(parsed.quotient() >= 1);
      CHECK(parsed.quotient() <= 9);
      CHECK(problem.answer == std::to_string(parsed.quotient()));
      CHECK(r1::split_of(r1::problem_identity(problem), {}) == r1::Split::train);
      prompts.insert(problem.prompt);
    }
    CHECK(prompts.size() == 200);
  }
  const auto train = r1::quotient_problems({3, {}}, r1::Split::train, 2000, 5);
  const auto held = r1::quotient_problems({3, {}}, r1::Split::held_out, 300, 5);
  std::set<std::string> train_prompts;
  for (const auto& problem : train) train_prompts.insert(problem.prompt);
  for (const auto& problem : held) {
    CHECK(r1::split_of(r1::problem_identity(problem), {}) == r1::Split::held_out);
    CHECK(train_prompts.count(problem.prompt) == 0);
  }
  // Deterministic in the seed.
  CHECK(r1::quotient_problems({4, {}}, r1::Split::held_out, 5, 9)[3].prompt ==
        r1::quotient_problems({4, {}}, r1::Split::held_out, 5, 9)[3].prompt);
  CHECK_THROWS_AS(r1::quotient_problems({0, {}}, r1::Split::train, 1, 1), r1::Error);
  CHECK_THROWS_AS(r1::quotient_problems({7, {}}, r1::Split::train, 1, 1), r1::Error);
}

TEST_CASE("quotient trace: the task's own completions") {
  const r1::QuotientTrace direct = r1::trace_quotient(kExample, kExample.direct_completion(7));
  CHECK(direct.well_formed);
  CHECK(direct.style == r1::QuotientStyle::direct);
  CHECK(direct.answer_right);
  CHECK_FALSE(direct.estimate.has_value());
  CHECK_FALSE(direct.first_attempt_wrong());

  const r1::QuotientTrace worked = r1::trace_quotient(kExample, kExample.worked_completion());
  CHECK(worked.well_formed);
  CHECK(worked.style == r1::QuotientStyle::worked);
  CHECK(worked.estimate == 8);
  CHECK(worked.estimate_right);
  CHECK(worked.first_attempt_wrong());
  CHECK_FALSE(worked.answer_right);
  CHECK_FALSE(worked.self_checked());

  const r1::QuotientTrace caught = r1::trace_quotient(kExample, kExample.checked_completion());
  CHECK(caught.self_checked());
  REQUIRE(caught.lines.size() == 2);
  CHECK(caught.lines[0].multiplier == 8);
  CHECK(caught.lines[0].product == 4896);
  CHECK(caught.lines[0].relation == 1);
  CHECK(caught.lines[0].verdict == r1::QuotientVerdict::wrong);
  CHECK(caught.lines[1].verdict == r1::QuotientVerdict::ok);
  CHECK(caught.lines_right() == 2);
  CHECK(caught.answer_right);
  CHECK(caught.caught_and_corrected());

  // Checked, the estimate right (42 / 6 = 7 for 4284 / 612 = 7): checked, nothing to catch.
  const r1::Quotient exact{4284, 612};
  const r1::QuotientTrace confirmed = r1::trace_quotient(exact, exact.checked_completion());
  CHECK(exact.checked_completion() ==
        "<think>42/6=7<check>7*612=4284=4284,8*612=4896>4284<ok></think><answer>7</answer>");
  CHECK(confirmed.self_checked());
  CHECK(confirmed.lines_right() == 2);
  CHECK(confirmed.answer_right);
  CHECK_FALSE(confirmed.first_attempt_wrong());
  CHECK_FALSE(confirmed.caught_and_corrected());
}

TEST_CASE("quotient trace: sloppy checks are not caught-and-corrected") {
  // A wrong product (8 * 612 = 4996) that still says <wrong>: the answer is right but the check was not.
  const auto wrong_product = r1::trace_quotient(
      kExample, "<think>48/6=8<check>8*612=4996>4837<wrong>7*612=4284<4837<ok></think><answer>7</answer>");
  CHECK(wrong_product.self_checked());
  CHECK_FALSE(wrong_product.lines[0].product_right);
  CHECK(wrong_product.lines_right() == 1);
  CHECK(wrong_product.answer_right);
  CHECK_FALSE(wrong_product.caught_and_corrected());
  // A misread dividend (4897): 4896 < 4897 compared right for the text but not for the problem.
  const auto misread = r1::trace_quotient(
      kExample, "<think>48/6=8<check>8*612=4896<4897<wrong>7*612=4284<4837<ok></think><answer>7</answer>");
  CHECK_FALSE(misread.lines[0].right);
  CHECK_FALSE(misread.caught_and_corrected());
  // A wrong relation (4896 < 4837).
  const auto relation = r1::trace_quotient(
      kExample, "<think>48/6=8<check>8*612=4896<4837<wrong>7*612=4284<4837<ok></think><answer>7</answer>");
  CHECK_FALSE(relation.lines[0].right);
  CHECK_FALSE(relation.caught_and_corrected());
  // <ok> after 7 alone, without the 8 line above it: no bracket.
  const auto no_bracket = r1::trace_quotient(
      kExample, "<think>48/6=8<check>8*612=4896>4837<wrong>6*612=3672<4837,7*612=4284<4837<ok></think><answer>7</answer>");
  CHECK(no_bracket.self_checked());
  CHECK(no_bracket.lines_right() == 3);
  CHECK_FALSE(no_bracket.caught_and_corrected());
  // The check does not start from the estimate.
  const auto other_start = r1::trace_quotient(
      kExample, "<think>48/6=8<check>9*612=5508>4837<wrong>8*612=4896>4837<wrong>7*612=4284<4837<ok></think>"
                "<answer>7</answer>");
  CHECK_FALSE(other_start.caught_and_corrected());
  // A walk that gives up after <wrong> and answers the estimate anyway.
  const auto gave_up =
      r1::trace_quotient(kExample, "<think>48/6=8<check>8*612=4896>4837<wrong></think><answer>8</answer>");
  CHECK(gave_up.self_checked());
  CHECK_FALSE(gave_up.answer_right);
  CHECK_FALSE(gave_up.caught_and_corrected());
  // An estimate that breaks the rule (48 / 6 written as 9) is read, and judged.
  const auto bad_estimate = r1::trace_quotient(kExample, "<think>48/6=9</think><answer>9</answer>");
  CHECK(bad_estimate.well_formed);
  CHECK_FALSE(bad_estimate.estimate_right);
}

TEST_CASE("quotient trace: malformed text is not well formed, and never throws") {
  for (const char* text :
       {"", "7", "<think>", "<think></think>", "<think></think><answer>7", "<think></think><answer></answer>",
        "<think></think><answer>7</answer>x", "<think>48/6</think><answer>8</answer>",
        "<think>48/6=8<check></think><answer>8</answer>", "<think>48/6=8<check>8*612=4896</think><answer>8</answer>",
        "<think>48/6=8<check>8*612=4896<ok></think><answer>8</answer>",
        "<think>48/6=8<check>8*612=4896>4837</think><answer>8</answer>",
        "<think>48/6=8<check>8*612=4896>4837,</think><answer>8</answer>",
        "<think>48/6=8<check>8*612=4896>4837<wrong><ok></think><answer>8</answer>",
        "<think><check>8*612=4896>4837<ok></think><answer>8</answer>",
        "<think>1234567890123/6=8</think><answer>8</answer>",
        "<think></think><answer>1234567890123</answer>"}) {
    const auto trace = r1::trace_quotient(kExample, text);
    CHECK_FALSE(trace.well_formed);
    CHECK_FALSE(trace.self_checked());
    CHECK_FALSE(trace.caught_and_corrected());
  }
  CHECK_FALSE(r1::trace_quotient(kExample, std::string(5000, '<')).well_formed);
}

TEST_CASE("quotient verifier: the exact integer bracket") {
  const r1::QuotientAnswer verifier;
  CHECK(verifier(problem_of(4837, 612), "<think></think><answer>7</answer>").score == 1.0);
  CHECK(verifier(problem_of(4837, 612), "<think>48/6=8</think><answer>8</answer>").score == 0.0);
  CHECK(verifier(problem_of(4837, 612), "<answer> 7 </answer>").score == 1.0);  // trimmed
  CHECK(verifier(problem_of(4837, 612), "<answer>07</answer>").score == 1.0);
  // 4284 = 7 * 612 exactly: 7 (the bracket's lower end is inclusive), not 6.
  CHECK(verifier(problem_of(4284, 612), "<answer>7</answer>").score == 1.0);
  CHECK(verifier(problem_of(4283, 612), "<answer>6</answer>").score == 1.0);
  for (const char* bad : {"<answer></answer>", "<answer>7a</answer>", "<answer>-7</answer>", "<answer>7+0</answer>",
                          "<answer>99999999999999999999</answer>", "no tag"})
    CHECK(verifier(problem_of(4837, 612), bad).score == 0.0);
  CHECK_FALSE(verifier(problem_of(4837, 0), "<answer>7</answer>").applicable);
  CHECK_FALSE(verifier(r1::Problem{}, "<answer>7</answer>").applicable);
  CHECK(r1::quotient_answer_error("7", 4837, 612).empty());
  CHECK(r1::quotient_answer_error("8", 4837, 612) == "8 is not the quotient 7");
}

TEST_CASE("quotient corpus: shares, styles and the held-out split") {
  r1::QuotientCorpusConfig config;
  config.drill_fraction = 0.25;
  config.worked_fraction = 0.9;
  config.direct_miss_fraction = 0.4;
  config.checked_fraction = 0.2;
  config.checked_miss_fraction = 0.5;
  const std::size_t count = 20000;
  const auto corpus = r1::quotient_pretraining_corpus(config, count, 3);
  REQUIRE(corpus.size() == count);
  std::size_t drills = 0, direct = 0, direct_missed = 0, worked = 0, worked_missed = 0, checked = 0,
              checked_missed = 0;
  for (const auto& example : corpus) {
    if (example.drill) {
      ++drills;
      continue;
    }
    const r1::Quotient problem = r1::Quotient::parse(example.prompt);
    CHECK(r1::split_of("quotient:" + example.prompt, config.split) == r1::Split::train);
    const auto trace = r1::trace_quotient(problem, example.completion);
    REQUIRE(trace.well_formed);
    CHECK(trace.style == example.style);
    if (example.style != r1::QuotientStyle::checked) CHECK(trace.answer_right != example.missed);
    switch (example.style) {
      case r1::QuotientStyle::direct:
        ++direct;
        direct_missed += example.missed ? 1 : 0;
        break;
      case r1::QuotientStyle::worked:
        ++worked;
        worked_missed += example.missed ? 1 : 0;
        break;
      case r1::QuotientStyle::checked:
        ++checked;
        checked_missed += example.missed ? 1 : 0;
        CHECK(trace.answer_right);
        CHECK(trace.caught_and_corrected() == example.missed);
        break;
    }
  }
  // Binomial shares within 4 standard deviations, sqrt(p (1 - p) / n): drills 0.25 of 20,000 (sd 0.0031);
  // of the ~15,000 divisions 10% direct (sd 0.0025); of the ~1,500 direct 40% wrong (sd 0.013); of the
  // ~13,500 worked 20% checked (sd 0.0034); of the ~2,700 checked 50% missed (sd 0.0096).
  const double divisions = static_cast<double>(count - drills);
  CHECK(std::abs(double(drills) / double(count) - 0.25) < 4 * 0.0031);
  CHECK(std::abs(double(direct) / divisions - 0.1) < 4 * 0.0025);
  CHECK(std::abs(double(direct_missed) / double(direct) - 0.4) < 4 * 0.013);
  CHECK(std::abs(double(checked) / double(worked + checked) - 0.2) < 4 * 0.0034);
  CHECK(std::abs(double(checked_missed) / double(checked) - 0.5) < 4 * 0.0096);
  // The unchecked worked examples miss as the estimate does: too big in 0.45 of them at 2-5 digits (a bound, not
  // a formula: the share is between 0.40 and 0.50 at every level from 2 digits in a 200,000-draw simulation).
  CHECK(double(worked_missed) / double(worked) > 0.40);
  CHECK(double(worked_missed) / double(worked) < 0.50);
  // Compared drills: a training-split problem's dividend, the multiplier one below its quotient to two above.
  config.drill = r1::QuotientDrill::compared;
  std::size_t compared = 0;
  for (const auto& example : r1::quotient_pretraining_corpus(config, 4000, 4)) {
    if (!example.drill) continue;
    ++compared;
    const std::size_t star = example.prompt.find('*'), comma = example.prompt.find(',');
    REQUIRE(star != std::string::npos);
    REQUIRE(comma != std::string::npos);
    const std::int64_t multiplier = std::stoll(example.prompt.substr(0, star));
    const std::string divisor = example.prompt.substr(star + 1, comma - star - 1);
    const r1::Quotient problem = r1::Quotient::parse(example.prompt.substr(comma + 1) + "/" + divisor);
    CHECK(r1::split_of("quotient:" + problem.prompt(), config.split) == r1::Split::train);
    CHECK(multiplier >= std::max<std::int64_t>(1, problem.quotient() - 1));
    CHECK(multiplier <= problem.quotient() + 2);
    CHECK(example.completion == problem.compared_drill_completion(multiplier));
  }
  CHECK(compared > 800);  // 25% of 4,000 (sd 27), less the ~10% of draws held out
  config.drill = r1::QuotientDrill::product;
  // Without checks, no example checks.
  config.checked_fraction = 0.0;
  for (const auto& example : r1::quotient_pretraining_corpus(config, 2000, 3))
    CHECK(example.style != r1::QuotientStyle::checked);
  config.checked_miss_fraction = 1.0;
  config.levels = {1};
  CHECK_THROWS_AS(r1::quotient_pretraining_corpus(config, 10, 3), r1::Error);
}
