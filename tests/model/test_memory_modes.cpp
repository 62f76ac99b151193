// Less memory per parameter (issue 22): gradient checkpointing and frozen (scoring-only) copies, bf16 ones
// included. Each mode must give what the plain model gives: checkpointing bit for bit (the recomputation runs
// the forward's own code on the same inputs), a frozen fp32 copy bit for bit, a bf16 copy what the plain model
// gives with its weights rounded to bf16.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/transformer.hpp"

namespace {

using r1::BasicTransformer;
using r1::TokenBatch;
using r1::WeightStorage;

struct Result {
  std::vector<double> logprobs, entropies, gradient;
};

template <class Scalar>
Result run(BasicTransformer<Scalar>& model, const TokenBatch& batch, bool backward = true) {
  const std::size_t N = batch.total_tokens();
  std::vector<Scalar> logprobs(N), entropies(N), d_logprobs(N), d_entropies(N);
  r1::Philox rng(5);
  for (std::size_t i = 0; i < N; ++i) {
    d_logprobs[i] = static_cast<Scalar>(rng.normal());
    d_entropies[i] = static_cast<Scalar>(rng.normal());
  }
  if (backward) model.zero_grad();
  model.forward_scores(batch, Scalar(0.8), logprobs, entropies);
  if (backward) model.backward_scores(batch, d_logprobs, d_entropies);
  Result out{{logprobs.begin(), logprobs.end()}, {entropies.begin(), entropies.end()}, {}};
  if (backward) out.gradient.assign(model.flat_gradients().begin(), model.flat_gradients().end());
  return out;
}

void check_bitwise(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
}

}  // namespace

TEST_CASE("gradient checkpointing: scores and every gradient bitwise those of the plain backward") {
  for (const auto& config : {r1::test::tiny_llama(), r1::test::tiny_qwen2(), r1::test::tiny_llama_head_dim(8)}) {
    for (const bool long_sequences : {false, true}) {
      BasicTransformer<float> model(config);
      r1::test::fill_for_test(model, 3);
      const TokenBatch batch = long_sequences ? r1::test::long_batch(config.vocab_size, 9)
                                              : r1::test::mixed_batch(config.vocab_size, 9);
      const Result plain = run(model, batch);
      model.set_gradient_checkpointing(true);
      CHECK(model.gradient_checkpointing());
      const Result checkpointed = run(model, batch);
      check_bitwise(plain.logprobs, checkpointed.logprobs);
      check_bitwise(plain.entropies, checkpointed.entropies);
      check_bitwise(plain.gradient, checkpointed.gradient);
      // And back: the buffers of one layer must not leak into the next plain run.
      model.set_gradient_checkpointing(false);
      check_bitwise(plain.gradient, run(model, batch).gradient);
    }
  }
}

TEST_CASE("frozen fp32 copy: the source's scores bitwise, no gradients, no backward") {
  const auto config = r1::test::tiny_qwen2();
  BasicTransformer<float> model(config);
  r1::test::fill_for_test(model, 4);
  const TokenBatch batch = r1::test::long_batch(config.vocab_size, 2);
  const Result plain = run(model, batch, false);
  auto frozen = BasicTransformer<float>::frozen_copy(model, WeightStorage::full);
  CHECK(frozen.frozen());
  CHECK(frozen.flat_gradients().empty());
  const Result copy = run(frozen, batch, false);
  check_bitwise(plain.logprobs, copy.logprobs);
  check_bitwise(plain.entropies, copy.entropies);
  std::vector<float> d(batch.total_tokens(), 1.0f);
  CHECK_THROWS_WITH_AS(frozen.backward_scores(batch, d, {}), doctest::Contains("frozen copy has no gradients"),
                       r1::Error);
  CHECK_THROWS_AS(frozen.init_random(1), r1::Error);
}

