#include <doctest/doctest.h>

#include <set>

#include "r1/optim/adamw.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/train/distillation.hpp"
#include "r1/train/evaluator.hpp"
#include "r1/train/rejection_sampling.hpp"
#include "tiny_setup.hpp"

namespace {
using Policy = r1::Transformer<r1::cpu>;

r1::TextCodec codec_for(const r1::CharTokenizer& tokenizer) {
  return r1::make_text_codec(tokenizer, [](const r1::Problem& p) { return p.prompt; });
}
}  // namespace

TEST_CASE("rejection sampling keeps only verified, distinct completions, capped per prompt") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  Policy teacher{r1::test::tiny_model_config(tokenizer.vocab_size())};
  teacher.init_random(4);
  const auto problems = r1::test::echo_problems(10);
  r1::RejectionSamplingConfig config;
  config.samples_per_prompt = 16;
  config.sampling.max_new_tokens = 1;  // one token: 16 possible completions, so duplicates happen
  r1::RejectionSamplingStats stats;
  const auto kept = r1::rejection_sample(teacher, problems, codec_for(tokenizer), r1::test::LowDigit{}, config, &stats);
  CHECK(stats.generated == 160);
  CHECK(stats.accepted > 0);
  CHECK(stats.kept == kept.size());
  CHECK(stats.kept <= stats.accepted);
  std::set<std::pair<std::size_t, std::string>> seen;
  for (const auto& item : kept) {
    CHECK(r1::test::LowDigit{}(problems[item.problem], item.completion_text).score == 1.0);
    CHECK(seen.insert({item.problem, item.completion_text}).second);  // no duplicate within a prompt
    CHECK(item.prompt_ids == tokenizer.encode(problems[item.problem].prompt));
  }
  config.keep_per_prompt = 1;
  const auto capped = r1::rejection_sample(teacher, problems, codec_for(tokenizer), r1::test::LowDigit{}, config, &stats);
  CHECK(capped.size() == stats.prompts_with_any);
  CHECK(capped.size() <= problems.size());
}

TEST_CASE("distillation: a student trained on verified teacher traces solves the task more often") {
  const auto tokenizer = r1::test::tiny_tokenizer();
  const auto codec = codec_for(tokenizer);
  const auto problems = r1::test::echo_problems(20);
  Policy teacher{r1::test::tiny_model_config(tokenizer.vocab_size())};
  teacher.init_random(8);
  auto student_config = r1::test::tiny_model_config(tokenizer.vocab_size());
  student_config.hidden_size = 16;
  student_config.num_hidden_layers = 1;
  Policy student{student_config};
  student.init_random(9);

  r1::EvaluationConfig evaluation;
  evaluation.samples_per_problem = 16;
  evaluation.sampling.temperature = 1.0f;
  evaluation.sampling.top_p = 1.0f;
  evaluation.sampling.max_new_tokens = 1;
  evaluation.greedy = false;
  const double before = r1::evaluate(student, problems, codec, r1::test::LowDigit{}, evaluation).pass_at_1;

  r1::RejectionSamplingConfig sampling;
  sampling.samples_per_prompt = 16;
  sampling.sampling.max_new_tokens = 1;
  r1::SftConfig sft;
  sft.steps = 60;
  sft.batch_size = 16;
  const auto result = r1::distill(teacher, student, problems, codec, r1::test::LowDigit{}, sampling, sft,
                                  r1::AdamW{r1::AdamWConfig{.lr = 1e-2f}}, r1::ConstantSchedule{1e-2f});
  CHECK(result.examples > 0);
  const double after = r1::evaluate(student, problems, codec, r1::test::LowDigit{}, evaluation).pass_at_1;
  INFO("student pass@1 before " << before << ", after " << after);
  // Random: ~5/16 of completions start with 0-4; trained only on such traces the student should nearly always.
  CHECK(after >= 0.9);
  CHECK(after > before + 0.3);
}
