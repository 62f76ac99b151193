// The rollout stage (r1/train/rollout.hpp) with any Sampler, its verification
// budget, DAPO's overlong shaping, and the evaluator and rejection sampling on it.
#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/rejection_sampling.hpp"
#include "r1/train/rollout.hpp"
#include "tiny_setup.hpp"

namespace {

using Policy = r1::Transformer<r1::cpu>;

r1::TextCodec codec_for(const r1::CharTokenizer& tokenizer) {
  return r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
}

// Not a KvSampler: sample j of every prompt is the text texts[j], and it
// remembers what it was asked.
struct ScriptedSampler {
  const r1::CharTokenizer* tokenizer = nullptr;
  std::vector<std::string> texts;
  std::vector<std::uint64_t> keys_seen;
  std::uint64_t step_seen = 0;
  std::vector<r1::Completion> generate(Policy&, const r1::GenerationRequest& request) {
    keys_seen.assign(request.prompt_keys.begin(), request.prompt_keys.end());
    step_seen = request.step;
    std::vector<r1::Completion> completions;
    for (std::size_t p = 0; p < request.prompts.size(); ++p)
      for (int j = 0; j < request.samples_per_prompt; ++j) {
        r1::Completion completion;
        completion.ids = tokenizer->encode(texts[static_cast<std::size_t>(j) % texts.size()]);
        completion.logprobs.assign(completion.ids.size(), -1.0f);
        completions.push_back(std::move(completion));
      }
    return completions;
  }
};
static_assert(r1::Sampler<ScriptedSampler, Policy>);

// Scores "1" as 1, "2" as NaN (a broken verifier), anything else 0; "9" sleeps past a budget.
struct ScriptedVerifier {
  std::string_view name() const { return "scripted"; }
  r1::Reward operator()(const r1::Problem&, std::string_view completion) const {
    r1::Reward reward;
    if (completion == "9") std::this_thread::sleep_for(std::chrono::milliseconds(40));
    reward.score = completion == "1" ? 1.0 : completion == "2" ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    reward.components.push_back({"accuracy", reward.score});
    reward.extracted = std::string(completion);
    return reward;
  }
};

}  // namespace

TEST_CASE("run_rollout: any Sampler; keys are dataset indices; verdicts through verify_groups with a budget") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  const auto problems = r1::test::echo_problems(10);
  ScriptedSampler sampler{&tokenizer, {"1", "2", "9", "0"}, {}, 0};
  r1::RolloutSettings settings;
  settings.samples_per_prompt = 4;
  settings.step = 7;
  settings.verification.item_budget_ms = 10;  // "9" sleeps 40 ms; the others take microseconds
  const auto rollout = r1::run_rollout(policy, sampler, problems, {6, 2}, codec_for(tokenizer), ScriptedVerifier{}, settings);
  CHECK(sampler.keys_seen == std::vector<std::uint64_t>{6, 2});
  CHECK(sampler.step_seen == 7);
  REQUIRE(rollout.size() == 8);
  CHECK(rollout.prompts[0] == tokenizer.encode(problems[6].prompt));
  CHECK(rollout.problem_of(5) == 2);
  CHECK(rollout.texts[4] == "1");
  CHECK(rollout.rewards[4].score == 1.0);
  CHECK(rollout.non_finite_rewards == 2);  // "2" once per prompt
  CHECK_FALSE(rollout.rewards[1].applicable);
  CHECK(rollout.rewards[2].score == 0.0);
  CHECK(rollout.rewards[2].reason.find("timed out") != std::string::npos);
  CHECK(rollout.lengths() == std::vector<std::int32_t>(8, 1));
  CHECK_THROWS_AS(r1::run_rollout(policy, sampler, problems, {10}, codec_for(tokenizer), ScriptedVerifier{}, settings),
                  r1::Error);
}

