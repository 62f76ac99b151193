#pragma once
// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", arXiv:2106.09685): a frozen
// linear weight W0 (out x in) is adapted as W0 + scale * B A, B (out x r), A (r x in), scale = alpha / r
// (sec 4.1). This header holds the run's choice of rank, scale and adapted projections, and its two JSON
// forms: r1's config section and HF PEFT's adapter_config.json (peft/tuners/lora/config.py, LoraConfig).
//
//   const auto lora = r1::LoraConfig::from_json(config["lora"], "config: 'lora'");
//   lora.scale();                                         // alpha / r, or alpha / sqrt(r) with use_rslora
//   r1::lora_tensor_name(0, r1::LoraTarget::q_proj, false);
//   // "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

// The linear projections of a Llama / Qwen2 decoder layer, by their HF module names.
enum class LoraTarget : int { q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj };
inline constexpr int kLoraTargetCount = 7;

inline std::string_view lora_target_name(LoraTarget target) {
  static constexpr std::array<std::string_view, kLoraTargetCount> kNames = {
      "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  const int index = static_cast<int>(target);
  require(index >= 0 && index < kLoraTargetCount, "LoraTarget ", index, ": not one of the ", kLoraTargetCount,
          " projections");
  return kNames[static_cast<std::size_t>(index)];
}

// The submodule of the decoder layer that holds the projection (HF LlamaDecoderLayer / Qwen2DecoderLayer).
inline std::string_view lora_target_parent(LoraTarget target) {
  lora_target_name(target);  // r1::Error for a value outside the enum
  return static_cast<int>(target) <= static_cast<int>(LoraTarget::o_proj) ? "self_attn" : "mlp";
}

// The target named `name` ("q_proj", ...), or false when `name` is none of the seven.
inline bool lora_target_from_name(std::string_view name, LoraTarget& target) {
  for (int i = 0; i < kLoraTargetCount; ++i)
    if (lora_target_name(static_cast<LoraTarget>(i)) == name) {
      target = static_cast<LoraTarget>(i);
      return true;
    }
  return false;
}

inline std::vector<LoraTarget> all_lora_targets() {
  std::vector<LoraTarget> all;
  for (int i = 0; i < kLoraTargetCount; ++i) all.push_back(static_cast<LoraTarget>(i));
  return all;
}

namespace detail {
// The shortest decimal that reads back as `value` in float, as a double: 0.05f is written 0.05, not
// 0.05000000074505806, so a PEFT file written by r1 reads as the number the user typed.
inline double shortest_float_decimal(float value) {
  char text[64];
  const auto [end, error] = std::to_chars(text, text + sizeof(text) - 1, value);
  if (error != std::errc{}) return static_cast<double>(value);
  *end = '\0';
  const double decimal = std::strtod(text, nullptr);
  // Decimal -> double -> float rounds twice; should that ever land on the other float, keep the exact value.
  return static_cast<float>(decimal) == value ? decimal : static_cast<double>(value);
}

// A float as JSON: an integer when it is one (PEFT's lora_alpha is an int), else its shortest decimal.
inline Json float_to_json(float value) {
  if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 2147483648.0f)
    return Json(static_cast<std::int64_t>(value));
  return Json(shortest_float_decimal(value));
}

// A field of a PEFT file that r1 accepts only at its "off" value: `off(value)` says whether it is.
template <class IsOff>
void require_peft_option_off(const Json& json, std::string_view field, std::string_view where, IsOff&& off,
                             std::string_view expected) {
  const auto it = json.find(field);
  if (it == json.end()) return;
  require(off(*it), where, ": field '", field, "' = ", json_excerpt(*it), ": r1 supports only ", expected);
}
}  // namespace detail

struct LoraConfig {
  int r = 8;
  float alpha = 16;        // PEFT lora_alpha
  float dropout = 0;       // PEFT lora_dropout, in [0, 1): on the input of A during training (Hu et al. 2021, sec 5.1)
  bool use_rslora = false;  // scale alpha / sqrt(r) (Kalajdzievski 2023, rsLoRA) instead of alpha / r
  std::vector<LoraTarget> target_modules = all_lora_targets();
  std::uint64_t seed = 0;  // initialisation of A (r1's, not PEFT's: not written to adapter_config.json)

