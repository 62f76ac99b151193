// Transformer<cuda> against Transformer<cpu>, in lockstep from the same weights, one
// stage at a time (as RLtools' CPU/GPU lockstep test): per-token log-probs and
// entropies; gradients accumulated over two micro-batches; the clipped global norm;
// three optimizer steps (gpu::CudaAdamW on the device against r1::AdamW on the host);
// then prefill, copy_slot and decode logits. The GPU model runs in fp32 storage here
// (CudaTransformer<float>), so both sides differ only by fp32 rounding; the bf16 model
// is checked against the CPU model statistically further down.
//
// Tolerances, from fp32's unit roundoff u = 2^-24 and the accumulation lengths.
// Shapes: D = 128, F = 256, V = 256, A = H E <= 256, sequences up to T = 520 tokens, so
// every reduction (dot products, softmax sums, attention over keys) has at most
// n = 520 terms and costs at most gamma_n = n u = 3.1e-5 relative per op (Higham,
// "Accuracy and Stability of Numerical Algorithms", 2nd ed., eq. 3.4). The chain from the
// embedding to a log-prob has 10 such ops per layer (norm, qkv, rope, Q.K, softmax, P.V,
// o_proj, norm, gate_up/swiglu, down) x 2 layers + final norm, LM head, log-softmax = 23.
// At this initialisation (std 0.1) each op's conditioning is at most kappa = 8 (the norms'
// 1 / rms and the softmax's spread). Two sides: 2 x 23 x 3.1e-5 x 8 = 1.14e-2, plus the
// CPU's fp32 RoPE angles (2 u x position 520 = 6.2e-5 rad, x kappa = 5e-4): 1.2e-2 of
// (1 + |value|) for log-probs, entropies and logits. The backward doubles the chain:
// 2.4e-2 normwise per gradient tensor, and for the global norm.
// After optimizer steps the two sides' parameters also differ (measured each step and
// checked against the bound below); a relative parameter difference d moves each op's
// output by at most kappa d, so the stage tolerances grow by kappa x max d.
// The optimizer runs with eps = 1 (a valid AdamW setting that makes the update
// Lipschitz): update = lr m_hat / (sqrt(v_hat) + 1) has d/dm_hat <= lr and
// d/dsqrt(v_hat) <= lr |m_hat|, and both m_hat and sqrt(v_hat) move by at most
// max_t |dg_t| (a normalised weighted mean of g, and a weighted RMS of g), so per tensor
//   ||dtheta_k|| <= (1 + lr wd) ||dtheta_{k-1}|| + lr (1 + G) ||max_t |dg_t| ||
//                   + 8 u ||theta|| + 16 u lr G sqrt(size)      (both sides' update roundings)
// with G the largest |g| seen and dg the measured difference of the clipped gradients.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/concepts.hpp"
#include "r1/cuda/cuda_adamw.hpp"
#include "r1/cuda/math/bf16.hpp"
#include "r1/cuda/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/rl/grpo_objective.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/grpo_trainer.hpp"
#include "r1/train/sft_trainer.hpp"
#include "../train/tiny_setup.hpp"

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

r1::ModelConfig lockstep_config(std::int64_t head_dim) {
  r1::ModelConfig config = tiny_qwen2();
  config.vocab_size = 256;
  config.hidden_size = 128;
  config.intermediate_size = 256;
  config.num_attention_heads = 2;
  config.num_key_value_heads = 1;
  config.explicit_head_dim = head_dim;
  return config;
}

// Per tensor: ||a - b|| and ||b|| over the flat layout of `tensors`.
struct TensorDifference {
  double difference = 0, norm = 0;
};
std::vector<TensorDifference> differences(const std::vector<r1::ParameterTensor>& tensors, std::span<const float> a,
                                          std::span<const float> b) {
  std::vector<TensorDifference> out;
  for (const auto& t : tensors) {
    TensorDifference d;
    for (std::int64_t k = t.offset; k < t.offset + t.size; ++k) {
      d.difference += std::pow(double(a[std::size_t(k)]) - b[std::size_t(k)], 2);
      d.norm += std::pow(double(b[std::size_t(k)]), 2);
    }
    d.difference = std::sqrt(d.difference);
    d.norm = std::sqrt(d.norm);
    out.push_back(d);
  }
  return out;
}

