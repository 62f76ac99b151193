// Row-major GEMM on cuBLASLt (column-major): a row-major (r, c) matrix is the
// column-major (c, r) matrix at the same address, so C = op(A) op(B) is computed
// as C^T = op(B)^T op(A)^T with the operands swapped and the same transpose flags.
// Descriptor, layouts and algorithm come from the CublasLt's plan cache (r1/cuda/gemm_plan.hpp).
#include <memory>

#include "common.cuh"
#include "r1/cuda/ops/gemm.hpp"

namespace r1::gpu {
namespace {

template <class T>
constexpr cudaDataType_t data_type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16BF;

struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* preference) const { cublasLtMatmulPreferenceDestroy(preference); }
};

auto make_layout(cudaDataType_t type, int rows, int cols, int ld) {
  cublasLtMatrixLayout_t layout = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld), "gemm");
  return std::unique_ptr<cublasLtMatrixLayoutOpaque_t, detail::MatrixLayoutDeleter>(layout);
}

template <class T>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  R1_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof(value)), "gemm");
}
template <class T>
void set_preference(cublasLtMatmulPreference_t preference, cublasLtMatmulPreferenceAttributes_t attribute,
                    const T& value) {
  R1_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)), "gemm");
}

// The descriptor, layouts and heuristic's first choice for `key` (the only place the heuristic runs).
GemmPlan make_plan(const CublasLt& blas, const GemmPlanKey& key) {
  const int m = key.m, n = key.n, k = key.k;
  GemmPlan plan;
  // Column-major operands: first = B's memory, second = A's memory.
  plan.first = key.transpose_b ? make_layout(key.input_type, k, n, k) : make_layout(key.input_type, n, k, n);
  plan.second = key.transpose_a ? make_layout(key.input_type, m, k, m) : make_layout(key.input_type, k, m, k);
  plan.result = make_layout(key.output_type, n, m, n);  // C and D share it

  cublasLtMatmulDesc_t desc = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "gemm");
  plan.desc.reset(desc);
  set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSA, key.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N);
  set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSB, key.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N);
  if (key.bias) {
    // C^T is (n, m) column-major: its rows are C's columns, so a bias over rows is one per output feature.
    // The bias pointer is set on every call (gemm below); the heuristic needs only the epilogue and its type.
    set_desc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS);
    set_desc(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, key.output_type);
  }

  cublasLtMatmulPreference_t raw_preference = nullptr;
  R1_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_preference), "gemm");
  const std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PreferenceDeleter> preference(raw_preference);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, blas.workspace_bytes());
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, reduction_scheme_mask(key.output_type));
  // cuBLASLt's heuristic assumes 256-byte aligned operands unless told otherwise, and weights inside
  // one flat buffer may be less aligned. Its A is our B, its B is our A.
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.alignment_b);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.alignment_a);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.alignment_c);
  set_preference(raw_preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.alignment_d);

  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  R1_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(blas.handle(), desc, plan.first.get(), plan.second.get(),
                                                 plan.result.get(), plan.result.get(), raw_preference, 1, &heuristic,
                                                 &found),
                  "gemm");
  require(found > 0, "gemm: cuBLASLt has no algorithm for m=", m, " n=", n, " k=", k, " (input type ",
          int(key.input_type), ", output type ", int(key.output_type), ", alignments A ", key.alignment_a, " B ",
          key.alignment_b, " C ", key.alignment_c, " D ", key.alignment_d, ")");
  plan.algo = heuristic.algo;
  plan.workspace_bytes = heuristic.workspaceSize;
  return plan;
}

}  // namespace

template <StorageType In, StorageType Out>
void gemm(const CublasLt& blas, const GemmShape& shape, float alpha, const In* a, const In* b, float beta,
          const Out* c, Out* d, cudaStream_t stream, const Out* bias) {
  require(shape.m >= 0 && shape.n >= 0 && shape.k > 0, "gemm: m, n must be >= 0 and k > 0, got ", shape.m, ", ", shape.n,
          ", ", shape.k);
  if (shape.m == 0 || shape.n == 0) return;
  require(a != nullptr && b != nullptr && d != nullptr, "gemm: A, B and D must be device pointers, got A ",
          static_cast<const void*>(a), " B ", static_cast<const void*>(b), " D ", static_cast<const void*>(d));
  require(c != nullptr || beta == 0.0f, "gemm: C is null but beta = ", beta, " (C is read when beta != 0)");
  if (c == nullptr) c = d;  // beta == 0: cuBLASLt does not read C
  if (bias != nullptr)
    require(pointer_alignment(bias) >= sizeof(Out), "gemm: the bias pointer is not aligned to its element size");
  const GemmPlanKey key = gemm_plan_key(shape.m, shape.n, shape.k, shape.transpose_a, shape.transpose_b, data_type<In>,
                                        data_type<Out>, a, b, c, d, bias);
  GemmPlan& plan = blas.plans().find_or_make(key, [&] { return make_plan(blas, key); });
  if (bias != nullptr) set_desc(plan.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  R1_CUBLAS_CHECK(cublasLtMatmul(blas.handle(), plan.desc.get(), &alpha, b, plan.first.get(), a, plan.second.get(),
                                 &beta, c, plan.result.get(), d, plan.result.get(), &plan.algo, blas.workspace(),
                                 blas.workspace_bytes(), stream),
                  "gemm");
}

template <StorageType In, StorageType Out>
void gemm(const CublasLt& blas, const GemmShape& shape, float alpha, const In* a, const In* b, float beta, Out* c,
          cudaStream_t stream, const Out* bias) {
  gemm<In, Out>(blas, shape, alpha, a, b, beta, static_cast<const Out*>(c), c, stream, bias);
}

#define R1_GEMM_INSTANTIATE(In, Out)                                                                                  \
  template void gemm<In, Out>(const CublasLt&, const GemmShape&, float, const In*, const In*, float, Out*,            \
                              cudaStream_t, const Out*);                                                             \
  template void gemm<In, Out>(const CublasLt&, const GemmShape&, float, const In*, const In*, float, const Out*, Out*, \
                              cudaStream_t, const Out*);
R1_GEMM_INSTANTIATE(float, float)
R1_GEMM_INSTANTIATE(bf16, bf16)
R1_GEMM_INSTANTIATE(bf16, float)
#undef R1_GEMM_INSTANTIATE

}  // namespace r1::gpu
