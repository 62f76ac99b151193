#pragma once
// Which part of a list of work items a rank takes: contiguous, near-equal ranges
// in rank order, so concatenating the ranks' results in rank order gives the
// items' order (what all_gather_bytes returns).
#include <cstdint>
#include <utility>

#include "r1/core/error.hpp"

namespace r1 {

struct ShardRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};

// Items [count * rank / ranks, count * (rank + 1) / ranks): sizes differ by at most one.
inline ShardRange shard_of(std::int64_t count, int rank, int ranks) {
  require(ranks > 0 && rank >= 0 && rank < ranks, "shard_of: rank ", rank, " of ", ranks);
  require(count >= 0, "shard_of: negative count ", count);
  // count * rank fits in int64 for any count of items that fits in memory and any rank count below 2^31.
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

}  // namespace r1