void check_lockstep(const r1::ModelConfig& config) {
  r1::Transformer<r1::cpu> cpu(config);
  cpu.init_random(7, 0.1f);
  r1::gpu::CudaTransformer<float> gpu(cpu);
  gpu.set_head_chunk_rows(100);  // the fused LM head in 6 chunks of micro-batch A's 560 rows, the last one short
  const int vocab = int(config.vocab_size);
  // Micro-batch A: a 520-token sequence and two short ones (attention tile edges); B: two more.
  const std::vector<r1::TokenBatch> micro_batches{random_batch({520, 33, 7}, vocab, 3), random_batch({9, 40}, vocab, 4)};
  const float temperature = 0.7f;
  constexpr double u = 1.0 / 16777216.0, kappa = 8;
  constexpr double forward_tolerance = 1.2e-2, backward_tolerance = 2.4e-2;
  r1::AdamWConfig optimizer_config;
  optimizer_config.lr = 1e-3f;
  optimizer_config.eps = 1.0f;  // see the derivation above
  optimizer_config.weight_decay = 0.01f;
  r1::AdamW cpu_optimizer(optimizer_config);
  r1::gpu::CudaAdamW gpu_optimizer(optimizer_config);
  const auto& tensors = cpu.tensors();
  const auto P = static_cast<std::size_t>(cpu.parameter_count());
  std::vector<double> max_gradient_difference(P, 0.0);
  std::vector<double> drift_bound(tensors.size(), 0.0);
  double largest_gradient = 0, drift = 0;  // drift: max over tensors of ||dtheta|| / ||theta||
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> d_logprobs, d_entropies;

  for (int step = 0; step < 3; ++step) {
    INFO("optimizer step ", step);
    const double forward_bound = forward_tolerance + kappa * drift, backward_bound = backward_tolerance + kappa * drift;
    // Stage 1 and 2: log-probs and entropies, then gradients of sum_i a_i logprob_i + b_i entropy_i,
    // accumulated over both micro-batches.
    cpu.zero_grad();
    gpu.zero_grad();
    for (const auto& batch : micro_batches) {
      r1::TokenScores cpu_scores, gpu_scores;
      cpu.score(batch, temperature, cpu_scores);
      gpu.score(batch, temperature, gpu_scores);
      check_scores_agree(gpu_scores, cpu_scores, forward_bound);
      std::vector<float> a(batch.total_tokens()), b(batch.total_tokens());
      for (auto& v : a) v = normal(rng);
      for (auto& v : b) v = 0.1f * normal(rng);
      cpu.backward(batch, a, b);
      gpu.backward(batch, a, b);
    }
    {
      const auto& mirror = std::as_const(gpu).host();  // read-only: the device copy stays current
      const auto grads = differences(tensors, mirror.flat_gradients(), std::as_const(cpu).flat_gradients());
      for (std::size_t t = 0; t < tensors.size(); ++t) {
        INFO(tensors[t].name);
        CHECK(grads[t].difference <= backward_bound * grads[t].norm + 1e-12);
      }
    }
    // Stage 3: the global norm, clipping at half of it (so the clip acts), on each side.
    const double cpu_norm = r1::clip_grad_norm(cpu.parameters(), 0.0);
    const double gpu_norm = clip_grad_norm(gpu.parameters(), 0.5 * cpu_norm);  // ADL: r1::gpu::clip_grad_norm
    r1::clip_grad_norm(cpu.parameters(), 0.5 * cpu_norm);
    CHECK(std::abs(gpu_norm - cpu_norm) <= backward_bound * cpu_norm);
    {
      const auto& mirror = std::as_const(gpu).host();
      const auto g_gpu = mirror.flat_gradients();
      const auto g_cpu = std::as_const(cpu).flat_gradients();
      for (std::size_t k = 0; k < P; ++k) {
        max_gradient_difference[k] = std::max(max_gradient_difference[k], std::abs(double(g_gpu[k]) - g_cpu[k]));
        largest_gradient = std::max(largest_gradient, std::abs(double(g_cpu[k])));
      }
    }
    // Stage 4: one optimizer step on each side; the parameters' difference against its bound.
    cpu_optimizer.step(cpu.parameters());
    gpu_optimizer.step(gpu.parameters());
    const auto& mirror = std::as_const(gpu).host();
    const auto params = differences(tensors, mirror.flat_parameters(), std::as_const(cpu).flat_parameters());
    const double lr = optimizer_config.lr, G = largest_gradient;
    drift = 0;
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      double spread = 0;
      for (std::int64_t k = tensors[t].offset; k < tensors[t].offset + tensors[t].size; ++k)
        spread += std::pow(max_gradient_difference[std::size_t(k)], 2);
      drift_bound[t] = (1 + lr * optimizer_config.weight_decay) * drift_bound[t] + lr * (1 + G) * std::sqrt(spread) +
                       8 * u * params[t].norm + 16 * u * lr * G * std::sqrt(double(tensors[t].size));
      INFO(tensors[t].name);
      CHECK(params[t].difference <= drift_bound[t]);
      drift = std::max(drift, params[t].difference / std::max(params[t].norm, 1e-30));
    }
    CHECK(gpu_optimizer.on_device());
  }

  // Stage 5: inference from the stepped weights. Prefill two prompts, share slot 0's prefill with
  // slot 2, decode three steps.
  const double forward_bound = forward_tolerance + kappa * drift;
  auto cpu_cache = cpu.make_cache(4, 560);
  auto gpu_cache = gpu.make_cache(4, 560);
  const auto prompts = random_batch({9, 520}, vocab, 5);
  const std::vector<std::int32_t> prompt_slots{0, 1};
  const auto V = static_cast<std::size_t>(config.vocab_size);
  std::vector<float> cpu_logits(2 * V), gpu_logits(2 * V);
  cpu.prefill(cpu_cache, prompt_slots, prompts, cpu_logits);
  gpu.prefill(gpu_cache, prompt_slots, prompts, gpu_logits);
  auto check_logits = [&](const char* stage) {
    INFO(stage);
    for (std::size_t i = 0; i < cpu_logits.size(); ++i)
      CHECK(std::abs(gpu_logits[i] - cpu_logits[i]) <= forward_bound * (1 + std::abs(cpu_logits[i])));
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
  std::vector<float> ones(micro_batches[0].total_tokens(), 1.0f);
  CHECK_THROWS_AS(gpu.backward(micro_batches[0], ones, {}), r1::Error);  // inference ran since score

  // The host mirror is writable: a host-side change is uploaded before the next score.
  r1::TokenScores before, after, expected;
  gpu.score(micro_batches[1], temperature, before);
  for (auto& p : gpu.parameters().host()) std::fill(p.value.begin(), p.value.end(), 0.0f);  // the uniform distribution
  gpu.score(micro_batches[1], temperature, after);
  for (std::size_t i = 0; i < after.logprobs.size(); ++i)
    if (before.logprobs[i] != 0) CHECK(std::abs(after.logprobs[i] + std::log(double(vocab))) <= 1e-5);
}

}  // namespace

