#pragma once
// Rejection sampling (DeepSeek-R1 §2.3.3): generate k completions per prompt,
// keep the ones the verifier accepts (optionally only the shortest, without
// duplicates), and hand them on as an SFT dataset, in memory or as JSONL.
//
//   auto kept = r1::rejection_sample(teacher, problems, codec, verifier, config);   // a KvSampler from config.sampling
//   auto kept = r1::rejection_sample(teacher, sampler, problems, codec, verifier, config);  // any Sampler
//   auto examples = r1::to_sft_examples(kept);      // for r1::SftTrainer
//   r1::write_sft_jsonl("traces.jsonl", kept);     // {"prompt", "completion", "prompt_ids", "completion_ids", "reward"}
#include <algorithm>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/io/jsonl.hpp"
#include "r1/model/model_concept.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/problem_generation.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/sft_trainer.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

struct RejectionSamplingConfig {
  int samples_per_prompt = 8;
  SamplerConfig sampling;         // temperature 1 by default: diverse candidates
  int keep_per_prompt = 0;        // most accepted completions kept per prompt; 0 = all
  bool prefer_shortest = false;   // when capping, keep the shortest (R1 filters long, mixed or chaotic traces)
  bool deduplicate = true;        // drop exact duplicate completions of one prompt
  std::uint64_t seed = 0;
  int prompts_per_batch = 64;
  double verify_budget_ms = BatchOptions{}.item_budget_ms;  // per completion (r1/reward/batch.hpp); <= 0: none

  static RejectionSamplingConfig from_json(const Json& json, std::string_view where = "rejection sampling config") {
    require(json.is_object(), where, ": expected a JSON object");
    RejectionSamplingConfig c;
    c.samples_per_prompt = json_field_or(json, "samples_per_prompt", c.samples_per_prompt, where);
    if (json.contains("sampling")) c.sampling = sampler_config_from_json(json.at("sampling"), where);
    c.keep_per_prompt = json_field_or(json, "keep_per_prompt", c.keep_per_prompt, where);
    c.prefer_shortest = json_field_or(json, "prefer_shortest", c.prefer_shortest, where);
    c.deduplicate = json_field_or(json, "deduplicate", c.deduplicate, where);
    c.seed = json_field_or(json, "seed", c.seed, where);
    c.prompts_per_batch = json_field_or(json, "prompts_per_batch", c.prompts_per_batch, where);
    c.verify_budget_ms = json_field_or(json, "verify_budget_ms", c.verify_budget_ms, where);
    require(c.samples_per_prompt >= 1, where, ": 'samples_per_prompt' must be >= 1");
    require(c.keep_per_prompt >= 0, where, ": 'keep_per_prompt' must be >= 0");
    require(c.prompts_per_batch >= 1, where, ": 'prompts_per_batch' must be >= 1");
    return c;
  }
};

struct AcceptedCompletion {
  std::size_t problem = 0;               // index into the problems given
  std::vector<TokenId> prompt_ids;
  std::vector<TokenId> completion_ids;   // as generated (with the EOS token when it stopped there)
  std::string prompt_text;
  std::string completion_text;
  Reward reward;
};

struct RejectionSamplingStats {
  std::size_t generated = 0, accepted = 0, kept = 0, prompts_with_any = 0;
};

// With any Sampler (config.sampling is not read: it configures the KvSampler of the overload below).
// Over N ranks (`comm`, r1/dist/), each rank samples its share of every batch and every rank returns all
// accepted completions, in the order of one process.
template <class Comm, class ModelT, class SamplerT, class Verifier>
  requires Communicator<Comm> && Sampler<SamplerT, ModelT> && RewardVerifier<Verifier>
