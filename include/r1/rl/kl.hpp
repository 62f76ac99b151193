#pragma once
// Per-token estimators of KL(π_θ ‖ π_ref) from tokens sampled from π_θ
// (Schulman 2020, "Approximating KL divergence"). With log r = ℓ_ref − ℓ:
//   k1 = −log r                 unbiased, high variance, can be negative
//   k2 = ½ (log r)²             biased, low variance
//   k3 = (r − 1) − log r        unbiased, low variance, ≥ 0 (DeepSeekMath Eq. 4)
#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/rl/enum_names.hpp"

namespace r1 {

enum class KlEstimator { k1, k2, k3 };

inline constexpr std::array<std::string_view, 3> kl_estimator_names{"k1", "k2", "k3"};

inline std::string_view to_string(KlEstimator estimator) {
  return kl_estimator_names[static_cast<std::size_t>(estimator)];
}

inline KlEstimator parse_kl_estimator(std::string_view name, std::string_view where = "kl_estimator") {
  return detail::parse_enum_name<KlEstimator>(kl_estimator_names, name, where);
}

// Where the KL regulariser goes: into the loss with β (GRPO, DeepSeekMath Eq. 3), or
// as a k1 penalty −β k1 in a token-level reward (PPO/RLHF, REINFORCE++; see
// r1/rl/kl_in_reward.hpp).
enum class KlPlacement { loss, reward };
inline constexpr std::array<std::string_view, 2> kl_placement_names{"loss", "reward"};
inline std::string_view to_string(KlPlacement placement) {
  return kl_placement_names[static_cast<std::size_t>(placement)];
}
inline KlPlacement parse_kl_placement(std::string_view name, std::string_view where = "kl_placement") {
  return detail::parse_enum_name<KlPlacement>(kl_placement_names, name, where);
}

// A KL estimate at one token and its derivative with respect to the current
// log-prob ℓ (the reference log-prob is a constant).
struct KlTerm {
  double value = 0;
  double d_logprob = 0;
};

// `log_ratio_clamp` > 0 bounds |ℓ_ref − ℓ| before exponentiation (as verl does)
// so that a token the reference finds impossible cannot overflow k3; where the
// clamp is active the estimate is constant in ℓ and its derivative is 0.
inline KlTerm kl_term(KlEstimator estimator, double logprob, double ref_logprob, double log_ratio_clamp = 0) {
  double log_r = ref_logprob - logprob;
  double d_log_r = -1;  // d(log r)/dℓ
  if (log_ratio_clamp > 0 && std::abs(log_r) > log_ratio_clamp) {
    log_r = std::copysign(log_ratio_clamp, log_r);
    d_log_r = 0;
  }
  switch (estimator) {
    case KlEstimator::k1:
      return {-log_r, -d_log_r};
    case KlEstimator::k2:
      return {0.5 * log_r * log_r, log_r * d_log_r};
    case KlEstimator::k3: {
      const double r = std::exp(log_r);
      return {(r - 1) - log_r, (r - 1) * d_log_r};
    }
  }
  fail("kl_term: invalid KlEstimator value ", static_cast<int>(estimator));
}

}  // namespace r1