TEST_CASE("Transformer<cuda> (fp32 storage) stays in lockstep with Transformer<cpu> through three AdamW steps") {
  SUBCASE("head_dim 64 (2 x 64 on hidden 128)") { check_lockstep(lockstep_config(64)); }
  SUBCASE("head_dim 128 (2 x 128: heads wider than hidden 128)") { check_lockstep(lockstep_config(128)); }
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
  for (const auto& p : model.parameters().host())
    for (float g : p.grad) norm += double(g) * g;
  CHECK(std::isfinite(norm));
  CHECK(norm > 0);

  // Three optimizer steps on each side, gpu::CudaAdamW on the device and r1::AdamW on the host reference,
  // with the same micro-batch gradients and clipping, eps = 1 as in the lockstep derivation at the top.
  // Then the log-probs again: the RMS bound above, plus kappa = 8 times the measured relative parameter
  // difference d (a relative change d of the weights moves each op's output by at most kappa d).
  r1::AdamWConfig optimizer_config;
  optimizer_config.lr = 1e-3f;
  optimizer_config.eps = 1.0f;
  r1::gpu::CudaAdamW gpu_optimizer(optimizer_config);
  r1::AdamW cpu_optimizer(optimizer_config);
  std::mt19937 rng(29);
  std::normal_distribution<float> normal;
  std::vector<float> d_logprobs(batch.total_tokens());
  for (int step = 0; step < 3; ++step) {
    for (auto& v : d_logprobs) v = normal(rng);
    model.zero_grad();
    reference.zero_grad();
    model.score(batch, 1.0f, scores);
    model.backward(batch, d_logprobs, {});
    reference.score(batch, 1.0f, expected);
    reference.backward(batch, d_logprobs, {});
    const double gpu_norm = clip_grad_norm(model.parameters(), 1.0);
    r1::clip_grad_norm(reference.parameters(), 1.0);
    CHECK(std::isfinite(gpu_norm));
    gpu_optimizer.step(model.parameters());
    cpu_optimizer.step(reference.parameters());
  }
  double drift = 0;
  {
    const auto got = std::as_const(model).host().flat_parameters();
    const auto want = std::as_const(reference).flat_parameters();
    for (const auto& t : reference.tensors()) {
      double difference_squares = 0, norm_squares = 0;
      for (std::int64_t k = t.offset; k < t.offset + t.size; ++k) {
        difference_squares += std::pow(double(got[std::size_t(k)]) - want[std::size_t(k)], 2);
        norm_squares += std::pow(double(want[std::size_t(k)]), 2);
      }
      drift = std::max(drift, std::sqrt(difference_squares / std::max(norm_squares, 1e-30)));
    }
  }
  model.score(batch, 1.0f, scores);
  reference.score(batch, 1.0f, expected);
  mean = 0;
  for (std::size_t i = 0; i < expected.logprobs.size(); ++i)
    if (expected.logprobs[i] != 0) mean += expected.logprobs[i];
  mean /= scored;
  spread = difference = 0;
  double scale = 0;
  for (std::size_t i = 0; i < expected.logprobs.size(); ++i) {
    if (expected.logprobs[i] == 0) continue;
    spread += std::pow(expected.logprobs[i] - mean, 2);
    difference += std::pow(double(scores.logprobs[i]) - expected.logprobs[i], 2);
    scale += std::pow(1 + std::abs(double(expected.logprobs[i])), 2);
  }
  INFO("relative parameter difference after three steps: ", drift);
  CHECK(std::sqrt(difference / scored) <= 0.08 * std::sqrt(spread / scored) + 8 * drift * std::sqrt(scale / scored));
  CHECK(drift > 0);  // the steps ran on both sides from different (bf16 vs fp32) forward passes

  r1::TokenBatch bad;
  bad.push_back(std::vector<r1::TokenId>{1, 200});
  CHECK_THROWS_AS(model.score(bad, 1.0f, scores), r1::Error);
  CHECK_THROWS_AS(model.score(batch, 0.0f, scores), r1::Error);
  auto cache = model.make_cache(2, 8);
  std::vector<float> logits(2 * std::size_t(config.vocab_size));
  const std::vector<std::int32_t> twice{0, 0};
  CHECK_THROWS_AS(model.prefill(cache, twice, batch, logits), r1::Error);
}

