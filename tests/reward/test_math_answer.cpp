// r1::MathAnswer: equivalence of answers (gold, answer) grouped by feature, with
// the pairs that must NOT be equal beside the ones that must. Cases follow the
// documented behaviour of the MATH grader (Hendrycks et al. 2021, is_equiv),
// Qwen2.5-Math's grader and HuggingFace Math-Verify, and the MATH / GSM8K answer styles.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "r1/reward/math_answer.hpp"

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

const r1::MathAnswer& grader() {
  static const r1::MathAnswer instance;
  return instance;
}

void expect_equal(const Pairs& pairs) {
  for (const auto& [gold, answer] : pairs) {
    const auto result = grader().compare(gold, answer);
    INFO("gold=\"", gold, "\" answer=\"", answer, "\" reason=", result.reason);
    CHECK(result.equal);
  }
}

void expect_not_equal(const Pairs& pairs) {
  for (const auto& [gold, answer] : pairs) {
    const auto result = grader().compare(gold, answer);
    INFO("gold=\"", gold, "\" answer=\"", answer, "\" reason=", result.reason);
    CHECK_FALSE(result.equal);
  }
}

}  // namespace

TEST_CASE("integers: leading zeros, signs, exact values") {
  expect_equal({{"03225", "3225"}, {"3225", "03225"}, {"03225", "03225"}, {"0", "000"}, {"-5", "-5"}, {"-5", "- 5"},
                {"42", "42.0"}, {"42", "42.000"}, {"7", "+7"}, {"10^2", "100"}, {"2^{10}", "1024"}, {"5!", "120"},
                {"-3", "(-3)"}, {"12", "{12}"}, {"18", "18."}});
  expect_not_equal({{"3225", "32250"}, {"3225", "322"}, {"3225", "3225.5"}, {"03225", "3224"}, {"5", "-5"},
                    {"-5", "5"}, {"0", "1"}, {"1000000", "1000001"}, {"3225", "3225x"}, {"3225", "3225/2"},
                    {"12", "1 2"}, {"42", "4.2"},
                    // An integer gold needs a number, not an expression that evaluates to it.
                    {"100", "10^2"}, {"1024", "2^{10}"}, {"120", "5!"}, {"3240", "45*72"}, {"3240", "45 \\times 72"},
                    {"5", "\\frac{10}{2}"}, {"2", "\\sqrt{4}"}, {"3225", "x = 3225 + 0"}});
  r1::MathAnswerOptions evaluate_anything;
  evaluate_anything.integer_gold_needs_number = false;
  const r1::MathAnswer lenient(evaluate_anything);
  CHECK(lenient.equivalent("3240", "45*72"));
  CHECK(lenient.equivalent("100", "10^2"));
  CHECK_FALSE(lenient.equivalent("3240", "45*71"));
}

TEST_CASE("decimals and fractions are exact rationals") {
  expect_equal({{"0.5", "\\frac{1}{2}"}, {"\\frac12", "0.5"}, {"\\frac{1}{2}", "1/2"}, {"\\dfrac{3}{4}", "0.75"},
                {"\\tfrac{3}{4}", "3/4"}, {"\\frac{6}{8}", "\\frac{3}{4}"}, {".5", "0.5"}, {"-\\frac{1}{3}", "\\frac{-1}{3}"},
                {"-\\frac{1}{3}", "-1/3"}, {"\\frac{1}{3}", "\\frac{2}{6}"}, {"2\\frac{1}{2}", "2.5"}, {"-2\\frac{1}{2}", "-2.5"},  // mixed numbers
                {"1.25", "\\frac{5}{4}"}, {"0.1+0.2", "0.3"}, {"\\frac{10}{4}", "2.5"}, {"\\frac 1 2", "0.5"},
                {"\\frac1{2}", "1/2"}, {"\\frac{1}2", "1/2"}, {"\\frac{\\frac{1}{2}}{3}", "\\frac{1}{6}"}});
  expect_not_equal({{"28", "0.28"}, {"0.28", "28"}, {"\\frac{1}{3}", "0.333"}, {"\\frac{1}{3}", "0.3333333"},
                    {"\\frac{1}{2}", "\\frac{1}{3}"}, {"\\frac{2}{3}", "\\frac{3}{2}"}, {"0.1", "0.01"},
                    {"\\frac{1}{2}", "-\\frac{1}{2}"}, {"1.5", "15"}, {"\\frac{1}{2}", "\\frac{1}{"}, {"2\\frac{1}{2}", "1"}, {"x\\frac{1}{2}", "x+0.5"}});
}

