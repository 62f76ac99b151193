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
// Sources of each term (the buffers named are the ones the code grows; P parameters, T LoRA parameters):
//   weights                  BasicTransformer's flat parameter buffer, P floats
//   LoRA adapters            A (r x in) and B (out x r) per layer and targeted projection (Hu et al. 2021,
//                            sec 4.1; PEFT's lora_A / lora_B): T = L x sum over targets of r x (in + out)
//   gradients                the flat gradient buffer, P floats; with LoRA the frozen base has none and
//                            only the adapters' T floats are kept
//   optimizer state          AdamW's two moments (SlotBuffers{2}), SGD's momentum: slots x (P or T) floats
//   KL reference             GrpoTrainer's reference_, BasicTransformer::frozen_copy: the weights only (no
//                            gradient buffer), P floats, or P bf16 plus a one-layer fp32 scratch
//                            (layer_weights) and an LM-head chunk of min(V, 16384) rows x D fp32
//                            (lm_head_forward's kHeadRowsAtOnce); with LoRA none: the frozen base is it
//   activations              BasicTransformer::reserve_training, per token of a micro-batch (below)
//   reference activations    the frozen copy's reserve_training: one layer's activations, no backward
//   training logits          the logits of min(tokens, logits_budget / V) rows at once (logits_chunk_rows),
//                            the policy's and the reference's, plus (bf16 reference) those rows x
//                            min(V, 16384) logits of one head chunk (head_logits_)
//   sampler KV cache         KvCache: layers x slots x 2 x positions x kv_width floats, positions = longest
//                            prompt + max_new_tokens (KvSampler sizes it so, never by max_position_embeddings)
//   sampler logits           KvSampler's (slots, V) logits + a CandidateBuffer (id, logit, mark, weight:
//                            13 bytes a token) per sampling thread
//   prefill scratch          reserve_inference for the prompt tokens of one wave
// Not counted: oneTBB and attention scratch, the strides padded to 16 floats, the bf16 reference's
// final-norm scratch (D floats), LoRA's backward scratch (tokens x r) and a dropout mask, the tokenizer,
// the data set, metrics; allocator slack. The plan is for the fp32 CPU policy (r1::Transformer<r1::cpu>).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <utility>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/model/config.hpp"
#include "r1/model/lora_config.hpp"

namespace r1 {

// How the KL reference keeps its weights (BasicTransformer::frozen_copy's WeightStorage).
enum class ReferenceDtype { fp32, bf16 };

struct MemoryPlanInputs {
  ModelConfig model;
  std::int64_t parameters = 0;          // the model's parameter_count()
  int optimizer_slots = 2;              // floats of state per parameter: AdamW 2, SGD with momentum 1
  bool reference = false;               // a KL reference policy is kept (GRPO with beta != 0)
  ReferenceDtype reference_dtype = ReferenceDtype::fp32;  // its weights' storage (no LoRA)
  bool sampling_bf16 = false;           // the sampler reads a bf16 copy of the weights (set_sampling_storage)
  bool gradient_checkpointing = false;  // keep layer inputs only, recompute each layer in backward
  std::optional<LoraConfig> lora;       // train adapters (r, target_modules) on a frozen base
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
      char line[200];
      std::snprintf(line, sizeof line, "  %-23s %10.3f GB   (%s)\n", term.name.c_str(), static_cast<double>(term.bytes) / 1e9,
                    term.knob.c_str());
      out << line;
    }
    char line[80];
    std::snprintf(line, sizeof line, "  %-23s %10.3f GB\n", "total", static_cast<double>(total_bytes()) / 1e9);
    out << line;
    return out.str();
  }
};

// Parameters of one decoder layer, the contiguous span layer_weights widens (BasicTransformer's
// lay_out_parameters): input norm D, fused q/k/v (QKV x D, and QKV biases with attention_bias), o (D x A),
// post norm D, fused gate/up (2F x D), down (D x F).
inline std::int64_t decoder_layer_parameters(const ModelConfig& model) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size;
  const std::int64_t A = model.num_attention_heads * model.head_dim();
  const std::int64_t QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  return D + QKV * D + (model.attention_bias ? QKV : 0) + D * A + D + 2 * F * D + D * F;
}

// (in, out) features of a targeted projection (HF's nn.Linear of LlamaAttention / LlamaMLP).
inline std::pair<std::int64_t, std::int64_t> lora_target_shape(const ModelConfig& model, LoraTarget target) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size;
  const std::int64_t A = model.num_attention_heads * model.head_dim(), KV = model.num_key_value_heads * model.head_dim();
  switch (target) {
    case LoraTarget::q_proj: return {D, A};
    case LoraTarget::k_proj:
    case LoraTarget::v_proj: return {D, KV};
    case LoraTarget::o_proj: return {A, D};
    case LoraTarget::gate_proj:
    case LoraTarget::up_proj: return {D, F};
    case LoraTarget::down_proj: return {F, D};
  }
  fail("lora_target_shape: LoraTarget ", static_cast<int>(target), " is not one of the 7 projections");
}