// The bf16 copy widens each bf16 weight to exactly the float the rounded model holds, and runs the same
// kernels on the same shapes (one LM-head block: V < 16384), so its scores are bitwise the rounded model's.
TEST_CASE("frozen bf16 copy: bitwise the model with its weights rounded to bf16; refreshed by copy_weights_from") {
  for (const auto& config : {r1::test::tiny_llama(), r1::test::tiny_qwen2()}) {
    BasicTransformer<float> model(config);
    r1::test::fill_for_test(model, 6);
    auto frozen = BasicTransformer<float>::frozen_copy(model, WeightStorage::bf16);
    CHECK(frozen.weight_storage() == WeightStorage::bf16);
    CHECK(frozen.flat_parameters().empty());
    CHECK(static_cast<std::int64_t>(frozen.bf16_parameters().size()) == model.parameter_count());
    BasicTransformer<float> rounded = model;
    for (auto& value : rounded.flat_parameters()) value = r1::bf16_to_float(r1::float_to_bf16(value));
    const TokenBatch batch = r1::test::long_batch(config.vocab_size, 8);
    const Result expected = run(rounded, batch, false);
    const Result got = run(frozen, batch, false);
    check_bitwise(expected.logprobs, got.logprobs);
    check_bitwise(expected.entropies, got.entropies);
    // Rounding moved something: the bf16 copy is not the fp32 model.
    const Result exact = run(model, batch, false);
    bool differs = false;
    for (std::size_t i = 0; i < exact.logprobs.size(); ++i) differs = differs || exact.logprobs[i] != got.logprobs[i];
    CHECK(differs);
    // A reset takes the new weights.
    r1::test::fill_for_test(model, 7);
    frozen.copy_weights_from(model);
    for (auto& value : rounded.flat_parameters()) value = 0;
    rounded = model;
    for (auto& value : rounded.flat_parameters()) value = r1::bf16_to_float(r1::float_to_bf16(value));
    check_bitwise(run(rounded, batch, false).logprobs, run(frozen, batch, false).logprobs);
  }
}

// A vocabulary over the 16,384-row block of the bf16 LM head: the head's logits come in two blocks, each a
// GEMM over the same D = 16 terms as the whole head's, possibly by another kernel (other summation order):
// each logit differs by at most about D ulps of sum |x_i w_i| (Higham 2002, eq. 3.5: |error| <= gamma_D sum
// |x_i w_i|); with |x_i w_i| <= ~10 here that is ~2e-5, and a log-prob sums V such terms through the
// log-sum-exp, which only averages them: 1e-4 bounds it, while a misplaced block moves log-probs by O(1).
TEST_CASE("frozen bf16 copy over a vocabulary of two LM-head blocks: the rounded model's log-probs") {
  auto config = r1::test::tiny_qwen2();
  config.vocab_size = 20000;
  BasicTransformer<float> model(config);
  r1::test::fill_for_test(model, 12);
  auto frozen = BasicTransformer<float>::frozen_copy(model, WeightStorage::bf16);
  BasicTransformer<float> rounded = model;
  for (auto& value : rounded.flat_parameters()) value = r1::bf16_to_float(r1::float_to_bf16(value));
  const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 3);
  const Result expected = run(rounded, batch, false);
  const Result got = run(frozen, batch, false);
  for (std::size_t i = 0; i < expected.logprobs.size(); ++i) CHECK(std::abs(expected.logprobs[i] - got.logprobs[i]) <= 1e-4);
}

TEST_CASE("Transformer<cpu>: frozen copies have no trainable parameters and do not prefill") {
  r1::Transformer<r1::cpu> model(r1::test::tiny_llama());
  model.init_random(1);
  auto reference = r1::Transformer<r1::cpu>::frozen_copy(model, WeightStorage::bf16);
  CHECK(reference.parameters().empty());
  auto cache = reference.make_cache(1, 8);
  std::vector<float> logits(static_cast<std::size_t>(model.vocab_size()));
  std::vector<std::int32_t> slots{0};
  TokenBatch prompt;
  prompt.push_back(std::vector<r1::TokenId>{1, 2, 3}, 1);
  CHECK_THROWS_AS(reference.prefill(cache, slots, prompt, logits), r1::Error);
  model.set_gradient_checkpointing(true);
  CHECK(model.gradient_checkpointing());
}
