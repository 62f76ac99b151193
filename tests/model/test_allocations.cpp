// The training step and the decode step allocate nothing once their buffers have
// grown: this binary replaces the global operator new and counts calls while a
// second score + backward (and a second prefill + decode) runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "model_test_support.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/transformer.hpp"

// GCC sees the replaced new inlined next to free() and warns of a mismatch; both sides are malloc/free here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The aligned forms too (r1's AlignedVector allocates through them). Buffers of 2 MiB or more would come from
// mmap instead (aligned_vector.hpp); R1_NO_HUGE_PAGES, set before main runs, sends them here as well.
namespace {
const bool huge_pages_off = setenv("R1_NO_HUGE_PAGES", "1", 1) == 0;
}  // namespace
void* operator new(std::size_t size, std::align_val_t alignment) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(alignment);
  if (void* p = std::aligned_alloc(align, (std::max<std::size_t>(size, 1) + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

r1::TokenBatch batch_of(int sequences, int length, std::int64_t vocab) {
  r1::TokenBatch batch;
  std::vector<r1::TokenId> tokens(static_cast<std::size_t>(length));
  for (int s = 0; s < sequences; ++s) {
    for (int t = 0; t < length; ++t) tokens[static_cast<std::size_t>(t)] = static_cast<r1::TokenId>((s * 7 + t * 3) % vocab);
    batch.push_back(tokens, 2);
  }
  return batch;
}

}  // namespace

TEST_CASE("score + backward and prefill + decode allocate nothing after the first call") {
  r1::ThreadLimit threads{2};
  const long probe = g_allocations.load();
  int* volatile probe_allocation = new int(1);  // volatile: the compiler may not elide this new
  delete probe_allocation;
  REQUIRE(g_allocations.load() == probe + 1);  // the counter sees allocations
  { const r1::AlignedVector<float> aligned_probe(16); }
  REQUIRE(g_allocations.load() == probe + 2);  // and aligned ones
  REQUIRE((huge_pages_off && !r1::detail::huge_pages_enabled()));  // and large ones
  r1::ModelConfig config = r1::test::tiny_llama();
  config.vocab_size = 64;
  r1::Transformer<r1::cpu> model(config);
  model.init_random(3, 0.2f);
  const r1::TokenBatch large = batch_of(4, 40, config.vocab_size), small = batch_of(3, 25, config.vocab_size);
  r1::TokenScores scores;
  std::vector<float> d_logprobs(large.total_tokens(), 0.5f), d_entropies(large.total_tokens(), 0.1f);
  model.score(large, 1.0f, scores);
  model.backward(large, d_logprobs, d_entropies);

  const long before = g_allocations.load();
  model.score(large, 1.0f, scores);
  model.backward(large, d_logprobs, d_entropies);
  model.score(small, 0.7f, scores);  // smaller: still fits
  model.backward(small, std::span<const float>(d_logprobs).first(small.total_tokens()), {});
  CHECK(g_allocations.load() - before == 0);

  auto cache = model.make_cache(4, 64);
  const std::vector<std::int32_t> slots{0, 1, 2, 3};
  const auto V = static_cast<std::size_t>(config.vocab_size);
  std::vector<float> logits(slots.size() * V);
  r1::TokenBatch prompts = batch_of(4, 10, config.vocab_size);
  const std::vector<r1::TokenId> next{1, 2, 3, 4};
  model.prefill(cache, slots, prompts, logits);
  model.decode(cache, slots, next, logits);
  for (int slot = 0; slot < 4; ++slot) cache.reset(slot);
  const long before_inference = g_allocations.load();
  model.prefill(cache, slots, prompts, logits);
  for (int step = 0; step < 5; ++step) model.decode(cache, slots, next, logits);
  model.copy_slot(cache, 0, 3);
  CHECK(g_allocations.load() - before_inference == 0);
}

TEST_CASE("score + backward with the LM head in chunks (set_logits_budget) allocate nothing after the first call") {
  r1::ThreadLimit threads{2};
  r1::ModelConfig config = r1::test::tiny_llama();
  config.vocab_size = 64;
  r1::Transformer<r1::cpu> model(config);
  model.init_random(4, 0.2f);
  model.set_logits_budget(5 * config.vocab_size);  // 5 rows of logits at a time
  const r1::TokenBatch batch = batch_of(4, 40, config.vocab_size);
  REQUIRE(model.logits_chunk_rows(static_cast<Eigen::Index>(batch.total_tokens())) == 5);
  r1::TokenScores scores;
  std::vector<float> d_logprobs(batch.total_tokens(), 0.5f);
  model.score(batch, 1.0f, scores);
  model.backward(batch, d_logprobs, {});
  const long before = g_allocations.load();
  model.score(batch, 1.0f, scores);
  model.backward(batch, d_logprobs, {});
  CHECK(g_allocations.load() - before == 0);
}
