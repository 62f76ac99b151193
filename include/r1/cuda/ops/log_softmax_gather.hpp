#pragma once
// Log-probability of each row's target token and the entropy of the row's
// distribution, at a temperature, without materialising probabilities
// (kernels/log_softmax_gather.cu; math in r1/cuda/math/log_softmax.hpp).
//   logits: (rows, vocab);  targets: (rows), a negative target marks a row that is not scored
//   logprobs, entropies: (rows) fp32, 0 on unscored rows
//   logsumexp, mean_z: (rows) fp32, saved by the forward for the backward (z = logits / temperature)
//   d_logits: (rows, vocab), overwritten; zero on unscored rows. It may be `logits` itself
//   (same type: dlogits written in place, as llm.c's fused classifier does), or fp32 logits
//   may give storage-precision d_logits (the fused LM head of Transformer<cuda>: fp32
//   logits of a chunk of tokens, bf16 d_logits for its GEMMs).
#include <cuda_runtime.h>

#include <cstdint>

#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

template <StorageType T>
void log_softmax_gather_forward(const T* logits, const std::int32_t* targets, int rows, int vocab, float temperature,
                                float* logprobs, float* entropies, float* logsumexp, float* mean_z,
                                cudaStream_t stream);

// Instantiated for (float, float), (bf16, bf16) and (float, bf16).
template <StorageType T, StorageType Out = T>
void log_softmax_gather_backward(const T* logits, const std::int32_t* targets, const float* logsumexp,
                                 const float* mean_z, const float* d_logprobs, const float* d_entropies, int rows,
                                 int vocab, float temperature, Out* d_logits, cudaStream_t stream);

}  // namespace r1::gpu
