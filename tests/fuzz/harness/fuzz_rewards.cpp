// Every rule-based verifier on an arbitrary completion: math answer (boxed /
// tagged answer extraction, LaTeX normalisation, expression equivalence),
// R1 format (strict and lenient), tag count, countdown, language consistency,
// repetition and overlong penalties.
//
// Input: line 1 is the gold answer, line 2 the countdown numbers then the target
// ("3 5 7 22") and the expected language, the rest the completion. Property:
// every score is finite.
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/language.hpp"
#include "r1/reward/length.hpp"
#include "r1/reward/math_answer.hpp"
#include "r1/reward/repetition.hpp"

namespace {
std::string_view take_line(std::string_view& text) {
  const auto end = text.find('\n');
  const auto line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return line;
}

template <class Verifier>
void score(const Verifier& verifier, const r1::Problem& problem, std::string_view completion) {
  r1::fuzz::run_expecting_errors([&] {
    const r1::Reward reward = verifier(problem, completion);
    if (!std::isfinite(reward.score)) r1::fuzz::property_failed("a verifier gave a score that is not finite");
  });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = r1::fuzz::as_text(data, size);
  r1::Problem problem;
  problem.answer = take_line(text);
  std::istringstream numbers{std::string(take_line(text))};
  std::int64_t number = 0;
  while (problem.numbers.size() < 8 && numbers >> number) problem.numbers.push_back(number);
  if (!problem.numbers.empty()) {
    problem.target = problem.numbers.back();
    problem.numbers.pop_back();
  }
  numbers.clear();
  numbers >> problem.language;
  const std::string_view completion = text;

  score(r1::MathAnswer{}, problem, completion);
  r1::MathAnswerOptions raw;
  raw.extract = false;
  raw.integer_gold_needs_number = false;
  score(r1::MathAnswer(raw), problem, completion);
  score(r1::R1Format{}, problem, completion);
  r1::R1FormatOptions lenient;
  lenient.strict = false;
  score(r1::R1Format(lenient), problem, completion);
  score(r1::TagCount{}, problem, completion);
  score(r1::Countdown{}, problem, completion);
  score(r1::LanguageConsistency{}, problem, completion);
  score(r1::RepetitionPenalty{}, problem, completion);
  r1::RepetitionOptions bigrams;
  bigrams.ngram_size = 2;
  score(r1::RepetitionPenalty(bigrams), problem, completion);
  score(r1::OverlongPenalty<>(r1::OverlongOptions{64, 16}), problem, completion);
  score(r1::OverlongPenalty<r1::ByteLength>(r1::OverlongOptions{64, 16}), problem, completion);
  return 0;
}
