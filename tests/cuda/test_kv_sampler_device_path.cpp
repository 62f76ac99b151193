// KvSampler's device-decoding path (run_wave_on_device), driven without a GPU: a host model
// that exposes the DeviceSamplingModel capability (prefill_device / decode_device keep the last
// logits "on the device", sample_device draws from them in vocabulary order in double, the
// contract of kernels/sampling.cu) around Transformer<cpu>. What the path must do, whatever
// the device: each sample's first token drawn from its prompt's prefill row, later ones from
// its own decode row; behaviour log-probs that are the model's log-probs at the temperature;
// the same uniforms (seed, step, prompt, sample, position) as the host path; and the host path
// whenever the config asks for a processor the device does not run.
#include <doctest/doctest.h>

#include <cmath>
#include <span>
#include <vector>

#include "r1/model/transformer.hpp"
#include "r1/sampling/kv_sampler.hpp"

namespace {

r1::ModelConfig tiny_config() {
  r1::ModelConfig config;
  config.vocab_size = 16;
  config.hidden_size = 32;
  config.intermediate_size = 64;
  config.num_hidden_layers = 2;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.tie_word_embeddings = true;
  return config;
}

struct HostDeviceModel {
  using Cache = r1::Transformer<r1::cpu>::Cache;
  explicit HostDeviceModel(r1::Transformer<r1::cpu>& wrapped) : model(&wrapped) {}
  r1::Transformer<r1::cpu>* model;
  std::vector<float> last_logits;
  std::int64_t last_rows = 0;
  int host_logits_calls = 0, sample_calls = 0;
  std::vector<std::int32_t> first_rows;  // the rows of the first sample_device call

  // r1::Model, forwarded.
  std::int64_t vocab_size() const { return model->vocab_size(); }
  void score(const r1::TokenBatch& b, float t, r1::TokenScores& s) { model->score(b, t, s); }
  void backward(const r1::TokenBatch& b, std::span<const float> a, std::span<const float> c) { model->backward(b, a, c); }
  void zero_grad() { model->zero_grad(); }
  std::span<const r1::ParameterView> parameters() { return model->parameters(); }
  Cache make_cache(int slots, int positions) const { return model->make_cache(slots, positions); }
  void prefill(Cache& c, std::span<const std::int32_t> s, const r1::TokenBatch& p, std::span<float> l) {
    ++host_logits_calls;
    model->prefill(c, s, p, l);
  }
  void decode(Cache& c, std::span<const std::int32_t> s, std::span<const r1::TokenId> t, std::span<float> l) {
    ++host_logits_calls;
    model->decode(c, s, t, l);
  }
  void copy_slot(Cache& c, int from, int to) { model->copy_slot(c, from, to); }

  // The device-decoding capability.
  void prefill_device(Cache& c, std::span<const std::int32_t> s, const r1::TokenBatch& p) {
    last_rows = static_cast<std::int64_t>(s.size());
    last_logits.assign(s.size() * static_cast<std::size_t>(vocab_size()), 0.0f);
    model->prefill(c, s, p, last_logits);
  }
  void decode_device(Cache& c, std::span<const std::int32_t> s, std::span<const r1::TokenId> t) {
    last_rows = static_cast<std::int64_t>(s.size());
    last_logits.assign(s.size() * static_cast<std::size_t>(vocab_size()), 0.0f);
    model->decode(c, s, t, last_logits);
  }
  // Temperature only (top-k / top-p off, which this twin requires): inverse CDF in vocabulary order.
  void sample_device(std::span<const std::int32_t> rows, std::span<const float> uniforms, float temperature, int top_k,
                     float top_p, std::int64_t decodable, std::span<r1::TokenId> tokens, std::span<float> logprobs) {
    REQUIRE(top_k == 0);
    REQUIRE(top_p == 1.0f);
    REQUIRE(temperature > 0.0f);
    if (sample_calls++ == 0) first_rows.assign(rows.begin(), rows.end());
    const auto V = static_cast<std::size_t>(vocab_size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(rows[i] >= 0);
      REQUIRE(rows[i] < last_rows);
      const float* row = last_logits.data() + static_cast<std::size_t>(rows[i]) * V;
      double top = -INFINITY, total = 0;
      for (std::int64_t j = 0; j < decodable; ++j) top = std::max(top, double(row[j]));
      for (std::int64_t j = 0; j < decodable; ++j) total += std::exp((row[j] - top) / temperature);
      double left = uniforms[i] * total;
      std::int64_t picked = decodable - 1;
      for (std::int64_t j = 0; j < decodable; ++j) {
        const double e = std::exp((row[j] - top) / temperature);
        if (left < e) {
          picked = j;
          break;
        }
        left -= e;
      }
      tokens[i] = static_cast<r1::TokenId>(picked);
      logprobs[i] = static_cast<float>((row[picked] - top) / temperature - std::log(total));
    }
  }
};

static_assert(r1::Model<HostDeviceModel>);
static_assert(r1::DeviceSamplingModel<HostDeviceModel>);
static_assert(!r1::DeviceSamplingModel<r1::Transformer<r1::cpu>>);

}  // namespace

