// LoRA inside the model (issue 22): adapters on every projection, the base frozen. Checked against finite
// differences (double), against merging (W0 + s B A, Hu et al. 2021 sec. 4.1), against the base (B = 0 and
// adapters off), through a PEFT save and reload, in the inference path, and with gradient checkpointing.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/transformer.hpp"

namespace {

using r1::BasicTransformer;
using r1::LoraConfig;
using r1::LoraTarget;
using r1::TokenBatch;

LoraConfig lora_config(int r, float alpha, std::vector<LoraTarget> targets = r1::all_lora_targets()) {
  LoraConfig config;
  config.r = r;
  config.alpha = alpha;
  config.target_modules = std::move(targets);
  config.seed = 17;
  return config;
}

// B drawn too (a fresh adapter has B = 0, which would leave A's gradient zero and prove nothing).
template <class Scalar>
void fill_adapters(BasicTransformer<Scalar>& model, std::uint64_t seed, double spread = 0.3) {
  r1::Philox rng(seed);
  for (auto& value : model.lora()->values()) value = static_cast<Scalar>(spread * rng.normal());
}

// loss = sum_i a_i logprob_i + b_i entropy_i with fixed random a, b.
template <class Scalar>
double loss_and_gradient(BasicTransformer<Scalar>& model, const TokenBatch& batch, std::vector<Scalar>* logprobs_out,
                         bool backward) {
  const std::size_t N = batch.total_tokens();
  std::vector<Scalar> logprobs(N), entropies(N), a(N), b(N);
  r1::Philox rng(99);
  for (std::size_t i = 0; i < N; ++i) {
    a[i] = static_cast<Scalar>(rng.normal());
    b[i] = static_cast<Scalar>(rng.normal());
  }
  if (backward) model.zero_grad();
  model.forward_scores(batch, Scalar(0.9), logprobs, entropies);
  double loss = 0;
  for (std::size_t i = 0; i < N; ++i) loss += static_cast<double>(a[i] * logprobs[i] + b[i] * entropies[i]);
  if (backward) model.backward_scores(batch, a, b);
  if (logprobs_out != nullptr) *logprobs_out = logprobs;
  return loss;
}

}  // namespace

// Central differences in double: truncation h^2 |f'''| / 6 ~ 1e-10 and rounding eps |f| / h ~ 1e-10 at
// h = 1e-5 for a loss of order 10, so 1e-6 (1 + |g|) bounds a correct gradient and catches a wrong term
// (a missing s, a transposed B, a dropped module move gradients by O(|g|)).
TEST_CASE("LoRA gradients of A and B match finite differences (double; qwen2 and llama, all projections)") {
  for (const auto& config : {r1::test::tiny_qwen2(), r1::test::tiny_llama_head_dim(8)}) {
    BasicTransformer<double> model(config);
    r1::test::fill_for_test(model, 2);
    model.enable_lora(lora_config(2, 3.0f));
    CHECK(model.flat_gradients().empty());  // the base is frozen
    fill_adapters(model, 3);
    const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 4);
    loss_and_gradient<double>(model, batch, nullptr, true);
    const std::vector<double> gradient(model.lora()->gradients().begin(), model.lora()->gradients().end());
    auto values = model.lora()->values();
    r1::Philox pick(8);
    for (int trial = 0; trial < 60; ++trial) {
      const std::size_t i = pick() % values.size();
      const double saved = values[i], h = 1e-5;
      values[i] = saved + h;
      const double up = loss_and_gradient<double>(model, batch, nullptr, false);
      values[i] = saved - h;
      const double down = loss_and_gradient<double>(model, batch, nullptr, false);
      values[i] = saved;
      const double numeric = (up - down) / (2 * h);
      CHECK(std::abs(numeric - gradient[i]) <= 1e-6 * (1 + std::abs(gradient[i])));
    }
  }
}

TEST_CASE("LoRA: a fresh adapter (B = 0) and adapters switched off leave the base's log-probs bitwise") {
  const auto config = r1::test::tiny_qwen2();
  BasicTransformer<float> base(config);
  r1::test::fill_for_test(base, 5);
  const TokenBatch batch = r1::test::long_batch(config.vocab_size, 6);
  std::vector<float> expected, got;
  loss_and_gradient(base, batch, &expected, false);
  // gate/up adapted runs gate_up and swiglu as two passes (the fused kernel cannot add the adapter's term
  // between them); x + 0 is x, so only that split could move a bit: q, k, v, o and down here.
  BasicTransformer<float> adapted = base;
  adapted.enable_lora(lora_config(4, 8.0f, {LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj,
                                            LoraTarget::o_proj, LoraTarget::down_proj}));
  loss_and_gradient(adapted, batch, &got, false);
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(expected[i] == got[i]);
  // Off: the base exactly, whatever the adapters hold.
  BasicTransformer<float> all = base;
  all.enable_lora(lora_config(4, 8.0f));
  fill_adapters(all, 7);
  all.set_adapters_enabled(false);
  loss_and_gradient(all, batch, &got, false);
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(expected[i] == got[i]);
  // Backward after a pass with the adapters off is refused.
  std::vector<float> d(batch.total_tokens(), 1.0f);
  CHECK_THROWS_WITH_AS(all.backward_scores(batch, d, {}), doctest::Contains("adapters off"), r1::Error);
}

