#pragma once
// Rollouts over a whole list of problems, a batch of prompts at a time: what
// evaluation and rejection sampling share. Each problem's index is its prompt
// key (rollout.hpp), so its samples do not depend on the batch it falls in.
#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

// Calls consume(rollout) for each batch of up to prompts_per_batch consecutive
// problems, in order; rollout.problem_of(i) names completion i's problem.
template <class ModelT, class SamplerT, class Verifier, class Consume>
  requires Sampler<SamplerT, ModelT> && RewardVerifier<Verifier> && std::invocable<Consume&, Rollout&>
void rollout_in_batches(ModelT& model, SamplerT& sampler, std::span<const Problem> problems, const TextCodec& codec,
                        const Verifier& verifier, const RolloutSettings& settings, int prompts_per_batch,
                        Consume&& consume) {
  const auto batch = static_cast<std::size_t>(std::max(1, prompts_per_batch));
  for (std::size_t first = 0; first < problems.size(); first += batch) {
    std::vector<std::size_t> indices;
    for (std::size_t p = first; p < std::min(problems.size(), first + batch); ++p) indices.push_back(p);
    Rollout rollout = run_rollout(model, sampler, problems, std::move(indices), codec, verifier, settings);
    consume(rollout);
  }
}

}  // namespace r1
