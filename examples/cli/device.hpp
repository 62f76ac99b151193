#pragma once
// `--device cpu|cuda` of r1 score, generate, eval, sft, grpo and distill: which Transformer runs the
// command. The command's body is a template over the model type, called through with_model_type:
//
//   command->add_option("--device", options->device, kDeviceHelp)->check(CLI::IsMember({"cpu", "cuda"}));
//   r1::cli::with_model_type(options.device, "r1 score", [&]<class Model>(r1::cli::ModelType<Model>) { ... });
//
// "cuda" runs Transformer<cuda> (bf16 storage, fp32 accumulation and master weights) when this r1 was
// built with the CUDA backend (r1::cuda, R1_WITH_CUDA) and a CUDA device is usable; otherwise it stops
// with an r1::Error saying which of the two is missing, before any model is loaded.
#include <string>
#include <string_view>
#include <type_traits>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#if R1_WITH_CUDA
#include "r1/cuda/cuda_adamw.hpp"
#include "r1/cuda/device.hpp"
#include "r1/cuda/transformer.hpp"
#endif

namespace r1::cli {

inline constexpr const char* kDeviceHelp =
    "Where the model runs: cpu, or cuda (Transformer<cuda> on the first GPU; needs an r1 built with nvcc)";

template <class Model>
struct ModelType {
  using type = Model;
};

// Whether the model is the GPU one (for the features only Transformer<cpu> has).
template <class Model>
inline constexpr bool is_gpu_model =
#if R1_WITH_CUDA
    std::is_same_v<Model, Transformer<cuda>>;
#else
    false;
#endif

// The optimizer a training command steps the model with: r1::AdamW on the host for Transformer<cpu>,
// gpu::CudaAdamW (same config and checkpoint format, moments on the device) for Transformer<cuda>.
template <class Model>
struct OptimizerChoice {
  using type = AdamW;
};
#if R1_WITH_CUDA
template <>
struct OptimizerChoice<Transformer<cuda>> {
  using type = gpu::CudaAdamW;
};
#endif
template <class Model>
using OptimizerFor = typename OptimizerChoice<Model>::type;

// Config fields only Transformer<cpu> trains with ("lora", "gradient_checkpointing"): an error naming the
// field for the GPU model, rather than a run that silently ignores it.
inline void require_cpu_only_fields_absent(const Json& config, std::string_view who) {
  if (config.contains("lora") && !config["lora"].is_null())
    fail(who, " --device cuda: config field 'lora': Transformer<cuda> trains no LoRA adapters; use --device cpu");
  if (config.contains("gradient_checkpointing") && config["gradient_checkpointing"] == true)
    fail(who, " --device cuda: config field 'gradient_checkpointing': Transformer<cuda> does not recompute "
              "activations; remove the field or use --device cpu");
}

// "who: ", or nothing for an empty `who`: a program whose main already puts its name before every error
// (r1_zero: "r1_zero: error: ...") passes "" so that the name is not printed twice.
inline std::string error_prefix(std::string_view who) {
  return who.empty() ? std::string() : std::string(who) + ": ";
}

// Throws, naming `who`, unless --device cuda can run here.
inline void require_cuda_device(std::string_view who) {
#if R1_WITH_CUDA
  const gpu::DeviceQuery query = gpu::query_devices();
  require(query.count > 0, error_prefix(who), "--device cuda: no usable CUDA device (", query.reason(), ")");
#else
  fail(error_prefix(who), "--device cuda: this r1 was built without the CUDA backend (configure with the CUDA "
                          "toolkit's nvcc found, or -DR1_CUDA=ON); use --device cpu");
#endif
}

// Calls body(ModelType<Transformer<cpu>>{}) or, for "cuda", body(ModelType<Transformer<cuda>>{}) after
// checking that the backend and a device are there.
template <class Body>
decltype(auto) with_model_type(const std::string& device, std::string_view who, Body&& body) {
  if (device == "cpu") return body(ModelType<Transformer<cpu>>{});
  require(device == "cuda", error_prefix(who), "--device '", device, "': expected cpu or cuda");
  require_cuda_device(who);
#if R1_WITH_CUDA
  return body(ModelType<Transformer<cuda>>{});
#else
  return body(ModelType<Transformer<cpu>>{});  // not reached: require_cuda_device threw
#endif
}

}  // namespace r1::cli
