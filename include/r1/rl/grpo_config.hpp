#pragma once
// Every convention of a GRPO-family objective, named, with defaults and the
// published settings as presets. Defaults are DeepSeekMath's GRPO.
//
//   auto config = r1::GrpoConfig::dapo();
//   auto config = r1::GrpoConfig::from_json(json);   // {"preset": "dr_grpo", "beta": 0.01, ...}
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/rl/advantage.hpp"
#include "r1/rl/aggregation.hpp"
#include "r1/rl/kl.hpp"
#include "r1/rl/kl_in_reward.hpp"
#include "r1/rl/policy_loss.hpp"

namespace r1 {

// DAPO's soft overlong punishment (Yu et al. 2025, Eq. 13) in completion tokens:
// L_max = max_tokens, L_cache = buffer_tokens; max_tokens 0 = off.
struct OverlongShaping {
  std::int64_t max_tokens = 0;
  std::int64_t buffer_tokens = 0;
  bool enabled() const { return max_tokens > 0; }
};

struct GrpoConfig {
  // Advantages (r1/rl/advantage.hpp).
  AdvantageEstimator advantage_estimator = AdvantageEstimator::grpo;
  StdEstimator std_estimator = StdEstimator::sample;
  double advantage_eps = 1e-4;
  AdvantageScaling scaling = AdvantageScaling::group;
  SingletonRule singleton_rule = SingletonRule::zero;
  bool filter_zero_std_groups = false;  // DAPO dynamic sampling
  // Policy loss (r1/rl/policy_loss.hpp).
  PolicyLoss policy_loss = PolicyLoss::clipped;
  double eps_low = 0.2;
  double eps_high = 0.2;
  double dual_clip_c = 0;  // 0 = off, else > 1
  double log_ratio_clamp = 20;  // 0 = off
  // Aggregation (r1/rl/aggregation.hpp).
  Aggregation aggregation = Aggregation::sequence_mean_token_mean;
  double aggregation_constant = 1;  // C of constant_normaliser
  // KL to the reference policy (r1/rl/kl.hpp).
  double beta = 0.04;
  KlEstimator kl_estimator = KlEstimator::k3;
  KlPlacement kl_placement = KlPlacement::loss;
  std::int64_t ref_reset_every_steps = 0;  // 0 = never; else the reference becomes the policy every N steps
  // Entropy bonus: loss −= entropy_coef · H.
  double entropy_coef = 0;
  // Reward shaping from the completion's length, applied by the trainer to the
  // rollout's rewards (overlong_shaping(); r1/train/rollout.hpp). The group size
  // G is the trainer's (GrpoTrainerConfig::group_size); the presets name theirs.
  std::int64_t overlong_max_tokens = 0;     // DAPO overlong shaping L_max (Eq. 13); 0 = off
  std::int64_t overlong_buffer_tokens = 0;  // DAPO L_cache

  // DeepSeekMath (Shao et al. 2024) §4.2: β 0.04 (and G 64); ε 0.2 (PPO's value; the
  // paper does not state ε); per-sequence token mean (Eq. 3); k3 (Eq. 4).
  static GrpoConfig deepseekmath() { return GrpoConfig{}; }

  // DeepSeek-R1 (Nature 2025), Methods: β 0.001, clip ε 10 (and G 16), and the
  // reference replaced by the latest policy every 400 steps. The loss form is
  // DeepSeekMath's (Eq. 3 there).
  static GrpoConfig r1_paper() {
    GrpoConfig config;
    config.beta = 0.001;
    config.eps_low = config.eps_high = 10;
    config.ref_reset_every_steps = 400;
    return config;
  }

