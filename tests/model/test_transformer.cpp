// The CPU transformer against independent references: its forward against a
// naive double-precision implementation, its backward against central finite
// differences of its own forward in double, the float build against the double
// build, and the KV-cache inference path against the full forward.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/concepts.hpp"
#include "r1/model/transformer.hpp"

static_assert(r1::Model<r1::Transformer<r1::cpu>>);

namespace {

using r1::BasicTransformer;
using r1::ModelConfig;
using r1::TokenBatch;

// Reference log-probs and entropies of a whole batch, aligned with batch.tokens as score() writes them.
template <class Scalar>
std::pair<std::vector<double>, std::vector<double>> reference_scores(const BasicTransformer<Scalar>& model,
                                                                     const TokenBatch& batch, double temperature) {
  std::vector<double> logprobs(batch.total_tokens(), 0.0), entropies(batch.total_tokens(), 0.0);
  const auto V = static_cast<std::size_t>(model.vocab_size());
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const auto logits = r1::test::reference_logits(model, batch.sequence(s));
    for (std::int64_t t = batch.first_scored(s); t < batch.length(s); ++t) {
      const auto row = std::span<const double>(logits).subspan(static_cast<std::size_t>(t - 1) * V, V);
      const auto index = static_cast<std::size_t>(batch.offsets[s] + t);
      const auto score = r1::test::reference_score(row, temperature, batch.tokens[index]);
      logprobs[index] = score.logprob;
      entropies[index] = score.entropy;
    }
  }
  return {logprobs, entropies};
}

void check_forward_against_reference(const ModelConfig& config, bool long_sequences = false) {
  BasicTransformer<double> model(config);
  r1::test::fill_for_test(model, 7);
  const TokenBatch batch = long_sequences ? r1::test::long_batch(config.vocab_size, 3) : r1::test::mixed_batch(config.vocab_size, 3);
  const double temperature = 0.7;
  std::vector<double> logprobs(batch.total_tokens()), entropies(batch.total_tokens());
  model.forward_scores(batch, temperature, logprobs, entropies);
  const auto [expected_logprobs, expected_entropies] = reference_scores(model, batch, temperature);
  // Both sides in double over reductions of at most max(D, F, H * E) = 32 terms through 2 layers: rounding
  // differences stay near 1e-14 on values of order 1-10; 1e-10 bounds them with a wide margin and still
  // catches any formula error (those move results by 1e-3 or more).
  for (std::size_t i = 0; i < logprobs.size(); ++i) {
    CHECK(std::abs(logprobs[i] - expected_logprobs[i]) <= 1e-10);
    CHECK(std::abs(entropies[i] - expected_entropies[i]) <= 1e-10);
  }
  if (long_sequences) return;
  // Unscored positions: the first of every sequence and the prompt of the third.
  CHECK(logprobs[0] == 0.0);
  CHECK(logprobs[static_cast<std::size_t>(batch.offsets[2] + 1)] == 0.0);
  CHECK(logprobs[static_cast<std::size_t>(batch.offsets[2] + 3)] != 0.0);
}

