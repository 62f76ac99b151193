#pragma once
// Global gradient-norm clipping over all parameters, as torch.nn.utils.clip_grad_norm_
// (Pascanu et al. 2013): g ← g · min(1, max_norm / (‖g‖₂ + 1e-6)).
#include <cmath>
#include <cstddef>
#include <span>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/partitioner.h>

#include "r1/core/error.hpp"
#include "r1/core/parameter_view.hpp"

namespace r1 {

// The global L2 norm of all gradients, accumulated in double. The same bits at
// any thread count and on any instruction set: the reduction tree depends only on
// the sizes (parallel_deterministic_reduce with a simple_partitioner halves a range
// until it holds at most `grain` values, whoever runs it); each leaf adds in index
// order (compilers keep a double sum's order unless told to reassociate), and the
// square of a float is exact in double, so a fused multiply-add rounds as the
// separate product and sum do.
inline double global_grad_norm(std::span<const ParameterView> parameters) {
  constexpr std::size_t grain = 1 << 15;
  double squares = 0;
  for (const ParameterView& p : parameters)
    squares += tbb::parallel_deterministic_reduce(
        tbb::blocked_range<std::size_t>(0, p.grad.size(), grain), 0.0,
        [&](const tbb::blocked_range<std::size_t>& range, double sum) {
          for (std::size_t k = range.begin(); k != range.end(); ++k) sum += static_cast<double>(p.grad[k]) * p.grad[k];
          return sum;
        },
        [](double a, double b) { return a + b; }, tbb::simple_partitioner{});
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
    // One rounded product per value: vector and scalar code agree, so any split gives the same bits.
    const auto scale = static_cast<float>(coefficient);
    for (const ParameterView& p : parameters)
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, p.grad.size(), std::size_t{1} << 15),
                        [&](const tbb::blocked_range<std::size_t>& range) {
                          for (std::size_t k = range.begin(); k != range.end(); ++k) p.grad[k] *= scale;
                        });
  }
  return norm;
}

}  // namespace r1
