// Answer extraction from completions, the R1 format verifiers, tag counting, and
// MathAnswer as a RewardVerifier on whole completions (the R1-Zero flagship case).
#include <doctest/doctest.h>

#include <string>

#include "r1/concepts.hpp"
#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"

static_assert(r1::RewardVerifier<r1::MathAnswer>);
static_assert(r1::RewardVerifier<r1::R1Format>);
static_assert(r1::RewardVerifier<r1::TagCount>);

namespace {
r1::Problem with_answer(std::string answer) {
  r1::Problem problem;
  problem.answer = std::move(answer);
  return problem;
}
std::string extracted(std::string_view completion, r1::AnswerExtractionOptions options = {}) {
  const auto answer = r1::extract_answer(completion, options);
  return answer ? answer->text : std::string("<none>");
}
}  // namespace

TEST_CASE("extraction: boxed answers, nested braces, the last one wins") {
  CHECK(extracted("so \\boxed{42}.") == "42");
  CHECK(extracted("first \\boxed{1} then \\boxed{2}") == "2");
  CHECK(extracted("\\boxed{\\frac{1}{2}}") == "\\frac{1}{2}");
  CHECK(extracted("\\boxed{\\frac{\\sqrt{3}}{\\{2\\}}}") == "\\frac{\\sqrt{3}}{\\{2\\}}");
  CHECK(extracted("\\fbox{7}") == "7");
  CHECK(extracted("\\boxed 5 is it") == "5");
  CHECK(extracted("\\boxed {  9 }") == "9");
  CHECK(extracted("\\boxed{\\boxed{3}}") == "\\boxed{3}");  // the outermost box; MathAnswer unwraps the inner one
  CHECK(r1::find_boxed_contents("unclosed \\boxed{12").empty());
  CHECK(extracted("unclosed \\boxed{12") == "12");  // no box: the last number, as Math-Verify
  const auto boxes = r1::find_boxed_contents("\\boxed{1} and \\boxed{2} and \\boxed{x^{2}}");
  REQUIRE(boxes.size() == 3);
  CHECK(boxes[0] == "1");
  CHECK(boxes[2] == "x^{2}");
}

TEST_CASE("extraction: <answer> tag, GSM8K marker, answer phrase, last number") {
  CHECK(extracted("<think>2+2</think><answer>4</answer>") == "4");
  CHECK(extracted("<think>\\boxed{3}</think><answer> 4 </answer>") == "4");
  CHECK(extracted("<answer>The result is \\boxed{5}</answer>") == "5");
  CHECK(extracted("<answer>1</answer> <answer>2</answer>") == "2");
  CHECK(extracted("<answer>unclosed") == "<none>");
  CHECK(extracted("Natalia sold 48 clips.\n#### 72") == "72");
  CHECK(extracted("So the answer is 3.5. Done") == "3.5");
  CHECK(extracted("The answer is $\\frac{1}{2}$.") == "\\frac{1}{2}");  // the span after the cue
  CHECK(extracted("Final Answer: 12") == "12");
  CHECK(extracted("we get 12 then 13") == "13");  // Math-Verify's last-number fallback
  CHECK(extracted("<think>we get 12</think> nothing more") == "<none>");  // not inside the think block
  r1::AnswerExtractionOptions last_number;
  last_number.last_number = true;
  CHECK(extracted("we get 12 then 1,300.5 apples", last_number) == "1,300.5");
  CHECK(extracted("it is -7", last_number) == "-7");
  r1::AnswerExtractionOptions only_boxed;
  only_boxed.answer_tag = only_boxed.gsm8k_marker = only_boxed.answer_phrase = false;
  only_boxed.latex_span = only_boxed.last_number = false;
  CHECK(extracted("<answer>4</answer> the answer is 5", only_boxed) == "<none>");
}

TEST_CASE("MathAnswer on completions: the R1-Zero exact-answer case") {
  const r1::MathAnswer accuracy;
  for (const std::string gold : {"03225", "3225", "$3225$", "\\boxed{3225}", "He has 3225 left.\n#### 3225"}) {
    INFO("gold=", gold);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>03225</answer>").score == 1.0);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>3225</answer>").score == 1.0);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>3224</answer>").score == 0.0);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>32250</answer>").score == 0.0);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>322</answer>").score == 0.0);
    CHECK(accuracy(with_answer(gold), "<think>...</think><answer>3225.5</answer>").score == 0.0);
    CHECK(accuracy(with_answer(gold), "<think>3225</think>").score == 0.0);  // never committed to an answer
  }
  const auto reward = accuracy(with_answer("3225"), "<answer>03225</answer>");
  CHECK(reward.applicable);
  CHECK(reward.extracted == "03225");
  CHECK_FALSE(reward.reason.empty());
}

