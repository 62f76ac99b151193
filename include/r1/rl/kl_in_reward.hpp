#pragma once
// KL in the reward (kl_placement = reward) for REINFORCE++ (Hu 2025, §3):
// token-level rewards
//   r_t = −β k1_t + [t is the last counted token] · score,   k1_t = ℓ_old,t − ℓ_ref,t
// (Schulman 2020's k1 of KL(π_old ‖ π_ref) at the sampled token; the policy that
// sampled is π_old), returns G_t = Σ_{s ≥ t} γ^(s−t) r_s over counted tokens,
// and advantages whitened over every counted token of the batch:
//   A_t = (G_t − mean) / (std + eps).
// With group_baseline, each score first has its group's mean subtracted
// (REINFORCE++-baseline). Sequences whose score is not applicable get 0 and are
// left out of the statistics, as in compute_advantages.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/rl/advantage.hpp"
#include "r1/rl/kl.hpp"

namespace r1 {

struct TokenRewardInput {
  std::span<const std::int64_t> offsets;       // sequences + 1, as PolicyBatch
  std::span<const float> mask;                 // 1 = counted completion token
  std::span<const float> old_logprobs;         // the sampling policy's log-probs
  std::span<const float> ref_logprobs;         // the reference policy's log-probs
  std::span<const double> scores;              // outcome reward per sequence
  std::span<const std::uint8_t> applicable;    // per sequence; empty = all
  int group_size = 1;                          // for the group baseline
};

struct KlInRewardOptions {
  double beta = 0.0;
  double gamma = 1.0;              // REINFORCE++ uses γ = 1
  bool group_baseline = false;     // REINFORCE++-baseline
  StdEstimator std_estimator = StdEstimator::sample;
  double eps = 1e-4;
  double log_ratio_clamp = 20;     // bound on |ℓ_ref − ℓ_old| in k1; 0 = off
};

// Per-token advantages aligned with input.mask; 0 at uncounted tokens.
inline std::vector<float> kl_in_reward_advantages(const TokenRewardInput& input, const KlInRewardOptions& options) {
  const char* where = "kl_in_reward_advantages";
  require(!input.offsets.empty() && input.offsets.front() == 0, where, ": offsets must start at 0");
  const std::size_t sequences = input.offsets.size() - 1;
  const std::size_t n = input.mask.size();
  require(input.offsets.back() == static_cast<std::int64_t>(n), where, ": offsets end at ", input.offsets.back(),
          ", expected the token count ", n);
  for (std::size_t s = 0; s < sequences; ++s)
    require(input.offsets[s + 1] >= input.offsets[s], where, ": offsets decrease at sequence ", s);
  require(input.old_logprobs.size() == n && input.ref_logprobs.size() == n, where,
          ": old_logprobs and ref_logprobs need ", n, " entries, got ", input.old_logprobs.size(), " and ",
          input.ref_logprobs.size());
  require(input.scores.size() == sequences, where, ": ", input.scores.size(), " scores for ", sequences, " sequences");
  require(input.applicable.empty() || input.applicable.size() == sequences, where, ": 'applicable' has ",
          input.applicable.size(), " entries, expected ", sequences);
  require(std::isfinite(options.beta) && std::isfinite(options.gamma) && options.gamma >= 0 && options.eps >= 0, where,
          ": beta, gamma and eps must be finite, gamma and eps ≥ 0");

  for (std::size_t s = 0; s < sequences; ++s)
    require(!(input.applicable.empty() || input.applicable[s]) || std::isfinite(input.scores[s]), where, ": score ", s,
            " = ", input.scores[s], " is not finite");

  // Scores, with the group mean subtracted for the baseline variant.
  std::vector<double> scores(input.scores.begin(), input.scores.end());
  if (options.group_baseline) {
    require(input.group_size >= 1 && sequences % static_cast<std::size_t>(input.group_size) == 0, where, ": ",
            sequences, " sequences are not a whole number of groups of ", input.group_size);
    const auto group = static_cast<std::size_t>(input.group_size);
    for (std::size_t g = 0; g < sequences / group; ++g) {
      double sum = 0, count = 0;
      for (std::size_t i = g * group; i < (g + 1) * group; ++i)
        if (input.applicable.empty() || input.applicable[i]) sum += scores[i], count += 1;
      for (std::size_t i = g * group; i < (g + 1) * group; ++i)
        if (count > 0) scores[i] -= sum / count;
    }
  }

  std::vector<double> returns(n, 0.0), weights(n, 0.0);
  for (std::size_t s = 0; s < sequences; ++s) {
    if (!input.applicable.empty() && !input.applicable[s]) continue;
    const auto begin = static_cast<std::size_t>(input.offsets[s]), end = static_cast<std::size_t>(input.offsets[s + 1]);
    bool last = true;
    double future = 0;
    for (std::size_t t = end; t-- > begin;) {
      if (input.mask[t] == 0) continue;
      const KlTerm k1 = kl_term(KlEstimator::k1, input.old_logprobs[t], input.ref_logprobs[t], options.log_ratio_clamp);
      require(std::isfinite(k1.value), where, ": token ", t, " has a non-finite log-prob");
      double reward = -options.beta * k1.value;
      if (last) reward += scores[s], last = false;
      future = reward + options.gamma * future;
      returns[t] = future;
      weights[t] = 1;
    }
  }
  const MeanStd stats = weighted_mean_std(returns, weights, options.std_estimator);
  std::vector<float> advantages(n, 0.0f);
  for (std::size_t t = 0; t < n; ++t)
    if (weights[t] != 0) advantages[t] = static_cast<float>((returns[t] - stats.mean) / (stats.std + options.eps));
  return advantages;
}

}  // namespace r1
