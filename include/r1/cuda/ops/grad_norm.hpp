#pragma once
// Global L2 norm of all gradients (kept contiguous in one fp32 buffer) and the
// clip coefficient min(1, max_norm / (norm + 1e-6)) of torch.nn.utils.clip_grad_norm_
// (kernels/grad_norm.cu). Both results stay on the device; `workspace` holds
// grad_norm_workspace_floats floats. Partial sums are fp32 per thread, summed
// across blocks in double, in a fixed order: the result is deterministic.
#include <cuda_runtime.h>

#include <cstdint>

namespace r1::gpu {

inline constexpr int grad_norm_blocks = 1024;
inline constexpr int grad_norm_workspace_floats = 2 * grad_norm_blocks;  // room for the doubles

// norm_device <- ||grads||_2;  clip_device (if not null) <- min(1, max_norm / (norm + 1e-6)).
void global_grad_norm(const float* grads, std::int64_t n, float* workspace, float* norm_device, float* clip_device,
                      float max_norm, cudaStream_t stream);

// grads[i] <- grads[i] * factor in fp32, one rounding per value: the in-place scaling of
// r1::clip_grad_norm (r1/optim/clip_grad_norm.hpp), whose coefficient the caller computes
// on the host from the norm, as that function does.
void scale_gradients(float* grads, std::int64_t n, float factor, cudaStream_t stream);

}  // namespace r1::gpu
