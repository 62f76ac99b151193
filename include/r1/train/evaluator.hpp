#pragma once
// Evaluation as in the DeepSeek-R1 paper: k samples per problem at temperature
// 0.6 / top-p 0.95, pass@1 averaged over the k samples, unbiased pass@k and
// cons@k (majority vote on extracted answers), plus greedy accuracy and
// completion lengths. Scoring runs in parallel with oneTBB.
//
//   r1::EvaluationConfig config;                     // k = 4, T 0.6, top-p 0.95, greedy too
//   auto report = r1::evaluate(model, held_out, codec, verifier, config);
//   std::cout << report.to_json().dump();
#include <tbb/parallel_for.h>

#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/train/evaluation.hpp"
#include "r1/train/problem_generation.hpp"
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

  static EvaluationConfig from_json(const Json& json, std::string_view where = "eval config") {
    require(json.is_object(), where, ": expected a JSON object");
    EvaluationConfig c;
    c.samples_per_problem = json_field_or(json, "samples_per_problem", c.samples_per_problem, where);
    if (json.contains("sampling")) c.sampling = sampler_config_from_json(json.at("sampling"), where);
    c.greedy = json_field_or(json, "greedy", c.greedy, where);
    c.seed = json_field_or(json, "seed", c.seed, where);
    c.pass_at_ks = json_field_or(json, "pass_at_ks", c.pass_at_ks, where);
    c.prompts_per_batch = json_field_or(json, "prompts_per_batch", c.prompts_per_batch, where);
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

template <class ModelT, class Verifier>
  requires Model<ModelT> && RewardVerifier<Verifier>
EvaluationReport evaluate(ModelT& model, std::span<const Problem> problems, const TextCodec& codec,
                          const Verifier& verifier, const EvaluationConfig& config,
                          std::vector<EvaluatedCompletion>* details = nullptr) {
  require(!problems.empty(), "evaluate: no problems");
  std::vector<ProblemResult> results(problems.size());
  const auto run = [&](const SamplerConfig& sampling, int samples, bool greedy) {
    KvSampler sampler{sampling, codec.decode};
    const auto consume = [&](std::size_t first, std::span<const std::vector<TokenId>>,
                             const std::vector<Completion>& completions) {
      std::vector<EvaluatedCompletion> scored(completions.size());
      tbb::parallel_for(std::size_t{0}, completions.size(), [&](std::size_t i) {
        auto& item = scored[i];
        item.problem = first + i / static_cast<std::size_t>(samples);
        item.text = codec.decode(completions[i].ids);
        item.reward = verifier(problems[item.problem], item.text);
        item.length_tokens = completions[i].ids.size();
        item.greedy = greedy;
      });
      for (std::size_t i = 0; i < completions.size(); ++i) {
        SampleResult sample;
        sample.correct = reward_is_correct(scored[i].reward);
        sample.answer = scored[i].reward.extracted;
        sample.length_tokens = static_cast<std::int64_t>(completions[i].ids.size());
        sample.truncated = completions[i].finish_reason == FinishReason::length;
        auto& result = results[scored[i].problem];
        if (greedy)
          result.greedy = sample;
        else
          result.samples.push_back(std::move(sample));
      }
      if (details != nullptr) details->insert(details->end(), scored.begin(), scored.end());
    };
    generate_for_problems(model, problems, codec, sampler, samples, config.seed, config.prompts_per_batch, consume);
  };
  run(config.sampling, config.samples_per_problem, false);
  if (config.greedy) {
    SamplerConfig greedy_sampling = config.sampling;
    greedy_sampling.temperature = 0.0f;
    greedy_sampling.top_p = 1.0f;
    greedy_sampling.top_k = 0;
    greedy_sampling.min_p = 0.0f;
    run(greedy_sampling, 1, true);
  }
  return summarize_evaluation(results, config.pass_at_ks);
}

}  // namespace r1
