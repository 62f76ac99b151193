#pragma once
// What Transformer<cuda>::parameters() returns: a handle on the model's device-resident
// parameters (fp32 master weights, fp32 gradients, the storage-precision copy the
// forward reads), laid out as the host model's flat parameter vector.
//
//   auto parameters = model.parameters();          // DeviceParameters<Transformer<cuda>>
//   double norm = clip_grad_norm(parameters, 1.0);  // found by ADL: the norm and the clip run on the device
//   optimizer.step(parameters);                     // r1::gpu::CudaAdamW steps on the device
//   std::span<const ParameterView> host = parameters;  // the host mirror, synced on demand
//   for (const ParameterView& p : parameters.host()) ...
//
// It converts to std::span<const ParameterView> (so it satisfies r1::Model and every
// host-side consumer keeps working): the conversion copies the device values and
// gradients into the host mirror and marks the device copy stale, so whatever the
// caller writes through the views (an r1::AdamW step, an all-reduce of gradients) is
// uploaded before the model next runs. Device-aware consumers (clip_grad_norm below,
// CudaAdamW) take the handle itself and never touch the host.
//
// Model requirements (Transformer<cuda> provides them):
//   device_tensors()            -> std::span<const DeviceTensor>
//   device_values()             -> float* (fp32 master, device current)
//   device_gradients()          -> float* (fp32, device current)
//   device_storage()            -> T* (storage copy, nullptr when the storage is the fp32 master)
//   device_parameter_count()    -> std::int64_t
//   device_stream()             -> cudaStream_t
//   device_values_written()     : the master (and storage copy) changed on the device
//   clip_device_gradients(max)  -> double (norm before clipping; see clip_grad_norm)
//   host_parameters()           -> std::span<const ParameterView>
#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <string>

#include "r1/core/parameter_view.hpp"

namespace r1::gpu {

// One tensor of the flat parameter vector.
struct DeviceTensor {
  std::string name;  // HF name
  std::int64_t offset = 0, size = 0;
  bool weight_decay = true;  // false for norms and biases (HF Trainer's convention)
};

template <class Model>
class DeviceParameters {
 public:
  explicit DeviceParameters(Model& model) : model_(&model) {}

  std::span<const DeviceTensor> tensors() const { return model_->device_tensors(); }
  std::int64_t count() const { return model_->device_parameter_count(); }
  float* values() const { return model_->device_values(); }
  float* gradients() const { return model_->device_gradients(); }
  auto* storage() const { return model_->device_storage(); }
  cudaStream_t stream() const { return model_->device_stream(); }
  void values_written() const { model_->device_values_written(); }
  Model& model() const { return *model_; }

  // The host mirror (synced now; the device re-reads it before the model next runs).
  std::span<const ParameterView> host() const { return model_->host_parameters(); }
  operator std::span<const ParameterView>() const { return host(); }  // NOLINT: r1::Model's parameters() contract
  // No begin()/end(): a range would also convert to the span through span's range constructor, and
  // the two conversions would make every host consumer's call ambiguous. Iterate host() instead.

 private:
  Model* model_;
};

// Global gradient-norm clipping on the device, as torch.nn.utils.clip_grad_norm_ (Pascanu
// et al. 2013): g <- g * min(1, max_norm / (||g||_2 + 1e-6)), the same contract as
// r1::clip_grad_norm (r1/optim/clip_grad_norm.hpp): returns the norm before clipping; a
// non-finite norm leaves the gradients as they are; max_norm <= 0 or +inf only measures.
// One float crosses to the host (the norm, which decides the clip coefficient there).
template <class Model>
double clip_grad_norm(const DeviceParameters<Model>& parameters, double max_norm) {
  return parameters.model().clip_device_gradients(max_norm);
}

}  // namespace r1::gpu
