// The memory plan (issue 22): every term against a value computed by hand for a small config, and the
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
  CHECK(term(plan, "KL reference") == 2 * 1000 * 4);                // its weights and its gradient buffer
  CHECK(term(plan, "activations") == 2 * (3 * 10) * 312 * 4);        // policy and reference, 30 tokens
  CHECK(term(plan, "training logits") == 2 * 10 * 100 * 4);          // min(30 tokens, 1000 / 100) rows each
  CHECK(term(plan, "sampler KV cache") == 2 * 4 * 2 * (6 + 4) * 4 * 4);  // L x slots x K,V x positions x kv_width
  CHECK(term(plan, "sampler logits") == 4 * 100 * 4 + 2 * 100 * 13);
  CHECK(term(plan, "prefill scratch") == (2 * 6) * 79 * 4);
  CHECK(plan.total_bytes() == 4000 + 4000 + 8000 + 8000 + 74880 + 8000 + 2560 + 4200 + 3792);
  CHECK(plan.table().find("sampler KV cache") != std::string::npos);

  // No reference, no sampler (SFT): those terms go, activations and logits for one model.
  auto sft = small_inputs();
  sft.reference = false;
  sft.sampler_sequences = 0;
  const r1::MemoryPlan sft_plan = r1::plan_memory(sft);
  CHECK(sft_plan.find("KL reference") == nullptr);
  CHECK(sft_plan.find("sampler KV cache") == nullptr);
  CHECK(term(sft_plan, "activations") == 30 * 312 * 4);
  CHECK(term(sft_plan, "training logits") == 10 * 100 * 4);
}

TEST_CASE("a plan over the limit is refused naming the largest term's knob") {
  auto in = small_inputs();
  in.micro_batch_sequences = 64;  // activations: 2 x 640 x 312 x 4 = 1.6 MB, the largest term
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
