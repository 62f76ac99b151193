#pragma once
// The chain a SamplerConfig asks for, in HF transformers' order
// (generation/utils.py: penalties on raw logits, then temperature, top-k,
// top-p, min-p): repetition penalty → temperature → top-k → top-p → min-p, or
// repetition penalty → greedy when temperature is 0. Steps that would change
// nothing (penalty 1, temperature 1, top_k 0, top_p 1, min_p 0) are left out.
#include "r1/sampling/greedy.hpp"
#include "r1/sampling/logits_processor.hpp"
#include "r1/sampling/min_p.hpp"
#include "r1/sampling/repetition_penalty.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/sampling/temperature.hpp"
#include "r1/sampling/top_k.hpp"
#include "r1/sampling/top_p.hpp"

namespace r1 {

inline LogitsProcessorChain make_processor_chain(const SamplerConfig& config) {
  config.validate();
  LogitsProcessorChain chain;
  if (config.repetition_penalty != 1.0f) chain.add(RepetitionPenaltyProcessor{config.repetition_penalty});
  if (config.greedy()) {
    chain.add(GreedyProcessor{});
    return chain;
  }
  if (config.temperature != 1.0f) chain.add(TemperatureProcessor{config.temperature});
  if (config.top_k > 0) chain.add(TopKProcessor{config.top_k});
  if (config.top_p < 1.0f) chain.add(TopPProcessor{config.top_p});
  if (config.min_p > 0.0f) chain.add(MinPProcessor{config.min_p});
  return chain;
}

}  // namespace r1
