#pragma once
// std::vector whose storage starts on a 64-byte boundary (a cache line, two AVX
// registers). Eigen's vectorised loops peel a prefix up to the first aligned
// element, so the same data at a different alignment is summed in a different
// order: buffers that always start aligned make results independent of where
// malloc happened to put them (a copied model, a resumed run, bit for bit).
#include <cstddef>
#include <new>
#include <vector>

namespace r1 {

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
    return static_cast<T*>(::operator new(count * sizeof(T), std::align_val_t{Alignment}));
  }
  void deallocate(T* pointer, std::size_t) noexcept { ::operator delete(pointer, std::align_val_t{Alignment}); }
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
