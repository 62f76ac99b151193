// Throughput of every r1 CUDA kernel at the shapes of one Qwen2-0.5B training
// micro-batch (16 sequences x 512 tokens, hidden 896, 14 heads over 2 kv heads of
// 64, MLP 4864, vocabulary 151936), bf16 storage. Each benchmark reports what
// bounds it: TFLOP/s and % of the device's dense bf16 peak for GEMMs and attention,
// TB/s and % of its DRAM bandwidth for the rest (bytes = the minimum traffic: every
// input read once, every output written once); both peaks from the device's SM count
// and clocks (device_peaks.hpp). Timed with CUDA events. The whole model's train step
// and decoding are bench_train_step's. Without a CUDA device it prints "skipped: <why>"
// and exits 0 (1 with R1_REQUIRE_GPU=1).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <cstdlib>
#include <functional>
#include <vector>

#include "r1/cuda/arena.hpp"
#include "r1/cuda/device.hpp"
#include "r1/cuda/ops/adamw.hpp"
#include "r1/cuda/ops/attention.hpp"
#include "r1/cuda/ops/decode_attention.hpp"
#include "r1/cuda/ops/embedding.hpp"
#include "r1/cuda/ops/gemm.hpp"
#include "r1/cuda/ops/grad_norm.hpp"
#include "r1/cuda/ops/log_softmax_gather.hpp"
#include "r1/cuda/ops/rmsnorm.hpp"
#include "r1/cuda/ops/rope.hpp"
#include "r1/cuda/ops/sampling.hpp"
#include "r1/cuda/ops/swiglu.hpp"
#include "device_peaks.hpp"

namespace {

using r1::gpu::bf16;

// The running device's peaks, set in main before any benchmark runs.
r1::bench::DevicePeaks peaks;

// Qwen2-0.5B (HF config.json of Qwen/Qwen2-0.5B).
constexpr int sequences = 16, sequence_length = 512, tokens = sequences * sequence_length;
constexpr int hidden = 896, heads = 14, kv_heads = 2, head_dim = 64, intermediate = 4864, vocab = 151936;
constexpr std::int64_t parameters = 494'032'768;  // the optimizer benchmarks' size

// Times `launch` with CUDA events, one event pair per iteration (manual time).
void run_timed(benchmark::State& state, const std::function<void()>& launch, double flops, double bytes) {
  cudaEvent_t start, stop;
  R1_CUDA_CHECK(cudaEventCreate(&start), "bench");
  R1_CUDA_CHECK(cudaEventCreate(&stop), "bench");
  launch();  // warm-up (and cuBLASLt heuristics)
  R1_CUDA_CHECK(cudaDeviceSynchronize(), "bench warm-up");
  double seconds = 0;
  for (auto _ : state) {
    R1_CUDA_CHECK(cudaEventRecord(start), "bench");
    launch();
    R1_CUDA_CHECK(cudaEventRecord(stop), "bench");
    R1_CUDA_CHECK(cudaEventSynchronize(stop), "bench");
    float ms = 0;
    R1_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop), "bench");
    state.SetIterationTime(ms / 1e3);
    seconds += ms / 1e3;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const double n = static_cast<double>(state.iterations());
  if (flops > 0) {
    state.counters["TFLOP/s"] = flops * n / seconds / 1e12;
    if (peaks.bf16_flops > 0) state.counters["%bf16_peak"] = 100 * flops * n / seconds / peaks.bf16_flops;
  }
  if (bytes > 0) {
    state.counters["TB/s"] = bytes * n / seconds / 1e12;
    state.counters["%dram_peak"] = 100 * bytes * n / seconds / peaks.dram_bytes_per_s;
  }
}

// Device memory for one benchmark, zero-filled (timing does not depend on the values).
struct Buffers {
  r1::gpu::DeviceArena arena;
  explicit Buffers(std::size_t bytes) : arena(bytes) {}
  template <class T>
  T* get(std::size_t count) {
    auto span = arena.allocate<T>(count, "bench buffer");
    r1::gpu::fill_zero(span, nullptr, "bench fill");
    return span.data;
  }
};

std::size_t mib(std::size_t bytes) { return bytes + (std::size_t{64} << 20); }

