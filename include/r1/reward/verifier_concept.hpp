#pragma once
// The RewardVerifier concept (one of the five policies of a recipe, r1/concepts.hpp).
#include <concepts>
#include <string_view>

#include "r1/core/problem.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

// Scores one completion of one problem. Must be const and thread-safe: oneTBB
// runs many at once.
template <class V>
concept RewardVerifier = requires(const V& verifier, const Problem& problem, std::string_view completion) {
  { verifier(problem, completion) } -> std::same_as<Reward>;
  { verifier.name() } -> std::convertible_to<std::string_view>;
};

}  // namespace r1
