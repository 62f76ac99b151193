#pragma once
// AdamW in double precision with a running bound on what an fp32 evaluation of
// r1/cuda/math/adamw.hpp may differ from it (the kernel's and the CPU twin's
// arithmetic): tests of adamw_step and of gpu::CudaAdamW compare against it.
#include <cmath>
#include <cstddef>
#include <vector>

#include "r1/cuda/math/adamw.hpp"

namespace r1::test {

struct AdamWReference {
  std::vector<double> p, m, v;              // exact state
  std::vector<double> err_p, err_m, err_v;  // bounds on the fp32 evaluation's absolute error

  explicit AdamWReference(std::vector<double> params)
      : p(std::move(params)), m(p.size(), 0.0), v(p.size(), 0.0), err_p(p.size(), 0.0), err_m(p.size(), 0.0),
        err_v(p.size(), 0.0) {}

  // One step with gradient g * scale and the hyper-parameters of that step (their fp32 bias corrections).
  void step(const std::vector<double>& g, double scale, const gpu::AdamWHyper& hyper) {
    constexpr double u = 1.0 / (1 << 24);  // fp32 unit roundoff
    const double b1 = hyper.beta1, b2 = hyper.beta2, lr = hyper.learning_rate, wd = hyper.weight_decay,
                 eps = hyper.eps, bc1 = hyper.bias_correction1, bc2 = hyper.bias_correction2;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] * scale;
      // g * scale: 2 roundings.  m: b1 m + (1-b1) g, 3 roundings on terms of size b1|m| + (1-b1)|g|.
      const double e_g = 2 * u * std::abs(gi);
      err_m[i] = b1 * err_m[i] + (1 - b1) * e_g + 3 * u * (b1 * std::abs(m[i]) + (1 - b1) * std::abs(gi));
      err_v[i] = b2 * err_v[i] + (1 - b2) * 2 * std::abs(gi) * e_g + 4 * u * (b2 * v[i] + (1 - b2) * gi * gi);
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double m_hat = m[i] / bc1, v_hat = v[i] / bc2, denom = std::sqrt(v_hat) + eps;
      const double ratio = m_hat / denom;
      // m_hat, v_hat: + u each; sqrt(v_hat) carries half of v_hat's relative error, + u; + eps, the
      // division and the lr product: 3 u of |ratio|.
      const double e_vhat = err_v[i] / bc2 + u * v_hat;
      const double e_denom = (v_hat > 0 ? 0.5 * e_vhat / std::sqrt(v_hat) : std::sqrt(e_vhat)) + 2 * u * denom;
      const double e_ratio = (err_m[i] / bc1 + u * std::abs(m_hat)) / denom + std::abs(ratio) * e_denom / denom +
                             3 * u * std::abs(ratio);
      // decay: p * (1 - lr wd) (2 roundings on |p|), then p - lr * ratio (1 rounding on the result).
      const double decayed = p[i] * (1 - lr * wd);
      err_p[i] = err_p[i] + 2 * u * std::abs(p[i]) + lr * e_ratio + u * std::abs(decayed - lr * ratio);
      p[i] = decayed - lr * ratio;
    }
  }

  static std::vector<double> with_floor(const std::vector<double>& bound) {
    std::vector<double> out(bound);
    for (double& b : out) b += 1e-30;
    return out;
  }
};

}  // namespace r1::test