// Loss = sum_i a_i logprob_i + b_i entropy_i with fixed random a, b; compares backward's gradient of every
// sampled parameter element with the central difference (f(w + h) - f(w - h)) / 2h.
void check_gradients(const ModelConfig& config, bool with_entropy, bool long_sequences = false) {
  BasicTransformer<double> model(config);
  r1::test::fill_for_test(model, 11);
  const TokenBatch batch = long_sequences ? r1::test::long_batch(config.vocab_size, 5) : r1::test::mixed_batch(config.vocab_size, 5);
  const double temperature = 0.8;
  const std::size_t N = batch.total_tokens();
  std::vector<double> d_logprobs(N), d_entropies(with_entropy ? N : 0);
  r1::Philox rng(13);
  for (auto& a : d_logprobs) a = rng.normal();
  for (auto& b : d_entropies) b = rng.normal();
  std::vector<double> logprobs(N), entropies(N);
  const auto loss = [&] {
    model.forward_scores(batch, temperature, logprobs, entropies);
    double total = 0;
    for (std::size_t i = 0; i < N; ++i) total += d_logprobs[i] * logprobs[i] + (with_entropy ? d_entropies[i] * entropies[i] : 0.0);
    return total;
  };
  model.zero_grad();
  loss();
  model.backward_scores(batch, d_logprobs, d_entropies);
  const std::vector<double> gradient(model.flat_gradients().begin(), model.flat_gradients().end());

  // Central differences in double: truncation h^2/6 |f'''| ~ 1e-12 * O(10) and cancellation
  // eps |f| / h ~ 1.1e-16 * 30 / 1e-6 ~ 3e-9, so 1e-7 absolute plus 1e-6 relative is a safe bound.
  const double h = 1e-6;
  int checked = 0;
  for (const auto& tensor : model.tensors()) {
    for (int sample = 0; sample < 5; ++sample) {
      const auto index = static_cast<std::size_t>(tensor.offset + static_cast<std::int64_t>(rng() % static_cast<std::uint32_t>(tensor.size)));
      double& w = model.flat_parameters()[index];
      const double saved = w;
      w = saved + h;
      const double up = loss();
      w = saved - h;
      const double down = loss();
      w = saved;
      const double numeric = (up - down) / (2 * h);
      INFO(tensor.name, " element ", index - static_cast<std::size_t>(tensor.offset));
      CHECK(std::abs(numeric - gradient[index]) <= 1e-7 + 1e-6 * std::abs(numeric));
      ++checked;
    }
  }
  CHECK(checked == 5 * static_cast<int>(model.tensors().size()));
  // The gradient is not trivially zero anywhere it matters.
  double norm = 0;
  for (double g : gradient) norm += g * g;
  CHECK(norm > 1e-6);
}

}  // namespace

TEST_CASE("forward equals the naive reference: Llama with GQA, untied head") {
  check_forward_against_reference(r1::test::tiny_llama());
}

TEST_CASE("forward equals the naive reference: Qwen2 with q/k/v bias and tied embeddings") {
  check_forward_against_reference(r1::test::tiny_qwen2());
}

TEST_CASE("forward equals the naive reference with head_dim != hidden_size / num_attention_heads") {
  SUBCASE("llama, heads wider than hidden (4 x 8 on hidden 24)") {
    check_forward_against_reference(r1::test::tiny_llama_head_dim(8));
  }
  SUBCASE("llama, heads narrower than hidden (4 x 4 on hidden 24)") {
    check_forward_against_reference(r1::test::tiny_llama_head_dim(4));
  }
  SUBCASE("qwen2, bias, tied, 4 x 8 on hidden 24") { check_forward_against_reference(r1::test::tiny_qwen2_head_dim(8)); }
  SUBCASE("llama 4 x 8 across attention's query blocks") {
    check_forward_against_reference(r1::test::tiny_llama_head_dim(8), true);
  }
}

TEST_CASE("forward equals the naive reference across attention's query blocks (sequences of 150 and 70)") {
  check_forward_against_reference(r1::test::tiny_llama(), true);
}

TEST_CASE("backward equals finite differences across attention's query blocks (sequences of 150 and 70)") {
  check_gradients(r1::test::tiny_llama(), true, true);
}

TEST_CASE("backward equals finite differences, log-prob path and entropy path") {
  SUBCASE("llama, GQA, untied, log-prob only") { check_gradients(r1::test::tiny_llama(), false); }
  SUBCASE("llama, GQA, untied, log-prob and entropy") { check_gradients(r1::test::tiny_llama(), true); }
  SUBCASE("qwen2, bias, tied, log-prob and entropy") { check_gradients(r1::test::tiny_qwen2(), true); }
  SUBCASE("llama, head_dim 8 > hidden / heads = 6, log-prob and entropy") {
    check_gradients(r1::test::tiny_llama_head_dim(8), true);
  }
  SUBCASE("llama, head_dim 4 < hidden / heads = 6, log-prob and entropy") {
    check_gradients(r1::test::tiny_llama_head_dim(4), true);
  }
  SUBCASE("qwen2, bias, tied, head_dim 8, log-prob and entropy") {
    check_gradients(r1::test::tiny_qwen2_head_dim(8), true);
  }
  SUBCASE("qwen2, bias, tied, head_dim 4, log-prob only") { check_gradients(r1::test::tiny_qwen2_head_dim(4), false); }
}

