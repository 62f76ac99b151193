// KL in the reward for REINFORCE++ against hand-worked returns, and GrpoConfig
// presets and JSON loading.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "r1/rl/grpo_config.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/rl/kl_in_reward.hpp"

namespace {

struct TokenRewards {
  std::vector<std::int64_t> offsets{0, 3, 5};
  std::vector<float> mask{1, 0, 1, 1, 1};
  std::vector<float> old_logprobs{-1.0f, -2.0f, -0.5f, -0.8f, -1.5f};
  std::vector<float> ref_logprobs{-1.2f, -9.0f, -0.3f, -0.8f, -1.0f};
  std::vector<double> scores{1, 0};
  r1::TokenRewardInput input() const { return {offsets, mask, old_logprobs, ref_logprobs, scores, {}, 2}; }
  // k1 = ℓ_old − ℓ_ref from the float inputs.
  double k1(std::size_t t) const { return static_cast<double>(old_logprobs[t]) - ref_logprobs[t]; }
};

// Sample mean/std of four values, and the whitened value of each (eps 1e-4).
std::vector<double> whiten(const std::vector<double>& values) {
  double mean = 0;
  for (double v : values) mean += v / values.size();
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  const double std = std::sqrt(squares / (values.size() - 1));
  std::vector<double> out;
  for (double v : values) out.push_back((v - mean) / (std + 1e-4));
  return out;
}

// Advantages are one float rounding of values of magnitude ≤ 2: 2^-24 · 2.
constexpr double advantage_tolerance = 2.4e-7;

void check(const std::vector<float>& got, const std::vector<double>& expected_counted, const std::vector<float>& mask) {
  REQUIRE(got.size() == mask.size());
  std::size_t k = 0;
  for (std::size_t t = 0; t < got.size(); ++t) {
    CAPTURE(t);
    if (mask[t] == 0) {
      CHECK(got[t] == 0.0f);
      continue;
    }
    CHECK(std::abs(got[t] - expected_counted[k++]) <= advantage_tolerance);
  }
}

}  // namespace

TEST_CASE("REINFORCE++ with k1 in the token rewards (Hu 2025 §3)") {
  const TokenRewards data;
  r1::KlInRewardOptions options;
  options.beta = 0.1;
  SUBCASE("γ = 1: returns are reward-to-go sums") {
    // Sequence 0: r = −β k1 at each counted token, + score 1 at the last (token 2).
    const double g2 = -0.1 * data.k1(2) + 1, g0 = -0.1 * data.k1(0) + g2;
    const double g4 = -0.1 * data.k1(4) + 0, g3 = -0.1 * data.k1(3) + g4;
    check(r1::kl_in_reward_advantages(data.input(), options), whiten({g0, g2, g3, g4}), data.mask);
  }
  SUBCASE("γ = 0.5") {
    options.gamma = 0.5;
    const double g2 = -0.1 * data.k1(2) + 1, g0 = -0.1 * data.k1(0) + 0.5 * g2;
    const double g4 = -0.1 * data.k1(4), g3 = -0.1 * data.k1(3) + 0.5 * g4;
    check(r1::kl_in_reward_advantages(data.input(), options), whiten({g0, g2, g3, g4}), data.mask);
  }
  SUBCASE("group baseline: scores 1, 0 become 0.5, −0.5") {
    r1::GrpoConfig config;
    config.advantage_estimator = r1::AdvantageEstimator::reinforce_pp_baseline;
    config.kl_placement = r1::KlPlacement::reward;
    config.beta = 0.1;
    options = config.kl_in_reward_options();
    REQUIRE(options.group_baseline);
    const double g2 = -0.1 * data.k1(2) + 0.5, g0 = -0.1 * data.k1(0) + g2;
    const double g4 = -0.1 * data.k1(4) - 0.5, g3 = -0.1 * data.k1(3) + g4;
    check(r1::kl_in_reward_advantages(data.input(), options), whiten({g0, g2, g3, g4}), data.mask);
  }
  SUBCASE("bad input") {
    TokenRewards bad = data;
    bad.scores.pop_back();
    CHECK_THROWS_AS(r1::kl_in_reward_advantages(bad.input(), options), r1::Error);
    bad = data;
    bad.ref_logprobs.pop_back();
    CHECK_THROWS_AS(r1::kl_in_reward_advantages(bad.input(), options), r1::Error);
    bad = data;
    bad.scores[0] = std::nan("");
    CHECK_THROWS_AS(r1::kl_in_reward_advantages(bad.input(), options), r1::Error);
  }
}

