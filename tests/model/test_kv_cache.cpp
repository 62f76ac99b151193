// The inference path: prefill + one-token decode through the KV cache give the
// logits of the full forward (the naive double reference), and a copied slot
// behaves as an independent prefill of the same prompt.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/transformer.hpp"

namespace {

using r1::TokenId;

// float logits against the double reference: weights of spread 0.4 give logits of order 5; float rounding
// through 2 layers of ~10 ops with reductions of <= 32 terms is ~1e-5 relative (see test_transformer.cpp),
// so 2e-4 absolute.
constexpr double kLogitTolerance = 2e-4;

void check_decode_matches_full_forward(const r1::ModelConfig& config) {
  r1::Transformer<r1::cpu> model(config);
  r1::test::fill_for_test(model, 17);
  const std::vector<std::vector<TokenId>> prompts{{1, 4, 2, 7}, {3, 9}};
  const std::vector<std::vector<TokenId>> continuations{{5, 0, 8}, {2, 2, 6}};
  const std::vector<std::int32_t> slots{2, 0};
  auto cache = model.make_cache(3, 16);
  r1::TokenBatch batch;
  for (const auto& prompt : prompts) batch.push_back(prompt);
  const auto V = static_cast<std::size_t>(model.vocab_size());
  std::vector<float> logits(slots.size() * V);
  model.prefill(cache, slots, batch, logits);
  std::vector<std::vector<TokenId>> sequences = prompts;
  for (std::size_t step = 0; step <= continuations[0].size(); ++step) {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      CHECK(cache.length(slots[i]) == static_cast<int>(sequences[i].size()));
      const auto expected = r1::test::reference_logits(model.core(), sequences[i]);
      const std::size_t last = sequences[i].size() - 1;
      for (std::size_t v = 0; v < V; ++v) {
        INFO("step ", step, " sequence ", i, " logit ", v);
        CHECK(std::abs(logits[i * V + v] - expected[last * V + v]) <= kLogitTolerance);
      }
    }
    if (step == continuations[0].size()) break;
    std::vector<TokenId> next{continuations[0][step], continuations[1][step]};
    for (std::size_t i = 0; i < slots.size(); ++i) sequences[i].push_back(next[i]);
    model.decode(cache, slots, next, logits);
  }
  CHECK(cache.length(1) == 0);  // untouched slot
}

void check_two_part_prefill(const r1::ModelConfig& config) {
  r1::Transformer<r1::cpu> model(config);
  r1::test::fill_for_test(model, 29);
  const auto V = static_cast<std::size_t>(model.vocab_size());
  const r1::TokenBatch source = r1::test::long_batch(model.vocab_size(), 31);
  const auto sequence = source.sequence(0).first(100);
  auto cache = model.make_cache(2, 128);
  r1::TokenBatch head, tail;
  head.push_back(sequence.first(10));
  tail.push_back(sequence.subspan(10));
  std::vector<float> logits(V);
  model.prefill(cache, std::vector<std::int32_t>{1}, head, logits);
  model.prefill(cache, std::vector<std::int32_t>{1}, tail, logits);  // appends after the 10 cached positions
  CHECK(cache.length(1) == 100);
  const auto expected = r1::test::reference_logits(model.core(), sequence);
  for (std::size_t v = 0; v < V; ++v) CHECK(std::abs(logits[v] - expected[99 * V + v]) <= kLogitTolerance);
}

void check_shared_prefill(const r1::ModelConfig& config) {
  r1::Transformer<r1::cpu> model(config);
  r1::test::fill_for_test(model, 23);
  const auto V = static_cast<std::size_t>(model.vocab_size());
  const std::vector<TokenId> prompt{4, 1, 8, 8, 3};
  const std::vector<TokenId> samples{0, 5, 10};

  auto shared = model.make_cache(3, 8);
  r1::TokenBatch one;
  one.push_back(prompt);
  std::vector<float> prompt_logits(V), logits(3 * V);
  model.prefill(shared, std::vector<std::int32_t>{0}, one, prompt_logits);
  model.copy_slot(shared, 0, 1);
  model.copy_slot(shared, 0, 2);
  CHECK(shared.length(1) == 5);
  CHECK(shared.length(2) == 5);
  model.decode(shared, std::vector<std::int32_t>{0, 1, 2}, samples, logits);

  for (std::size_t g = 0; g < samples.size(); ++g) {
    auto independent = model.make_cache(1, 8);
    r1::TokenBatch full;
    std::vector<TokenId> sequence = prompt;
    sequence.push_back(samples[g]);
    full.push_back(sequence);
    std::vector<float> expected(V);
    model.prefill(independent, std::vector<std::int32_t>{0}, full, expected);
    // Same math, different GEMM shapes (6 rows at once vs 5 + 1): float rounding only, logits of order 5,
    // relative 1e-6 per op through ~20 ops: 1e-5 absolute.
    for (std::size_t v = 0; v < V; ++v) CHECK(std::abs(logits[g * V + v] - expected[v]) <= 1e-5);
  }
  // Distinct samples really diverge (the comparison above is not vacuous).
  CHECK(std::abs(logits[0] - logits[V]) > 1e-3);

  shared.reset(1);
  CHECK(shared.length(1) == 0);
  CHECK(shared.length(0) == 6);
}

}  // namespace

