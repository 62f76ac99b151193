// The subset-sum task's readers of untrusted text: the prompt parser (r1::Error,
// or a problem whose prompt renders back to itself and whose own completions read
// back and score 1, every revision they write reading back right), the
// self-check detector on a model's completion (never throws, linear, bounded) and
// the answer verifier. The input is a prompt and a completion:
// the text before the first '<' is the prompt; when it does not parse, the
// completion is read against a fixed problem.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/subset_sum.hpp"
#include "r1/tasks/subset_sum.hpp"
#include "r1/tasks/subset_sum_trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const std::size_t split = std::min(text.find('<'), text.size());
  const std::string_view prompt = text.substr(0, split);
  const std::string_view completion = text.substr(split);
  std::optional<r1::SubsetSum> parsed;
  r1::fuzz::run_expecting_errors([&] {
    parsed = r1::SubsetSum::parse(prompt);
    if (parsed->prompt() != prompt) r1::fuzz::property_failed("a parsed prompt does not render back to itself");
    for (r1::SubsetChoice choice = 1; choice < parsed->choice_count() && choice < 8; ++choice) {
      for (const auto& own : {parsed->direct_completion(choice), parsed->worked_completion(choice),
                              parsed->checked_completion(choice),
                              parsed->checked_completion(choice, 4, r1::SubsetSumRevision::gap_move)}) {
        const auto trace = r1::trace_subset_sum(*parsed, own);
        if (!trace.well_formed || !trace.answer) r1::fuzz::property_failed("a task completion misread");
        if (trace.revisions_right() != trace.revisions_written())
          r1::fuzz::property_failed("a revision of the task's own gap_move completion read as wrong");
      }
      if (parsed->solves(choice)) {
        r1::Problem problem = parsed->problem(choice);
        if (r1::SubsetSumAnswer{}(problem, parsed->direct_completion(choice)).score != 1.0)
          r1::fuzz::property_failed("a solution the verifier rejects");
      }
    }
  });
  const r1::SubsetSum problem = parsed ? *parsed : r1::SubsetSum({47, 23, 81, 15}, 2, 62);
  const r1::SubsetSumTrace trace = r1::trace_subset_sum(problem, completion);
  if (trace.self_checked() && trace.attempts.empty()) r1::fuzz::property_failed("a check without a chain");
  if (trace.caught_and_corrected() && trace.attempts.front().verdict != r1::SubsetSumVerdict::wrong)
    r1::fuzz::property_failed("caught without a <wrong> verdict");
  for (std::size_t k = 0; trace.well_formed && k < trace.attempts.size(); ++k)
    if (trace.attempts[k].revision && (k + 1 == trace.attempts.size() ||
                                       trace.attempts[k].verdict != r1::SubsetSumVerdict::wrong))
      r1::fuzz::property_failed("a revision not between a <wrong> and another chain");
  r1::Problem as_problem;
  as_problem.numbers = problem.numbers();
  as_problem.target = problem.target();
  const r1::Reward reward = r1::SubsetSumAnswer{}(as_problem, completion);
  if (trace.answer_solves && reward.score != 1.0) r1::fuzz::property_failed("a solving answer the verifier rejects");
  return 0;
}
