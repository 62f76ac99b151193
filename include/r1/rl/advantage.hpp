#pragma once
// Outcome-reward advantage estimators over groups of G completions per prompt.
// Completion i belongs to group i / G. Rewards marked not applicable are left
// out of every statistic and get advantage 0.
//
//   grpo          A_i = (r_i − mean_g) / (std + eps)       DeepSeekMath §4.1.2; std of the group,
//                                                         of the batch (scaling batch) or 1 (none)
//   dr_grpo       A_i = r_i − mean_g                       Dr. GRPO (Liu et al. 2025), Eq. 3
//   rloo          A_i = r_i − mean_{j≠i} r_j               RLOO (Ahmadian et al. 2024), Eq. 2
//   reinforce_pp  A_i = (r_i − μ_tok) / (σ_tok + eps)      REINFORCE++ (Hu 2025): whitening over
//                                                         all valid tokens of the batch
//   reinforce_pp_baseline  as reinforce_pp on r_i − mean_g REINFORCE++-baseline (Hu 2025; verl)
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/rl/enum_names.hpp"
#include "r1/rl/policy_batch.hpp"

namespace r1 {

enum class AdvantageEstimator { grpo, dr_grpo, rloo, reinforce_pp, reinforce_pp_baseline };
// sample: divide by n − 1 (torch.std, TRL and verl); population: divide by n.
enum class StdEstimator { sample, population };
enum class AdvantageScaling { group, batch, none };
// A group with one applicable reward has no baseline: zero gives it advantage 0;
// raw_reward uses mean 0 and std 1, so A = r (verl's rule for singleton groups).
enum class SingletonRule { zero, raw_reward };

inline constexpr std::array<std::string_view, 5> advantage_estimator_names{"grpo", "dr_grpo", "rloo", "reinforce_pp",
                                                                           "reinforce_pp_baseline"};
inline constexpr std::array<std::string_view, 2> std_estimator_names{"sample", "population"};
inline constexpr std::array<std::string_view, 3> advantage_scaling_names{"group", "batch", "none"};
inline constexpr std::array<std::string_view, 2> singleton_rule_names{"zero", "raw_reward"};

inline std::string_view to_string(AdvantageEstimator v) { return advantage_estimator_names[static_cast<std::size_t>(v)]; }
inline std::string_view to_string(StdEstimator v) { return std_estimator_names[static_cast<std::size_t>(v)]; }
inline std::string_view to_string(AdvantageScaling v) { return advantage_scaling_names[static_cast<std::size_t>(v)]; }
inline std::string_view to_string(SingletonRule v) { return singleton_rule_names[static_cast<std::size_t>(v)]; }
inline AdvantageEstimator parse_advantage_estimator(std::string_view name, std::string_view where = "advantage_estimator") {
  return detail::parse_enum_name<AdvantageEstimator>(advantage_estimator_names, name, where);
}
inline StdEstimator parse_std_estimator(std::string_view name, std::string_view where = "std_estimator") {
  return detail::parse_enum_name<StdEstimator>(std_estimator_names, name, where);
}
inline AdvantageScaling parse_advantage_scaling(std::string_view name, std::string_view where = "scaling") {
  return detail::parse_enum_name<AdvantageScaling>(advantage_scaling_names, name, where);
}
inline SingletonRule parse_singleton_rule(std::string_view name, std::string_view where = "singleton_rule") {
  return detail::parse_enum_name<SingletonRule>(singleton_rule_names, name, where);
}

struct AdvantageOptions {
  AdvantageEstimator estimator = AdvantageEstimator::grpo;
  StdEstimator std_estimator = StdEstimator::sample;
  double eps = 1e-4;  // added to the std (TRL's 1e-4; verl uses 1e-6)
  AdvantageScaling scaling = AdvantageScaling::group;  // grpo only
  SingletonRule singleton = SingletonRule::zero;
  bool filter_zero_std_groups = false;  // DAPO dynamic sampling (Yu et al. 2025, Eq. 11): keep = 0 for them
};

// Weighted mean and standard deviation of values (weights ≥ 0, total weight n):
// sample std divides the squared deviations by n − 1 (0 when n ≤ 1).
struct MeanStd {
  double mean = 0;
  double std = 0;
};
inline MeanStd weighted_mean_std(std::span<const double> values, std::span<const double> weights, StdEstimator estimator) {
  double total = 0, sum = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    total += weights[i];
    sum += weights[i] * values[i];
  }
  if (total <= 0) return {};
  const double mean = sum / total;
  double squares = 0;
  for (std::size_t i = 0; i < values.size(); ++i) squares += weights[i] * (values[i] - mean) * (values[i] - mean);
  const double dof = estimator == StdEstimator::sample ? total - 1 : total;
  return {mean, dof > 0 ? std::sqrt(squares / dof) : 0.0};
}

