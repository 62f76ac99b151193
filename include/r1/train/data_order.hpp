#pragma once
// The order in which a trainer visits a dataset: epoch by epoch, each epoch a
// Philox-seeded permutation. A pure function of (seed, position), so a resumed
// run visits exactly the problems an uninterrupted one would.
#include <cstdint>
#include <numeric>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"

namespace r1 {

class DataOrder {
 public:
  DataOrder(std::size_t dataset_size, std::uint64_t seed, bool shuffle = true)
      : size_(dataset_size), seed_(seed), shuffle_(shuffle) {
    require(dataset_size > 0, "DataOrder: the dataset is empty");
  }

  // Dataset index of the `position`-th visit (position counts across epochs).
  std::size_t at(std::uint64_t position) {
    const std::uint64_t epoch = position / size_;
    if (epoch != cached_epoch_ || permutation_.empty()) build(epoch);
    return permutation_[position % size_];
  }
  std::size_t size() const { return size_; }

 private:
  void build(std::uint64_t epoch) {
    permutation_.resize(size_);
    std::iota(permutation_.begin(), permutation_.end(), std::size_t{0});
    if (shuffle_) {
      Philox generator{seed_, 0x0da7a0000ull + epoch};
      for (std::size_t i = size_ - 1; i > 0; --i) {  // Fisher-Yates
        const std::size_t j = static_cast<std::size_t>(generator.uniform() * static_cast<double>(i + 1));
        std::swap(permutation_[i], permutation_[j < i + 1 ? j : i]);
      }
    }
    cached_epoch_ = epoch;
  }

  std::size_t size_;
  std::uint64_t seed_;
  bool shuffle_;
  std::uint64_t cached_epoch_ = 0;
  std::vector<std::size_t> permutation_;
};

}  // namespace r1
