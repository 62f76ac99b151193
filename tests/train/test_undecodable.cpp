// Decoding never ends a run (issue 22): a policy whose embedding has rows the tokenizer has no id for
// (a padded vocabulary), sampled without decodable_vocab_size, draws those ids; each such completion is
// decoded with U+FFFD in their place, scored 0 and counted (Rollout::undecodable_completions), and GRPO
// steps on; with decodable_vocab_size the sampler never draws them.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/hooks.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/text_codec.hpp"
#include "tiny_setup.hpp"

namespace {

using Policy = r1::Transformer<r1::cpu>;

// Every completion earns 1, so a 0 marks an undecodable one.
struct AlwaysOne {
  std::string_view name() const { return "always_one"; }
  r1::Reward operator()(const r1::Problem&, std::string_view) const {
    r1::Reward reward;
    reward.score = 1.0;
    return reward;
  }
};

constexpr std::int64_t kPadded = 4;

// Sample 1 of every prompt ends with an id past the tokenizer's vocabulary; the others are "3".
struct ScriptedSampler {
  r1::TokenId digit = 0, undecodable = 0;
  std::vector<r1::Completion> generate(Policy&, const r1::GenerationRequest& request) {
    std::vector<r1::Completion> completions(request.prompts.size() * static_cast<std::size_t>(request.samples_per_prompt));
    for (std::size_t i = 0; i < completions.size(); ++i) {
      const bool bad = i % static_cast<std::size_t>(request.samples_per_prompt) == 1;
      completions[i].ids = bad ? std::vector<r1::TokenId>{digit, undecodable} : std::vector<r1::TokenId>{digit};
      completions[i].logprobs.assign(completions[i].ids.size(), -1.0f);
    }
    return completions;
  }
};
static_assert(r1::Sampler<ScriptedSampler, Policy>);

// The tiny policy with kPadded extra rows whose LM-head rows (+-8 on two hidden dimensions, the real
// rows scaled by 0.1) make them likely but not certain.
Policy padded_policy(std::int64_t decodable) {
  auto config = r1::test::tiny_model_config(decodable + kPadded);
  config.tie_word_embeddings = false;
  Policy policy{config};
  policy.init_random(21, 0.3f);
  const auto* head = policy.find_tensor("lm_head.weight");
  REQUIRE(head != nullptr);
  auto rows = policy.flat_parameters().subspan(static_cast<std::size_t>(head->offset), static_cast<std::size_t>(head->size));
  const auto width = static_cast<std::size_t>(config.hidden_size);
  for (std::size_t v = 0; v < static_cast<std::size_t>(config.vocab_size); ++v)
    for (std::size_t d = 0; d < width; ++d) {
      float& w = rows[v * width + d];
      const std::size_t k = v - static_cast<std::size_t>(decodable);
      if (v < static_cast<std::size_t>(decodable)) w *= 0.1f;
      else w = d == k / 2 ? (k % 2 == 0 ? 8.0f : -8.0f) : 0.0f;
    }
  return policy;
}

}  // namespace