  // DAPO (Yu et al. 2025): clip-higher ε_low 0.2, ε_high 0.28 (Eq. 10), no KL
  // (β 0, §2.3), token-level mean (Eq. 8, 12), dynamic sampling of groups whose
  // accuracy is neither 0 nor 1 (Eq. 11), overlong shaping L_max 20480,
  // L_cache 4096 (Eq. 13, §4.1) (and G 16, §4.1).
  static GrpoConfig dapo() {
    GrpoConfig config;
    config.eps_low = 0.2;
    config.eps_high = 0.28;
    config.beta = 0;
    config.aggregation = Aggregation::token_mean;
    config.filter_zero_std_groups = true;
    config.overlong_max_tokens = 20480;
    config.overlong_buffer_tokens = 4096;
    return config;
  }

  // Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"), Eq. 3:
  // no std division, no 1/|o_i|; the authors' code divides the token sum by the
  // generation budget (generate_max_length 3000 in their Oat-Zero scripts,
  // which also use β 0 and G 8). Pass your own budget as the constant.
  static GrpoConfig dr_grpo(double generation_budget_tokens = 3000) {
    GrpoConfig config;
    config.advantage_estimator = AdvantageEstimator::dr_grpo;
    config.scaling = AdvantageScaling::none;
    config.aggregation = Aggregation::constant_normaliser;
    config.aggregation_constant = generation_budget_tokens;
    config.beta = 0;
    return config;
  }

  static GrpoConfig preset(std::string_view name, std::string_view where = "grpo config") {
    if (name == "deepseekmath") return deepseekmath();
    if (name == "r1_paper") return r1_paper();
    if (name == "dapo") return dapo();
    if (name == "dr_grpo") return dr_grpo();
    fail(where, ": unknown preset '", name, "' (expected deepseekmath, r1_paper, dapo or dr_grpo)");
  }

  AdvantageOptions advantage_options() const {
    return {advantage_estimator, std_estimator, advantage_eps, scaling, singleton_rule, filter_zero_std_groups};
  }
  PolicyLossOptions policy_loss_options() const { return {policy_loss, eps_low, eps_high, dual_clip_c, log_ratio_clamp}; }
  // For kl_placement = reward: REINFORCE++ token advantages (r1/rl/kl_in_reward.hpp).
  KlInRewardOptions kl_in_reward_options() const {
    KlInRewardOptions options;
    options.beta = beta;
    options.group_baseline = advantage_estimator == AdvantageEstimator::reinforce_pp_baseline;
    options.std_estimator = std_estimator;
    options.eps = advantage_eps;
    options.log_ratio_clamp = log_ratio_clamp;
    return options;
  }

  OverlongShaping overlong_shaping() const { return {overlong_max_tokens, overlong_buffer_tokens}; }

  // True on the steps where the reference policy is replaced by the current one.
  bool reset_reference_at(std::int64_t step) const {
    return ref_reset_every_steps > 0 && step > 0 && step % ref_reset_every_steps == 0;
  }

  void validate(std::string_view where = "grpo config") const {
    auto finite_nonnegative = [&](double value, std::string_view field) {
      require(std::isfinite(value) && value >= 0, where, ": field '", field, "' must be finite and ≥ 0, got ", value);
    };
    finite_nonnegative(advantage_eps, "advantage_eps");
    finite_nonnegative(eps_low, "eps_low");
    finite_nonnegative(eps_high, "eps_high");
    finite_nonnegative(log_ratio_clamp, "log_ratio_clamp");
    finite_nonnegative(beta, "beta");
    require(std::isfinite(entropy_coef), where, ": field 'entropy_coef' must be finite, got ", entropy_coef);
    require(dual_clip_c == 0 || (std::isfinite(dual_clip_c) && dual_clip_c > 1), where,
            ": field 'dual_clip_c' must be 0 (off) or > 1, got ", dual_clip_c);
    require(std::isfinite(aggregation_constant) && aggregation_constant > 0, where,
            ": field 'aggregation_constant' must be finite and > 0, got ", aggregation_constant);
    require(ref_reset_every_steps >= 0, where, ": field 'ref_reset_every_steps' must be ≥ 0, got ", ref_reset_every_steps);
    require(overlong_max_tokens >= 0 && overlong_buffer_tokens >= 0 && overlong_buffer_tokens <= overlong_max_tokens,
            where, ": fields 'overlong_max_tokens' (", overlong_max_tokens, ") and 'overlong_buffer_tokens' (",
            overlong_buffer_tokens, ") must satisfy 0 ≤ buffer ≤ max");
  }

