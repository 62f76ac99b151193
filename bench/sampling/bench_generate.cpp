// Generation throughput of r1::KvSampler over r1::Transformer<r1::cpu>, the
// reference model of the model issue (d 256, 4 layers, 4 heads, vocab 512,
// SwiGLU 768, untied head): 8 prompts of 16 random tokens, 128 new tokens each
// sampled at temperature 1 with no early stop, G = 1 (batch 8) and G = 8
// (batch 64, one prefill per prompt shared by its 8 samples); BM_generate_one_prompt: one prompt, batch 1.
//
//   bench_generate                       # threads: R1_THREADS, else 2
//   compare_with_torch.py BUILD_DIR      # this and the PyTorch peer in the same run, with the ratio
//
// Counters: new_tokens_per_s (all completions' tokens / wall time of generate,
// prefill included), forward_share (fraction of that time in the model's calls), step_us (that wall time
// per decode step).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/config.hpp"
#include "r1/model/transformer.hpp"
#include "r1/sampling/kv_sampler.hpp"

namespace {

r1::ModelConfig reference_config() {
  r1::ModelConfig config;
  config.model_type = "llama";
  config.vocab_size = 512;
  config.hidden_size = 256;
  config.intermediate_size = 768;
  config.num_hidden_layers = 4;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 4;
  config.max_position_embeddings = 512;
  config.rms_norm_eps = 1e-5;
  return config;
}

// The reference model, made once: init_random's normal draws (log, cos) would otherwise run at every
// benchmark call and show up in a profile of generation.
r1::Transformer<r1::cpu>& reference_model() {
  static r1::Transformer<r1::cpu> model(reference_config());
  static const bool initialised = (model.init_random(/*seed=*/0), true);
  (void)initialised;
  return model;
}

// `prompt_count` prompts x G = state.range(0) samples each.
void run_generate(benchmark::State& state, int prompt_count) {
  constexpr int kPromptLength = 16, kNewTokens = 128;
  const auto samples_per_prompt = static_cast<int>(state.range(0));
  auto& model = reference_model();
  r1::Philox rng(1);
  std::vector<std::vector<r1::TokenId>> prompts(static_cast<std::size_t>(prompt_count),
                                                std::vector<r1::TokenId>(kPromptLength));
  for (auto& prompt : prompts)
    for (auto& token : prompt) token = static_cast<r1::TokenId>(rng() % 512);

  r1::SamplerConfig config;
  config.temperature = 1.0f;
  config.max_new_tokens = kNewTokens;
  r1::KvSampler sampler{config};
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = samples_per_prompt;
  request.seed = 1;
  sampler.generate(model, request);  // warm-up: the model sizes its inference buffers

  double forward_ms = 0.0, total_ms = 0.0;
  std::int64_t new_tokens = 0, decode_steps = 0;
  for (auto _ : state) {
    const auto completions = sampler.generate(model, request);
    benchmark::DoNotOptimize(completions.data());
    forward_ms += sampler.last_stats().forward_ms;
    total_ms += sampler.last_stats().total_ms;
    new_tokens += sampler.last_stats().new_tokens;
    decode_steps += sampler.last_stats().decode_steps;
  }
  state.counters["batch"] = prompt_count * samples_per_prompt;
  state.counters["threads"] = r1::active_threads();
  state.counters["new_tokens_per_s"] = benchmark::Counter(static_cast<double>(new_tokens), benchmark::Counter::kIsRate);
  state.counters["forward_share"] = total_ms > 0.0 ? forward_ms / total_ms : 0.0;
  // Wall time of generate per decode step (prefill and sampling included, spread over the steps).
  state.counters["step_us"] = decode_steps > 0 ? total_ms * 1e3 / static_cast<double>(decode_steps) : 0.0;
}

void BM_generate(benchmark::State& state) { run_generate(state, 8); }
BENCHMARK(BM_generate)->ArgName("G")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// One sequence: batch 1, where a decode step's fixed costs weigh most.
void BM_generate_one_prompt(benchmark::State& state) { run_generate(state, 1); }
BENCHMARK(BM_generate_one_prompt)->ArgName("G")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  r1::ThreadLimit threads{r1::threads_from_environment(2)};
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