std::vector<AcceptedCompletion> rejection_sample(Comm& comm, ModelT& model, SamplerT& sampler,
                                                 std::span<const Problem> problems, const TextCodec& codec,
                                                 const Verifier& verifier, const RejectionSamplingConfig& config,
                                                 RejectionSamplingStats* stats = nullptr) {
  std::vector<AcceptedCompletion> kept;
  RejectionSamplingStats counts;
  const auto g = static_cast<std::size_t>(config.samples_per_prompt);
  RolloutSettings settings;
  settings.samples_per_prompt = config.samples_per_prompt;
  settings.seed = config.seed;
  settings.verification.item_budget_ms = config.verify_budget_ms;
  const auto consume = [&](Rollout& rollout) {
    counts.generated += rollout.size();
    for (std::size_t p = 0; p < rollout.prompts.size(); ++p) {
      std::vector<std::size_t> accepted;
      std::set<std::string> seen;
      for (std::size_t i = p * g; i < (p + 1) * g; ++i) {
        if (!reward_is_correct(rollout.rewards[i])) continue;
        ++counts.accepted;
        if (config.deduplicate && !seen.insert(rollout.texts[i]).second) continue;
        accepted.push_back(i);
      }
      if (config.prefer_shortest)
        std::stable_sort(accepted.begin(), accepted.end(), [&](std::size_t a, std::size_t b) {
          return rollout.completions[a].ids.size() < rollout.completions[b].ids.size();
        });
      if (config.keep_per_prompt > 0 && accepted.size() > static_cast<std::size_t>(config.keep_per_prompt))
        accepted.resize(static_cast<std::size_t>(config.keep_per_prompt));
      counts.prompts_with_any += accepted.empty() ? 0 : 1;
      for (const std::size_t i : accepted) {
        AcceptedCompletion item;
        item.problem = rollout.problem_of(i);
        item.prompt_ids = rollout.prompts[p];
        item.completion_ids = std::move(rollout.completions[i].ids);
        item.prompt_text = problems[item.problem].prompt;
        item.completion_text = std::move(rollout.texts[i]);
        item.reward = std::move(rollout.rewards[i]);
        kept.push_back(std::move(item));
      }
    }
  };
  rollout_in_batches(comm, model, sampler, problems, codec, verifier, settings, config.prompts_per_batch, consume);
  counts.kept = kept.size();
  if (stats != nullptr) *stats = counts;
  return kept;
}

template <class ModelT, class SamplerT, class Verifier>
  requires Sampler<SamplerT, ModelT> && RewardVerifier<Verifier>
std::vector<AcceptedCompletion> rejection_sample(ModelT& model, SamplerT& sampler, std::span<const Problem> problems,
                                                 const TextCodec& codec, const Verifier& verifier,
                                                 const RejectionSamplingConfig& config,
                                                 RejectionSamplingStats* stats = nullptr) {
  SingleProcess one;
  return rejection_sample(one, model, sampler, problems, codec, verifier, config, stats);
}

template <class ModelT, class Verifier>
  requires Model<ModelT> && RewardVerifier<Verifier>
std::vector<AcceptedCompletion> rejection_sample(ModelT& model, std::span<const Problem> problems,
                                                 const TextCodec& codec, const Verifier& verifier,
                                                 const RejectionSamplingConfig& config,
                                                 RejectionSamplingStats* stats = nullptr) {
  KvSampler sampler{config.sampling, codec.decode};
  return rejection_sample(model, sampler, problems, codec, verifier, config, stats);
}

inline std::vector<SftExample> to_sft_examples(std::span<const AcceptedCompletion> accepted) {
  std::vector<SftExample> examples;
  examples.reserve(accepted.size());
  for (const auto& item : accepted) examples.push_back({item.prompt_ids, item.completion_ids});
  return examples;
}

// One JSON object a line: prompt and completion as text and ids, and the reward.
inline void write_sft_jsonl(const std::string& path, std::span<const AcceptedCompletion> accepted) {
  JsonlWriter writer{path};
  for (const auto& item : accepted) {
    writer.write(Json{{"prompt", item.prompt_text},
                      {"completion", item.completion_text},
                      {"prompt_ids", item.prompt_ids},
                      {"completion_ids", item.completion_ids},
                      {"reward", item.reward.score}});
  }
}

}  // namespace r1