// Merged and adapted models compute the same function in different order: W0 x + s (x A^T) B^T against
// (W0 + s B A) x. In double both are exact to ~1e-15 of values of order 10; 1e-10 leaves room and a wrong
// merge (missing s, B A transposed) moves log-probs by 1e-2 or more.
TEST_CASE("LoRA merge: weights are W0 + s B A exactly as a naive loop gives; log-probs those of the adapted model") {
  const auto config = r1::test::tiny_llama();
  BasicTransformer<double> model(config);
  r1::test::fill_for_test(model, 9);
  const BasicTransformer<double> base = model;
  auto lora = lora_config(3, 5.0f);
  lora.use_rslora = true;  // s = alpha / sqrt(r)
  model.enable_lora(lora);
  fill_adapters(model, 10);
  const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 11);
  std::vector<double> adapted, merged;
  loss_and_gradient(model, batch, &adapted, false);
  const BasicTransformer<double> with_adapters = model;
  model.merge_lora();
  CHECK_FALSE(model.has_lora());
  CHECK(static_cast<std::int64_t>(model.flat_gradients().size()) == model.parameter_count());
  // The scale is the config's float alpha / sqrt(r), 5 / sqrt(3) to float precision.
  const double s = static_cast<double>(lora.scale());
  CHECK(std::abs(s - 5.0 / std::sqrt(3.0)) <= 3e-7);
  const auto* adapters = with_adapters.lora();
  for (const auto& tensor : model.tensors()) {
    const auto merged_values = model.flat_parameters().subspan(static_cast<std::size_t>(tensor.offset));
    const auto base_values = base.flat_parameters().subspan(static_cast<std::size_t>(tensor.offset));
    const r1::BasicLoraAdapters<double>::Module* module = nullptr;
    for (std::int64_t l = 0; l < config.num_hidden_layers && module == nullptr; ++l)
      for (int t = 0; t < r1::kLoraTargetCount; ++t)
        if (r1::lora_base_tensor_name(l, static_cast<LoraTarget>(t)) == tensor.name)
          module = adapters->find(l, static_cast<LoraTarget>(t));
    if (module == nullptr) {
      for (std::int64_t i = 0; i < tensor.size; ++i) CHECK(merged_values[static_cast<std::size_t>(i)] == base_values[static_cast<std::size_t>(i)]);
      continue;
    }
    const auto out = module->projection.out, in = module->projection.in;
    const double* A = adapters->values().data() + module->a;
    const double* B = adapters->values().data() + module->b;
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t i = 0; i < in; ++i) {
        double delta = 0;
        for (std::int64_t k = 0; k < 3; ++k) delta += B[o * 3 + k] * A[k * in + i];
        CHECK(std::abs(merged_values[static_cast<std::size_t>(o * in + i)] - (base_values[static_cast<std::size_t>(o * in + i)] + s * delta)) <= 1e-14);
      }
  }
  loss_and_gradient(model, batch, &merged, false);
  for (std::size_t i = 0; i < adapted.size(); ++i) CHECK(std::abs(adapted[i] - merged[i]) <= 1e-10);
}

TEST_CASE("LoRA with gradient checkpointing: adapter gradients bitwise the plain backward's") {
  const auto config = r1::test::tiny_qwen2();
  BasicTransformer<float> model(config);
  r1::test::fill_for_test(model, 12);
  model.enable_lora(lora_config(4, 8.0f));
  fill_adapters(model, 13);
  const TokenBatch batch = r1::test::long_batch(config.vocab_size, 14);
  loss_and_gradient<float>(model, batch, nullptr, true);
  const std::vector<float> plain(model.lora()->gradients().begin(), model.lora()->gradients().end());
  model.set_gradient_checkpointing(true);
  loss_and_gradient<float>(model, batch, nullptr, true);
  const auto checkpointed = model.lora()->gradients();
  REQUIRE(plain.size() == checkpointed.size());
  for (std::size_t i = 0; i < plain.size(); ++i) CHECK(plain[i] == checkpointed[i]);
}

