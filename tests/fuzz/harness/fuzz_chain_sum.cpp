// The chain-sum task's readers of untrusted text: the self-check detector on a
// model's completion (never throws, linear, bounded) and the prompt parser
// (r1::Error or a problem whose own prompt and completions read back).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/tasks/chain_sum.hpp"
#include "r1/tasks/chain_sum_trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const r1::ChainSumTrace trace = r1::trace_chain_sum(text);
  if (trace.well_formed && !trace.answer) r1::fuzz::property_failed("a well-formed trace without an answer");
  if (trace.self_checked() && (!trace.first || !trace.check)) r1::fuzz::property_failed("a check without its chains");
  if (trace.verdict == r1::ChainSumVerdict::wrong && trace.well_formed && !trace.redo)
    r1::fuzz::property_failed("a <wrong> verdict without the chain worked again");
  r1::fuzz::run_expecting_errors([&] {
    const auto problem = r1::ChainSum::parse(text);
    if (problem.prompt() != text) r1::fuzz::property_failed("a parsed prompt does not render back to itself");
    for (const auto& completion : {problem.direct_completion(), problem.worked_completion(), problem.checked_completion()}) {
      const auto own = r1::trace_chain_sum(completion);
      if (!own.well_formed || own.answer != problem.sum()) r1::fuzz::property_failed("a task completion misread");
    }
  });
  return 0;
}
