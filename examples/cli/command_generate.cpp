// r1 generate: sample completions for JSONL prompts with a model directory.
//   r1 generate --model DIR [--tokenizer PATH] [--weights fp32|bf16] [FILE]
// In, one object a line: {"ids": [...]} or {"prompt": "..."} (the latter needs a
// tokenizer: --tokenizer, else DIR/tokenizer.json when present).
// Out, one line per input line, in order:
//   {"completions": [{"ids": [...], "text": "...", "logprobs": [...], "finish_reason": "eos"|"stop"|"length"}]}
// ("text" only with a tokenizer). Completion j of line i is keyed (--seed, i, j),
// so the output does not depend on --batch-lines or --threads.
// EOS: the model config's eos_token_id and the tokenizer's EOS, unless --ignore-eos.
// --stream writes the first sample's text of each line to stderr as it is generated.
// --device cuda generates on the GPU (Transformer<cuda>, which reads bf16 weights; device.hpp); --adapter and
// --weights are the CPU model's.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "device.hpp"
#include "r1/core/json.hpp"
#include "r1/model/transformer.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/sampling/sampler_config.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"
#include "r1/tokenizer/stream_decoder.hpp"

namespace {

struct GenerateOptions {
  std::string model_dir;
  std::string tokenizer_path;
  std::string input;
  std::string sampler_config_path;
  int samples = 1;
  float temperature = 1.0f;
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  int max_new_tokens = 256;
  std::vector<std::string> stop;
  std::vector<r1::TokenId> stop_token_ids;
  std::vector<r1::TokenId> banned_token_ids;
  std::uint64_t seed = 0;
  bool ignore_eos = false;
  bool stream = false;
  std::string weights = "fp32";
  std::string adapter;
  int batch_lines = 16;
  std::string device = "cpu";
};

std::optional<r1::BpeTokenizer> load_tokenizer(const GenerateOptions& options) {
  std::string path = options.tokenizer_path;
  std::error_code ignored;
  if (path.empty()) {
    const auto beside_model = std::filesystem::path(options.model_dir) / "tokenizer.json";
    if (!std::filesystem::exists(beside_model, ignored)) return std::nullopt;
    path = beside_model.string();
  } else if (std::filesystem::is_directory(path, ignored)) {
    path = (std::filesystem::path(path) / "tokenizer.json").string();
  }
  return r1::BpeTokenizer::from_file(path);
}

// Flags override --sampler-config, which overrides the defaults.
template <class Model>
r1::SamplerConfig sampler_config(const GenerateOptions& options, const CLI::App& command, const Model& model,
                                 const std::optional<r1::BpeTokenizer>& tokenizer) {
  r1::SamplerConfig config;
  if (!options.sampler_config_path.empty()) config = r1::load_sampler_config(options.sampler_config_path);
  const auto given = [&](const char* flag) { return command.count(flag) > 0; };
  if (given("--temperature")) config.temperature = options.temperature;
  if (given("--top-k")) config.top_k = options.top_k;
  if (given("--top-p")) config.top_p = options.top_p;
  if (given("--min-p")) config.min_p = options.min_p;
  if (given("--repetition-penalty")) config.repetition_penalty = options.repetition_penalty;
  if (given("--max-new-tokens")) config.max_new_tokens = options.max_new_tokens;
  if (given("--stop")) config.stop_strings = options.stop;
  if (given("--stop-token-id")) config.stop_token_ids = options.stop_token_ids;
  if (given("--banned-token-id")) config.banned_token_ids = options.banned_token_ids;
  if (options.ignore_eos) {
    config.eos_token_ids.clear();
  } else if (config.eos_token_ids.empty()) {
    if (model.config().eos_token_id >= 0) config.eos_token_ids.push_back(static_cast<r1::TokenId>(model.config().eos_token_id));
    if (tokenizer && tokenizer->eos_token_id() && *tokenizer->eos_token_id() != model.config().eos_token_id)
      config.eos_token_ids.push_back(*tokenizer->eos_token_id());
  }
  // The tokenizer's ids only: a padded embedding's extra rows would not decode (issue 22).
  if (tokenizer && config.decodable_vocab_size == 0) config.decodable_vocab_size = tokenizer->vocab_size();
  config.validate("r1 generate");
  r1::require(config.stop_strings.empty() || tokenizer.has_value(),
              "r1 generate: --stop needs a tokenizer (--tokenizer PATH, or tokenizer.json in the model directory)");
  return config;
}

std::vector<r1::TokenId> prompt_ids(const r1::Json& record, const std::string& where,
                                    const std::optional<r1::BpeTokenizer>& tokenizer) {
  r1::require(record.is_object(), where, ": expected a JSON object with \"ids\" or \"prompt\"");
  if (record.contains("ids")) return r1::json_field<std::vector<r1::TokenId>>(record, "ids", where);
  r1::require(record.contains("prompt"), where, ": expected a field \"ids\" or \"prompt\"");
  r1::require(tokenizer.has_value(), where, ": a \"prompt\" needs a tokenizer (--tokenizer PATH)");
  return tokenizer->encode(r1::json_field<std::string>(record, "prompt", where));
}

void write_line(const std::vector<r1::Completion>& completions, std::size_t first, int samples, bool with_text) {
  r1::Json line;
  line["completions"] = r1::Json::array();
  for (int j = 0; j < samples; ++j) {
    const r1::Completion& completion = completions[first + static_cast<std::size_t>(j)];
    r1::Json out;
    out["ids"] = completion.ids;
    if (with_text) out["text"] = completion.text;
    out["logprobs"] = completion.logprobs;
    out["finish_reason"] = std::string(r1::to_string(completion.finish_reason));
    line["completions"].push_back(std::move(out));
  }
  // A cut through a UTF-8 character is written with U+FFFD in its place.
  std::cout << line.dump(-1, ' ', false, r1::Json::error_handler_t::replace) << '\n';
}

template <class Model>
void run_generate(const GenerateOptions& options, const CLI::App& command) {
  r1::require(options.samples >= 1, "r1 generate: --n = ", options.samples, ": expected >= 1");
  r1::require(options.batch_lines >= 1, "r1 generate: --batch-lines = ", options.batch_lines, ": expected >= 1");
  auto model = Model::load(options.model_dir);
  if constexpr (r1::cli::is_gpu_model<Model>) {
    r1::require(options.adapter.empty(), "r1 generate --device cuda: --adapter: Transformer<cuda> has no LoRA "
                                         "adapters; merge it first (r1 merge-lora) or use --device cpu");
    r1::require(command.count("--weights") == 0, "r1 generate --device cuda: --weights is the CPU model's choice; "
                                                 "Transformer<cuda> always reads bf16 weights (fp32 accumulation)");
  } else {
    if (!options.adapter.empty()) model.load_adapter(options.adapter);  // PEFT LoRA on the base
    if (options.weights == "bf16") model.set_sampling_storage(r1::WeightStorage::bf16);
  }
  const auto tokenizer = load_tokenizer(options);
  r1::Detokenizer detokenizer;
  if (tokenizer) detokenizer = [&tokenizer](std::span<const r1::TokenId> ids) { return tokenizer->decode(ids); };
  r1::KvSampler sampler{sampler_config(options, command, model, tokenizer), detokenizer};

  // --stream: the first sample of each line, through a decoder that never cuts a UTF-8 character.
  std::unique_ptr<r1::StreamDecoder<r1::BpeTokenizer>> stream;
  if (options.stream) {
    sampler.set_token_callback([&](std::size_t sequence, const r1::Completion& completion) {
      if (sequence % static_cast<std::size_t>(options.samples) != 0) return;
      const auto& config = sampler.config();  // like "text", the stream leaves out a final EOS / stop token
      const auto is_last = [&](const std::vector<r1::TokenId>& ids) {
        return std::find(ids.begin(), ids.end(), completion.ids.back()) != ids.end();
      };
      if (is_last(config.eos_token_ids) || is_last(config.stop_token_ids)) return;
      if (stream) {
        std::cerr << stream->push(completion.ids.back());
      } else {
        std::cerr << completion.ids.back() << ' ';
      }
      std::cerr.flush();
    });
  }

  r1::cli::InputLines lines(options.input);
  std::vector<std::vector<r1::TokenId>> prompts;
  std::vector<std::uint64_t> keys;
  std::uint64_t line_index = 0;
  const auto flush = [&] {
    if (prompts.empty()) return;
    r1::GenerationRequest request;
    request.prompts = prompts;
    request.prompt_keys = keys;
    request.samples_per_prompt = options.samples;
    request.seed = options.seed;
    const auto completions = sampler.generate(model, request);
    for (std::size_t p = 0; p < prompts.size(); ++p)
      write_line(completions, p * static_cast<std::size_t>(options.samples), options.samples, tokenizer.has_value());
    std::cout.flush();
    prompts.clear();
    keys.clear();
  };
  // With --stream, one line at a time so the streamed text is one prompt's.
  const std::size_t lines_per_batch = options.stream ? 1 : static_cast<std::size_t>(options.batch_lines);
  std::string line;
  while (lines.next(line)) {
    if (line.empty()) continue;
    const r1::Json record = r1::parse_json(line, lines.where());
    prompts.push_back(prompt_ids(record, lines.where(), tokenizer));
    keys.push_back(line_index++);
    if (options.stream) {
      if (tokenizer) stream = std::make_unique<r1::StreamDecoder<r1::BpeTokenizer>>(*tokenizer);
      std::cerr << "[" << lines.where() << "] ";
    }
    if (prompts.size() == lines_per_batch) {
      try {
        flush();
      } catch (const r1::Error& error) {
        r1::fail(lines.where(), ": ", error.what());
      }
      if (options.stream) std::cerr << (stream ? stream->finish() : std::string()) << '\n';
    }
  }
  try {
    flush();
  } catch (const r1::Error& error) {
    r1::fail("input up to ", lines.where(), ": ", error.what());
  }
}

const bool registered = r1::cli::register_command("generate", [](CLI::App& app) {
  auto* command = app.add_subcommand("generate", "Sample completions for JSONL prompts ({\"ids\"} or {\"prompt\"}) with a model");
  auto options = std::make_shared<GenerateOptions>();
  command->add_option("--model", options->model_dir, "HF model directory (config.json, model.safetensors)")->required();
  command->add_option("--tokenizer", options->tokenizer_path,
                      "tokenizer.json or its folder (default: the model directory's, when present)");
  command->add_option("file", options->input, "JSONL input (default: stdin)");
  command->add_option("--sampler-config", options->sampler_config_path, "SamplerConfig JSON; flags override it");
  command->add_option("--n", options->samples, "Completions per prompt")->check(CLI::PositiveNumber);
  command->add_option("--temperature", options->temperature, "Sampling temperature; 0 = greedy");
  command->add_option("--top-k", options->top_k, "Keep the k most likely tokens; 0 = off");
  command->add_option("--top-p", options->top_p, "Nucleus sampling mass; 1 = off");
  command->add_option("--min-p", options->min_p, "Keep tokens with p >= min_p * p_max; 0 = off");
  command->add_option("--repetition-penalty", options->repetition_penalty, "CTRL repetition penalty; 1 = off");
  command->add_option("--max-new-tokens", options->max_new_tokens, "Tokens generated at most per completion");
  // The repeatable flags take one value each, so an input file after one stays positional.
  command->add_option("--stop", options->stop, "Stop string (repeatable); needs a tokenizer")->allow_extra_args(false);
  command->add_option("--stop-token-id", options->stop_token_ids, "Stop token id (repeatable)")->allow_extra_args(false);
  command->add_option("--banned-token-id", options->banned_token_ids, "A token id never drawn (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--seed", options->seed, "Random seed");
  command->add_flag("--ignore-eos", options->ignore_eos, "Do not stop at the EOS token");
  command->add_option("--adapter", options->adapter, "A PEFT LoRA adapter folder applied to --model");
  command->add_option("--weights", options->weights,
                      "Weights the decode GEMMs read: fp32, or bf16 (half the bytes per token; fp32 accumulation)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  command->add_flag("--stream", options->stream, "Write the first sample's text to stderr as it is generated");
  command->add_option("--batch-lines", options->batch_lines, "Input lines generated together (default 16)")
      ->check(CLI::PositiveNumber);
  command->add_option("--device", options->device, r1::cli::kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
  command->callback([options, command] {
    r1::cli::with_model_type(options->device, "r1 generate", [&]<class Model>(r1::cli::ModelType<Model>) {
      run_generate<Model>(*options, *command);
    });
  });
});

}  // namespace
