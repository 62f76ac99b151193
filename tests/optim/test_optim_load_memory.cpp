// Loading an optimizer's state holds no second copy of it (issue 22: AdamW's state is 4 GB at 0.5B
// parameters). This binary replaces the global operator new and delete to track the bytes live at once,
// and measures the peak above the starting point while load_state runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "r1/optim/adamw.hpp"
#include "r1/optim/sgd.hpp"

// The replacement new is malloc and delete is free, a pairing the standard allows; GCC 12 sees free() on a
// pointer from an inlined `new` and warns (a false positive).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

std::atomic<std::int64_t> live_bytes{0}, peak_bytes{0};

void count_allocation(std::size_t size) {
  const std::int64_t now = live_bytes.fetch_add(static_cast<std::int64_t>(size)) + static_cast<std::int64_t>(size);
  std::int64_t peak = peak_bytes.load();
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
  }
}

// Each block carries its size in a header of `header` bytes (16 keeps malloc's alignment; the aligned forms
// use their alignment), so delete can subtract it.
void* allocate(std::size_t size, std::size_t header, std::size_t align) {
  const std::size_t total = (header + std::max<std::size_t>(size, 1) + align - 1) / align * align;
  auto* base = static_cast<char*>(align <= 16 ? std::malloc(total) : std::aligned_alloc(align, total));
  if (base == nullptr) throw std::bad_alloc();
  std::memcpy(base + header - sizeof(std::size_t), &size, sizeof size);
  count_allocation(size);
  return base + header;
}
void release(void* pointer, std::size_t header) noexcept {
  if (pointer == nullptr) return;
  char* base = static_cast<char*>(pointer) - header;
  std::size_t size = 0;
  std::memcpy(&size, base + header - sizeof(std::size_t), sizeof size);
  live_bytes.fetch_sub(static_cast<std::int64_t>(size));
  std::free(base);
}
std::size_t aligned_header(std::align_val_t alignment) { return std::max<std::size_t>(16, static_cast<std::size_t>(alignment)); }

// Bytes allocated above the live total at the start, at the most, while `load` runs.
template <class Load>
std::int64_t peak_extra_bytes(Load load) {
  const std::int64_t start = live_bytes.load();
  peak_bytes.store(start);
  load();
  return peak_bytes.load() - start;
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size, 16, 16); }
void* operator new[](std::size_t size) { return allocate(size, 16, 16); }
void operator delete(void* pointer) noexcept { release(pointer, 16); }
void operator delete[](void* pointer) noexcept { release(pointer, 16); }
void operator delete(void* pointer, std::size_t) noexcept { release(pointer, 16); }
void operator delete[](void* pointer, std::size_t) noexcept { release(pointer, 16); }
void* operator new(std::size_t size, std::align_val_t a) { return allocate(size, aligned_header(a), aligned_header(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return allocate(size, aligned_header(a), aligned_header(a)); }
void operator delete(void* pointer, std::align_val_t a) noexcept { release(pointer, aligned_header(a)); }
void operator delete[](void* pointer, std::align_val_t a) noexcept { release(pointer, aligned_header(a)); }
void operator delete(void* pointer, std::size_t, std::align_val_t a) noexcept { release(pointer, aligned_header(a)); }
void operator delete[](void* pointer, std::size_t, std::align_val_t a) noexcept { release(pointer, aligned_header(a)); }

namespace {

// One large parameter (3 Mi + 5 floats: past the 1 Mi-float read chunk, not a multiple of it) and a small one.
constexpr std::size_t kLarge = (std::size_t{3} << 20) + 5, kSmall = 1000;

struct LargeParams {
  std::vector<float> w = std::vector<float>(kLarge, 0.25f), w_grad = std::vector<float>(kLarge, 0.5f);
  std::vector<float> b = std::vector<float>(kSmall, 1.0f), b_grad = std::vector<float>(kSmall, -0.5f);
  std::vector<r1::ParameterView> views() {
    return {{"embed.weight", {static_cast<std::int64_t>(kLarge)}, w, w_grad, true},
            {"norm.weight", {static_cast<std::int64_t>(kSmall)}, b, b_grad, false}};
  }
};

// What load_state may allocate besides the buffers: the reader's names and field strings, each well under
// 1 KiB. 64 KiB leaves room for the library's own small allocations while staying 190x below one copy
// of the large buffer (12 MiB), which is what the old load held per slot.
constexpr std::int64_t kSmallAllocations = 64 << 10;

template <class Optimizer>
void check_load_memory(Optimizer optimizer, int slots) {
  LargeParams params;
  auto views = params.views();
  optimizer.step(views);
  std::stringstream saved;
  optimizer.save_state(saved);
  const std::string bytes = saved.str();
  const std::int64_t state_bytes = static_cast<std::int64_t>(slots * (kLarge + kSmall) * sizeof(float));
  const std::int64_t large_buffer_bytes = static_cast<std::int64_t>(kLarge * sizeof(float));

  // Bound (as after a step or init): read in place, nothing proportional to the state is allocated.
  {
    Optimizer bound = optimizer;
    std::istringstream in(bytes);  // copies the bytes before the measurement
    const std::int64_t extra = peak_extra_bytes([&] { bound.load_state(in); });
    CAPTURE(extra);
    CHECK(extra <= kSmallAllocations);
  }
  // Unbound (a fresh optimizer at resume): the buffers themselves, plus while the first buffer of a parameter
  // grows (its length is only a claim until read) the old storage of one reallocation, less than that
  // buffer: peak ≤ state + one large buffer; and no capacity is left over once loaded.
  {
    Optimizer fresh{optimizer.config()};
    std::istringstream in(bytes);
    const std::int64_t before = live_bytes.load();
    const std::int64_t extra = peak_extra_bytes([&] { fresh.load_state(in); });
    const std::int64_t kept = live_bytes.load() - before;
    CAPTURE(extra);
    CAPTURE(kept);
    CHECK(extra <= state_bytes + large_buffer_bytes + kSmallAllocations);
    CHECK(kept >= state_bytes);
    CHECK(kept <= state_bytes + kSmallAllocations);
  }
}

}  // namespace

TEST_CASE("AdamW::load_state holds no second copy of the moments") {
  REQUIRE(peak_extra_bytes([] { std::vector<float> probe(1000); }) >= 4000);  // the counter sees allocations
  check_load_memory(r1::AdamW{}, 2);
}

TEST_CASE("Sgd::load_state holds no second copy of the momentum") {
  r1::SgdConfig config;
  config.momentum = 0.9f;
  check_load_memory(r1::Sgd{config}, 1);
}