void BM_gemm_bf16(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), n = static_cast<int>(state.range(1)), k = static_cast<int>(state.range(2));
  Buffers b(mib(2 * (std::size_t(m) * k + std::size_t(n) * k + std::size_t(m) * n)));
  const bf16* x = b.get<bf16>(std::size_t(m) * k);
  const bf16* w = b.get<bf16>(std::size_t(n) * k);
  bf16* y = b.get<bf16>(std::size_t(m) * n);
  r1::gpu::CublasLt blas;
  run_timed(state, [&] { r1::gpu::gemm<bf16, bf16>(blas, {m, n, k, false, true}, 1.0f, x, w, 0.0f, y, nullptr); },
            2.0 * m * n * k, 0);
}
// y = x W^T for the projections of one layer, and the LM head.
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/qkv_proj")->Args({tokens, (heads + 2 * kv_heads) * head_dim, hidden})->UseManualTime();
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/o_proj")->Args({tokens, hidden, hidden})->UseManualTime();
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/gate_up_proj")->Args({tokens, 2 * intermediate, hidden})->UseManualTime();
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/down_proj")->Args({tokens, hidden, intermediate})->UseManualTime();
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/lm_head")->Args({tokens, vocab, hidden})->UseManualTime();
BENCHMARK(BM_gemm_bf16)->Name("gemm_bf16/square_8192")->Args({8192, 8192, 8192})->UseManualTime();

void BM_rmsnorm_forward(benchmark::State& state) {
  Buffers b(mib(2 * 2 * std::size_t(tokens) * hidden));
  const bf16* x = b.get<bf16>(std::size_t(tokens) * hidden);
  const bf16* w = b.get<bf16>(hidden);
  bf16* y = b.get<bf16>(std::size_t(tokens) * hidden);
  float* r = b.get<float>(tokens);
  run_timed(state, [&] { r1::gpu::rmsnorm_forward<bf16>(x, w, y, r, tokens, hidden, 1e-6f, nullptr); }, 0,
            2.0 * 2 * tokens * hidden + 4.0 * tokens);
}
BENCHMARK(BM_rmsnorm_forward)->UseManualTime();

void BM_rmsnorm_backward(benchmark::State& state) {
  Buffers b(mib(3 * 2 * std::size_t(tokens) * hidden));
  const bf16* x = b.get<bf16>(std::size_t(tokens) * hidden);
  const bf16* w = b.get<bf16>(hidden);
  const bf16* dy = b.get<bf16>(std::size_t(tokens) * hidden);
  bf16* dx = b.get<bf16>(std::size_t(tokens) * hidden);
  const float* r = b.get<float>(tokens);
  float* dw = b.get<float>(hidden);
  run_timed(state, [&] { r1::gpu::rmsnorm_backward<bf16>(x, w, dy, r, dx, dw, tokens, hidden, nullptr); }, 0,
            3.0 * 2 * tokens * hidden);
}
BENCHMARK(BM_rmsnorm_backward)->UseManualTime();

void BM_rope_forward(benchmark::State& state) {
  const std::size_t n = std::size_t(tokens) * heads * head_dim;
  Buffers b(mib(2 * n + 8 * std::size_t(sequence_length) * head_dim));
  bf16* q = b.get<bf16>(n);
  const std::int32_t* positions = b.get<std::int32_t>(tokens);
  const float* c = b.get<float>(std::size_t(sequence_length) * head_dim / 2);
  const float* s = b.get<float>(std::size_t(sequence_length) * head_dim / 2);
  run_timed(state, [&] { r1::gpu::rope_forward<bf16>(q, positions, c, s, tokens, heads, head_dim, sequence_length, nullptr); },
            0, 2.0 * 2 * n);
}
BENCHMARK(BM_rope_forward)->UseManualTime();

void BM_swiglu_forward(benchmark::State& state) {
  const std::size_t n = std::size_t(tokens) * intermediate;
  Buffers b(mib(2 * 3 * n));
  const bf16* gate_up = b.get<bf16>(2 * n);
  bf16* out = b.get<bf16>(n);
  run_timed(state, [&] { r1::gpu::swiglu_forward<bf16>(gate_up, tokens, intermediate, out, nullptr); }, 0, 2.0 * 3 * n);
}
BENCHMARK(BM_swiglu_forward)->UseManualTime();

void BM_swiglu_backward(benchmark::State& state) {
  const std::size_t n = std::size_t(tokens) * intermediate;
  Buffers b(mib(2 * 5 * n));
  const bf16* gate_up = b.get<bf16>(2 * n);
  const bf16* d_out = b.get<bf16>(n);
  bf16* d_gate_up = b.get<bf16>(2 * n);
  run_timed(state, [&] { r1::gpu::swiglu_backward<bf16>(gate_up, d_out, tokens, intermediate, d_gate_up, nullptr); }, 0,
            2.0 * 5 * n);
}
BENCHMARK(BM_swiglu_backward)->UseManualTime();

