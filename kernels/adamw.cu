// Fused AdamW: one pass reads grad, master, m, v and writes master, m, v and the
// storage-precision copy.
#include "common.cuh"
#include "r1/cuda/math/adamw.hpp"
#include "r1/cuda/ops/adamw.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;

template <class T>
__global__ void adamw_kernel(float* __restrict__ master, float* __restrict__ m, float* __restrict__ v,
                             const float* __restrict__ grad, T* __restrict__ param_copy, std::int64_t n,
                             AdamWHyper hyper, const float* __restrict__ grad_scale_device) {
  if (grad_scale_device != nullptr) hyper.grad_scale *= *grad_scale_device;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const AdamWState s = adamw_update({master[i], m[i], v[i]}, grad[i], hyper);
    master[i] = s.param;
    m[i] = s.m;
    v[i] = s.v;
    if (param_copy != nullptr) param_copy[i] = device::from_float<T>(s.param);
  }
}

}  // namespace

template <StorageType T>
void adamw_step(float* master, float* m, float* v, const float* grad, T* param_copy, std::int64_t n,
                const AdamWHyper& hyper, const float* grad_scale_device, cudaStream_t stream) {
  require(n >= 0, "adamw_step: n must be >= 0, got ", n);
  require(hyper.learning_rate >= 0.0f, "adamw_step: learning_rate must be >= 0, got ", hyper.learning_rate);
  require(hyper.beta1 >= 0.0f && hyper.beta1 < 1.0f && hyper.beta2 >= 0.0f && hyper.beta2 < 1.0f,
          "adamw_step: betas must lie in [0, 1), got ", hyper.beta1, " and ", hyper.beta2);
  require(hyper.eps > 0.0f, "adamw_step: eps must be > 0, got ", hyper.eps);
  require(hyper.bias_correction1 > 0.0f && hyper.bias_correction2 > 0.0f,
          "adamw_step: bias corrections must be > 0 (use adamw_hyper_for_step with step >= 1)");
  if (n == 0) return;
  adamw_kernel<T><<<device::blocks_for(n, threads, 65535), threads, 0, stream>>>(master, m, v, grad, param_copy, n,
                                                                                 hyper, grad_scale_device);
  check_launch("adamw_kernel", "adamw_step");
}

template void adamw_step<float>(float*, float*, float*, const float*, float*, std::int64_t, const AdamWHyper&,
                                const float*, cudaStream_t);
template void adamw_step<bf16>(float*, float*, float*, const float*, bf16*, std::int64_t, const AdamWHyper&,
                               const float*, cudaStream_t);

}  // namespace r1::gpu
