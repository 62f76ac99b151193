// Top-k / top-p sampling without sorting: one block per row. Both thresholds are
// found by radix selection on the order-preserving integer image of the floats,
// most significant bit first (32 counting passes for top-k, 32 mass passes for
// top-p), then one inverse-CDF pass draws the token in vocabulary order. All
// sums run in a fixed order, so a row's result depends only on its inputs.
#include "common.cuh"
#include "r1/cuda/ops/sampling.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 512;

// Monotone map float -> uint32: a < b  <=>  key(a) < key(b) (for non-NaN floats).
__device__ __forceinline__ std::uint32_t order_key(float value) {
  const std::uint32_t bits = __float_as_uint(value);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

__global__ void sample_kernel(const float* __restrict__ logits, int vocab, std::int64_t row_stride,
                              const std::int32_t* __restrict__ row_index, float inverse_temperature, bool greedy,
                              int top_k, float top_p, const float* __restrict__ uniforms,
                              std::int32_t* __restrict__ tokens, float* __restrict__ logprobs) {
  __shared__ float scratch[32];
  __shared__ float chunk_sums[threads];
  __shared__ int chosen_chunk;
  __shared__ float remaining;
  __shared__ float kept_total;
  const std::int64_t row = blockIdx.x;
  const float* z_row = logits + (row_index != nullptr ? static_cast<std::int64_t>(row_index[row]) : row) * row_stride;
  const int tid = threadIdx.x;

  float local_max = -INFINITY;
  int local_arg = vocab;
  for (int j = tid; j < vocab; j += threads)
    if (z_row[j] > local_max) local_max = z_row[j], local_arg = j;
  const float row_max = device::block_max(local_max, scratch);
  if (greedy) {
    __shared__ int best;
    if (tid == 0) best = vocab;
    __syncthreads();
    if (local_max == row_max) atomicMin(&best, local_arg);
    __syncthreads();
    if (tid == 0) {
      tokens[row] = best;
      if (logprobs != nullptr) logprobs[row] = 0.0f;  // one candidate left, as draw_token reports it
    }
    return;
  }
  // Probabilities are e_j = exp((l_j - max) / T), unnormalised; temperature scaling is monotone,
  // so thresholds can be taken on the raw logits.
  std::uint32_t threshold = 0;  // keep l_j with order_key(l_j) >= threshold
  if (top_k > 0 && top_k < vocab) {
    for (int bit = 31; bit >= 0; --bit) {
      const std::uint32_t candidate = threshold | (1u << bit);
      float count = 0.0f;  // exact: counts < 2^24
      for (int j = tid; j < vocab; j += threads) count += order_key(z_row[j]) >= candidate ? 1.0f : 0.0f;
      if (device::block_sum(count, scratch) >= static_cast<float>(top_k)) threshold = candidate;
    }
  }
  auto kept_mass = [&](std::uint32_t at_least) {
    float mass = 0.0f;
    for (int j = tid; j < vocab; j += threads)
      if (order_key(z_row[j]) >= at_least) mass += expf((z_row[j] - row_max) * inverse_temperature);
    return device::block_sum(mass, scratch);
  };
  if (top_p < 1.0f) {
    const float target = top_p * kept_mass(threshold);
    // Largest c with mass(keys >= max(c, top-k threshold)) >= target; that mass is monotone in c.
    std::uint32_t nucleus = 0;
    for (int bit = 31; bit >= 0; --bit) {
      const std::uint32_t candidate = nucleus | (1u << bit);
      if (kept_mass(max(candidate, threshold)) >= target) nucleus = candidate;
    }
    threshold = max(threshold, nucleus);
  }
  // Inverse CDF in vocabulary order: thread t owns the contiguous chunk [t * chunk, (t + 1) * chunk).
  const int chunk = (vocab + threads - 1) / threads;
  const int begin = min(vocab, tid * chunk), end = min(vocab, begin + chunk);
  float sum = 0.0f;
  for (int j = begin; j < end; ++j)
    if (order_key(z_row[j]) >= threshold) sum += expf((z_row[j] - row_max) * inverse_temperature);
  chunk_sums[tid] = sum;
  __syncthreads();
  if (tid == 0) {
    float total = 0.0f;
    for (int t = 0; t < threads; ++t) total += chunk_sums[t];
    float left = uniforms[row] * total;
    int last_nonempty = 0;
    chosen_chunk = -1;
    for (int t = 0; t < threads; ++t) {
      if (chunk_sums[t] > 0.0f) last_nonempty = t;
      if (chosen_chunk < 0 && chunk_sums[t] > 0.0f && left < chunk_sums[t]) {
        chosen_chunk = t;
        break;
      }
      left -= chunk_sums[t];
    }
    if (chosen_chunk < 0) chosen_chunk = last_nonempty, left = INFINITY;  // rounding pushed u * total past the end
    remaining = left;
    kept_total = total;
  }
  __syncthreads();
  if (tid == chosen_chunk) {
    float left = remaining;
    int picked = -1;
    for (int j = begin; j < end; ++j) {
      if (order_key(z_row[j]) < threshold) continue;
      const float e = expf((z_row[j] - row_max) * inverse_temperature);
      picked = j;
      if (left < e) break;
      left -= e;
    }
    tokens[row] = picked;
    // log p = log(e_picked / total) over the kept set (draw_token's behaviour log-prob).
    if (logprobs != nullptr && picked >= 0)
      logprobs[row] = (z_row[picked] - row_max) * inverse_temperature - logf(kept_total);
  }
}

}  // namespace

void sample_tokens(const float* logits, int rows, int vocab, const SamplingParameters& parameters,
                   const float* uniforms, std::int32_t* tokens, cudaStream_t stream, const std::int32_t* row_index,
                   int row_stride, float* logprobs) {
  require(rows >= 0, "sample_tokens: rows must be >= 0, got ", rows);
  require(vocab > 0 && vocab < (1 << 24), "sample_tokens: vocab must lie in [1, 2^24), got ", vocab);
  require(parameters.temperature >= 0.0f, "sample_tokens: temperature must be >= 0, got ", parameters.temperature);
  require(parameters.top_p > 0.0f && parameters.top_p <= 1.0f, "sample_tokens: top_p must lie in (0, 1], got ",
          parameters.top_p);
  require(row_stride == 0 || row_stride >= vocab, "sample_tokens: row_stride ", row_stride, " is below vocab ", vocab);
  if (rows == 0) return;
  const bool greedy = parameters.temperature == 0.0f;
  sample_kernel<<<rows, threads, 0, stream>>>(logits, vocab, row_stride == 0 ? vocab : row_stride, row_index,
                                              greedy ? 1.0f : 1.0f / parameters.temperature, greedy,
                                              parameters.top_k, parameters.top_p, uniforms, tokens, logprobs);
  check_launch("sample_kernel", "sample_tokens");
}

}  // namespace r1::gpu
