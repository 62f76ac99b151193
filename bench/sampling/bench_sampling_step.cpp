// The sampling half of a decode step (processors + draw + bookkeeping), apart
// from the model: a replay model hands back fixed random logits, so the time
// KvSampler reports as sampling_ms is all there is to measure. Each shape runs
// serially and over oneTBB, which is the evidence for
// KvSampler::kParallelSamplingElements.
//
//   bench_sampling_step        # threads: R1_THREADS, else 2
//
// Args: vocab, rows (sequences decoded together), parallel (0/1), eval
// (0 = temperature 1, no truncation; 1 = R1's evaluation setting, temperature
// 0.6 + top-p 0.95, which sorts the vocabulary). Counter: rows_per_s (sampled
// tokens per second of sampling time).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/sampling/kv_sampler.hpp"

namespace {

// Logits from a fixed table of rows (normal, sd 2), chosen by slot and position.
class ReplayModel {
 public:
  struct Cache {
    std::vector<int> lengths;
  };
  explicit ReplayModel(std::int64_t vocab) : vocab_(vocab), table_(static_cast<std::size_t>(kRows * vocab)) {
    r1::Philox rng(3);
    for (auto& logit : table_) logit = static_cast<float>(2.0 * rng.normal());
  }
  std::int64_t vocab_size() const { return vocab_; }
  void score(const r1::TokenBatch&, float, r1::TokenScores&) {}
  void backward(const r1::TokenBatch&, std::span<const float>, std::span<const float>) {}
  void zero_grad() {}
  std::span<const r1::ParameterView> parameters() { return {}; }
  Cache make_cache(int slots, int) const { return Cache{std::vector<int>(static_cast<std::size_t>(slots), 0)}; }
  void prefill(Cache& cache, std::span<const std::int32_t> slots, const r1::TokenBatch& prompts, std::span<float> logits) {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      cache.lengths[static_cast<std::size_t>(slots[s])] = static_cast<int>(prompts.length(s));
      fill(cache, slots[s], logits, s);
    }
  }
  void decode(Cache& cache, std::span<const std::int32_t> slots, std::span<const r1::TokenId>, std::span<float> logits) {
    for (std::size_t s = 0; s < slots.size(); ++s) {
      ++cache.lengths[static_cast<std::size_t>(slots[s])];
      fill(cache, slots[s], logits, s);
    }
  }
  void copy_slot(Cache& cache, int from, int to) {
    cache.lengths[static_cast<std::size_t>(to)] = cache.lengths[static_cast<std::size_t>(from)];
  }

 private:
  static constexpr std::int64_t kRows = 61;  // prime: slot and position mix
  void fill(const Cache& cache, std::int32_t slot, std::span<float> logits, std::size_t row) const {
    const auto source = static_cast<std::size_t>((slot * 7 + cache.lengths[static_cast<std::size_t>(slot)]) % kRows);
    const auto vocab = static_cast<std::size_t>(vocab_);
    std::copy_n(table_.data() + source * vocab, vocab, logits.data() + row * vocab);
  }
  std::int64_t vocab_;
  std::vector<float> table_;
};
static_assert(r1::Model<ReplayModel>);

void BM_sampling_step(benchmark::State& state) {
  const auto vocab = state.range(0);
  const auto rows = static_cast<int>(state.range(1));
  const bool parallel = state.range(2) != 0, eval = state.range(3) != 0;
  ReplayModel model(vocab);
  const std::vector<std::vector<r1::TokenId>> prompts(static_cast<std::size_t>(rows), std::vector<r1::TokenId>{1, 2, 3});
  r1::SamplerConfig config;
  config.max_new_tokens = 16;
  if (eval) {
    config.temperature = 0.6f;
    config.top_p = 0.95f;
  }
  r1::KvSampler sampler{config};
  sampler.set_parallel_sampling_threshold(parallel ? 0 : std::numeric_limits<std::size_t>::max());
  r1::GenerationRequest request;
  request.prompts = prompts;
  double sampling_ms = 0.0;
  std::int64_t sampled = 0;
  for (auto _ : state) {
    const auto completions = sampler.generate(model, request);
    benchmark::DoNotOptimize(completions.data());
    sampling_ms += sampler.last_stats().sampling_ms;
    sampled += sampler.last_stats().new_tokens;
  }
  state.counters["rows_per_s"] = sampling_ms > 0.0 ? sampled * 1e3 / sampling_ms : 0.0;
  state.counters["threads"] = r1::active_threads();
}
BENCHMARK(BM_sampling_step)
    ->ArgNames({"vocab", "rows", "parallel", "eval"})
    ->ArgsProduct({{512, 32768, 151936}, {8, 64}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  r1::ThreadLimit threads{r1::threads_from_environment(2)};
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
