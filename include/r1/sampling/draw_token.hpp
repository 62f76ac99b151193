#pragma once
// Drawing one token from the processed candidates, and its behaviour log-prob:
// the log-probability of the drawn token under exactly the distribution it was
// drawn from, log p_i = (z_i - z_max) - log sum_j exp(z_j - z_max) over the
// surviving candidates (log-softmax; the sum accumulated in double). This is the π_old
// log-prob the GRPO ratio exp(ℓ_θ − ℓ_old) needs (DeepSeekMath, eq. 3).
#include <cmath>

#include "r1/core/error.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/sampling/candidate_set.hpp"

namespace r1 {

struct DrawnToken {
  TokenId id = 0;
  float logprob = 0.0f;
};

// Inverse-CDF draw with u uniform in [0, 1), over the candidates in their
// current order (deterministic: processors order ties by token id).
inline DrawnToken draw_token(const CandidateSet& candidates, double uniform) {
  require(candidates.size >= 1, "draw_token: no candidates left");
  const auto live = candidates.live();
  const double max_logit = candidates.max_logit();
  require(std::isfinite(max_logit), "draw_token: the largest logit is ", max_logit,
          ": expected finite logits from the model");
  if (live.size() == 1) return {live[0].id, 0.0f};
  const double total = softmax_weights(candidates, static_cast<float>(max_logit));
  require(std::isfinite(total), "draw_token: a NaN logit among the candidates: expected finite logits from the model");
  const float* weights = candidates.weights.data();
  const double target = uniform * total;
  double cumulative = 0.0;
  std::size_t chosen = live.size();
  for (std::size_t i = 0; i < live.size(); ++i) {
    cumulative += weights[i];
    if (target < cumulative && weights[i] > 0.0f) {
      chosen = i;
      break;
    }
  }
  if (chosen == live.size()) {  // u·total rounded past the last partial sum: take the last token with weight
    chosen = live.size() - 1;
    while (chosen > 0 && weights[chosen] == 0.0f) --chosen;
  }
  const double logprob = (static_cast<double>(live[chosen].logit) - max_logit) - std::log(total);
  return {live[chosen].id, static_cast<float>(logprob)};
}

}  // namespace r1