TEST_CASE("the dapo preset penalises an overlong completion by DAPO Eq. 13") {
  // L_max 20480, L_cache 4096: R = ((L_max − L_cache) − L) / L_cache between 16384 and 20480 tokens, −1 beyond.
  const r1::OverlongShaping shaping = r1::objective_overlong_shaping(r1::GrpoObjective{r1::GrpoConfig::dapo()});
  r1::Rollout rollout;
  for (const std::size_t length : {100, 16384, 18432, 20480, 20481}) {
    r1::Completion completion;
    completion.ids.assign(length, 3);
    rollout.completions.push_back(std::move(completion));
    r1::Reward reward;
    reward.score = 1.0;
    rollout.rewards.push_back(reward);
  }
  rollout.rewards.back().applicable = false;  // not applicable stays out, unshaped
  r1::apply_overlong_shaping(rollout, shaping);
  CHECK(rollout.rewards[0].score == 1.0);
  CHECK(rollout.rewards[1].score == 1.0);
  CHECK(rollout.rewards[2].score == 0.5);   // (16384 − 18432) / 4096 = −0.5
  CHECK(rollout.rewards[3].score == 0.0);   // (16384 − 20480) / 4096 = −1
  CHECK(rollout.rewards[4].score == 1.0);
  REQUIRE(rollout.rewards[2].components.size() == 1);
  CHECK(rollout.rewards[2].components[0].name == "overlong");
  CHECK(rollout.rewards[2].components[0].score == -0.5);
  CHECK(r1::overlong_shaping_penalty(20481, shaping) == -1.0);
  CHECK(r1::overlong_shaping_penalty(5, {4, 0}) == -1.0);  // no buffer: a hard cut at L_max
  CHECK(r1::overlong_shaping_penalty(4, {4, 0}) == 0.0);
}

TEST_CASE("GRPO trainer: the objective's overlong shaping reaches the rewards and the metrics") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(2);
  r1::GrpoTrainerConfig config;
  config.prompts_per_step = 2;
  config.group_size = 4;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 3;  // no EOS: every completion has 3 tokens
  r1::GrpoConfig objective = r1::GrpoConfig::from_json(
      r1::Json{{"preset", "dapo"}, {"overlong_max_tokens", 4}, {"overlong_buffer_tokens", 2}});
  objective.filter_zero_std_groups = false;
  using Trainer = r1::GrpoTrainer<r1::Grpo<Policy, r1::KvSampler, r1::test::LowDigit, r1::AdamW, r1::GrpoObjective>>;
  Trainer trainer{config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{},
                  r1::GrpoObjective{objective}, codec_for(tokenizer), r1::ConstantSchedule{1e-3f}};
  const auto report = trainer.step(r1::test::echo_problems(8));
  const double penalty = (2.0 - 3.0) / 2.0;  // Eq. 13 at L = 3, L_max 4, L_cache 2
  for (const auto& reward : trainer.last_rollout().rewards) {
    REQUIRE(reward.components.size() == 2);
    CHECK(reward.components[1].score == penalty);
    CHECK(reward.score == reward.components[0].score + penalty);
  }
  CHECK(report.metrics["rewards/overlong"].get<double>() == penalty);
}

TEST_CASE("evaluate and rejection_sample take any Sampler; the KvSampler overloads are the same run") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy policy{r1::test::tiny_model_config(tokenizer.vocab_size())};
  policy.init_random(4);
  const auto problems = r1::test::echo_problems(6);
  const auto codec = codec_for(tokenizer);

  r1::EvaluationConfig evaluation;
  evaluation.samples_per_problem = 3;
  evaluation.sampling.max_new_tokens = 2;
  evaluation.prompts_per_batch = 4;  // two batches
  std::vector<r1::EvaluatedCompletion> details;
  const auto report = r1::evaluate(policy, problems, codec, r1::test::LowDigit{}, evaluation, &details);
  r1::KvSampler sampled{evaluation.sampling};
  std::vector<r1::EvaluatedCompletion> own_details;
  const auto own = r1::evaluate(policy, sampled, static_cast<r1::KvSampler*>(nullptr), problems, codec,
                                r1::test::LowDigit{}, evaluation, &own_details);
  CHECK(own.pass_at_1 == report.pass_at_1);
  CHECK_FALSE(own.greedy_accuracy.has_value());
  REQUIRE(details.size() == problems.size() * 4);  // 3 samples and 1 greedy each
  REQUIRE(own_details.size() == problems.size() * 3);
  for (std::size_t i = 0; i < own_details.size(); ++i) CHECK(own_details[i].text == details[i].text);

  ScriptedSampler scripted{&tokenizer, {"1", "7", "1"}, {}, 0};
  const auto scripted_report =
      r1::evaluate(policy, scripted, static_cast<ScriptedSampler*>(nullptr), problems, codec, r1::test::LowDigit{}, evaluation);
  CHECK(scripted_report.pass_at_1 == doctest::Approx(2.0 / 3.0));

  r1::RejectionSamplingConfig rejection;
  rejection.samples_per_prompt = 3;
  r1::RejectionSamplingStats stats;
  const auto kept = r1::rejection_sample(policy, scripted, problems, codec, r1::test::LowDigit{}, rejection, &stats);
  CHECK(stats.generated == 18);
  CHECK(stats.accepted == 12);
  CHECK(kept.size() == 6);  // "1" twice per prompt, deduplicated
  for (const auto& item : kept) CHECK(item.completion_text == "1");
}
