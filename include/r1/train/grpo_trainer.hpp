#pragma once
// The GRPO trainer: the R1 recipe composed from five policies at compile time.
//
//   using Recipe = r1::Grpo<r1::Transformer<r1::cpu>, r1::KvSampler,
//                           r1::Sum<r1::MathAnswer, r1::R1Format>, r1::AdamW, r1::GrpoObjective>;
//   r1::GrpoTrainer<Recipe> trainer{config, policy, sampler, verifier, optimizer, objective, codec, schedule};
//   trainer.fit(train_problems);
//
// One step (DeepSeekMath §4.1; DeepSeek-R1 Methods): take prompts_per_step
// problems, sample G completions each from the current policy (pi_old), score
// them with the rule-based verifier (oneTBB, in parallel), turn group rewards
// into advantages, then take epochs_per_rollout passes over the rollout split
// into minibatches_per_rollout optimiser steps, each optionally accumulated
// over micro-batches. Hooks (hooks.hpp) wrap the step for logging, evaluation
// and checkpoints.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/timer.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/rl/kl.hpp"
#include "r1/rl/kl_in_reward.hpp"
#include "r1/train/data_order.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "r1/train/hooks.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

// A recipe: the five policy types, checked against their concepts.
template <class PolicyT, class SamplerT, class VerifierT, class OptimizerT, class ObjectiveT>
  requires Model<PolicyT> && Sampler<SamplerT, PolicyT> && RewardVerifier<VerifierT> && Optimizer<OptimizerT> &&
           Objective<ObjectiveT>
struct Grpo {
  using Policy = PolicyT;
  using SamplerType = SamplerT;
  using Verifier = VerifierT;
  using OptimizerType = OptimizerT;
  using ObjectiveType = ObjectiveT;
};

namespace detail {
// Optional capability: does the objective need reference log-probs (beta != 0)?
template <class O>
bool objective_needs_reference(const O& objective) {
  if constexpr (requires { { objective.needs_reference() } -> std::convertible_to<bool>; })
    return objective.needs_reference();
  else if constexpr (requires { objective.config().beta; })
    return objective.config().beta != 0;
  else
    return false;
}
// Optional capability: reset the reference to the policy every N steps (R1 recipe); 0 = never.
template <class O>
std::int64_t objective_reference_reset_every(const O& objective) {
  if constexpr (requires { objective.config().ref_reset_every_steps; })
    return static_cast<std::int64_t>(objective.config().ref_reset_every_steps);
  else
    return 0;
}
// Optional capability: is the KL a penalty in the reward (REINFORCE++) rather than a loss term?
template <class O>
bool objective_kl_in_reward(const O& objective) {
  if constexpr (requires { objective.config().kl_placement; objective.config().beta; })
    return objective.config().kl_placement == KlPlacement::reward && objective.config().beta != 0;
  else
    return false;
}
inline double finite_mean(double sum, double count) { return count > 0 ? sum / count : 0.0; }
}  // namespace detail

// The rollout of one step, kept for hooks (e.g. to print a sample).
struct Rollout {
  std::vector<std::size_t> problem_indices;      // one per prompt
  std::vector<std::vector<TokenId>> prompts;     // one per prompt
  std::vector<Completion> completions;           // prompt-major, G per prompt
  std::vector<std::string> texts;                // decoded completions
  std::vector<Reward> rewards;                   // one per completion
  Advantages advantages;
};

template <class Recipe>
class GrpoTrainer {
 public:
  using Policy = typename Recipe::Policy;
  using SamplerType = typename Recipe::SamplerType;
  using Verifier = typename Recipe::Verifier;
  using OptimizerType = typename Recipe::OptimizerType;
  using ObjectiveType = typename Recipe::ObjectiveType;
  using Hook = TrainerHook<GrpoTrainer>;
  using Schedule = std::function<float(std::int64_t optimizer_step)>;

  GrpoTrainer(GrpoTrainerConfig config, Policy& policy, SamplerType sampler, Verifier verifier, OptimizerType optimizer,
              ObjectiveType objective, TextCodec codec, Schedule learning_rate)
      : config_(config),
        policy_(policy),
        sampler_(std::move(sampler)),
        verifier_(std::move(verifier)),
        optimizer_(std::move(optimizer)),
        objective_(std::move(objective)),
        codec_(std::move(codec)),
        learning_rate_(std::move(learning_rate)) {
    config_.validate();
    require(static_cast<bool>(codec_.render_prompt) && static_cast<bool>(codec_.decode),
            "GrpoTrainer: the text codec needs render_prompt and decode");
    require(static_cast<bool>(learning_rate_), "GrpoTrainer: a learning-rate schedule is required");
    if (detail::objective_needs_reference(objective_)) reference_.emplace(policy_);
  }

