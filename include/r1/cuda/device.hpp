#pragma once
// Whether a CUDA device is present, asked without throwing (for tests that skip
// without one), and the properties a benchmark reports.
#include <cuda_runtime.h>

#include <string>

#include "r1/cuda/check.hpp"

namespace r1::gpu {

// The devices CUDA sees, and why it sees none: "cudaErrorInsufficientDriver" (a driver
// older than the runtime) and "cudaErrorNoDevice" call for different fixes, so the
// reason is kept rather than folded into a count of 0.
struct DeviceQuery {
  int count = 0;
  cudaError_t error = cudaSuccess;
  std::string reason() const {
    if (error != cudaSuccess)
      return std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(error) + " (" + cudaGetErrorString(error) + ")";
    return count == 0 ? "no CUDA device" : "";
  }
};

inline DeviceQuery query_devices() noexcept {
  DeviceQuery query;
  query.error = cudaGetDeviceCount(&query.count);
  if (query.error != cudaSuccess) {
    (void)cudaGetLastError();  // clear the error state it leaves
    query.count = 0;
  }
  return query;
}

// Number of usable devices; 0 when the driver is missing or reports none (query_devices() says why).
inline int device_count() noexcept { return query_devices().count; }

inline bool has_device() noexcept { return device_count() > 0; }

inline std::string device_name(int device = 0) {
  cudaDeviceProp properties{};
  R1_CUDA_CHECK(cudaGetDeviceProperties(&properties, device), "device_name");
  return properties.name;
}

inline void synchronize(const char* op) { R1_CUDA_CHECK(cudaDeviceSynchronize(), op); }

}  // namespace r1::gpu
