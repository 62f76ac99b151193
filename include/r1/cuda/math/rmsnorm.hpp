#pragma once
// RMSNorm math shared by kernels/rmsnorm.cu and its CPU reference.
// Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", eq. (4):
//   y_i = g_i * x_i / rms(x),  rms(x) = sqrt(mean_k x_k^2 + eps)   (Llama/Qwen2 place eps inside the sqrt)
// Backward, with r = 1 / rms(x) and n the row length:
//   dx_i = r * (g_i dy_i - x_i r^2 (1/n) sum_k g_k dy_k x_k),   dg_i = sum_rows dy_i x_i r
#include <cmath>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

R1_HOST_DEVICE float rmsnorm_inverse_rms(float sum_of_squares, int dim, float eps) {
  return 1.0f / sqrtf(sum_of_squares / static_cast<float>(dim) + eps);
}

R1_HOST_DEVICE float rmsnorm_output(float x, float weight, float inverse_rms) { return x * inverse_rms * weight; }

// `mean_gdy_x` = (1/n) sum_k g_k dy_k x_k over the row.
R1_HOST_DEVICE float rmsnorm_input_grad(float x, float weight, float dy, float inverse_rms, float mean_gdy_x) {
  return inverse_rms * (weight * dy - x * inverse_rms * inverse_rms * mean_gdy_x);
}

R1_HOST_DEVICE float rmsnorm_weight_grad_term(float x, float dy, float inverse_rms) { return dy * x * inverse_rms; }

}  // namespace r1::gpu