TEST_CASE("prefill then decode equals the full forward: Llama GQA") {
  check_decode_matches_full_forward(r1::test::tiny_llama());
}

TEST_CASE("prefill then decode equals the full forward: Qwen2 bias, tied") {
  check_decode_matches_full_forward(r1::test::tiny_qwen2());
}

TEST_CASE("prefill then decode equals the full forward: head_dim != hidden_size / num_attention_heads") {
  SUBCASE("llama GQA, 4 x 8 on hidden 24") { check_decode_matches_full_forward(r1::test::tiny_llama_head_dim(8)); }
  SUBCASE("llama GQA, 4 x 4 on hidden 24") { check_decode_matches_full_forward(r1::test::tiny_llama_head_dim(4)); }
  SUBCASE("qwen2 bias, tied, 4 x 8 on hidden 24") {
    check_decode_matches_full_forward(r1::test::tiny_qwen2_head_dim(8));
  }
}

TEST_CASE("a long prompt prefilled in two parts (10 then 90 tokens, across query blocks) equals the full forward") {
  SUBCASE("llama") { check_two_part_prefill(r1::test::tiny_llama()); }
  SUBCASE("llama, head_dim 8 on hidden 24") { check_two_part_prefill(r1::test::tiny_llama_head_dim(8)); }
  SUBCASE("llama, head_dim 4 on hidden 24") { check_two_part_prefill(r1::test::tiny_llama_head_dim(4)); }
}

TEST_CASE("copy_slot: G samples sharing one prefill equal independent prefills") {
  SUBCASE("llama") { check_shared_prefill(r1::test::tiny_llama()); }
  SUBCASE("llama, head_dim 8 on hidden 24") { check_shared_prefill(r1::test::tiny_llama_head_dim(8)); }
  SUBCASE("qwen2, head_dim 4 on hidden 24") { check_shared_prefill(r1::test::tiny_qwen2_head_dim(4)); }
  // The cache holds K * head_dim values per position, not hidden_size.
  CHECK(r1::Transformer<r1::cpu>(r1::test::tiny_llama_head_dim(8)).make_cache(1, 4).kv_width() == 2 * 8);
}

// A decode step runs the q/k/v projections and attention as one parallel region (each chunk whole key/value
// heads), and gate/up and SwiGLU as another (each chunk of features its gate and up rows, then their
// activations). With LoRA terms on those projections it runs them as separate passes, the adapter's term added
// in between. A fresh adapter adds exactly zero (B = 0), so both give the same logits bit for bit: a few-rows
// output does not depend on how the rows of W are chunked.
void check_fused_decode_regions(const r1::ModelConfig& config) {
  for (const auto storage : {r1::WeightStorage::full, r1::WeightStorage::bf16}) {
    INFO("bf16 sampling weights: ", storage == r1::WeightStorage::bf16);
    r1::Transformer<r1::cpu> fused(config);
    r1::test::fill_for_test(fused, 41);
    r1::Transformer<r1::cpu> two_pass = fused;
    r1::LoraConfig lora;
    lora.r = 2;
    lora.alpha = 4.0f;
    lora.target_modules = {r1::LoraTarget::q_proj, r1::LoraTarget::k_proj, r1::LoraTarget::v_proj,
                           r1::LoraTarget::gate_proj, r1::LoraTarget::up_proj};
    two_pass.enable_lora(lora);
    fused.set_sampling_storage(storage);
    two_pass.set_sampling_storage(storage);
    const auto V = static_cast<std::size_t>(fused.vocab_size());
    const std::vector<std::int32_t> slots{0, 1, 2};
    r1::TokenBatch prompts;
    for (const auto& prompt : std::vector<std::vector<TokenId>>{{1, 4, 2}, {3, 9, 9, 5}, {7}}) prompts.push_back(prompt);
    auto fused_cache = fused.make_cache(3, 8), two_pass_cache = two_pass.make_cache(3, 8);
    std::vector<float> fused_logits(slots.size() * V), two_pass_logits(slots.size() * V);
    fused.prefill(fused_cache, slots, prompts, fused_logits);
    two_pass.prefill(two_pass_cache, slots, prompts, two_pass_logits);
    for (const auto& next : std::vector<std::vector<TokenId>>{{5, 0, 8}, {2, 2, 6}}) {
      fused.decode(fused_cache, slots, next, fused_logits);
      two_pass.decode(two_pass_cache, slots, next, two_pass_logits);
      for (std::size_t i = 0; i < fused_logits.size(); ++i) {
        INFO("logit ", i);
        CHECK(fused_logits[i] == two_pass_logits[i]);
      }
    }
  }
}

