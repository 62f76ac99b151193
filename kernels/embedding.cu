// Embedding forward (row gather) and backward (row scatter-add in fp32).
#include "common.cuh"
#include "r1/cuda/ops/embedding.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;

template <class T>
__global__ void embedding_forward_kernel(const std::int32_t* __restrict__ tokens, const T* __restrict__ table,
                                         T* __restrict__ out, int vocab, int dim) {
  const std::int64_t row = blockIdx.x;
  const std::int32_t token = tokens[row];
  const bool valid = token >= 0 && token < vocab;
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    out[row * dim + i] = valid ? table[static_cast<std::int64_t>(token) * dim + i] : device::from_float<T>(0.0f);
}

template <class T>
__global__ void embedding_backward_kernel(const std::int32_t* __restrict__ tokens, const T* __restrict__ d_out,
                                          float* __restrict__ d_table, int vocab, int dim) {
  const std::int64_t row = blockIdx.x;
  const std::int32_t token = tokens[row];
  if (token < 0 || token >= vocab) return;
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    atomicAdd(d_table + static_cast<std::int64_t>(token) * dim + i, device::to_float(d_out[row * dim + i]));
}

void check_shape(int n, int vocab, int dim, const char* op) {
  require(n >= 0, op, ": token count must be >= 0, got ", n);
  require(vocab > 0 && dim > 0, op, ": vocab and dim must be positive, got ", vocab, " and ", dim);
}

}  // namespace

template <StorageType T>
void embedding_forward(const std::int32_t* tokens, int n, const T* table, int vocab, int dim, T* out,
                       cudaStream_t stream) {
  check_shape(n, vocab, dim, "embedding_forward");
  if (n == 0) return;
  embedding_forward_kernel<T><<<n, threads, 0, stream>>>(tokens, table, out, vocab, dim);
  check_launch("embedding_forward_kernel", "embedding_forward");
}

template <StorageType T>
void embedding_backward(const std::int32_t* tokens, int n, const T* d_out, int vocab, int dim, float* d_table,
                        cudaStream_t stream) {
  check_shape(n, vocab, dim, "embedding_backward");
  if (n == 0) return;
  embedding_backward_kernel<T><<<n, threads, 0, stream>>>(tokens, d_out, d_table, vocab, dim);
  check_launch("embedding_backward_kernel", "embedding_backward");
}

template void embedding_forward<float>(const std::int32_t*, int, const float*, int, int, float*, cudaStream_t);
template void embedding_forward<bf16>(const std::int32_t*, int, const bf16*, int, int, bf16*, cudaStream_t);
template void embedding_backward<float>(const std::int32_t*, int, const float*, int, int, float*, cudaStream_t);
template void embedding_backward<bf16>(const std::int32_t*, int, const bf16*, int, int, float*, cudaStream_t);

}  // namespace r1::gpu
