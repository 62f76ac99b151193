#pragma once
// The Model concept (one of the five policies of a recipe, r1/concepts.hpp).
#include <concepts>
#include <cstdint>
#include <span>

#include "r1/core/parameter_view.hpp"
#include "r1/core/token_batch.hpp"

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

}  // namespace r1
