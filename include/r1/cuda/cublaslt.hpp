#pragma once
// An owned cuBLASLt handle with its workspace (RAII), passed to r1::gpu::gemm.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "r1/cuda/check.hpp"

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
  ~CublasLt() {
    if (workspace_ != nullptr) (void)cudaFree(workspace_);
    if (handle_ != nullptr) (void)cublasLtDestroy(handle_);
  }
  CublasLt(const CublasLt&) = delete;
  CublasLt& operator=(const CublasLt&) = delete;

  cublasLtHandle_t handle() const { return handle_; }
  void* workspace() const { return workspace_; }
  std::size_t workspace_bytes() const { return workspace_bytes_; }

 private:
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
};

}  // namespace r1::gpu
