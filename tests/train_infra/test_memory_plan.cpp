// The memory plan (issue 22): every term against a value computed by hand for a small config and for the
// Qwen2.5-0.5B shape (full fine-tuning with a bf16 reference and gradient checkpointing; LoRA), and the
// refusal names the knob of the largest term.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "r1/core/error.hpp"
#include "r1/train/memory_plan.hpp"

namespace {

// D 8, F 12, L 2, 2 heads of 4 on 1 KV head, V 100.
r1::MemoryPlanInputs small_inputs() {
  r1::MemoryPlanInputs in;
  in.model.model_type = "llama";
  in.model.vocab_size = 100;
  in.model.hidden_size = 8;
  in.model.intermediate_size = 12;
  in.model.num_hidden_layers = 2;
  in.model.num_attention_heads = 2;
  in.model.num_key_value_heads = 1;
  in.model.max_position_embeddings = 4096;  // must not enter the KV cache
  in.parameters = 1000;
  in.optimizer_slots = 2;
  in.reference = true;
  in.micro_batch_sequences = 3;
  in.sequence_tokens = 10;
  in.logits_budget = 1000;  // 10 rows of 100 logits
  in.sampler_sequences = 4;
  in.sampler_prompts = 2;
  in.prompt_tokens = 6;
  in.max_new_tokens = 4;
  in.sampling_threads = 2;
  return in;
}

std::uint64_t term(const r1::MemoryPlan& plan, const char* name) {
  const r1::MemoryTerm* found = plan.find(name);
  REQUIRE_MESSAGE(found != nullptr, name);
  return found->bytes;
}

}  // namespace

TEST_CASE("each term of the memory plan equals its hand-computed size") {
  // Widths: A = 2 x 4 = 8, QKV = 8 + 2 x 1 x 4 = 16, H = 2.
  // Per layer: resid 8 + xn1 8 + rstd1 1 + qkv 16 + attn 8 + lse 2 + mid 8 + xn2 8 + rstd2 1 + gate_up 24
  //   + act 12 = 96; x 2 layers = 192; + final residual 8 = 200; + final rows (in 8, normed 8, rstd 1,
  //   logprob/entropy/normaliser 3) 20 = 220; + gradients (d_x 8, d_normed 8, d_act 12, d_gate_up 24,
  //   d_attn 8, d_qkv 16, d_final_normed 8, d_final_in 8) 92 = 312 floats a token.
  CHECK(r1::activation_floats_per_token(small_inputs().model) == 312);
  // Prefill: x 8 + normed 8 + rstd 1 + qkv 16 + attn 8 + lse 2 + gate_up 24 + act 12 = 79.
  CHECK(r1::prefill_floats_per_token(small_inputs().model) == 79);

  const r1::MemoryPlan plan = r1::plan_memory(small_inputs());
  CHECK(term(plan, "weights") == 1000 * 4);
  CHECK(term(plan, "gradients") == 1000 * 4);
  CHECK(term(plan, "optimizer state") == 2 * 1000 * 4);
  CHECK(term(plan, "KL reference") == 1000 * 4);                    // fp32 weights, no gradient buffer
  CHECK(term(plan, "activations") == (3 * 10) * 312 * 4);            // the policy's, 30 tokens
  // The frozen reference keeps one layer: resid 3 x 8 = 24 + one layer's 96 - 8 = 88 + final rows 20 = 132.
  CHECK(r1::reference_activation_floats_per_token(small_inputs().model) == 132);
  CHECK(term(plan, "reference activations") == (3 * 10) * 132 * 4);
  CHECK(term(plan, "training logits") == 2 * 10 * 100 * 4);          // min(30 tokens, 1000 / 100) rows each
  CHECK(term(plan, "sampler KV cache") == 2 * 4 * 2 * (6 + 4) * 4 * 4);  // L x slots x K,V x positions x kv_width
  CHECK(term(plan, "sampler logits") == 4 * 100 * 4 + 2 * 100 * 13);
  CHECK(term(plan, "prefill scratch") == (2 * 6) * 79 * 4);
  CHECK(plan.find("LoRA adapters") == nullptr);
  CHECK(plan.total_bytes() == 4000 + 4000 + 8000 + 4000 + 37440 + 15840 + 8000 + 2560 + 4200 + 3792);
  CHECK(plan.table().find("sampler KV cache") != std::string::npos);

  // No reference, no sampler (SFT): those terms go, activations and logits for one model.
  auto sft = small_inputs();
  sft.reference = false;
  sft.sampler_sequences = 0;
  const r1::MemoryPlan sft_plan = r1::plan_memory(sft);
  CHECK(sft_plan.find("KL reference") == nullptr);
  CHECK(sft_plan.find("reference activations") == nullptr);
  CHECK(sft_plan.find("sampler KV cache") == nullptr);
  CHECK(term(sft_plan, "activations") == 30 * 312 * 4);
  CHECK(term(sft_plan, "training logits") == 10 * 100 * 4);
}

