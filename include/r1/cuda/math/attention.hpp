#pragma once
// Online-softmax attention accumulator shared by kernels/attention.cu,
// kernels/decode_attention.cu and the CPU reference. FlashAttention-2 (Dao 2023,
// algorithm 1): for one query row, keep the running max m and normaliser l of the
// scores seen so far; when a block of keys raises the max to m', rescale the
// output accumulator and l by e^{m - m'}. At the end O = acc / l and the row's
// logsumexp L = m + log l is saved for the backward (algorithm 2), where
//   P_ij = exp(S_ij - L_i),  dP_ij = dO_i . V_j,  D_i = dO_i . O_i,
//   dS_ij = P_ij (dP_ij - D_i),  dQ_i = scale sum_j dS_ij K_j,
//   dK_j = scale sum_i dS_ij Q_i,  dV_j = sum_i P_ij dO_i.
#include <cmath>

#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

struct OnlineSoftmax {
  float max = -INFINITY;
  float sum = 0.0f;
};

// Folds in a block of scores whose maximum is `block_max` and whose sum of
// e^{s - new_max} is computed by the caller after this call; returns the factor
// e^{m - m'} that the caller multiplies its output accumulator by.
R1_HOST_DEVICE float online_softmax_rescale(OnlineSoftmax& state, float block_max) {
  const float new_max = fmaxf(state.max, block_max);
  const float factor = state.max == -INFINITY ? 0.0f : expf(state.max - new_max);
  state.sum *= factor;
  state.max = new_max;
  return factor;
}

R1_HOST_DEVICE float online_softmax_logsumexp(const OnlineSoftmax& state) { return state.max + logf(state.sum); }

// Group-query attention: query head h reads key/value head h / (heads / kv_heads)
// (Ainslie et al. 2023, "GQA", section 2.2; HF's repeat_kv).
R1_HOST_DEVICE int gqa_kv_head(int head, int heads, int kv_heads) { return head / (heads / kv_heads); }

}  // namespace r1::gpu
