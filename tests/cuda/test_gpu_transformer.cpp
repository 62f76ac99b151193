// Transformer<cuda> against Transformer<cpu>, in lockstep from the same weights, one
// stage at a time (as RLtools' CPU/GPU lockstep test): per-token log-probs and
// entropies; then gradients; then a parameter update on the host, picked up by the
// next score; then prefill, copy_slot and decode logits. The GPU model runs in fp32
// storage here (CudaTransformer<float>), so both sides differ only by rounding.
//
// Tolerance: each side is a chain of about 20 fp32 ops from the embedding to the
// log-softmax (8 per layer x 2 layers, final norm, LM head, log-softmax), each with
// a reduction of at most n = 97 terms (vocabulary; D = 64, F = 96, A = H E <= 96, T <= 33),
// so relative error gamma_n <= 97 u = 5.8e-6 per op. At this initialisation (std
// 0.1, weight matrices of norm ~0.8) the layers neither blow up nor shrink values
// by more than the norms' and softmax's conditioning, at most ~8 here. Two sides x
// 20 ops x 5.8e-6 x 8 = 1.9e-3 relative to the log-probs' scale (1 + |value|).
// The backward doubles the chain: 4e-3 normwise on each gradient tensor.
// (The CPU model's RoPE angles are fp32 products, ~2 u * position = 4e-6 rad off at
// position 32: below the budget.)
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/concepts.hpp"
#include "r1/cuda/transformer.hpp"

static_assert(r1::Model<r1::Transformer<r1::cuda>>, "Transformer<cuda> must satisfy r1::Model");
static_assert(r1::Model<r1::gpu::CudaTransformer<float>>);

namespace {

r1::ModelConfig tiny_qwen2() {
  r1::ModelConfig config;
  config.model_type = "qwen2";
  config.vocab_size = 97;
  config.hidden_size = 64;
  config.intermediate_size = 96;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.tie_word_embeddings = true;
  config.attention_bias = true;
  return config;
}

r1::TokenBatch random_batch(const std::vector<int>& lengths, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> token(0, vocab - 1);
  r1::TokenBatch batch;
  int first_scored = 1;
  for (const int length : lengths) {
    std::vector<r1::TokenId> sequence(static_cast<std::size_t>(length));
    for (auto& t : sequence) t = token(rng);
    batch.push_back(sequence, first_scored);
    first_scored = 3;  // later sequences: a 3-token "prompt" is not scored
  }
  return batch;
}

void check_scores_agree(const r1::TokenScores& gpu, const r1::TokenScores& cpu, double tolerance) {
  REQUIRE(gpu.logprobs.size() == cpu.logprobs.size());
  for (std::size_t i = 0; i < cpu.logprobs.size(); ++i) {
    INFO("token ", i);
    CHECK(std::abs(gpu.logprobs[i] - cpu.logprobs[i]) <= tolerance * (1 + std::abs(cpu.logprobs[i])));
    CHECK(std::abs(gpu.entropies[i] - cpu.entropies[i]) <= tolerance * (1 + std::abs(cpu.entropies[i])));
  }
}

// HF "head_dim" other than hidden_size / num_attention_heads = 16: q_proj (H E, 64), o_proj (64, H E).
r1::ModelConfig tiny_qwen2_head_dim(std::int64_t head_dim) {
  r1::ModelConfig config = tiny_qwen2();
  config.explicit_head_dim = head_dim;
  return config;
}

void check_lockstep(const r1::ModelConfig& config) {
  r1::Transformer<r1::cpu> cpu(config);
  cpu.init_random(7, 0.1f);
  r1::gpu::CudaTransformer<float> gpu(cpu);
  const auto batch = random_batch({5, 17, 33}, int(config.vocab_size), 3);  // attention tile edges
  const float temperature = 0.7f;
  constexpr double forward_tolerance = 1.9e-3, backward_tolerance = 4e-3;

  // Stage 1: log-probs and entropies.
  r1::TokenScores cpu_scores, gpu_scores;
  cpu.score(batch, temperature, cpu_scores);
  gpu.score(batch, temperature, gpu_scores);
  check_scores_agree(gpu_scores, cpu_scores, forward_tolerance);

  // Stage 2: gradients of sum_i a_i logprob_i + b_i entropy_i.
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> d_logprobs(batch.total_tokens()), d_entropies(batch.total_tokens());
  for (auto& v : d_logprobs) v = normal(rng);
  for (auto& v : d_entropies) v = 0.1f * normal(rng);
  cpu.zero_grad();
  gpu.zero_grad();
  cpu.backward(batch, d_logprobs, d_entropies);
  gpu.backward(batch, d_logprobs, d_entropies);
  const auto cpu_params = cpu.parameters();
  const auto gpu_params = gpu.parameters();
  REQUIRE(cpu_params.size() == gpu_params.size());
  for (std::size_t t = 0; t < cpu_params.size(); ++t) {
    INFO(cpu_params[t].name);
    REQUIRE(cpu_params[t].name == gpu_params[t].name);
    double diff = 0, norm = 0;
    for (std::size_t k = 0; k < cpu_params[t].grad.size(); ++k) {
      diff += std::pow(double(gpu_params[t].grad[k]) - cpu_params[t].grad[k], 2);
      norm += std::pow(double(cpu_params[t].grad[k]), 2);
    }
    CHECK(std::sqrt(diff) <= backward_tolerance * std::sqrt(norm) + 1e-12);
  }

  // Stage 3: the same update on both hosts' parameters; the GPU picks it up at the next score.
  for (std::size_t t = 0; t < cpu_params.size(); ++t)
    for (std::size_t k = 0; k < cpu_params[t].value.size(); ++k) {
      cpu_params[t].value[k] -= 0.05f * cpu_params[t].grad[k];
      gpu_params[t].value[k] -= 0.05f * cpu_params[t].grad[k];
    }
  cpu.score(batch, temperature, cpu_scores);
  gpu.score(batch, temperature, gpu_scores);
  check_scores_agree(gpu_scores, cpu_scores, forward_tolerance);

  // Stage 4: inference. Prefill two prompts, share slot 0's prefill with slot 2, decode three steps.
  auto cpu_cache = cpu.make_cache(4, 48);
  auto gpu_cache = gpu.make_cache(4, 48);
  const auto prompts = random_batch({9, 33}, int(config.vocab_size), 5);
  const std::vector<std::int32_t> prompt_slots{0, 1};
  const auto V = static_cast<std::size_t>(config.vocab_size);
  std::vector<float> cpu_logits(2 * V), gpu_logits(2 * V);
  cpu.prefill(cpu_cache, prompt_slots, prompts, cpu_logits);
  gpu.prefill(gpu_cache, prompt_slots, prompts, gpu_logits);
  auto check_logits = [&](const char* stage) {
    INFO(stage);
    for (std::size_t i = 0; i < cpu_logits.size(); ++i)
      CHECK(std::abs(gpu_logits[i] - cpu_logits[i]) <= forward_tolerance * (1 + std::abs(cpu_logits[i])));
  };
  check_logits("prefill");
  cpu.copy_slot(cpu_cache, 0, 2);
  gpu.copy_slot(gpu_cache, 0, 2);
  const std::vector<std::int32_t> slots{0, 1, 2};
  cpu_logits.resize(3 * V);
  gpu_logits.resize(3 * V);
  for (int step = 0; step < 3; ++step) {
    const std::vector<r1::TokenId> tokens{step + 1, 2 * step + 5, 40 - step};
    cpu.decode(cpu_cache, slots, tokens, cpu_logits);
    gpu.decode(gpu_cache, slots, tokens, gpu_logits);
    check_logits("decode");
  }
  CHECK(gpu_cache.length(2) == 9 + 3);
  CHECK_THROWS_AS(gpu.backward(batch, d_logprobs, d_entropies), r1::Error);  // inference ran since score
}

}  // namespace

