#pragma once
// The policies a recipe is composed of. A recipe is a set of types:
//
//   using Policy = r1::Transformer<r1::cpu>;
//   using Recipe = r1::Grpo<Policy, r1::KvSampler, r1::Sum<r1::MathAnswer, r1::R1Format>,
//                           r1::AdamW, r1::GrpoObjective>;
//
// Each concept lists exactly what the trainer calls. Optional capabilities are
// detected with `if constexpr (requires { ... })`, never required here.
#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string_view>
#include <vector>

#include "r1/core/token_batch.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/reward/reward.hpp"
#include "r1/rl/policy_batch.hpp"
#include "r1/sampling/completion.hpp"

namespace r1 {

// A causal language model with parameters and gradients.
//
//   TokenScores scores;
//   model.score(batch, /*temperature=*/1.0f, scores);   // forward, keeps activations
//   model.zero_grad();
//   model.backward(batch, d_logprobs, d_entropies);       // accumulates into gradients
//   for (auto& p : model.parameters()) ...
//
// Inference uses a KV cache of `slots` sequences:
//   auto cache = model.make_cache(slots, max_positions);
//   model.prefill(cache, slots, prompts, logits);  // logits: (slots.size(), vocab) of each prompt's last position
//   model.copy_slot(cache, 0, 1);                  // share one prefill among G samples
//   model.decode(cache, slots, next_tokens, logits);
template <class M>
concept Model = requires(M& model, const M& const_model, const TokenBatch& batch, float temperature,
                         TokenScores& scores, std::span<const float> gradient, typename M::Cache& cache,
                         std::span<const std::int32_t> slots, std::span<const TokenId> tokens,
                         std::span<float> logits, int slot) {
  typename M::Cache;
  { const_model.vocab_size() } -> std::convertible_to<std::int64_t>;
  { model.score(batch, temperature, scores) };
  { model.backward(batch, gradient, gradient) };
  { model.zero_grad() };
  { model.parameters() } -> std::convertible_to<std::span<const ParameterView>>;
  { const_model.make_cache(slot, slot) } -> std::same_as<typename M::Cache>;
  { model.prefill(cache, slots, batch, logits) };
  { model.decode(cache, slots, tokens, logits) };
  { model.copy_slot(cache, slot, slot) };
};

// Turns prompts into G completions each, with a Model. Completions come back
// prompt-major: completion p * G + j is sample j of prompt p.
template <class S, class M>
concept Sampler = Model<M> && requires(S& sampler, M& model, const GenerationRequest& request) {
  { sampler.generate(model, request) } -> std::same_as<std::vector<Completion>>;
};

// Scores one completion of one problem. Must be const and thread-safe: oneTBB
// runs many at once.
template <class V>
concept RewardVerifier = requires(const V& verifier, const Problem& problem, std::string_view completion) {
  { verifier(problem, completion) } -> std::same_as<Reward>;
  { verifier.name() } -> std::convertible_to<std::string_view>;
};

// Updates parameters from their gradients; its state can be saved and restored.
template <class O>
concept Optimizer = requires(O& optimizer, const O& const_optimizer, std::span<const ParameterView> parameters,
                             float learning_rate, std::ostream& out, std::istream& in) {
  { optimizer.step(parameters) };
  { optimizer.set_learning_rate(learning_rate) };
  { const_optimizer.learning_rate() } -> std::convertible_to<float>;
  { const_optimizer.save_state(out) };
  { optimizer.load_state(in) };
};

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