TEST_CASE("GrpoConfig presets carry their papers' settings") {
  const auto dsm = r1::GrpoConfig::deepseekmath();
  CHECK(dsm.beta == 0.04);
  CHECK(dsm.kl_estimator == r1::KlEstimator::k3);
  CHECK(dsm.aggregation == r1::Aggregation::sequence_mean_token_mean);
  const auto r1_paper = r1::GrpoConfig::r1_paper();
  CHECK(r1_paper.beta == 0.001);
  CHECK(r1_paper.eps_low == 10);
  CHECK(r1_paper.eps_high == 10);
  CHECK(r1_paper.ref_reset_every_steps == 400);
  CHECK_FALSE(r1_paper.reset_reference_at(0));
  CHECK_FALSE(r1_paper.reset_reference_at(399));
  CHECK(r1_paper.reset_reference_at(800));
  const auto dapo = r1::GrpoConfig::dapo();
  CHECK(dapo.eps_low == 0.2);
  CHECK(dapo.eps_high == 0.28);
  CHECK(dapo.beta == 0);
  CHECK(dapo.aggregation == r1::Aggregation::token_mean);
  CHECK(dapo.filter_zero_std_groups);
  CHECK(dapo.overlong_max_tokens == 20480);
  CHECK(dapo.overlong_buffer_tokens == 4096);
  const auto dr = r1::GrpoConfig::dr_grpo();
  CHECK(dr.advantage_estimator == r1::AdvantageEstimator::dr_grpo);
  CHECK(dr.aggregation == r1::Aggregation::constant_normaliser);
  CHECK(dr.aggregation_constant == 3000);
  CHECK(dr.beta == 0);
  CHECK(r1::GrpoConfig::dr_grpo(1024).aggregation_constant == 1024);
}

TEST_CASE("GrpoConfig from JSON: preset, overrides, round trip, errors") {
  const auto config = r1::GrpoConfig::from_json(
      r1::Json{{"preset", "dapo"}, {"beta", 0.01}, {"kl_estimator", "k2"}, {"policy_loss", "gspo"}});
  CHECK(config.eps_high == 0.28);  // from the preset
  CHECK(config.beta == 0.01);
  CHECK(config.kl_estimator == r1::KlEstimator::k2);
  CHECK(config.policy_loss == r1::PolicyLoss::gspo);
  const auto again = r1::GrpoConfig::from_json(config.to_json());
  CHECK(again.to_json() == config.to_json());
  for (const auto& preset : {"deepseekmath", "r1_paper", "dapo", "dr_grpo"})
    CHECK(r1::GrpoConfig::from_json(r1::Json{{"preset", preset}}).to_json() ==
          r1::GrpoConfig::preset(preset).to_json());
  CHECK_THROWS_WITH_AS(r1::GrpoConfig::from_json(r1::Json{{"betta", 0.1}}), doctest::Contains("betta"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::GrpoConfig::from_json(r1::Json{{"aggregation", "mean"}}),
                       doctest::Contains("token_mean"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::GrpoConfig::from_json(r1::Json{{"kl_placement", "nowhere"}}),
                       doctest::Contains("grpo config: field 'kl_placement'"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::GrpoConfig::from_json(r1::Json{{"kl_placement", 3}}),
                       doctest::Contains("field 'kl_placement' has the wrong type"), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json{{"preset", "ppo"}}), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json{{"beta", "high"}}), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json{{"dual_clip_c", 0.5}}), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json{{"eps_low", -0.1}}), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json{{"aggregation_constant", 0}}), r1::Error);
  CHECK_THROWS_AS(r1::GrpoConfig::from_json(r1::Json::array()), r1::Error);
  r1::GrpoConfig invalid;
  invalid.overlong_buffer_tokens = 1;  // more than overlong_max_tokens (0)
  CHECK_THROWS_AS(r1::GrpoObjective{invalid}, r1::Error);
  // G has one home, the trainer's config: the objective's JSON names it and refuses it.
  CHECK_THROWS_WITH_AS(r1::GrpoConfig::from_json(r1::Json{{"preset", "dapo"}, {"group_size", 16}}, "grpo.json"),
                       doctest::Contains("grpo.json: field 'group_size' is not an objective setting"), r1::Error);
}