  // Hu et al. 2021, sec 4.1: "we then scale dW x by alpha / r". rsLoRA (Kalajdzievski 2023,
  // arXiv:2312.03732, Theorem 3.2): gamma_r = alpha / sqrt(r) keeps the update's scale stable in r;
  // PEFT's use_rslora (LoraLayer.update_layer: scaling = lora_alpha / math.sqrt(r)).
  float scale() const {
    return use_rslora ? alpha / std::sqrt(static_cast<float>(r)) : alpha / static_cast<float>(r);
  }

  bool targets(LoraTarget target) const {
    for (const auto t : target_modules)
      if (t == target) return true;
    return false;
  }

  // r1::Error naming `where` and the field unless the config is usable.
  void validate(std::string_view where) const {
    require(r >= 1, where, ": field 'r' = ", r, ": expected a rank >= 1");
    require(std::isfinite(alpha) && alpha > 0, where, ": field 'lora_alpha' = ", alpha,
            ": expected a finite number > 0");
    require(std::isfinite(dropout) && dropout >= 0 && dropout < 1, where, ": field 'lora_dropout' = ", dropout,
            ": expected a probability in [0, 1)");
    require(!target_modules.empty(), where, ": field 'target_modules' is empty: expected at least one of ",
            names_list());
    for (std::size_t i = 0; i < target_modules.size(); ++i) {
      const int index = static_cast<int>(target_modules[i]);
      require(index >= 0 && index < kLoraTargetCount, where, ": field 'target_modules'[", i, "] = ", index,
              ": not one of ", names_list());
      for (std::size_t j = 0; j < i; ++j)
        require(target_modules[j] != target_modules[i], where, ": field 'target_modules' names '",
                lora_target_name(target_modules[i]), "' twice");
    }
  }

  // r1's config section: {"r", "lora_alpha" (or "alpha"), "lora_dropout", "target_modules" (a list of
  // names, or "all-linear"), "use_rslora", "seed"}, every field optional (the defaults above). An unknown
  // field is an r1::Error naming it.
  static LoraConfig from_json(const Json& json, std::string_view where) {
    require_known_fields(json, {"r", "lora_alpha", "alpha", "lora_dropout", "target_modules", "use_rslora", "seed"},
                         where);
    require(!(json.contains("alpha") && json.contains("lora_alpha")), where,
            ": fields 'alpha' and 'lora_alpha' are the same setting: give one");
    LoraConfig config;
    config.r = json_field_or<int>(json, "r", config.r, where);
    const std::string_view alpha_field = json.contains("alpha") ? "alpha" : "lora_alpha";
    config.alpha = json_field_or<float>(json, alpha_field, config.alpha, where);
    config.dropout = json_field_or<float>(json, "lora_dropout", config.dropout, where);
    config.use_rslora = json_field_or<bool>(json, "use_rslora", config.use_rslora, where);
    config.seed = json_field_or<std::uint64_t>(json, "seed", config.seed, where);
    if (const auto it = json.find("target_modules"); it != json.end())
      config.target_modules = targets_from_json(*it, where, /*as_set=*/false);
    config.validate(where);
    return config;
  }

  // The inverse of from_json (seed included).
  Json to_json() const {
    Json targets = Json::array();
    for (const auto t : target_modules) targets.push_back(std::string(lora_target_name(t)));
    return {{"r", r},
            {"lora_alpha", detail::float_to_json(alpha)},
            {"lora_dropout", detail::float_to_json(dropout)},
            {"target_modules", targets},
            {"use_rslora", use_rslora},
            {"seed", seed}};
  }