TEST_CASE("decode: the fused regions give the separate passes' logits bitwise (fp32 and bf16 weights)") {
  SUBCASE("llama, 2 key/value heads") { check_fused_decode_regions(r1::test::tiny_llama_head_dim(8)); }
  SUBCASE("qwen2 (q/k/v biases), 4 key/value heads") { check_fused_decode_regions(r1::test::tiny_qwen2_head_dim(8)); }
  SUBCASE("one thread: the fused regions run as one chunk") {
    tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
    check_fused_decode_regions(r1::test::tiny_llama_head_dim(8));
  }
}

TEST_CASE("KvCache layout: each head's rows are one run; copy_slot copies every head's filled rows only") {
  // 2 layers, 3 slots, 5 positions, 2 heads of 3: a (layer, slot) block is keys then values, each 2 heads x 5 x 3.
  r1::KvCache cache(2, 3, 5, 2, 3);
  CHECK(cache.kv_width() == 6);
  CHECK(cache.keys(0, 0, 1) - cache.keys(0, 0, 0) == 5 * 3);
  CHECK(cache.values(0, 0, 0) - cache.keys(0, 0, 0) == 2 * 5 * 3);
  CHECK(cache.keys(0, 1, 0) - cache.keys(0, 0, 0) == 2 * 2 * 5 * 3);
  CHECK(cache.keys(1, 0, 0) - cache.keys(0, 0, 0) == 3 * 2 * 2 * 5 * 3);
  CHECK_THROWS_AS(cache.keys(0, 0, 2), r1::Error);
  CHECK_THROWS_AS(cache.values(0, 0, -1), r1::Error);
  CHECK_THROWS_AS(r1::KvCache(1, 1, 4, 0, 3), r1::Error);
  // Slot 0 holds 2 positions; every entry of every head, filled or not, gets a distinct value.
  for (int layer = 0; layer < 2; ++layer)
    for (int slot = 0; slot < 3; ++slot)
      for (Eigen::Index head = 0; head < 2; ++head)
        for (int i = 0; i < 5 * 3; ++i) {
          cache.keys(layer, slot, head)[i] = static_cast<float>(1000 * layer + 100 * slot + 10 * head + i);
          cache.values(layer, slot, head)[i] = -cache.keys(layer, slot, head)[i];
        }
  cache.set_length(0, 2);
  cache.copy_slot(0, 2);
  CHECK(cache.length(2) == 2);
  for (int layer = 0; layer < 2; ++layer)
    for (Eigen::Index head = 0; head < 2; ++head)
      for (int i = 0; i < 5 * 3; ++i) {
        INFO("layer ", layer, " head ", head, " entry ", i);
        // The first 2 positions (6 entries) come from slot 0; the rest keep slot 2's own values.
        const float expected = static_cast<float>(1000 * layer + 100 * (i < 2 * 3 ? 0 : 2) + 10 * head + i);
        CHECK(cache.keys(layer, 2, head)[i] == expected);
        CHECK(cache.values(layer, 2, head)[i] == -expected);
      }
}

TEST_CASE("inference calls check their arguments") {
  r1::Transformer<r1::cpu> model(r1::test::tiny_llama());
  const auto V = static_cast<std::size_t>(model.vocab_size());
  auto cache = model.make_cache(2, 4);
  r1::TokenBatch batch;
  batch.push_back(std::vector<TokenId>{1, 2, 3});
  std::vector<float> logits(V);
  CHECK_THROWS_AS(model.prefill(cache, std::vector<std::int32_t>{2}, batch, logits), r1::Error);  // no slot 2
  std::vector<float> wrong(V - 1);
  CHECK_THROWS_AS(model.prefill(cache, std::vector<std::int32_t>{0}, batch, wrong), r1::Error);
  model.prefill(cache, std::vector<std::int32_t>{0}, batch, logits);
  const std::vector<TokenId> token{1};
  model.decode(cache, std::vector<std::int32_t>{0}, token, logits);  // length 4 = max_positions
  CHECK_THROWS_AS(model.decode(cache, std::vector<std::int32_t>{0}, token, logits), r1::Error);
  std::vector<float> two(2 * V);
  CHECK_THROWS_AS(model.decode(cache, std::vector<std::int32_t>{1, 1}, std::vector<TokenId>{1, 2}, two), r1::Error);
  CHECK_THROWS_AS(model.decode(cache, std::vector<std::int32_t>{1}, std::vector<TokenId>{int(V)}, logits), r1::Error);
  CHECK_THROWS_AS(model.copy_slot(cache, 0, 5), r1::Error);
  CHECK_THROWS_AS(model.make_cache(0, 4), r1::Error);
}
