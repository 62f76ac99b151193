#pragma once
// The element types the kernels are instantiated for: bf16 storage for training
// (fp32 accumulation inside every kernel) and fp32 for tests against the CPU.
#include <cuda_bf16.h>

#include <concepts>

namespace r1::gpu {

using bf16 = __nv_bfloat16;

template <class T>
concept StorageType = std::same_as<T, float> || std::same_as<T, bf16>;

template <class T>
inline constexpr const char* storage_name = std::same_as<T, float> ? "fp32" : "bf16";

}  // namespace r1::gpu
