#pragma once
// Whether a CUDA device is present, asked without throwing (for tests that skip
// without one), and the properties a benchmark reports.
#include <cuda_runtime.h>

#include <string>

#include "r1/cuda/check.hpp"

namespace r1::gpu {

// Number of usable devices; 0 when the driver is missing or reports none.
inline int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

inline bool has_device() noexcept { return device_count() > 0; }

inline std::string device_name(int device = 0) {
  cudaDeviceProp properties{};
  R1_CUDA_CHECK(cudaGetDeviceProperties(&properties, device), "device_name");
  return properties.name;
}

inline void synchronize(const char* op) { R1_CUDA_CHECK(cudaDeviceSynchronize(), op); }

}  // namespace r1::gpu
