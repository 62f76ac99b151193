#pragma once
// std::vector whose storage starts on a 64-byte boundary (a cache line, two AVX
// registers). Eigen's vectorised loops peel a prefix up to the first aligned
// element, so the same data at a different alignment is summed in a different
// order: buffers that always start aligned make results independent of where
// malloc happened to put them (a copied model, a resumed run, bit for bit).
// Buffers of 2 MiB or more start on a 2 MiB boundary, in transparent huge pages.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace r1 {

namespace detail {
inline constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Buffers of at least one huge page come from mmap, starting on a 2 MiB boundary, and the kernel is asked for
// transparent huge pages (madvise): reads across a large activation or weight then miss the TLB less
// (bench_model_train_step's BM_TrainStep, run alternately with and without R1_NO_HUGE_PAGES, says by how much;
// the README has the figures). The mapping is as long as the buffer, rounded to
// whole base pages, so a part of a huge page past its end stays in base pages and costs no memory. On Linux,
// unless the environment sets R1_NO_HUGE_PAGES; fixed for the process, so deallocate knows where a buffer came
// from.
inline bool huge_pages_enabled() {
#if defined(__linux__)
  static const bool enabled = std::getenv("R1_NO_HUGE_PAGES") == nullptr;
  return enabled;
#else
  return false;
#endif
}
inline bool uses_huge_pages(std::size_t bytes) { return bytes >= kHugePage && huge_pages_enabled(); }

inline void* allocate_huge_pages(std::size_t bytes) {
#if defined(__linux__)
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const std::size_t length = (bytes + page - 1) / page * page;
  void* region = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) throw std::bad_alloc();
  // Keep the `length` bytes from the first 2 MiB boundary in the region; unmap the rest on either side.
  const auto start = reinterpret_cast<std::uintptr_t>(region), aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(region, aligned - start);
  if (aligned < start + kHugePage) munmap(reinterpret_cast<void*>(aligned + length), start + kHugePage - aligned);
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);  // advice only: a kernel without THP ignores it
  return reinterpret_cast<void*>(aligned);
#else
  (void)bytes;
  throw std::bad_alloc();
#endif
}
inline void free_huge_pages(void* pointer, std::size_t bytes) noexcept {
#if defined(__linux__)
  munmap(pointer, bytes);  // every page holding a part of the range
#else
  (void)pointer, (void)bytes;
#endif
}
}  // namespace detail

template <class T, std::size_t Alignment = 64>
struct AlignedAllocator {
  using value_type = T;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) noexcept {}
  T* allocate(std::size_t count) {
    if (count > std::size_t(-1) / sizeof(T)) throw std::bad_alloc();
    if (detail::uses_huge_pages(count * sizeof(T))) return static_cast<T*>(detail::allocate_huge_pages(count * sizeof(T)));
    return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{Alignment}));
  }
  void deallocate(T* pointer, std::size_t count) noexcept {
    if (detail::uses_huge_pages(count * sizeof(T))) detail::free_huge_pages(pointer, count * sizeof(T));
    else ::operator delete(pointer, std::align_val_t{Alignment});
  }
  template <class U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const noexcept {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// Grows `buffer` to at least `size` elements; never shrinks it (scratch that is sized once, then reused).
template <class T>
void grow_to(AlignedVector<T>& buffer, std::ptrdiff_t size) {
  if (size > 0 && buffer.size() < static_cast<std::size_t>(size)) buffer.resize(static_cast<std::size_t>(size));
}

}  // namespace r1
