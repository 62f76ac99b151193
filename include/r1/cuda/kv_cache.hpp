#pragma once
// The KV cache of r1::Transformer<r1::cuda> on the device: for each layer, keys
// then values of shape (slots, max_positions, kv_heads * head_dim), in storage
// precision, from one arena; the per-slot lengths live on the host.
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/cuda/arena.hpp"
#include "r1/cuda/check.hpp"
#include "r1/cuda/dtype.hpp"
#include "r1/cuda/ops/decode_attention.hpp"

namespace r1::gpu {

template <StorageType T>
class DeviceKvCache {
 public:
  DeviceKvCache(int layers, int slots, int max_positions, int kv_heads, int head_dim)
      : layers_(layers), shape_{slots, max_positions, kv_heads, head_dim}, lengths_(static_cast<std::size_t>(slots), 0) {
    require(layers > 0 && slots > 0 && max_positions > 0, "make_cache: layers, slots and max_positions must be ",
            "positive, got ", layers, ", ", slots, ", ", max_positions);
    arena_ = DeviceArena(2 * static_cast<std::size_t>(layers) * DeviceArena::padded_bytes<T>(plane()));
    for (int l = 0; l < 2 * layers; ++l) planes_.push_back(arena_.allocate<T>(plane(), "kv cache").data);
  }

  int layers() const { return layers_; }
  int slots() const { return shape_.slots; }
  int max_positions() const { return shape_.max_positions; }
  const KvCacheShape& shape() const { return shape_; }
  int length(int slot) const { return lengths_[checked(slot)]; }
  void set_length(int slot, int length) {
    require(length >= 0 && length <= shape_.max_positions, "kv cache: length ", length, " outside [0, ",
            shape_.max_positions, "]");
    lengths_[checked(slot)] = length;
  }
  T* keys(int layer) { return planes_[static_cast<std::size_t>(2 * layer)]; }
  T* values(int layer) { return planes_[static_cast<std::size_t>(2 * layer + 1)]; }

  // Slot `to` becomes a copy of slot `from` (sharing one prompt prefill among G samples).
  void copy_slot(int from, int to, cudaStream_t stream) {
    const std::size_t width = static_cast<std::size_t>(shape_.kv_heads) * shape_.head_dim;
    const std::size_t slot_elements = static_cast<std::size_t>(shape_.max_positions) * width;
    const std::size_t used = static_cast<std::size_t>(length(from)) * width;
    (void)checked(to);
    if (from != to)
      for (std::size_t plane = 0; plane < planes_.size(); ++plane)
        R1_CUDA_CHECK(cudaMemcpyAsync(planes_[plane] + static_cast<std::size_t>(to) * slot_elements,
                                      planes_[plane] + static_cast<std::size_t>(from) * slot_elements, used * sizeof(T),
                                      cudaMemcpyDeviceToDevice, stream),
                      "copy_slot");
    lengths_[static_cast<std::size_t>(to)] = length(from);
  }

 private:
  std::size_t plane() const {
    return static_cast<std::size_t>(shape_.slots) * shape_.max_positions * shape_.kv_heads * shape_.head_dim;
  }
  std::size_t checked(int slot) const {
    require(slot >= 0 && slot < shape_.slots, "kv cache: slot ", slot, " outside [0, ", shape_.slots, ")");
    return static_cast<std::size_t>(slot);
  }
  int layers_ = 0;
  KvCacheShape shape_;
  std::vector<int> lengths_;
  DeviceArena arena_;
  std::vector<T*> planes_;
};

}  // namespace r1::gpu
