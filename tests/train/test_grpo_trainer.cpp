#include <doctest/doctest.h>

#include <limits>
#include <numeric>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "tiny_setup.hpp"

namespace {

using Policy = r1::Transformer<r1::cpu>;
using Recipe = r1::Grpo<Policy, r1::KvSampler, r1::test::LowDigit, r1::AdamW, r1::GrpoObjective>;
using Trainer = r1::GrpoTrainer<Recipe>;

struct Run {
  std::vector<double> rewards;
  std::vector<float> final_parameters;
};

Trainer make_trainer(Policy& policy, const r1::CharTokenizer& tokenizer, r1::GrpoTrainerConfig config,
                     r1::GrpoConfig objective_config) {
  r1::SamplerConfig sampling;
  sampling.temperature = config.temperature;
  sampling.max_new_tokens = 2;
  r1::AdamWConfig adam;
  adam.lr = 1e-2f;
  adam.weight_decay = 0.0f;
  auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  return Trainer(config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{adam},
                 r1::GrpoObjective{objective_config}, codec, r1::ConstantSchedule{adam.lr});
}

Run train(std::uint64_t seed, int steps, int micro_batch) {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(seed);
  r1::GrpoTrainerConfig config;
  config.steps = steps;
  config.prompts_per_step = 4;
  config.group_size = 8;
  config.seed = seed;
  config.micro_batch_sequences = micro_batch;
  r1::GrpoConfig objective = r1::GrpoConfig::dapo();
  objective.filter_zero_std_groups = false;
  auto trainer = make_trainer(policy, tokenizer, config, objective);
  Run run;
  const auto problems = r1::test::echo_problems(40);
  for (int s = 0; s < steps; ++s) run.rewards.push_back(trainer.step(problems).metrics["reward"].get<double>());
  const auto flat = policy.flat_parameters();
  run.final_parameters.assign(flat.begin(), flat.end());
  return run;
}

double mean(std::span<const double> values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace

TEST_CASE("GRPO raises the reward of a tiny model over fixed seeds") {
  for (std::uint64_t seed : {1u, 2u}) {
    const Run run = train(seed, 30, 0);
    const double first = mean(std::span(run.rewards).first(5)), last = mean(std::span(run.rewards).last(5));
    INFO("seed " << seed << ": mean reward of the first 5 steps " << first << ", of the last 5 " << last);
    // A random policy starts with a low digit ~5/16 of the time; learning must add at least 0.4.
    CHECK(last >= first + 0.4);
  }
}

TEST_CASE("GRPO: gradient accumulation over micro-batches gives the same update") {
  const Run whole = train(7, 3, 0), micro = train(7, 3, 5);
  REQUIRE(whole.final_parameters.size() == micro.final_parameters.size());
  // Same rollouts (the sampler is keyed by seed/step/prompt/sample), same normaliser; only the
  // summation order of the gradients differs: fp32 round-off ~1e-6 relative per update, and Adam
  // normalises steps to ~lr = 3e-3, so 3 updates agree to ~1e-6 absolute; allow 1e-4.
  double worst = 0;
  for (std::size_t i = 0; i < whole.final_parameters.size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(whole.final_parameters[i] - micro.final_parameters[i])));
  CHECK(worst < 1e-4);
  CHECK(whole.rewards == micro.rewards);
}

TEST_CASE("GRPO trainer: bad configuration is an r1::Error") {
  r1::GrpoTrainerConfig config;
  config.group_size = 0;
  CHECK_THROWS_WITH_AS(config.validate(), doctest::Contains("group_size"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::GrpoTrainerConfig::from_json(r1::Json{{"stepz", 3}}), doctest::Contains("unknown field 'stepz'"),
                       r1::Error);
}

TEST_CASE("GRPO with the KL in the reward (REINFORCE++) trains and logs the KL") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(3);
  r1::GrpoTrainerConfig config;
  config.steps = 25;
  config.prompts_per_step = 4;
  config.group_size = 8;
  config.seed = 3;
  r1::GrpoConfig objective;
  objective.advantage_estimator = r1::AdvantageEstimator::reinforce_pp_baseline;
  objective.kl_placement = r1::KlPlacement::reward;
  objective.kl_estimator = r1::KlEstimator::k1;
  objective.beta = 0.01;
  objective.aggregation = r1::Aggregation::token_mean;
  auto trainer = make_trainer(policy, tokenizer, config, objective);
  REQUIRE(trainer.reference() != nullptr);
  const auto problems = r1::test::echo_problems(40);
  std::vector<double> rewards;
  double last_kl = 0;
  for (int s = 0; s < 25; ++s) {
    const auto metrics = trainer.step(problems).metrics;
    rewards.push_back(metrics["reward"].get<double>());
    last_kl = metrics["kl"].get<double>();
  }
  const double first = mean(std::span(rewards).first(5)), last = mean(std::span(rewards).last(5));
  INFO("first " << first << ", last " << last << ", kl " << last_kl);
  CHECK(last >= first + 0.3);
  CHECK(last_kl > 0);  // the policy moved away from the reference, and the trainer reports it
}

namespace {
// An objective that fails every other call with a non-finite loss (as a diverging run would).
struct FlakyObjective {
  r1::GrpoObjective inner{[] {
    r1::GrpoConfig config;
    config.beta = 0;
    return config;
  }()};
  mutable int calls = 0;
  r1::Advantages advantages(const r1::AdvantageInput& input) const { return inner.advantages(input); }
  r1::LossResult loss(const r1::PolicyBatch& batch, std::span<float> d_logprobs, std::span<float> d_entropies) const {
    r1::LossResult result = inner.loss(batch, d_logprobs, d_entropies);
    if (calls++ % 2 == 0) result.loss = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
};
static_assert(r1::Objective<FlakyObjective>);

// A broken verifier: NaN scores are excluded like "not applicable", and counted.
struct NanReward {
  std::string_view name() const { return "nan"; }
  r1::Reward operator()(const r1::Problem&, std::string_view completion) const {
    r1::Reward reward;
    reward.score = completion.size() % 2 == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0;
    return reward;
  }
};
}  // namespace

TEST_CASE("GRPO: a non-finite loss skips the update, counts it and leaves the weights intact") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(5);
  const std::vector<float> before(policy.flat_parameters().begin(), policy.flat_parameters().end());
  r1::GrpoTrainerConfig config;
  config.prompts_per_step = 2;
  config.group_size = 4;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 2;
  auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  r1::GrpoTrainer<r1::Grpo<Policy, r1::KvSampler, r1::test::LowDigit, r1::AdamW, FlakyObjective>> trainer{
      config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{}, FlakyObjective{}, codec,
      r1::ConstantSchedule{1e-2f}};
  const auto problems = r1::test::echo_problems(8);
  const r1::StepReport report = trainer.step(problems);
  REQUIRE(report.skipped);  // the first loss is NaN
  CHECK(report.metrics["skipped_updates"].get<int>() == 1);
  CHECK(trainer.skipped_updates() == 1);
  CHECK(trainer.optimizer_steps() == 0);
  CHECK(std::equal(before.begin(), before.end(), policy.flat_parameters().begin()));
  trainer.step(problems);  // the next loss is finite: the run goes on
  CHECK(trainer.optimizer_steps() == 1);
}

TEST_CASE("GRPO: non-finite rewards are excluded like 'not applicable' and counted") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(5);
  r1::GrpoTrainerConfig config;
  config.prompts_per_step = 2;
  config.group_size = 4;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 2;  // every completion has 2 characters: every score is NaN
  auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  r1::GrpoConfig objective;
  objective.beta = 0;
  r1::GrpoTrainer<r1::Grpo<Policy, r1::KvSampler, NanReward, r1::AdamW, r1::GrpoObjective>> trainer{
      config, policy, r1::KvSampler{sampling}, NanReward{}, r1::AdamW{}, r1::GrpoObjective{objective}, codec,
      r1::ConstantSchedule{1e-2f}};
  const auto report = trainer.step(r1::test::echo_problems(8));
  CHECK(report.metrics["non_finite_rewards"].get<int>() == 8);
  CHECK(report.metrics["reward"].get<double>() == 0.0);
  CHECK(trainer.optimizer_steps() == 0);  // nothing to learn from
}
