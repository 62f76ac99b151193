// Row-major GEMM on cuBLASLt (column-major): a row-major (r, c) matrix is the
// column-major (c, r) matrix at the same address, so C = op(A) op(B) is computed
// as C^T = op(B)^T op(A)^T with the operands swapped and the same transpose flags.
#include <memory>

#include "common.cuh"
#include "r1/cuda/ops/gemm.hpp"

namespace r1::gpu {
namespace {

template <class T>
constexpr cudaDataType_t data_type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;

struct LayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* layout) const { cublasLtMatrixLayoutDestroy(layout); }
};
struct DescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* desc) const { cublasLtMatmulDescDestroy(desc); }
};
struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* preference) const { cublasLtMatmulPreferenceDestroy(preference); }
};
using Layout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LayoutDeleter>;

// Largest power of two (up to 256) dividing the address: cuBLASLt's heuristic assumes 256-byte
// aligned operands unless told otherwise, and weights inside one flat buffer may be less aligned.
std::uint32_t alignment_of(const void* pointer) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

Layout make_layout(cudaDataType_t type, int rows, int cols, int ld) {
  cublasLtMatrixLayout_t layout = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld), "gemm");
  return Layout(layout);
}

}  // namespace

template <StorageType In, StorageType Out>
void gemm(const CublasLt& blas, const GemmShape& shape, float alpha, const In* a, const In* b, float beta, Out* c,
          cudaStream_t stream, const Out* bias) {
  require(shape.m >= 0 && shape.n >= 0 && shape.k > 0, "gemm: m, n must be >= 0 and k > 0, got ", shape.m, ", ", shape.n,
          ", ", shape.k);
  if (shape.m == 0 || shape.n == 0) return;
  const int m = shape.m, n = shape.n, k = shape.k;
  // Column-major operands: first = B's memory, second = A's memory.
  const cublasOperation_t op_first = shape.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = shape.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const Layout first = shape.transpose_b ? make_layout(data_type<In>, k, n, k) : make_layout(data_type<In>, n, k, n);
  const Layout second = shape.transpose_a ? make_layout(data_type<In>, m, k, m) : make_layout(data_type<In>, k, m, k);
  const Layout result = make_layout(data_type<Out>, n, m, n);

  cublasLtMatmulDesc_t raw_desc = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw_desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "gemm");
  const std::unique_ptr<cublasLtMatmulDescOpaque_t, DescDeleter> desc(raw_desc);
  R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)),
                  "gemm");
  R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)),
                  "gemm");

  if (bias != nullptr) {
    // C^T is (n, m) column-major: its rows are C's columns, so a bias over rows is one per output feature.
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)),
                    "gemm");
    R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                    "gemm");
    const cudaDataType_t bias_type = data_type<Out>;
    R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(raw_desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                                   sizeof(bias_type)),
                    "gemm");
  }
  cublasLtMatmulPreference_t raw_preference = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_preference), "gemm");
  const std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PreferenceDeleter> preference(raw_preference);
  const std::size_t workspace_bytes = blas.workspace_bytes();
  R1_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                       &workspace_bytes, sizeof(workspace_bytes)),
                  "gemm");
  // Operand order as in the call below: cuBLASLt's A is our B, its B is our A.
  const std::uint32_t alignments[4] = {alignment_of(b), alignment_of(a), alignment_of(c),
                                       bias != nullptr ? alignment_of(bias) : 256u};
  const cublasLtMatmulPreferenceAttributes_t alignment_attributes[3] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES};
  for (int i = 0; i < 3; ++i)
    R1_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_preference, alignment_attributes[i], &alignments[i],
                                                         sizeof(alignments[i])),
                    "gemm");
  R1_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                                       &alignments[2], sizeof(alignments[2])),
                  "gemm");
  if (bias != nullptr)
    require(alignments[3] >= sizeof(Out), "gemm: the bias pointer is not aligned to its element size");
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  R1_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(blas.handle(), raw_desc, first.get(), second.get(), result.get(),
                                                 result.get(), raw_preference, 1, &heuristic, &found),
                  "gemm");
  require(found > 0, "gemm: cuBLASLt has no algorithm for m=", m, " n=", n, " k=", k, " (", storage_name<In>, " -> ",
          storage_name<Out>, ")");
  R1_CUBLAS_CHECK(cublasLtMatmul(blas.handle(), raw_desc, &alpha, b, first.get(), a, second.get(), &beta, c,
                                 result.get(), c, result.get(), &heuristic.algo, blas.workspace(), workspace_bytes,
                                 stream),
                  "gemm");
}

template void gemm<float, float>(const CublasLt&, const GemmShape&, float, const float*, const float*, float, float*,
                                 cudaStream_t, const float*);
template void gemm<bf16, bf16>(const CublasLt&, const GemmShape&, float, const bf16*, const bf16*, float, bf16*,
                               cudaStream_t, const bf16*);
template void gemm<bf16, float>(const CublasLt&, const GemmShape&, float, const bf16*, const bf16*, float, float*,
                                cudaStream_t, const float*);

}  // namespace r1::gpu
