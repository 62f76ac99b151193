#pragma once
// Keys and values of `slots` independent sequences, for every layer, up to
// max_positions tokens each: what prefill writes and decode extends.
// Layout: [layer][slot][key|value][position][K * E], so one slot's keys of one
// layer are contiguous rows and copy_slot is a few memcpys.
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/core/error.hpp"

namespace r1 {

template <class Scalar>
class BasicKvCache {
 public:
  BasicKvCache() = default;
  BasicKvCache(int layers, int slots, int max_positions, Eigen::Index kv_width)
      : layers_(layers), slots_(slots), max_positions_(max_positions), kv_width_(kv_width),
        lengths_(static_cast<std::size_t>(std::max(slots, 0)), 0) {
    require(slots > 0, "KvCache: slots = ", slots, ": expected a positive count");
    require(max_positions > 0, "KvCache: max_positions = ", max_positions, ": expected a positive count");
    data_.assign(static_cast<std::size_t>(layers) * static_cast<std::size_t>(slots) * 2 *
                     static_cast<std::size_t>(max_positions) * static_cast<std::size_t>(kv_width),
                 Scalar(0));
  }

  int slots() const { return slots_; }
  int max_positions() const { return max_positions_; }
  int layers() const { return layers_; }
  Eigen::Index kv_width() const { return kv_width_; }
  int length(int slot) const { return lengths_[checked(slot)]; }
  void reset(int slot) { lengths_[checked(slot)] = 0; }
  void set_length(int slot, int length) {
    require(length >= 0 && length <= max_positions_, "KvCache: length ", length, " outside [0, ", max_positions_, "]");
    lengths_[checked(slot)] = length;
  }

  // (max_positions, K * E) rows of one layer and slot.
  Scalar* keys(int layer, int slot) { return data_.data() + block(layer, slot); }
  Scalar* values(int layer, int slot) { return keys(layer, slot) + plane(); }
  const Scalar* keys(int layer, int slot) const { return data_.data() + block(layer, slot); }
  const Scalar* values(int layer, int slot) const { return keys(layer, slot) + plane(); }

  // to_slot becomes an exact copy of from_slot (keys, values, length).
  void copy_slot(int from_slot, int to_slot) {
    const int length = this->length(from_slot);
    checked(to_slot);
    if (from_slot != to_slot) {
      const auto count = static_cast<std::size_t>(length) * static_cast<std::size_t>(kv_width_);
      for (int layer = 0; layer < layers_; ++layer) {
        std::copy_n(keys(layer, from_slot), count, keys(layer, to_slot));
        std::copy_n(values(layer, from_slot), count, values(layer, to_slot));
      }
    }
    lengths_[static_cast<std::size_t>(to_slot)] = length;
  }

 private:
  std::size_t checked(int slot) const {
    require(slot >= 0 && slot < slots_, "KvCache: slot ", slot, " outside [0, ", slots_, ")");
    return static_cast<std::size_t>(slot);
  }
  std::size_t plane() const { return static_cast<std::size_t>(max_positions_) * static_cast<std::size_t>(kv_width_); }
  std::size_t block(int layer, int slot) const {
    require(layer >= 0 && layer < layers_, "KvCache: layer ", layer, " outside [0, ", layers_, ")");
    return (static_cast<std::size_t>(layer) * static_cast<std::size_t>(slots_) + checked(slot)) * 2 * plane();
  }

  int layers_ = 0, slots_ = 0, max_positions_ = 0;
  Eigen::Index kv_width_ = 0;
  std::vector<int> lengths_;
  AlignedVector<Scalar> data_;
};

using KvCache = BasicKvCache<float>;

}  // namespace r1
