#pragma once
// Optional capabilities of an Objective (r1/concepts.hpp), detected rather than
// required: an objective that lacks one gets the default written here.
//
//   bool uses_reference() const;                    // needs reference log-probs (a KL term); default false
//   std::int64_t reference_reset_every_steps() const;  // the reference becomes the policy every N steps (R1); 0 = never
//   bool kl_in_reward() const;                      // KL as a per-token reward (REINFORCE++), not a loss term
//   KlInRewardOptions kl_in_reward_options() const; //   ... and its settings
//   OverlongShaping overlong_shaping() const;       // DAPO's length shaping of the rewards; default off
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>

#include "r1/rl/grpo_config.hpp"
#include "r1/rl/kl_in_reward.hpp"

namespace r1 {

template <class O>
bool objective_uses_reference(const O& objective) {
  if constexpr (requires { { objective.uses_reference() } -> std::convertible_to<bool>; })
    return objective.uses_reference();
  else
    return false;
}

// N when the reference policy is replaced by the current one every N steps; 0 when never.
template <class O>
std::int64_t objective_reference_reset_period(const O& objective) {
  if constexpr (requires { { objective.reference_reset_every_steps() } -> std::convertible_to<std::int64_t>; })
    return std::max<std::int64_t>(0, static_cast<std::int64_t>(objective.reference_reset_every_steps()));
  else
    return 0;
}

// True on the steps (> 0) where the reference policy is replaced by the current one.
template <class O>
bool objective_resets_reference_at(const O& objective, std::int64_t step) {
  const std::int64_t every = objective_reference_reset_period(objective);
  return every > 0 && step > 0 && step % every == 0;
}

// The REINFORCE++ settings when the objective puts the KL in the reward; empty otherwise.
template <class O>
std::optional<KlInRewardOptions> objective_kl_in_reward(const O& objective) {
  if constexpr (requires {
                  { objective.kl_in_reward() } -> std::convertible_to<bool>;
                  { objective.kl_in_reward_options() } -> std::convertible_to<KlInRewardOptions>;
                }) {
    if (objective.kl_in_reward()) return objective.kl_in_reward_options();
  }
  return std::nullopt;
}

template <class O>
OverlongShaping objective_overlong_shaping(const O& objective) {
  if constexpr (requires { { objective.overlong_shaping() } -> std::convertible_to<OverlongShaping>; })
    return objective.overlong_shaping();
  else
    return {};
}

}  // namespace r1
