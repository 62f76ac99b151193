// Greedy decoding at a real checkpoint's shape (random weights; issue 26): decode tokens/s at each batch and
// sampling-weight storage, and the bytes one decode step must stream, so that run_decode.sh can put it
// against the read-bandwidth roofline of bench/memory/bench_bandwidth.
//
//   R1_THREADS=2 bench_decode --config bench/real_shapes/qwen2.5-0.5b.config.json --batch 1,8 --weights fp32,bf16
//
// Per (weights, batch), after one warm-up round: `rounds` times, prefill `batch` random prompts of
// prompt_tokens (timed apart), then new_tokens decode steps, each feeding every sequence its previous argmax
// (greedy, no end-of-sequence). Decode tokens/s = batch x new_tokens / decode time, median over rounds.
//
// Bytes a decode step streams (the roofline's numerator): every weight matrix of every layer (q/k/v, o,
// gate/up, down) and the LM head, 4 bytes each in fp32 and 2 in bf16 (the tied head is the embedding
// matrix, read once); norms and biases (fp32 always); the batch's embedding rows (read from the fp32 table
// in either storage); and the KV cache (fp32): each
// sequence reads its keys and values at every layer, 2 x L x kv_width x context x 4 bytes with context
// averaged over the steps (prompt_tokens + (new_tokens + 1) / 2), and writes one position's. Activations
// stay in cache and are not counted.
//
// The model is BasicTransformer<float>, the class Transformer<cpu> wraps (same prefill/decode code), made
// with_frozen_base: Transformer<cpu>(config) would also zero-fill a 2 GB gradient buffer decoding never
// touches. Prints one JSON line per (weights, batch) on stdout, a summary on stderr; bf16 lines name the
// arithmetic of the few-rows bf16 kernel (few_rows_bf16_path(): AMX tiles, vdpbf16ps or widening to fp32, as
// the CPU allows), which bench_decode_widen (built with R1_FEW_ROWS_BF16_WIDEN) forces to the widening one.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/config.hpp"
#include "r1/model/gemm/few_rows_linear_bf16.hpp"

namespace {

using Model = r1::BasicTransformer<float>;
using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct StepBytes {
  double weights = 0, norms_and_biases = 0, embedding_rows = 0, kv_cache = 0;
  double total() const { return weights + norms_and_biases + embedding_rows + kv_cache; }
};

StepBytes decode_step_bytes(const r1::ModelConfig& c, r1::WeightStorage storage, int batch, int prompt_tokens,
                            int new_tokens) {
  const double D = static_cast<double>(c.hidden_size), F = static_cast<double>(c.intermediate_size);
  const double V = static_cast<double>(c.vocab_size), L = static_cast<double>(c.num_hidden_layers);
  const double E = static_cast<double>(c.head_dim());
  const double A = static_cast<double>(c.num_attention_heads) * E, KW = static_cast<double>(c.num_key_value_heads) * E;
  const double weight_bytes = storage == r1::WeightStorage::bf16 ? 2.0 : 4.0;
  const double per_layer_matrices = (A + 2 * KW) * D + D * A + 2 * F * D + D * F;
  StepBytes bytes;
  bytes.weights = weight_bytes * (L * per_layer_matrices + V * D);  // tied or not, one V x D head is read
  const double biases = c.attention_bias ? A + 2 * KW : 0.0;
  bytes.norms_and_biases = 4.0 * (L * (2 * D + biases) + D);
  bytes.embedding_rows = 4.0 * batch * D;
  const double mean_context = prompt_tokens + (new_tokens + 1) / 2.0;
  bytes.kv_cache = 4.0 * batch * L * 2 * KW * (mean_context + 1);  // read the context, write the new position
  return bytes;
}

std::vector<std::int32_t> argmax_rows(const std::vector<float>& logits, int rows, std::int64_t vocab) {
  std::vector<std::int32_t> ids(static_cast<std::size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    const float* row = logits.data() + r * vocab;
    ids[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(std::max_element(row, row + vocab) - row);
  }
  return ids;
}

struct RoundResult {
  double prefill_ms = 0, decode_ms = 0;
  std::vector<double> step_ms;
  std::vector<std::int32_t> generated;  // (new_tokens, batch)
};

RoundResult decode_round(Model& model, Model::Cache& cache, const std::vector<std::vector<r1::TokenId>>& prompts,
                         int new_tokens) {
  const int batch = static_cast<int>(prompts.size());
  const std::int64_t V = model.vocab_size();
  std::vector<std::int32_t> slots(static_cast<std::size_t>(batch));
  r1::TokenBatch sequences;
  for (int s = 0; s < batch; ++s) {
    slots[static_cast<std::size_t>(s)] = s;
    cache.reset(s);
    sequences.push_back(prompts[static_cast<std::size_t>(s)]);
  }
  std::vector<float> logits(static_cast<std::size_t>(batch * V));
  RoundResult result;
  auto start = Clock::now();
  model.extend(cache, slots, sequences, logits);
  std::vector<std::int32_t> next = argmax_rows(logits, batch, V);
  result.prefill_ms = milliseconds_since(start);
  for (int step = 0; step < new_tokens; ++step) {
    start = Clock::now();
    model.decode(cache, slots, std::vector<r1::TokenId>(next.begin(), next.end()), logits);
    next = argmax_rows(logits, batch, V);
    result.step_ms.push_back(milliseconds_since(start));
    result.generated.insert(result.generated.end(), next.begin(), next.end());
  }
  for (const double ms : result.step_ms) result.decode_ms += ms;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Greedy decode tokens/s at a checkpoint's shape, random weights (issue 26)"};
  std::string config_path;
  std::vector<int> batches{1, 8};
  std::vector<std::string> storages{"fp32", "bf16"};
  int prompt_tokens = 32, new_tokens = 64, rounds = 3;
  std::uint64_t seed = 0;
  app.add_option("--config", config_path, "HF config.json of the shape")->required()->check(CLI::ExistingFile);
  app.add_option("--batch", batches, "batch sizes (sequences decoded together)")->delimiter(',')->check(CLI::Range(1, 16));
  app.add_option("--weights", storages, "sampling weight storage: fp32, bf16")
      ->delimiter(',')->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--prompt-tokens", prompt_tokens, "tokens per prompt (prefill)")->check(CLI::PositiveNumber);
  app.add_option("--new-tokens", new_tokens, "decode steps per round")->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "timed rounds per (weights, batch); medians are reported")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "seed of the random weights and prompts");
  CLI11_PARSE(app, argc, argv);

