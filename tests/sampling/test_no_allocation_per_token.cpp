// The decode loop allocates nothing per token: a generate call makes the same
// number of heap allocations for 8 and for 64 new tokens (buffers are sized
// once per call). Counts every operator new in this executable.
#include <doctest/doctest.h>

// The replacement operator new below is malloc and operator delete is free, a
// pairing the standard allows; GCC 12 sees free() on a pointer from an inlined
// `new` and warns (a false positive), so that one warning is off in this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "r1/core/aligned_vector.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "table_model.hpp"

namespace {
std::atomic<long> allocation_count{0};
}  // namespace

void* operator new(std::size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete[](void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { std::free(pointer); }
// The aligned forms too (r1's AlignedVector allocates through them). Buffers of 2 MiB or more would come from
// mmap instead (aligned_vector.hpp); R1_NO_HUGE_PAGES, set before main runs, sends them here as well.
namespace {
const bool huge_pages_off = setenv("R1_NO_HUGE_PAGES", "1", 1) == 0;
}  // namespace
void* operator new(std::size_t size, std::align_val_t alignment) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(alignment);
  if (void* pointer = std::aligned_alloc(align, (std::max<std::size_t>(size, 1) + align - 1) / align * align)) return pointer;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void operator delete(void* pointer, std::align_val_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept { std::free(pointer); }

namespace {

long allocations_for(int max_new_tokens, float temperature, int top_k, float top_p, float repetition_penalty) {
  r1::test::TableModel model(64);
  model.decode_rows.reserve(1000);  // the test model's own call log must not count
  const std::vector<std::vector<r1::TokenId>> prompts{{1, 2, 3}, {4, 5}, {6}};
  r1::SamplerConfig config;
  config.max_new_tokens = max_new_tokens;
  config.temperature = temperature;
  config.top_k = top_k;
  config.top_p = top_p;
  config.repetition_penalty = repetition_penalty;
  r1::KvSampler sampler{config};
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = 4;
  request.seed = 17;
  const long before = allocation_count.load();
  const auto completions = sampler.generate(model, request);
  const long during = allocation_count.load() - before;
  for (const auto& completion : completions) REQUIRE(completion.ids.size() == static_cast<std::size_t>(max_new_tokens));
  return during;
}

}  // namespace

TEST_CASE("allocations per generate call do not grow with the number of new tokens") {
  REQUIRE((huge_pages_off && !r1::detail::huge_pages_enabled()));  // every buffer goes through the counted new
  for (const auto& [temperature, top_k, top_p, penalty] :
       std::vector<std::tuple<float, int, float, float>>{{1.0f, 0, 1.0f, 1.0f}, {0.7f, 10, 0.9f, 1.3f}, {0.0f, 0, 1.0f, 1.2f}}) {
    CAPTURE(temperature);
    const long short_run = allocations_for(8, temperature, top_k, top_p, penalty);
    const long long_run = allocations_for(64, temperature, top_k, top_p, penalty);
    CHECK(short_run > 0);  // the counter works
    CHECK(long_run == short_run);
  }
}