TEST_CASE("normalisation: separators, dollars, degrees, units, text wrappers, punctuation") {
  expect_equal({{"7425000", "7,425,000"},  {"14916", "14{,}916"},       {"1000", "1,000"},      {"5", "$5$"},
                {"5", "\\$5"},             {"90", "90^\\circ"},          {"90", "90^{\\circ}"},   {"90", "90\xC2\xB0"},
                {"10", "10\\text{ cm}"},   {"10", "10 cm"},              {"36", "36 square feet"}, {"5", "5 dollars"},
                {"12", "12\\mbox{ inches}"}, {"4", "\\left(4\\right)"},   {"3", "3."},             {"\\frac{1}{2}", "\\frac{1}{2}."},
                {"8", "\\boxed{8}"},       {"\\(8\\)", "8"},             {"\\[8\\]", "8"},        {"3", "\\displaystyle 3"},
                {"2", "\\mathrm{2}"},      {"\\text{(A)}", "(A)"},       {"7", "\\!7"},            {"12", "12\\,"}});
  expect_not_equal({{"1000", "1,00"}, {"1, 234", "1234"}, {"90", "91^\\circ"}, {"10", "10\\text{ cm}^2 + 1"}});
}

TEST_CASE("percentages: a percent gold accepts the percent and the fraction") {
  expect_equal({{"28\\%", "28"}, {"28\\%", "0.28"}, {"28\\%", "28\\%"}, {"28\\%", "28%"}, {"50\\%", "\\frac{1}{2}"},
                {"28", "28\\%"}, {"12.5\\%", "0.125"}, {"25%", "25 percent"}});
  expect_not_equal({{"28", "0.28"}, {"28\\%", "2.8"}, {"28\\%", "0.028"}, {"0.28", "28\\%"}, {"28\\%", "29%"}});
}

TEST_CASE("irrational values compare within the relative tolerance") {
  expect_equal({{"2\\sqrt{2}", "\\sqrt{8}"}, {"\\sqrt{2}/2", "\\frac{1}{\\sqrt{2}}"}, {"\\sqrt2", "\\sqrt{2}"},
                {"\\sqrt{4}", "2"}, {"\\pi", "\\pi"}, {"2\\pi", "\\pi \\cdot 2"}, {"\\frac{\\pi}{2}", "\\frac\\pi2"},
                {"1-\\frac{1}{e}", "\\frac{e-1}{e}"}, {"\\sqrt[3]{8}", "2"}, {"3\\sqrt{3}", "\\sqrt{27}"},
                {"\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt 3}{2}"}, {"\\ln 1", "0"}, {"\\log_{2} 8", "3"},
                {"e^{0}", "1"}, {"\\sin(0)", "0"}, {"|-3|", "3"}, {"2^{-1}", "0.5"}, {"\\sqrt{2}", "2^{1/2}"}});
  expect_not_equal({{"1-\\frac{1}{e}", "1+\\frac{1}{e}"}, {"2\\sqrt{2}", "\\sqrt{2}"}, {"\\pi", "3.14"},
                    {"\\pi", "3.14159"}, {"\\sqrt{2}", "1.414"}, {"\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt{2}}{2}"},
                    {"\\sqrt{3}", "3"}, {"2\\pi", "\\pi"}, {"e", "2.718"}});
}

