#pragma once
// Row-major GEMM through cuBLASLt (kernels/gemm.cu), fp32 accumulation (CUBLAS_COMPUTE_32F, and
// split-K partial sums never rounded below fp32: reduction_scheme_mask in r1/cuda/gemm_plan.hpp):
//   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C             (in place)
//   D (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C             (C != D: C is only read)
// A is stored (m, k), or (k, m) when transpose_a; B is stored (k, n), or (n, k)
// when transpose_b. A linear layer y = x W^T with HF weights W (out, in) is
// gemm({rows, out, in, false, true}, x, W); its input gradient dx = dy W is
// {rows, in, out, false, false}; its weight gradient dW += dy^T x is
// {out, in, rows, true, false} with beta = 1.
// `bias`, when not null, is added to every row of C (length n, in the output type):
// cuBLASLt's bias epilogue, fused into the GEMM (Qwen2's q/k/v projections have biases).
// Instantiated for (float -> float), (bf16 -> bf16) and (bf16 -> float). The descriptor, layouts and
// algorithm are made on the first call with a given shape, types, bias and operand alignments and
// reused from blas.plans() afterwards (no heuristic query in a training step after its first).
// With C != D, C may be nullptr when beta == 0; D must not overlap A, B or (unless equal) C.
#include <cuda_runtime.h>

#include "r1/cuda/cublaslt.hpp"
#include "r1/cuda/dtype.hpp"

namespace r1::gpu {

struct GemmShape {
  int m = 0;
  int n = 0;
  int k = 0;
  bool transpose_a = false;
  bool transpose_b = false;
};

template <StorageType In, StorageType Out>
void gemm(const CublasLt& blas, const GemmShape& shape, float alpha, const In* a, const In* b, float beta, Out* c,
          cudaStream_t stream, const Out* bias = nullptr);

template <StorageType In, StorageType Out>
void gemm(const CublasLt& blas, const GemmShape& shape, float alpha, const In* a, const In* b, float beta,
          const Out* c, Out* d, cudaStream_t stream, const Out* bias = nullptr);

}  // namespace r1::gpu
