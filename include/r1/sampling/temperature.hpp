#pragma once
// Temperature: p_i ∝ exp(z_i / T) (the Boltzmann distribution of Ackley,
// Hinton & Sejnowski 1985, eq. 1, as used for sampling LMs). T < 1 sharpens,
// T > 1 flattens; T = 0 is greedy, which is GreedyProcessor, not this.
#include "r1/core/error.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct TemperatureProcessor {
  float temperature = 1.0f;

  explicit TemperatureProcessor(float temperature_) : temperature(temperature_) {
    require(temperature > 0.0f && temperature < 1e30f, "TemperatureProcessor: temperature = ", temperature,
            ": expected a finite value > 0 (use GreedyProcessor for 0)");
  }
  // Divides (not multiplies by 1/T) so the scaled logits are bit-equal to a
  // model scoring `logits / T`.
  void apply(CandidateSet& candidates, const SequenceContext&) const {
    if (temperature == 1.0f) return;
    for (auto& candidate : candidates.live()) candidate.logit /= temperature;
  }
};

}  // namespace r1
