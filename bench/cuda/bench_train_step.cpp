// One training micro-batch (score + backward) and batched decoding through Transformer<cuda> at the
// Qwen2.5-0.5B shape (HF config.json of Qwen/Qwen2.5-0.5B: hidden 896, intermediate 4864, 24 layers,
// 14 heads over 2 KV heads of 64, vocabulary 151936, tied head, rope theta 1e6, q/k/v biases), random
// weights (normal, std 0.02; norms 1, biases 0). Reports tokens/s and MFU against the card's dense bf16
// tensor-core peak, computed from its SM count and SM clock, and decode tokens/s at batch 64.
//
//   bench_train_step [--sequences 16] [--sequence-length 512] [--steps 5] [--decode-batch 64]
//                    [--prompt-tokens 128] [--decode-steps 64] [--sm-clock-mhz X] [--json FILE] [--device-only]
//
// Model FLOPs per trained token (Kaplan et al. 2020 §2.1, PaLM appendix B): 6 P for the matmuls of the
// P parameters (the tied embedding counted once, as the LM head's matmul), plus causal attention's
// 4 A (t + 1) forward FLOPs at position t (QK^T and AV over A = heads x head_dim), x3 with the
// backward, averaged over t: 12 A (L + 1) / 2 per layer. No recomputation counted.
// Without a CUDA device: "skipped: ..." and exit 0 (exit 1 with R1_REQUIRE_GPU=1).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/cuda/device.hpp"
#include "r1/cuda/transformer.hpp"
#include "device_peaks.hpp"

