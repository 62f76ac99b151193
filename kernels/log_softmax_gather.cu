// Log-softmax-gather + entropy, forward and backward: one block per row, one
// pass over the vocabulary with the online (max, sum, weighted sum) triple of
// r1/cuda/math/log_softmax.hpp, merged across threads with shuffles.
#include "common.cuh"
#include "r1/cuda/math/log_softmax.hpp"
#include "r1/cuda/ops/log_softmax_gather.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 512;

__device__ SoftmaxStats warp_merge(SoftmaxStats s) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    SoftmaxStats other;
    other.max = __shfl_xor_sync(device::full_warp, s.max, offset);
    other.sum = __shfl_xor_sync(device::full_warp, s.sum, offset);
    other.weighted_sum = __shfl_xor_sync(device::full_warp, s.weighted_sum, offset);
    s = softmax_stats_merge(s, other);
  }
  return s;
}

template <class T>
__global__ void log_softmax_gather_forward_kernel(const T* __restrict__ logits, const std::int32_t* __restrict__ targets,
                                                  int vocab, float inverse_temperature, float* __restrict__ logprobs,
                                                  float* __restrict__ entropies, float* __restrict__ logsumexp,
                                                  float* __restrict__ mean_z) {
  __shared__ SoftmaxStats partial[32];
  const std::int64_t row = blockIdx.x;
  const std::int32_t target = targets[row];
  if (target < 0 || target >= vocab) {  // unscored row (block-uniform branch)
    if (threadIdx.x == 0) {
      logprobs[row] = 0.0f;
      entropies[row] = 0.0f;
      logsumexp[row] = 0.0f;
      mean_z[row] = 0.0f;
    }
    return;
  }
  const T* row_logits = logits + row * vocab;
  SoftmaxStats stats;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x)
    stats = softmax_stats_add(stats, device::to_float(row_logits[j]) * inverse_temperature);
  stats = warp_merge(stats);
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  if (lane == 0) partial[warp] = stats;
  __syncthreads();
  if (warp == 0) {
    stats = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : SoftmaxStats{};
    stats = warp_merge(stats);
    if (lane == 0) {
      const float lse = softmax_stats_logsumexp(stats);
      logprobs[row] = device::to_float(row_logits[target]) * inverse_temperature - lse;
      entropies[row] = softmax_stats_entropy(stats);
      logsumexp[row] = lse;
      mean_z[row] = softmax_stats_mean(stats);
    }
  }
}

// No __restrict__ on logits and d_logits: they may be one buffer (in place). Each thread reads
// logit j and then writes d_logit j, and no thread reads another's element, so that is safe.
template <class T, class Out>
__global__ void log_softmax_gather_backward_kernel(const T* logits,
                                                   const std::int32_t* __restrict__ targets,
                                                   const float* __restrict__ logsumexp,
                                                   const float* __restrict__ mean_z,
                                                   const float* __restrict__ d_logprobs,
                                                   const float* __restrict__ d_entropies, int vocab,
                                                   float inverse_temperature, Out* d_logits) {
  const std::int64_t row = blockIdx.x;
  const std::int32_t target = targets[row];
  Out* d_row = d_logits + row * vocab;
  if (target < 0 || target >= vocab) {
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) d_row[j] = device::from_float<Out>(0.0f);
    return;
  }
  const T* row_logits = logits + row * vocab;
  const float lse = logsumexp[row];
  const float mz = mean_z[row];
  const float d_logprob = d_logprobs[row];
  const float d_entropy = d_entropies != nullptr ? d_entropies[row] : 0.0f;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x)
    d_row[j] = device::from_float<Out>(log_softmax_gather_logit_grad(
        device::to_float(row_logits[j]), j == target, inverse_temperature, lse, mz, d_logprob, d_entropy));
}

void check_arguments(int rows, int vocab, float temperature, const char* op) {
  require(rows >= 0, op, ": rows must be >= 0, got ", rows);
  require(vocab > 0, op, ": vocab must be positive, got ", vocab);
  require(temperature > 0.0f, op, ": temperature must be > 0, got ", temperature);
}

}  // namespace

template <StorageType T>
void log_softmax_gather_forward(const T* logits, const std::int32_t* targets, int rows, int vocab, float temperature,
                                float* logprobs, float* entropies, float* logsumexp, float* mean_z,
                                cudaStream_t stream) {
  check_arguments(rows, vocab, temperature, "log_softmax_gather_forward");
  if (rows == 0) return;
  log_softmax_gather_forward_kernel<T><<<rows, threads, 0, stream>>>(logits, targets, vocab, 1.0f / temperature,
                                                                     logprobs, entropies, logsumexp, mean_z);
  check_launch("log_softmax_gather_forward_kernel", "log_softmax_gather_forward");
}

template <StorageType T, StorageType Out>
void log_softmax_gather_backward(const T* logits, const std::int32_t* targets, const float* logsumexp,
                                 const float* mean_z, const float* d_logprobs, const float* d_entropies, int rows,
                                 int vocab, float temperature, Out* d_logits, cudaStream_t stream) {
  check_arguments(rows, vocab, temperature, "log_softmax_gather_backward");
  if (rows == 0) return;
  log_softmax_gather_backward_kernel<T, Out><<<rows, threads, 0, stream>>>(
      logits, targets, logsumexp, mean_z, d_logprobs, d_entropies, vocab, 1.0f / temperature, d_logits);
  check_launch("log_softmax_gather_backward_kernel", "log_softmax_gather_backward");
}

#define R1_INSTANTIATE_LOG_SOFTMAX_GATHER(T)                                                                     \
  template void log_softmax_gather_forward<T>(const T*, const std::int32_t*, int, int, float, float*, float*,   \
                                              float*, float*, cudaStream_t);                                   \
  template void log_softmax_gather_backward<T, T>(const T*, const std::int32_t*, const float*, const float*,    \
                                                  const float*, const float*, int, int, float, T*, cudaStream_t);
R1_INSTANTIATE_LOG_SOFTMAX_GATHER(float)
R1_INSTANTIATE_LOG_SOFTMAX_GATHER(bf16)
#undef R1_INSTANTIATE_LOG_SOFTMAX_GATHER
template void log_softmax_gather_backward<float, bf16>(const float*, const std::int32_t*, const float*, const float*,
                                                       const float*, const float*, int, int, float, bf16*,
                                                       cudaStream_t);

}  // namespace r1::gpu
