#pragma once
// Keys and values of `slots` independent sequences, for every layer, up to
// max_positions tokens each: what prefill writes and decode extends.
// Layout: [layer][slot][key|value][kv head][position][E]. One head's keys of one
// slot and layer are one contiguous run, which is how attention reads them. Against
// rows of all heads ([position][K * E], a head's keys 1 KiB apart) this took the
// reference model's decode step at batch 8 (bench_generate) from 684 to 646 us,
// medians of 4 alternating rounds on the AVX-512 Xeon (bench/RESULTS.md, 2026-12-07).
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
  BasicKvCache(int layers, int slots, int max_positions, Eigen::Index kv_heads, Eigen::Index head_dim)
      : layers_(layers), slots_(slots), max_positions_(max_positions), kv_heads_(kv_heads), head_dim_(head_dim),
        lengths_(static_cast<std::size_t>(std::max(slots, 0)), 0) {
    require(slots > 0, "KvCache: slots = ", slots, ": expected a positive count");
    require(max_positions > 0, "KvCache: max_positions = ", max_positions, ": expected a positive count");
    require(kv_heads > 0 && head_dim > 0, "KvCache: ", kv_heads, " heads of ", head_dim,
            " dimensions: expected positive counts");
    data_.assign(static_cast<std::size_t>(layers) * static_cast<std::size_t>(slots) * 2 * plane(), Scalar(0));
  }

  int slots() const { return slots_; }
  int max_positions() const { return max_positions_; }
  int layers() const { return layers_; }
  Eigen::Index kv_heads() const { return kv_heads_; }
  Eigen::Index head_dim() const { return head_dim_; }
  Eigen::Index kv_width() const { return kv_heads_ * head_dim_; }
  int length(int slot) const { return lengths_[checked(slot)]; }
  void reset(int slot) { lengths_[checked(slot)] = 0; }
  void set_length(int slot, int length) {
    require(length >= 0 && length <= max_positions_, "KvCache: length ", length, " outside [0, ", max_positions_, "]");
    lengths_[checked(slot)] = length;
  }

  // (max_positions, E) rows of one layer, slot and key/value head.
  Scalar* keys(int layer, int slot, Eigen::Index head) { return data_.data() + block(layer, slot) + head_offset(head); }
  Scalar* values(int layer, int slot, Eigen::Index head) { return keys(layer, slot, head) + plane(); }
  const Scalar* keys(int layer, int slot, Eigen::Index head) const {
    return data_.data() + block(layer, slot) + head_offset(head);
  }
  const Scalar* values(int layer, int slot, Eigen::Index head) const { return keys(layer, slot, head) + plane(); }

  // to_slot becomes an exact copy of from_slot (keys, values, length).
  void copy_slot(int from_slot, int to_slot) {
    const int length = this->length(from_slot);
    checked(to_slot);
    if (from_slot != to_slot) {
      const auto count = static_cast<std::size_t>(length) * static_cast<std::size_t>(head_dim_);
      for (int layer = 0; layer < layers_; ++layer)
        for (Eigen::Index head = 0; head < kv_heads_; ++head) {
          std::copy_n(keys(layer, from_slot, head), count, keys(layer, to_slot, head));
          std::copy_n(values(layer, from_slot, head), count, values(layer, to_slot, head));
        }
    }
    lengths_[static_cast<std::size_t>(to_slot)] = length;
  }

 private:
  std::size_t checked(int slot) const {
    require(slot >= 0 && slot < slots_, "KvCache: slot ", slot, " outside [0, ", slots_, ")");
    return static_cast<std::size_t>(slot);
  }
  // One slot's keys (or values) of one layer: every head's run of max_positions rows.
  std::size_t plane() const { return static_cast<std::size_t>(max_positions_) * static_cast<std::size_t>(kv_width()); }
  std::size_t head_offset(Eigen::Index head) const {
    require(head >= 0 && head < kv_heads_, "KvCache: head ", head, " outside [0, ", kv_heads_, ")");
    return static_cast<std::size_t>(head) * static_cast<std::size_t>(max_positions_) * static_cast<std::size_t>(head_dim_);
  }
  std::size_t block(int layer, int slot) const {
    require(layer >= 0 && layer < layers_, "KvCache: layer ", layer, " outside [0, ", layers_, ")");
    return (static_cast<std::size_t>(layer) * static_cast<std::size_t>(slots_) + checked(slot)) * 2 * plane();
  }

  int layers_ = 0, slots_ = 0, max_positions_ = 0;
  Eigen::Index kv_heads_ = 0, head_dim_ = 0;
  std::vector<int> lengths_;
  AlignedVector<Scalar> data_;
};

using KvCache = BasicKvCache<float>;

}  // namespace r1