TEST_CASE("expressions with variables compare at sample points") {
  expect_equal({{"\\frac{x+1}{2}", "0.5x+0.5"}, {"x^2-1", "(x-1)(x+1)"}, {"2x", "x+x"}, {"x y", "y x"},
                {"\\frac{1}{x}", "x^{-1}"}, {"(a+b)^2", "a^2+2ab+b^2"}, {"3n+2", "2+3n"}, {"\\sqrt{x^2}", "|x|"},
                {"\\sin^2 x + \\cos^2 x", "1"}, {"2\\sin x \\cos x", "\\sin(2x)"}, {"x_1 + x_2", "x_2 + x_1"},
                {"\\alpha + 1", "1 + \\alpha"}, {"\\frac{n(n+1)}{2}", "\\frac{n^2+n}{2}"}, {"e^{x}", "\\exp(x)"}});
  expect_not_equal({{"x+1", "x-1"}, {"x+1", "y+1"}, {"x^2", "2x"}, {"\\sqrt{x^2}", "x"}, {"x", "x^3"},
                    {"\\frac{x+1}{2}", "\\frac{x+1}{3}"}, {"(a+b)^2", "a^2+b^2"}, {"n^2", "n"}, {"x", "1"}});
}

TEST_CASE("sets are unordered, tuples and intervals ordered with their brackets") {
  expect_equal({{"1, 2", "2, 1"}, {"1,2,3", "3,1,2"}, {"\\{1, 2\\}", "\\{2, 1\\}"}, {"\\{1,2\\}", "2, 1"},
                {"(1, 2)", "(1,2)"}, {"(1, 2)", "\\left(1, 2\\right)"}, {"(0, 1)", "(0,1)"}, {"[0, 1]", "[0,1]"},
                {"(0, 1]", "(0, 1]"}, {"(-\\infty, 3]", "(-\\infty,3]"}, {"(\\frac{1}{2}, 3)", "(0.5, 3)"},
                {"(0,1) \\cup (2,3)", "(2,3)\\cup(0,1)"}, {"(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty,0)\\cup(1,\\infty)"},
                {"-1, 1", "1, -1"}, {"\\frac{1}{2}, 2", "2, 0.5"}, {"(1, 2, 3)", "(1, 2, 3)"}});
  expect_not_equal({{"[0,1]", "(0,1)"}, {"(0,1)", "[0,1]"}, {"(0,1]", "[0,1)"}, {"(1, 2)", "(2, 1)"},
                    {"1, 2", "1"}, {"1, 2", "1, 2, 3"}, {"1, 2", "1, 1"}, {"(1,2)", "1, 2"}, {"(1,2)", "\\{1,2\\}"},
                    {"(0,1) \\cup (2,3)", "(0,1)"}, {"(0,1) \\cup (2,3)", "(0,1) \\cup (2,4)"},
                    {"(-\\infty, 3]", "(-\\infty, 3)"}, {"(-\\infty, 3]", "(\\infty, 3]"}, {"1,2", "12"}});
}

TEST_CASE("equations") {
  expect_equal({{"x = 3", "3"}, {"3", "x=3"}, {"x = 3", "x=3"}, {"y = 2x + 1", "y = 1 + 2x"}, {"y = 2x+1", "2x+1"},
                {"y = 2x + 1", "2x + 1 = y"}, {"k = \\frac{1}{2}", "0.5"}, {"x=2, y=3", "x=2, y=3"}});
  expect_not_equal({{"x = 3", "4"}, {"x = 3", "y = 4"}, {"y = 2x+1", "y = 2x-1"}, {"3", "3 = 3"},
                    {"x = 3", "x = -3"}, {"x=2, y=3", "x=3, y=2"}});
}

TEST_CASE("multiple choice letters and text answers") {
  expect_equal({{"B", "B"}, {"B", "(B)"}, {"(B)", "B"}, {"\\text{(B)}", "B"}, {"C", "C) 12"}, {"(D)", "(D) 4 apples"},
                {"E", "E."}, {"\\text{Monday}", "Monday"}, {"\\text{Monday}", "monday"}, {"no solution", "No Solution"},
                {"\\text{even}", "\\textbf{even}"}});
  expect_not_equal({{"B", "C"}, {"B", "(C)"}, {"B", "4"}, {"(A)", "A + 1"}, {"\\text{Monday}", "Tuesday"},
                    {"\\text{even}", "odd"}, {"5", "five"}, {"\\text{yes}", "\\text{no}"}, {"B", "b"}});
}