void BM_embedding_forward(benchmark::State& state) {
  Buffers b(mib(2 * std::size_t(vocab) * hidden + 2 * std::size_t(tokens) * hidden));
  const std::int32_t* ids = b.get<std::int32_t>(tokens);
  const bf16* table = b.get<bf16>(std::size_t(vocab) * hidden);
  bf16* out = b.get<bf16>(std::size_t(tokens) * hidden);
  run_timed(state, [&] { r1::gpu::embedding_forward<bf16>(ids, tokens, table, vocab, hidden, out, nullptr); }, 0,
            2.0 * 2 * tokens * hidden);
}
BENCHMARK(BM_embedding_forward)->UseManualTime();

void BM_log_softmax_gather(benchmark::State& state) {
  const bool backward = state.range(0) != 0;
  const std::size_t n = std::size_t(tokens) * vocab;
  Buffers b(mib(2 * 2 * n));
  const bf16* logits = b.get<bf16>(n);
  bf16* d_logits = b.get<bf16>(n);
  const std::int32_t* targets = b.get<std::int32_t>(tokens);
  float* f = b.get<float>(6 * std::size_t(tokens));
  if (!backward)
    run_timed(state, [&] {
      r1::gpu::log_softmax_gather_forward<bf16>(logits, targets, tokens, vocab, 1.0f, f, f + tokens, f + 2 * tokens,
                                                f + 3 * tokens, nullptr);
    }, 0, 2.0 * n);
  else
    run_timed(state, [&] {
      r1::gpu::log_softmax_gather_backward<bf16>(logits, targets, f, f + tokens, f + 2 * tokens, f + 3 * tokens, tokens,
                                                 vocab, 1.0f, d_logits, nullptr);
    }, 0, 2.0 * 2 * n);
}
BENCHMARK(BM_log_softmax_gather)->Name("log_softmax_gather/forward")->Arg(0)->UseManualTime();
BENCHMARK(BM_log_softmax_gather)->Name("log_softmax_gather/backward")->Arg(1)->UseManualTime();

// Causal attention FLOPs (FlashAttention-2's convention): forward 4 * D * H * sum_s L(L+1)/2,
// backward 2.5 x forward (5 matmuls instead of 2).
void BM_attention(benchmark::State& state) {
  const bool backward = state.range(0) != 0;
  const std::size_t q_size = std::size_t(tokens) * heads * head_dim, kv_size = std::size_t(tokens) * kv_heads * head_dim;
  Buffers b(mib(2 * (3 * q_size + 4 * kv_size) + 4 * (q_size + 3 * std::size_t(tokens) * heads)));
  const bf16* q = b.get<bf16>(q_size);
  const bf16* k = b.get<bf16>(kv_size);
  const bf16* v = b.get<bf16>(kv_size);
  bf16* out = b.get<bf16>(q_size);
  bf16* dq = b.get<bf16>(q_size);
  bf16* dk = b.get<bf16>(kv_size);
  bf16* dv = b.get<bf16>(kv_size);
  float* lse = b.get<float>(std::size_t(tokens) * heads);
  std::vector<std::int64_t> host_offsets;
  for (int s = 0; s <= sequences; ++s) host_offsets.push_back(std::int64_t{s} * sequence_length);
  auto offsets = b.arena.allocate<std::int64_t>(host_offsets.size(), "offsets");
  r1::gpu::copy_to_device<std::int64_t>(host_offsets, offsets, nullptr, "offsets");
  const r1::gpu::AttentionShape shape{tokens, sequences, sequence_length, heads, kv_heads, head_dim,
                                      1.0f / std::sqrt(float(head_dim))};
  float* workspace = b.get<float>(r1::gpu::attention_backward_workspace_floats(shape));
  const double forward_flops = 4.0 * head_dim * heads * sequences * (double(sequence_length) * (sequence_length + 1) / 2);
  r1::gpu::attention_forward<bf16>(q, k, v, offsets.data, shape, out, lse, nullptr);
  if (!backward)
    run_timed(state, [&] { r1::gpu::attention_forward<bf16>(q, k, v, offsets.data, shape, out, lse, nullptr); },
              forward_flops, 0);
  else
    run_timed(state, [&] {
      r1::gpu::attention_backward<bf16>(q, k, v, out, out, lse, offsets.data, shape, workspace, dq, dk, dv, nullptr);
    }, 2.5 * forward_flops, 0);
}
BENCHMARK(BM_attention)->Name("attention/forward")->Arg(0)->UseManualTime();
BENCHMARK(BM_attention)->Name("attention/backward")->Arg(1)->UseManualTime();

