#pragma once
// The memory a training run will hold, planned before it starts (issue 22): each term from the model's
// shape and the run's settings, as the fp32 CPU code allocates it, with the knob that shrinks it, so
// `r1 grpo` / `r1 sft` can print the plan and refuse a run that cannot fit, naming what to turn.
//
//   r1::MemoryPlanInputs in{.model = policy.config(), .parameters = policy.parameter_count(), ...};
//   const r1::MemoryPlan plan = r1::plan_memory(in);
//   std::fputs(plan.table().c_str(), stderr);
//   r1::require_memory_fits(plan, r1::available_memory_bytes(), "r1 grpo", "MemAvailable");
//
// Sources of each term (the buffers named are the ones the code grows):
//   weights, gradients       BasicTransformer's flat parameter and gradient buffers, P floats each
//   optimizer state          AdamW's two moments (SlotBuffers{2}), SGD's momentum: slots x P floats
//   KL reference             GrpoTrainer's reference_, a whole second policy (its weights and gradient
//                            buffer: P floats each, the gradients never used), when the objective uses one
//   activations              BasicTransformer::reserve_training, per token of a micro-batch (below),
//                            for the policy and, scoring the same micro-batches, the reference
//   training logits          the logits of min(tokens, logits_budget / V) rows at once (logits_chunk_rows)
//   sampler KV cache         KvCache: layers x slots x 2 x positions x kv_width floats, positions = longest
//                            prompt + max_new_tokens (KvSampler sizes it so, never by max_position_embeddings)
//   sampler logits           KvSampler's (slots, V) logits + a CandidateBuffer (id, logit, mark, weight:
//                            13 bytes a token) per sampling thread
//   prefill scratch          reserve_inference for the prompt tokens of one wave
// Not counted: oneTBB and attention scratch, the tokenizer, the data set, metrics; allocator slack. The
// plan is for the fp32 CPU policy (r1::Transformer<r1::cpu>).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/model/config.hpp"

namespace r1 {

struct MemoryPlanInputs {
  ModelConfig model;
  std::int64_t parameters = 0;          // the model's parameter_count()
  int optimizer_slots = 2;              // floats of state per parameter: AdamW 2, SGD with momentum 1
  bool reference = false;               // a KL reference policy is kept (GRPO with beta != 0)
  std::int64_t micro_batch_sequences = 1;  // sequences scored (and back-propagated) at once
  std::int64_t sequence_tokens = 0;        // tokens of the longest such sequence (prompt + completion)
  std::int64_t logits_budget = std::int64_t{1} << 25;  // the model's logits_budget(), in floats
  // The sampler (GRPO); sampler_sequences 0 = none.
  std::int64_t sampler_sequences = 0;   // sequences in the KV cache at once (slots)
  std::int64_t sampler_prompts = 0;     // prompts prefilled at once (a wave)
  std::int64_t prompt_tokens = 0;       // the longest prompt
  std::int64_t max_new_tokens = 0;
  int sampling_threads = 1;             // each holds a CandidateBuffer
};

struct MemoryTerm {
  std::string name;
  std::uint64_t bytes = 0;
  std::string knob;  // what to turn to shrink it
};

struct MemoryPlan {
  std::vector<MemoryTerm> terms;

  std::uint64_t total_bytes() const {
    std::uint64_t total = 0;
    for (const auto& term : terms) total += term.bytes;
    return total;
  }
  const MemoryTerm* find(std::string_view name) const {
    for (const auto& term : terms)
      if (term.name == name) return &term;
    return nullptr;
  }
  // One line a term, then the total: "  weights            1.98 GB   (a smaller --model)".
  std::string table() const {
    std::ostringstream out;
    for (const auto& term : terms) {
      char line[160];
      std::snprintf(line, sizeof line, "  %-22s %10.3f GB   (%s)\n", term.name.c_str(), static_cast<double>(term.bytes) / 1e9,
                    term.knob.c_str());
      out << line;
    }
    char line[80];
    std::snprintf(line, sizeof line, "  %-22s %10.3f GB\n", "total", static_cast<double>(total_bytes()) / 1e9);
    out << line;
    return out.str();
  }
};

// Floats BasicTransformer::reserve_training keeps per token of a micro-batch (every token counted as
// scored, an upper bound: only completion tokens are): per layer the residual input, both norms' outputs
// and inverse RMS, q/k/v, the attention output and its log-sum-exp per head, the mid residual, gate/up
// and the SwiGLU output; the final residual; the final norm's input, output and inverse RMS and the
// (log-prob, entropy, log-normaliser) triple; and the backward's one-layer gradients (d_x, d_normed,
// d_act, d_gate_up, d_attn, d_qkv, d_final_normed, d_final_in).
inline std::int64_t activation_floats_per_token(const ModelConfig& model) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size, L = model.num_hidden_layers;
  const std::int64_t H = model.num_attention_heads, A = H * model.head_dim();
  const std::int64_t QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  const std::int64_t per_layer = D + D + 1 + QKV + A + H + D + D + 1 + 2 * F + F;
  const std::int64_t final_rows = D + D + 1 + 3;
  const std::int64_t gradients = D + D + F + 2 * F + A + QKV + D + D;
  return L * per_layer + D + final_rows + gradients;
}