TEST_CASE("bf16 reference, gradient checkpointing and LoRA on the small config") {
  // One decoder layer's parameters: input norm 8 + qkv 16 x 8 = 128 + o 8 x 8 = 64 + post norm 8
  //   + gate/up 24 x 8 = 192 + down 8 x 12 = 96 = 496 (no attention bias).
  CHECK(r1::decoder_layer_parameters(small_inputs().model) == 496);
  auto bf16 = small_inputs();
  bf16.reference_dtype = r1::ReferenceDtype::bf16;
  const r1::MemoryPlan bf16_plan = r1::plan_memory(bf16);
  // 2 bytes x 1000 + the one-layer scratch 496 x 4 + the head chunk min(100, 16384) x 8 x 4.
  CHECK(term(bf16_plan, "KL reference") == 2000 + 1984 + 3200);
  // Both models' 10 x 100 logits + the 10 rows x min(100, 16384) of one widened head chunk.
  CHECK(term(bf16_plan, "training logits") == 2 * 10 * 100 * 4 + 10 * 100 * 4);
  CHECK(bf16_plan.find("KL reference")->knob.find("reference_dtype") == std::string::npos);  // already turned
  CHECK(r1::plan_memory(small_inputs()).find("KL reference")->knob.find("'reference_dtype: bf16'") != std::string::npos);

  // Checkpointing: resid 24 + one layer's 88 + final rows 20 + gradients 92 = 224 (not 312).
  CHECK(r1::activation_floats_per_token(small_inputs().model, true) == 224);
  auto checkpointed = small_inputs();
  checkpointed.gradient_checkpointing = true;
  CHECK(term(r1::plan_memory(checkpointed), "activations") == 30 * 224 * 4);
  CHECK(r1::plan_memory(small_inputs()).find("activations")->knob.find("'gradient_checkpointing: true'") != std::string::npos);
  CHECK(r1::plan_memory(checkpointed).find("activations")->knob.find("gradient_checkpointing") == std::string::npos);

  // LoRA r = 2 on q (8 -> 8) and v (8 -> 4): 2 x (8 + 8) + 2 x (8 + 4) = 56 a layer, 112 over 2 layers.
  auto lora = small_inputs();
  lora.lora = r1::LoraConfig{};
  lora.lora->r = 2;
  lora.lora->target_modules = {r1::LoraTarget::q_proj, r1::LoraTarget::v_proj};
  CHECK(r1::lora_trainable_parameters(lora.model, *lora.lora) == 112);
  // Each layer adds r = 2 floats (x·Aᵀ) per target: 312 + 2 layers x 2 targets x 2 = 320.
  CHECK(r1::activation_floats_per_token(lora.model, false, lora.lora) == 320);
  const r1::MemoryPlan lora_plan = r1::plan_memory(lora);
  CHECK(term(lora_plan, "weights") == 1000 * 4);
  CHECK(term(lora_plan, "LoRA adapters") == 112 * 4);
  CHECK(term(lora_plan, "gradients") == 112 * 4);         // the frozen base has none
  CHECK(term(lora_plan, "optimizer state") == 2 * 112 * 4);
  CHECK(lora_plan.find("KL reference") == nullptr);       // the frozen base is the reference
  CHECK(lora_plan.find("reference activations") == nullptr);
  CHECK(term(lora_plan, "activations") == 30 * 320 * 4);
  CHECK(term(lora_plan, "training logits") == 10 * 100 * 4);  // one model scores
  CHECK(lora_plan.find("gradients")->knob.find("'lora.r' (2)") != std::string::npos);
  lora.lora->r = 0;
  CHECK_THROWS_WITH_AS(r1::plan_memory(lora), doctest::Contains("plan_memory: lora: field 'r'"), r1::Error);
}

