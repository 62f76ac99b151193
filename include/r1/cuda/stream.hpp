#pragma once
// An owned CUDA stream (RAII). Kernels take a cudaStream_t; `Stream` converts.
#include <cuda_runtime.h>

#include <utility>

#include "r1/cuda/check.hpp"

namespace r1::gpu {

class Stream {
 public:
  Stream() { R1_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "Stream"); }
  ~Stream() {
    if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept {
    if (this != &other) {
      if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
      stream_ = std::exchange(other.stream_, nullptr);
    }
    return *this;
  }

  cudaStream_t get() const { return stream_; }
  operator cudaStream_t() const { return stream_; }  // NOLINT: deliberate, kernels take cudaStream_t
  void synchronize(const char* op = "Stream::synchronize") const { R1_CUDA_CHECK(cudaStreamSynchronize(stream_), op); }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace r1::gpu
