#pragma once
// Batch verification with oneTBB: N (problem, completion) pairs scored in parallel.
//
//   auto rewards = r1::verify_batch(verifier, problems, completions);          // pair i: problems[i], completions[i]
//   auto rewards = r1::verify_groups(verifier, problems, completions, G);      // completion i: problems[i / G]
//   auto rewards = r1::verify_groups(verifier, problems, indices, completions, G);  // problems[indices[i / G]]
//
// Results depend only on the inputs, never on the thread count or schedule: each
// item is scored independently into its own slot. The only exception is the
// per-item time budget: an item that runs past `item_budget_ms` scores 0 with the
// reason "timed out" (r1's verifiers also stop early at the deadline, see
// work_budget.hpp); verifiers are bounded by design, so the budget only catches
// pathological inputs or a slow custom verifier.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/timer.hpp"
#include "r1/reward/reward.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/reward/work_budget.hpp"

namespace r1 {

struct BatchOptions {
  double item_budget_ms = 1000.0;  // <= 0: no budget
  std::size_t grain_size = 8;      // items per oneTBB task
};

namespace batch_detail {

template <RewardVerifier Verifier>
Reward verify_one(const Verifier& verifier, const Problem& problem, std::string_view completion, const BatchOptions& options) {
  const ScopedVerificationDeadline deadline(options.item_budget_ms);
  const Stopwatch clock;
  Reward reward = verifier(problem, completion);
  if (options.item_budget_ms > 0 && clock.elapsed_ms() > options.item_budget_ms) {
    Reward timed_out;
    timed_out.score = 0.0;
    timed_out.reason = "timed out (budget " + std::to_string(options.item_budget_ms) + " ms)";
    return timed_out;
  }
  return reward;
}

}  // namespace batch_detail

// completions[i] of problems[problem_of(i)], for i in [0, count).
template <RewardVerifier Verifier, class Text, class ProblemOf>
std::vector<Reward> verify_indexed(const Verifier& verifier, std::span<const Problem> problems,
                                   std::span<const Text> completions, ProblemOf problem_of, const BatchOptions& options = {}) {
  std::vector<Reward> rewards(completions.size());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, completions.size(), options.grain_size > 0 ? options.grain_size : 1),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i != range.end(); ++i)
                        rewards[i] = batch_detail::verify_one(verifier, problems[problem_of(i)],
                                                              std::string_view(completions[i]), options);
                    });
  return rewards;
}

// Pair i is (problems[i], completions[i]).
template <RewardVerifier Verifier, class Text>
std::vector<Reward> verify_batch(const Verifier& verifier, std::span<const Problem> problems,
                                 std::span<const Text> completions, const BatchOptions& options = {}) {
  require(problems.size() == completions.size(), "verify_batch: ", problems.size(), " problems but ",
          completions.size(), " completions (expected one completion per problem)");
  return verify_indexed(verifier, problems, completions, [](std::size_t i) { return i; }, options);
}
template <RewardVerifier Verifier>
std::vector<Reward> verify_batch(const Verifier& verifier, const std::vector<Problem>& problems,
                                 const std::vector<std::string>& completions, const BatchOptions& options = {}) {
  return verify_batch(verifier, std::span<const Problem>(problems), std::span<const std::string>(completions), options);
}

// G completions per problem, prompt-major (completion p * G + j is sample j of problem p).
template <RewardVerifier Verifier, class Text>
std::vector<Reward> verify_groups(const Verifier& verifier, std::span<const Problem> problems,
                                  std::span<const Text> completions, std::size_t group_size,
                                  const BatchOptions& options = {}) {
  require(group_size > 0, "verify_groups: group_size must be positive");
  require(completions.size() == problems.size() * group_size, "verify_groups: ", completions.size(),
          " completions for ", problems.size(), " problems x ", group_size, " (expected ", problems.size() * group_size, ")");
  return verify_indexed(verifier, problems, completions, [group_size](std::size_t i) { return i / group_size; }, options);
}

// G completions per chosen problem, prompt-major: completion i is of problems[problem_indices[i / G]].
template <RewardVerifier Verifier, class Text>
std::vector<Reward> verify_groups(const Verifier& verifier, std::span<const Problem> problems,
                                  std::span<const std::size_t> problem_indices, std::span<const Text> completions,
                                  std::size_t group_size, const BatchOptions& options = {}) {
  require(group_size > 0, "verify_groups: group_size must be positive");
  require(completions.size() == problem_indices.size() * group_size, "verify_groups: ", completions.size(),
          " completions for ", problem_indices.size(), " problems x ", group_size, " (expected ",
          problem_indices.size() * group_size, ")");
  for (const std::size_t index : problem_indices)
    require(index < problems.size(), "verify_groups: problem index ", index, " is out of range (", problems.size(),
            " problems)");
  return verify_indexed(
      verifier, problems, completions, [&](std::size_t i) { return problem_indices[i / group_size]; }, options);
}

}  // namespace r1
