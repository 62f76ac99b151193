// Golden values from an independent implementation: tests/data/model/make_golden.py
// computes, with PyTorch float64 autograd, the log-probs, entropies, last-position
// logits, loss and gradients of the committed r1-made checkpoint golden_qwen2/
// (Qwen2 layout: q/k/v bias, 4 query heads on 2 key/value heads, untied head).
// r1's float model must reproduce them.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/model/transformer.hpp"

namespace {

const std::string kModelDir = std::string(R1_TEST_DATA_DIR) + "/model/golden_qwen2";
const std::string kGolden = std::string(R1_TEST_DATA_DIR) + "/model/golden_qwen2.json";

// Tolerances for fp32 against float64: float eps 6e-8, times ~8 (sqrt of the longest reduction, F = 64)
// per op, through ~20 ops (2 layers): ~1e-5 relative. Logits reach ~15 after the 1/0.8 temperature, so
// log-probs and entropies get 3e-4 absolute; gradients 1e-4 of their tensor's norm.
constexpr double kScoreTolerance = 3e-4;
constexpr double kGradientRelative = 1e-4;

r1::TokenBatch golden_batch(const r1::Json& golden) {
  r1::TokenBatch batch;
  for (std::size_t s = 0; s < golden["sequences"].size(); ++s)
    batch.push_back(golden["sequences"][s].get<std::vector<r1::TokenId>>(), golden["score_from"][s].get<std::int32_t>());
  return batch;
}

}  // namespace

TEST_CASE("the golden checkpoint is what r1's fixed-seed initialisation makes") {
  r1::Transformer<r1::cpu> loaded = r1::Transformer<r1::cpu>::load(kModelDir);
  r1::Transformer<r1::cpu> made(loaded.config());
  made.init_random(20260101, 0.25f);
  for (auto& p : made.parameters())  // the generator gave biases a fixed pattern so that they matter
    if (p.name.ends_with(".bias"))
      for (std::size_t i = 0; i < p.value.size(); ++i) p.value[i] = 0.05f * static_cast<float>(static_cast<int>(i % 7) - 3);
  CHECK(std::equal(made.flat_parameters().begin(), made.flat_parameters().end(), loaded.flat_parameters().begin()));
}

TEST_CASE("score, prefill logits, loss and gradients equal PyTorch float64") {
  const r1::Json golden = r1::read_json_file(kGolden);
  auto model = r1::Transformer<r1::cpu>::load(kModelDir);
  const r1::TokenBatch batch = golden_batch(golden);
  const auto temperature = golden["temperature"].get<float>();
  r1::TokenScores scores;
  model.score(batch, temperature, scores);
  const auto expected_logprobs = golden["logprobs"].get<std::vector<double>>();
  const auto expected_entropies = golden["entropies"].get<std::vector<double>>();
  REQUIRE(expected_logprobs.size() == scores.logprobs.size());
  const auto scored = golden["scored_tokens"].get<double>();
  const auto entropy_weight = golden["entropy_weight"].get<double>();
  double loss = 0;
  for (std::size_t i = 0; i < scores.logprobs.size(); ++i) {
    CHECK(std::abs(scores.logprobs[i] - expected_logprobs[i]) <= kScoreTolerance);
    CHECK(std::abs(scores.entropies[i] - expected_entropies[i]) <= kScoreTolerance);
    loss += (-static_cast<double>(scores.logprobs[i]) - entropy_weight * scores.entropies[i]) / scored;
  }
  // The loss is a mean of the values above, so their tolerance bounds it too.
  CHECK(std::abs(loss - golden["loss"].get<double>()) <= kScoreTolerance);

  // loss = -mean(logprob) - w * mean(entropy): d loss / d logprob = -1 / M, d loss / d entropy = -w / M.
  std::vector<float> d_logprobs(batch.total_tokens(), static_cast<float>(-1.0 / scored));
  std::vector<float> d_entropies(batch.total_tokens(), static_cast<float>(-entropy_weight / scored));
  model.zero_grad();
  model.backward(batch, d_logprobs, d_entropies);
  for (const auto& p : model.parameters()) {
    INFO(p.name);
    double norm = 0;
    for (float g : p.grad) norm += static_cast<double>(g) * g;
    const double expected_norm = golden["gradient_norms"][p.name].get<double>();
    CHECK(std::abs(std::sqrt(norm) - expected_norm) <= kGradientRelative * expected_norm + 1e-9);
    if (golden["gradients"].contains(p.name)) {
      const auto expected = golden["gradients"][p.name].get<std::vector<double>>();
      REQUIRE(expected.size() == p.grad.size());
      for (std::size_t i = 0; i < expected.size(); ++i)
        CHECK(std::abs(p.grad[i] - expected[i]) <= kGradientRelative * expected_norm + 1e-9);
    }
  }

  // Prefill: the raw logits of each sequence's last position.
  auto cache = model.make_cache(2, 16);
  const auto V = static_cast<std::size_t>(model.vocab_size());
  std::vector<float> logits(2 * V);
  model.prefill(cache, std::vector<std::int32_t>{0, 1}, batch, logits);
  for (std::size_t s = 0; s < 2; ++s) {
    const auto expected = golden["last_logits"][s].get<std::vector<double>>();
    // Logits of ~12 here: 1e-5 relative is 1.2e-4; the score tolerance covers it.
    for (std::size_t v = 0; v < V; ++v) CHECK(std::abs(logits[s * V + v] - expected[v]) <= kScoreTolerance);
  }
}
