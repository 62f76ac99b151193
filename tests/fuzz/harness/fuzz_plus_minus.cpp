// The plus-minus task's readers of untrusted text: the prompt parser (r1::Error,
// or a problem whose prompt renders back to itself and whose own completions read
// back) and the self-check detector on a model's completion (never throws, linear,
// bounded). The input is a prompt and a completion: the text before the first '<'
// is the prompt; when it does not parse, the completion is read against a fixed problem.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "r1/tasks/plus_minus.hpp"
#include "r1/tasks/plus_minus_trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const std::size_t split = std::min(text.find('<'), text.size());
  const std::string_view prompt = text.substr(0, split);
  const std::string_view completion = text.substr(split);
  std::optional<r1::PlusMinus> parsed;
  r1::fuzz::run_expecting_errors([&] {
    parsed = r1::PlusMinus::parse(prompt);
    if (parsed->prompt() != prompt) r1::fuzz::property_failed("a parsed prompt does not render back to itself");
    for (r1::SignPattern pattern = 0; pattern < parsed->pattern_count() && pattern < 8; ++pattern) {
      for (const auto& own : {parsed->direct_completion(pattern), parsed->worked_completion(pattern),
                              parsed->checked_completion(pattern)}) {
        const auto trace = r1::trace_plus_minus(*parsed, own);
        if (!trace.well_formed || !trace.answer) r1::fuzz::property_failed("a task completion misread");
      }
    }
  });
  const r1::PlusMinus problem = parsed ? *parsed : r1::PlusMinus({47, 23, 81, 15}, 2, 4);
  const r1::PlusMinusTrace trace = r1::trace_plus_minus(problem, completion);
  if (trace.self_checked() && trace.attempts.empty()) r1::fuzz::property_failed("a check without a chain");
  if (trace.answer_solves && !trace.answer) r1::fuzz::property_failed("a solving answer that was not read");
  if (trace.caught_and_corrected() && trace.attempts.front().verdict != r1::PlusMinusVerdict::wrong)
    r1::fuzz::property_failed("caught without a <wrong> verdict");
  return 0;
}
