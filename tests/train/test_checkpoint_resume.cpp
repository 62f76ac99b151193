// Resume equals an uninterrupted run, bit for bit; a crash mid-checkpoint leaves
// the previous checkpoint loadable; a corrupt checkpoint is an r1::Error.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

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

Trainer make_trainer(Policy& policy, std::int64_t steps) {  // the schedule spans 8 steps whatever `steps` is
  r1::GrpoTrainerConfig config;
  config.steps = steps;
  config.prompts_per_step = 3;
  config.group_size = 4;
  config.minibatches_per_rollout = 2;  // old log-probs recomputed, several optimiser steps per rollout
  config.seed = 11;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 3;
  r1::GrpoConfig objective = r1::GrpoConfig::deepseekmath();  // beta 0.04: a KL reference is checkpointed too
  objective.ref_reset_every_steps = 2;
  auto codec = r1::make_text_codec(tokenizer(), [](const r1::Problem& p) { return p.prompt; });
  return Trainer(config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{}, r1::AdamW{},
                 r1::GrpoObjective{objective}, codec, r1::CosineSchedule{1e-2f, 1, 8, 0.0f});
}

Policy fresh_policy() {
  Policy policy{r1::test::tiny_model_config(tokenizer().vocab_size())};
  policy.init_random(21);
  return policy;
}

std::filesystem::path temporary_directory(const char* name) {
  auto directory = std::filesystem::temp_directory_path() / (std::string("r1_test_") + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

}  // namespace

TEST_CASE("a resumed GRPO run equals an uninterrupted one bit for bit") {
  const auto problems = r1::test::echo_problems(10);
  const auto directory = temporary_directory("resume");
  const std::string checkpoint = (directory / "checkpoint.r1ckpt").string();

  Policy uninterrupted_policy = fresh_policy();
  auto uninterrupted = make_trainer(uninterrupted_policy, 6);
  std::vector<r1::Json> expected;
  for (int s = 0; s < 6; ++s) expected.push_back(uninterrupted.step(problems).metrics);

  {
    Policy first_policy = fresh_policy();
    auto first = make_trainer(first_policy, 3);
    first.add_hook(std::make_unique<r1::CheckpointHook<Trainer>>(checkpoint, 3));
    first.fit(problems);
  }
  Policy resumed_policy = fresh_policy();
  resumed_policy.init_random(999);  // different weights: the checkpoint must replace them
  auto resumed = make_trainer(resumed_policy, 6);
  r1::load_trainer_checkpoint(checkpoint, resumed);
  CHECK(resumed.current_step() == 3);
  for (int s = 3; s < 6; ++s) {
    auto metrics = resumed.step(problems).metrics;
    for (const char* timing : {"step_time", "tokens_per_second", "timing/generation", "timing/verification",
                               "timing/training", "timing/communication", "timing/reference",
                               "timing/old_logprobs"}) {
      metrics.erase(timing);
      expected[s].erase(timing);
    }
    CHECK(metrics == expected[s]);
  }
  const auto a = uninterrupted_policy.flat_parameters(), b = resumed_policy.flat_parameters();
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  std::filesystem::remove_all(directory);
}

TEST_CASE("a crash while writing a checkpoint leaves the previous one loadable") {
  const auto problems = r1::test::echo_problems(10);
  const auto directory = temporary_directory("crash");
  const std::string checkpoint = (directory / "checkpoint.r1ckpt").string();
  Policy policy = fresh_policy();
  auto trainer = make_trainer(policy, 1);
  trainer.fit(problems);
  r1::save_trainer_checkpoint(checkpoint, trainer);

  // Children rewrite the checkpoint in a loop and are killed at varying moments.
  for (int attempt = 0; attempt < 12; ++attempt) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (;;) r1::save_trainer_checkpoint(checkpoint, trainer);
    }
    ::usleep(static_cast<useconds_t>(300 + 700 * attempt));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    Policy restored_policy = fresh_policy();
    auto restored = make_trainer(restored_policy, 1);
    CHECK_NOTHROW(r1::load_trainer_checkpoint(checkpoint, restored));
    CHECK(restored.current_step() == 1);
  }
  std::filesystem::remove_all(directory);
}

TEST_CASE("a corrupt or mismatched checkpoint is an r1::Error and changes nothing") {
  const auto problems = r1::test::echo_problems(10);
  const auto directory = temporary_directory("corrupt");
  const std::string checkpoint = (directory / "checkpoint.r1ckpt").string();
  Policy policy = fresh_policy();
  auto trainer = make_trainer(policy, 1);
  trainer.fit(problems);
  r1::save_trainer_checkpoint(checkpoint, trainer);

  std::string bytes = r1::read_file_bytes(checkpoint);
  bytes[bytes.size() / 2] ^= 0x10;
  const std::string corrupt = (directory / "corrupt.r1ckpt").string();
  std::ofstream(corrupt, std::ios::binary) << bytes;
  Policy other_policy = fresh_policy();
  auto other = make_trainer(other_policy, 1);
  const std::vector<float> before(other_policy.flat_parameters().begin(), other_policy.flat_parameters().end());
  CHECK_THROWS_AS(r1::load_trainer_checkpoint(corrupt, other), r1::Error);
  CHECK(other.current_step() == 0);
  CHECK(std::equal(before.begin(), before.end(), other_policy.flat_parameters().begin()));

  // A checkpoint of a differently shaped model.
  auto config = r1::test::tiny_model_config(tokenizer().vocab_size());
  config.hidden_size = 16;
  Policy small{config};
  auto small_trainer = make_trainer(small, 1);
  CHECK_THROWS_WITH_AS(r1::load_trainer_checkpoint(checkpoint, small_trainer), doctest::Contains("parameters"),
                       r1::Error);
  std::filesystem::remove_all(directory);
}