// Floats reserve_inference keeps per prompt token of a prefill.
inline std::int64_t prefill_floats_per_token(const ModelConfig& model) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size, H = model.num_attention_heads;
  const std::int64_t A = H * model.head_dim(), QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  return D + D + 1 + QKV + A + H + 2 * F + F;
}

inline MemoryPlan plan_memory(const MemoryPlanInputs& in) {
  require(in.parameters > 0, "plan_memory: parameters = ", in.parameters, ": expected the model's parameter count");
  require(in.micro_batch_sequences >= 1 && in.sequence_tokens >= 1, "plan_memory: micro_batch_sequences ",
          in.micro_batch_sequences, " x sequence_tokens ", in.sequence_tokens, ": expected positive counts");
  constexpr std::uint64_t kFloat = sizeof(float);
  const auto P = static_cast<std::uint64_t>(in.parameters);
  const auto V = static_cast<std::uint64_t>(in.model.vocab_size);
  const std::uint64_t models = in.reference ? 2 : 1;  // the reference scores the same micro-batches
  const auto tokens = static_cast<std::uint64_t>(in.micro_batch_sequences) * static_cast<std::uint64_t>(in.sequence_tokens);
  MemoryPlan plan;
  plan.terms.push_back({"weights", P * kFloat, "a smaller --model"});
  plan.terms.push_back({"gradients", P * kFloat, "a smaller --model"});
  plan.terms.push_back({"optimizer state", static_cast<std::uint64_t>(in.optimizer_slots) * P * kFloat,
                        "'optimizer' (AdamW keeps 2 floats a parameter)"});
  if (in.reference) plan.terms.push_back({"KL reference", 2 * P * kFloat, "'objective.beta' = 0 (no reference)"});
  plan.terms.push_back({"activations", models * tokens * static_cast<std::uint64_t>(activation_floats_per_token(in.model)) * kFloat,
                        "'trainer.micro_batch_sequences' (" + std::to_string(in.micro_batch_sequences) + " x " +
                            std::to_string(in.sequence_tokens) + " tokens)"});
  const std::uint64_t logit_rows =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(tokens, static_cast<std::uint64_t>(in.logits_budget) / V));
  plan.terms.push_back({"training logits", models * logit_rows * V * kFloat, "'trainer.micro_batch_sequences'"});
  if (in.sampler_sequences > 0) {
    const auto slots = static_cast<std::uint64_t>(in.sampler_sequences);
    const auto positions = static_cast<std::uint64_t>(in.prompt_tokens + in.max_new_tokens);
    const auto kv_width = static_cast<std::uint64_t>(in.model.num_key_value_heads * in.model.head_dim());
    plan.terms.push_back({"sampler KV cache",
                          static_cast<std::uint64_t>(in.model.num_hidden_layers) * slots * 2 * positions * kv_width * kFloat,
                          "'sampling.max_batch_sequences' or 'sampling.max_new_tokens' (" + std::to_string(slots) +
                              " sequences x " + std::to_string(positions) + " positions)"});
    plan.terms.push_back({"sampler logits",
                          slots * V * kFloat + static_cast<std::uint64_t>(std::max(in.sampling_threads, 1)) * V * 13,
                          "'sampling.max_batch_sequences'"});
    const auto prefill_tokens =
        static_cast<std::uint64_t>(std::max<std::int64_t>(in.sampler_prompts, 1)) * static_cast<std::uint64_t>(in.prompt_tokens);
    plan.terms.push_back({"prefill scratch",
                          prefill_tokens * static_cast<std::uint64_t>(prefill_floats_per_token(in.model)) * kFloat,
                          "'sampling.max_batch_sequences'"});
  }
  return plan;
}

// MemAvailable of /proc/meminfo in bytes (the kernel's estimate of what can be allocated without
// swapping), 0 when it cannot be read.
inline std::uint64_t available_memory_bytes(const std::string& meminfo = "/proc/meminfo") {
  std::ifstream in(meminfo);
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// r1::Error when the plan exceeds `limit_bytes` (0 = unknown: no check), naming the largest term and its
// knob; `who` opens the message ("r1 grpo"), `limit_source` says where the limit came from.
inline void require_memory_fits(const MemoryPlan& plan, std::uint64_t limit_bytes, std::string_view who,
                                std::string_view limit_source) {
  if (limit_bytes == 0 || plan.total_bytes() <= limit_bytes) return;
  const MemoryTerm* largest = nullptr;
  for (const auto& term : plan.terms)
    if (largest == nullptr || term.bytes > largest->bytes) largest = &term;
  char sizes[160];
  std::snprintf(sizes, sizeof sizes, "%.2f GB planned, %.2f GB available (%.*s)", static_cast<double>(plan.total_bytes()) / 1e9,
                static_cast<double>(limit_bytes) / 1e9, static_cast<int>(limit_source.size()), limit_source.data());
  char term_size[32];
  std::snprintf(term_size, sizeof term_size, "%.2f GB", static_cast<double>(largest->bytes) / 1e9);
  fail(who, ": the run does not fit in memory: ", sizes, "; the largest term is ", largest->name, " (", term_size,
       "): turn ", largest->knob, ", or set --memory-limit if the limit is wrong\n", plan.table());
}

}  // namespace r1
