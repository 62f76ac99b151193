// Countdown, language consistency, DAPO overlong penalty, cosine length shaping,
// n-gram repetition: values worked out by hand beside each check.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "r1/concepts.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/language.hpp"
#include "r1/reward/length.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/reward/repetition.hpp"

static_assert(r1::RewardVerifier<r1::Countdown>);
static_assert(r1::RewardVerifier<r1::LanguageConsistency>);
static_assert(r1::RewardVerifier<r1::OverlongPenalty<>>);
static_assert(r1::RewardVerifier<r1::CosineLength<r1::MathAnswer>>);
static_assert(r1::RewardVerifier<r1::RepetitionPenalty>);

namespace {
r1::Problem countdown_problem(std::vector<std::int64_t> numbers, std::int64_t target) {
  r1::Problem problem;
  problem.numbers = std::move(numbers);
  problem.target = target;
  return problem;
}
double countdown_score(const r1::Problem& problem, const std::string& equation) {
  return r1::Countdown{}(problem, "<think>...</think><answer>" + equation + "</answer>").score;
}
}  // namespace

TEST_CASE("Countdown: each number once, exact arithmetic, TinyZero scores") {
  const auto p = countdown_problem({3, 5, 7}, 22);
  CHECK(countdown_score(p, "3*5+7") == 1.0);          // 15 + 7
  CHECK(countdown_score(p, "7 + 3 * 5") == 1.0);
  CHECK(countdown_score(p, "(5 * 3) + 7 = 22") == 1.0);
  CHECK(countdown_score(p, "((3)*(5))+(7)") == 1.0);
  CHECK(countdown_score(p, "(3+5)*7") == 0.1);        // 56
  CHECK(countdown_score(p, "3*5+7+7") == 0.1);        // 7 used twice
  CHECK(countdown_score(p, "3*5+7+0") == 0.1);        // 0 is not given
  CHECK(countdown_score(p, "3*5") == 0.1);            // 7 unused
  CHECK(countdown_score(p, "35-13") == 0.1);          // digits glued into other numbers
  CHECK(countdown_score(p, "3*5+7 = 23") == 0.1);     // the right-hand side must be the target
  CHECK(countdown_score(p, "3**5+7") == 0.1);
  CHECK(countdown_score(p, "3^5+7") == 0.1);
  CHECK(countdown_score(p, "3*5+7)") == 0.1);
  CHECK(countdown_score(p, "") == 0.1);
  CHECK(r1::Countdown{}(p, "3*5+7 with no tags").score == 0.0);
  // Exact: 1/49*49 is 1 (0.9999999999999999 in double).
  CHECK(countdown_score(countdown_problem({1, 49, 49}, 1), "1/49*49") == 1.0);
  CHECK(countdown_score(countdown_problem({7, 2, 2}, 7), "7/2*2") == 1.0);
  CHECK(countdown_score(countdown_problem({5, 3, 3}, 5), "5/(3-3)") == 0.1);  // division by zero
  CHECK(countdown_score(countdown_problem({2, 5}, 3), "-2+5") == 1.0);
  CHECK(countdown_score(countdown_problem({2, 5}, -3), "2-5") == 1.0);
  CHECK_FALSE(r1::Countdown{}(r1::Problem{}, "<answer>1</answer>").applicable);
  const auto reward = r1::Countdown{}(p, "<answer>3*5+7+7</answer>");
  CHECK(reward.extracted == "3*5+7+7");
  CHECK(reward.reason.find("once") != std::string::npos);
  r1::CountdownOptions options;
  options.format_score = 0.0;
  options.correct_score = 2.0;
  CHECK(r1::Countdown(options)(p, "<answer>3*5+7</answer>").score == 2.0);
  CHECK(r1::Countdown(options)(p, "<answer>3+5+7</answer>").score == 0.0);
}

TEST_CASE("language consistency: proportion of target-language words in the reasoning") {
  r1::Problem problem;
  const r1::LanguageConsistency language;
  problem.language = "en";
  CHECK(language(problem, "<think>The answer is 42</think><answer>42</answer>").score == 1.0);
  // 4 Han characters (one word each) + "the", "value"; "x" (one letter) and \frac are not words.
  const std::string mixed = "<think>\xE6\x88\x91\xE4\xBB\xAC\xE8\xAE\xA1\xE7\xAE\x97 x+1 \\frac the value</think>";
  CHECK(language(problem, mixed).score == doctest::Approx(2.0 / 6.0).epsilon(1e-15));
  problem.language = "zh-CN";
  CHECK(language(problem, mixed).score == doctest::Approx(4.0 / 6.0).epsilon(1e-15));
  // Japanese counts kana and Han: "ですHan" -> 2 kana + 1 Han, plus "ok" (Latin).
  problem.language = "ja";
  CHECK(language(problem, "\xE3\x81\xA7\xE3\x81\x99\xE6\xBC\xA2 ok").score == doctest::Approx(3.0 / 4.0).epsilon(1e-15));
  problem.language = "ru";
  CHECK(language(problem, "\xD0\xB4\xD0\xB0 yes").score == 0.5);  // "да" + "yes"
  // Invalid UTF-8 and NUL bytes are skipped, never read past the end.
  problem.language = "en";
  CHECK(language(problem, std::string("ok\xFF\xFE\xC3 fine\0 well", 17)).score == 1.0);
  CHECK_FALSE(language(problem, "<think>1 + 2 = 3</think>").applicable);
  problem.language = "xx";
  CHECK_THROWS_AS(language(problem, "words here"), r1::Error);
  problem.language = "";  // the default language
  CHECK(language(problem, "plain words").score == 1.0);
}

