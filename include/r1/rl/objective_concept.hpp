#pragma once
// The Objective concept (one of the five policies of a recipe, r1/concepts.hpp).
#include <concepts>
#include <span>

#include "r1/rl/policy_batch.hpp"

namespace r1 {

// Advantage estimator + policy loss (+ KL): advantages from group rewards, then
// the loss and d loss / d log-prob (and d loss / d entropy, zero without an
// entropy bonus) per token, which the Model backpropagates.
template <class O>
concept Objective = requires(const O& objective, const AdvantageInput& rewards, const PolicyBatch& batch,
                             std::span<float> d_logprobs, std::span<float> d_entropies) {
  { objective.advantages(rewards) } -> std::same_as<Advantages>;
  { objective.loss(batch, d_logprobs, d_entropies) } -> std::same_as<LossResult>;
};

}  // namespace r1
