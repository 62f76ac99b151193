#pragma once
// Element-wise optimiser updates that repeat bit for bit at any thread count,
// on any instruction set and at any address of the parameter.
//
// Splitting an element-wise loop across threads changes no result only when every
// element goes through the same operations wherever it falls. Eigen's loops over a
// dynamic range do not promise that: they run an unaligned head and a ragged tail
// with scalar code and the body with packets, and the two round differently where
// a packet op is not IEEE-exact (with AVX2 and EIGEN_FAST_MATH, the default, psqrt
// of floats is rsqrt plus one Newton step; std::sqrt is exact) or where the
// compiler fuses a scalar a*b+c that the packet code does not. Where the head and
// tail fall depends on the split points and on the address, so the result did too.
//
// Here each parameter is cut into fixed blocks of kUpdateBlock floats counted from
// its first element. A block is mapped as a fixed-size Eigen array, which Eigen
// evaluates with whole packets only (16 floats: one AVX-512 packet, two AVX, four
// SSE; unaligned loads and stores), and the last, partial block is copied into a
// zero-padded array and evaluated by the same code. So every element takes the same
// packet operations, threads only decide which blocks they run, and the result is a
// function of the values alone.
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <tuple>

#include <Eigen/Core>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace r1 {

inline constexpr std::size_t kUpdateBlock = 16;
using UpdateBlock = Eigen::Array<float, static_cast<int>(kUpdateBlock), 1>;
using UpdateBlockMap = Eigen::Map<UpdateBlock, Eigen::Unaligned>;

// update(maps...) once per block of the spans, all of one size, each map an
// UpdateBlockMap over the same kUpdateBlock elements of its span; the blocks run
// in parallel, grain_values values per task at least. The spans must not overlap.
template <class Update, class... Spans>
void update_in_fixed_blocks(std::size_t grain_values, Update&& update, Spans... spans) {
  static_assert(sizeof...(Spans) > 0);
  const std::size_t size = std::get<0>(std::tuple<Spans&...>(spans...)).size();
  const std::size_t whole_blocks = size / kUpdateBlock;
  const std::size_t grain_blocks = std::max<std::size_t>(grain_values / kUpdateBlock, 1);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, whole_blocks, grain_blocks),
                    [&](const tbb::blocked_range<std::size_t>& blocks) {
                      for (std::size_t b = blocks.begin(); b != blocks.end(); ++b)
                        update(UpdateBlockMap(spans.data() + b * kUpdateBlock)...);
                    });
  const std::size_t tail_begin = whole_blocks * kUpdateBlock, tail = size - tail_begin;
  if (tail == 0) return;
  // The partial last block, padded with zeros, through the same packet code. The
  // padding lanes compute whatever they compute and are dropped.
  std::array<UpdateBlock, sizeof...(Spans)> padded;
  std::size_t k = 0;
  ((padded[k].setZero(), std::copy_n(spans.data() + tail_begin, tail, padded[k].data()), ++k), ...);
  std::apply([&](auto&... blocks) { update(UpdateBlockMap(blocks.data())...); }, padded);
  k = 0;
  ((std::copy_n(padded[k].data(), tail, spans.data() + tail_begin), ++k), ...);
}

}  // namespace r1