TEST_CASE("backward accumulates: two calls give twice the gradient") {
  BasicTransformer<double> model(r1::test::tiny_llama());
  r1::test::fill_for_test(model, 2);
  const TokenBatch batch = r1::test::mixed_batch(model.vocab_size(), 9);
  std::vector<double> lp(batch.total_tokens()), ent(lp.size()), d(lp.size(), 1.0);
  model.forward_scores(batch, 1.0, lp, ent);
  model.backward_scores(batch, d, {});
  const std::vector<double> once(model.flat_gradients().begin(), model.flat_gradients().end());
  model.forward_scores(batch, 1.0, lp, ent);
  model.backward_scores(batch, d, {});
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(model.flat_gradients()[i] == doctest::Approx(2 * once[i]).epsilon(1e-12));
  CHECK_THROWS_AS(model.backward_scores(batch, d, {}), r1::Error);  // a second backward without score
}

namespace {
void check_float_equals_double(const ModelConfig& config) {
  r1::Transformer<r1::cpu> model(config);
  BasicTransformer<double> reference(config);
  r1::test::fill_for_test(reference, 21);
  for (std::size_t i = 0; i < reference.flat_parameters().size(); ++i)
    model.flat_parameters()[i] = static_cast<float>(reference.flat_parameters()[i]);
  for (std::size_t i = 0; i < reference.flat_parameters().size(); ++i)
    reference.flat_parameters()[i] = model.flat_parameters()[i];  // the same (float-representable) weights
  const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 4);
  r1::TokenScores scores;
  model.score(batch, 1.0f, scores);
  std::vector<double> lp(batch.total_tokens()), ent(lp.size());
  reference.forward_scores(batch, 1.0, lp, ent);
  // float rounding: eps 6e-8 per op, amplified through ~10 ops a layer x 2 layers with reductions of <= 32
  // terms (H * E = 32 with head_dim 8; sqrt(32) ~ 6) and weights of spread 0.4 (activations of order 1-5): ~1e-5 relative on logits of
  // order 5, so 1e-4 absolute on log-probs / entropies.
  for (std::size_t i = 0; i < lp.size(); ++i) {
    CHECK(std::abs(scores.logprobs[i] - lp[i]) <= 1e-4);
    CHECK(std::abs(scores.entropies[i] - ent[i]) <= 1e-4);
  }
  // Gradients too: same bound relative to the largest gradient entry.
  std::vector<float> d(lp.size());
  std::vector<double> dd(lp.size());
  for (std::size_t i = 0; i < d.size(); ++i) dd[i] = d[i] = static_cast<float>(0.1 * static_cast<double>(i % 7) - 0.3);
  model.zero_grad();
  model.backward(batch, d, d);
  reference.zero_grad();
  reference.backward_scores(batch, dd, dd);
  double largest = 0;
  for (double g : reference.flat_gradients()) largest = std::max(largest, std::abs(g));
  for (std::size_t i = 0; i < reference.flat_gradients().size(); ++i)
    CHECK(std::abs(model.flat_gradients()[i] - reference.flat_gradients()[i]) <= 1e-4 * largest);
}
}  // namespace

TEST_CASE("float model equals the double model with the same weights") {
  SUBCASE("qwen2") { check_float_equals_double(r1::test::tiny_qwen2()); }
  SUBCASE("qwen2, head_dim 8 on hidden 24") { check_float_equals_double(r1::test::tiny_qwen2_head_dim(8)); }
}

