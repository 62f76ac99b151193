// A training step repeats itself bit for bit: the same batch scored and back-propagated again, at 2 threads,
// after the model's buffers have grown and moved in between, gives the same log-probs and gradients. GRPO
// runs (and resumed runs) depend on it. It failed while the attention scratch was a plain std::vector:
// Eigen's vectorised softmax sums start at the first 32-byte aligned element, so their rounding followed
// the buffer's address, and the buffer moves when backward grows it after the first forward.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/transformer.hpp"
#include "toy_multiplication.hpp"  // examples/r1_zero: the policy shape of the R1-Zero example

namespace {

r1::TokenBatch random_batch(int sequences, int shortest, int longest, std::uint64_t seed) {
  r1::Philox rng(seed);
  r1::TokenBatch batch;
  for (int s = 0; s < sequences; ++s) {
    std::vector<r1::TokenId> tokens(static_cast<std::size_t>(shortest + static_cast<int>(rng() % static_cast<std::uint32_t>(longest - shortest + 1))));
    for (auto& token : tokens) token = static_cast<r1::TokenId>(rng() % 21);
    batch.push_back(tokens, 5);
  }
  return batch;
}

}  // namespace

TEST_CASE("score + backward repeat bit for bit at 2 threads while the buffers grow in between") {
  r1::ThreadLimit threads{2};
  // The R1-Zero example's policy (tied head, vocabulary 21) on sequences of 20-80 tokens, as in its GRPO steps.
  r1::Transformer<r1::cpu> model(toy::model_config(21));
  model.init_random(/*seed=*/3, /*stddev=*/0.1f);
  const auto warm_up = random_batch(8, 6, 12, 1);  // small first: every later call grows some buffer
  const auto batch = random_batch(64, 20, 80, 2);
  std::vector<float> d_logprobs(batch.total_tokens());
  for (std::size_t i = 0; i < d_logprobs.size(); ++i) d_logprobs[i] = 0.01f * static_cast<float>(static_cast<int>(i % 7) - 3);
  std::vector<float> warm_up_d(warm_up.total_tokens(), 0.01f);

  r1::TokenScores scores;
  model.score(warm_up, 1.0f, scores);
  model.backward(warm_up, warm_up_d, {});
  std::vector<float> first_logprobs, first_gradients;
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    model.score(batch, 1.0f, scores);
    model.zero_grad();
    model.backward(batch, d_logprobs, {});
    const auto gradients = model.flat_gradients();
    if (round == 0) {
      first_logprobs = scores.logprobs;
      first_gradients.assign(gradients.begin(), gradients.end());
      continue;
    }
    REQUIRE(scores.logprobs.size() == first_logprobs.size());
    CHECK(std::memcmp(scores.logprobs.data(), first_logprobs.data(), first_logprobs.size() * sizeof(float)) == 0);
    for (const auto& tensor : model.tensors()) {
      CAPTURE(tensor.name);
      CHECK(std::memcmp(gradients.data() + tensor.offset, first_gradients.data() + tensor.offset,
                        static_cast<std::size_t>(tensor.size) * sizeof(float)) == 0);
    }
  }
}