TEST_CASE("DAPO overlong penalty (Eq. 13)") {
  // L_max 100, L_cache 20: no penalty up to 80, then linear to -1 at 100, then -1.
  CHECK(r1::overlong_penalty(0, 100, 20) == 0.0);
  CHECK(r1::overlong_penalty(80, 100, 20) == 0.0);
  CHECK(r1::overlong_penalty(81, 100, 20) == doctest::Approx(-0.05).epsilon(1e-15));  // (80-81)/20
  CHECK(r1::overlong_penalty(90, 100, 20) == doctest::Approx(-0.5).epsilon(1e-15));
  CHECK(r1::overlong_penalty(100, 100, 20) == -1.0);
  CHECK(r1::overlong_penalty(5000, 100, 20) == -1.0);
  CHECK_THROWS_AS(r1::overlong_penalty(1, 100, 0), r1::Error);
  CHECK_THROWS_AS(r1::overlong_penalty(1, 10, 20), r1::Error);
  const r1::OverlongPenalty<> penalty(r1::OverlongOptions{10, 4});
  CHECK(penalty(r1::Problem{}, "abcdef").score == 0.0);                 // 6 <= 6
  CHECK(penalty(r1::Problem{}, "abcdefgh").score == -0.5);              // (6-8)/4
  CHECK(penalty(r1::Problem{}, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9").score == -0.25);  // 7 code points
  const r1::OverlongPenalty<r1::ByteLength> bytes(r1::OverlongOptions{10, 4});
  CHECK(bytes(r1::Problem{}, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9").score == -1.0);  // 14 bytes
  CHECK_THROWS_AS(r1::OverlongPenalty<>(r1::OverlongOptions{10, 0}), r1::Error);
}

TEST_CASE("cosine length reward (Yeo et al. 2025)") {
  r1::CosineLengthOptions options;
  options.max_length = 100;
  constexpr double pi = 3.14159265358979323846;
  // Correct: r_0 = 2 at length 0, r_L = 1 at length T; halfway 1 + 1 * (1 + cos(pi/2)) / 2 = 1.5.
  CHECK(r1::cosine_length_reward(true, 0, options) == 2.0);
  CHECK(r1::cosine_length_reward(true, 50, options) == doctest::Approx(1.5).epsilon(1e-15));
  CHECK(r1::cosine_length_reward(true, 25, options) == doctest::Approx(1.0 + 0.5 * (1.0 + std::cos(pi / 4))).epsilon(1e-15));
  // Wrong: -10 at 0, 0 at T; halfway -5.
  CHECK(r1::cosine_length_reward(false, 0, options) == -10.0);
  CHECK(r1::cosine_length_reward(false, 50, options) == doctest::Approx(-5.0).epsilon(1e-15));
  CHECK(r1::cosine_length_reward(false, 100, options) == -10.0);  // exceeded
  CHECK(r1::cosine_length_reward(true, 100, options) == -10.0);
  // Monotone: shorter correct earns more; a longer wrong answer loses less.
  CHECK(r1::cosine_length_reward(true, 10, options) > r1::cosine_length_reward(true, 90, options));
  CHECK(r1::cosine_length_reward(false, 10, options) < r1::cosine_length_reward(false, 90, options));
  const r1::CosineLength<r1::MathAnswer> shaped(options);
  r1::Problem problem;
  problem.answer = "4";
  const std::string correct = "\\boxed{4}";                   // 9 code points
  const double expected = 1.0 + 0.5 * (1.0 + std::cos(pi * 9.0 / 100.0));
  CHECK(shaped(problem, correct).score == doctest::Approx(expected).epsilon(1e-15));
  CHECK(shaped(problem, "\\boxed{5}").score == doctest::Approx(-10.0 * 0.5 * (1.0 + std::cos(pi * 9.0 / 100.0))).epsilon(1e-15));
  CHECK_FALSE(shaped(r1::Problem{}, correct).applicable);
}

TEST_CASE("n-gram repetition penalty") {
  // "a b c a b c", n = 3: trigrams abc, bca, cab, abc -> 3 unique of 4 -> -1 * (1 - 3/4).
  CHECK(r1::repetition_penalty("a b c a b c", 3, -1.0) == doctest::Approx(-0.25).epsilon(1e-15));
  CHECK(r1::repetition_penalty("A b C a B c", 3, -1.0) == doctest::Approx(-0.25).epsilon(1e-15));  // case folded
  CHECK(r1::repetition_penalty("one two three four", 3, -1.0) == 0.0);
  CHECK(r1::repetition_penalty("one two", 3, -1.0) == 0.0);
  CHECK(r1::repetition_penalty("", 3, -1.0) == 0.0);
  // 10 copies of "x": 8 trigrams, 1 unique -> -0.5 * (1 - 1/8).
  CHECK(r1::repetition_penalty("x x x x x x x x x x", 3, -0.5) == doctest::Approx(-0.5 * 7.0 / 8.0).epsilon(1e-15));
  CHECK_THROWS_AS(r1::repetition_penalty("a", 0, -1.0), r1::Error);
  CHECK_THROWS_AS(r1::repetition_penalty("a", 2, 1.0), r1::Error);
  CHECK(r1::RepetitionPenalty{}(r1::Problem{}, "a b c a b c").score == doctest::Approx(-0.25).epsilon(1e-15));
}
