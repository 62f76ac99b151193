#pragma once
// R1_HOST_DEVICE marks the math shared by a CUDA kernel and its CPU twin: it is
// `__host__ __device__` under nvcc and nothing under a host compiler, so the
// same function is unit-tested on the CPU in CI and runs inside the kernels.
#if defined(__CUDACC__)
#define R1_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define R1_HOST_DEVICE inline
#endif
