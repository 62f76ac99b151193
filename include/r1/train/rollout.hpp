#pragma once
// The rollout stage (steps 2-4 of the recipe, DESIGN.md), shared by the GRPO
// trainer, evaluation and rejection sampling: render each chosen problem's
// prompt, sample G completions per prompt with any Sampler, decode them, and
// score them through verify_groups (r1/reward/batch.hpp: oneTBB, a time budget
// per item).
//
//   r1::RolloutSettings settings{.samples_per_prompt = 8, .seed = seed, .step = step};
//   r1::Rollout rollout = r1::run_rollout(policy, sampler, problems, indices, codec, verifier, settings);
//   rollout.rewards[p * 8 + j];   // sample j of problems[indices[p]]
//
// Each problem's dataset index is its prompt key, so its samples do not depend
// on the batch it falls in.
#include <tbb/parallel_for.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/timer.hpp"
#include "r1/reward/batch.hpp"
#include "r1/reward/length.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/rl/grpo_config.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

struct RolloutSettings {
  int samples_per_prompt = 1;  // G
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
  BatchOptions verification;   // per-item time budget and grain of the verifiers
};

// One rollout: G completions of each chosen problem, prompt-major.
struct Rollout {
  std::vector<std::size_t> problem_indices;   // one per prompt, into the problems given
  std::vector<std::vector<TokenId>> prompts;  // one per prompt
  std::vector<Completion> completions;        // completion p * G + j is sample j of prompt p
  std::vector<std::string> texts;             // decoded completions
  std::vector<Reward> rewards;                // one per completion
  int samples_per_prompt = 1;
  int non_finite_rewards = 0;                 // verdicts with a non-finite score, made "not applicable"
  int undecodable_completions = 0;            // completions with an id the codec cannot decode, scored 0
  double generation_seconds = 0, verification_seconds = 0;

  std::size_t size() const { return completions.size(); }
  std::size_t problem_of(std::size_t completion) const {
    return problem_indices[completion / static_cast<std::size_t>(samples_per_prompt)];
  }
  std::vector<double> scores() const {
    std::vector<double> out;
    out.reserve(rewards.size());
    for (const auto& reward : rewards) out.push_back(reward.score);
    return out;
  }
  std::vector<std::uint8_t> applicable() const {
    std::vector<std::uint8_t> out;
    out.reserve(rewards.size());
    for (const auto& reward : rewards) out.push_back(reward.applicable ? 1 : 0);
    return out;
  }
  std::vector<std::int32_t> lengths() const {
    std::vector<std::int32_t> out;
    out.reserve(completions.size());
    for (const auto& completion : completions) out.push_back(static_cast<std::int32_t>(completion.ids.size()));
    return out;
  }
};

// A non-finite score (a verifier's bug) must not poison group statistics or
// majority votes: it becomes "not applicable". Returns how many there were.
inline int exclude_non_finite_rewards(std::span<Reward> rewards) {
  int count = 0;
  for (auto& reward : rewards)
    if (reward.applicable && !std::isfinite(reward.score)) {
      reward = Reward::not_applicable("non-finite score from the verifier");
      ++count;
    }
  return count;
}

template <class ModelT, class SamplerT, class Verifier>
  requires Sampler<SamplerT, ModelT> && RewardVerifier<Verifier>
Rollout run_rollout(ModelT& model, SamplerT& sampler, std::span<const Problem> problems,
                    std::vector<std::size_t> problem_indices, const TextCodec& codec, const Verifier& verifier,
                    const RolloutSettings& settings) {
  require(settings.samples_per_prompt >= 1, "run_rollout: samples_per_prompt must be >= 1, got ",
          settings.samples_per_prompt);
  Rollout rollout;
  rollout.samples_per_prompt = settings.samples_per_prompt;
  rollout.problem_indices = std::move(problem_indices);
  std::vector<std::uint64_t> keys;
  for (const std::size_t index : rollout.problem_indices) {
    require(index < problems.size(), "run_rollout: problem index ", index, " is out of range (", problems.size(),
            " problems)");
    rollout.prompts.push_back(codec.render_prompt(problems[index]));
    keys.push_back(index);
  }

  const Stopwatch generation;
  GenerationRequest request;
  request.prompts = rollout.prompts;
  request.prompt_keys = keys;
  request.samples_per_prompt = settings.samples_per_prompt;
  request.seed = settings.seed;
  request.step = settings.step;
  rollout.completions = sampler.generate(model, request);
  const std::size_t expected = rollout.prompts.size() * static_cast<std::size_t>(settings.samples_per_prompt);
  require(rollout.completions.size() == expected, "run_rollout: the sampler returned ", rollout.completions.size(),
          " completions, expected ", expected);
  rollout.generation_seconds = generation.elapsed_seconds();

  const Stopwatch verification;
  rollout.texts.resize(rollout.completions.size());
  // decode_completion never throws: a completion with an id the tokenizer lacks (a padded embedding's
  // row) is scored 0 and counted, and the run goes on (issue 22).
  std::vector<std::string> undecodable(rollout.completions.size());
  tbb::parallel_for(std::size_t{0}, rollout.completions.size(), [&](std::size_t i) {
    DecodedText decoded = decode_completion(codec, rollout.completions[i].ids);
    rollout.texts[i] = std::move(decoded.text);
    if (!decoded.decodable) undecodable[i] = decoded.error.empty() ? "undecodable" : std::move(decoded.error);
  });
  rollout.rewards = verify_groups(verifier, problems, std::span<const std::size_t>(rollout.problem_indices),
                                  std::span<const std::string>(rollout.texts),
                                  static_cast<std::size_t>(settings.samples_per_prompt), settings.verification);
  for (std::size_t i = 0; i < undecodable.size(); ++i)
    if (!undecodable[i].empty()) {
      rollout.rewards[i] = Reward{};  // score 0, applicable: it counts against its group
      rollout.rewards[i].reason = "undecodable completion: " + undecodable[i];
      ++rollout.undecodable_completions;
    }
  rollout.non_finite_rewards = exclude_non_finite_rewards(rollout.rewards);
  rollout.verification_seconds = verification.elapsed_seconds();
  return rollout;
}

// DAPO's soft overlong punishment (Yu et al. 2025, Eq. 13) added to every
// applicable reward, from the completion's length in tokens, as the component
// "overlong". A buffer of 0 is the limit of Eq. 13: -1 past L_max, else 0.
inline double overlong_shaping_penalty(std::int64_t length_tokens, const OverlongShaping& shaping) {
  if (shaping.buffer_tokens == 0) return length_tokens > shaping.max_tokens ? -1.0 : 0.0;
  return overlong_penalty(length_tokens, shaping.max_tokens, shaping.buffer_tokens);
}
inline void apply_overlong_shaping(Rollout& rollout, const OverlongShaping& shaping) {
  if (!shaping.enabled()) return;
  for (std::size_t i = 0; i < rollout.rewards.size(); ++i) {
    auto& reward = rollout.rewards[i];
    if (!reward.applicable) continue;
    const double penalty =
        overlong_shaping_penalty(static_cast<std::int64_t>(rollout.completions[i].ids.size()), shaping);
    reward.score += penalty;
    reward.components.push_back({"overlong", penalty});
  }
}

}  // namespace r1
