#pragma once
// r1::Transformer<r1::cpu>: the fp32 Llama / Qwen2 policy model on the CPU,
// satisfying r1::Model (r1/concepts.hpp).
//
//   auto model = r1::Transformer<r1::cpu>::load("Qwen2.5-0.5B");   // HF directory
//   r1::TokenScores scores;
//   model.score(batch, /*temperature=*/1.0f, scores);             // per-token log-probs and entropies
//   model.backward(batch, d_logprobs, d_entropies);                // accumulates gradients
//
// The math lives in BasicTransformer<Scalar> (basic_transformer.hpp); this class
// adds the float API: TokenScores, ParameterView, checkpoints.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/io/checkpoint_dir.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/config.hpp"
#include "r1/model/kv_cache.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/peft_adapter.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/io/atomic_file.hpp"

namespace r1 {

struct cpu {};  // backend tag

template <class Backend>
class Transformer;

template <>
class Transformer<cpu> : private BasicTransformer<float> {
  using Base = BasicTransformer<float>;

 public:
  using Cache = KvCache;

  // Parameters laid out once in one flat buffer (gradients in another), all zero.
  explicit Transformer(const ModelConfig& config) : Base(config) { make_views(); }
  Transformer(const Transformer& other) : Base(other) { make_views(); }
  Transformer(Transformer&& other) noexcept : Base(std::move(other)) {
    make_views();
    other.views_.clear();  // they pointed at the buffers this object now owns
  }
  Transformer& operator=(const Transformer& other) {
    if (this != &other) {
      Base::operator=(other);
      make_views();
    }
    return *this;
  }
  Transformer& operator=(Transformer&& other) noexcept {
    if (this != &other) {
      Base::operator=(std::move(other));
      make_views();
      other.views_.clear();
    }
    return *this;
  }

  // A scoring-only copy of `source` (a KL reference): no gradients, weights in `storage` (bf16: half the
  // bytes, each layer widened to fp32 when scored). parameters() is empty; backward() throws.
  static Transformer frozen_copy(const Transformer& source, WeightStorage storage) {
    return Transformer(Base::frozen_copy(source, storage));
  }

  // LoRA (lora_adapters.hpp): from here on parameters() are the adapters' A and B, named as PEFT names them;
  // the base is frozen and its gradient buffer released.
  void enable_lora(const LoraConfig& lora) {
    Base::enable_lora(lora);
    make_views();
  }
  // Folds the adapters into the weights (W0 + s B A) and makes the whole model trainable again.
  void merge_lora() {
    Base::merge_lora();
    make_views();
  }
  // PEFT's adapter folder: adapter_config.json + adapter_model.safetensors (peft_adapter.hpp).
  void save_adapter(const std::string& directory, std::string_view base_model_name_or_path) const {
    const auto* adapters = Base::lora();
    require(adapters != nullptr, directory, ": the model has no LoRA adapters to save");
    std::vector<SafetensorsTensorView> views;
    for (const auto& tensor : adapters->tensors())
      views.push_back({tensor.name, tensor.shape,
                       adapters->values().subspan(static_cast<std::size_t>(tensor.offset), static_cast<std::size_t>(tensor.size))});
    save_peft_adapter(directory, adapters->config(), views, base_model_name_or_path);
  }
  // Adds the adapter saved in `directory` (its config and weights) to this base model.
  void load_adapter(const std::string& directory) {
    enable_lora(load_peft_adapter_config(directory));
    load_peft_adapter_tensors(directory, views_);
  }
  // What training changes: the adapters' values with LoRA, else every parameter (checkpoints save these).
  std::span<float> trainable_values() {
    return Base::lora() != nullptr ? Base::lora()->values() : Base::flat_parameters();
  }

  // A frozen copy's weights replaced by `source`'s (R1's periodic reference reset), in its storage.
  void copy_weights_from(const Transformer& source) { Base::copy_weights_from(source); }

  // config.json + model.safetensors (or model.safetensors.index.json shards); F32 / BF16 / F16 weights.
  // With `lora`, the base is loaded frozen (no gradient buffer is ever allocated) and the adapters added.
  static Transformer load(const std::string& directory, const std::optional<LoraConfig>& lora = std::nullopt) {
    const auto config_path = (std::filesystem::path(directory) / "config.json").string();
    const ModelConfig config = ModelConfig::load(config_path);
    Transformer model = lora ? Transformer(Base::with_frozen_base(config)) : Transformer(config);
    if (lora) model.enable_lora(*lora);
    CheckpointTensors checkpoint(directory);
    auto values = model.Base::flat_parameters();
    for (const auto& tensor : model.Base::tensors())
      checkpoint.read(tensor.name, tensor.shape,
                      values.subspan(static_cast<std::size_t>(tensor.offset), static_cast<std::size_t>(tensor.size)));
    return model;
  }