  void add_hook(std::unique_ptr<Hook> hook) { hooks_.push_back(std::move(hook)); }

  // Runs steps until config.steps, from the current step (so a resumed trainer continues).
  void fit(std::span<const Problem> problems) {
    for (auto& hook : hooks_) hook->on_fit_begin(*this);
    while (step_ < config_.steps) step(problems);
    for (auto& hook : hooks_) hook->on_fit_end(*this);
  }

  // One GRPO step through all hooks.
  StepReport step(std::span<const Problem> problems) {
    require(!problems.empty(), "GrpoTrainer: no training problems");
    if (!order_ || order_->size() != problems.size())
      order_.emplace(problems.size(), config_.seed, config_.shuffle_data);
    StepReport report;
    report.step = step_;
    run_wrapped<GrpoTrainer>(hooks_, *this, report, [&] {
      core_step(problems, report);
      ++step_;  // inside the hooks, so a hook after step() sees the finished count
    });
    return report;
  }

  // ---- state, for hooks and checkpoints ----
  std::int64_t current_step() const { return step_; }
  std::int64_t optimizer_steps() const { return optimizer_steps_; }
  std::int64_t skipped_updates() const { return skipped_updates_; }
  void restore_counters(std::int64_t step, std::int64_t optimizer_steps, std::int64_t skipped_updates) {
    step_ = step;
    optimizer_steps_ = optimizer_steps;
    skipped_updates_ = skipped_updates;
  }
  const GrpoTrainerConfig& config() const { return config_; }
  Policy& policy() { return policy_; }
  Policy* reference() { return reference_ ? &*reference_ : nullptr; }
  SamplerType& sampler() { return sampler_; }
  const Verifier& verifier() const { return verifier_; }
  OptimizerType& optimizer() { return optimizer_; }
  const ObjectiveType& objective() const { return objective_; }
  const TextCodec& codec() const { return codec_; }
  const Rollout& last_rollout() const { return rollout_; }

 private:
  // One rollout's training data, flattened: sequence s = prompt + completion.
  struct Sequences {
    std::vector<std::vector<TokenId>> tokens;
    std::vector<std::int32_t> prompt_lengths;
    std::vector<float> advantages;            // per sequence
    std::vector<std::uint8_t> counted;        // 0: in the batch only to keep groups whole (KL in reward)
    std::vector<std::vector<float>> token_advantages;  // per sequence, aligned with tokens (KL in reward); else empty
    std::vector<std::vector<float>> behaviour; // per sequence, behaviour log-probs of completion tokens
    std::vector<std::vector<float>> old;       // per sequence, aligned with tokens (when recomputed)
  };

