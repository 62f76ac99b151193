// The training step and the decode step allocate nothing once their buffers have
// grown: this binary replaces the global operator new (counting_new.hpp) and counts
// calls while a second score + backward (and a second prefill + decode) runs.
#include <doctest/doctest.h>

#include <vector>

#include "counting_new.hpp"
#include "model_test_support.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/transformer.hpp"

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
  const long probe = r1::test::allocation_count();
  int* volatile probe_allocation = new int(1);  // volatile: the compiler may not elide this new
  delete probe_allocation;
  REQUIRE(r1::test::allocation_count() == probe + 1);  // the counter sees allocations
  { const r1::AlignedVector<float> aligned_probe(16); }
  REQUIRE(r1::test::allocation_count() == probe + 2);  // and aligned ones
  REQUIRE((r1::test::huge_pages_off() && !r1::detail::huge_pages_enabled()));  // and large ones
  r1::ModelConfig config = r1::test::tiny_llama();
  config.vocab_size = 64;
  r1::Transformer<r1::cpu> model(config);
  model.init_random(3, 0.2f);
  const r1::TokenBatch large = batch_of(4, 40, config.vocab_size), small = batch_of(3, 25, config.vocab_size);
  r1::TokenScores scores;
  std::vector<float> d_logprobs(large.total_tokens(), 0.5f), d_entropies(large.total_tokens(), 0.1f);
  model.score(large, 1.0f, scores);
  model.backward(large, d_logprobs, d_entropies);

  const long before = r1::test::allocation_count();
  model.score(large, 1.0f, scores);
  model.backward(large, d_logprobs, d_entropies);
  model.score(small, 0.7f, scores);  // smaller: still fits
  model.backward(small, std::span<const float>(d_logprobs).first(small.total_tokens()), {});
  CHECK(r1::test::allocation_count() - before == 0);

  auto cache = model.make_cache(4, 64);
  const std::vector<std::int32_t> slots{0, 1, 2, 3};
  const auto V = static_cast<std::size_t>(config.vocab_size);
  std::vector<float> logits(slots.size() * V);
  r1::TokenBatch prompts = batch_of(4, 10, config.vocab_size);
  const std::vector<r1::TokenId> next{1, 2, 3, 4};
  model.prefill(cache, slots, prompts, logits);
  model.decode(cache, slots, next, logits);
  for (int slot = 0; slot < 4; ++slot) cache.reset(slot);
  const long before_inference = r1::test::allocation_count();
  model.prefill(cache, slots, prompts, logits);
  for (int step = 0; step < 5; ++step) model.decode(cache, slots, next, logits);
  model.copy_slot(cache, 0, 3);
  CHECK(r1::test::allocation_count() - before_inference == 0);
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
  const long before = r1::test::allocation_count();
  model.score(batch, 1.0f, scores);
  model.backward(batch, d_logprobs, {});
  CHECK(r1::test::allocation_count() - before == 0);
}