TEST_CASE("Transformer<cuda> (bf16): trained and sampled log-probs agree to fp32 rounding (the fp32 LM head)") {
  // score() of tokens s_0 .. s_40 and prefill() of {s_0 .. s_39, s_40} run the same kernels on the same
  // 41 rows up to the final norm, so row 39's normed hidden state x (bf16) is the same on both paths;
  // only the LM head differs: score's fp32 GEMM over a chunk of rows, prefill's over the last rows, then
  // the device log-softmax against a double one on the host. Bound, with u = 2^-24 and D = 64:
  // each logit is a K = D dot product in fp32 on both sides, |dlogit_j| <= 2 D u sum_k |x_k w_jk|
  // <= 2 D u ||x|| ||w_j|| (Cauchy-Schwarz), ||x|| <= sqrt(D) max|g| (1 + 2^-8) for the final norm's
  // weight g (RMSNorm output has unit RMS before g); the log-softmax moves by at most twice the largest
  // logit change, and the device kernel's own error is (V + 20) u (1 + |lse| + max|z|) (the budget of
  // test_gpu_log_softmax_gather). A bf16 rounding of the logits alone would be 2^-9 |z|: 1e3 times more.
  const auto config = tiny_qwen2();
  r1::Transformer<r1::cuda> model(config);
  model.host().init_random(9, 0.3f);
  const int vocab = int(config.vocab_size);
  const auto sequence = random_batch({41}, vocab, 21);
  r1::TokenScores scores;
  model.score(sequence, 1.0f, scores);
  const float trained = scores.logprobs[40];  // log p(s_40 | s_0 .. s_39)

  r1::TokenBatch prompts;
  prompts.push_back(std::vector<r1::TokenId>(sequence.tokens.begin(), sequence.tokens.begin() + 40));
  prompts.push_back(std::vector<r1::TokenId>{sequence.tokens[40]});
  auto cache = model.make_cache(2, 48);
  const std::vector<std::int32_t> slots{0, 1};
  std::vector<float> logits(2 * std::size_t(vocab));
  model.prefill(cache, slots, prompts, logits);
  double top = -INFINITY, sum = 0, largest = 0;
  for (int j = 0; j < vocab; ++j) top = std::max(top, double(logits[std::size_t(j)]));
  for (int j = 0; j < vocab; ++j) {
    sum += std::exp(double(logits[std::size_t(j)]) - top);
    largest = std::max(largest, std::abs(double(logits[std::size_t(j)])));
  }
  const double lse = top + std::log(sum);
  const double sampled = double(logits[std::size_t(sequence.tokens[40])]) - lse;

  const auto& host = std::as_const(model).host();
  const auto weights = host.flat_parameters();
  const auto* head = host.find_tensor("model.embed_tokens.weight");  // tied
  const auto* norm = host.find_tensor("model.norm.weight");
  REQUIRE(head != nullptr);
  REQUIRE(norm != nullptr);
  const auto D = config.hidden_size;
  double max_g = 0, max_row = 0;
  for (std::int64_t k = 0; k < D; ++k)
    max_g = std::max(max_g, std::abs(double(r1::gpu::round_to_bf16(weights[std::size_t(norm->offset + k)]))));
  for (int j = 0; j < vocab; ++j) {
    double row = 0;
    for (std::int64_t k = 0; k < D; ++k)
      row += std::pow(double(r1::gpu::round_to_bf16(weights[std::size_t(head->offset + j * D + k)])), 2);
    max_row = std::max(max_row, std::sqrt(row));
  }
  constexpr double u = 1.0 / 16777216.0;
  const double x_norm = std::sqrt(double(D)) * max_g * (1 + 1.0 / 256);
  const double logit_change = 2 * double(D) * u * x_norm * max_row;
  const double bound = 2 * logit_change + (vocab + 20) * u * (1 + std::abs(lse) + largest);
  INFO("trained ", trained, " sampled ", sampled, " bound ", bound);
  CHECK(std::abs(double(trained) - sampled) <= bound);
}

