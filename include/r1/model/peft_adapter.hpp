#pragma once
// LoRA adapters in HF PEFT's directory format (PeftModel.save_pretrained / from_pretrained):
// DIR/adapter_config.json (LoraConfig::to_adapter_config) and DIR/adapter_model.safetensors, one tensor per
// adapted module and factor, named as lora_tensor_name gives, lora_A (r, in_features) and lora_B
// (out_features, r) as torch's nn.Linear stores them. And merging an adapter into its base weight.
//
//   r1::save_peft_adapter("run/adapter", lora, views, "Qwen/Qwen2.5-0.5B");
//   const auto lora = r1::load_peft_adapter_config("run/adapter");
//   r1::load_peft_adapter_tensors("run/adapter", slots);   // fills each slot's value span
//   r1::lora_merge(w, out, in, a, b, lora.r, lora.scale());
#include <Eigen/Core>

#include <cstdint>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/parameter_view.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/lora_config.hpp"

namespace r1 {

// PEFT's file names (peft.utils.constants: CONFIG_NAME, SAFETENSORS_WEIGHTS_NAME, WEIGHTS_NAME).
inline constexpr std::string_view kPeftConfigFile = "adapter_config.json";
inline constexpr std::string_view kPeftWeightsFile = "adapter_model.safetensors";
inline constexpr std::string_view kPeftPickleWeightsFile = "adapter_model.bin";

namespace detail {
// Checks that `name` is a LoRA factor ("... .lora_A.weight" or "... .lora_B.weight") shaped for rank `r`:
// lora_A (r, in), lora_B (out, r). `where` names the file.
inline void check_lora_factor_shape(const std::string& where, const std::string& name,
                                    const std::vector<std::int64_t>& shape, int r) {
  const bool is_a = name.ends_with(".lora_A.weight"), is_b = name.ends_with(".lora_B.weight");
  require(is_a || is_b, where, ": tensor '", name, "' is not a LoRA factor (a name ending in .lora_A.weight or "
          ".lora_B.weight)");
  require(shape.size() == 2 && shape[0] > 0 && shape[1] > 0, where, ": tensor '", name, "' has shape ",
          Json(shape).dump(), ": expected two positive extents");
  if (is_a)
    require(shape[0] == r, where, ": tensor '", name, "' has shape ", Json(shape).dump(), ": lora_A is (r, in) with r = ",
            r);
  else
    require(shape[1] == r, where, ": tensor '", name, "' has shape ", Json(shape).dump(), ": lora_B is (out, r) with r = ",
            r);
}
}  // namespace detail

// Writes DIR/adapter_model.safetensors (F32, __metadata__ {"format": "pt"} as PEFT writes it) and then
// DIR/adapter_config.json, each atomically (write_safetensors streams tensor by tensor into a temporary
// renamed into place; write_file_atomically), creating DIR. Every tensor must be a LoRA factor shaped for
// config.r (see the top of this file); names are the caller's, normally lora_tensor_name's.
inline void save_peft_adapter(const std::string& directory, const LoraConfig& config,
                              std::span<const SafetensorsTensorView> tensors,
                              std::string_view base_model_name_or_path) {
  namespace fs = std::filesystem;
  config.validate(directory + ": LoraConfig");
  const fs::path dir = directory.empty() ? fs::path(".") : fs::path(directory);
  const std::string weights = (dir / kPeftWeightsFile).string();
  for (const auto& tensor : tensors) detail::check_lora_factor_shape(weights, tensor.name, tensor.shape, config.r);
  std::error_code error;
  fs::create_directories(dir, error);
  require(!error, directory, ": cannot create the directory (", error.message(), ")");
  write_safetensors(weights, tensors, SafetensorsDtype::f32);
  // The config last, as Transformer::save writes config.json after the weights.
  write_file_atomically((dir / kPeftConfigFile).string(), config.to_adapter_config(base_model_name_or_path).dump(2) + "\n");
}

// DIR/adapter_config.json through parse_json (nesting bounded) and LoraConfig::from_adapter_config.
inline LoraConfig load_peft_adapter_config(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / kPeftConfigFile).string();
  require(std::filesystem::exists(path), directory, ": no ", kPeftConfigFile, " (not a PEFT adapter directory)");
  return LoraConfig::from_adapter_config(read_json_file(path), path);
}

