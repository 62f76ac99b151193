#pragma once
// Rotary position embedding math shared by kernels/rope.cu and its CPU reference.
// Su et al. 2021, "RoFormer", eq. (34), in the "rotate half" layout of HF Llama/Qwen2:
// dimension i < D/2 pairs with i + D/2, both rotated by angle pos * inv_freq[i], where
// inv_freq[i] = base^(-2i/D) or its rope_scaling variant (r1/model/rope_frequencies.hpp,
// the function the CPU model's RopeTable uses too):
//   y_i = x_i cos - x_{i+D/2} sin,   y_{i+D/2} = x_{i+D/2} cos + x_i sin
// The rotation is orthogonal, so the backward is the rotation by -angle.
#include <cmath>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/cuda/host_device.hpp"
#include "r1/model/rope_frequencies.hpp"

namespace r1::gpu {

struct Rotated {
  float first;
  float second;
};

R1_HOST_DEVICE Rotated rope_rotate(float first, float second, float cos_angle, float sin_angle) {
  return {first * cos_angle - second * sin_angle, second * cos_angle + first * sin_angle};
}

R1_HOST_DEVICE Rotated rope_rotate_backward(float d_first, float d_second, float cos_angle, float sin_angle) {
  return {d_first * cos_angle + d_second * sin_angle, d_second * cos_angle - d_first * sin_angle};
}

// The (max_positions, head_dim / 2) cos and sin tables the kernels read, each
// angle computed in double (inv_freq too) and rounded once to float, so host and
// device read identical values. Layout: table[pos * (head_dim/2) + i].
struct RopeTables {
  std::vector<float> cos;
  std::vector<float> sin;
};

inline RopeTables make_rope_tables(int max_positions, int head_dim, double base, const RopeScaling& scaling = {}) {
  require(max_positions > 0, "make_rope_tables: max_positions must be positive, got ", max_positions);
  require(head_dim > 0 && head_dim % 2 == 0, "make_rope_tables: head_dim must be positive and even, got ", head_dim);
  require(base > 1.0, "make_rope_tables: rope_theta must be > 1, got ", base);
  const int half = head_dim / 2;
  const auto inv_freq = rope_inverse_frequencies<double>(head_dim, base, scaling);
  RopeTables tables;
  tables.cos.resize(static_cast<std::size_t>(max_positions) * half);
  tables.sin.resize(tables.cos.size());
  for (int pos = 0; pos < max_positions; ++pos)
    for (int i = 0; i < half; ++i) {
      const double angle = pos * inv_freq[static_cast<std::size_t>(i)];
      tables.cos[static_cast<std::size_t>(pos) * half + i] = static_cast<float>(std::cos(angle));
      tables.sin[static_cast<std::size_t>(pos) * half + i] = static_cast<float>(std::sin(angle));
    }
  return tables;
}

}  // namespace r1::gpu