TEST_CASE("KvSampler's device path: prefill rows, behaviour log-probs, and the host path for other processors") {
  r1::Transformer<r1::cpu> cpu(tiny_config());
  cpu.init_random(5, 0.3f);
  HostDeviceModel model(cpu);
  const std::vector<std::vector<r1::TokenId>> prompts{{3, 1, 4}, {1, 5, 9, 2, 6}};
  const int group = 3;
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = group;
  request.seed = 7;
  r1::SamplerConfig config;
  config.temperature = 0.8f;
  config.max_new_tokens = 6;
  r1::KvSampler sampler(config);
  const auto completions = sampler.generate(model, request);
  CHECK(model.host_logits_calls == 0);  // no vocabulary-sized row crossed to the sampler
  CHECK(model.sample_calls == 6);       // one draw per step, all live rows at once
  CHECK(model.first_rows == std::vector<std::int32_t>{0, 0, 0, 1, 1, 1});  // each prompt's prefill row, G times

  // The behaviour log-probs are the model's log-probs at the temperature: score() of prompt + completion.
  // Both are fp32 forward passes of the CPU model by different routes (prefill/decode vs score); the
  // bound is the lockstep derivation of tests/cuda/test_gpu_transformer.cpp for reductions of at most
  // n = 32 terms (D = 32, V = 16, F = 64, T <= 11): 2 sides x 23 ops x 32 u x kappa 8 = 7e-4 of (1 + |log p|).
  r1::TokenBatch batch;
  for (std::size_t i = 0; i < completions.size(); ++i) {
    REQUIRE(completions[i].ids.size() == 6);
    std::vector<r1::TokenId> sequence = prompts[i / group];
    sequence.insert(sequence.end(), completions[i].ids.begin(), completions[i].ids.end());
    batch.push_back(sequence, static_cast<std::int64_t>(prompts[i / group].size()));
  }
  r1::TokenScores scores;
  cpu.score(batch, config.temperature, scores);
  for (std::size_t i = 0; i < completions.size(); ++i)
    for (std::size_t t = 0; t < 6; ++t) {
      const float trained = scores.logprobs[static_cast<std::size_t>(batch.offsets[i]) + prompts[i / group].size() + t];
      INFO("completion ", i, " token ", t);
      CHECK(std::abs(completions[i].logprobs[t] - trained) <= 7e-4 * (1 + std::abs(trained)));
    }
  // The uniforms are a pure function of (seed, step, prompt, sample, position): the same draws again.
  const auto again = sampler.generate(model, request);
  for (std::size_t i = 0; i < completions.size(); ++i) CHECK(again[i].ids == completions[i].ids);

  // A repetition penalty is a host processor: the host path runs, with vocabulary-sized rows.
  r1::SamplerConfig penalised = config;
  penalised.repetition_penalty = 1.3f;
  model.host_logits_calls = model.sample_calls = 0;
  r1::KvSampler host_sampler(penalised);
  const auto host_completions = host_sampler.generate(model, request);
  CHECK(model.sample_calls == 0);
  CHECK(model.host_logits_calls == 6);  // one prefill, five decode steps
  CHECK(host_completions.size() == completions.size());
}
