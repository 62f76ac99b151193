#pragma once
// The GRPO trainer: the R1 recipe composed from five policies at compile time.
//
//   using Recipe = r1::Grpo<r1::Transformer<r1::cpu>, r1::KvSampler,
//                           r1::Sum<r1::MathAnswer, r1::R1Format>, r1::AdamW, r1::GrpoObjective>;
//   r1::GrpoTrainer<Recipe> trainer{config, policy, sampler, verifier, optimizer, objective, codec, schedule};
//   trainer.fit(train_problems);
//
// One step (DeepSeekMath §4.1; DeepSeek-R1 Methods), each part a call in core_step:
//   1-4  the rollout (rollout.hpp): prompts_per_step problems, rendered; G completions
//        each from the current policy (pi_old); decoded and verified (oneTBB, with a
//        per-item time budget); DAPO's overlong shaping when the objective asks
//   5    advantages from group rewards (the Objective, r1/rl/advantage.hpp)
//   6    the policy update: per-token batches (r1/rl/policy_batch_builder.hpp),
//        epochs_per_rollout passes of minibatches_per_rollout optimiser steps, each
//        accumulated over micro-batches; the loss is the Objective's
//   7    metrics; hooks (hooks.hpp) wrap the step for logging, evaluation and checkpoints.
//
// Data parallel (GrpoTrainer<Recipe, Comm> with a Communicator of N ranks, r1/dist/):
// every rank draws the same prompts; each samples and verifies its contiguous share,
// by whole groups, and the shares are gathered in order (rollout_gather.hpp), so every
// rank holds the step's whole rollout: the samples one process would draw (the noise
// is keyed by seed, step, prompt and sample, never by rank), and the same advantages,
// zero-std filtering, reference resets and metrics. Each minibatch's sequences are
// split over the ranks again; the loss normalisers are the whole minibatch's, so the
// gradients summed over ranks (dist/gradient_sync.hpp) are the minibatch's, the clip
// norm is global, and every rank applies the same update. Hooks that write files
// belong on rank 0 only: the caller adds them there.
#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/timer.hpp"
#include "r1/dist/gradient_sync.hpp"
#include "r1/dist/single_process.hpp"
#include "r1/model/model_concept.hpp"
#include "r1/model/weight_storage.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/optim/optimizer_concept.hpp"
#include "r1/reward/verifier_concept.hpp"
#include "r1/rl/objective_capabilities.hpp"
#include "r1/rl/objective_concept.hpp"
#include "r1/rl/policy_batch_builder.hpp"
#include "r1/sampling/sampler_concept.hpp"
#include "r1/train/data_order.hpp"
#include "r1/train/grpo_trainer_config.hpp"
#include "r1/train/hooks.hpp"
#include "r1/train/rollout.hpp"
#include "r1/train/rollout_gather.hpp"
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
inline double finite_mean(double sum, double count) { return count > 0 ? sum / count : 0.0; }
}  // namespace detail