static_assert(r1::DeviceSamplingModel<r1::Transformer<r1::cuda>>);
static_assert(!r1::DeviceSamplingModel<r1::Transformer<r1::cpu>>);

TEST_CASE("KvSampler decodes on the device: ids and behaviour log-probs, and those log-probs are the trained ones") {
  // fp32 storage, so the sampled log-probs (decode path: decode_attention, one row at a time) and
  // score()'s (flash attention over the whole sequence) differ by fp32 rounding only. Bound as in the
  // lockstep derivation at the top, for this model: reductions of at most n = 97 terms (vocabulary;
  // D = 64, F = 96, A = 64, T <= 23), 23 ops, kappa = 8, two sides: 2 x 23 x 97 u x 8 = 2.1e-3 of
  // (1 + |log p|).
  r1::Transformer<r1::cpu> cpu(tiny_qwen2());
  cpu.init_random(13, 0.3f);
  r1::gpu::CudaTransformer<float> gpu(cpu);
  const int vocab = int(tiny_qwen2().vocab_size);
  const std::vector<std::vector<r1::TokenId>> prompts{{3, 1, 4, 1, 5}, {9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}};
  const int group = 3;
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = group;
  request.seed = 5;
  constexpr double tolerance = 2.1e-3;

  auto trained_logprobs = [&](const std::vector<r1::Completion>& completions, float temperature) {
    r1::TokenBatch batch;
    for (std::size_t i = 0; i < completions.size(); ++i) {
      std::vector<r1::TokenId> sequence = prompts[i / group];
      sequence.insert(sequence.end(), completions[i].ids.begin(), completions[i].ids.end());
      batch.push_back(sequence, static_cast<std::int64_t>(prompts[i / group].size()));
    }
    r1::TokenScores scores;
    cpu.score(batch, temperature, scores);
    std::vector<std::vector<float>> out;
    for (std::size_t i = 0; i < completions.size(); ++i) {
      const auto first = batch.offsets[i] + static_cast<std::int64_t>(prompts[i / group].size());
      out.emplace_back(scores.logprobs.begin() + first, scores.logprobs.begin() + batch.offsets[i + 1]);
    }
    return out;
  };

  SUBCASE("temperature only: the behaviour log-prob is the model's log-prob at that temperature") {
    r1::SamplerConfig config;
    config.max_new_tokens = 12;
    config.temperature = 0.9f;
    r1::KvSampler sampler(config);
    const auto completions = sampler.generate(gpu, request);
    REQUIRE(completions.size() == prompts.size() * group);
    const auto trained = trained_logprobs(completions, config.temperature);
    for (std::size_t i = 0; i < completions.size(); ++i) {
      INFO("completion ", i);
      REQUIRE(completions[i].ids.size() == 12);
      REQUIRE(completions[i].logprobs.size() == 12);
      for (std::size_t t = 0; t < 12; ++t) {
        CHECK(completions[i].ids[t] >= 0);
        CHECK(completions[i].ids[t] < vocab);
        CHECK(std::abs(completions[i].logprobs[t] - trained[i][t]) <= tolerance * (1 + std::abs(trained[i][t])));
      }
    }
    // A pure function of (seed, step, prompt, sample, position): the same again.
    const auto again = sampler.generate(gpu, request);
    for (std::size_t i = 0; i < completions.size(); ++i) {
      CHECK(again[i].ids == completions[i].ids);
      CHECK(again[i].logprobs == completions[i].logprobs);
    }
  }
  SUBCASE("top-k and a decodable vocabulary: only kept ids, log-probs renormalised over them") {
    r1::SamplerConfig config;
    config.max_new_tokens = 10;
    config.top_k = 20;
    config.decodable_vocab_size = 90;
    r1::KvSampler sampler(config);
    const auto completions = sampler.generate(gpu, request);
    const auto trained = trained_logprobs(completions, 1.0f);
    for (std::size_t i = 0; i < completions.size(); ++i)
      for (std::size_t t = 0; t < completions[i].ids.size(); ++t) {
        CHECK(completions[i].ids[t] < 90);
        // log p_kept = log p - log(kept mass) >= log p; and < 0 unless one token holds all the mass.
        CHECK(completions[i].logprobs[t] >= trained[i][t] - tolerance * (1 + std::abs(trained[i][t])));
        CHECK(completions[i].logprobs[t] <= 0.0f);
      }
  }
}

