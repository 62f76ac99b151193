// The math expression parser and equivalence checker on their own: input is
// "gold\nanswer"; both are normalised, parsed within ExpressionLimits and
// compared (MathAnswer does the same after extraction and its caps).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/answer_equivalence.hpp"
#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/expression.hpp"
#include "r1/reward/latex_normalize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const auto split = text.find('\n');
  const std::string_view gold_text = text.substr(0, split);
  const std::string_view answer_text = split == std::string_view::npos ? text : text.substr(split + 1);
  r1::fuzz::run_expecting_errors([&] {
    (void)r1::extract_answer(text);
    const std::string gold_normalized = r1::normalize_latex_answer(gold_text);
    const std::string answer_normalized = r1::normalize_latex_answer(answer_text);
    const auto gold = r1::parse_math_expression(gold_normalized);
    const auto answer = r1::parse_math_expression(answer_normalized);
    if (gold && answer) (void)r1::expressions_equivalent(*gold, *answer);
  });
  return 0;
}
