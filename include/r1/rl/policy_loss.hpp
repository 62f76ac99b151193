#pragma once
// Per-token policy-gradient surrogates and their derivative with respect to
// the current log-prob ℓ. The ratio is ρ = exp(ℓ − ℓ_old). Losses are the
// negated objectives, so gradient descent on them ascends the objective.
//
//   clipped    −min(ρA, clip(ρ, 1−ε_low, 1+ε_high) A)       PPO/GRPO: DeepSeekMath Eq. 3;
//                                                           clip-higher: DAPO Eq. 10
//              with dual clip c > 1, for A < 0 the loss is
//              min(that, −cA)                               Ye et al. 2020 (dual-clip PPO), Eq. 5
//   gspo       as clipped with the sequence ratio
//              s_i = exp(mean_t (ℓ_t − ℓ_old,t)) for every   GSPO (Zheng et al. 2025), Eq. 7; per token
//              token, d/dℓ_t through the token's own term   as GSPO-token (Eq. 13), whose gradient is
//                                                           GSPO's when A is constant in a sequence
//   cispo      −sg[clip(ρ, 1−ε_low, 1+ε_high)] A ℓ           CISPO (MiniMax-M1, 2025), Eq. 4: the
//                                                           weight is clipped, the gradient never dropped
//   reinforce  −A ℓ                                         REINFORCE (Williams 1992); exact for μ = 1
//                                                           on-policy (ρ = 1), ignores ℓ_old
//
// At a clip bound exactly (ρ = 1 + ε_high with A > 0, ρ = 1 − ε_low with A < 0,
// ρ = c with dual clip), both branches have the same value and the token is
// treated as inside: the gradient −ρA flows and the token is not counted as
// clipped (torch.clamp's bounds are inclusive, so PyTorch makes the same choice).
#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/rl/enum_names.hpp"

namespace r1 {

enum class PolicyLoss { clipped, gspo, cispo, reinforce };
inline constexpr std::array<std::string_view, 4> policy_loss_names{"clipped", "gspo", "cispo", "reinforce"};
inline std::string_view to_string(PolicyLoss v) { return policy_loss_names[static_cast<std::size_t>(v)]; }
inline PolicyLoss parse_policy_loss(std::string_view name, std::string_view where = "policy_loss") {
  return detail::parse_enum_name<PolicyLoss>(policy_loss_names, name, where);
}

struct PolicyLossOptions {
  PolicyLoss kind = PolicyLoss::clipped;
  double eps_low = 0.2;
  double eps_high = 0.2;
  double dual_clip_c = 0;        // 0 = off; otherwise > 1
  double log_ratio_clamp = 20;   // |ℓ − ℓ_old| bound before exp (verl clamps at 20); 0 = off
};

struct TokenPolicyTerm {
  double value = 0;
  double d_logprob = 0;
  bool clipped_low = false;   // ratio below 1 − ε_low and the clip is active (or, for CISPO, the weight truncated)
  bool clipped_high = false;  // ratio above 1 + ε_high and the clip is active (or truncated)
  bool clipped_dual = false;  // the dual-clip bound −cA is active
};

// A log ratio after the optional clamp, and d(log ratio)/dℓ (0 where clamped).
struct ClampedLogRatio {
  double value = 0;
  double d_logprob = 1;
};
inline ClampedLogRatio clamp_log_ratio(double log_ratio, double clamp) {
  if (clamp > 0 && std::abs(log_ratio) > clamp) return {std::copysign(clamp, log_ratio), 0};
  return {log_ratio, 1};
}

// The clipped surrogate at one token for a ratio whose derivative with respect
// to ℓ is `d_ratio` (ρ for the token ratio, s_i for GSPO-token, 0 where clamped).
inline TokenPolicyTerm clipped_surrogate(double ratio, double d_ratio, double advantage, const PolicyLossOptions& options) {
  TokenPolicyTerm term;
  const double unclipped = -advantage * ratio;
  const double clipped_ratio = std::clamp(ratio, 1 - options.eps_low, 1 + options.eps_high);
  const double clipped = -advantage * clipped_ratio;
  if (clipped > unclipped) {  // strictly: at a bound both are equal and the token counts as inside
    term.value = clipped;
    term.clipped_high = ratio > 1 + options.eps_high;
    term.clipped_low = ratio < 1 - options.eps_low;
  } else {
    term.value = unclipped;
    term.d_logprob = -advantage * d_ratio;
  }
  if (options.dual_clip_c > 0 && advantage < 0 && term.value > -options.dual_clip_c * advantage) {
    term.value = -options.dual_clip_c * advantage;
    term.d_logprob = 0;
    term.clipped_dual = true;
  }
  return term;
}

// CISPO: the clipped ratio is a stop-gradient weight on −A ℓ.
inline TokenPolicyTerm cispo_term(double logprob, double ratio, double advantage, const PolicyLossOptions& options) {
  TokenPolicyTerm term;
  const double weight = std::clamp(ratio, 1 - options.eps_low, 1 + options.eps_high);
  term.value = -weight * advantage * logprob;
  term.d_logprob = -weight * advantage;
  term.clipped_high = ratio > 1 + options.eps_high;
  term.clipped_low = ratio < 1 - options.eps_low;
  return term;
}

// REINFORCE: −A ℓ.
inline TokenPolicyTerm reinforce_term(double logprob, double advantage) {
  TokenPolicyTerm term;
  term.value = -advantage * logprob;
  term.d_logprob = -advantage;
  return term;
}

}  // namespace r1