  // config.json + model.safetensors (F32, or BF16 rounded to nearest even), loadable by HF transformers;
  // a model over `max_shard_bytes` of weights is written as shards + model.safetensors.index.json, and
  // files of an earlier checkpoint in `directory` are replaced (write_checkpoint_tensors).
  void save(const std::string& directory, SafetensorsDtype dtype = SafetensorsDtype::f32,
            std::int64_t max_shard_bytes = kDefaultMaxShardBytes) const {
    require(max_shard_bytes > 0, directory, ": max shard size ", max_shard_bytes, " bytes: expected a positive size");
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    require(!error, directory, ": cannot create the directory (", error.message(), ")");
    std::vector<SafetensorsTensorView> views;
    const auto values = Base::flat_parameters();
    for (const auto& tensor : Base::tensors())
      views.push_back({tensor.name, tensor.shape,
                       values.subspan(static_cast<std::size_t>(tensor.offset), static_cast<std::size_t>(tensor.size))});
    write_checkpoint_tensors(directory, views, dtype, max_shard_bytes);
    // config.json last and atomically, so a failed weight write leaves the previous config beside the
    // previous weights.
    Json config_json = config().to_json();
    config_json["torch_dtype"] = dtype == SafetensorsDtype::bf16 ? "bfloat16" : "float32";
    const auto config_path = (std::filesystem::path(directory) / "config.json").string();
    write_file_atomically(config_path, config_json.dump(2) + "\n");
  }

  using Base::bf16_parameters;
  using Base::config;
  using Base::frozen;
  using Base::gradient_checkpointing;
  using Base::set_gradient_checkpointing;
  using Base::mark_weights_changed;
  using Base::sampling_storage;
  using Base::set_sampling_storage;
  using Base::adapters_enabled;
  using Base::has_lora;
  using Base::lora;
  using Base::set_adapters_enabled;
  using Base::weight_storage;
  using Base::cache_fits;
  using Base::copy_slot;
  using Base::find_tensor;
  using Base::flat_gradients;
  using Base::flat_parameters;
  using Base::init_random;
  using Base::logits_budget;
  using Base::logits_chunk_rows;
  using Base::make_cache;
  using Base::parameter_count;
  using Base::set_logits_budget;
  using Base::tensors;
  using Base::vocab_size;
  using Base::zero_grad;

  // The double-capable core, for tests and for code that wants the tensor layout.
  const Base& core() const { return *this; }

  // Forward over a packed batch: scores.logprobs / entropies aligned with batch.tokens (log-softmax of
  // logits / temperature at the next token; unscored positions 0). Keeps activations for backward.
  void score(const TokenBatch& batch, float temperature, TokenScores& scores) {
    scores.logprobs.resize(batch.total_tokens());
    scores.entropies.resize(batch.total_tokens());
    forward_scores(batch, temperature, scores.logprobs, scores.entropies);
  }

  // Accumulates gradients from d loss / d logprob and d loss / d entropy (may be empty); follows score().
  void backward(const TokenBatch& batch, std::span<const float> d_logprobs, std::span<const float> d_entropies) {
    backward_scores(batch, d_logprobs, d_entropies);
  }

  // Views to write through (an optimiser's step): the bf16 sampling copy, if any, is refreshed before the
  // next prefill.
  std::span<const ParameterView> parameters() {
    if (!Base::has_lora()) Base::mark_weights_changed();  // a LoRA base does not change
    return views_;
  }

  void prefill(Cache& cache, std::span<const std::int32_t> slots, const TokenBatch& prompts, std::span<float> logits) {
    extend(cache, slots, prompts, logits);
  }
  void decode(Cache& cache, std::span<const std::int32_t> slots, std::span<const TokenId> tokens,
              std::span<float> logits) {
    Base::decode(cache, slots, tokens, logits);
  }

 private:
  explicit Transformer(Base&& base) : Base(std::move(base)) {
    if (Base::frozen() || Base::has_lora() || !Base::flat_gradients().empty()) make_views();
  }

  void make_views() {
    views_.clear();
    if (Base::frozen()) return;  // nothing to train
    if (auto* adapters = Base::lora()) {
      for (const auto& tensor : adapters->tensors()) {
        const auto offset = static_cast<std::size_t>(tensor.offset), size = static_cast<std::size_t>(tensor.size);
        views_.push_back({tensor.name, tensor.shape, adapters->values().subspan(offset, size),
                          adapters->gradients().subspan(offset, size), true});
      }
      return;
    }
    auto values = Base::flat_parameters();
    auto grads = Base::flat_gradients();
    for (const auto& tensor : Base::tensors()) {
      const auto offset = static_cast<std::size_t>(tensor.offset), size = static_cast<std::size_t>(tensor.size);
      views_.push_back({tensor.name, tensor.shape, values.subspan(offset, size), grads.subspan(offset, size),
                        tensor.weight_decay});
    }
  }

  std::vector<ParameterView> views_;
};

}  // namespace r1