// Reads DIR/adapter_model.safetensors into the slots: each slot's `value` (name, shape, value; `grad` is
// not used and may be empty; r1::ParameterView is the mutable named view r1 has) receives the tensor of
// that name, converted to fp32 from F32, BF16 or F16. A slot whose tensor is missing or shaped otherwise, a
// slot named twice, and a tensor in the file that no slot asks for are each an r1::Error naming the file
// and the tensor; all are checked before any slot is written. Only safetensors is read: a directory with
// just adapter_model.bin (a pickle, which r1 does not unpickle) is an error saying so.
inline void load_peft_adapter_tensors(const std::string& directory, std::span<const ParameterView> tensors) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  const std::string path = (dir / kPeftWeightsFile).string();
  if (!fs::exists(path)) {
    require(!fs::exists(dir / kPeftPickleWeightsFile), directory, ": only ", kPeftPickleWeightsFile,
            " is here; r1 reads ", kPeftWeightsFile, " only (save the adapter with save_pretrained("
            "safe_serialization=True), PEFT's default)");
    fail(directory, ": no ", kPeftWeightsFile);
  }
  SafetensorsFile file(path);
  std::set<std::string> asked;
  for (const auto& slot : tensors) {
    require(asked.insert(slot.name).second, path, ": tensor '", slot.name, "' is asked for twice");
    const SafetensorsTensor* tensor = file.find(slot.name);
    require(tensor != nullptr, path, ": tensor '", slot.name, "' is missing from the adapter");
    require(tensor->shape == slot.shape, path, ": tensor '", slot.name, "' has shape ", Json(tensor->shape).dump(),
            ", the model expects ", Json(slot.shape).dump());
    require(static_cast<std::int64_t>(slot.value.size()) == tensor->elements(), path, ": tensor '", slot.name,
            "': the destination holds ", slot.value.size(), " values for ", tensor->elements());
  }
  for (const auto& tensor : file.tensors())
    require(asked.count(tensor.name) != 0, path, ": tensor '", tensor.name,
            "' is in the adapter but the model has no place for it (a module r1 does not adapt, or a layer "
            "beyond the model's)");
  for (const auto& slot : tensors) file.read(*file.find(slot.name), slot.value);
}

// W (out x in, row-major) += scale * B (out x r) * A (r x in), all row-major: merging a LoRA adapter into
// its base weight, W = W0 + (alpha / r) B A (Hu et al. 2021, sec 4.1, "we can explicitly compute and store
// W = W0 + BA"; the scale as LoraConfig::scale). PEFT's merge computes the same (LoraLayer.get_delta_weight:
// (B @ A) * scaling, added to the weight). One Eigen GEMM with alpha = scale: each entry is W plus scale
// times an r-term dot product, so its rounding error is within (r + 2) ulps of the entries involved.
template <class Scalar>
void lora_merge(Scalar* weight, std::int64_t out_features, std::int64_t in_features, const Scalar* lora_a,
                const Scalar* lora_b, std::int64_t r, Scalar scale) {
  require(out_features >= 0 && in_features >= 0 && r >= 1, "lora_merge: shapes out ", out_features, ", in ",
          in_features, ", r ", r, ": expected non-negative extents and r >= 1");
  require(out_features == 0 || in_features == 0 || (weight != nullptr && lora_a != nullptr && lora_b != nullptr),
          "lora_merge: null data");
  if (out_features == 0 || in_features == 0) return;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto O = static_cast<Eigen::Index>(out_features), I = static_cast<Eigen::Index>(in_features),
             R = static_cast<Eigen::Index>(r);
  Eigen::Map<Matrix> w(weight, O, I);                // (out, in)
  const Eigen::Map<const Matrix> a(lora_a, R, I);    // (r, in)
  const Eigen::Map<const Matrix> b(lora_b, O, R);    // (out, r)
  w.noalias() += scale * (b * a);
}

}  // namespace r1