// Prefill runs the adapters through the inference path; its last-position logits must be the training path's
// (the same terms; prefill's GEMMs may split differently: fp32 rounding over D = 16 terms of order 1, ~1e-5).
TEST_CASE("LoRA in prefill: logits of the adapted model equal the merged model's") {
  using Model = r1::Transformer<r1::cpu>;
  const auto config = r1::test::tiny_qwen2();
  Model model(config);
  model.init_random(3, 0.3f);
  model.enable_lora(lora_config(2, 4.0f));
  r1::Philox rng(4);
  for (const auto& view : model.parameters())
    for (auto& value : view.value) value = static_cast<float>(0.3 * rng.normal());
  CHECK(model.parameters().size() == 2 * 7 * static_cast<std::size_t>(config.num_hidden_layers));
  Model merged = model;
  merged.merge_lora();
  TokenBatch prompts;
  prompts.push_back(std::vector<r1::TokenId>{1, 5, 2, 7, 3}, 1);
  prompts.push_back(std::vector<r1::TokenId>{4, 4}, 1);
  std::vector<std::int32_t> slots{0, 1};
  std::vector<float> adapted_logits(2 * static_cast<std::size_t>(config.vocab_size)), merged_logits(adapted_logits.size());
  auto cache = model.make_cache(2, 16);
  auto merged_cache = merged.make_cache(2, 16);
  model.prefill(cache, slots, prompts, adapted_logits);
  merged.prefill(merged_cache, slots, prompts, merged_logits);
  for (std::size_t i = 0; i < adapted_logits.size(); ++i) CHECK(std::abs(adapted_logits[i] - merged_logits[i]) <= 1e-4);
  // One decode step too.
  std::vector<r1::TokenId> next{6, 8};
  model.decode(cache, slots, next, adapted_logits);
  merged.decode(merged_cache, slots, next, merged_logits);
  for (std::size_t i = 0; i < adapted_logits.size(); ++i) CHECK(std::abs(adapted_logits[i] - merged_logits[i]) <= 1e-4);
}

TEST_CASE("LoRA adapter saved in PEFT's format reloads onto the base to the same log-probs, bitwise") {
  using Model = r1::Transformer<r1::cpu>;
  const auto config = r1::test::tiny_llama();
  Model base(config);
  base.init_random(5, 0.3f);
  Model model = base;
  model.enable_lora(lora_config(4, 16.0f, {LoraTarget::q_proj, LoraTarget::v_proj, LoraTarget::down_proj}));
  r1::Philox rng(6);
  for (const auto& view : model.parameters())
    for (auto& value : view.value) value = static_cast<float>(0.2 * rng.normal());
  const auto dir = r1::test::fresh_test_dir("lora_model", "adapter");
  model.save_adapter(dir, "tiny-llama");
  Model reloaded = base;
  reloaded.load_adapter(dir);
  REQUIRE(reloaded.has_lora());
  CHECK(reloaded.lora()->config().r == 4);
  const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 7);
  r1::TokenScores a, b;
  model.score(batch, 1.0f, a);
  reloaded.score(batch, 1.0f, b);
  for (std::size_t i = 0; i < a.logprobs.size(); ++i) CHECK(a.logprobs[i] == b.logprobs[i]);
  Model no_lora(config);
  CHECK_THROWS_AS(no_lora.save_adapter(dir, "x"), r1::Error);
}

// PEFT adapters are often saved with lora_dropout 0.05: they load, score and merge; training one refuses.
TEST_CASE("LoRA dropout: an adapter with dropout scores, and backward refuses to train it") {
  BasicTransformer<float> model(r1::test::tiny_llama());
  r1::test::fill_for_test(model, 1);
  auto config = lora_config(2, 4.0f);
  config.dropout = 0.05f;
  model.enable_lora(config);
  const TokenBatch batch = r1::test::mixed_batch(11, 2);
  std::vector<float> logprobs;
  loss_and_gradient<float>(model, batch, &logprobs, false);
  std::vector<float> lp(batch.total_tokens()), ent(batch.total_tokens()), d(batch.total_tokens(), 1.0f);
  model.forward_scores(batch, 1.0f, lp, ent);
  CHECK_THROWS_WITH_AS(model.backward_scores(batch, d, {}), doctest::Contains("lora_dropout"), r1::Error);
}

TEST_CASE("Transformer<cpu>::load with LoRA: the base's weights, no gradient buffer ever, fresh adapters") {
  using Model = r1::Transformer<r1::cpu>;
  const auto config = r1::test::tiny_qwen2();
  Model base(config);
  base.init_random(8, 0.3f);
  const auto dir = r1::test::fresh_test_dir("lora_model", "base");
  base.save(dir);
  Model model = Model::load(dir, lora_config(2, 4.0f));
  CHECK(model.has_lora());
  CHECK(model.flat_gradients().empty());
  const auto a = model.flat_parameters(), b = base.flat_parameters();
  CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  // B = 0: the base's log-probs (gate/up are split into two passes, so within fp32 rounding, not bitwise).
  const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 9);
  r1::TokenScores adapted, plain;
  model.score(batch, 1.0f, adapted);
  base.score(batch, 1.0f, plain);
  for (std::size_t i = 0; i < plain.logprobs.size(); ++i) CHECK(std::abs(adapted.logprobs[i] - plain.logprobs[i]) <= 1e-5);
  // And it trains.
  std::vector<float> d(batch.total_tokens(), 1.0f);
  model.zero_grad();
  CHECK_NOTHROW(model.backward(batch, d, {}));
}