  r1::ThreadLimit threads{r1::threads_from_environment(2)};
  const r1::ModelConfig config = r1::ModelConfig::load(config_path);
  auto start = Clock::now();
  Model model = Model::with_frozen_base(config);
  model.init_random(seed);
  std::cerr << "bench_decode: " << config_path << ", " << model.parameter_count() << " parameters, random init in "
            << milliseconds_since(start) / 1e3 << " s, " << r1::active_threads() << " threads; bf16 decode products: "
            << r1::few_rows_bf16_path() << "\n";

  const int max_batch = *std::max_element(batches.begin(), batches.end());
  r1::Philox rng(seed + 1);
  std::vector<std::vector<r1::TokenId>> all_prompts(static_cast<std::size_t>(max_batch),
                                                    std::vector<r1::TokenId>(static_cast<std::size_t>(prompt_tokens)));
  for (auto& prompt : all_prompts)
    for (auto& token : prompt) token = static_cast<r1::TokenId>(rng() % static_cast<std::uint64_t>(config.vocab_size));

  std::map<int, std::vector<std::int32_t>> fp32_tokens;  // batch -> fp32's greedy tokens, to compare bf16's with
  for (const std::string& storage_name : storages) {
    const auto storage = storage_name == "bf16" ? r1::WeightStorage::bf16 : r1::WeightStorage::full;
    model.set_sampling_storage(storage);
    for (const int batch : batches) {
      const std::vector<std::vector<r1::TokenId>> prompts(all_prompts.begin(), all_prompts.begin() + batch);
      auto cache = model.make_cache(batch, prompt_tokens + new_tokens);
      start = Clock::now();
      const RoundResult warm_up = decode_round(model, cache, prompts, new_tokens);  // sizes buffers, makes the bf16 copy
      const double warm_up_ms = milliseconds_since(start);
      std::vector<double> prefill_ms, decode_ms, step_ms;
      for (int round = 0; round < rounds; ++round) {
        const RoundResult result = decode_round(model, cache, prompts, new_tokens);
        prefill_ms.push_back(result.prefill_ms);
        decode_ms.push_back(result.decode_ms);
        step_ms.insert(step_ms.end(), result.step_ms.begin(), result.step_ms.end());
        r1::require(result.generated == warm_up.generated, "bench_decode: greedy tokens changed between rounds");
      }
      if (storage == r1::WeightStorage::full) fp32_tokens[batch] = warm_up.generated;
      const StepBytes bytes = decode_step_bytes(config, storage, batch, prompt_tokens, new_tokens);
      const double decode_s = median(decode_ms) / 1e3;
      r1::Json line;
      line["weights"] = storage_name;
      if (storage == r1::WeightStorage::bf16) line["bf16_path"] = r1::few_rows_bf16_path();
      line["batch"] = batch;
      line["threads"] = r1::active_threads();
      line["prompt_tokens"] = prompt_tokens;
      line["new_tokens"] = new_tokens;
      line["rounds"] = rounds;
      line["decode_tokens_per_s"] = batch * new_tokens / decode_s;
      line["decode_step_ms_median"] = median(step_ms);
      line["decode_step_ms_min"] = *std::min_element(step_ms.begin(), step_ms.end());
      line["prefill_ms_median"] = median(prefill_ms);
      line["warm_up_round_ms"] = warm_up_ms;
      line["bytes_per_step"] = bytes.total();
      line["bytes_per_step_parts"] = {{"weight_matrices", bytes.weights},
                                      {"norms_and_biases", bytes.norms_and_biases},
                                      {"embedding_rows", bytes.embedding_rows},
                                      {"kv_cache", bytes.kv_cache}};
      line["achieved_GB_per_s"] = bytes.total() * new_tokens / decode_s / 1e9;
      if (const auto reference = fp32_tokens.find(batch); reference != fp32_tokens.end()) {
        std::size_t same = 0;
        for (std::size_t i = 0; i < warm_up.generated.size(); ++i) same += warm_up.generated[i] == reference->second[i];
        line["greedy_tokens_equal_to_fp32"] = static_cast<double>(same) / static_cast<double>(warm_up.generated.size());
      }
      std::cout << line.dump() << std::endl;
      std::cerr << "  " << storage_name << " batch " << batch << ": " << line["decode_tokens_per_s"].get<double>()
                << " tokens/s, step " << median(step_ms) << " ms, " << line["achieved_GB_per_s"].get<double>()
                << " GB/s, prefill " << median(prefill_ms) << " ms\n";
    }
  }
  return 0;
}