// LoRA's trainable parameters: A (r x in) + B (out x r) per layer and target (Hu et al. 2021, sec 4.1).
inline std::int64_t lora_trainable_parameters(const ModelConfig& model, const LoraConfig& lora) {
  std::int64_t per_layer = 0;
  for (const LoraTarget target : lora.target_modules) {
    const auto [in, out] = lora_target_shape(model, target);
    per_layer += std::int64_t{lora.r} * (in + out);
  }
  return model.num_hidden_layers * per_layer;
}

namespace detail {
// Floats of one layer's activations per token in reserve_training, besides its residual input: both norms'
// outputs and inverse RMS, q/k/v, the attention output and its log-sum-exp per head, the mid residual,
// gate/up and the SwiGLU output; with LoRA, x·Aᵀ (r floats) per targeted projection.
inline std::int64_t layer_activation_floats(const ModelConfig& model, const std::optional<LoraConfig>& lora) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size, H = model.num_attention_heads;
  const std::int64_t A = H * model.head_dim(), QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  const std::int64_t adapters = lora ? std::int64_t{lora->r} * static_cast<std::int64_t>(lora->target_modules.size()) : 0;
  return D + 1 + QKV + A + H + D + D + 1 + 2 * F + F + adapters;
}
// The final norm's input, output and inverse RMS and the (log-prob, entropy, log-normaliser) triple.
inline std::int64_t final_row_floats(const ModelConfig& model) { return 2 * model.hidden_size + 1 + 3; }
}  // namespace detail

// Floats BasicTransformer::reserve_training keeps per token of a micro-batch (every token counted as
// scored, an upper bound: only completion tokens are): the residual stream at the L + 1 layer boundaries;
// each layer's activations (detail::layer_activation_floats) for L layers, or for one with gradient
// checkpointing (recomputed per layer in backward: Chen et al. 2016, sec 3); the final rows; and the
// backward's one-layer gradients (d_x, d_normed, d_act, d_gate_up, d_attn, d_qkv, d_final_normed,
// d_final_in).
inline std::int64_t activation_floats_per_token(const ModelConfig& model, bool gradient_checkpointing = false,
                                                const std::optional<LoraConfig>& lora = std::nullopt) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size, L = model.num_hidden_layers;
  const std::int64_t A = model.num_attention_heads * model.head_dim();
  const std::int64_t QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  const std::int64_t layers_kept = gradient_checkpointing ? 1 : L;
  const std::int64_t gradients = D + D + F + 2 * F + A + QKV + D + D;
  return (L + 1) * D + layers_kept * detail::layer_activation_floats(model, lora) + detail::final_row_floats(model) +
         gradients;
}

// Floats a frozen copy (the KL reference) keeps per token when scoring: reserve_training with one layer's
// activations and no backward.
inline std::int64_t reference_activation_floats_per_token(const ModelConfig& model) {
  return (model.num_hidden_layers + 1) * model.hidden_size + detail::layer_activation_floats(model, std::nullopt) +
         detail::final_row_floats(model);
}

// Floats reserve_inference keeps per prompt token of a prefill.
inline std::int64_t prefill_floats_per_token(const ModelConfig& model) {
  const std::int64_t D = model.hidden_size, F = model.intermediate_size, H = model.num_attention_heads;
  const std::int64_t A = H * model.head_dim(), QKV = A + 2 * model.num_key_value_heads * model.head_dim();
  return D + D + 1 + QKV + A + H + 2 * F + F;
}

// BasicTransformer::kHeadRowsAtOnce: vocabulary rows of a bf16 LM head widened to fp32 at once.
inline constexpr std::int64_t kReferenceHeadChunkRows = 16384;