// One decoding step for 64 sequences with 2048 cached positions: bound by reading the cache.
void BM_decode_attention(benchmark::State& state) {
  const int rows = 64, context = 2048;
  const r1::gpu::KvCacheShape cache{rows, context, kv_heads, head_dim};
  const std::size_t cache_size = std::size_t(rows) * context * kv_heads * head_dim;
  Buffers b(mib(2 * 2 * cache_size));
  const bf16* ck = b.get<bf16>(cache_size);
  const bf16* cv = b.get<bf16>(cache_size);
  const bf16* q = b.get<bf16>(std::size_t(rows) * heads * head_dim);
  bf16* out = b.get<bf16>(std::size_t(rows) * heads * head_dim);
  std::vector<std::int32_t> host_slots(rows), host_lengths(rows, context);
  for (int r = 0; r < rows; ++r) host_slots[r] = r;
  auto slots = b.arena.allocate<std::int32_t>(rows, "slots");
  auto lengths = b.arena.allocate<std::int32_t>(rows, "lengths");
  r1::gpu::copy_to_device<std::int32_t>(host_slots, slots, nullptr, "slots");
  r1::gpu::copy_to_device<std::int32_t>(host_lengths, lengths, nullptr, "lengths");
  run_timed(state, [&] {
    r1::gpu::decode_attention<bf16>(q, ck, cv, slots.data, lengths.data, rows, heads, cache, 0.125f, out, nullptr);
  }, 0, 2.0 * 2 * cache_size);
}
BENCHMARK(BM_decode_attention)->UseManualTime();

// Whole-model optimizer step: fp32 master, m, v, grad read; master, m, v and the bf16 copy written.
void BM_adamw(benchmark::State& state) {
  const std::size_t n = parameters;
  Buffers b(mib(n * (4 * 4 + 2)));
  float* master = b.get<float>(n);
  float* m = b.get<float>(n);
  float* v = b.get<float>(n);
  const float* grad = b.get<float>(n);
  bf16* copy = b.get<bf16>(n);
  const auto hyper = r1::gpu::adamw_hyper_for_step(r1::gpu::AdamWHyper{}, 1);
  run_timed(state, [&] { r1::gpu::adamw_step<bf16>(master, m, v, grad, copy, std::int64_t(n), hyper, nullptr, nullptr); },
            0, double(n) * (4 * 4 + 3 * 4 + 2));
}
BENCHMARK(BM_adamw)->UseManualTime();

void BM_grad_norm(benchmark::State& state) {
  const std::size_t n = parameters;
  Buffers b(mib(n * 4));
  const float* grad = b.get<float>(n);
  float* workspace = b.get<float>(r1::gpu::grad_norm_workspace_floats);
  float* result = b.get<float>(2);
  run_timed(state, [&] { r1::gpu::global_grad_norm(grad, std::int64_t(n), workspace, result, result + 1, 1.0f, nullptr); },
            0, double(n) * 4);
}
BENCHMARK(BM_grad_norm)->UseManualTime();

// Evaluation sampling (temperature 0.6, top-p 0.95) plus top-k 50, 64 rows: the radix
// selections read each row 1 + 32 (top-k) + 1 + 32 (top-p) + 1 times; reported as the
// traffic of those 67 passes.
void BM_sample_tokens(benchmark::State& state) {
  const int rows = 64;
  Buffers b(mib(4 * std::size_t(rows) * vocab));
  const float* logits = b.get<float>(std::size_t(rows) * vocab);
  const float* uniforms = b.get<float>(rows);
  std::int32_t* out = b.get<std::int32_t>(rows);
  run_timed(state, [&] { r1::gpu::sample_tokens(logits, rows, vocab, {0.6f, 50, 0.95f}, uniforms, out, nullptr); }, 0,
            67.0 * 4 * rows * vocab);
}
BENCHMARK(BM_sample_tokens)->UseManualTime();

}  // namespace

int main(int argc, char** argv) {
  if (const r1::gpu::DeviceQuery query = r1::gpu::query_devices(); query.count == 0) {
    // R1_REQUIRE_GPU=1: a machine meant to have a GPU fails rather than skips.
    const char* required = std::getenv("R1_REQUIRE_GPU");
    const bool must_run = required != nullptr && std::string(required) == "1";
    std::printf("%s: %s\n", must_run ? "failed" : "skipped", query.reason().c_str());
    return must_run ? 1 : 0;
  }
  peaks = r1::bench::device_peaks();
  std::printf("device: %s, sm_%d%d, %d SMs\n", peaks.name.c_str(), peaks.major, peaks.minor, peaks.sms);
  std::printf("peaks used for %%: %.1f TFLOP/s dense bf16 (%.0f FLOP/clk/SM at the reported max SM clock %.0f MHz), "
              "%.2f TB/s DRAM\n",
              peaks.bf16_flops / 1e12, r1::bench::dense_bf16_flops_per_clock_per_sm(peaks.major, peaks.minor),
              peaks.sm_clock_mhz, peaks.dram_bytes_per_s / 1e12);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