TEST_CASE("the plan at the Qwen2.5-0.5B shape, worked by hand") {
  // Qwen2.5-0.5B's config.json: D 896, L 24, 14 heads of 64 on 2 KV heads (A 896, KV width 128, QKV 1152),
  // F 4864, V 151,936, tied head, q/k/v biases.
  r1::MemoryPlanInputs in;
  in.model.model_type = "qwen2";
  in.model.vocab_size = 151936;
  in.model.hidden_size = 896;
  in.model.intermediate_size = 4864;
  in.model.num_hidden_layers = 24;
  in.model.num_attention_heads = 14;
  in.model.num_key_value_heads = 2;
  in.model.tie_word_embeddings = true;
  in.model.attention_bias = true;
  in.model.validate("Qwen2.5-0.5B");
  // One layer: norms 2 x 896 = 1,792 + qkv 1152 x 896 = 1,032,192 + qkv bias 1,152 + o 896 x 896 = 802,816
  //   + gate/up 9728 x 896 = 8,716,288 + down 896 x 4864 = 4,358,144 = 14,912,384.
  // P = 24 x 14,912,384 = 357,897,216 + embedding (tied head) 151,936 x 896 = 136,134,656 + final norm 896
  //   = 494,032,768, Qwen2.5-0.5B's parameter count.
  CHECK(r1::decoder_layer_parameters(in.model) == 14'912'384);
  CHECK(24 * r1::decoder_layer_parameters(in.model) + 151936 * 896 + 896 == 494'032'768);
  in.parameters = 494'032'768;
  in.optimizer_slots = 2;  // AdamW
  in.reference = true;
  in.reference_dtype = r1::ReferenceDtype::bf16;
  in.gradient_checkpointing = true;
  in.micro_batch_sequences = 2;
  in.sequence_tokens = 512;         // 1,024 tokens
  in.logits_budget = 1 << 25;       // rows = min(1024, 33,554,432 / 151,936 = 220) = 220

  // Activations per token. One layer (besides its residual input): xn1 896 + rstd1 1 + qkv 1152 + attn 896
  //   + lse 14 + mid 896 + xn2 896 + rstd2 1 + gate/up 9728 + act 4864 = 19,344. Residual stream 25 x 896
  //   = 22,400; final rows 896 + 896 + 1 + 3 = 1,796; gradients d_x 896 + d_normed 896 + d_act 4864
  //   + d_gate_up 9728 + d_attn 896 + d_qkv 1152 + d_final_normed 896 + d_final_in 896 = 20,224.
  //   All layers kept: 22,400 + 24 x 19,344 + 1,796 + 20,224 = 508,676; checkpointed: 22,400 + 19,344
  //   + 1,796 + 20,224 = 63,764; the frozen reference: 22,400 + 19,344 + 1,796 = 43,540.
  CHECK(r1::activation_floats_per_token(in.model) == 508'676);
  CHECK(r1::activation_floats_per_token(in.model, true) == 63'764);
  CHECK(r1::reference_activation_floats_per_token(in.model) == 43'540);

  // Full fine-tuning.
  const r1::MemoryPlan full = r1::plan_memory(in);
  CHECK(term(full, "weights") == 1'976'131'072);          // 4 x 494,032,768
  CHECK(term(full, "gradients") == 1'976'131'072);        // 4 x P
  CHECK(term(full, "optimizer state") == 3'952'262'144);  // AdamW: 2 x 4 x P
  // bf16 reference: 2 x P = 988,065,536 + layer scratch 4 x 14,912,384 = 59,649,536 + head chunk
  //   16,384 x 896 x 4 = 58,720,256 = 1,106,435,328 (an fp32 one: 1,976,131,072, no gradient buffer).
  CHECK(term(full, "KL reference") == 1'106'435'328);
  CHECK(term(full, "activations") == 261'177'344);            // 1,024 x 63,764 x 4
  CHECK(term(full, "reference activations") == 178'339'840);  // 1,024 x 43,540 x 4
  // Policy and reference: 2 x 220 x 151,936 x 4 = 267,407,360 + one head chunk's logits 220 x 16,384 x 4
  //   = 14,417,920.
  CHECK(term(full, "training logits") == 281'825'280);
  auto fp32_reference = in;
  fp32_reference.reference_dtype = r1::ReferenceDtype::fp32;
  CHECK(term(r1::plan_memory(fp32_reference), "KL reference") == 1'976'131'072);

  // LoRA r = 16 on all seven projections, per layer r x (in + out): q 16 x (896 + 896) = 28,672,
  //   k 16 x (896 + 128) = 16,384, v 16,384, o 28,672, gate 16 x (896 + 4864) = 92,160, up 92,160,
  //   down 16 x (4864 + 896) = 92,160; sum 366,592; x 24 layers = 8,798,208 (what PEFT's
  //   print_trainable_parameters reports for Qwen2.5-0.5B at r = 16, all-linear).
  auto lora = in;
  lora.lora = r1::LoraConfig{};
  lora.lora->r = 16;
  lora.lora->target_modules = r1::all_lora_targets();
  CHECK(r1::lora_trainable_parameters(lora.model, *lora.lora) == 8'798'208);
  const r1::MemoryPlan adapters = r1::plan_memory(lora);
  CHECK(term(adapters, "weights") == 1'976'131'072);      // the frozen base, fp32
  CHECK(term(adapters, "LoRA adapters") == 35'192'832);   // 4 x 8,798,208
  CHECK(term(adapters, "gradients") == 35'192'832);
  CHECK(term(adapters, "optimizer state") == 70'385'664);  // 2 x 4 x 8,798,208
  CHECK(adapters.find("KL reference") == nullptr);
  // Checkpointed, one layer of activations plus x·Aᵀ: 63,764 + 7 targets x 16 = 63,876 floats a token.
  CHECK(term(adapters, "activations") == 261'636'096);      // 1,024 x 63,876 x 4
  CHECK(term(adapters, "training logits") == 133'703'680);  // 220 x 151,936 x 4, the policy's only

  // Sampling from bf16 weights: 2 x P = 988,065,536 + the largest widened block, max(16,384 x 896 =
  //   14,680,064, gate/up 9,728 x 896 = 8,716,288, down 896 x 4,864 = 4,358,144) x 4 = 58,720,256.
  auto sampler = in;
  sampler.sampler_sequences = 8;
  sampler.sampler_prompts = 2;
  sampler.prompt_tokens = 100;
  sampler.max_new_tokens = 412;
  CHECK(r1::plan_memory(sampler).find("sampling weights (bf16)") == nullptr);
  sampler.sampling_bf16 = true;
  CHECK(term(r1::plan_memory(sampler), "sampling weights (bf16)") == 1'046'785'792);
}

TEST_CASE("a plan over the limit is refused naming the largest term's knob") {
  auto in = small_inputs();
  in.micro_batch_sequences = 64;  // activations: 640 x 312 x 4 = 0.8 MB, the largest term
  const r1::MemoryPlan plan = r1::plan_memory(in);
  CHECK_NOTHROW(r1::require_memory_fits(plan, plan.total_bytes(), "r1 grpo", "--memory-limit"));
  CHECK_NOTHROW(r1::require_memory_fits(plan, 0, "r1 grpo", "MemAvailable"));  // unknown: no check
  CHECK_THROWS_WITH_AS(r1::require_memory_fits(plan, 1'000'000, "r1 grpo", "--memory-limit"),
                       doctest::Contains("r1 grpo: the run does not fit in memory"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::require_memory_fits(plan, 1'000'000, "r1 grpo", "--memory-limit"),
                       doctest::Contains("the largest term is activations"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::require_memory_fits(plan, 1'000'000, "r1 grpo", "--memory-limit"),
                       doctest::Contains("turn 'trainer.micro_batch_sequences' (64 x 10 tokens)"), r1::Error);

  in.micro_batch_sequences = 1;
  in.sampler_sequences = 4096;  // now the KV cache (2 x 4096 x 2 x 10 x 4 x 4 = 2.6 MB) dominates
  CHECK_THROWS_WITH_AS(r1::require_memory_fits(r1::plan_memory(in), 100'000, "r1 grpo", "--memory-limit"),
                       doctest::Contains("the largest term is sampler KV cache (0.00 GB): turn 'sampling.max_batch_sequences' "
                                         "or 'sampling.max_new_tokens' (4096 sequences x 10 positions)"),
                       r1::Error);
}

TEST_CASE("MemAvailable is read from a meminfo file") {
  CHECK(r1::available_memory_bytes("/nonexistent/meminfo") == 0);
  CHECK(r1::available_memory_bytes() > 0);  // Linux: /proc/meminfo
}
