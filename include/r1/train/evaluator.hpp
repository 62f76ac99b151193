#pragma once
// Evaluation as in the DeepSeek-R1 paper: k samples per problem at temperature
// 0.6 / top-p 0.95, pass@1 averaged over the k samples, unbiased pass@k and
// cons@k (majority vote on extracted answers), plus greedy accuracy and
// completion lengths. Generation and scoring are the rollout stage (rollout.hpp).
//
//   r1::EvaluationConfig config;                     // k = 4, T 0.6, top-p 0.95, greedy too
//   auto report = r1::evaluate(model, held_out, codec, verifier, config);          // KvSamplers from config
//   auto report = r1::evaluate(model, sampler, &greedy, held_out, codec, verifier, config);  // any Sampler
//   std::cout << report.to_json().dump();
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/model_concept.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/train/evaluation.hpp"
#include "r1/train/problem_generation.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

struct EvaluationConfig {
  int samples_per_problem = 4;  // k
  SamplerConfig sampling = [] {
    SamplerConfig config;
    config.temperature = 0.6f;  // DeepSeek-R1 evaluation setting
    config.top_p = 0.95f;
    return config;
  }();
  bool greedy = true;           // also decode greedily once per problem
  std::uint64_t seed = 1234;
  std::vector<std::int64_t> pass_at_ks{1};
  int prompts_per_batch = 64;   // prompts generated together
  double verify_budget_ms = BatchOptions{}.item_budget_ms;  // per completion (r1/reward/batch.hpp); <= 0: none

  static EvaluationConfig from_json(const Json& json, std::string_view where = "eval config") {
    require(json.is_object(), where, ": expected a JSON object");
    EvaluationConfig c;
    c.samples_per_problem = json_field_or(json, "samples_per_problem", c.samples_per_problem, where);
    if (json.contains("sampling")) c.sampling = sampler_config_from_json(json.at("sampling"), where);
    c.greedy = json_field_or(json, "greedy", c.greedy, where);
    c.seed = json_field_or(json, "seed", c.seed, where);
    c.pass_at_ks = json_field_or(json, "pass_at_ks", c.pass_at_ks, where);
    c.prompts_per_batch = json_field_or(json, "prompts_per_batch", c.prompts_per_batch, where);
    c.verify_budget_ms = json_field_or(json, "verify_budget_ms", c.verify_budget_ms, where);
    require(c.samples_per_problem >= 1, where, ": 'samples_per_problem' must be >= 1");
    require(c.prompts_per_batch >= 1, where, ": 'prompts_per_batch' must be >= 1");
    return c;
  }
};

// Whether a verdict counts as solved: its "accuracy" component when it has one
// (so a format bonus cannot make a wrong answer count), else score >= 1/2.
inline bool reward_is_correct(const Reward& reward) {
  if (!reward.applicable) return false;
  for (const auto& component : reward.components)
    if (component.name == "accuracy") return component.score >= 0.5;
  return reward.score >= 0.5;
}

// Details of one completion, kept when the caller asks for them.
struct EvaluatedCompletion {
  std::size_t problem = 0;
  std::string text;
  Reward reward;
  std::size_t length_tokens = 0;
  bool greedy = false;
};

// With any Sampler: `sampler` draws the k samples of each problem, `greedy`
// (when not null) its one greedy completion; config.sampling and config.greedy
// are not read (they configure the KvSamplers of the overload below).
//
// Over N ranks (`comm`, r1/dist/), each rank samples its share of every batch of problems and every rank
// returns the whole report (and details), as one process would.
template <class Comm, class ModelT, class SamplerT, class Verifier>
  requires Communicator<Comm> && Sampler<SamplerT, ModelT> && RewardVerifier<Verifier>
EvaluationReport evaluate(Comm& comm, ModelT& model, SamplerT& sampler, SamplerT* greedy,
                          std::span<const Problem> problems, const TextCodec& codec, const Verifier& verifier,
                          const EvaluationConfig& config, std::vector<EvaluatedCompletion>* details = nullptr) {
  require(!problems.empty(), "evaluate: no problems");
  std::vector<ProblemResult> results(problems.size());
  const auto run = [&](SamplerT& run_sampler, int samples, bool is_greedy) {
    RolloutSettings settings;
    settings.samples_per_prompt = samples;
    settings.seed = config.seed;
    settings.verification.item_budget_ms = config.verify_budget_ms;
    rollout_in_batches(comm, model, run_sampler, problems, codec, verifier, settings, config.prompts_per_batch,
                       [&](Rollout& rollout) {
                         for (std::size_t i = 0; i < rollout.size(); ++i) {
                           const auto& completion = rollout.completions[i];
                           SampleResult sample;
                           sample.correct = reward_is_correct(rollout.rewards[i]);
                           sample.answer = rollout.rewards[i].extracted;
                           sample.length_tokens = static_cast<std::int64_t>(completion.ids.size());
                           sample.truncated = completion.finish_reason == FinishReason::length;
                           auto& result = results[rollout.problem_of(i)];
                           if (is_greedy)
                             result.greedy = std::move(sample);
                           else
                             result.samples.push_back(std::move(sample));
                           if (details != nullptr)
                             details->push_back({rollout.problem_of(i), std::move(rollout.texts[i]),
                                                 std::move(rollout.rewards[i]), completion.ids.size(), is_greedy});
                         }
                       });
  };
  run(sampler, config.samples_per_problem, false);
  if (greedy != nullptr) run(*greedy, 1, true);
  return summarize_evaluation(results, config.pass_at_ks);
}

template <class ModelT, class SamplerT, class Verifier>
  requires Sampler<SamplerT, ModelT> && RewardVerifier<Verifier>
EvaluationReport evaluate(ModelT& model, SamplerT& sampler, SamplerT* greedy, std::span<const Problem> problems,
                          const TextCodec& codec, const Verifier& verifier, const EvaluationConfig& config,
                          std::vector<EvaluatedCompletion>* details = nullptr) {
  SingleProcess one;
  return evaluate(one, model, sampler, greedy, problems, codec, verifier, config, details);
}

// With KvSamplers: config.sampling for the k samples, and its greedy twin
// (temperature 0, no truncation) when config.greedy.
template <class Comm, class ModelT, class Verifier>
  requires Communicator<Comm> && Model<ModelT> && RewardVerifier<Verifier>
EvaluationReport evaluate(Comm& comm, ModelT& model, std::span<const Problem> problems, const TextCodec& codec,
                          const Verifier& verifier, const EvaluationConfig& config,
                          std::vector<EvaluatedCompletion>* details = nullptr) {
  KvSampler sampler{config.sampling, codec.decode};
  SamplerConfig greedy_sampling = config.sampling;
  greedy_sampling.temperature = 0.0f;
  greedy_sampling.top_p = 1.0f;
  greedy_sampling.top_k = 0;
  greedy_sampling.min_p = 0.0f;
  KvSampler greedy{greedy_sampling, codec.decode};
  return evaluate(comm, model, sampler, config.greedy ? &greedy : nullptr, problems, codec, verifier, config, details);
}

template <class ModelT, class Verifier>
  requires Model<ModelT> && RewardVerifier<Verifier>
EvaluationReport evaluate(ModelT& model, std::span<const Problem> problems, const TextCodec& codec,
                          const Verifier& verifier, const EvaluationConfig& config,
                          std::vector<EvaluatedCompletion>* details = nullptr) {
  SingleProcess one;
  return evaluate(one, model, problems, codec, verifier, config, details);
}

}  // namespace r1