  void core_step(std::span<const Problem> problems, StepReport& report) {
    Stopwatch total;
    const int prompts = config_.prompts_per_step, group = config_.group_size;
    const std::int64_t reset_every = detail::objective_reference_reset_every(objective_);
    if (reset_every > 0 && reference_ && step_ > 0 && step_ % reset_every == 0) *reference_ = policy_;

    // 1. Prompts, keyed by dataset index so sampling does not depend on batch composition.
    rollout_ = Rollout{};
    std::vector<std::uint64_t> keys(prompts);
    for (int p = 0; p < prompts; ++p) {
      const std::size_t index = order_->at(static_cast<std::uint64_t>(step_) * prompts + p);
      rollout_.problem_indices.push_back(index);
      rollout_.prompts.push_back(codec_.render_prompt(problems[index]));
      keys[p] = index;
    }

    // 2. Generate G completions per prompt with the current policy (pi_old).
    Stopwatch generation;
    GenerationRequest request;
    request.prompts = rollout_.prompts;
    request.prompt_keys = keys;
    request.samples_per_prompt = group;
    request.seed = config_.seed;
    request.step = static_cast<std::uint64_t>(step_);
    rollout_.completions = sampler_.generate(policy_, request);
    require(rollout_.completions.size() == static_cast<std::size_t>(prompts) * group,
            "GrpoTrainer: the sampler returned ", rollout_.completions.size(), " completions, expected ",
            prompts * group);
    const double generation_seconds = generation.elapsed_seconds();

    // 3. Verify in parallel: verifiers are const and thread-safe.
    Stopwatch verification;
    const std::size_t n = rollout_.completions.size();
    rollout_.texts.resize(n);
    rollout_.rewards.resize(n);
    tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
      rollout_.texts[i] = codec_.decode(rollout_.completions[i].ids);
      rollout_.rewards[i] = verifier_(problems[rollout_.problem_indices[i / group]], rollout_.texts[i]);
    });
    // A non-finite score (a verifier's bug) must not poison the group statistics: exclude it like
    // "not applicable", and count it in the metrics.
    int non_finite = 0;
    for (auto& reward : rollout_.rewards)
      if (reward.applicable && !std::isfinite(reward.score)) {
        reward = Reward::not_applicable("non-finite score from the verifier");
        ++non_finite;
      }
    const double verification_seconds = verification.elapsed_seconds();

    // 4. Advantages from group rewards.
    std::vector<double> scores(n);
    std::vector<std::uint8_t> applicable(n);
    std::vector<std::int32_t> lengths(n);
    for (std::size_t i = 0; i < n; ++i) {
      scores[i] = rollout_.rewards[i].score;
      applicable[i] = rollout_.rewards[i].applicable ? 1 : 0;
      lengths[i] = static_cast<std::int32_t>(rollout_.completions[i].ids.size());
    }
    AdvantageInput advantage_input;
    advantage_input.rewards = scores;
    advantage_input.applicable = applicable;
    advantage_input.group_size = group;
    advantage_input.lengths = lengths;
    rollout_.advantages = objective_.advantages(advantage_input);
    require(rollout_.advantages.per_completion.size() == n, "GrpoTrainer: the objective returned ",
            rollout_.advantages.per_completion.size(), " advantages for ", n, " completions");

    // 5. The training sequences: kept, non-empty completions (all of them, groups whole, for KL in the reward).
    const bool kl_in_reward = detail::objective_kl_in_reward(objective_);
    Sequences data;
    for (std::size_t i = 0; i < n; ++i) {
      const bool kept = rollout_.advantages.keep.empty() || rollout_.advantages.keep[i] != 0;
      const auto& completion = rollout_.completions[i];
      const bool counted = kept && !completion.ids.empty() && rollout_.rewards[i].applicable;
      if (!counted && !kl_in_reward) continue;
      const auto& prompt = rollout_.prompts[i / group];
      std::vector<TokenId> sequence(prompt);
      sequence.insert(sequence.end(), completion.ids.begin(), completion.ids.end());
      data.tokens.push_back(std::move(sequence));
      data.prompt_lengths.push_back(static_cast<std::int32_t>(prompt.size()));
      data.advantages.push_back(rollout_.advantages.per_completion[i]);
      data.counted.push_back(counted ? 1 : 0);
      data.behaviour.push_back(completion.logprobs);
    }

    // 6. Policy update: epochs x minibatches, each an optimiser step.
    Stopwatch training;
    UpdateTotals totals;
    const std::size_t sequences = data.tokens.size();
    const bool single_pass = config_.epochs_per_rollout == 1 && config_.minibatches_per_rollout == 1;
    if (sequences > 0 && (!single_pass || kl_in_reward) && !config_.use_behaviour_logprobs) compute_old_logprobs(data);
    if (sequences > 0 && kl_in_reward) fold_kl_into_advantages(data, scores, applicable, group);
    for (int epoch = 0; epoch < config_.epochs_per_rollout && sequences > 0; ++epoch) {
      const int minibatches = std::min<int>(config_.minibatches_per_rollout, static_cast<int>(sequences));
      for (int m = 0; m < minibatches; ++m) {
        const std::size_t begin = sequences * m / minibatches, end = sequences * (m + 1) / minibatches;
        update_on(data, begin, end, single_pass, totals);
      }
    }
    const double training_seconds = training.elapsed_seconds();

    fill_metrics(report, totals, generation_seconds, verification_seconds, training_seconds, total.elapsed_seconds());
    report.metrics["non_finite_rewards"] = non_finite;
  }

  struct UpdateTotals {
    double loss = 0, kl = 0, entropy = 0, approx_kl = 0, ratio = 0, clip_low = 0, clip_high = 0, tokens = 0;
    double grad_norm_sum = 0;
    int updates = 0, skipped = 0;
  };

  // Old-policy log-probs before any update of this rollout (needed when mu > 1 or several minibatches).
  void compute_old_logprobs(Sequences& data) {
    data.old.assign(data.tokens.size(), {});
    const std::size_t chunk = micro_batch_size(data.tokens.size());
    for (std::size_t begin = 0; begin < data.tokens.size(); begin += chunk) {
      const std::size_t end = std::min(begin + chunk, data.tokens.size());
      build_batch(data, begin, end);
      policy_.score(batch_, config_.temperature, scores_);
      for (std::size_t s = begin; s < end; ++s) {
        const auto offset = batch_.offsets[s - begin];
        data.old[s].assign(scores_.logprobs.begin() + offset, scores_.logprobs.begin() + batch_.offsets[s - begin + 1]);
      }
    }
  }

  // REINFORCE++ (Hu 2025) with the KL in the reward: per-token advantages from
  // r_t = -beta k1_t (+ the score at the last token), over the whole rollout (r1/rl/kl_in_reward.hpp).
  void fold_kl_into_advantages(Sequences& data, std::span<const double> scores, std::span<const std::uint8_t> applicable,
                               int group) {
    if constexpr (requires { objective_.config().kl_in_reward_options(); }) {
      std::vector<std::int64_t> offsets{0};
      std::vector<float> mask, old, reference;
      const std::size_t chunk = micro_batch_size(data.tokens.size());
      for (std::size_t begin = 0; begin < data.tokens.size(); begin += chunk) {
        const std::size_t end = std::min(begin + chunk, data.tokens.size());
        build_batch(data, begin, end);
        reference_->score(batch_, config_.temperature, reference_scores_);
        reference.insert(reference.end(), reference_scores_.logprobs.begin(), reference_scores_.logprobs.end());
      }
      for (std::size_t s = 0; s < data.tokens.size(); ++s) {
        const std::size_t length = data.tokens[s].size();
        offsets.push_back(offsets.back() + static_cast<std::int64_t>(length));
        for (std::size_t t = 0; t < length; ++t) {
          const bool completion_token = t >= static_cast<std::size_t>(data.prompt_lengths[s]);
          mask.push_back(completion_token && data.counted[s] ? 1.0f : 0.0f);
          old.push_back(!completion_token ? 0.0f
                        : config_.use_behaviour_logprobs ? data.behaviour[s][t - data.prompt_lengths[s]]
                                                         : data.old[s][t]);
        }
      }
      TokenRewardInput input;
      input.offsets = offsets;
      input.mask = mask;
      input.old_logprobs = old;
      input.ref_logprobs = reference;
      input.scores = scores;
      input.applicable = applicable;
      input.group_size = group;
      const std::vector<float> advantages = kl_in_reward_advantages(input, objective_.config().kl_in_reward_options());
      data.token_advantages.resize(data.tokens.size());
      for (std::size_t s = 0; s < data.tokens.size(); ++s)
        data.token_advantages[s].assign(advantages.begin() + offsets[s], advantages.begin() + offsets[s + 1]);
    }
  }

  std::size_t micro_batch_size(std::size_t sequences) const {
    return config_.micro_batch_sequences > 0 ? static_cast<std::size_t>(config_.micro_batch_sequences) : sequences;
  }

  void build_batch(const Sequences& data, std::size_t begin, std::size_t end) {
    batch_.clear();
    for (std::size_t s = begin; s < end; ++s) batch_.push_back(data.tokens[s], data.prompt_lengths[s]);
  }

  // One optimiser step on sequences [begin, end), accumulated over micro-batches.
  void update_on(const Sequences& data, std::size_t begin, std::size_t end, bool old_is_current, UpdateTotals& totals) {
    // Normalisers over the whole minibatch, so micro-batching does not change the gradient.
    double minibatch_tokens = 0;
    double minibatch_sequences = 0;
    for (std::size_t s = begin; s < end; ++s) {
      if (!data.counted[s]) continue;
      minibatch_tokens += static_cast<double>(data.tokens[s].size() - data.prompt_lengths[s]);
      ++minibatch_sequences;
    }
    const bool need_reference = reference_.has_value();

    policy_.zero_grad();
    LossResult minibatch;
    bool finite = true;
    const std::size_t chunk = micro_batch_size(end - begin);
    for (std::size_t micro = begin; micro < end; micro += chunk) {
      const std::size_t micro_end = std::min(micro + chunk, end);
      build_batch(data, micro, micro_end);
      const std::size_t tokens = batch_.total_tokens();
      policy_.score(batch_, config_.temperature, scores_);
      if (need_reference) reference_->score(batch_, config_.temperature, reference_scores_);

      old_.assign(tokens, 0.0f);
      mask_.assign(tokens, 0.0f);
      advantages_.assign(tokens, 0.0f);
      for (std::size_t s = micro; s < micro_end; ++s) {
        const auto offset = static_cast<std::size_t>(batch_.offsets[s - micro]);
        const std::size_t length = data.tokens[s].size();
        for (std::size_t t = static_cast<std::size_t>(data.prompt_lengths[s]); t < length; ++t) {
          mask_[offset + t] = data.counted[s] ? 1.0f : 0.0f;
          advantages_[offset + t] = data.token_advantages.empty() ? data.advantages[s] : data.token_advantages[s][t];
          if (config_.use_behaviour_logprobs)
            old_[offset + t] = data.behaviour[s][t - data.prompt_lengths[s]];
          else if (old_is_current && data.old.empty())
            old_[offset + t] = scores_.logprobs[offset + t];  // mu = 1, one minibatch: the ratio is exactly 1
          else
            old_[offset + t] = data.old[s][t];
        }
      }
      PolicyBatch policy_batch;
      policy_batch.offsets = batch_.offsets;
      policy_batch.logprobs = scores_.logprobs;
      policy_batch.old_logprobs = old_;
      if (need_reference) policy_batch.ref_logprobs = reference_scores_.logprobs;
      policy_batch.entropies = scores_.entropies;
      policy_batch.mask = mask_;
      policy_batch.advantages = advantages_;
      policy_batch.batch_tokens = minibatch_tokens;
      policy_batch.batch_sequences = minibatch_sequences;
      d_logprobs_.assign(tokens, 0.0f);
      d_entropies_.assign(tokens, 0.0f);
      const LossResult part = objective_.loss(policy_batch, d_logprobs_, d_entropies_);
      finite = finite && std::isfinite(part.loss);
      accumulate(minibatch, part);
      if (finite) policy_.backward(batch_, d_logprobs_, d_entropies_);
    }

    const auto parameters = policy_.parameters();
    const double grad_norm = clip_grad_norm(parameters, config_.max_grad_norm > 0 ? config_.max_grad_norm : 0.0);
    finite = finite && std::isfinite(grad_norm);
    if (!finite) {
      // A non-finite loss or gradient would corrupt the weights: skip the update, count it.
      ++totals.skipped;
      ++skipped_updates_;
      policy_.zero_grad();
    } else {
      optimizer_.set_learning_rate(learning_rate_(optimizer_steps_));
      optimizer_.step(parameters);
      ++optimizer_steps_;
      ++totals.updates;
      totals.grad_norm_sum += grad_norm;
    }
    // Token-weighted diagnostics over the minibatch.
    totals.loss += minibatch.loss;
    totals.kl += minibatch.kl * minibatch.tokens;
    totals.entropy += minibatch.entropy * minibatch.tokens;
    totals.approx_kl += minibatch.approx_kl_old * minibatch.tokens;
    totals.ratio += minibatch.mean_ratio * minibatch.tokens;
    totals.clip_low += minibatch.clip_fraction_low * minibatch.tokens;
    totals.clip_high += minibatch.clip_fraction_high * minibatch.tokens;
    totals.tokens += minibatch.tokens;
  }

  // Combines micro-batch results into a minibatch result (token-weighted means).
  static void accumulate(LossResult& into, const LossResult& part) {
    const double tokens = into.tokens + part.tokens;
    const auto mix = [&](double a, double b) { return tokens > 0 ? (a * into.tokens + b * part.tokens) / tokens : 0.0; };
    into.kl = mix(into.kl, part.kl);
    into.entropy = mix(into.entropy, part.entropy);
    into.approx_kl_old = mix(into.approx_kl_old, part.approx_kl_old);
    into.mean_ratio = mix(into.mean_ratio, part.mean_ratio);
    into.clip_fraction_low = mix(into.clip_fraction_low, part.clip_fraction_low);
    into.clip_fraction_high = mix(into.clip_fraction_high, part.clip_fraction_high);
    into.loss += part.loss;
    into.policy_loss += part.policy_loss;
    into.tokens = tokens;
  }

  void fill_metrics(StepReport& report, const UpdateTotals& totals, double generation_seconds,
                    double verification_seconds, double training_seconds, double step_seconds) {
    const auto& rewards = rollout_.rewards;
    const auto& completions = rollout_.completions;
    double sum = 0, sum_sq = 0, count = 0;
    std::map<std::string, std::pair<double, double>> components;  // name -> (sum, count)
    for (const auto& reward : rewards) {
      if (!reward.applicable) continue;
      sum += reward.score;
      sum_sq += reward.score * reward.score;
      ++count;
      for (const auto& component : reward.components) {
        auto& [component_sum, component_count] = components[component.name];
        component_sum += component.score;
        component_count += 1.0;
      }
    }
    const double mean = detail::finite_mean(sum, count);
    Json& m = report.metrics;
    m["step"] = step_;
    m["reward"] = mean;
    m["reward_std"] = count > 1 ? std::sqrt(std::max(0.0, (sum_sq - count * mean * mean) / (count - 1))) : 0.0;
    for (const auto& [name, sum_and_count] : components)
      m["rewards/" + name] = sum_and_count.first / sum_and_count.second;
    if (components.contains("accuracy")) m["accuracy"] = m["rewards/accuracy"];
    double length_sum = 0, clipped = 0, new_tokens = 0;
    std::size_t min_length = completions.empty() ? 0 : completions.front().ids.size(), max_length = 0;
    for (const auto& completion : completions) {
      length_sum += static_cast<double>(completion.ids.size());
      min_length = std::min(min_length, completion.ids.size());
      max_length = std::max(max_length, completion.ids.size());
      clipped += completion.finish_reason == FinishReason::length ? 1.0 : 0.0;
    }
    new_tokens = length_sum;
    const double n = static_cast<double>(completions.size());
    m["completions/mean_length"] = detail::finite_mean(length_sum, n);
    m["completions/min_length"] = min_length;
    m["completions/max_length"] = max_length;
    m["completions/clipped_ratio"] = detail::finite_mean(clipped, n);
    m["frac_reward_zero_std"] =
        rollout_.advantages.groups > 0
            ? static_cast<double>(rollout_.advantages.zero_std_groups) / rollout_.advantages.groups
            : 0.0;
    m["loss"] = totals.updates + totals.skipped > 0 ? totals.loss / (totals.updates + totals.skipped) : 0.0;
    m["kl"] = detail::finite_mean(totals.kl, totals.tokens);
    m["entropy"] = detail::finite_mean(totals.entropy, totals.tokens);
    m["approx_kl_old"] = detail::finite_mean(totals.approx_kl, totals.tokens);
    m["mean_ratio"] = detail::finite_mean(totals.ratio, totals.tokens);
    m["clip_ratio/low"] = detail::finite_mean(totals.clip_low, totals.tokens);
    m["clip_ratio/high"] = detail::finite_mean(totals.clip_high, totals.tokens);
    m["clip_ratio"] = detail::finite_mean(totals.clip_low + totals.clip_high, totals.tokens);
    m["grad_norm"] = totals.updates > 0 ? totals.grad_norm_sum / totals.updates : 0.0;
    m["lr"] = optimizer_.learning_rate();
    m["skipped_updates"] = totals.skipped;
    m["tokens_per_second"] = step_seconds > 0 ? new_tokens / step_seconds : 0.0;
    m["timing/generation"] = generation_seconds;
    m["timing/verification"] = verification_seconds;
    m["timing/training"] = training_seconds;
    m["step_time"] = step_seconds;
    report.skipped = totals.skipped > 0;
  }

  GrpoTrainerConfig config_;
  Policy& policy_;
  std::optional<Policy> reference_;
  SamplerType sampler_;
  Verifier verifier_;
  OptimizerType optimizer_;
  ObjectiveType objective_;
  TextCodec codec_;
  Schedule learning_rate_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  std::optional<DataOrder> order_;
  std::int64_t step_ = 0, optimizer_steps_ = 0, skipped_updates_ = 0;
  Rollout rollout_;
  // Buffers reused across steps.
  TokenBatch batch_;
  TokenScores scores_, reference_scores_;
  std::vector<float> old_, mask_, advantages_, d_logprobs_, d_entropies_;
};

}  // namespace r1
