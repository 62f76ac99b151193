// Hostile completions and answers finish in bounded time with a "not equal" or
// "not parsable" verdict, never a hang, a crash or an out-of-bounds read. Built
// with AddressSanitizer + UBSan (SANITIZE in CMakeLists.txt).
//
// Time bound per case: every verifier is linear in its input (or capped by
// ExpressionLimits), and the inputs are at most ~10 MB; at a pessimistic 10 MB/s
// under ASan on a shared 2-core machine one case stays far below 5 s, while a
// quadratic scan of 1 MB (10^12 steps) or a hang would not.
#include <doctest/doctest.h>

#include <string>

#include "r1/core/timer.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/language.hpp"
#include "r1/reward/length.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/reward/repetition.hpp"

namespace {
constexpr double bound_seconds = 5.0;

// All verifiers on one completion; returns the accuracy score.
double run_all(const std::string& gold, const std::string& completion) {
  r1::Problem problem;
  problem.answer = gold;
  problem.numbers = {3, 5, 7};
  problem.target = 22;
  problem.language = "en";
  const r1::Sum<r1::MathAnswer, r1::R1Format, r1::TagCount, r1::Countdown, r1::RepetitionPenalty, r1::OverlongPenalty<>> all;
  const r1::LanguageConsistency language;
  (void)language(problem, completion);
  r1::R1FormatOptions lenient;
  lenient.strict = false;
  (void)r1::R1Format(lenient)(problem, completion);
  return r1::MathAnswer{}(problem, completion).score + 0.0 * all(problem, completion).score;
}

void check_bounded(const std::string& what, const std::string& gold, const std::string& completion, double expected_score) {
  INFO(what);
  const r1::Stopwatch clock;
  const double score = run_all(gold, completion);
  CHECK(score == expected_score);
  CHECK(clock.elapsed_seconds() < bound_seconds);
}

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t k = 0; k < times; ++k) out.append(piece);
  return out;
}
}  // namespace

TEST_CASE("huge and deeply nested completions") {
  check_bounded("1 MB of '{' after \\boxed", "1", "\\boxed{" + std::string(1 << 20, '{'), 0.0);
  check_bounded("1 MB of '}'", "1", std::string(1 << 20, '}') + "\\boxed{1}", 1.0);
  check_bounded("1 MB of balanced braces in a box", "1", "\\boxed{" + std::string(1 << 19, '{') + std::string(1 << 19, '}') + "}", 0.0);
  check_bounded("100k nested boxes", "1", repeat("\\boxed{", 100000) + "1" + std::string(100000, '}'), 0.0);
  check_bounded("100k unclosed boxes", "1", repeat("\\boxed{", 100000), 0.0);
  check_bounded("10 MB of text then the answer", "42", std::string(10 << 20, 'a') + " \\boxed{42}", 1.0);
  check_bounded("1 MB of answer tags", "2", repeat("<answer>", 100000) + "2</answer>", 1.0);
  check_bounded("deep parentheses", "1", "\\boxed{" + std::string(5000, '(') + "1" + std::string(5000, ')') + "}", 0.0);
  check_bounded("deep fractions", "1", "\\boxed{" + repeat("\\frac{1}{", 3000) + "1" + std::string(3000, '}') + "}", 0.0);
  check_bounded("a long chain of signs", "1", "\\boxed{" + std::string(1900, '-') + "1}", 0.0);
  check_bounded("many phrase markers", "1", repeat("the answer is ", 100000), 0.0);
  check_bounded("many \\text wrappers", "1", "\\boxed{" + repeat("\\text{", 200) + "1" + std::string(200, '}') + "}", 1.0);
  // The free-text fallbacks (answer cues, math spans, the last number) on hostile text.
  check_bounded("100k unclosed display spans", "1", repeat("\\[", 100000) + " 1", 1.0);
  check_bounded("100k unclosed inline spans on one line", "1", repeat("\\( x ", 100000) + " 1", 1.0);
  check_bounded("100k unclosed $$", "1", repeat("$$ a ", 100000) + " 1", 1.0);
  check_bounded("100k answer cues without an answer", "1", repeat("answer ", 100000), 0.0);
  check_bounded("1 MB of three-digit groups", "1", repeat("123 ", 250000), 0.0);
  check_bounded("100k spans joined by 'or'", "1", repeat("$x = 1$ or ", 100000) + "$x = 1$", 0.0);
  check_bounded("deep matrices", "1", "\\boxed{" + repeat("\\begin{pmatrix}", 3000) + "1" + repeat("\\end{pmatrix}", 3000) + "}", 0.0);
  check_bounded("a long chain of relations", "1", "\\boxed{" + repeat("1 < ", 5000) + "1}", 0.0);
  check_bounded("a cue before 1 MB of digits glued to words", "1", "The answer is " + repeat("x2 ", 350000) + "now", 0.0);
  check_bounded("1 MB of dollar signs around words", "1", repeat("$ two words $", 80000), 0.0);
}

