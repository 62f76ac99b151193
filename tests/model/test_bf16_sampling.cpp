// Sampling from bf16 weights (issue 26): the decode kernel that reads bf16 against a naive product, and a
// model's prefill/decode logits against the same model with its weight matrices rounded to bf16. Widening
// bf16 to fp32 is exact and the many-rows path runs the fp32 GEMM on the widened values (bitwise the rounded
// model's); the few-rows kernel has the fp32 one's tiling, but the compiler may contract its scalar tail
// differently (an FMA or not), so decoding agrees to fp32 rounding: K-term dot products, |error| <= K u sum
// |x w| (Higham 2002, eq. 3.5) ~ 24 * 6e-8 * 10 ~ 1.5e-5 for these logits; 1e-4 bounds it.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/gemm/few_rows_linear_bf16.hpp"
#include "r1/model/transformer.hpp"

namespace {

using Model = r1::Transformer<r1::cpu>;

// The matrices a bf16-sampling model reads in bf16: every projection and the LM head (not the embedding's
// input rows, the norms or the biases).
bool sampled_in_bf16(const std::string& name) {
  return name.ends_with("proj.weight") || name == "lm_head.weight";
}

Model rounded_copy(Model& model) {
  Model rounded = model;
  for (const auto& view : rounded.parameters())
    if (sampled_in_bf16(view.name))
      for (auto& value : view.value) value = r1::bf16_to_float(r1::float_to_bf16(value));
  return rounded;
}

struct Logits {
  std::vector<float> prefill, decode;
};

Logits run(Model& model, const r1::TokenBatch& prompts, std::vector<r1::TokenId> next) {
  const auto S = prompts.size(), V = static_cast<std::size_t>(model.vocab_size());
  std::vector<std::int32_t> slots;
  for (std::size_t s = 0; s < S; ++s) slots.push_back(static_cast<std::int32_t>(s));
  auto cache = model.make_cache(static_cast<int>(S), 64);
  Logits out{std::vector<float>(S * V), std::vector<float>(S * V)};
  model.prefill(cache, slots, prompts, out.prefill);
  model.decode(cache, slots, next, out.decode);
  return out;
}

void close(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) <= 1e-4);
}

}  // namespace

// Each output is a K-term fp32 dot product: |error| <= gamma_K sum |x_k w_k| (Higham 2002, eq. 3.5),
// gamma_K ~ K u with u = 2^-24; the reference sums in double.
TEST_CASE("few_rows_linear_bf16 equals x W^T of the widened weights, for every tile remainder") {
  r1::Philox rng(3);
  for (const Eigen::Index M : {1, 2, 3, 4, 5, 8, 13, 16})
    for (const Eigen::Index K : {1, 7, 16, 37, 64, 100})
      for (const Eigen::Index J : {1, 2, 3, 7}) {
        std::vector<float> x(static_cast<std::size_t>(M * K)), y(static_cast<std::size_t>(M * J), 0.5f);
        std::vector<std::uint16_t> w(static_cast<std::size_t>(J * K));
        for (auto& v : x) v = static_cast<float>(rng.normal());
        for (auto& v : w) v = r1::float_to_bf16(static_cast<float>(rng.normal()));
        r1::few_rows_linear_bf16(x.data(), M, K, w.data(), J, y.data(), J, true);
        // The fp32 kernel on the widened weights: the same tiles and order (to the tail's contraction).
        std::vector<float> widened(w.size()), fp32(static_cast<std::size_t>(M * J), 0.5f);
        for (std::size_t i = 0; i < w.size(); ++i) widened[i] = r1::bf16_to_float(w[i]);
        r1::few_rows_linear(x.data(), M, K, widened.data(), J, fp32.data(), J, true);
        for (Eigen::Index m = 0; m < M; ++m)
          for (Eigen::Index j = 0; j < J; ++j) {
            double exact = 0.5, magnitude = 0.5;
            for (Eigen::Index k = 0; k < K; ++k) {
              const double term = double(x[static_cast<std::size_t>(m * K + k)]) * widened[static_cast<std::size_t>(j * K + k)];
              exact += term;
              magnitude += std::abs(term);
            }
            const float got = y[static_cast<std::size_t>(m * J + j)];
            CHECK(std::abs(got - exact) <= (K + 2) * 0x1p-24 * magnitude);
            CHECK(std::abs(got - fp32[static_cast<std::size_t>(m * J + j)]) <= (K + 2) * 0x1p-24 * magnitude);
          }
      }
}

