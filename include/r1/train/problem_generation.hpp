#pragma once
// Rollouts over a whole list of problems, a batch of prompts at a time: what
// evaluation and rejection sampling share. Each problem's index is its prompt
// key (rollout.hpp), so its samples do not depend on the batch it falls in.
#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "r1/dist/single_process.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/rollout_gather.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

// Calls consume(rollout) for each batch of up to prompts_per_batch consecutive
// problems, in order; rollout.problem_of(i) names completion i's problem.
//
// Over N ranks (a Communicator, r1/dist/), a batch holds prompts_per_batch problems
// per rank: each rank rolls out its share and every rank consumes the whole batch,
// gathered in order (rollout_gather.hpp), so consume sees what one process would.
template <class Comm, class ModelT, class SamplerT, class Verifier, class Consume>
  requires Communicator<Comm> && Sampler<SamplerT, ModelT> && RewardVerifier<Verifier> &&
           std::invocable<Consume&, Rollout&>
void rollout_in_batches(Comm& comm, ModelT& model, SamplerT& sampler, std::span<const Problem> problems,
                        const TextCodec& codec, const Verifier& verifier, const RolloutSettings& settings,
                        int prompts_per_batch, Consume&& consume) {
  const auto batch = static_cast<std::size_t>(std::max(1, prompts_per_batch)) * static_cast<std::size_t>(comm.size());
  for (std::size_t first = 0; first < problems.size(); first += batch) {
    std::vector<std::size_t> indices;
    for (std::size_t p = first; p < std::min(problems.size(), first + batch); ++p) indices.push_back(p);
    Rollout rollout = gather_rollout(
        comm, run_rollout(model, sampler, problems, rank_share(comm, indices), codec, verifier, settings));
    consume(rollout);
  }
}

template <class ModelT, class SamplerT, class Verifier, class Consume>
  requires Sampler<SamplerT, ModelT> && RewardVerifier<Verifier> && std::invocable<Consume&, Rollout&>
void rollout_in_batches(ModelT& model, SamplerT& sampler, std::span<const Problem> problems, const TextCodec& codec,
                        const Verifier& verifier, const RolloutSettings& settings, int prompts_per_batch,
                        Consume&& consume) {
  SingleProcess one;
  rollout_in_batches(one, model, sampler, problems, codec, verifier, settings, prompts_per_batch,
                     std::forward<Consume>(consume));
}

}  // namespace r1