TEST_CASE("numbers too large for exact arithmetic") {
  check_bounded("9^{9^{9}}", "1", "\\boxed{9^{9^{9}}}", 0.0);
  check_bounded("9^{9^{9}} vs 9^{9^{8}}", "9^{9^{9}}", "\\boxed{9^{9^{8}}}", 0.0);
  check_bounded("2^{100000} vs 3^{100000}: both overflow double", "2^{100000}", "\\boxed{3^{100000}}", 0.0);
  check_bounded("tower of twos", "2", "\\boxed{2^{2^{2^{2^{2^{2}}}}}}", 0.0);
  check_bounded("100000!", "1", "\\boxed{100000!}", 0.0);
  check_bounded("1000! exactly", "1000!", "\\boxed{1000 \\cdot 999!}", 1.0);
  check_bounded("10^{-100000}", "0", "\\boxed{10^{-100000}}", 0.0);
  const std::string digits(10000, '7');
  check_bounded("10,000-digit number, same", digits, "\\boxed{" + digits + "}", 1.0);
  check_bounded("10,000-digit number, last digit differs", digits, "\\boxed{" + digits.substr(1) + "8}", 0.0);
  check_bounded("10,000-digit number against a small gold", "7", "\\boxed{" + digits + "}", 0.0);
  const std::string three_hundred(300, '9');
  check_bounded("300-digit numbers compared exactly", three_hundred + "1", "\\boxed{" + three_hundred + "1.0}", 1.0);
  check_bounded("300-digit numbers that differ", three_hundred + "1", "\\boxed{" + three_hundred + "2}", 0.0);
  check_bounded("1 MB gold", std::string(1 << 20, '1'), "\\boxed{1}", 0.0);
  check_bounded("many variables", "1", "\\boxed{abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ}", 0.0);
  check_bounded("a 2000-item list", "1", "\\boxed{" + repeat("1,", 999) + "1}", 0.0);
}

TEST_CASE("invalid UTF-8, NUL bytes, random bytes") {
  check_bounded("NUL bytes around the answer", "5", std::string("\0\0\\boxed{5}\0", 13), 1.0);
  check_bounded("NUL inside the box", "5", std::string("\\boxed{5\0}", 10), 0.0);
  check_bounded("invalid UTF-8", "5", "\xFF\xFE\xC3\x28\\boxed{5}\xE2\x82", 1.0);
  check_bounded("truncated multi-byte answer", "5", "\\boxed{\xE2\x88}", 0.0);
  std::string bytes(1 << 20, '\0');
  std::uint32_t state = 12345;
  for (auto& b : bytes) {
    state = state * 1664525u + 1013904223u;  // an LCG: deterministic noise
    b = static_cast<char>(state >> 24);
  }
  check_bounded("1 MB of random bytes", "5", bytes, 0.0);
  check_bounded("random bytes in a box", "5", "\\boxed{" + bytes.substr(0, 1500) + "}", 0.0);
  check_bounded("random bytes as gold", bytes.substr(0, 1000), "\\boxed{5}", 0.0);
}

TEST_CASE("countdown with hostile equations") {
  r1::Problem problem;
  problem.numbers = {3, 5, 7};
  problem.target = 22;
  const r1::Countdown countdown;
  const auto score = [&](const std::string& equation) {
    const r1::Stopwatch clock;
    const double result = countdown(problem, "<answer>" + equation + "</answer>").score;
    CHECK(clock.elapsed_seconds() < bound_seconds);
    return result;
  };
  CHECK(score(std::string(1 << 20, '(')) == 0.1);
  CHECK(score(std::string(900, '(') + "3*5+7" + std::string(900, ')')) == 0.1);  // past max_depth
  CHECK(score(std::string(40, '(') + "3*5+7" + std::string(40, ')')) == 1.0);
  CHECK(score("99999999999999999999999*3+5+7") == 0.1);
  CHECK(score(std::string(500, '-') + "3*5+7") == 0.1);
  CHECK(score(std::string("3*5\0+7", 6)) == 0.1);
}