namespace {

r1::ModelConfig qwen2_5_0_5b() {
  r1::ModelConfig config;
  config.model_type = "qwen2";
  config.vocab_size = 151936;
  config.hidden_size = 896;
  config.intermediate_size = 4864;
  config.num_hidden_layers = 24;
  config.num_attention_heads = 14;
  config.num_key_value_heads = 2;
  config.rope_theta = 1e6;
  config.rms_norm_eps = 1e-6;
  config.max_position_embeddings = 32768;
  config.tie_word_embeddings = true;
  config.attention_bias = true;
  return config;
}

// Parameters from the config (embedding + per layer: 2 norms, q/k/v with biases, o, gate/up/down; final norm;
// an untied head adds V D).
double parameter_count(const r1::ModelConfig& c) {
  const double D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, L = c.num_hidden_layers;
  const double A = double(c.num_attention_heads) * c.head_dim(), KW = double(c.num_key_value_heads) * c.head_dim();
  const double qkv = A + 2 * KW;
  const double layer = 2 * D + D * qkv + (c.attention_bias ? qkv : 0) + A * D + 3 * F * D;
  return V * D + L * layer + D + (c.tie_word_embeddings ? 0 : V * D);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Transformer<cuda> train step and decoding at the Qwen2.5-0.5B shape", "bench_train_step"};
  int sequences = 16, sequence_length = 512, steps = 5, decode_batch = 64, prompt_tokens = 128, decode_steps = 64;
  double sm_clock_mhz = 0;
  std::string json_path;
  bool device_only = false;
  app.add_option("--sequences", sequences, "Sequences per micro-batch")->check(CLI::PositiveNumber);
  app.add_option("--sequence-length", sequence_length, "Tokens per sequence")->check(CLI::Range(2, 32768));
  app.add_option("--steps", steps, "Timed micro-batches (after one warm-up)")->check(CLI::PositiveNumber);
  app.add_option("--decode-batch", decode_batch, "Sequences decoded together")->check(CLI::PositiveNumber);
  app.add_option("--prompt-tokens", prompt_tokens, "Prompt tokens prefilled per decoded sequence")
      ->check(CLI::PositiveNumber);
  app.add_option("--decode-steps", decode_steps, "Timed decode steps (one token per sequence each)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sm-clock-mhz", sm_clock_mhz,
                 "SM clock for the peak (default: the device's reported maximum, cudaDevAttrClockRate)");
  app.add_option("--json", json_path, "Also write the results as one JSON object to this file");
  app.add_flag("--device-only", device_only, "Print the device and its peak, then exit (first_gpu.sh's preflight)");
  CLI11_PARSE(app, argc, argv);

  if (const r1::gpu::DeviceQuery query = r1::gpu::query_devices(); query.count == 0) {
    const char* required = std::getenv("R1_REQUIRE_GPU");
    const bool must_run = required != nullptr && std::string(required) == "1";
    std::printf("%s: %s\n", must_run ? "failed" : "skipped", query.reason().c_str());
    return must_run ? 1 : 0;
  }
  try {
    const r1::bench::DevicePeaks device = r1::bench::device_peaks(sm_clock_mhz);
    const double peak = device.bf16_flops;
    std::printf("device: %s, sm_%d%d, %d SMs, SM clock %.0f MHz (reported max %.0f MHz)\n", device.name.c_str(),
                device.major, device.minor, device.sms, device.sm_clock_mhz, device.reported_sm_clock_mhz);
    if (peak > 0)
      std::printf("dense bf16 peak: %.0f FLOP/clk/SM x %d SMs x %.0f MHz = %.1f TFLOP/s\n",
                  r1::bench::dense_bf16_flops_per_clock_per_sm(device.major, device.minor), device.sms,
                  device.sm_clock_mhz, peak / 1e12);
    else
      std::printf("dense bf16 peak: unknown for sm_%d%d (no MFU)\n", device.major, device.minor);
    std::printf("DRAM: %.2f TB/s (2 x memory clock x bus width)\n", device.dram_bytes_per_s / 1e12);
    if (device_only) return 0;

    const r1::ModelConfig config = qwen2_5_0_5b();
    auto start = std::chrono::steady_clock::now();
    r1::Transformer<r1::cpu> host(config);
    host.init_random(2024);
    r1::Transformer<r1::cuda> model(std::move(host));
    std::printf("model: Qwen2.5-0.5B shape, %.0f parameters, random init in %.1f s\n", parameter_count(config),
                seconds_since(start));

    // ---- Training micro-batch: score + backward of a mean token NLL. ----
    r1::TokenBatch batch;
    std::vector<r1::TokenId> sequence(static_cast<std::size_t>(sequence_length));
    for (int s = 0; s < sequences; ++s) {
      for (int t = 0; t < sequence_length; ++t)
        sequence[static_cast<std::size_t>(t)] =
            static_cast<r1::TokenId>((std::int64_t(s) * 7919 + std::int64_t(t) * 104729) % config.vocab_size);
      batch.push_back(sequence);
    }
    const auto tokens = static_cast<std::int64_t>(batch.total_tokens());
    // loss = -(1/N) sum_t logprob_t over the N scored tokens: d loss / d logprob_t = -1/N.
    const std::int64_t scored = tokens - sequences;
    const std::vector<float> d_logprobs(static_cast<std::size_t>(tokens), -1.0f / static_cast<float>(scored));
    r1::TokenScores scores;
    double loss = 0;
    const auto train_step = [&] {
      model.zero_grad();
      model.score(batch, 1.0f, scores);
      model.backward(batch, d_logprobs, {});
      r1::gpu::synchronize("bench_train_step");
    };
    start = std::chrono::steady_clock::now();
    train_step();  // warm-up: buffers, cuBLASLt plans, weight upload
    const double warmup_seconds = seconds_since(start);
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) train_step();
    const double step_seconds = seconds_since(start) / steps;
    for (std::size_t s = 0; s < batch.size(); ++s)
      for (std::int64_t t = 1; t < batch.length(s); ++t)
        loss -= scores.logprobs[static_cast<std::size_t>(batch.offsets[s] + t)];
    loss /= static_cast<double>(scored);
    r1::require(std::isfinite(loss), "bench_train_step: the loss is not finite (", loss, ")");
    const double attention_width = double(config.num_attention_heads) * config.head_dim();
    const double flops_per_token = 6 * parameter_count(config) + 12.0 * config.num_hidden_layers * attention_width *
                                                                    (sequence_length + 1) / 2.0;
    const double train_tokens_per_second = tokens / step_seconds;
    const double mfu = peak > 0 ? flops_per_token * train_tokens_per_second / peak : 0;
    std::printf("train step (score + backward, %d x %d tokens): %.1f ms, %.0f tokens/s, %.1f TFLOP/s, MFU %.1f%% "
                "(warm-up %.2f s, loss %.3f; ln V = %.3f)\n",
                sequences, sequence_length, 1e3 * step_seconds, train_tokens_per_second,
                flops_per_token * train_tokens_per_second / 1e12, 100 * mfu, warmup_seconds, loss,
                std::log(double(config.vocab_size)));

    // ---- Decoding: decode_batch sequences after a prompt_tokens prefill, one token each per step. ----
    auto cache = model.make_cache(decode_batch, prompt_tokens + decode_steps + 1);
    r1::TokenBatch prompts;
    std::vector<r1::TokenId> prompt(static_cast<std::size_t>(prompt_tokens));
    for (int s = 0; s < decode_batch; ++s) {
      for (int t = 0; t < prompt_tokens; ++t)
        prompt[static_cast<std::size_t>(t)] = static_cast<r1::TokenId>((s * 31 + t * 17) % config.vocab_size);
      prompts.push_back(prompt);
    }
    std::vector<std::int32_t> slots(static_cast<std::size_t>(decode_batch));
    for (int s = 0; s < decode_batch; ++s) slots[static_cast<std::size_t>(s)] = s;
    std::vector<float> logits(static_cast<std::size_t>(decode_batch) * static_cast<std::size_t>(config.vocab_size));
    start = std::chrono::steady_clock::now();
    model.prefill(cache, slots, prompts, logits);
    r1::gpu::synchronize("bench_train_step prefill");
    const double prefill_seconds = seconds_since(start);
    std::vector<r1::TokenId> next(static_cast<std::size_t>(decode_batch), 1);
    model.decode(cache, slots, next, logits);  // warm-up step
    start = std::chrono::steady_clock::now();
    for (int i = 0; i + 1 < decode_steps; ++i) {
      for (int s = 0; s < decode_batch; ++s)
        next[static_cast<std::size_t>(s)] = static_cast<r1::TokenId>((s * 131 + i * 7) % config.vocab_size);
      model.decode(cache, slots, next, logits);
    }
    r1::gpu::synchronize("bench_train_step decode");
    const double decode_seconds = seconds_since(start);
    const double decode_tokens_per_second = double(decode_batch) * (decode_steps - 1) / decode_seconds;
    std::printf("decode (batch %d, after %d prompt tokens; logits to the host each step): %.0f tokens/s, %.2f ms/step; "
                "prefill %.0f tokens/s\n",
                decode_batch, prompt_tokens, decode_tokens_per_second, 1e3 * decode_seconds / (decode_steps - 1),
                double(decode_batch) * prompt_tokens / prefill_seconds);

    if (!json_path.empty()) {
      r1::Json out{{"device", device.name},
                   {"sm_count", device.sms},
                   {"compute_capability", std::to_string(device.major) + "." + std::to_string(device.minor)},
                   {"sm_clock_mhz", device.sm_clock_mhz},
                   {"peak_bf16_tflops", peak / 1e12},
                   {"parameters", parameter_count(config)},
                   {"sequences", sequences},
                   {"sequence_length", sequence_length},
                   {"train_step_ms", 1e3 * step_seconds},
                   {"train_tokens_per_second", train_tokens_per_second},
                   {"model_tflops", flops_per_token * train_tokens_per_second / 1e12},
                   {"mfu", mfu},
                   {"loss", loss},
                   {"decode_batch", decode_batch},
                   {"decode_tokens_per_second", decode_tokens_per_second},
                   {"prefill_tokens_per_second", double(decode_batch) * prompt_tokens / prefill_seconds}};
      std::ofstream(json_path) << out.dump(2) << '\n';
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_train_step: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
