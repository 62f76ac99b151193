#pragma once
// Device memory laid out once, up front (as llm.c does): a DeviceArena owns one
// cudaMalloc and hands out typed, aligned, non-owning DeviceSpans from it; the
// step loop allocates nothing. The arena frees everything when it is destroyed
// (RAII); spans must not outlive it. Host <-> device copies check sizes.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/cuda/check.hpp"

namespace r1::gpu {

template <class T>
struct DeviceSpan {
  T* data = nullptr;
  std::size_t size = 0;

  std::size_t bytes() const { return size * sizeof(T); }
  bool empty() const { return size == 0; }
  // Elements [offset, offset + count) of this span.
  DeviceSpan subspan(std::size_t offset, std::size_t count) const {
    require(offset <= size && count <= size - offset, "DeviceSpan::subspan: [", offset, ", ", offset + count,
            ") is outside a span of ", size, " elements");
    return {data + offset, count};
  }
};

class DeviceArena {
 public:
  static constexpr std::size_t alignment = 256;  // cudaMalloc's own alignment; enough for vector loads and cuBLASLt

  DeviceArena() = default;
  explicit DeviceArena(std::size_t capacity_bytes) : capacity_(capacity_bytes) {
    if (capacity_ > 0) R1_CUDA_CHECK(cudaMalloc(&base_, capacity_), "DeviceArena");
  }
  ~DeviceArena() { release(); }
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;
  DeviceArena(DeviceArena&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)),
        capacity_(std::exchange(other.capacity_, 0)),
        used_(std::exchange(other.used_, 0)) {}
  DeviceArena& operator=(DeviceArena&& other) noexcept {
    if (this != &other) {
      release();
      base_ = std::exchange(other.base_, nullptr);
      capacity_ = std::exchange(other.capacity_, 0);
      used_ = std::exchange(other.used_, 0);
    }
    return *this;
  }

  // `count` elements of T, aligned; `name` is what an out-of-space error names.
  template <class T>
  DeviceSpan<T> allocate(std::size_t count, std::string_view name) {
    const std::size_t start = (used_ + alignment - 1) / alignment * alignment;
    require(count <= (capacity_ - std::min(start, capacity_)) / sizeof(T), "DeviceArena: buffer '", name, "' needs ",
            count * sizeof(T), " bytes but only ", capacity_ - std::min(start, capacity_), " of ", capacity_,
            " are left");
    used_ = start + count * sizeof(T);
    return {reinterpret_cast<T*>(static_cast<std::byte*>(base_) + start), count};
  }

  // Bytes an allocation sequence needs, for sizing the arena before creating it.
  template <class T>
  static std::size_t padded_bytes(std::size_t count) {
    return (count * sizeof(T) + alignment - 1) / alignment * alignment;
  }

  void reset() { used_ = 0; }  // every span handed out so far becomes invalid
  std::size_t capacity() const { return capacity_; }
  std::size_t used() const { return used_; }

 private:
  void release() {
    if (base_ != nullptr) (void)cudaFree(base_);
    base_ = nullptr;
  }
  void* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
};

template <class T>
void copy_to_device(std::span<const T> host, DeviceSpan<T> device, cudaStream_t stream, const char* op) {
  require(host.size() == device.size, op, ": copying ", host.size(), " host elements into a device buffer of ",
          device.size);
  R1_CUDA_CHECK(cudaMemcpyAsync(device.data, host.data(), device.bytes(), cudaMemcpyHostToDevice, stream), op);
}

// Waits for the stream, so the returned vector is ready to read.
template <class T>
std::vector<T> copy_to_host(DeviceSpan<const T> device, cudaStream_t stream, const char* op) {
  std::vector<T> host(device.size);
  R1_CUDA_CHECK(cudaMemcpyAsync(host.data(), device.data, device.bytes(), cudaMemcpyDeviceToHost, stream), op);
  R1_CUDA_CHECK(cudaStreamSynchronize(stream), op);
  return host;
}
template <class T>
std::vector<T> copy_to_host(DeviceSpan<T> device, cudaStream_t stream, const char* op) {
  return copy_to_host(DeviceSpan<const T>{device.data, device.size}, stream, op);
}

template <class T>
void fill_zero(DeviceSpan<T> device, cudaStream_t stream, const char* op) {
  R1_CUDA_CHECK(cudaMemsetAsync(device.data, 0, device.bytes(), stream), op);
}

}  // namespace r1::gpu
