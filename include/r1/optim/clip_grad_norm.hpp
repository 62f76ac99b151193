#pragma once
// Global gradient-norm clipping over all parameters, as torch.nn.utils.clip_grad_norm_
// (Pascanu et al. 2013): g ← g · min(1, max_norm / (‖g‖₂ + 1e-6)).
#include <cmath>
#include <span>

#include "r1/core/error.hpp"
#include "r1/optim/parameter.hpp"

namespace r1 {

// The global L2 norm of all gradients, accumulated in double.
inline double global_grad_norm(std::span<const ParameterView> parameters) {
  double squares = 0;
  for (const ParameterView& p : parameters)
    for (float g : p.grad) squares += static_cast<double>(g) * g;
  return std::sqrt(squares);
}

// Returns the norm before clipping. A non-finite norm leaves the gradients as
// they are, so the caller can skip the step. max_norm ≤ 0 or +inf only measures.
inline double clip_grad_norm(std::span<const ParameterView> parameters, double max_norm) {
  require(!std::isnan(max_norm), "clip_grad_norm: max_norm is NaN");
  const double norm = global_grad_norm(parameters);
  if (!std::isfinite(norm) || max_norm <= 0 || std::isinf(max_norm)) return norm;
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1) {
    const auto scale = static_cast<float>(coefficient);
    for (const ParameterView& p : parameters)
      for (float& g : p.grad) g *= scale;
  }
  return norm;
}

}  // namespace r1
