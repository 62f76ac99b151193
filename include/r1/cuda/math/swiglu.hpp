#pragma once
// SwiGLU math shared by kernels/swiglu.cu and its CPU reference.
// Shazeer 2020, "GLU Variants Improve Transformer", eq. (5) with Swish_1 = SiLU:
//   h = silu(gate) * up,  silu(g) = g * sigmoid(g)
// Backward: d_up = dh * silu(g);  d_gate = dh * up * sigmoid(g) * (1 + g (1 - sigmoid(g))).
#include <cmath>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

R1_HOST_DEVICE float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

R1_HOST_DEVICE float swiglu_output(float gate, float up) { return gate * sigmoid(gate) * up; }

struct SwigluGrads {
  float d_gate;
  float d_up;
};

R1_HOST_DEVICE SwigluGrads swiglu_backward(float gate, float up, float d_out) {
  const float s = sigmoid(gate);
  return {d_out * up * s * (1.0f + gate * (1.0f - s)), d_out * gate * s};
}

}  // namespace r1::gpu
