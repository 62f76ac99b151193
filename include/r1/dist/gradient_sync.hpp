#pragma once
// Sums every parameter's gradient over the ranks, in buckets: the gradients a
// model lays out in one flat buffer (consecutive spans) go as few large
// all-reduces of at most kGradientBucketFloats each, the rest one span at a time.
// Each rank contributes the gradient of its share of a loss whose normalisers are
// whole-batch totals, so the sum is the gradient of the whole batch.
#include <algorithm>
#include <cstddef>
#include <span>

#include "r1/core/parameter_view.hpp"
#include "r1/dist/communicator.hpp"

namespace r1 {

// 2^22 floats (16 MiB) per call: large enough that per-call latency does not
// matter, small enough that MPI's internal buffers stay modest.
inline constexpr std::size_t kGradientBucketFloats = std::size_t{1} << 22;

template <Communicator Comm>
void all_reduce_gradients(Comm& comm, std::span<const ParameterView> parameters) {
  if (comm.size() == 1) return;
  const auto reduce = [&](float* begin, std::size_t count) {
    for (std::size_t done = 0; done < count; done += kGradientBucketFloats)
      comm.all_reduce_sum(std::span<float>(begin + done, std::min(kGradientBucketFloats, count - done)));
  };
  // Runs of parameters whose gradients follow each other in memory go as one span.
  float* run_begin = nullptr;
  std::size_t run_size = 0;
  for (const ParameterView& p : parameters) {
    if (run_begin != nullptr && p.grad.data() == run_begin + run_size) {
      run_size += p.grad.size();
      continue;
    }
    if (run_begin != nullptr) reduce(run_begin, run_size);
    run_begin = p.grad.data();
    run_size = p.grad.size();
  }
  if (run_begin != nullptr) reduce(run_begin, run_size);
}

}  // namespace r1