TEST_CASE("MathAnswer: no gold is not applicable; scores and extract=false are configurable") {
  const r1::MathAnswer accuracy;
  CHECK_FALSE(accuracy(with_answer(""), "\\boxed{1}").applicable);
  CHECK_FALSE(accuracy(with_answer("  "), "\\boxed{1}").applicable);
  CHECK(accuracy(with_answer("1"), "no answer at all").reason == "no answer found");
  r1::MathAnswerOptions options;
  options.extract = false;
  options.correct_score = 2.0;
  options.wrong_score = -1.0;
  const r1::MathAnswer raw(options);
  CHECK(raw(with_answer("\\frac{1}{2}"), "0.5").score == 2.0);
  CHECK(raw(with_answer("\\frac{1}{2}"), "the answer is 0.5").score == -1.0);  // not extracted: not a number
}

TEST_CASE("MathAnswer: several boxed answers of one question are read as a set") {
  const r1::MathAnswer accuracy;
  CHECK(accuracy(with_answer("2, 3"), "x = \\boxed{3} or x = \\boxed{2}").score == 1.0);
  CHECK(accuracy(with_answer("\\{-1, 1\\}"), "\\boxed{1} and \\boxed{-1}").score == 1.0);
  CHECK(accuracy(with_answer("2"), "\\boxed{3} or \\boxed{2}").score == 1.0);   // the last box
  CHECK(accuracy(with_answer("3"), "\\boxed{3} or \\boxed{2}").score == 0.0);   // not the last box
  CHECK(accuracy(with_answer("2, 3"), "\\boxed{1} \\boxed{2} \\boxed{3}").score == 0.0);  // a superset is wrong
}

TEST_CASE("R1Format strict") {
  const r1::R1Format format;
  const r1::Problem problem;
  const auto score = [&](std::string_view completion) { return format(problem, completion).score; };
  CHECK(score("<think>\nreason\n</think>\n<answer>\n42\n</answer>") == 1.0);
  CHECK(score("<think>reason</think><answer>42</answer>") == 1.0);
  CHECK(score("  <think>r</think>\n\n<answer>42</answer>\n") == 1.0);
  CHECK(score("<think>r</think><answer>42</answer> extra") == 0.0);
  CHECK(score("hello <think>r</think><answer>42</answer>") == 0.0);
  CHECK(score("<think>r</think> so <answer>42</answer>") == 0.0);
  CHECK(score("<think>r</think><answer>1</answer><answer>2</answer>") == 0.0);
  CHECK(score("<think>r</think><think>s</think><answer>1</answer>") == 0.0);
  CHECK(score("<think>r<answer>1</answer></think>") == 0.0);
  CHECK(score("<answer>1</answer><think>r</think>") == 0.0);
  CHECK(score("<think>r</think><answer>  </answer>") == 0.0);
  CHECK(score("<think>r</think>") == 0.0);
  CHECK(score("") == 0.0);
  CHECK(format(problem, "<think>r</think><answer>42</answer> extra").reason == "text after </answer>");
  r1::R1FormatOptions opened;
  opened.think_opened_in_prompt = true;
  const r1::R1Format continued(opened);
  CHECK(continued(problem, "reason</think><answer>1</answer>").score == 1.0);
  CHECK(continued(problem, "<think>reason</think><answer>1</answer>").score == 0.0);
}

TEST_CASE("R1Format lenient") {
  r1::R1FormatOptions options;
  options.strict = false;
  const r1::R1Format format(options);
  const r1::Problem problem;
  const auto score = [&](std::string_view completion) { return format(problem, completion).score; };
  CHECK(score("<think>r</think><answer>42</answer>") == 1.0);
  CHECK(score("Sure. <think>r</think> so <answer>42</answer> done") == 1.0);
  CHECK(score("<think>r</think><answer>1</answer><answer>2</answer>") == 1.0);
  CHECK(score("<answer>1</answer><think>r</think>") == 0.0);
  CHECK(score("<think>r <answer>1</answer>") == 0.0);
  CHECK(score("<think>r</think> <answer>1") == 0.0);
}

TEST_CASE("TagCount: a quarter per tag present exactly once") {
  const r1::TagCount tags;
  const r1::Problem problem;
  CHECK(tags(problem, "<think>a</think><answer>b</answer>").score == 1.0);
  CHECK(tags(problem, "<think>a</think>").score == 0.5);
  CHECK(tags(problem, "<think>a</think><answer>b</answer></answer>").score == 0.75);
  CHECK(tags(problem, "nothing").score == 0.0);
  CHECK(tags(problem, "<think><think>").score == 0.0);
}