  // PEFT's adapter_config.json for this adapter, with the fields PEFT 0.10-0.13 write (PeftConfig and
  // LoraConfig's dataclass fields, runtime_config dropped as to_dict does), each at the value that means
  // "plain LoRA" so PEFT builds the same layers r1 trained. Newer PEFT fills fields it adds with their
  // defaults; older PEFT refuses unknown fields, so none of the newer ones is written. PEFT stores
  // target_modules as a set; r1 writes them in LoraTarget order.
  Json to_adapter_config(std::string_view base_model_name_or_path) const {
    validate("LoraConfig");
    Json targets = Json::array();
    for (const auto t : target_modules) targets.push_back(std::string(lora_target_name(t)));
    return {{"alpha_pattern", Json::object()},
            {"auto_mapping", nullptr},
            {"base_model_name_or_path", std::string(base_model_name_or_path)},
            {"bias", "none"},
            {"fan_in_fan_out", false},
            {"inference_mode", true},
            {"init_lora_weights", true},
            {"layer_replication", nullptr},
            {"layers_pattern", nullptr},
            {"layers_to_transform", nullptr},
            {"loftq_config", Json::object()},
            {"lora_alpha", detail::float_to_json(alpha)},
            {"lora_dropout", detail::float_to_json(dropout)},
            {"megatron_config", nullptr},
            {"megatron_core", "megatron.core"},
            {"modules_to_save", nullptr},
            {"peft_type", "LORA"},
            {"r", r},
            {"rank_pattern", Json::object()},
            {"revision", nullptr},
            {"target_modules", targets},
            {"task_type", "CAUSAL_LM"},
            {"use_dora", false},
            {"use_rslora", use_rslora}};
  }

  // Reads PEFT's adapter_config.json. A field absent takes PEFT's default (LoraConfig: r 8, lora_alpha 8,
  // lora_dropout 0, use_rslora false). Options that change what the adapter computes or which tensors it
  // holds, and that r1 does not implement, are refused with an r1::Error naming the field: bias other than
  // "none", fan_in_fan_out, modules_to_save, rank_pattern / alpha_pattern, use_dora, layers_to_transform,
  // layer_replication, exclude_modules, lora_bias, use_qalora, target_parameters, trainable_token_indices,
  // and target_modules that are a regular expression or name anything other than the seven projections.
  // Every other field (task_type, init_lora_weights, revision, peft_version, ...) is ignored.
  static LoraConfig from_adapter_config(const Json& json, std::string_view where) {
    require(json.is_object(), where, ": expected a JSON object (PEFT's adapter_config.json)");
    const auto peft_type = json.find("peft_type");
    require(peft_type != json.end(), where, ": missing field 'peft_type' (expected \"LORA\")");
    require(peft_type->is_string() && peft_type->get<std::string>() == "LORA", where, ": field 'peft_type' = ",
            detail::json_excerpt(*peft_type), ": r1 reads LoRA adapters only (\"LORA\")");

    const auto is_null = [](const Json& v) { return v.is_null(); };
    const auto is_false = [](const Json& v) { return v.is_boolean() && !v.get<bool>(); };
    const auto null_or_empty = [](const Json& v) { return v.is_null() || ((v.is_array() || v.is_object()) && v.empty()); };
    detail::require_peft_option_off(json, "bias", where, [](const Json& v) { return v == "none"; }, "\"none\"");
    detail::require_peft_option_off(json, "fan_in_fan_out", where, is_false, "false (weights stored (out, in))");
    detail::require_peft_option_off(json, "modules_to_save", where, null_or_empty,
                                    "null or [] (no fully trained modules beside the adapter)");
    detail::require_peft_option_off(json, "rank_pattern", where, null_or_empty, "{} (one rank for every module)");
    detail::require_peft_option_off(json, "alpha_pattern", where, null_or_empty, "{} (one alpha for every module)");
    detail::require_peft_option_off(json, "use_dora", where, is_false, "false (plain LoRA, not DoRA)");
    detail::require_peft_option_off(json, "layers_to_transform", where, is_null, "null (every layer adapted)");
    detail::require_peft_option_off(json, "layer_replication", where, is_null, "null (no replicated layers)");
    detail::require_peft_option_off(json, "exclude_modules", where, null_or_empty, "null (no excluded modules)");
    detail::require_peft_option_off(json, "lora_bias", where, is_false, "false (lora_B without a bias)");
    detail::require_peft_option_off(json, "use_qalora", where, is_false, "false");
    detail::require_peft_option_off(json, "target_parameters", where, null_or_empty, "null (modules, not parameters)");
    detail::require_peft_option_off(json, "trainable_token_indices", where, is_null, "null");

    LoraConfig config;
    config.r = json_field_or<int>(json, "r", 8, where);
    config.alpha = json_field_or<float>(json, "lora_alpha", 8.0f, where);
    // PEFT writes null for some floats it has no value for; lora_dropout has one, but be lenient.
    if (!(json.contains("lora_dropout") && json["lora_dropout"].is_null()))
      config.dropout = json_field_or<float>(json, "lora_dropout", 0.0f, where);
    config.use_rslora = json_field_or<bool>(json, "use_rslora", false, where);
    const auto targets = json.find("target_modules");
    require(targets != json.end() && !targets->is_null(), where,
            ": field 'target_modules' is missing or null: r1 needs the adapted modules listed");
    config.target_modules = targets_from_json(*targets, where, /*as_set=*/true);
    config.validate(where);
    return config;
  }