TEST_CASE("Transformer<cuda> (fp32 storage) stays in lockstep with Transformer<cpu>") {
  SUBCASE("head_dim = hidden_size / num_attention_heads = 16") { check_lockstep(tiny_qwen2()); }
  // H E = 96 still keeps every reduction within the n = 97 terms of the tolerance derivation above.
  SUBCASE("head_dim 24: heads wider than hidden (4 x 24 on 64)") { check_lockstep(tiny_qwen2_head_dim(24)); }
  SUBCASE("head_dim 8: heads narrower than hidden (4 x 8 on 64)") { check_lockstep(tiny_qwen2_head_dim(8)); }
}

TEST_CASE("Transformer<cuda> (bf16) runs a score/backward/decode round and rejects bad input") {
  const auto config = tiny_qwen2();
  r1::Transformer<r1::cuda> model(config);
  model.host().init_random(9, 0.3f);  // larger weights: log-probs spread over several nats
  const auto batch = random_batch({4, 20}, int(config.vocab_size), 8);
  r1::TokenScores scores;
  model.score(batch, 1.0f, scores);
  r1::Transformer<r1::cpu> reference = model.host();
  r1::TokenScores expected;
  reference.score(batch, 1.0f, expected);
  // bf16 storage rounds each stored activation by up to 2^-8 relative, roughly uniformly:
  // RMS 2^-8 / sqrt(3) = 2.3e-3 per rounding, independent across the ~20 ops of the chain
  // (see above), sqrt(20) x 2.3e-3 = 0.010, times the conditioning of ~8: 0.08 of the
  // log-probs' spread across tokens (RMS of log p - mean). A layout or indexing error
  // decorrelates the two sides and gives an RMS difference of about sqrt(2) spreads.
  double mean = 0;
  int scored = 0;
  for (std::size_t i = 0; i < expected.logprobs.size(); ++i)
    if (expected.logprobs[i] != 0) mean += expected.logprobs[i], ++scored;
  mean /= scored;
  double spread = 0, difference = 0;
  for (std::size_t i = 0; i < expected.logprobs.size(); ++i) {
    if (expected.logprobs[i] == 0) continue;
    spread += std::pow(expected.logprobs[i] - mean, 2);
    difference += std::pow(double(scores.logprobs[i]) - expected.logprobs[i], 2);
  }
  CHECK(std::sqrt(difference / scored) <= 0.08 * std::sqrt(spread / scored));
  std::vector<float> ones(batch.total_tokens(), 1.0f);
  model.zero_grad();
  model.backward(batch, ones, {});
  double norm = 0;
  for (const auto& p : model.parameters())
    for (float g : p.grad) norm += double(g) * g;
  CHECK(std::isfinite(norm));
  CHECK(norm > 0);
  r1::TokenBatch bad;
  bad.push_back(std::vector<r1::TokenId>{1, 200});
  CHECK_THROWS_AS(model.score(bad, 1.0f, scores), r1::Error);
  CHECK_THROWS_AS(model.score(batch, 0.0f, scores), r1::Error);
  auto cache = model.make_cache(2, 8);
  std::vector<float> logits(2 * std::size_t(config.vocab_size));
  const std::vector<std::int32_t> twice{0, 0};
  CHECK_THROWS_AS(model.prefill(cache, twice, batch, logits), r1::Error);
}