template <class Recipe, class Comm = SingleProcess>
  requires Communicator<Comm>
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
    requires std::same_as<Comm, SingleProcess>
      : GrpoTrainer(config, policy, std::move(sampler), std::move(verifier), std::move(optimizer), std::move(objective),
                    std::move(codec), std::move(learning_rate), nullptr) {}
  // Data parallel over `comm`'s ranks; `comm` outlives the trainer.
  GrpoTrainer(GrpoTrainerConfig config, Policy& policy, SamplerType sampler, Verifier verifier, OptimizerType optimizer,
              ObjectiveType objective, TextCodec codec, Schedule learning_rate, Comm& comm)
      : GrpoTrainer(config, policy, std::move(sampler), std::move(verifier), std::move(optimizer), std::move(objective),
                    std::move(codec), std::move(learning_rate), &comm) {}

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
  Comm& communicator() { return comm(); }
  Policy& policy() { return policy_; }
  Policy* reference() { return reference_ ? &*reference_ : nullptr; }
  SamplerType& sampler() { return sampler_; }
  const Verifier& verifier() const { return verifier_; }
  OptimizerType& optimizer() { return optimizer_; }
  const ObjectiveType& objective() const { return objective_; }
  const TextCodec& codec() const { return codec_; }
  const Rollout& last_rollout() const { return rollout_; }
  const Advantages& last_advantages() const { return advantages_; }

 private:
  GrpoTrainer(GrpoTrainerConfig config, Policy& policy, SamplerType sampler, Verifier verifier, OptimizerType optimizer,
              ObjectiveType objective, TextCodec codec, Schedule learning_rate, Comm* comm)
      : config_(config),
        policy_(policy),
        sampler_(std::move(sampler)),
        verifier_(std::move(verifier)),
        optimizer_(std::move(optimizer)),
        objective_(std::move(objective)),
        codec_(std::move(codec)),
        learning_rate_(std::move(learning_rate)),
        comm_(comm) {
    config_.validate();
    require(static_cast<bool>(codec_.render_prompt) && static_cast<bool>(codec_.decode),
            "GrpoTrainer: the text codec needs render_prompt and decode");
    require(static_cast<bool>(learning_rate_), "GrpoTrainer: a learning-rate schedule is required");
    if (objective_uses_reference(objective_)) {
      if (policy_has_lora()) {
        // The frozen base is the reference (adapters off): no second copy of the model.
        reference_is_base_ = true;
        require(objective_reference_reset_period(objective_) == 0,
                "GrpoTrainer: with LoRA the KL reference is the frozen base, which a reference reset cannot move "
                "(the objective's 'ref_reset_every_steps'): set it to 0, or train without LoRA");
      } else {
        reference_.emplace(make_reference(policy_));
      }
    }
    kl_in_reward_ = objective_kl_in_reward(objective_);
    require(!kl_in_reward_ || has_reference(),
            "GrpoTrainer: an objective with the KL in the reward must use a reference");
  }

  bool policy_has_lora() {
    if constexpr (requires { policy_.has_lora(); }) return policy_.has_lora();
    else return false;
  }
  // A scoring-only copy when the model offers one (no gradients; bf16 weights if configured), else a copy.
  Policy make_reference(const Policy& policy) const {
    if constexpr (requires { Policy::frozen_copy(policy, WeightStorage::bf16); })
      return Policy::frozen_copy(policy, config_.reference_dtype == "bf16" ? WeightStorage::bf16 : WeightStorage::full);
    else return policy;
  }
  void reset_reference() {
    if constexpr (requires { reference_->copy_weights_from(policy_); })
      reference_->copy_weights_from(policy_);
    else *reference_ = policy_;
  }
  bool has_reference() const { return reference_.has_value() || reference_is_base_; }
  // The reference's scores of `batch`: its frozen copy's, or (LoRA) the policy's with the adapters off.
  void score_reference(const TokenBatch& batch, TokenScores& out) {
    const Stopwatch watch;
    struct AddTime {
      const Stopwatch& watch;
      double& total;
      ~AddTime() { total += watch.elapsed_seconds(); }
    } add_time{watch, reference_seconds_};
    if (reference_) {
      reference_->score(batch, config_.temperature, out);
      return;
    }
    if constexpr (requires { policy_.set_adapters_enabled(false); }) {
      policy_.set_adapters_enabled(false);
      try {
        policy_.score(batch, config_.temperature, out);
      } catch (...) {
        policy_.set_adapters_enabled(true);
        throw;
      }
      policy_.set_adapters_enabled(true);
    }
  }

  Comm& comm() {
    if constexpr (std::same_as<Comm, SingleProcess>) return comm_ != nullptr ? *comm_ : single_process_;
    else return *comm_;
  }

  struct UpdateTotals {
    double loss = 0, kl = 0, entropy = 0, approx_kl = 0, ratio = 0, clip_low = 0, clip_high = 0, tokens = 0;
    double grad_norm_sum = 0;
    int updates = 0, skipped = 0;
    // Behaviour log-prob (recorded by the sampler) minus the trainer's log-prob of the same token, over the
    // tokens scored before the rollout's first update, when the policy is still the one that sampled: 0 up
    // to rounding when both use the same weights; the cost of sampling from bf16 weights otherwise.
    double sampling_gap = 0, sampling_gap_abs = 0, sampling_gap_tokens = 0;

    void add_sampling_gap(const TrainingSequences& data, std::size_t begin, std::size_t end,
                          std::span<const float> logprobs) {
      std::size_t offset = 0;
      for (std::size_t s = begin; s < end; ++s) {
        const auto prompt = static_cast<std::size_t>(data.prompt_lengths[s]);
        const auto& behaviour = data.behaviour_logprobs[s];
        for (std::size_t t = prompt; t < data.tokens[s].size() && t - prompt < behaviour.size(); ++t) {
          const double gap = static_cast<double>(behaviour[t - prompt]) - logprobs[offset + t];
          sampling_gap += gap;
          sampling_gap_abs += std::abs(gap);
          sampling_gap_tokens += 1;
        }
        offset += data.tokens[s].size();
      }
    }

    // Token-weighted diagnostics of one minibatch.
    void add(const LossResult& minibatch) {
      loss += minibatch.loss;
      kl += minibatch.kl * minibatch.tokens;
      entropy += minibatch.entropy * minibatch.tokens;
      approx_kl += minibatch.approx_kl_old * minibatch.tokens;
      ratio += minibatch.mean_ratio * minibatch.tokens;
      clip_low += minibatch.clip_fraction_low * minibatch.tokens;
      clip_high += minibatch.clip_fraction_high * minibatch.tokens;
      tokens += minibatch.tokens;
    }
  };

  // The recipe's seven steps (DESIGN.md; DeepSeekMath §4.1).
  void core_step(std::span<const Problem> problems, StepReport& report) {
    Stopwatch total;
    if (reference_ && objective_resets_reference_at(objective_, step_)) reset_reference();  // R1: every N steps
    // 1-4. The step's problems; render, sample G each from pi_old, decode, verify.
    communication_seconds_ = reference_seconds_ = old_logprob_seconds_ = 0;
    Rollout share = run_rollout(policy_, sampler_, problems, rank_share(comm(), next_problem_indices()), codec_,
                                verifier_, rollout_settings());
    rollout_ = timed_collective([&] { return gather_rollout(comm(), std::move(share)); });
    apply_overlong_shaping(rollout_, objective_overlong_shaping(objective_));
    advantages_ = group_advantages();  // 5
    Stopwatch training;
    TrainingSequences data = training_sequences(std::span<const std::vector<TokenId>>(rollout_.prompts),
                                                std::span<const Completion>(rollout_.completions),
                                                std::span<const std::uint8_t>(rollout_.applicable()), advantages_,
                                                config_.group_size, kl_in_reward_.has_value());
    const UpdateTotals totals = update_policy(data);  // 6
    fill_metrics(report, totals, training.elapsed_seconds(), total.elapsed_seconds());  // 7
  }

  // 1. The step's problems, in the data order; each keeps its dataset index, so
  // its samples do not depend on the batch it falls in.
  std::vector<std::size_t> next_problem_indices() {
    std::vector<std::size_t> indices;
    for (int p = 0; p < config_.prompts_per_step; ++p)
      indices.push_back(order_->at(static_cast<std::uint64_t>(step_) * config_.prompts_per_step + p));
    return indices;
  }

  RolloutSettings rollout_settings() const {
    RolloutSettings settings;
    settings.samples_per_prompt = config_.group_size;
    settings.seed = config_.seed;
    settings.step = static_cast<std::uint64_t>(step_);
    settings.verification.item_budget_ms = config_.verify_budget_ms;
    return settings;
  }

  // 5. Advantages from group rewards.
  Advantages group_advantages() const {
    const std::vector<double> scores = rollout_.scores();
    const std::vector<std::uint8_t> applicable = rollout_.applicable();
    const std::vector<std::int32_t> lengths = rollout_.lengths();
    AdvantageInput input;
    input.rewards = scores;
    input.applicable = applicable;
    input.group_size = config_.group_size;
    input.lengths = lengths;
    Advantages advantages = objective_.advantages(input);
    require(advantages.per_completion.size() == rollout_.size(), "GrpoTrainer: the objective returned ",
            advantages.per_completion.size(), " advantages for ", rollout_.size(), " completions");
    return advantages;
  }

  // 6. Policy update: epochs x minibatches over the rollout, each an optimiser step.
  UpdateTotals update_policy(TrainingSequences& data) {
    UpdateTotals totals;
    if (data.empty()) return totals;
    const OldLogprobs old_source = old_logprob_source();
    if (old_source == OldLogprobs::recomputed) {
      const Stopwatch watch;
      data.set_old_logprobs(score_all(data, false));
      old_logprob_seconds_ += watch.elapsed_seconds();
    }
    if (kl_in_reward_)
      data.fold_kl_into_advantages(score_all(data, true), rollout_.scores(), rollout_.applicable(),
                                   config_.group_size, *kl_in_reward_, old_source);
    for (int epoch = 0; epoch < config_.epochs_per_rollout; ++epoch) {
      const int minibatches = std::min<int>(config_.minibatches_per_rollout, static_cast<int>(data.size()));
      for (int m = 0; m < minibatches; ++m)
        update_on(data, data.size() * m / minibatches, data.size() * (m + 1) / minibatches, old_source, totals);
    }
    return totals;
  }

  // The old log-probs of the ratio: the sampler's when asked; else recomputed
  // before the first update, unless each token is trained on once (mu = 1, one
  // minibatch), where the current policy's are exact (ratio 1). REINFORCE++'s
  // KL-in-reward needs them before the update either way.
  OldLogprobs old_logprob_source() const {
    if (config_.use_behaviour_logprobs) return OldLogprobs::behaviour;
    const bool single_pass = config_.epochs_per_rollout == 1 && config_.minibatches_per_rollout == 1;
    return single_pass && !kl_in_reward_ ? OldLogprobs::current : OldLogprobs::recomputed;
  }

  // Log-probs of every token of `data` under `model`, in order, scored a micro-batch at a time (each rank its
  // share of the sequences, gathered in order).
  std::vector<float> score_all(const TrainingSequences& data, bool reference) {
    std::vector<float> logprobs;
    const ShardRange share = shard_of(static_cast<std::int64_t>(data.size()), comm().rank(), comm().size());
    const auto first = static_cast<std::size_t>(share.begin), last = static_cast<std::size_t>(share.end);
    const std::size_t chunk = micro_batch_size(data.size());
    for (std::size_t begin = first; begin < last; begin += chunk) {
      data.fill_token_batch(begin, std::min(begin + chunk, last), batch_);
      if (reference) score_reference(batch_, scores_);
      else policy_.score(batch_, config_.temperature, scores_);
      logprobs.insert(logprobs.end(), scores_.logprobs.begin(), scores_.logprobs.end());
    }
    return timed_collective([&] { return gather_floats(comm(), logprobs); });
  }

  std::size_t micro_batch_size(std::size_t sequences) const {
    return config_.micro_batch_sequences > 0 ? static_cast<std::size_t>(config_.micro_batch_sequences) : sequences;
  }

  // One optimiser step on sequences [begin, end), accumulated over micro-batches.
  void update_on(const TrainingSequences& data, std::size_t begin, std::size_t end, OldLogprobs old_source,
                 UpdateTotals& totals) {
    const BatchTotals normalisers = data.totals(begin, end);  // the whole minibatch's, on every rank
    policy_.zero_grad();
    LossResult minibatch;
    bool finite = true;
    const std::size_t chunk = micro_batch_size(end - begin);
    const std::size_t whole = end - begin;
    const ShardRange share = shard_of(static_cast<std::int64_t>(whole), comm().rank(), comm().size());
    const std::size_t first = begin + static_cast<std::size_t>(share.begin);
    end = begin + static_cast<std::size_t>(share.end);
    for (std::size_t micro = first; micro < end; micro += chunk) {
      const std::size_t micro_end = std::min(micro + chunk, end);
      data.fill_token_batch(micro, micro_end, batch_);
      // The reference first: with LoRA it is the policy itself (adapters off), and the policy's own pass
      // must be the last before backward.
      if (has_reference()) score_reference(batch_, reference_scores_);
      policy_.score(batch_, config_.temperature, scores_);
      if (totals.updates + totals.skipped == 0) totals.add_sampling_gap(data, micro, micro_end, scores_.logprobs);
      const PolicyBatch policy_batch =
          policy_batch_.build(data, micro, micro_end, batch_, scores_,
                              has_reference() ? std::span<const float>(reference_scores_.logprobs) : std::span<const float>{},
                              old_source, normalisers);
      d_logprobs_.assign(batch_.total_tokens(), 0.0f);
      d_entropies_.assign(batch_.total_tokens(), 0.0f);
      const LossResult part = objective_.loss(policy_batch, d_logprobs_, d_entropies_);
      finite = finite && std::isfinite(part.loss);
      accumulate(minibatch, part);
      if (finite) policy_.backward(batch_, d_logprobs_, d_entropies_);
    }
    if (comm().size() > 1) {
      finite = timed_collective([&] { return sum_over_ranks(minibatch, finite); });
      if (finite) timed_collective([&] { all_reduce_gradients(comm(), policy_.parameters()); return 0; });
      if (totals.updates + totals.skipped == 0)  // the sampling gap's sums, over every rank's share
        timed_collective([&] {
          std::array<double, 3> gap{totals.sampling_gap, totals.sampling_gap_abs, totals.sampling_gap_tokens};
          comm().all_reduce_sum(std::span<double>(gap));
          totals.sampling_gap = gap[0], totals.sampling_gap_abs = gap[1], totals.sampling_gap_tokens = gap[2];
          return 0;
        });
    }
    step_optimizer(finite, totals);
    totals.add(minibatch);
  }

  // Clips the gradient and steps, or, on a non-finite loss or gradient (which
  // would corrupt the weights), skips the update and counts it.
  void step_optimizer(bool finite, UpdateTotals& totals) {
    const auto parameters = policy_.parameters();
    const double grad_norm = clip_grad_norm(parameters, config_.max_grad_norm > 0 ? config_.max_grad_norm : 0.0);
    if (!finite || !std::isfinite(grad_norm)) {
      ++totals.skipped;
      ++skipped_updates_;
      policy_.zero_grad();
      return;
    }
    optimizer_.set_learning_rate(learning_rate_(optimizer_steps_));
    optimizer_.step(parameters);
    ++optimizer_steps_;
    ++totals.updates;
    totals.grad_norm_sum += grad_norm;
  }

  // Runs a collective, adding its wall time (waiting for the slowest rank included) to the step's communication.
  template <class Collective>
  auto timed_collective(Collective&& collective) {
    const Stopwatch watch;
    auto result = collective();
    communication_seconds_ += watch.elapsed_seconds();
    return result;
  }

  // A minibatch's result over all ranks (sums, token-weighted means) in one all-reduce; true when every rank's
  // loss was finite.
  bool sum_over_ranks(LossResult& result, bool finite) {
    const double t = result.tokens;
    std::array<double, 10> sums{result.loss,          result.policy_loss,     result.kl * t,
                                result.entropy * t,   result.approx_kl_old * t, result.mean_ratio * t,
                                result.clip_fraction_low * t, result.clip_fraction_high * t,
                                t,                    finite ? 0.0 : 1.0};
    comm().all_reduce_sum(std::span<double>(sums));
    const double tokens = sums[8];
    const auto mean = [&](double sum) { return tokens > 0 ? sum / tokens : 0.0; };
    result.loss = sums[0];
    result.policy_loss = sums[1];
    result.kl = mean(sums[2]);
    result.entropy = mean(sums[3]);
    result.approx_kl_old = mean(sums[4]);
    result.mean_ratio = mean(sums[5]);
    result.clip_fraction_low = mean(sums[6]);
    result.clip_fraction_high = mean(sums[7]);
    result.tokens = tokens;
    return sums[9] == 0;
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

  void fill_metrics(StepReport& report, const UpdateTotals& totals, double training_seconds, double step_seconds) {
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
        advantages_.groups > 0
            ? static_cast<double>(advantages_.zero_std_groups) / advantages_.groups
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
    if (totals.sampling_gap_tokens > 0) {
      m["sampling/logprob_gap"] = totals.sampling_gap / totals.sampling_gap_tokens;
      m["sampling/logprob_gap_abs"] = totals.sampling_gap_abs / totals.sampling_gap_tokens;
    }
    m["lr"] = optimizer_.learning_rate();
    m["skipped_updates"] = totals.skipped;
    m["tokens_per_second"] = step_seconds > 0 ? new_tokens / step_seconds : 0.0;
    m["timing/generation"] = rollout_.generation_seconds;
    m["timing/verification"] = rollout_.verification_seconds;
    m["timing/training"] = training_seconds;
    m["timing/communication"] = communication_seconds_;  // collectives over ranks, waiting included; 0 on one
    // Parts of timing/training: the KL reference's forward passes, and the old log-probs' when recomputed.
    m["timing/reference"] = reference_seconds_;
    m["timing/old_logprobs"] = old_logprob_seconds_;
    m["step_time"] = step_seconds;
    report.skipped = totals.skipped > 0;
    m["non_finite_rewards"] = rollout_.non_finite_rewards;
    m["completions/undecodable"] = rollout_.undecodable_completions;  // scored 0 (run_rollout)
  }

  GrpoTrainerConfig config_;
  Policy& policy_;
  std::optional<Policy> reference_;
  bool reference_is_base_ = false;  // LoRA: the reference is the policy with its adapters off
  SamplerType sampler_;
  Verifier verifier_;
  OptimizerType optimizer_;
  ObjectiveType objective_;
  TextCodec codec_;
  Schedule learning_rate_;
  std::vector<std::unique_ptr<Hook>> hooks_;
  std::optional<DataOrder> order_;
  std::int64_t step_ = 0, optimizer_steps_ = 0, skipped_updates_ = 0;
  std::optional<KlInRewardOptions> kl_in_reward_;  // REINFORCE++: the KL is a per-token reward
  Rollout rollout_;
  Advantages advantages_;
  // Buffers reused across steps.
  TokenBatch batch_;
  TokenScores scores_, reference_scores_;
  PolicyBatchBuilder policy_batch_;
  std::vector<float> d_logprobs_, d_entropies_;
  Comm* comm_ = nullptr;
  double communication_seconds_ = 0, reference_seconds_ = 0, old_logprob_seconds_ = 0;
  [[no_unique_address]] std::conditional_t<std::same_as<Comm, SingleProcess>, SingleProcess, std::monostate>
      single_process_;
};

}  // namespace r1