 private:
  static std::string names_list() {
    std::string list;
    for (int i = 0; i < kLoraTargetCount; ++i) {
      if (i > 0) list += ", ";
      list += lora_target_name(static_cast<LoraTarget>(i));
    }
    return list;
  }

  // "all-linear" (PEFT: every linear layer but the output head, which for Llama / Qwen2 is the seven), or a
  // list of the seven names. `as_set`: PEFT's target_modules is a set, so a repeat is dropped and the
  // result is in LoraTarget order; in r1's own config a repeat is a mistake, left to validate().
  static std::vector<LoraTarget> targets_from_json(const Json& value, std::string_view where, bool as_set) {
    if (value.is_string()) {
      const auto text = value.get<std::string>();
      require(text == "all-linear", where, ": field 'target_modules' = \"", text,
              "\": r1 reads a list of module names (", names_list(),
              ") or \"all-linear\", not a regular expression");
      return all_lora_targets();
    }
    require(value.is_array(), where, ": field 'target_modules' has the wrong type (", value.type_name(),
            "): expected a list of module names or \"all-linear\"");
    std::vector<LoraTarget> targets;
    std::array<bool, kLoraTargetCount> seen{};
    for (std::size_t i = 0; i < value.size(); ++i) {
      require(value[i].is_string(), where, ": field 'target_modules'[", i, "] = ", detail::json_excerpt(value[i]),
              ": expected a module name");
      const auto name = value[i].get<std::string>();
      LoraTarget target{};
      require(lora_target_from_name(name, target), where, ": field 'target_modules'[", i, "] = \"", name,
              "\": r1 adapts ", names_list(), " only");
      if (!as_set) {
        targets.push_back(target);
        continue;
      }
      seen[static_cast<std::size_t>(target)] = true;
    }
    if (as_set)
      for (int i = 0; i < kLoraTargetCount; ++i)
        if (seen[static_cast<std::size_t>(i)]) targets.push_back(static_cast<LoraTarget>(i));
    return targets;
  }
};

// PEFT's name of a LoRA tensor in adapter_model.safetensors: the module path inside PeftModelForCausalLM
// (base_model = LoraModel, .model = the HF *ForCausalLM, .model = its decoder), with the adapter name
// dropped as get_peft_model_state_dict does.
inline std::string lora_tensor_name(std::int64_t layer, LoraTarget target, bool is_b) {
  require(layer >= 0, "lora_tensor_name: layer ", layer, " is negative");
  std::string name = "base_model.model.model.layers." + std::to_string(layer) + ".";
  name += lora_target_parent(target);
  name += '.';
  name += lora_target_name(target);
  name += is_b ? ".lora_B.weight" : ".lora_A.weight";
  return name;
}

// The HF name of the base weight that tensor adapts.
inline std::string lora_base_tensor_name(std::int64_t layer, LoraTarget target) {
  require(layer >= 0, "lora_base_tensor_name: layer ", layer, " is negative");
  std::string name = "model.layers." + std::to_string(layer) + ".";
  name += lora_target_parent(target);
  name += '.';
  name += lora_target_name(target);
  name += ".weight";
  return name;
}

}  // namespace r1
