// The host side on a device: arena allocation and alignment, copies, and CUDA
// errors surfacing as r1::Error that name the call and the op.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "r1/cuda/arena.hpp"
#include "r1/cuda/device.hpp"
#include "r1/cuda/dtype.hpp"
#include "r1/cuda/ops/convert.hpp"
#include "r1/cuda/stream.hpp"

TEST_CASE("DeviceArena hands out aligned spans and round-trips data through a stream") {
  r1::gpu::DeviceArena arena(4096);
  r1::gpu::Stream stream;
  auto a = arena.allocate<float>(3, "a");
  auto b = arena.allocate<double>(5, "b");
  CHECK(reinterpret_cast<std::uintptr_t>(a.data) % r1::gpu::DeviceArena::alignment == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data) % r1::gpu::DeviceArena::alignment == 0);
  CHECK(arena.used() == 256 + 5 * sizeof(double));
  const std::vector<double> values{1.5, -2.0, 3.25, 0.0, 1e300};
  r1::gpu::copy_to_device<double>(values, b, stream, "test upload");
  CHECK(r1::gpu::copy_to_host(b, stream, "test download") == values);
  try {
    (void)arena.allocate<float>(4096, "too big");
    FAIL("expected r1::Error");
  } catch (const r1::Error& e) {
    CHECK(std::string(e.what()).find("'too big'") != std::string::npos);
  }
  CHECK_THROWS_AS(r1::gpu::copy_to_device<double>(std::vector<double>(4), b, stream, "short upload"), r1::Error);
  arena.reset();
  CHECK(arena.used() == 0);
}

TEST_CASE("a failing CUDA call becomes r1::Error naming the call and the op") {
  float* device = nullptr;
  try {
    // No device has this much memory: cudaMalloc fails with cudaErrorMemoryAllocation.
    R1_CUDA_CHECK(cudaMalloc(&device, std::size_t{1} << 60), "huge allocation");
    FAIL("expected r1::Error");
  } catch (const r1::Error& e) {
    const std::string message = e.what();
    CHECK(message.find("huge allocation") != std::string::npos);
    CHECK(message.find("cudaMalloc") != std::string::npos);
    CHECK(message.find("cudaErrorMemoryAllocation") != std::string::npos);
  }
  CHECK_THROWS_AS(r1::gpu::DeviceArena(std::size_t{1} << 60), r1::Error);
  // The failed allocation's error is cleared: the next launch, checked, succeeds and computes.
  CHECK(cudaGetLastError() == cudaSuccess);
  r1::gpu::DeviceArena arena(1024);
  r1::gpu::Stream stream;
  auto from = arena.allocate<float>(3, "from");
  auto to = arena.allocate<r1::gpu::bf16>(3, "to");
  r1::gpu::copy_to_device<float>(std::vector<float>{1.0f, -2.0f, 0.5f}, from, stream, "upload");
  r1::gpu::convert_from_fp32(from.data, to.data, 3, stream.get());
  CHECK_NOTHROW(r1::gpu::check_launch("convert_from_fp32", "after a failed cudaMalloc"));
  CHECK_NOTHROW(stream.synchronize("after a failed cudaMalloc"));
  CHECK(r1::gpu::device_count() >= 1);
  CHECK(!r1::gpu::device_name().empty());
}
