#pragma once
// The shape of a Llama / Qwen2 decoder, read from and written to HF's config.json.
//
//   auto config = r1::ModelConfig::load("model/config.json");
//   config.head_dim();   // "head_dim" when the file gives one, else hidden_size / num_attention_heads
//   config.rope_scaling; // "rope_scaling": none, linear, or llama3 (Llama 3.1 and its distills)
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/model/rope_frequencies.hpp"

namespace r1 {

struct ModelConfig {
  std::string model_type = "llama";  // "llama" or "qwen2"
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0,
               num_attention_heads = 0, num_key_value_heads = 0, max_position_embeddings = 2048;
  double rope_theta = 10000.0, rms_norm_eps = 1e-6;
  RopeScaling rope_scaling;  // HF "rope_scaling": none, linear or llama3 (Llama 3.1 / DeepSeek-R1-Distill-Llama)
  bool tie_word_embeddings = false, attention_bias = false;  // attention_bias: q/k/v bias (qwen2 = true)
  std::int64_t bos_token_id = -1, eos_token_id = -1;
  // HF "head_dim": the size of each attention head. HF LlamaConfig: `head_dim if head_dim is not None else
  // hidden_size // num_attention_heads`; Qwen2's attention reads it the same way. It need not divide
  // hidden_size (Mistral-Nemo: hidden 5120, 32 heads of 128): q_proj maps hidden_size to
  // num_attention_heads * head_dim, k/v_proj to num_key_value_heads * head_dim, o_proj back to hidden_size.
  // 0 = absent: hidden_size / num_attention_heads.
  std::int64_t explicit_head_dim = 0;

  std::int64_t head_dim() const {
    if (explicit_head_dim != 0) return explicit_head_dim;
    return num_attention_heads > 0 ? hidden_size / num_attention_heads : 0;
  }

  // Throws r1::Error naming `where` and the field unless the shape is usable.
  void validate(std::string_view where) const {
    require(model_type == "llama" || model_type == "qwen2", where, ": field 'model_type' = '", model_type,
            "': expected \"llama\" or \"qwen2\"");
    const auto positive = [&](std::int64_t value, const char* field) {
      require(value > 0, where, ": field '", field, "' = ", value, ": expected a positive integer");
    };
    positive(vocab_size, "vocab_size");
    positive(hidden_size, "hidden_size");
    positive(intermediate_size, "intermediate_size");
    positive(num_hidden_layers, "num_hidden_layers");
    positive(num_attention_heads, "num_attention_heads");
    positive(num_key_value_heads, "num_key_value_heads");
    positive(max_position_embeddings, "max_position_embeddings");
    require(vocab_size < (std::int64_t{1} << 31), where, ": field 'vocab_size' = ", vocab_size,
            ": expected fewer than 2^31 tokens (token ids are int32)");
    require(explicit_head_dim >= 0, where, ": field 'head_dim' = ", explicit_head_dim,
            ": expected a positive integer (or 0 / absent for hidden_size / num_attention_heads)");
    require(explicit_head_dim != 0 || hidden_size % num_attention_heads == 0, where, ": hidden_size ", hidden_size,
            " is not a multiple of num_attention_heads ", num_attention_heads, " (and no field 'head_dim' is given)");
    require(num_attention_heads % num_key_value_heads == 0, where, ": num_attention_heads ", num_attention_heads,
            " is not a multiple of num_key_value_heads ", num_key_value_heads);
    require(head_dim() % 2 == 0, where, ": field 'head_dim' = ", head_dim(), ": must be even for rotary embeddings");
    require(std::isfinite(rope_theta) && rope_theta > 0.0, where, ": field 'rope_theta' = ", rope_theta,
            ": expected a finite positive number");
    require(std::isfinite(rms_norm_eps) && rms_norm_eps > 0.0, where, ": field 'rms_norm_eps' = ", rms_norm_eps,
            ": expected a finite positive number");
    rope_scaling.validate(where);
    // A billion-parameter bound on each tensor keeps every product below int64 overflow.
    constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;
    for (const auto value : {vocab_size, hidden_size, intermediate_size, num_hidden_layers})
      require(value <= kMaxDimension, where, ": dimension ", value, " exceeds ", kMaxDimension);
    // With an explicit head_dim the heads need not divide hidden_size, so q_proj's rows are bounded directly.
    require(head_dim() <= kMaxDimension, where, ": field 'head_dim' = ", head_dim(), ": exceeds ", kMaxDimension);
    require(num_attention_heads <= kMaxDimension / head_dim(), where, ": num_attention_heads ", num_attention_heads,
            " x head_dim ", head_dim(), " exceeds ", kMaxDimension);
  }

