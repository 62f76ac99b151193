// RMSNorm forward/backward: one block per row, fp32 accumulation; the weight
// gradient is a column reduction over row chunks (one atomicAdd per chunk and
// column, not per element). Math: r1/cuda/math/rmsnorm.hpp.
#include "common.cuh"
#include "r1/cuda/math/rmsnorm.hpp"
#include "r1/cuda/ops/rmsnorm.hpp"

namespace r1::gpu {
namespace {

constexpr int threads = 256;
constexpr int weight_grad_rows_per_block = 256;

template <class T>
__global__ void rmsnorm_forward_kernel(const T* __restrict__ x, const T* __restrict__ weight, T* __restrict__ y,
                                       float* __restrict__ inverse_rms, int dim, float eps) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const T* x_row = x + row * dim;
  float sum_of_squares = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    const float v = device::to_float(x_row[i]);
    sum_of_squares += v * v;
  }
  sum_of_squares = device::block_sum(sum_of_squares, scratch);
  const float r = rmsnorm_inverse_rms(sum_of_squares, dim, eps);
  if (threadIdx.x == 0) inverse_rms[row] = r;
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    y[row * dim + i] =
        device::from_float<T>(rmsnorm_output(device::to_float(x_row[i]), device::to_float(weight[i]), r));
}

template <class T>
__global__ void rmsnorm_input_grad_kernel(const T* __restrict__ x, const T* __restrict__ weight,
                                          const T* __restrict__ dy, const float* __restrict__ inverse_rms,
                                          T* __restrict__ dx, int dim) {
  __shared__ float scratch[32];
  const std::int64_t row = blockIdx.x;
  const float r = inverse_rms[row];
  float gdy_x = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    gdy_x += device::to_float(weight[i]) * device::to_float(dy[row * dim + i]) * device::to_float(x[row * dim + i]);
  const float mean_gdy_x = device::block_sum(gdy_x, scratch) / static_cast<float>(dim);
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    dx[row * dim + i] = device::from_float<T>(rmsnorm_input_grad(
        device::to_float(x[row * dim + i]), device::to_float(weight[i]), device::to_float(dy[row * dim + i]), r,
        mean_gdy_x));
}

// grid (ceil(dim / threads), ceil(rows / weight_grad_rows_per_block)); thread = column.
template <class T>
__global__ void rmsnorm_weight_grad_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                           const float* __restrict__ inverse_rms, float* __restrict__ d_weight,
                                           int rows, int dim) {
  const int column = blockIdx.x * blockDim.x + threadIdx.x;
  if (column >= dim) return;
  const int first = blockIdx.y * weight_grad_rows_per_block;
  const int last = min(rows, first + weight_grad_rows_per_block);
  float sum = 0.0f;
  for (std::int64_t row = first; row < last; ++row)
    sum += rmsnorm_weight_grad_term(device::to_float(x[row * dim + column]), device::to_float(dy[row * dim + column]),
                                    inverse_rms[row]);
  atomicAdd(d_weight + column, sum);
}

void check_shape(int rows, int dim, const char* op) {
  require(rows >= 0, op, ": rows must be >= 0, got ", rows);
  require(dim > 0, op, ": dim must be positive, got ", dim);
}

}  // namespace

template <StorageType T>
void rmsnorm_forward(const T* x, const T* weight, T* y, float* inverse_rms, int rows, int dim, float eps,
                     cudaStream_t stream) {
  check_shape(rows, dim, "rmsnorm_forward");
  require(eps >= 0.0f, "rmsnorm_forward: eps must be >= 0, got ", eps);
  if (rows == 0) return;
  rmsnorm_forward_kernel<T><<<rows, threads, 0, stream>>>(x, weight, y, inverse_rms, dim, eps);
  check_launch("rmsnorm_forward_kernel", "rmsnorm_forward");
}

template <StorageType T>
void rmsnorm_backward(const T* x, const T* weight, const T* dy, const float* inverse_rms, T* dx, float* d_weight,
                      int rows, int dim, cudaStream_t stream) {
  check_shape(rows, dim, "rmsnorm_backward");
  if (rows == 0) return;
  rmsnorm_input_grad_kernel<T><<<rows, threads, 0, stream>>>(x, weight, dy, inverse_rms, dx, dim);
  check_launch("rmsnorm_input_grad_kernel", "rmsnorm_backward");
  const dim3 grid((dim + threads - 1) / threads, (rows + weight_grad_rows_per_block - 1) / weight_grad_rows_per_block);
  rmsnorm_weight_grad_kernel<T><<<grid, threads, 0, stream>>>(x, dy, inverse_rms, d_weight, rows, dim);
  check_launch("rmsnorm_weight_grad_kernel", "rmsnorm_backward");
}

template void rmsnorm_forward<float>(const float*, const float*, float*, float*, int, int, float, cudaStream_t);
template void rmsnorm_forward<bf16>(const bf16*, const bf16*, bf16*, float*, int, int, float, cudaStream_t);
template void rmsnorm_backward<float>(const float*, const float*, const float*, const float*, float*, float*, int, int,
                                      cudaStream_t);
template void rmsnorm_backward<bf16>(const bf16*, const bf16*, const bf16*, const float*, bf16*, float*, int, int,
                                     cudaStream_t);

}  // namespace r1::gpu