TEST_CASE("parameters: HF names, shapes, views into the flat buffers, weight decay only on matrices") {
  r1::Transformer<r1::cpu> llama(r1::test::tiny_llama());
  const auto params = llama.parameters();
  CHECK(params.front().name == "model.embed_tokens.weight");
  CHECK(params.back().name == "lm_head.weight");
  std::int64_t total = 0;
  for (const auto& p : params) {
    std::int64_t size = 1;
    for (auto extent : p.shape) size *= extent;
    CHECK(static_cast<std::int64_t>(p.value.size()) == size);
    CHECK(p.value.data() >= llama.flat_parameters().data());
    CHECK(p.weight_decay == (p.shape.size() == 2));
    total += size;
  }
  CHECK(total == llama.parameter_count());
  CHECK(llama.core().find_tensor("model.layers.1.self_attn.k_proj.weight")->shape ==
        std::vector<std::int64_t>{2 * 4, 16});
  r1::Transformer<r1::cpu> qwen(r1::test::tiny_qwen2());
  CHECK(qwen.core().find_tensor("lm_head.weight") == nullptr);
  CHECK(qwen.core().find_tensor("model.layers.0.self_attn.v_proj.bias") != nullptr);

  // An explicit head_dim sizes the attention projections as HF does: q (H*E, D), k/v (K*E, D), o (D, H*E).
  const BasicTransformer<float> wide(r1::test::tiny_qwen2_head_dim(8));  // D 24, H = K = 4, E 8
  const auto shape = [&](const char* name) { return wide.find_tensor(name)->shape; };
  CHECK(shape("model.layers.0.self_attn.q_proj.weight") == std::vector<std::int64_t>{32, 24});
  CHECK(shape("model.layers.0.self_attn.k_proj.weight") == std::vector<std::int64_t>{32, 24});
  CHECK(shape("model.layers.0.self_attn.v_proj.weight") == std::vector<std::int64_t>{32, 24});
  CHECK(shape("model.layers.0.self_attn.q_proj.bias") == std::vector<std::int64_t>{32});
  CHECK(shape("model.layers.0.self_attn.v_proj.bias") == std::vector<std::int64_t>{32});
  CHECK(shape("model.layers.0.self_attn.o_proj.weight") == std::vector<std::int64_t>{24, 32});
  CHECK(shape("model.layers.0.mlp.gate_proj.weight") == std::vector<std::int64_t>{24, 24});
  const BasicTransformer<float> narrow(r1::test::tiny_llama_head_dim(4));  // D 24, H 4, K 2, E 4
  CHECK(narrow.find_tensor("model.layers.1.self_attn.q_proj.weight")->shape == std::vector<std::int64_t>{16, 24});
  CHECK(narrow.find_tensor("model.layers.1.self_attn.k_proj.weight")->shape == std::vector<std::int64_t>{8, 24});
  CHECK(narrow.find_tensor("model.layers.1.self_attn.o_proj.weight")->shape == std::vector<std::int64_t>{24, 16});

  // Copies are deep: views of the copy point at the copy's buffers.
  llama.init_random(1);
  r1::Transformer<r1::cpu> copy = llama;
  CHECK(copy.parameters()[0].value.data() != llama.parameters()[0].value.data());
  CHECK(copy.parameters()[0].value.data() >= copy.flat_parameters().data());
  CHECK(copy.parameters()[0].value.data() < copy.flat_parameters().data() + copy.parameter_count());
  copy.flat_parameters()[0] += 1.0f;
  CHECK(copy.flat_parameters()[0] != llama.flat_parameters()[0]);
}

TEST_CASE("init_random: normal matrices, unit norms, zero biases, reproducible") {
  r1::Transformer<r1::cpu> a(r1::test::tiny_qwen2()), b(r1::test::tiny_qwen2());
  a.init_random(42, 0.02f);
  b.init_random(42, 0.02f);
  CHECK(std::equal(a.flat_parameters().begin(), a.flat_parameters().end(), b.flat_parameters().begin()));
  double sum_squares = 0;
  std::int64_t count = 0;
  for (const auto& p : a.parameters()) {
    if (p.name.ends_with("norm.weight")) CHECK(std::all_of(p.value.begin(), p.value.end(), [](float v) { return v == 1.0f; }));
    if (p.name.ends_with(".bias")) CHECK(std::all_of(p.value.begin(), p.value.end(), [](float v) { return v == 0.0f; }));
    if (p.shape.size() == 2)
      for (float v : p.value) sum_squares += double(v) * v, ++count;
  }
  // Sample std of `count` (~2000) normal draws: relative standard error 1/sqrt(2 count) ~ 1.6%; 10% is > 6 sigma.
  CHECK(std::sqrt(sum_squares / double(count)) == doctest::Approx(0.02).epsilon(0.1));
}

TEST_CASE("bad calls raise r1::Error") {
  r1::Transformer<r1::cpu> model(r1::test::tiny_llama());
  r1::TokenScores scores;
  TokenBatch batch;
  batch.push_back(std::vector<r1::TokenId>{1, 2, 99});
  CHECK_THROWS_AS(model.score(batch, 1.0f, scores), r1::Error);  // token outside the vocabulary
  batch.clear();
  batch.push_back(std::vector<r1::TokenId>{1, 2, 3});
  CHECK_THROWS_AS(model.score(batch, 0.0f, scores), r1::Error);
  CHECK_THROWS_AS(model.backward(batch, std::vector<float>(3), {}), r1::Error);  // no score() yet
  model.score(batch, 1.0f, scores);
  CHECK_THROWS_AS(model.backward(batch, std::vector<float>(2), {}), r1::Error);
  ModelConfig bad = r1::test::tiny_llama();
  bad.num_key_value_heads = 3;
  CHECK_THROWS_AS(r1::Transformer<r1::cpu>{bad}, r1::Error);
}
