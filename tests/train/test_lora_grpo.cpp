// GRPO with less memory per parameter (issue 22): a LoRA policy whose KL reference is its frozen base, a bf16
// frozen reference, gradient checkpointing. Each must resume bit for bit, and LoRA must leave the base as it was.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/checkpoint.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/standard_hooks.hpp"
#include "tiny_setup.hpp"

namespace {

using Policy = r1::Transformer<r1::cpu>;
using Recipe = r1::Grpo<Policy, r1::KvSampler, r1::test::LowDigit, r1::AdamW, r1::GrpoObjective>;
using Trainer = r1::GrpoTrainer<Recipe>;

const r1::CharTokenizer& tokenizer() {
  static const r1::CharTokenizer instance = r1::test::tiny_tokenizer();
  return instance;
}

struct Setup {
  std::string reference_dtype = "fp32";
  std::int64_t reference_reset_every = 0;
};

Trainer make_trainer(Policy& policy, std::int64_t steps, const Setup& setup) {
  r1::GrpoTrainerConfig config;
  config.steps = steps;
  config.prompts_per_step = 3;
  config.group_size = 4;
  config.minibatches_per_rollout = 2;
  config.seed = 11;
  config.reference_dtype = setup.reference_dtype;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 3;
  r1::GrpoConfig objective = r1::GrpoConfig::deepseekmath();  // beta 0.04: the reference matters
  objective.ref_reset_every_steps = setup.reference_reset_every;
  auto codec = r1::make_text_codec(tokenizer(), [](const r1::Problem& p) { return p.prompt; });
  return Trainer(config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{},
                 r1::GrpoObjective{objective}, codec, r1::CosineSchedule{5e-2f, 1, 8, 0.0f});
}

r1::LoraConfig lora() {
  r1::LoraConfig config;
  config.r = 4;
  config.alpha = 8;
  config.seed = 3;
  return config;
}

Policy fresh_policy(bool with_lora) {
  Policy policy{r1::test::tiny_model_config(tokenizer().vocab_size())};
  policy.init_random(21);
  if (with_lora) policy.enable_lora(lora());
  return policy;
}

std::string temporary_checkpoint(const char* name) {
  const auto directory = std::filesystem::temp_directory_path() / (std::string("r1_test_lora_grpo_") + name + "_" +
                                                                    std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return (directory / "checkpoint.r1ckpt").string();
}

r1::Json without_timings(r1::Json metrics) {
  for (const char* timing : {"step_time", "tokens_per_second", "timing/generation", "timing/verification",
                             "timing/training", "timing/communication", "timing/reference", "timing/old_logprobs"})
    metrics.erase(timing);
  return metrics;
}

// Six steps straight, against three, a checkpoint, and three more on a fresh trainer (other weights first).
void check_resume(bool with_lora, const Setup& setup, const char* name) {
  const auto problems = r1::test::echo_problems(10);
  const std::string checkpoint = temporary_checkpoint(name);
  Policy straight_policy = fresh_policy(with_lora);
  auto straight = make_trainer(straight_policy, 6, setup);
  std::vector<r1::Json> expected;
  for (int s = 0; s < 6; ++s) expected.push_back(without_timings(straight.step(problems).metrics));
  {
    Policy first_policy = fresh_policy(with_lora);
    auto first = make_trainer(first_policy, 3, setup);
    first.add_hook(std::make_unique<r1::CheckpointHook<Trainer>>(checkpoint, 3));
    first.fit(problems);
  }
  Policy resumed_policy = fresh_policy(with_lora);
  for (const auto& view : resumed_policy.parameters()) std::fill(view.value.begin(), view.value.end(), 0.5f);
  auto resumed = make_trainer(resumed_policy, 6, setup);
  r1::load_trainer_checkpoint(checkpoint, resumed);
  for (int s = 3; s < 6; ++s) CHECK(without_timings(resumed.step(problems).metrics) == expected[static_cast<std::size_t>(s)]);
  const auto a = straight_policy.trainable_values(), b = resumed_policy.trainable_values();
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  std::filesystem::remove_all(std::filesystem::path(checkpoint).parent_path());
}

}  // namespace

TEST_CASE("LoRA GRPO: the frozen base is the reference (no copy); only the adapters move; resume is bitwise") {
  const auto problems = r1::test::echo_problems(10);
  Policy policy = fresh_policy(true);
  const Policy untouched = fresh_policy(false);
  auto trainer = make_trainer(policy, 4, Setup{});
  CHECK(trainer.reference() == nullptr);  // no second model
  const std::vector<float> adapters_before(policy.trainable_values().begin(), policy.trainable_values().end());
  r1::Json first;
  for (int s = 0; s < 4; ++s) {
    const auto metrics = trainer.step(problems).metrics;
    if (s == 0) first = metrics;
    CHECK(std::isfinite(metrics.at("kl").get<double>()));
  }
  const std::span<const float> base = policy.flat_parameters(), original = untouched.flat_parameters();
  CHECK(std::equal(base.begin(), base.end(), original.begin(), original.end()));
  const auto adapters = policy.trainable_values();
  CHECK_FALSE(std::equal(adapters.begin(), adapters.end(), adapters_before.begin(), adapters_before.end()));
  check_resume(true, Setup{}, "lora");
}

TEST_CASE("LoRA GRPO refuses reference resets (the frozen base cannot move)") {
  Policy policy = fresh_policy(true);
  CHECK_THROWS_WITH_AS(make_trainer(policy, 1, Setup{"fp32", 2}), doctest::Contains("ref_reset_every_steps"),
                       r1::Error);
}

TEST_CASE("bf16 KL reference: resets refresh it, a resumed run equals an uninterrupted one bit for bit") {
  Policy policy = fresh_policy(false);
  auto trainer = make_trainer(policy, 1, Setup{"bf16", 2});
  REQUIRE(trainer.reference() != nullptr);
  CHECK(trainer.reference()->weight_storage() == r1::WeightStorage::bf16);
  CHECK(trainer.reference()->flat_gradients().empty());
  check_resume(false, Setup{"bf16", 2}, "bf16");
}

TEST_CASE("a checkpoint of an fp32 reference does not load into a bf16-reference trainer") {
  const auto problems = r1::test::echo_problems(10);
  const std::string checkpoint = temporary_checkpoint("mismatch");
  Policy policy = fresh_policy(false);
  auto trainer = make_trainer(policy, 1, Setup{"fp32", 0});
  trainer.fit(problems);
  r1::save_trainer_checkpoint(checkpoint, trainer);
  Policy other_policy = fresh_policy(false);
  auto other = make_trainer(other_policy, 1, Setup{"bf16", 0});
  CHECK_THROWS_WITH_AS(r1::load_trainer_checkpoint(checkpoint, other), doctest::Contains("reference_bf16"), r1::Error);
  std::filesystem::remove_all(std::filesystem::path(checkpoint).parent_path());
}

TEST_CASE("gradient checkpointing changes no metric and no weight of a LoRA GRPO run") {
  const auto problems = r1::test::echo_problems(10);
  Policy plain_policy = fresh_policy(true), checkpointed_policy = fresh_policy(true);
  checkpointed_policy.set_gradient_checkpointing(true);
  auto plain = make_trainer(plain_policy, 3, Setup{});
  auto checkpointed = make_trainer(checkpointed_policy, 3, Setup{});
  for (int s = 0; s < 3; ++s)
    CHECK(without_timings(plain.step(problems).metrics) == without_timings(checkpointed.step(problems).metrics));
  const auto a = plain_policy.trainable_values(), b = checkpointed_policy.trainable_values();
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

// Sampling from bf16 weights (issue 26): the behaviour log-probs are the bf16 model's, the trainer scores
// with fp32 weights; at mu = 1 with one minibatch the old log-probs are the trainer's own (ratio exactly 1),
// and the gap between the two is reported.
TEST_CASE("GRPO sampling from bf16 weights: the gap to the fp32 scores is reported, and the ratio stays 1") {
  const auto problems = r1::test::echo_problems(10);
  const auto run_step = [&](r1::WeightStorage storage) {
    Policy policy = fresh_policy(false);
    policy.set_sampling_storage(storage);
    r1::GrpoTrainerConfig config;
    config.prompts_per_step = 3;
    config.group_size = 4;
    config.seed = 11;
    r1::SamplerConfig sampling;
    sampling.max_new_tokens = 3;
    auto codec = r1::make_text_codec(tokenizer(), [](const r1::Problem& p) { return p.prompt; });
    Trainer trainer(config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{},
                    r1::GrpoObjective{r1::GrpoConfig::dr_grpo()}, codec, r1::CosineSchedule{5e-2f, 1, 8, 0.0f});
    return trainer.step(problems).metrics;
  };
  const auto exact = run_step(r1::WeightStorage::full);
  const auto bf16 = run_step(r1::WeightStorage::bf16);
  // fp32 sampling: behaviour and trainer log-probs differ only by kernel rounding (decode vs training GEMMs).
  CHECK(exact.at("sampling/logprob_gap_abs").get<double>() < 1e-4);
  // bf16 weights (relative rounding 2^-9 of each weight) move log-probs by far more than that, and far less
  // than a different policy would.
  CHECK(bf16.at("sampling/logprob_gap_abs").get<double>() > 1e-4);
  CHECK(bf16.at("sampling/logprob_gap_abs").get<double>() < 0.1);
  CHECK(bf16.at("mean_ratio").get<double>() == 1.0);
}
