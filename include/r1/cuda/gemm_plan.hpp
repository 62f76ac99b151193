#pragma once
// What one cuBLASLt GEMM needs besides its pointers (the matmul descriptor, the four
// matrix layouts and the algorithm the heuristic chose), cached per GemmPlanKey so that a
// training step queries cuBLASLt's heuristic only for shapes it has not seen before:
//
//   PlanCache<GemmPlanKey, GemmPlan, GemmPlanKeyHash> plans;   // inside r1::gpu::CublasLt
//   GemmPlan& plan = plans.find_or_make(key, [&] { return make_plan(key); });  // heuristic on a miss only
//
// The key holds everything the plan depends on: the shape, the transposes, the input and
// output types, whether a bias epilogue is fused, and the alignment of every operand (the
// heuristic picks an algorithm for the alignments it is told, so an algorithm chosen for
// 256-byte aligned operands must not be reused for a weight at an odd element offset).
// Not the pointers themselves: the descriptor's bias pointer is set on each call.
// A PlanCache is not synchronised: one per CublasLt, used from one host thread at a time.
#include <cublasLt.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>

namespace r1::gpu {

// Largest power of two up to 256 dividing the address (256: what cuBLASLt assumes by default).
inline std::uint32_t pointer_alignment(const void* pointer) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  std::uint32_t alignment = 256;
  while (alignment > 1 && address % alignment != 0) alignment /= 2;
  return alignment;
}

struct GemmPlanKey {
  int m = 0, n = 0, k = 0;
  bool transpose_a = false, transpose_b = false;
  cudaDataType_t input_type = CUDA_R_32F, output_type = CUDA_R_32F;
  bool bias = false;
  // Byte alignments (pointer_alignment) of A, B, C (the addend), D (the result) and the bias.
  std::uint32_t alignment_a = 256, alignment_b = 256, alignment_c = 256, alignment_d = 256, alignment_bias = 256;

  bool operator==(const GemmPlanKey&) const = default;
};

// The key of gemm(shape, a, b, c -> d, bias): C == D (in place) and C != D with equally aligned
// pointers share a key, since the layouts and the algorithm do not depend on which it is.
inline GemmPlanKey gemm_plan_key(int m, int n, int k, bool transpose_a, bool transpose_b, cudaDataType_t input_type,
                                 cudaDataType_t output_type, const void* a, const void* b, const void* c, const void* d,
                                 const void* bias) noexcept {
  GemmPlanKey key;
  key.m = m, key.n = n, key.k = k;
  key.transpose_a = transpose_a, key.transpose_b = transpose_b;
  key.input_type = input_type, key.output_type = output_type;
  key.bias = bias != nullptr;
  key.alignment_a = pointer_alignment(a);
  key.alignment_b = pointer_alignment(b);
  key.alignment_c = pointer_alignment(c);
  key.alignment_d = pointer_alignment(d);
  key.alignment_bias = bias != nullptr ? pointer_alignment(bias) : 256;
  return key;
}

struct GemmPlanKeyHash {
  std::size_t operator()(const GemmPlanKey& key) const noexcept {
    // boost::hash_combine's mixing step over every field.
    std::size_t seed = 0;
    const auto mix = [&seed](std::size_t value) { seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2); };
    mix(std::hash<int>{}(key.m));
    mix(std::hash<int>{}(key.n));
    mix(std::hash<int>{}(key.k));
    mix(std::size_t{key.transpose_a} | std::size_t{key.transpose_b} << 1 | std::size_t{key.bias} << 2);
    mix(std::hash<int>{}(static_cast<int>(key.input_type)));
    mix(std::hash<int>{}(static_cast<int>(key.output_type)));
    for (const std::uint32_t alignment :
         {key.alignment_a, key.alignment_b, key.alignment_c, key.alignment_d, key.alignment_bias})
      mix(alignment);
    return seed;
  }
};

// The split-K reduction schemes a GEMM may use (CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK; cuBLASLt
// docs, cublasLtReductionScheme_t): COMPUTE_TYPE keeps the partial sums in the compute type (fp32 with
// CUBLAS_COMPUTE_32F) in the workspace; INPLACE and OUTPUT_TYPE keep them in the output type, which for a
// bf16 output would round every partial sum to bf16 before the reduction. So a bf16 output allows
// COMPUTE_TYPE only, an fp32 output all three. (No split-K, CUBLASLT_REDUCTION_SCHEME_NONE = 0, is always
// allowed: a mask cannot exclude it.)
inline std::uint32_t reduction_scheme_mask(cudaDataType_t output_type) noexcept {
  if (output_type == CUDA_R_32F) return CUBLASLT_REDUCTION_SCHEME_MASK;
  return CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
}

// A map from keys to plans that counts how often a plan was found (hit) or had to be made (miss).
// Plans never move once made (unordered_map nodes are stable), so a returned reference stays valid
// until clear() or the cache's destruction.
template <class Key, class Plan, class Hash>
class PlanCache {
 public:
  template <class Make>
  Plan& find_or_make(const Key& key, Make&& make) {
    if (const auto found = plans_.find(key); found != plans_.end()) {
      ++hits_;
      return found->second;
    }
    Plan plan = std::forward<Make>(make)();  // may throw: then nothing is cached or counted
    ++misses_;
    return plans_.emplace(key, std::move(plan)).first->second;
  }
  // The plan of `key` if one was made, else nullptr; counts neither a hit nor a miss (for inspection).
  const Plan* find(const Key& key) const {
    const auto found = plans_.find(key);
    return found == plans_.end() ? nullptr : &found->second;
  }
  std::int64_t hits() const noexcept { return hits_; }
  std::int64_t misses() const noexcept { return misses_; }
  std::size_t size() const noexcept { return plans_.size(); }
  void clear() noexcept { plans_.clear(); }

 private:
  std::unordered_map<Key, Plan, Hash> plans_;
  std::int64_t hits_ = 0, misses_ = 0;
};

namespace detail {
struct MatmulDescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* desc) const noexcept { (void)cublasLtMatmulDescDestroy(desc); }
};
struct MatrixLayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* layout) const noexcept { (void)cublasLtMatrixLayoutDestroy(layout); }
};
}  // namespace detail

// The cuBLASLt objects of one GemmPlanKey (made by kernels/gemm.cu). cuBLASLt's operands are ours
// swapped (row-major C = A B is column-major C^T = B^T A^T): `first` describes our B, `second` our A.
struct GemmPlan {
  std::unique_ptr<cublasLtMatmulDescOpaque_t, detail::MatmulDescDeleter> desc;
  std::unique_ptr<cublasLtMatrixLayoutOpaque_t, detail::MatrixLayoutDeleter> first, second, result;
  cublasLtMatmulAlgo_t algo{};
  std::size_t workspace_bytes = 0;  // what the chosen algorithm needs (the heuristic's workspaceSize)
};

using GemmPlanCache = PlanCache<GemmPlanKey, GemmPlan, GemmPlanKeyHash>;

}  // namespace r1::gpu
