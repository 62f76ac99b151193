#pragma once
// Settings of the GRPO trainer loop (the objective has its own GrpoConfig in r1/rl).
// Defaults follow the toy R1-Zero run; the R1 paper's scale is in the comments.
#include <cstdint>
#include <limits>
#include <string>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

struct GrpoTrainerConfig {
  std::int64_t steps = 100;            // rollouts (each: generate, verify, update)
  int prompts_per_step = 8;            // R1: 32
  int group_size = 8;                  // G; R1: 16
  int minibatches_per_rollout = 1;     // optimiser steps per rollout; R1: 16
  int epochs_per_rollout = 1;          // mu: passes over the rollout
  int micro_batch_sequences = 0;       // gradient accumulation chunk; 0 = a whole minibatch at once
  float temperature = 1.0f;            // sampling temperature; log-probs are taken at the same one
  double max_grad_norm = 1.0;          // global norm clip; 0 = off
  bool use_behaviour_logprobs = false; // true: old log-probs = the sampler's; false: recompute (exact when mu = 1)
  bool shuffle_data = true;
  std::uint64_t seed = 0;
  double verify_budget_ms = 1000.0;    // per completion (r1/reward/batch.hpp); past it the verdict is 0; <= 0: none
  // Weights of the KL reference (a frozen copy of the policy): "fp32", or "bf16" at half the bytes (its
  // log-probs feed only the KL term). A LoRA policy's reference is its frozen base: no copy either way.
  std::string reference_dtype = "fp32";

  void validate() const {
    require(steps >= 0, "grpo config: 'steps' must be >= 0");
    require(prompts_per_step > 0, "grpo config: 'prompts_per_step' must be > 0");
    require(group_size > 0, "grpo config: 'group_size' must be > 0");
    // Both are positive ints, so their product fits in int64; the sequences of a
    // rollout are then counted in int (and size_t) by the sampler and the update.
    const std::int64_t rollout_sequences = std::int64_t{prompts_per_step} * group_size;
    require(rollout_sequences <= std::numeric_limits<int>::max(), "grpo config: 'prompts_per_step' (",
            prompts_per_step, ") x 'group_size' (", group_size, ") = ", rollout_sequences,
            " sequences per rollout exceeds ", std::numeric_limits<int>::max());
    require(minibatches_per_rollout > 0 && minibatches_per_rollout <= rollout_sequences,
            "grpo config: 'minibatches_per_rollout' must be in 1..prompts_per_step*group_size");
    require(epochs_per_rollout > 0, "grpo config: 'epochs_per_rollout' must be > 0");
    require(micro_batch_sequences >= 0, "grpo config: 'micro_batch_sequences' must be >= 0");
    require(temperature > 0.0f, "grpo config: 'temperature' must be > 0 (training samples from the policy)");
    require(max_grad_norm >= 0.0, "grpo config: 'max_grad_norm' must be >= 0");
    require(reference_dtype == "fp32" || reference_dtype == "bf16", "grpo config: 'reference_dtype' = '",
            reference_dtype, "': expected \"fp32\" or \"bf16\"");
  }

  static GrpoTrainerConfig from_json(const Json& json, std::string_view where = "grpo config") {
    require_known_fields(json,
                         {"steps", "prompts_per_step", "group_size", "minibatches_per_rollout", "epochs_per_rollout",
                          "micro_batch_sequences", "temperature", "max_grad_norm", "use_behaviour_logprobs",
                          "shuffle_data", "seed", "verify_budget_ms", "reference_dtype"},
                         where);
    GrpoTrainerConfig c;
    c.steps = json_field_or(json, "steps", c.steps, where);
    c.prompts_per_step = json_field_or(json, "prompts_per_step", c.prompts_per_step, where);
    c.group_size = json_field_or(json, "group_size", c.group_size, where);
    c.minibatches_per_rollout = json_field_or(json, "minibatches_per_rollout", c.minibatches_per_rollout, where);
    c.epochs_per_rollout = json_field_or(json, "epochs_per_rollout", c.epochs_per_rollout, where);
    c.micro_batch_sequences = json_field_or(json, "micro_batch_sequences", c.micro_batch_sequences, where);
    c.temperature = json_field_or(json, "temperature", c.temperature, where);
    c.max_grad_norm = json_field_or(json, "max_grad_norm", c.max_grad_norm, where);
    c.use_behaviour_logprobs = json_field_or(json, "use_behaviour_logprobs", c.use_behaviour_logprobs, where);
    c.shuffle_data = json_field_or(json, "shuffle_data", c.shuffle_data, where);
    c.seed = json_field_or(json, "seed", c.seed, where);
    c.verify_budget_ms = json_field_or(json, "verify_budget_ms", c.verify_budget_ms, where);
    c.reference_dtype = json_field_or(json, "reference_dtype", c.reference_dtype, where);
    c.validate();
    return c;
  }
  Json to_json() const {
    return Json{{"steps", steps},
                {"prompts_per_step", prompts_per_step},
                {"group_size", group_size},
                {"minibatches_per_rollout", minibatches_per_rollout},
                {"epochs_per_rollout", epochs_per_rollout},
                {"micro_batch_sequences", micro_batch_sequences},
                {"temperature", temperature},
                {"max_grad_norm", max_grad_norm},
                {"use_behaviour_logprobs", use_behaviour_logprobs},
                {"shuffle_data", shuffle_data},
                {"seed", seed},
                {"verify_budget_ms", verify_budget_ms},
                {"reference_dtype", reference_dtype}};
  }
};

}  // namespace r1
