// r1 merge-lora: a base model plus a LoRA adapter in PEFT's format, merged into one HF model directory.
//   r1 merge-lora --model BASE_DIR --adapter ADAPTER_DIR --out OUT_DIR [--dtype f32|bf16] [--max-shard-size 5GB]
// Every adapted weight becomes W0 + scale * B A (Hu et al. 2021, sec 4.1; scale = lora_alpha / r, or
// lora_alpha / sqrt(r) with use_rslora), as PEFT's merge_and_unload computes it; every other tensor is
// copied as it is. The tokenizer files beside the base (tokenizer.json, tokenizer_config.json,
// special_tokens_map.json, generation_config.json) are copied when present.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "command.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/io/checkpoint_dir.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/peft_adapter.hpp"
#include "r1/model/transformer.hpp"

namespace {

namespace fs = std::filesystem;

struct MergeLoraOptions {
  std::string model_dir, adapter_dir, out_dir;
  std::string dtype = "f32";
  std::string max_shard_size = "5GB";
};

// One adapted weight: where it lies in the model and its two factors.
struct AdaptedWeight {
  const r1::ParameterTensor* base = nullptr;
  std::vector<float> lora_a, lora_b;  // (r, in), (out, r)
};

void run_merge_lora(const MergeLoraOptions& options) {
  if (!r1::cli::writes_output()) return;  // one process writes the merged model
  r1::require(options.dtype == "f32" || options.dtype == "bf16", "--dtype '", options.dtype,
              "': expected f32 or bf16");
  const auto dtype = options.dtype == "bf16" ? r1::SafetensorsDtype::bf16 : r1::SafetensorsDtype::f32;
  const std::int64_t max_shard_bytes = r1::parse_byte_size(options.max_shard_size, "--max-shard-size");
  {
    std::error_code error;
    r1::require(!fs::equivalent(options.model_dir, options.out_dir, error), "--out ", options.out_dir,
                " is the base model's folder: write the merged model elsewhere");
  }

  const r1::LoraConfig lora = r1::load_peft_adapter_config(options.adapter_dir);
  auto model = r1::Transformer<r1::cpu>::load(options.model_dir);

  std::vector<AdaptedWeight> adapted;
  for (std::int64_t layer = 0; layer < model.config().num_hidden_layers; ++layer)
    for (const auto target : lora.target_modules) {
      const std::string name = r1::lora_base_tensor_name(layer, target);
      const r1::ParameterTensor* base = model.find_tensor(name);
      r1::require(base != nullptr && base->shape.size() == 2, options.model_dir, ": the model has no weight '", name,
                  "' for the adapter's target '", r1::lora_target_name(target), "'");
      AdaptedWeight weight;
      weight.base = base;
      weight.lora_a.resize(static_cast<std::size_t>(lora.r * base->shape[1]));
      weight.lora_b.resize(static_cast<std::size_t>(base->shape[0] * lora.r));
      adapted.push_back(std::move(weight));
    }
  // Slots are made once `adapted` no longer moves: they point into its vectors.
  std::vector<r1::ParameterView> slots;
  std::size_t index = 0;
  for (std::int64_t layer = 0; layer < model.config().num_hidden_layers; ++layer)
    for (const auto target : lora.target_modules) {
      auto& weight = adapted[index++];
      const std::int64_t out = weight.base->shape[0], in = weight.base->shape[1];
      slots.push_back({r1::lora_tensor_name(layer, target, false), {lora.r, in}, weight.lora_a, {}, false});
      slots.push_back({r1::lora_tensor_name(layer, target, true), {out, lora.r}, weight.lora_b, {}, false});
    }
  r1::load_peft_adapter_tensors(options.adapter_dir, slots);

  auto values = model.flat_parameters();
  for (const auto& weight : adapted)
    r1::lora_merge<float>(values.data() + weight.base->offset, weight.base->shape[0], weight.base->shape[1],
                          weight.lora_a.data(), weight.lora_b.data(), lora.r, lora.scale());
  model.save(options.out_dir, dtype, max_shard_bytes);

  std::vector<std::string> copied;
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}) {
    const fs::path from = fs::path(options.model_dir) / file;
    if (!fs::exists(from)) continue;
    r1::write_file_atomically((fs::path(options.out_dir) / file).string(), r1::read_file_bytes(from.string()));
    copied.push_back(file);
  }
  std::string copied_text;
  for (const auto& file : copied) copied_text += (copied_text.empty() ? "" : ", ") + file;
  std::printf("r1 merge-lora: merged %zu weights (r %d, scale %g, %zu layers) into %s (%s)%s%s\n", adapted.size(),
              lora.r, static_cast<double>(lora.scale()), static_cast<std::size_t>(model.config().num_hidden_layers),
              options.out_dir.c_str(), options.dtype.c_str(), copied.empty() ? "" : "; copied ", copied_text.c_str());
}

const bool registered = r1::cli::register_command("merge-lora", [](CLI::App& app) {
  auto options = std::make_shared<MergeLoraOptions>();
  auto* command = app.add_subcommand("merge-lora", "Merge a PEFT LoRA adapter into its base model (W0 + scale * B A)");
  command->add_option("--model", options->model_dir, "Base model folder (HF layout)")->required();
  command->add_option("--adapter", options->adapter_dir,
                      "Adapter folder (PEFT: adapter_config.json + adapter_model.safetensors)")
      ->required();
  command->add_option("--out", options->out_dir, "Folder of the merged model")->required();
  command->add_option("--dtype", options->dtype, "Weights of the merged model: f32 or bf16")->default_val("f32");
  command->add_option("--max-shard-size", options->max_shard_size,
                      "Largest weight file of the merged model (bytes, or e.g. 500MB, 2GiB)")
      ->default_val("5GB");
  command->callback([options] { run_merge_lora(*options); });
});

}  // namespace