  // From an HF config.json object; `where` names it in errors.
  static ModelConfig from_json(const Json& config, std::string_view where) {
    require(config.is_object(), where, ": expected a JSON object");
    ModelConfig result;
    result.model_type = json_field<std::string>(config, "model_type", where);
    require(result.model_type == "llama" || result.model_type == "qwen2", where, ": field 'model_type' = '",
            result.model_type, "': expected \"llama\" or \"qwen2\"");
    result.vocab_size = json_field<std::int64_t>(config, "vocab_size", where);
    result.hidden_size = json_field<std::int64_t>(config, "hidden_size", where);
    result.intermediate_size = json_field<std::int64_t>(config, "intermediate_size", where);
    result.num_hidden_layers = json_field<std::int64_t>(config, "num_hidden_layers", where);
    result.num_attention_heads = json_field<std::int64_t>(config, "num_attention_heads", where);
    // HF defaults: no num_key_value_heads means multi-head attention.
    result.num_key_value_heads =
        json_field_or<std::int64_t>(config, "num_key_value_heads", result.num_attention_heads, where);
    result.max_position_embeddings = json_field_or<std::int64_t>(config, "max_position_embeddings", 2048, where);
    result.rope_theta = json_field_or<double>(config, "rope_theta", 10000.0, where);
    result.rms_norm_eps = json_field_or<double>(config, "rms_norm_eps", 1e-6, where);
    result.tie_word_embeddings = json_field_or<bool>(config, "tie_word_embeddings", false, where);
    // Qwen2 always has q/k/v biases; Llama has them when attention_bias is set.
    result.attention_bias = result.model_type == "qwen2" || json_field_or<bool>(config, "attention_bias", false, where);
    result.bos_token_id = token_id_field(config, "bos_token_id", where);
    result.eos_token_id = token_id_field(config, "eos_token_id", where);
    // HF: absent or null means hidden_size // num_attention_heads.
    if (const auto it = config.find("head_dim"); it != config.end() && !it->is_null()) {
      require(it->is_number_integer() && it->get<std::int64_t>() > 0, where, ": field 'head_dim' = ", it->dump(),
              ": expected a positive integer or null");
      result.explicit_head_dim = it->get<std::int64_t>();
    }

    if (const auto it = config.find("hidden_act"); it != config.end())
      require(it->is_string() && it->get<std::string>() == "silu", where, ": field 'hidden_act' = ", it->dump(),
              ": only \"silu\" (SwiGLU) is supported");
    result.rope_scaling = rope_scaling_field(config, where);
    if (const auto it = config.find("use_sliding_window"); it != config.end())
      require(it->is_boolean() && !it->get<bool>(), where, ": sliding-window attention is not supported");
    if (const auto it = config.find("mlp_bias"); it != config.end())
      require(it->is_boolean() && !it->get<bool>(), where, ": field 'mlp_bias' = true is not supported");
    result.validate(where);
    return result;
  }

  static ModelConfig load(const std::string& config_json_path) {
    return from_json(read_json_file(config_json_path), config_json_path);
  }

