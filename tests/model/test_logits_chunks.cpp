// The LM head in chunks of rows (set_logits_budget): score() and backward() with the logits computed a few
// rows at a time, and recomputed in backward, must give what the whole-batch path gives (which
// test_transformer.cpp checks against finite differences and a naive reference).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "model_test_support.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/transformer.hpp"

namespace {

using r1::BasicTransformer;
using r1::TokenBatch;

struct Result {
  std::vector<double> logprobs, entropies, gradient;
};

// Score + backward of a fixed loss sum_i a_i logprob_i + b_i entropy_i with the model's current budget;
// `budget_after_score`, when positive, is set between score and backward.
Result run(BasicTransformer<double>& model, const TokenBatch& batch, std::int64_t budget_after_score = 0) {
  const std::size_t N = batch.total_tokens();
  Result out{std::vector<double>(N), std::vector<double>(N), {}};
  std::vector<double> d_logprobs(N), d_entropies(N);
  r1::Philox rng(21);
  for (std::size_t i = 0; i < N; ++i) {
    d_logprobs[i] = rng.normal();
    d_entropies[i] = rng.normal();
  }
  model.zero_grad();
  model.forward_scores(batch, 0.9, out.logprobs, out.entropies);
  if (budget_after_score > 0) model.set_logits_budget(budget_after_score);
  model.backward_scores(batch, d_logprobs, d_entropies);
  out.gradient.assign(model.flat_gradients().begin(), model.flat_gradients().end());
  return out;
}

// Chunked and whole-batch runs do the same arithmetic per row except for how the LM-head GEMM is split
// (Eigen's GEMM or the few-rows kernel, other summation orders): in double over D = 16 terms rounding stays
// near 1e-15 of values of order 1-10, and the gradient sums those rows; 1e-11 is far above that and far below
// any real error (a dropped or doubled chunk moves results by 1e-2 or more).
void check_equal(const Result& a, const Result& b) {
  REQUIRE(a.logprobs.size() == b.logprobs.size());
  for (std::size_t i = 0; i < a.logprobs.size(); ++i) {
    CHECK(std::abs(a.logprobs[i] - b.logprobs[i]) <= 1e-11);
    CHECK(std::abs(a.entropies[i] - b.entropies[i]) <= 1e-11);
  }
  REQUIRE(a.gradient.size() == b.gradient.size());
  for (std::size_t i = 0; i < a.gradient.size(); ++i)
    CHECK(std::abs(a.gradient[i] - b.gradient[i]) <= 1e-11 * (1 + std::abs(b.gradient[i])));
}

}  // namespace

TEST_CASE("logits_chunk_rows: all rows while they fit, floor(budget / V) rows otherwise, at least one") {
  BasicTransformer<double> model(r1::test::tiny_llama());  // V = 11
  CHECK(model.logits_budget() == (std::int64_t{1} << 25));
  CHECK(model.logits_chunk_rows(12) == 12);
  model.set_logits_budget(11 * 12);
  CHECK(model.logits_chunk_rows(12) == 12);
  CHECK(model.logits_chunk_rows(13) == 12);
  model.set_logits_budget(35);
  CHECK(model.logits_chunk_rows(12) == 3);
  model.set_logits_budget(5);  // less than one row: one row at a time
  CHECK(model.logits_chunk_rows(12) == 1);
  CHECK_THROWS_AS(model.set_logits_budget(0), r1::Error);
  CHECK_THROWS_AS(model.set_logits_budget(-4), r1::Error);
}

TEST_CASE("chunked LM head equals the whole-batch LM head: scores and every gradient") {
  for (const auto& config : {r1::test::tiny_llama(), r1::test::tiny_qwen2()}) {  // untied head; tied to embeddings
    CAPTURE(config.model_type);
    BasicTransformer<double> model(config);
    r1::test::fill_for_test(model, 17);
    const TokenBatch batch = r1::test::mixed_batch(config.vocab_size, 4);
    std::int64_t scored = 0;
    for (std::size_t s = 0; s < batch.size(); ++s) scored += batch.length(s) - batch.first_scored(s);
    REQUIRE(scored == 10);
    const Result whole = run(model, batch);
    for (const std::int64_t rows : {1, 2, 3, 4, 9}) {  // 9: a last chunk of one row
      CAPTURE(rows);
      model.set_logits_budget(rows * config.vocab_size + config.vocab_size / 2);  // not a multiple of V: floor
      REQUIRE(model.logits_chunk_rows(scored) == rows);
      check_equal(run(model, batch), whole);
    }
    model.set_logits_budget(std::int64_t{1} << 25);
    check_equal(run(model, batch), whole);  // back to whole-batch
  }
}

TEST_CASE("backward chunks as score did, even when the budget changes in between") {
  BasicTransformer<double> model(r1::test::tiny_llama());
  r1::test::fill_for_test(model, 5);
  const TokenBatch batch = r1::test::mixed_batch(model.vocab_size(), 6);
  const Result whole = run(model, batch);
  model.set_logits_budget(2 * model.vocab_size());
  check_equal(run(model, batch, /*budget_after_score=*/std::int64_t{1} << 25), whole);
  model.set_logits_budget(std::int64_t{1} << 25);
  check_equal(run(model, batch, /*budget_after_score=*/3 * model.vocab_size()), whole);
}

TEST_CASE("float model: chunked scores and gradients match the whole-batch ones") {
  r1::Transformer<r1::cpu> model(r1::test::tiny_llama());
  r1::test::fill_for_test(model, 9);
  const TokenBatch batch = r1::test::long_batch(model.vocab_size(), 2);
  const std::vector<float> d_logprobs(batch.total_tokens(), -0.01f);
  const auto score_and_backward = [&] {
    r1::TokenScores scores;
    model.zero_grad();
    model.score(batch, 1.0f, scores);
    model.backward(batch, d_logprobs, {});
    return std::pair{scores.logprobs, std::vector<float>(model.flat_gradients().begin(), model.flat_gradients().end())};
  };
  const auto [whole_logprobs, whole_gradient] = score_and_backward();
  model.set_logits_budget(7 * model.vocab_size());
  const auto [chunked_logprobs, chunked_gradient] = score_and_backward();
  // float: the LM head's rows go through other GEMM splits; D = 16-term dot products differ by a few ulps of
  // values of order 1-10 (1e-6 absolute), and the gradients sum ~200 such rows.
  for (std::size_t i = 0; i < whole_logprobs.size(); ++i) CHECK(chunked_logprobs[i] == doctest::Approx(whole_logprobs[i]).epsilon(1e-5));
  double norm = 0, diff = 0;
  for (std::size_t i = 0; i < whole_gradient.size(); ++i) {
    norm += double(whole_gradient[i]) * whole_gradient[i];
    diff += (double(chunked_gradient[i]) - whole_gradient[i]) * (double(chunked_gradient[i]) - whole_gradient[i]);
  }
  CHECK(norm > 0);
  CHECK(std::sqrt(diff / norm) <= 1e-5);
}
