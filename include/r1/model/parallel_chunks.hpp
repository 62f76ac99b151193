#pragma once
// Splits `count` work items into at most one chunk per r1 thread and runs the
// chunks with oneTBB. Chunk c gets items [begin, end) and its index c, so a
// caller can hand each chunk its own preallocated scratch (no allocation, no
// thread-local lookup). Eigen is built without OpenMP, so this is how r1's
// GEMMs use more than one core. The chunks run in an isolated region
// (tbb::this_task_arena::isolate): while the calling thread waits for them it runs
// only their work, never an unrelated task that could reuse the scratch the caller
// handed to its chunks.
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

#include "r1/core/threads.hpp"

namespace r1 {

// Chunks that parallel_chunks would use for `count` items of at least `min_items_per_chunk` each.
inline int chunk_count(std::int64_t count, std::int64_t min_items_per_chunk = 1) {
  const std::int64_t by_size = count / std::max<std::int64_t>(min_items_per_chunk, 1);
  return static_cast<int>(std::clamp<std::int64_t>(by_size, 1, std::max(active_threads(), 1)));
}

// fn(chunk, begin, end) for `chunks` contiguous, near-equal ranges of [0, count).
template <class Fn>
void parallel_chunks(std::int64_t count, int chunks, Fn&& fn) {
  if (count <= 0) return;
  chunks = static_cast<int>(std::clamp<std::int64_t>(chunks, 1, count));
  const auto range = [&](int chunk) {
    return std::pair{count * chunk / chunks, count * (chunk + 1) / chunks};
  };
  if (chunks == 1) {
    fn(0, std::int64_t{0}, count);
    return;
  }
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(0, chunks, [&](int chunk) {
      const auto [begin, end] = range(chunk);
      fn(chunk, begin, end);
    }, tbb::simple_partitioner{});
  });
}

// fn(chunk, item) for items dealt round-robin to `chunks` chunks (item i to chunk i % chunks):
// balances items of uneven cost, e.g. sequences of different lengths.
template <class Fn>
void parallel_dealt(std::int64_t count, int chunks, Fn&& fn) {
  if (count <= 0) return;
  chunks = static_cast<int>(std::clamp<std::int64_t>(chunks, 1, count));
  const auto run = [&](int chunk) {
    for (std::int64_t item = chunk; item < count; item += chunks) fn(chunk, item);
  };
  if (chunks == 1) {
    run(0);
    return;
  }
  tbb::this_task_arena::isolate([&] { tbb::parallel_for(0, chunks, run, tbb::simple_partitioner{}); });
}

}  // namespace r1
