// The quotient task's readers of untrusted text: the prompt parser (r1::Error, or a
// problem whose prompt renders back to itself and whose own completions read back
// as written, its checked walks from every candidate ending on the quotient), the
// self-check detector on a model's completion (never throws, linear, bounded) and
// the answer verifier. The input is a prompt and a completion: the text before the
// first '<' is the prompt; when it does not parse, the completion is read against a
// fixed problem.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/quotient.hpp"
#include "r1/tasks/quotient.hpp"
#include "r1/tasks/quotient_trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const std::size_t split = std::min(text.find('<'), text.size());
  const std::string_view prompt = text.substr(0, split);
  const std::string_view completion = text.substr(split);
  std::optional<r1::Quotient> parsed;
  r1::fuzz::run_expecting_errors([&] {
    parsed = r1::Quotient::parse(prompt);
    if (parsed->prompt() != prompt) r1::fuzz::property_failed("a parsed prompt does not render back to itself");
    if (parsed->estimate() < parsed->quotient()) r1::fuzz::property_failed("an estimate below the quotient");
    const auto worked = r1::trace_quotient(*parsed, parsed->worked_completion());
    if (!worked.well_formed || !worked.estimate_right) r1::fuzz::property_failed("a worked completion misread");
    const auto checked = r1::trace_quotient(*parsed, parsed->checked_completion());
    if (!checked.self_checked() || !checked.answer_right ||
        checked.lines_right() != static_cast<int>(checked.lines.size()) ||
        checked.caught_and_corrected() != (parsed->estimate() != parsed->quotient()))
      r1::fuzz::property_failed("a checked completion misread");
    for (std::int64_t first = 1; first <= 9; ++first) {
      const std::string own = "<think>" + parsed->estimate_line() + "<check>" + parsed->walk(first) +
                              "</think><answer>" + std::to_string(parsed->quotient()) + "</answer>";
      const auto trace = r1::trace_quotient(*parsed, own);
      if (!trace.self_checked() || !trace.answer_right || trace.lines_right() != static_cast<int>(trace.lines.size()))
        r1::fuzz::property_failed("a walk misread");
    }
    if (r1::QuotientAnswer{}(parsed->problem(), parsed->direct_completion(parsed->quotient())).score != 1.0)
      r1::fuzz::property_failed("the quotient the verifier rejects");
  });
  const r1::Quotient problem = parsed ? *parsed : r1::Quotient(4837, 612);
  const r1::QuotientTrace trace = r1::trace_quotient(problem, completion);
  if (trace.self_checked() && trace.lines.empty()) r1::fuzz::property_failed("a check without a line");
  if (trace.caught_and_corrected() && (trace.lines.size() < 2 || !trace.answer_right))
    r1::fuzz::property_failed("caught without two lines and a right answer");
  r1::Problem as_problem;
  as_problem.numbers = {problem.dividend(), problem.divisor()};
  const r1::Reward reward = r1::QuotientAnswer{}(as_problem, completion);
  if (trace.answer_right && reward.score != 1.0) r1::fuzz::property_failed("a right answer the verifier rejects");
  return 0;
}