TEST_CASE("bf16 sampling: prefill (many rows) and decode (few rows) logits bitwise those of the rounded model") {
  const auto config = r1::test::tiny_llama();  // an untied head, read in bf16
  Model model(config);
  model.init_random(4, 0.3f);
  Model rounded = rounded_copy(model);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  CHECK(model.sampling_storage() == r1::WeightStorage::bf16);
  r1::TokenBatch prompts;  // 20 + 3 prompt tokens: the prefill takes the many-rows path
  std::vector<r1::TokenId> long_prompt;
  for (int t = 0; t < 20; ++t) long_prompt.push_back(static_cast<r1::TokenId>((t * 7) % config.vocab_size));
  prompts.push_back(long_prompt, 1);
  prompts.push_back(std::vector<r1::TokenId>{1, 2, 3}, 1);
  const Logits expected = run(rounded, prompts, {4, 5});
  const Logits got = run(model, prompts, {4, 5});
  CHECK(got.prefill == expected.prefill);
  close(got.decode, expected.decode);
  // Sampling from bf16 changes the logits: the fp32 model's differ.
  model.set_sampling_storage(r1::WeightStorage::full);
  const Logits exact = run(model, prompts, {4, 5});
  double largest = 0;
  for (std::size_t i = 0; i < exact.decode.size(); ++i) largest = std::max<double>(largest, std::abs(exact.decode[i] - got.decode[i]));
  CHECK(largest > 1e-3);  // rounding ~0.4% of each weight moves logits by far more than fp32 rounding
}

TEST_CASE("bf16 sampling: weights changed through parameters() are seen by the next prefill") {
  const auto config = r1::test::tiny_llama();
  Model model(config);
  model.init_random(5, 0.3f);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  r1::TokenBatch prompts;
  prompts.push_back(std::vector<r1::TokenId>{3, 1, 4}, 1);
  const Logits before = run(model, prompts, {1});
  for (const auto& view : model.parameters())  // an optimiser step
    for (auto& value : view.value) value *= 1.5f;
  Model rounded = rounded_copy(model);
  const Logits after = run(model, prompts, {1});
  CHECK(after.decode != before.decode);
  close(after.decode, run(rounded, prompts, {1}).decode);
}

// A head of two 16,384-row blocks in the many-rows path: each block is a GEMM over the same D = 16 terms as
// the whole head's, by a possibly different kernel: ~D ulps of values of order 10, so 1e-4 absolute.
TEST_CASE("bf16 sampling over a vocabulary of two head blocks: the rounded model's logits") {
  auto config = r1::test::tiny_llama();
  config.vocab_size = 20000;
  Model model(config);
  model.init_random(6, 0.3f);
  Model rounded = rounded_copy(model);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  r1::TokenBatch prompts;
  std::vector<r1::TokenId> prompt;
  for (int t = 0; t < 20; ++t) prompt.push_back(static_cast<r1::TokenId>(t * 997 % 20000));
  prompts.push_back(prompt, 1);
  const Logits expected = run(rounded, prompts, {7});
  const Logits got = run(model, prompts, {7});
  for (std::size_t i = 0; i < got.prefill.size(); ++i) CHECK(std::abs(got.prefill[i] - expected.prefill[i]) <= 1e-4);
  close(got.decode, expected.decode);
}
