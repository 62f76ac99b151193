#include <doctest/doctest.h>

#include <cmath>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/sft_trainer.hpp"
#include "tiny_setup.hpp"

namespace {

using Policy = r1::Transformer<r1::cpu>;

std::vector<r1::SftExample> echo_examples(const r1::CharTokenizer& tokenizer) {
  std::vector<r1::SftExample> examples;
  for (const auto& problem : r1::test::echo_problems(20))
    examples.push_back({tokenizer.encode(problem.prompt), tokenizer.encode(problem.answer + ";")});
  return examples;
}

}  // namespace

TEST_CASE("SFT learns a mapping: loss falls from ~log(vocab) to near 0") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto examples = echo_examples(tokenizer);
  Policy model{r1::test::tiny_model_config(tokenizer.vocab_size())};
  model.init_random(3);
  r1::SftConfig config;
  config.steps = 150;
  config.batch_size = 10;
  r1::AdamWConfig adam;
  adam.lr = 1e-2f;
  r1::SftTrainer trainer{config, model, r1::AdamW{adam}, r1::ConstantSchedule{adam.lr}};
  const double before = trainer.evaluate_loss(examples);
  // A near-uniform initial model has loss ~ log(16) = 2.77.
  CHECK(before == doctest::Approx(std::log(16.0)).epsilon(0.15));
  trainer.fit(examples);
  const double after = trainer.evaluate_loss(examples);
  INFO("loss before " << before << ", after " << after);
  // Each target (digit, then ';') is a deterministic function of the prompt.
  CHECK(after < 0.1);
}

TEST_CASE("SFT: micro-batches accumulate to the whole-batch update") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto examples = echo_examples(tokenizer);
  std::vector<std::vector<float>> results;
  for (int micro : {0, 3}) {
    Policy model{r1::test::tiny_model_config(tokenizer.vocab_size())};
    model.init_random(5);
    r1::SftConfig config;
    config.steps = 3;
    config.batch_size = 8;
    config.micro_batch_sequences = micro;
    r1::SftTrainer trainer{config, model, r1::AdamW{}, r1::ConstantSchedule{1e-3f}};
    trainer.fit(examples);
    const auto flat = model.flat_parameters();
    results.emplace_back(flat.begin(), flat.end());
  }
  double worst = 0;
  for (std::size_t i = 0; i < results[0].size(); ++i)
    worst = std::max(worst, static_cast<double>(std::abs(results[0][i] - results[1][i])));
  // Only the summation order differs (fp32 round-off); Adam steps are ~lr = 1e-3 each.
  CHECK(worst < 1e-5);
}

TEST_CASE("SFT: bad configuration is an r1::Error") {
  CHECK_THROWS_WITH_AS(r1::SftConfig::from_json(r1::Json{{"batch_size", 0}}), doctest::Contains("batch_size"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::SftConfig::from_json(r1::Json{{"lr", 1}}), doctest::Contains("unknown field 'lr'"), r1::Error);
}
