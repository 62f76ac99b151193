#pragma once
// Every CUDA runtime and cuBLASLt status goes through these checks, which turn a
// failure into r1::Error naming the call, the op it served and the driver's message:
//   R1_CUDA_CHECK(cudaMalloc(&p, bytes), "DeviceArena");
//   -> "CUDA error in DeviceArena: cudaMalloc(&p, bytes) failed: out of memory (cudaErrorMemoryAllocation)"
#include <cublasLt.h>
#include <cuda_runtime.h>

#include "r1/core/error.hpp"

namespace r1::gpu {

// Clears CUDA's last-error state before throwing: a failed call (cudaMalloc out of memory)
// also records its error for cudaGetLastError, and the next kernel launch checked with
// check_launch would report that old error as its own. A sticky error (a corrupted
// context) cannot be cleared and is reported by every later call, as it should be.
inline void check_cuda(cudaError_t status, const char* call, const char* op) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  fail("CUDA error in ", op, ": ", call, " failed: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ")");
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* op) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  fail("cuBLASLt error in ", op, ": ", call, " failed with status ", static_cast<int>(status));
}

// After a kernel launch: a bad configuration (grid, shared memory) shows up here.
inline void check_launch(const char* kernel, const char* op) {
  check_cuda(cudaGetLastError(), kernel, op);
}

}  // namespace r1::gpu

#define R1_CUDA_CHECK(call, op) ::r1::gpu::check_cuda((call), #call, (op))
#define R1_CUBLAS_CHECK(call, op) ::r1::gpu::check_cublas((call), #call, (op))
