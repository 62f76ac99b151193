// r1's losses and advantages against an independent PyTorch implementation
// (tests/rl/torch_peer.py, gradients by autograd in float64) on random batches:
// every policy loss × aggregation × KL estimator, with dual clip and entropy bonus.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <unistd.h>
#include <vector>

#include "loss_batch.hpp"
#include "python_peer.hpp"
#include "r1/core/rng.hpp"
#include "r1/rl/grpo_objective.hpp"

using r1::test::LossBatch;

namespace {

LossBatch random_batch(r1::Philox& rng) {
  LossBatch batch;
  const int sequences = 1 + static_cast<int>(rng.uniform() * 7);
  for (int s = 0; s < sequences; ++s) {
    const int length = static_cast<int>(rng.uniform() * 7);  // 0..6 tokens, empty sequences included
    const float advantage = static_cast<float>(rng.uniform() * 4 - 2);
    for (int t = 0; t < length; ++t) {
      const auto old = static_cast<float>(-3 * rng.uniform() - 0.05);
      const double ratio = std::exp(1.2 * rng.uniform() - 0.6);
      const auto ref = static_cast<float>(old + rng.uniform() - 0.5);
      const auto entropy = static_cast<float>(3 * rng.uniform());
      const float counted = rng.uniform() < 0.85 ? 1.0f : 0.0f;
      batch.token(old, ratio, advantage, ref, entropy, counted);
    }
    batch.end_sequence();
  }
  return batch;
}

r1::Json to_json(const LossBatch& b, const r1::GrpoConfig& config, double tokens, double sequences) {
  return {{"kind", "loss"},           {"config", config.to_json()},  {"offsets", b.offsets},
          {"logprobs", b.logprobs},   {"old_logprobs", b.old_logprobs}, {"ref_logprobs", b.ref_logprobs},
          {"entropies", b.entropies}, {"mask", b.mask},             {"advantages", b.advantages},
          {"batch_tokens", tokens},   {"batch_sequences", sequences}};
}

std::string script(const char* name) { return std::string(R1_SOURCE_DIR) + "/tests/rl/" + name; }

}  // namespace

TEST_CASE("losses and gradients agree with the PyTorch peer") {
  r1::test::require_python_torch();
  r1::Philox rng(7);
  r1::Json cases = r1::Json::array();
  struct Mine {
    r1::LossResult result;
    std::vector<float> d_logprobs, d_entropies;
    std::string label;
  };
  std::vector<Mine> mine;
  for (auto kind : {r1::PolicyLoss::clipped, r1::PolicyLoss::gspo, r1::PolicyLoss::cispo, r1::PolicyLoss::reinforce})
    for (auto mode : {r1::Aggregation::sequence_mean_token_mean, r1::Aggregation::token_mean,
                      r1::Aggregation::constant_normaliser, r1::Aggregation::sequence_sum})
      for (auto estimator : {r1::KlEstimator::k1, r1::KlEstimator::k2, r1::KlEstimator::k3})
        for (double dual : {0.0, 1.5}) {
          r1::GrpoConfig config;
          config.policy_loss = kind;
          config.aggregation = mode;
          config.aggregation_constant = 5;
          config.kl_estimator = estimator;
          config.beta = 0.04;
          config.eps_low = 0.2;
          config.eps_high = 0.28;
          config.dual_clip_c = dual;
          config.entropy_coef = 0.01;
          LossBatch batch = random_batch(rng);
          double tokens = 0;
          for (float m : batch.mask) tokens += m != 0;
          if (tokens == 0) batch.token(-1.0f, 1.1, 0.5f, -1.2f, 1.0f), batch.end_sequence(), tokens = 1;
          Mine m;
          m.d_logprobs.resize(batch.size());
          m.d_entropies.resize(batch.size());
          m.result = r1::GrpoObjective{config}.loss(batch.view(), m.d_logprobs, m.d_entropies);
          m.label = std::string(r1::to_string(kind)) + "/" + std::string(r1::to_string(mode)) + "/" +
                    std::string(r1::to_string(estimator)) + (dual > 0 ? "/dual" : "");
          mine.push_back(std::move(m));
          cases.push_back(to_json(batch, config, tokens, static_cast<double>(batch.sequences())));
        }
  const r1::Json peer = r1::test::run_python_peer(script("torch_peer.py"), cases,
                                                  "r1_rl_peer_" + std::to_string(::getpid()));
  REQUIRE(peer.size() == mine.size());
  for (std::size_t c = 0; c < mine.size(); ++c) {
    CAPTURE(mine[c].label);
    // Both sides compute in double from the same float inputs: agreement to a few 2^-52.
    CHECK(mine[c].result.loss == doctest::Approx(peer[c]["loss"].get<double>()).epsilon(1e-12));
    const auto d_logprobs = peer[c]["d_logprobs"].get<std::vector<double>>();
    const auto d_entropies = peer[c]["d_entropies"].get<std::vector<double>>();
    for (std::size_t t = 0; t < d_logprobs.size(); ++t) {
      CAPTURE(t);
      // r1 stores gradients as float: one rounding, 2^-24 relative.
      CHECK(std::abs(mine[c].d_logprobs[t] - d_logprobs[t]) <= 6e-8 * std::abs(d_logprobs[t]) + 1e-15);
      CHECK(std::abs(mine[c].d_entropies[t] - d_entropies[t]) <= 6e-8 * std::abs(d_entropies[t]) + 1e-15);
    }
  }
}

TEST_CASE("advantages agree with the PyTorch peer (TRL's group normalisation)") {
  r1::test::require_python_torch();
  r1::Philox rng(11);
  r1::Json cases = r1::Json::array();
  std::vector<r1::Advantages> mine;
  std::vector<std::string> labels;
  for (int group_size : {2, 4, 8})
    for (auto estimator : {r1::AdvantageEstimator::grpo, r1::AdvantageEstimator::dr_grpo, r1::AdvantageEstimator::rloo})
      for (auto scaling : {r1::AdvantageScaling::group, r1::AdvantageScaling::batch, r1::AdvantageScaling::none})
        for (auto std_estimator : {r1::StdEstimator::sample, r1::StdEstimator::population}) {
          std::vector<double> rewards(static_cast<std::size_t>(group_size * 5));
          for (double& r : rewards) r = std::floor(rng.uniform() * 3) / 2;  // {0, 0.5, 1}: ties and equal groups
          r1::GrpoConfig config;
          config.advantage_estimator = estimator;
          config.scaling = scaling;
          config.std_estimator = std_estimator;
          mine.push_back(r1::GrpoObjective{config}.advantages({rewards, {}, group_size, {}}));
          labels.push_back(std::string(r1::to_string(estimator)) + "/" + std::string(r1::to_string(scaling)) + "/" +
                           std::string(r1::to_string(std_estimator)) + "/G" + std::to_string(group_size));
          cases.push_back({{"kind", "advantages"}, {"config", config.to_json()}, {"rewards", rewards},
                           {"group_size", group_size}});
        }
  const r1::Json peer = r1::test::run_python_peer(script("torch_peer.py"), cases,
                                                  "r1_adv_peer_" + std::to_string(::getpid()));
  REQUIRE(peer.size() == mine.size());
  for (std::size_t c = 0; c < mine.size(); ++c) {
    CAPTURE(labels[c]);
    const auto expected = peer[c]["advantages"].get<std::vector<double>>();
    REQUIRE(expected.size() == mine[c].per_completion.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
      CHECK(std::abs(mine[c].per_completion[i] - expected[i]) <= 6e-8 * std::abs(expected[i]) + 1e-12);
  }
}