TEST_CASE("SftTrainer<Transformer<cuda> (fp32 storage), CudaAdamW> follows SftTrainer<Transformer<cpu>, AdamW>") {
  // The recipe as types: the device model with the device optimizer, clip_grad_norm found by ADL on
  // DeviceParameters; micro-batches of 2 sequences accumulate on the device. Losses and norms within
  // the lockstep bounds derived at the top (1.2e-2 forward, 2.4e-2 backward; this model's reductions
  // are shorter, so those bounds hold a fortiori). After the first step the parameters differ by at
  // most lr (1 + G) max|dg| per value (eps = 1, see the top): 1e-3 x 2 x 2.4e-2 relative to the
  // gradients, far below the forward budget.
  r1::Transformer<r1::cpu> cpu(tiny_qwen2());
  cpu.init_random(17, 0.1f);
  r1::gpu::CudaTransformer<float> gpu(cpu);
  std::vector<r1::SftExample> examples;
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> token(0, 96);
  for (int i = 0; i < 6; ++i) {
    r1::SftExample example;
    for (int t = 0; t < 4 + i; ++t) example.prompt.push_back(token(rng));
    for (int t = 0; t < 30 + 7 * i; ++t) example.completion.push_back(token(rng));
    examples.push_back(example);
  }
  r1::SftConfig config;
  config.steps = 2;
  config.batch_size = 6;
  config.micro_batch_sequences = 2;
  config.max_grad_norm = 0.5;
  r1::AdamWConfig optimizer_config;
  optimizer_config.lr = 1e-3f;
  optimizer_config.eps = 1.0f;
  const auto schedule = [](std::int64_t) { return 1e-3f; };
  r1::SftTrainer<r1::Transformer<r1::cpu>, r1::AdamW> cpu_trainer(config, cpu, r1::AdamW(optimizer_config), schedule);
  r1::SftTrainer<r1::gpu::CudaTransformer<float>, r1::gpu::CudaAdamW> gpu_trainer(
      config, gpu, r1::gpu::CudaAdamW(optimizer_config), schedule);
  for (int step = 0; step < 2; ++step) {
    INFO("step ", step);
    const auto expected = cpu_trainer.step(examples);
    const auto got = gpu_trainer.step(examples);
    const double loss = expected.metrics["loss"].get<double>(), norm = expected.metrics["grad_norm"].get<double>();
    CHECK(std::abs(got.metrics["loss"].get<double>() - loss) <= 1.2e-2 * (1 + std::abs(loss)));
    CHECK(std::abs(got.metrics["grad_norm"].get<double>() - norm) <= 2.4e-2 * norm);
    CHECK_FALSE(got.skipped);
  }
  CHECK(gpu_trainer.optimizer().on_device());
  CHECK(gpu_trainer.optimizer().steps() == 2);
}

