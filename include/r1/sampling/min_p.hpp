#pragma once
// Min-p sampling (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling for
// Creative and Coherent LLM Outputs", §3.1): keep tokens with
// P(x) >= min_p * max_x' P(x'), renormalise over them. In logits,
// P(x)/P_max = exp(z_x - z_max), so the test is z_x >= z_max + log(min_p),
// which needs no softmax.
#include <cmath>

#include "r1/core/error.hpp"
#include "r1/sampling/candidate_set.hpp"
#include "r1/sampling/logits_processor.hpp"

namespace r1 {

struct MinPProcessor {
  float min_p = 0.0f;

  explicit MinPProcessor(float min_p_) : min_p(min_p_) {
    require(min_p >= 0.0f && min_p <= 1.0f, "MinPProcessor: min_p = ", min_p, ": expected a value in [0, 1]");
  }
  void apply(CandidateSet& candidates, const SequenceContext&) const {
    if (min_p <= 0.0f || candidates.size <= 1) return;
    const double threshold = static_cast<double>(candidates.max_logit()) + std::log(static_cast<double>(min_p));
    // Stable compaction keeps the order (and the sorted flag) as it was.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < candidates.size; ++i)
      if (static_cast<double>(candidates.candidates[i].logit) >= threshold)
        candidates.candidates[kept++] = candidates.candidates[i];
    candidates.truncate(kept);  // the maximum always passes, so kept >= 1
  }
};

}  // namespace r1
