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

// exp(s - m) for a score that may be masked (-inf): 0 for a masked score, so a row
// that has seen no visible key yet (m = -inf) gives 0, not exp(nan).
R1_HOST_DEVICE float online_softmax_weight(float score, float max) {
  return score == -INFINITY ? 0.0f : expf(score - max);
}

// Causal masking on packed sequences: query row `query` of a sequence of `length`
// tokens sees key `key` iff key <= query (Vaswani et al. 2017, section 3.2.3) and
// the query is a real token (tiles are padded past the sequence's end).
R1_HOST_DEVICE bool attention_visible(int query, int key, int length) { return key <= query && query < length; }

// Tile ranges for variable-length causal attention (FlashAttention-2, Dao 2023,
// section 3.1: blocks above the diagonal are skipped). Positions are within one
// sequence. A query tile [q0, q0 + query_tile) of a sequence of `length` tokens
// needs key tiles [0, count): keys up to its last real query.
R1_HOST_DEVICE int causal_key_tile_count(int q0, int query_tile, int key_tile, int length) {
  const int last_query = (q0 + query_tile < length ? q0 + query_tile : length) - 1;
  return last_query < 0 || q0 >= length ? 0 : last_query / key_tile + 1;
}

// A key tile starting at k0 is seen by query rows >= k0 only: the first query tile
// (of `query_tile` rows, aligned to multiples of it) that reaches it starts here.
R1_HOST_DEVICE int causal_first_query_tile(int k0, int query_tile) { return k0 / query_tile * query_tile; }

// Group-query attention: query head h reads key/value head h / (heads / kv_heads)
// (Ainslie et al. 2023, "GQA", section 2.2; HF's repeat_kv).
R1_HOST_DEVICE int gqa_kv_head(int head, int heads, int kv_heads) { return head / (heads / kv_heads); }

}  // namespace r1::gpu