inline MemoryPlan plan_memory(const MemoryPlanInputs& in) {
  require(in.parameters > 0, "plan_memory: parameters = ", in.parameters, ": expected the model's parameter count");
  require(in.micro_batch_sequences >= 1 && in.sequence_tokens >= 1, "plan_memory: micro_batch_sequences ",
          in.micro_batch_sequences, " x sequence_tokens ", in.sequence_tokens, ": expected positive counts");
  if (in.lora) in.lora->validate("plan_memory: lora");
  constexpr std::uint64_t kFloat = sizeof(float), kBf16 = 2;
  const auto u = [](std::int64_t value) { return static_cast<std::uint64_t>(value); };
  const std::uint64_t P = u(in.parameters), V = u(in.model.vocab_size), D = u(in.model.hidden_size);
  const std::uint64_t T = in.lora ? u(lora_trainable_parameters(in.model, *in.lora)) : 0;
  const std::uint64_t trained = in.lora ? T : P;
  // With LoRA the reference is the frozen base with the adapters off, scored through the policy's own
  // buffers: no second copy, no second set of activations or logits.
  const bool separate_reference = in.reference && !in.lora;
  const bool bf16_reference = separate_reference && in.reference_dtype == ReferenceDtype::bf16;
  const std::uint64_t tokens = u(in.micro_batch_sequences) * u(in.sequence_tokens);
  const std::string batch_knob = "'trainer.micro_batch_sequences' (" + std::to_string(in.micro_batch_sequences) + " x " +
                                 std::to_string(in.sequence_tokens) + " tokens)";
  const std::string lora_knob = in.lora ? "'lora.r' (" + std::to_string(in.lora->r) + ") or 'lora.target_modules'"
                                        : "'lora' (adapters: no gradient or optimizer state for the base)";
  MemoryPlan plan;
  plan.terms.push_back({"weights", P * kFloat, "a smaller --model"});
  if (in.lora) plan.terms.push_back({"LoRA adapters", T * kFloat, lora_knob});
  plan.terms.push_back({"gradients", trained * kFloat, in.lora ? lora_knob : "a smaller --model, or " + lora_knob});
  plan.terms.push_back({"optimizer state", u(in.optimizer_slots) * trained * kFloat,
                        in.lora ? lora_knob : "'optimizer' (AdamW keeps 2 floats a parameter), or " + lora_knob});
  if (separate_reference) {
    const std::uint64_t bytes = bf16_reference ? P * kBf16 + u(decoder_layer_parameters(in.model)) * kFloat +
                                                     std::min(V, u(kReferenceHeadChunkRows)) * D * kFloat
                                               : P * kFloat;
    plan.terms.push_back({"KL reference", bytes,
                          bf16_reference ? "'objective.beta' = 0 (no reference), or 'lora' (the base is the reference)"
                                         : "'reference_dtype: bf16', 'objective.beta' = 0 (no reference), or 'lora'"});
  }
  plan.terms.push_back(
      {"activations",
       tokens * u(activation_floats_per_token(in.model, in.gradient_checkpointing, in.lora)) * kFloat,
       in.gradient_checkpointing ? batch_knob : batch_knob + ", or 'gradient_checkpointing: true'"});
  if (separate_reference)
    plan.terms.push_back(
        {"reference activations", tokens * u(reference_activation_floats_per_token(in.model)) * kFloat, batch_knob});
  const std::uint64_t logit_rows = std::max<std::uint64_t>(1, std::min<std::uint64_t>(tokens, u(in.logits_budget) / V));
  const std::uint64_t models = separate_reference ? 2 : 1;  // the reference scores the same micro-batches
  plan.terms.push_back({"training logits",
                        models * logit_rows * V * kFloat +
                            (bf16_reference ? logit_rows * std::min(V, u(kReferenceHeadChunkRows)) * kFloat : 0),
                        "'trainer.micro_batch_sequences'"});
  if (in.sampler_sequences > 0) {
    const auto slots = u(in.sampler_sequences);
    const auto positions = u(in.prompt_tokens + in.max_new_tokens);
    const auto kv_width = u(in.model.num_key_value_heads * in.model.head_dim());
    plan.terms.push_back({"sampler KV cache", u(in.model.num_hidden_layers) * slots * 2 * positions * kv_width * kFloat,
                          "'sampling.max_batch_sequences' or 'sampling.max_new_tokens' (" + std::to_string(slots) +
                              " sequences x " + std::to_string(positions) + " positions)"});
    plan.terms.push_back({"sampler logits", slots * V * kFloat + u(std::max(in.sampling_threads, 1)) * V * 13,
                          "'sampling.max_batch_sequences'"});
    const auto prefill_tokens = u(std::max<std::int64_t>(in.sampler_prompts, 1)) * u(in.prompt_tokens);
    plan.terms.push_back({"prefill scratch", prefill_tokens * u(prefill_floats_per_token(in.model)) * kFloat,
                          "'sampling.max_batch_sequences'"});
    // BasicTransformer::set_sampling_storage: the bf16 copy (2 bytes a parameter), and the prefill's widened
    // block of one matrix (at most max(2F, 16384) rows of D, or the down projection's D x F).
    if (in.sampling_bf16) {
      const std::uint64_t F = u(in.model.intermediate_size);
      const std::uint64_t widened = std::max({std::min(V, u(kReferenceHeadChunkRows)) * D, 2 * F * D, D * F});
      plan.terms.push_back({"sampling weights (bf16)", P * kBf16 + widened * kFloat, "'sampling_weights': \"fp32\""});
    }
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
