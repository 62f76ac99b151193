#pragma once
// One AdamW update of one fp32 master weight (kernels/adamw.cu and its CPU reference).
// Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", algorithm 2,
// in PyTorch's torch.optim.AdamW form (decay applied as p *= 1 - lr * wd first):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// `grad_scale` multiplies g first (global-norm clipping folds in there).
#include <cmath>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

struct AdamWHyper {
  float learning_rate = 1e-6f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float bias_correction1 = 1.0f;  // 1 - beta1^t, computed once per step on the host in double
  float bias_correction2 = 1.0f;  // 1 - beta2^t
  float grad_scale = 1.0f;
};

struct AdamWState {
  float param;
  float m;
  float v;
};

R1_HOST_DEVICE AdamWState adamw_update(AdamWState s, float grad, const AdamWHyper& h) {
  const float g = grad * h.grad_scale;
  s.param *= 1.0f - h.learning_rate * h.weight_decay;
  s.m = h.beta1 * s.m + (1.0f - h.beta1) * g;
  s.v = h.beta2 * s.v + (1.0f - h.beta2) * g * g;
  const float m_hat = s.m / h.bias_correction1;
  const float v_hat = s.v / h.bias_correction2;
  s.param -= h.learning_rate * m_hat / (sqrtf(v_hat) + h.eps);
  return s;
}

// The hyper-parameters of step t (1-based), bias corrections in double.
inline AdamWHyper adamw_hyper_for_step(AdamWHyper base, long step) {
  base.bias_correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(base.beta1), static_cast<double>(step)));
  base.bias_correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(base.beta2), static_cast<double>(step)));
  return base;
}

}  // namespace r1::gpu
