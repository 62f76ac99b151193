#pragma once
// Log-softmax of one target, and the entropy, of logits at a temperature, in one
// pass and without the probability row (kernels/log_softmax_gather.cu and its
// CPU reference). With z = logits / T, p = softmax(z):
//   log p_t = z_t - lse(z),   lse(z) = m + log s,  s = sum_j e^{z_j - m}
//   H = -sum_j p_j log p_j = log s - (1/s) sum_j e^{z_j - m} (z_j - m)
// The running triple (m, s, w = sum_j e^{z_j - m}(z_j - m)) merges like the online
// softmax of Milakov & Gimelshein 2018 ("Online normalizer calculation for softmax",
// algorithm 3): moving the shift from m to m' >= m rescales by c = e^{m - m'},
//   s' = c s,   w' = c (w + (m - m') s).
// Backward (d/dz of log p_t and of H, then the 1/T of z = logits / T):
//   d log p_t / dz_j = [j = t] - p_j,    dH/dz_j = -p_j (z_j - E_p[z])
#include <cmath>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

struct SoftmaxStats {
  float max = -INFINITY;       // m
  float sum = 0.0f;            // s
  float weighted_sum = 0.0f;   // w
};

R1_HOST_DEVICE SoftmaxStats softmax_stats_merge(SoftmaxStats a, SoftmaxStats b) {
  if (a.max == -INFINITY) return b;
  if (b.max == -INFINITY) return a;
  const float m = fmaxf(a.max, b.max);
  const float ca = expf(a.max - m);
  const float cb = expf(b.max - m);
  return {m, ca * a.sum + cb * b.sum,
          ca * (a.weighted_sum + (a.max - m) * a.sum) + cb * (b.weighted_sum + (b.max - m) * b.sum)};
}

// Folds in one value; one exp per value unless the max moves.
R1_HOST_DEVICE SoftmaxStats softmax_stats_add(SoftmaxStats a, float z) {
  if (a.max == -INFINITY) return {z, 1.0f, 0.0f};
  if (z <= a.max) {
    const float e = expf(z - a.max);
    return {a.max, a.sum + e, a.weighted_sum + e * (z - a.max)};
  }
  const float c = expf(a.max - z);
  return {z, c * a.sum + 1.0f, c * (a.weighted_sum + (a.max - z) * a.sum)};
}

R1_HOST_DEVICE float softmax_stats_logsumexp(SoftmaxStats s) { return s.max + logf(s.sum); }

R1_HOST_DEVICE float softmax_stats_entropy(SoftmaxStats s) { return logf(s.sum) - s.weighted_sum / s.sum; }

// E_p[z] = m + w / s, which the backward of the entropy needs.
R1_HOST_DEVICE float softmax_stats_mean(SoftmaxStats s) { return s.max + s.weighted_sum / s.sum; }

// d loss / d logit_j for z_j = logit_j / T, given lse and E_p[z] saved by the forward.
R1_HOST_DEVICE float log_softmax_gather_logit_grad(float logit, bool is_target, float inverse_temperature,
                                                   float logsumexp, float mean_z, float d_logprob, float d_entropy) {
  const float z = logit * inverse_temperature;
  const float p = expf(z - logsumexp);
  const float dz = d_logprob * ((is_target ? 1.0f : 0.0f) - p) - d_entropy * p * (z - mean_z);
  return dz * inverse_temperature;
}

}  // namespace r1::gpu
