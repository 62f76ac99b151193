// AlignedVector (aligned_vector.hpp): every buffer starts on a 64-byte boundary; buffers of a huge page (2 MiB)
// or more come from mmap on 2 MiB boundaries (transparent huge pages on Linux), hold what is written to them
// across growth, and are returned whole.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>

#include "r1/core/aligned_vector.hpp"

namespace {

bool aligned_to(const void* pointer, std::uintptr_t alignment) {
  return reinterpret_cast<std::uintptr_t>(pointer) % alignment == 0;
}

}  // namespace

TEST_CASE("AlignedVector starts on a cache line at every size, and large buffers on a huge page") {
  const std::size_t huge = r1::detail::kHugePage / sizeof(float);
  for (const std::size_t count : {std::size_t{1}, std::size_t{17}, std::size_t{4096}, huge - 1, huge, huge + 1,
                                  3 * huge + 12345}) {
    CAPTURE(count);
    r1::AlignedVector<float> buffer(count);
    REQUIRE(aligned_to(buffer.data(), 64));
    if (r1::detail::uses_huge_pages(count * sizeof(float))) CHECK(aligned_to(buffer.data(), r1::detail::kHugePage));
    std::iota(buffer.begin(), buffer.end(), 0.0f);  // every byte of the mapping is writable
    CHECK(buffer.front() == 0.0f);
    CHECK(buffer.back() == static_cast<float>(count - 1));
  }
}

TEST_CASE("growing across the huge-page size keeps the contents") {
  const std::size_t huge = r1::detail::kHugePage / sizeof(std::int32_t);
  r1::AlignedVector<std::int32_t> buffer(1000);
  std::iota(buffer.begin(), buffer.end(), 0);
  r1::grow_to(buffer, static_cast<std::ptrdiff_t>(huge + 7));  // small -> mmap
  for (std::int32_t i = 0; i < 1000; ++i) REQUIRE(buffer[static_cast<std::size_t>(i)] == i);
  std::iota(buffer.begin(), buffer.end(), 0);
  r1::grow_to(buffer, static_cast<std::ptrdiff_t>(3 * huge));  // mmap -> larger mmap
  for (std::size_t i = 0; i < huge + 7; i += 997) REQUIRE(buffer[i] == static_cast<std::int32_t>(i));
  r1::AlignedVector<std::int32_t> copy = buffer;  // a copy is a buffer of its own
  copy[0] = -1;
  CHECK(buffer[0] == 0);
  buffer.clear();
  buffer.shrink_to_fit();  // mmap -> nothing: the mapping is returned
  CHECK(buffer.capacity() == 0);
}