  Json to_json() const {
    return Json{{"advantage_estimator", to_string(advantage_estimator)},
                {"std_estimator", to_string(std_estimator)},
                {"advantage_eps", advantage_eps},
                {"scaling", to_string(scaling)},
                {"singleton_rule", to_string(singleton_rule)},
                {"filter_zero_std_groups", filter_zero_std_groups},
                {"policy_loss", to_string(policy_loss)},
                {"eps_low", eps_low},
                {"eps_high", eps_high},
                {"dual_clip_c", dual_clip_c},
                {"log_ratio_clamp", log_ratio_clamp},
                {"aggregation", to_string(aggregation)},
                {"aggregation_constant", aggregation_constant},
                {"beta", beta},
                {"kl_estimator", to_string(kl_estimator)},
                {"kl_placement", to_string(kl_placement)},
                {"ref_reset_every_steps", ref_reset_every_steps},
                {"entropy_coef", entropy_coef},
                {"overlong_max_tokens", overlong_max_tokens},
                {"overlong_buffer_tokens", overlong_buffer_tokens}};
  }

  // Starts from {"preset": name} when given (else the defaults), then applies
  // every other field; an unknown field is an error, so a typo cannot be ignored.
  static GrpoConfig from_json(const Json& json, std::string_view where = "grpo config") {
    require(json.is_object(), where, ": expected a JSON object");
    GrpoConfig config =
        json.contains("preset") ? preset(json_field<std::string>(json, "preset", where), where) : GrpoConfig{};
    const Json known = config.to_json();
    require(!json.contains("group_size"), where,
            ": field 'group_size' is not an objective setting: set G once, as the trainer's 'group_size'");
    for (const auto& [key, value] : json.items())
      require(key == "preset" || known.contains(key), where, ": unknown field '", key, "'");
    // An enum field is its name as text; `parse` names the field in its error.
    auto set_enum = [&](std::string_view field, auto& target, auto parse) {
      if (!json.contains(field)) return;
      const std::string field_where = std::string(where) + ": field '" + std::string(field) + "'";
      target = parse(json_field<std::string>(json, field, where), field_where);
    };
    auto set_number = [&](std::string_view field, auto& target) {
      if (json.contains(field)) target = json_field<std::remove_reference_t<decltype(target)>>(json, field, where);
    };
    set_enum("advantage_estimator", config.advantage_estimator, parse_advantage_estimator);
    set_enum("std_estimator", config.std_estimator, parse_std_estimator);
    set_enum("scaling", config.scaling, parse_advantage_scaling);
    set_enum("singleton_rule", config.singleton_rule, parse_singleton_rule);
    set_enum("policy_loss", config.policy_loss, parse_policy_loss);
    set_enum("aggregation", config.aggregation, parse_aggregation);
    set_enum("kl_estimator", config.kl_estimator, parse_kl_estimator);
    set_enum("kl_placement", config.kl_placement, parse_kl_placement);
    set_number("advantage_eps", config.advantage_eps);
    set_number("filter_zero_std_groups", config.filter_zero_std_groups);
    set_number("eps_low", config.eps_low);
    set_number("eps_high", config.eps_high);
    set_number("dual_clip_c", config.dual_clip_c);
    set_number("log_ratio_clamp", config.log_ratio_clamp);
    set_number("aggregation_constant", config.aggregation_constant);
    set_number("beta", config.beta);
    set_number("ref_reset_every_steps", config.ref_reset_every_steps);
    set_number("entropy_coef", config.entropy_coef);
    set_number("overlong_max_tokens", config.overlong_max_tokens);
    set_number("overlong_buffer_tokens", config.overlong_buffer_tokens);
    config.validate(where);
    return config;
  }
};

}  // namespace r1
