// The pieces under MathAnswer: BigInt and Rational against values worked out by
// hand, LaTeX normalisation, and the expression parser's shapes and limits.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "r1/reward/bigint.hpp"
#include "r1/reward/expression.hpp"
#include "r1/reward/latex_normalize.hpp"
#include "r1/reward/rational.hpp"

TEST_CASE("BigInt: parse, add, subtract, multiply, compare") {
  const auto two_to_100 = r1::BigInt::from_decimal("1267650600228229401496703205376");  // 2^100
  REQUIRE(two_to_100);
  CHECK(*two_to_100 == *r1::BigInt::power(r1::BigInt{2}, 100));
  CHECK(two_to_100->bit_length() == 101);
  // (2^64 + 1)(2^64 - 1) = 2^128 - 1
  const r1::BigInt two_to_64 = *r1::BigInt::power(r1::BigInt{2}, 64);
  const auto product = r1::BigInt::multiply(two_to_64 + r1::BigInt{1}, two_to_64 - r1::BigInt{1});
  REQUIRE(product);
  CHECK(*product == *r1::BigInt::power(r1::BigInt{2}, 128) - r1::BigInt{1});
  CHECK((r1::BigInt{5} - r1::BigInt{7}) == r1::BigInt{-2});
  CHECK((r1::BigInt{-5} + r1::BigInt{5}).is_zero());
  CHECK(r1::BigInt{-3} < r1::BigInt{2});
  CHECK(r1::BigInt{-3} > r1::BigInt{-4});
  CHECK(*r1::BigInt::multiply(r1::BigInt{-3}, r1::BigInt{4}) == r1::BigInt{-12});
  CHECK(*r1::BigInt::power(r1::BigInt{-1}, 7) == r1::BigInt{-1});
  CHECK(*r1::BigInt::power(r1::BigInt{-2}, 3) == r1::BigInt{-8});
  CHECK(r1::BigInt::from_decimal("007") == r1::BigInt{7});
  CHECK_FALSE(r1::BigInt::from_decimal(""));
  CHECK_FALSE(r1::BigInt::from_decimal("12a"));
  CHECK_FALSE(r1::BigInt::from_decimal(std::string(5000, '9')));  // past max_digits
  CHECK(r1::BigInt{INT64_MIN}.to_int64() == std::nullopt);         // 2^63 is past the 62-bit check
  CHECK(r1::BigInt{-123456789}.to_int64() == -123456789);
  CHECK(two_to_100->to_double() == 1267650600228229401496703205376.0);  // a power of two is exact in double
}

TEST_CASE("BigInt: the bit cap refuses work instead of doing it") {
  CHECK_FALSE(r1::BigInt::power(r1::BigInt{9}, 387420489));  // 9^(9^9): ~1.2e9 bits
  CHECK_FALSE(r1::BigInt::power(r1::BigInt{2}, 70000));      // past 2^16 bits
  CHECK(r1::BigInt::power(r1::BigInt{2}, 60000));
  CHECK(*r1::BigInt::power(r1::BigInt{1}, 1000000000) == r1::BigInt{1});
  const r1::BigInt big = *r1::BigInt::power(r1::BigInt{2}, 40000);
  CHECK_FALSE(r1::BigInt::multiply(big, big));
}

TEST_CASE("Rational: exact fractions without reduction") {
  const auto third = *r1::Rational::fraction(r1::BigInt{1}, r1::BigInt{3});
  const auto two_sixths = *r1::Rational::fraction(r1::BigInt{2}, r1::BigInt{6});
  CHECK(*r1::Rational::equal(third, two_sixths));
  CHECK(*r1::Rational::equal(*r1::Rational::fraction(r1::BigInt{1}, r1::BigInt{-2}),
                             *r1::Rational::fraction(r1::BigInt{-1}, r1::BigInt{2})));
  CHECK_FALSE(r1::Rational::fraction(r1::BigInt{1}, r1::BigInt{0}));
  // 1/3 + 1/6 = 1/2; 1/3 - 1/2 = -1/6; (2/3) / (4/9) = 3/2; (2/3)^-2 = 9/4
  const auto sixth = *r1::Rational::fraction(r1::BigInt{1}, r1::BigInt{6});
  CHECK(*r1::Rational::equal(*r1::Rational::add(third, sixth), *r1::Rational::from_decimal("0.5")));
  CHECK(*r1::Rational::equal(*r1::Rational::subtract(third, *r1::Rational::from_decimal("0.5")), sixth.negated()));
  const auto two_thirds = *r1::Rational::fraction(r1::BigInt{2}, r1::BigInt{3});
  CHECK(*r1::Rational::equal(*r1::Rational::divide(two_thirds, *r1::Rational::fraction(r1::BigInt{4}, r1::BigInt{9})),
                             *r1::Rational::from_decimal("1.5")));
  CHECK(*r1::Rational::equal(*r1::Rational::power(two_thirds, -2), *r1::Rational::from_decimal("2.25")));
  CHECK_FALSE(*r1::Rational::equal(third, *r1::Rational::from_decimal("0.333333333333333333")));
  CHECK_FALSE(r1::Rational::divide(third, r1::Rational{0}));
  CHECK_FALSE(r1::Rational::power(r1::Rational{0}, -1));
  CHECK(r1::Rational::from_decimal("0.125")->to_double() == 0.125);
  CHECK(r1::Rational::from_decimal("42.000")->to_int64() == 42);
  CHECK_FALSE(r1::Rational::from_decimal("42.5")->to_int64());
  // 1/3 rounds to the nearest double: within half an ulp, 2^-54 relative.
  CHECK(third.to_double() == doctest::Approx(1.0 / 3.0).epsilon(1e-16));
  CHECK_FALSE(r1::Rational::from_decimal("."));
  CHECK_FALSE(r1::Rational::from_decimal("1.2.3"));
}

