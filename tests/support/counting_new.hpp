#pragma once
// Replaces the global operator new and delete (plain and aligned forms) with malloc/free and counts every new,
// for tests that check a code path allocates nothing. Include it in exactly one source file of a test executable:
// it defines the replacement functions (which may not be inline). Buffers of 2 MiB or more would come from mmap
// instead of new (r1/core/aligned_vector.hpp); R1_NO_HUGE_PAGES, set here before main runs, sends them through
// new as well, and huge_pages_off() tells a test that it took effect.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

// The replacement new is malloc and delete is free, a pairing the standard allows; GCC 12 sees free() on a pointer
// from an inlined `new` and warns (a false positive), so that one warning is off where this header is included.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace r1::test {
namespace counting_new_detail {
inline std::atomic<long> count{0};
inline const bool huge_pages_off = setenv("R1_NO_HUGE_PAGES", "1", 1) == 0;
}  // namespace counting_new_detail

// Calls of any operator new in this executable so far.
inline long allocation_count() { return counting_new_detail::count.load(std::memory_order_relaxed); }
// Whether R1_NO_HUGE_PAGES was set before main.
inline bool huge_pages_off() { return counting_new_detail::huge_pages_off; }
}  // namespace r1::test

void* operator new(std::size_t size) {
  r1::test::counting_new_detail::count.fetch_add(1, std::memory_order_relaxed);
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete[](void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { std::free(pointer); }
// The aligned forms (r1's AlignedVector allocates through them).
void* operator new(std::size_t size, std::align_val_t alignment) {
  r1::test::counting_new_detail::count.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(alignment);
  if (void* pointer = std::aligned_alloc(align, (std::max<std::size_t>(size, 1) + align - 1) / align * align))
    return pointer;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void operator delete(void* pointer, std::align_val_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept { std::free(pointer); }