TEST_CASE("GrpoTrainer with the device recipe: sampled on the device, trained on the device, gap at fp32 rounding") {
  // The recipe as a set of types: CudaTransformer<float> (fp32 storage), KvSampler (device decoding),
  // CudaAdamW. Rollouts are drawn on the device, so the run is not in lockstep with a CPU one; what must
  // hold: the updates happen on the device optimizer, and the behaviour log-probs the sampler reported
  // equal the trainer's own before the first update (the sampling/logprob_gap_abs metric, mean |gap| per
  // token) to fp32 rounding: the KvSampler case's 2.1e-3 of (1 + |log p|), with |log p| <= ln V on
  // average (the mean surprisal of sampled tokens is the entropy, at most ln V).
  using Policy = r1::gpu::CudaTransformer<float>;
  using Recipe = r1::Grpo<Policy, r1::KvSampler, r1::test::LowDigit, r1::gpu::CudaAdamW, r1::GrpoObjective>;
  const auto tokenizer = r1::test::tiny_tokenizer();
  r1::Transformer<r1::cpu> host{r1::test::tiny_model_config(tokenizer.vocab_size())};
  host.init_random(3);
  Policy policy(host);
  r1::GrpoTrainerConfig config;
  config.steps = 2;
  config.prompts_per_step = 4;
  config.group_size = 8;
  config.seed = 3;
  config.micro_batch_sequences = 16;
  r1::SamplerConfig sampling;
  sampling.temperature = config.temperature;
  sampling.max_new_tokens = 3;
  r1::AdamWConfig adam;
  adam.lr = 1e-2f;
  auto codec = r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
  r1::GrpoConfig objective = r1::GrpoConfig::dapo();
  objective.filter_zero_std_groups = false;
  r1::GrpoTrainer<Recipe> trainer(config, policy, r1::KvSampler{sampling}, r1::test::LowDigit{},
                                  r1::gpu::CudaAdamW{adam}, r1::GrpoObjective{objective}, codec,
                                  r1::ConstantSchedule{adam.lr});
  const auto problems = r1::test::echo_problems(40);
  const auto before = std::vector<float>(host.flat_parameters().begin(), host.flat_parameters().end());
  for (int step = 0; step < 2; ++step) {
    const auto report = trainer.step(problems);
    INFO("step ", step, ": ", report.metrics.dump());
    REQUIRE(report.metrics.contains("sampling/logprob_gap_abs"));  // some completion tokens were scored
    const double gap = report.metrics["sampling/logprob_gap_abs"].get<double>();
    CHECK(gap <= 2.1e-3 * (1 + std::log(double(tokenizer.vocab_size()))));
    CHECK(std::isfinite(report.metrics["grad_norm"].get<double>()));
  }
  CHECK(trainer.optimizer().on_device());
  CHECK(trainer.optimizer().steps() == trainer.optimizer_steps());
  CHECK(trainer.optimizer_steps() >= 1);
  const auto after = std::as_const(policy).host().flat_parameters();
  double moved = 0;
  for (std::size_t k = 0; k < before.size(); ++k) moved = std::max(moved, std::abs(double(after[k]) - before[k]));
  CHECK(moved > 0);
}