TEST_CASE("prefixes and near misses of the right answer are wrong") {
  expect_not_equal({{"\\frac{1}{2}", "\\frac{1}"}, {"123", "12"}, {"1-\\frac{1}{e}", "1-\\frac{1}"}, {"(1,2)", "(1,"},
                    {"2\\sqrt{2}", "2\\sqrt{"}, {"\\frac{3}{4}", "\\frac{3}{4"}, {"x+1", "x+"}, {"10", "1"},
                    {"1, 2, 3", "1, 2"}, {"3.14", "3.1"}});
}

TEST_CASE("plus-minus answers are the set of both values") {
  expect_equal({{"\\pm 2", "2, -2"}, {"-2, 2", "\\pm 2"}, {"1 \\pm \\sqrt{2}", "1+\\sqrt{2}, 1-\\sqrt{2}"},
                {"x = \\pm 3", "3, -3"}, {"\\pm\\frac{1}{2}", "\\pm 0.5"}});
  expect_not_equal({{"\\pm 2", "2"}, {"\\pm 2", "-2"}, {"\\pm 2", "2, 2"}, {"1 \\pm 2", "3, 1"}});
}

TEST_CASE("GSM8K answer styles") {
  expect_equal({{"72", "72"}, {"1000", "1,000"}, {"18", "$18"}, {"18", "\\$18"}, {"18", "18 dollars"},
                {"18", "$18.00"}, {"5", "5 hours"}, {"624", "624 square feet"}, {"3", "3.0"}, {"-8", "-8"},
                {"1200000", "1,200,000"}, {"0.75", "3/4"}, {"25", "25%"}, {"16", "\\boxed{16}"}, {"48", "48 km"}});
  expect_not_equal({{"72", "27"}, {"1000", "100"}, {"18", "$180"}, {"18", "1.8"}, {"5", "50 hours"},
                    {"1200000", "1,200,001"}, {"0.75", "3/5"}, {"16", "61"}});
}

TEST_CASE("MATH answer styles") {
  expect_equal({{"\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}"}, {"\\frac{\\sqrt{3}}{3}", "\\sqrt{3}/3"},
                {"10\\sqrt{2}", "\\sqrt{200}"}, {"-\\frac{7}{4}", "-1.75"}, {"\\left[ -1, 2 \\right)", "[-1,2)"},
                {"x \\in [2, 5]", "[2,5]"}, {"(-\\infty, \\infty)", "(-\\infty,\\infty)"}, {"\\frac{9}{2}", "4\\frac{1}{2}"},
                {"2 \\cdot 10^3", "2000"}, {"1.5 \\times 10^{3}", "1500"}, {"6 \\text{ inches}", "6"},
                {"\\text{(C)}", "C"}, {"\\$1.25", "1.25"}, {"\\frac{5\\pi}{6}", "\\frac{5}{6}\\pi"},
                {"\\frac{1}{4}", "\\frac14"}, {"\\dfrac{14}{3}", "14/3"}, {"3^{5}", "243"}, {"\\sqrt{5}-1", "-1+\\sqrt5"},
                {"(2, -3)", "(2,-3)"}, {"\\{-2, 3\\}", "3, -2"}, {"4\\sqrt{3}", "\\sqrt{48}"}, {"\\frac{3}{2}", "1.5"},
                {"8\\pi", "8 \\pi"}, {"\\frac{1}{2} \\pi", "\\frac{\\pi}{2}"}, {"2^{\\frac{1}{2}}", "\\sqrt{2}"},
                {"\\log_{10} 100", "2"}, {"\\ln(e^2)", "2"}, {"\\binom", "\\binom"}});
  expect_not_equal({{"\\frac{\\sqrt{3}}{3}", "\\frac{\\sqrt{3}}{2}"}, {"10\\sqrt{2}", "\\sqrt{20}"},
                    {"-\\frac{7}{4}", "\\frac{7}{4}"}, {"\\left[ -1, 2 \\right)", "[-1,2]"}, {"(2, -3)", "(-3, 2)"},
                    {"\\{-2, 3\\}", "-2, 3, 3"}, {"\\frac{9}{2}", "4\\frac{1}{3}"}, {"3^{5}", "5^{3}"},
                    {"8\\pi", "8"}, {"\\ln(e^2)", "e^2"}, {"\\binom", "\\binom{5}{2}"}});
}
