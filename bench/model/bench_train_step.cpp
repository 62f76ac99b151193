// The reference configuration of issue 3 (Llama layout: d 256, 4 layers, 4 heads,
// vocab 512, SwiGLU 768, untied head; batch 8 x seq 256): one GRPO-style train
// step = score (forward) + backward + AdamW, at the thread count given as the
// benchmark argument, and r1's GEMM at the layers' typical shape, hot in the cache,
// as the peak that r1's throughput is measured against. compare_with_torch.py runs this and
// a PyTorch peer in the same run and prints the ratio.
//
// FLOPs per step (the usual model-FLOPs count, the same for r1 and the peer):
//   matmuls 6 * P * tokens, P = matmul parameters = layers * (d (H + 2 K) E + H E d + 3 d F) + V d
//     (q/k/v and o as HF shapes them: 4 d^2 when K = H and H E = d, as in the reference configuration)
//   attention 3 * (2 * 2 * T^2 * E) per head, sequence and layer (forward QK^T and PV, backward twice that)
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/rng.hpp"
#include "r1/model/ops/attention.hpp"
#include "r1/model/ops/linear.hpp"
#include "r1/model/parallel_chunks.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"

namespace {

constexpr int kBatch = 8, kSeq = 256;

r1::ModelConfig reference_config() {
  r1::ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 512;
  c.hidden_size = 256;
  c.intermediate_size = 768;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.rms_norm_eps = 1e-5;
  return c;
}

double step_flops(const r1::ModelConfig& c) {
  const double d = static_cast<double>(c.hidden_size), f = static_cast<double>(c.intermediate_size);
  const double q_width = static_cast<double>(c.num_attention_heads * c.head_dim()),
               kv_width = static_cast<double>(c.num_key_value_heads * c.head_dim());
  const double attention_params = d * (q_width + 2 * kv_width) + q_width * d;  // q/k/v, then o
  const double matmul_params = static_cast<double>(c.num_hidden_layers) * (attention_params + 3 * d * f) +
                               static_cast<double>(c.vocab_size) * d;
  const double tokens = double(kBatch) * kSeq;
  const double attention = 3.0 * 4.0 * double(kSeq) * kSeq * static_cast<double>(c.head_dim()) *
                           static_cast<double>(c.num_attention_heads) * kBatch * static_cast<double>(c.num_hidden_layers);
  return 6.0 * matmul_params * tokens + attention;
}

// kSeq + 1 tokens per sequence: kSeq inputs whose kSeq next tokens are all scored, as the peer's cross-entropy.
r1::TokenBatch reference_batch(std::int64_t vocab) {
  r1::Philox rng(0);
  r1::TokenBatch batch;
  std::vector<r1::TokenId> tokens(kSeq + 1);
  for (int s = 0; s < kBatch; ++s) {
    for (auto& t : tokens) t = static_cast<r1::TokenId>(rng() % static_cast<std::uint32_t>(vocab));
    batch.push_back(tokens);
  }
  return batch;
}

void BM_TrainStep(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const auto config = reference_config();
  r1::Transformer<r1::cpu> model(config);
  model.init_random(0);
  r1::AdamW optimizer(r1::AdamWConfig{3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f});
  const auto batch = reference_batch(config.vocab_size);
  r1::TokenScores scores;
  // Mean cross-entropy over the kBatch * kSeq scored tokens: d loss / d logprob = -1 / M.
  const std::vector<float> d_logprobs(batch.total_tokens(), -1.0f / (kBatch * kSeq));
  model.score(batch, 1.0f, scores);  // warm-up: buffers grow once, outside the timing
  model.backward(batch, d_logprobs, {});
  for (auto _ : state) {
    model.score(batch, 1.0f, scores);
    model.zero_grad();
    model.backward(batch, d_logprobs, {});
    optimizer.step(model.parameters());
    benchmark::DoNotOptimize(scores.logprobs.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(step_flops(config) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] = benchmark::Counter(double(kBatch) * kSeq, benchmark::Counter::kIsIterationInvariantRate);
}
// Process CPU time is reported beside wall time: on a machine shared with other work it is the steadier figure.
BENCHMARK(BM_TrainStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->Iterations(5);

void BM_Score(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const auto config = reference_config();
  r1::Transformer<r1::cpu> model(config);
  model.init_random(0);
  const auto batch = reference_batch(config.vocab_size);
  r1::TokenScores scores;
  model.score(batch, 1.0f, scores);  // warm-up
  for (auto _ : state) {
    model.score(batch, 1.0f, scores);
    benchmark::DoNotOptimize(scores.logprobs.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(double(kBatch) * kSeq, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Score)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->Iterations(5);

double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2), values.end());
  return values[values.size() / 2];
}

// The peak: r1's forward GEMM at the q/k/v projection's shape (N = 2048 rows, 256 -> 768), through the same row
// split r1 uses, on buffers hot in the cache: r1's fastest GEMM on this machine (BM_GemmPeak, and interleaved with
// BM_StepMatmuls below).
struct PeakGemm {
  static constexpr Eigen::Index kRows = kBatch * kSeq, kIn = 256, kOut = 768;
  r1::AlignedVector<float> x = r1::AlignedVector<float>(static_cast<std::size_t>(kRows * kIn), 0.5f);
  r1::AlignedVector<float> w = r1::AlignedVector<float>(static_cast<std::size_t>(kOut * kIn), 0.25f);
  r1::AlignedVector<float> y = r1::AlignedVector<float>(static_cast<std::size_t>(kRows * kOut));
  static double flops() { return 2.0 * double(kRows) * kIn * kOut; }
  void run() { r1::linear_forward(x.data(), w.data(), static_cast<const float*>(nullptr), kRows, kIn, kOut, y.data()); }
  // GFLOP/s of the median of `calls` calls (after one to warm the cache).
  double gflops(int calls) {
    run();
    std::vector<double> seconds;
    for (int i = 0; i < calls; ++i) {
      const auto start = std::chrono::steady_clock::now();
      run();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return flops() * 1e-9 / median(seconds);
  }
};

// The matmuls of one train step alone: every linear layer's forward, input gradient and weight gradient at
// the reference shapes (N = kBatch * kSeq rows), through the same r1 calls the model makes, on buffers of the
// model's sizes. Its GFLOP/s is the step's "matmul share" rate; step time minus this time is what the rest
// (attention, norms, activations, loss, AdamW) costs. After each iteration (outside its time) the peak GEMM
// runs kPeakCalls times: "% of peak" is the median over iterations of the iteration's matmul rate over the
// peak measured right after it, so a machine whose speed drifts (tens of % within minutes on a shared VM)
// moves both alike; "peak GFLOP/s" is the median of those peaks.
void BM_StepMatmuls(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const auto c = reference_config();
  const Eigen::Index N = kBatch * kSeq, D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const Eigen::Index A = c.num_attention_heads * c.head_dim(), KW = c.num_key_value_heads * c.head_dim();
  struct Shape {
    Eigen::Index in, out;
  };
  std::vector<Shape> shapes;
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    shapes.push_back({D, A + 2 * KW});  // q, k, v
    shapes.push_back({A, D});           // o
    shapes.push_back({D, 2 * F});  // gate, up
    shapes.push_back({F, D});      // down
  }
  shapes.push_back({D, V});  // lm_head
  // 64-byte aligned, as the model's parameters and activations are (AlignedVector).
  std::vector<r1::AlignedVector<float>> weights, grads, inputs, outputs, d_inputs;
  for (const auto& shape : shapes) {
    weights.emplace_back(static_cast<std::size_t>(shape.in * shape.out), 0.01f);
    grads.emplace_back(static_cast<std::size_t>(shape.in * shape.out), 0.0f);
    inputs.emplace_back(static_cast<std::size_t>(N * shape.in), 0.5f);
    d_inputs.emplace_back(static_cast<std::size_t>(N * shape.in), 0.0f);
    outputs.emplace_back(static_cast<std::size_t>(N * shape.out), 0.0f);
  }
  double flops = 0;
  for (const auto& shape : shapes) flops += 6.0 * double(N) * double(shape.in) * double(shape.out);
  constexpr int kPeakCalls = 8;
  PeakGemm peak;
  std::vector<double> peaks, ratios;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < shapes.size(); ++i)
      r1::linear_forward(inputs[i].data(), weights[i].data(), static_cast<const float*>(nullptr), N, shapes[i].in,
                         shapes[i].out, outputs[i].data());
    for (std::size_t i = shapes.size(); i-- > 0;) {
      r1::linear_backward_input(outputs[i].data(), weights[i].data(), N, shapes[i].in, shapes[i].out, d_inputs[i].data());
      r1::linear_backward_weight(outputs[i].data(), inputs[i].data(), N, shapes[i].in, shapes[i].out, grads[i].data(),
                                 static_cast<float*>(nullptr));
    }
    benchmark::DoNotOptimize(grads.back().data());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
    peaks.push_back(peak.gflops(kPeakCalls));
    ratios.push_back(flops * 1e-9 / seconds / peaks.back());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak GFLOP/s"] = median(peaks);
  state.counters["% of peak"] = 100.0 * median(ratios);
}
// Manual time: the matmuls' own; the process CPU time would include the peak's calls.
BENCHMARK(BM_StepMatmuls)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(15);

void BM_GemmPeak(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  PeakGemm peak;
  for (auto _ : state) {
    peak.run();
    benchmark::DoNotOptimize(peak.y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(PeakGemm::flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemmPeak)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->MinTime(1.0);

// One layer's attention of the reference batch, forward and backward (the step does this 4 times), in
// causal GFLOP/s: 4 E T(T+1)/2 per head and sequence for the forward's two products, twice that backward.
void BM_Attention(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  const auto c = reference_config();
  const r1::AttentionHeads shape{c.num_attention_heads, c.num_key_value_heads, c.head_dim()};
  const std::int64_t T = kSeq + 1, N = kBatch * T;
  std::vector<std::int64_t> offsets;
  for (std::int64_t s = 0; s <= kBatch; ++s) offsets.push_back(s * T);
  r1::Philox rng(0);
  std::vector<float> qkv(static_cast<std::size_t>(N * shape.qkv_width())), d_out(static_cast<std::size_t>(N * shape.q_width()));
  for (auto& value : qkv) value = static_cast<float>(rng.normal());
  for (auto& value : d_out) value = static_cast<float>(rng.normal());
  std::vector<float> out(d_out.size()), lse(static_cast<std::size_t>(N * shape.heads)), d_qkv(qkv.size());
  r1::AttentionScratch<float> scratch;
  const std::span<const std::int64_t> spans(offsets);
  for (auto _ : state) {
    r1::attention_forward_packed(qkv.data(), spans, shape, out.data(), lse.data(), scratch);
    r1::attention_backward_packed(d_out.data(), qkv.data(), out.data(), lse.data(), spans, shape, d_qkv.data(), scratch);
    benchmark::DoNotOptimize(d_qkv.data());
  }
  const double causal = 0.5 * double(T) * double(T + 1) * double(shape.head_dim) * double(shape.heads) * kBatch;
  state.counters["causal GFLOP/s"] = benchmark::Counter(12.0 * causal * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->MinTime(0.5);

// The optimizer's share of a step: AdamW over the reference model's parameters, which reads the parameters,
// gradients and both moments and writes three of them back (28 bytes a parameter), against a plain loop moving
// as many bytes (3 streams read and written, 1 read) over buffers of the same size: the memory-bound peer.
void BM_AdamWStep(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  r1::Transformer<r1::cpu> model(reference_config());
  model.init_random(0);
  for (const auto& parameter : model.parameters()) std::fill(parameter.grad.begin(), parameter.grad.end(), 1e-3f);
  r1::AdamW optimizer(r1::AdamWConfig{3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f});
  optimizer.step(model.parameters());  // sizes the moments
  double count = 0;
  for (const auto& parameter : model.parameters()) count += static_cast<double>(parameter.value.size());
  for (auto _ : state) {
    optimizer.step(model.parameters());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(28.0 * count * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AdamWStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->MinTime(0.5);

void BM_AdamWBytesPeer(benchmark::State& state) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(state.range(0)));
  r1::Transformer<r1::cpu> model(reference_config());
  std::size_t count = 0;
  for (const auto& parameter : model.parameters()) count += parameter.value.size();
  std::vector<float> a(count, 1.0f), b(count, 2.0f), c(count, 3.0f), d(count, 4.0f);
  for (auto _ : state) {
    r1::parallel_chunks(static_cast<std::int64_t>(count), r1::chunk_count(static_cast<std::int64_t>(count), 1 << 15),
                        [&](int, std::int64_t begin, std::int64_t end) {
                          for (std::int64_t k = begin; k < end; ++k) {
                            const float g = d[static_cast<std::size_t>(k)];
                            a[static_cast<std::size_t>(k)] += g;
                            b[static_cast<std::size_t>(k)] += g;
                            c[static_cast<std::size_t>(k)] += g;
                          }
                        });
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(28.0 * static_cast<double>(count) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AdamWBytesPeer)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime()->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
