#pragma once
// An owned cuBLASLt handle with its workspace (RAII), passed to r1::gpu::gemm, and the
// GEMM plans (descriptor, layouts, chosen algorithm) it has made, cached per shape, types,
// bias and operand alignments (r1/cuda/gemm_plan.hpp): the heuristic runs once per key.
// Movable, not copyable; not for concurrent use from several host threads (the plan cache
// is not synchronised), as one cuBLASLt workspace serves one stream at a time anyway.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "r1/cuda/check.hpp"
#include "r1/cuda/gemm_plan.hpp"

namespace r1::gpu {

class CublasLt {
 public:
  // 32 MiB: what NVIDIA recommends for Hopper's cuBLASLt kernels.
  explicit CublasLt(std::size_t workspace_bytes = std::size_t{32} << 20) : workspace_bytes_(workspace_bytes) {
    R1_CUBLAS_CHECK(cublasLtCreate(&handle_), "CublasLt");
    if (workspace_bytes_ > 0) {
      const cudaError_t status = cudaMalloc(&workspace_, workspace_bytes_);
      if (status != cudaSuccess) {
        cublasLtDestroy(handle_);
        check_cuda(status, "cudaMalloc(workspace)", "CublasLt");
      }
    }
  }
  ~CublasLt() { release(); }
  CublasLt(const CublasLt&) = delete;
  CublasLt& operator=(const CublasLt&) = delete;
  CublasLt(CublasLt&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)),
        workspace_(std::exchange(other.workspace_, nullptr)),
        workspace_bytes_(std::exchange(other.workspace_bytes_, 0)),
        plans_(std::move(other.plans_)) {
    other.plans_.clear();
  }
  CublasLt& operator=(CublasLt&& other) noexcept {
    if (this != &other) {
      release();
      handle_ = std::exchange(other.handle_, nullptr);
      workspace_ = std::exchange(other.workspace_, nullptr);
      workspace_bytes_ = std::exchange(other.workspace_bytes_, 0);
      plans_ = std::move(other.plans_);
      other.plans_.clear();
    }
    return *this;
  }

  cublasLtHandle_t handle() const { return handle_; }
  void* workspace() const { return workspace_; }
  std::size_t workspace_bytes() const { return workspace_bytes_; }

  // The cached GEMM plans (gemm() adds to them, hence mutable through a const CublasLt):
  // plans().misses() counts heuristic queries, plans().hits() the calls that reused a plan.
  GemmPlanCache& plans() const { return plans_; }

 private:
  void release() noexcept {
    plans_.clear();  // descriptors and layouts first: they belong to no handle, but are made for this one
    if (workspace_ != nullptr) (void)cudaFree(workspace_);
    if (handle_ != nullptr) (void)cublasLtDestroy(handle_);
    workspace_ = nullptr;
    handle_ = nullptr;
  }

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  mutable GemmPlanCache plans_;
};

}  // namespace r1::gpu