TEST_CASE("a completion with an undecodable id is decoded with U+FFFD, scored 0 and counted, not fatal") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  CHECK(codec.vocab_size == tokenizer.vocab_size());
  const std::vector<r1::TokenId> ids{tokenizer.encode("1=")[0], static_cast<r1::TokenId>(tokenizer.vocab_size() + 2),
                                     tokenizer.encode("2")[0]};
  const r1::DecodedText decoded = r1::decode_completion(codec, ids);
  CHECK_FALSE(decoded.decodable);
  CHECK(decoded.text == "1\xEF\xBF\xBD" "2");
  CHECK(decoded.error.find("token id 18 is outside the tokenizer's vocabulary [0, 16)") != std::string::npos);
  CHECK(r1::decode_completion(codec, std::vector<r1::TokenId>{ids[0], ids[2]}).decodable);

  Policy policy = padded_policy(tokenizer.vocab_size());
  const auto problems = r1::test::echo_problems(6);
  r1::RolloutSettings settings{.samples_per_prompt = 4, .seed = 3, .step = 0, .verification = {}};
  ScriptedSampler scripted{tokenizer.encode("3")[0], static_cast<r1::TokenId>(tokenizer.vocab_size() + 1)};
  const r1::Rollout rollout =
      r1::run_rollout(policy, scripted, std::span<const r1::Problem>(problems), {0, 1, 2, 3, 4, 5}, codec, AlwaysOne{}, settings);
  CHECK(rollout.undecodable_completions == 6);  // sample 1 of each of 6 prompts
  for (std::size_t i = 0; i < rollout.size(); ++i) {
    CAPTURE(i);
    const bool bad = i % 4 == 1;
    CHECK(rollout.rewards[i].score == (bad ? 0.0 : 1.0));
    CHECK(rollout.rewards[i].applicable);  // a 0 that counts against its group
    CHECK(rollout.texts[i] == (bad ? "3\xEF\xBF\xBD" : "3"));
    if (bad) CHECK(rollout.rewards[i].reason.find("token id 17 is outside the tokenizer's vocabulary") != std::string::npos);
  }

  // A real sampler over the padded policy, unmasked: what it draws from the padded rows is counted.
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 4;
  r1::KvSampler unmasked{sampling};
  const r1::Rollout sampled =
      r1::run_rollout(policy, unmasked, std::span<const r1::Problem>(problems), {0, 1, 2, 3, 4, 5}, codec, AlwaysOne{}, settings);
  int with_padded_id = 0;
  for (std::size_t i = 0; i < sampled.size(); ++i) {
    bool padded = false;
    for (const auto id : sampled.completions[i].ids) padded = padded || id >= tokenizer.vocab_size();
    with_padded_id += padded ? 1 : 0;
    CHECK(sampled.rewards[i].score == (padded ? 0.0 : 1.0));
  }
  CHECK(with_padded_id > 0);
  CHECK(sampled.undecodable_completions == with_padded_id);

  sampling.decodable_vocab_size = tokenizer.vocab_size();
  r1::KvSampler masked{sampling};
  const r1::Rollout clean =
      r1::run_rollout(policy, masked, std::span<const r1::Problem>(problems), {0, 1, 2, 3, 4, 5}, codec, AlwaysOne{}, settings);
  CHECK(clean.undecodable_completions == 0);
}

TEST_CASE("GRPO steps on over completions with undecodable ids") {
  using Recipe = r1::Grpo<Policy, r1::KvSampler, AlwaysOne, r1::AdamW, r1::GrpoObjective>;
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  Policy policy = padded_policy(tokenizer.vocab_size());
  r1::GrpoTrainerConfig config;
  config.steps = 2;
  config.prompts_per_step = 3;
  config.group_size = 4;
  r1::SamplerConfig sampling;
  sampling.max_new_tokens = 4;  // no decodable_vocab_size: padded ids are drawn
  r1::GrpoTrainer<Recipe> trainer{config, policy, r1::KvSampler{sampling}, AlwaysOne{}, r1::AdamW{},
                                  r1::GrpoObjective{r1::GrpoConfig{}}, codec, r1::ConstantSchedule{1e-3f}};
  const auto problems = r1::test::echo_problems(6);
  int undecodable = 0;
  trainer.add_hook(std::make_unique<r1::AfterStepHook<r1::GrpoTrainer<Recipe>>>(
      [&](r1::GrpoTrainer<Recipe>&, r1::StepReport& report) {
        undecodable += report.metrics.at("completions/undecodable").get<int>();
      }));
  CHECK_NOTHROW(trainer.fit(problems));
  CHECK(trainer.current_step() == 2);
  CHECK(undecodable > 0);  // counted in the metrics, and the run went on
}