TEST_CASE("normalize_latex_answer: the documented rewrites") {
  CHECK(r1::normalize_latex_answer("$\\dfrac{1}{2}$") == "\\frac{1}{2}");
  CHECK(r1::normalize_latex_answer("7,425,000 dollars") == "7425000");
  CHECK(r1::normalize_latex_answer("\\left( 1, 2 \\right)") == "( 1, 2 )");
  CHECK(r1::normalize_latex_answer("90^\\circ") == "90");
  CHECK(r1::normalize_latex_answer("\\text{(B)}") == "(B)");
  CHECK(r1::normalize_latex_answer("14{,}916") == "14916");
  CHECK(r1::normalize_latex_answer("5\\%") == "5%");
  CHECK(r1::normalize_latex_answer("20 percent") == "20%");
  CHECK(r1::normalize_latex_answer("12\\text{ apples}") == "12");  // MATH's "\text{ units}"
  CHECK(r1::normalize_latex_answer("x \\in [1, 2]") == "[1, 2]");
  CHECK(r1::normalize_latex_answer("  3.  ") == "3");
  CHECK(r1::normalize_latex_answer("1, 234") == "1, 234");
  CHECK(r1::normalize_latex_answer("1,2345") == "1,2345");
  CHECK(r1::normalize_latex_answer("0.5,000") == "0.5,000");
  CHECK(r1::normalize_latex_answer("\\text{m}") == "m");
  CHECK(r1::normalize_latex_answer("cm") == "cm");  // only unit words: kept as text
  CHECK(r1::without_spaces("1 2 + x y") == "1 2+xy");
}

TEST_CASE("parse_math_expression: shapes") {
  const auto kind = [](std::string_view text) {
    const auto expression = r1::parse_math_expression(text);
    REQUIRE(expression);
    return expression->node(expression->root()).kind;
  };
  CHECK(kind("1, 2") == r1::ExprKind::list);
  CHECK(kind("\\{1, 2\\}") == r1::ExprKind::set);
  CHECK(kind("(1, 2)") == r1::ExprKind::tuple);
  CHECK(kind("(1)") == r1::ExprKind::number);
  CHECK(kind("(0,1)\\cup(2,3)") == r1::ExprKind::union_of);
  CHECK(kind("y = 2x") == r1::ExprKind::equation);
  CHECK(kind("50%") == r1::ExprKind::percent);
  CHECK(kind("5!") == r1::ExprKind::factorial);
  CHECK(kind("2^3") == r1::ExprKind::power);
  CHECK(kind("-x") == r1::ExprKind::negate);
  CHECK(kind("2x") == r1::ExprKind::multiply);
  CHECK(kind("\\sqrt[3]{x}") == r1::ExprKind::root);
  const auto tuple = r1::parse_math_expression("(0, 1]");
  REQUIRE(tuple);
  CHECK(tuple->node(tuple->root()).open == '(');
  CHECK(tuple->node(tuple->root()).close == ']');
  const auto vars = r1::parse_math_expression("x_1 + \\alpha y");
  REQUIRE(vars);
  CHECK(vars->variables(vars->root()) == std::vector<std::string>{"alpha", "x_1", "y"});
  // 2^3^2 = 2^9 (right-associative), exact
  const auto tower = r1::parse_math_expression("2^3^2");
  REQUIRE(tower);
  CHECK(tower->evaluate_exact(tower->root(), 1 << 14)->to_int64() == 512);
  const auto f = r1::parse_math_expression("\\frac{x+1}{2}");
  REQUIRE(f);
  CHECK(f->evaluate_double(f->root(), {{"x", 3.0}}) == 2.0);
}

TEST_CASE("parse_math_expression: refuses what is not math or past a limit") {
  const std::string with_nul("1\0", 2);
  const std::vector<std::string> bad = {"",      "(",  "1 +",    "(1]",     "\\frac{1}", "1 2", "x_", "\\unknowncommand",
                                        "1..2",  "\\sqrt{}", "|x", "\\{1, 2", "\xFF",      with_nul};
  for (const auto& text : bad) {
    INFO("input: ", text);
    CHECK_FALSE(r1::parse_math_expression(text));
  }
  r1::ExpressionLimits limits;
  CHECK_FALSE(r1::parse_math_expression(std::string(401, '1'), limits));  // max_number_digits
  CHECK(r1::parse_math_expression(std::string(400, '1'), limits));
  CHECK_FALSE(r1::parse_math_expression(std::string(100, '(') + "1" + std::string(100, ')'), limits));  // depth
  CHECK(r1::parse_math_expression(std::string(20, '(') + "1" + std::string(20, ')'), limits));
  limits.max_nodes = 10;
  CHECK_FALSE(r1::parse_math_expression("1+1+1+1+1+1", limits));  // 11 nodes
  CHECK(r1::parse_math_expression("1+1+1", limits));
  limits.max_length = 4;
  CHECK_FALSE(r1::parse_math_expression("12345", limits));
}