inline Advantages compute_advantages(const AdvantageInput& input, const AdvantageOptions& options) {
  const std::size_t n = input.rewards.size();
  require(input.group_size >= 1, "advantages: group_size must be ≥ 1, got ", input.group_size);
  const auto group_size = static_cast<std::size_t>(input.group_size);
  require(n % group_size == 0, "advantages: ", n, " rewards are not a whole number of groups of ", group_size);
  require(input.applicable.empty() || input.applicable.size() == n, "advantages: 'applicable' has ",
          input.applicable.size(), " entries, expected ", n, " (one per completion) or none");
  require(input.lengths.empty() || input.lengths.size() == n, "advantages: 'lengths' has ", input.lengths.size(),
          " entries, expected ", n, " (one per completion) or none");
  require(options.eps >= 0 && std::isfinite(options.eps), "advantages: eps must be finite and ≥ 0, got ", options.eps);
  auto counts = [&](std::size_t i) { return input.applicable.empty() || input.applicable[i] != 0; };
  for (std::size_t i = 0; i < n; ++i) {
    require(!counts(i) || std::isfinite(input.rewards[i]), "advantages: reward ", i, " = ", input.rewards[i],
            " is not finite");
    require(input.lengths.empty() || input.lengths[i] >= 0, "advantages: length ", i, " = ",
            input.lengths.empty() ? 0 : input.lengths[i], " is negative");
  }

  Advantages out;
  out.groups = static_cast<int>(n / group_size);
  out.per_completion.assign(n, 0.0f);
  out.keep.assign(n, 1);
  std::vector<double> centred(n, 0.0);  // r_i − baseline_i, 0 where not applicable
  std::vector<double> group_std(out.groups, 0.0);
  std::vector<std::uint8_t> singleton_group(out.groups, 0);

  for (std::size_t g = 0; g < static_cast<std::size_t>(out.groups); ++g) {
    const std::size_t begin = g * group_size, end = begin + group_size;
    double applicable = 0, sum = 0;
    for (std::size_t i = begin; i < end; ++i)
      if (counts(i)) applicable += 1, sum += input.rewards[i];
    bool all_equal = true;
    std::size_t first = end;
    for (std::size_t i = begin; i < end; ++i) {
      if (!counts(i)) continue;
      if (first == end) first = i;
      else if (input.rewards[i] != input.rewards[first]) all_equal = false;
    }
    // A group with no applicable reward, or with all rewards equal, carries no signal.
    if (all_equal) {
      ++out.zero_std_groups;
      if (options.filter_zero_std_groups)
        for (std::size_t i = begin; i < end; ++i) out.keep[i] = 0;
    }
    if (applicable == 0) continue;
    const bool singleton = applicable == 1;
    singleton_group[g] = singleton;
    const double mean = sum / applicable;
    double squares = 0;
    for (std::size_t i = begin; i < end; ++i)
      if (counts(i)) squares += (input.rewards[i] - mean) * (input.rewards[i] - mean);
    const double dof = options.std_estimator == StdEstimator::sample ? applicable - 1 : applicable;
    group_std[g] = dof > 0 ? std::sqrt(squares / dof) : 0.0;
    for (std::size_t i = begin; i < end; ++i) {
      if (!counts(i)) continue;
      if (options.estimator == AdvantageEstimator::reinforce_pp) {
        centred[i] = input.rewards[i];  // no group baseline: the global whitening supplies it
        continue;
      }
      if (singleton) {
        centred[i] = options.singleton == SingletonRule::raw_reward ? input.rewards[i] : 0.0;
        continue;
      }
      if (options.estimator == AdvantageEstimator::rloo)
        centred[i] = input.rewards[i] - (sum - input.rewards[i]) / (applicable - 1);  // leave-one-out baseline
      else
        centred[i] = input.rewards[i] - mean;
    }
  }

  switch (options.estimator) {
    case AdvantageEstimator::grpo: {
      double batch_std = 1;
      if (options.scaling == AdvantageScaling::batch) {
        std::vector<double> rewards, weights;
        for (std::size_t i = 0; i < n; ++i)
          if (counts(i)) rewards.push_back(input.rewards[i]), weights.push_back(1.0);
        batch_std = weighted_mean_std(rewards, weights, options.std_estimator).std;
      }
      for (std::size_t i = 0; i < n; ++i) {
        if (!counts(i)) continue;
        const std::size_t g = i / group_size;
        double scale = 1;
        if (options.scaling == AdvantageScaling::group)
          // verl's singleton rule: std 1, so A = r / (1 + eps).
          scale = singleton_group[g] && options.singleton == SingletonRule::raw_reward ? 1 + options.eps
                                                                                      : group_std[g] + options.eps;
        else if (options.scaling == AdvantageScaling::batch)
          scale = batch_std + options.eps;
        out.per_completion[i] = static_cast<float>(centred[i] / scale);
      }
      break;
    }
    case AdvantageEstimator::dr_grpo:
    case AdvantageEstimator::rloo:
      for (std::size_t i = 0; i < n; ++i) out.per_completion[i] = static_cast<float>(centred[i]);
      break;
    case AdvantageEstimator::reinforce_pp:
    case AdvantageEstimator::reinforce_pp_baseline: {
      // Whitening over every valid token: completion i stands for lengths[i]
      // tokens that all carry its return (γ = 1, outcome reward only).
      std::vector<double> values, weights;
      for (std::size_t i = 0; i < n; ++i)
        if (counts(i)) values.push_back(centred[i]), weights.push_back(input.lengths.empty() ? 1.0 : input.lengths[i]);
      const MeanStd stats = weighted_mean_std(values, weights, options.std_estimator);
      for (std::size_t i = 0; i < n; ++i)
        if (counts(i)) out.per_completion[i] = static_cast<float>((centred[i] - stats.mean) / (stats.std + options.eps));
      break;
    }
  }
  return out;
}

}  // namespace r1