  // An HF-compatible config.json (LlamaForCausalLM / Qwen2ForCausalLM).
  Json to_json() const {
    Json out;
    out["architectures"] = Json::array({model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"});
    out["model_type"] = model_type;
    out["vocab_size"] = vocab_size;
    out["hidden_size"] = hidden_size;
    out["intermediate_size"] = intermediate_size;
    out["num_hidden_layers"] = num_hidden_layers;
    out["num_attention_heads"] = num_attention_heads;
    out["num_key_value_heads"] = num_key_value_heads;
    out["head_dim"] = head_dim();
    out["max_position_embeddings"] = max_position_embeddings;
    out["rope_theta"] = rope_theta;
    out["rms_norm_eps"] = rms_norm_eps;
    out["tie_word_embeddings"] = tie_word_embeddings;
    if (model_type == "llama") {
      out["attention_bias"] = attention_bias;
      out["mlp_bias"] = false;
    } else {
      out["use_sliding_window"] = false;
    }
    out["attention_dropout"] = 0.0;
    out["hidden_act"] = "silu";
    out["initializer_range"] = 0.02;
    out["rope_scaling"] = rope_scaling_json(rope_scaling);
    out["use_cache"] = true;
    out["torch_dtype"] = "float32";
    out["bos_token_id"] = bos_token_id >= 0 ? Json(bos_token_id) : Json(nullptr);
    out["eos_token_id"] = eos_token_id >= 0 ? Json(eos_token_id) : Json(nullptr);
    return out;
  }

 private:
  // HF's "rope_scaling": absent, null or rope_type "default" = none; else {"rope_type" (or the legacy
  // "type"): "linear" | "llama3", "factor", and for llama3 "low_freq_factor", "high_freq_factor",
  // "original_max_position_embeddings"}. Other keys are ignored, as HF does.
  static RopeScaling rope_scaling_field(const Json& config, std::string_view where) {
    const auto it = config.find("rope_scaling");
    if (it == config.end() || it->is_null()) return {};
    require(it->is_object(), where, ": field 'rope_scaling' = ", it->dump(), ": expected an object or null");
    const Json& json = *it;
    const auto type = json.contains("rope_type") ? json.find("rope_type") : json.find("type");
    require(type != json.end() && type->is_string(), where, ": field 'rope_scaling.rope_type' = ",
            type == json.end() ? "missing" : type->dump(), ": expected \"linear\" or \"llama3\"");
    const auto number = [&](const char* field) {
      const auto value = json.find(field);
      require(value != json.end() && value->is_number(), where, ": field 'rope_scaling.", field, "' = ",
              value == json.end() ? "missing" : value->dump(),
              ": expected a finite positive number; RoPE scaling is not supported without it");
      return value->get<double>();
    };
    RopeScaling scaling;
    const auto name = type->get<std::string>();
    if (name == "default") return scaling;
    require(name == "linear" || name == "llama3", where, ": field 'rope_scaling.rope_type' = ", type->dump(),
            ": RoPE scaling is not supported for this type (expected \"linear\" or \"llama3\")");
    scaling.kind = name == "linear" ? RopeScaling::Kind::linear : RopeScaling::Kind::llama3;
    scaling.factor = number("factor");
    if (scaling.kind == RopeScaling::Kind::llama3) {
      scaling.low_freq_factor = number("low_freq_factor");
      scaling.high_freq_factor = number("high_freq_factor");
      const auto original = json.find("original_max_position_embeddings");
      require(original != json.end() && original->is_number_integer(), where,
              ": field 'rope_scaling.original_max_position_embeddings' = ",
              original == json.end() ? "missing" : original->dump(),
              ": expected a positive integer; RoPE scaling is not supported without it");
      scaling.original_max_position_embeddings = original->get<std::int64_t>();
    }
    return scaling;  // validate() checks the values
  }

  static Json rope_scaling_json(const RopeScaling& scaling) {
    if (scaling.kind == RopeScaling::Kind::none) return nullptr;
    Json out = {{"rope_type", scaling.type_name()}, {"factor", scaling.factor}};
    if (scaling.kind == RopeScaling::Kind::llama3) {
      out["low_freq_factor"] = scaling.low_freq_factor;
      out["high_freq_factor"] = scaling.high_freq_factor;
      out["original_max_position_embeddings"] = scaling.original_max_position_embeddings;
    }
    return out;
  }

  // A token id field: absent or null = -1; a list (Llama 3's several EOS ids) = its first entry.
  static std::int64_t token_id_field(const Json& config, const char* field, std::string_view where) {
    const auto it = config.find(field);
    if (it == config.end() || it->is_null()) return -1;
    const Json& value = it->is_array() && !it->empty() ? it->front() : *it;
    require(value.is_number_integer() && value.get<std::int64_t>() >= 0, where, ": field '", field, "' = ",
            it->dump(), ": expected a non-negative token id, a list of them, or null");
    return value.get<std::int64_t>();
  }
};

}  // namespace r1
