// verify_batch / verify_groups with oneTBB: results equal sequential results at 1
// and 2 threads; the per-item time budget.
#include <doctest/doctest.h>

#include <tbb/task_arena.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "r1/reward/batch.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/countdown.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"

namespace {
struct Batch {
  std::vector<r1::Problem> problems;
  std::vector<std::string> completions;
};
// A mixed set: right, wrong, malformed and missing answers, some without gold.
Batch mixed_batch(int count) {
  Batch batch;
  const char* answers[] = {"\\frac{1}{2}", "0.5", "3225", "03225", "x+1", "(0,1]", "28\\%", "\\sqrt{8}", "B", ""};
  const char* golds[] = {"0.5", "1/2", "3225", "3225", "1+x", "(0,1]", "0.28", "2\\sqrt{2}", "(B)", "7"};
  for (int i = 0; i < count; ++i) {
    r1::Problem problem;
    problem.answer = (i % 13 == 0) ? "" : golds[i % 10];
    problem.numbers = {3, 5, 7};
    problem.target = 22;
    batch.problems.push_back(problem);
    const std::string answer = answers[(i * 7) % 10];
    batch.completions.push_back(i % 3 == 0 ? "<think>t</think><answer>" + answer + "</answer>"
                                           : "reasoning " + std::to_string(i) + " \\boxed{" + answer + "}");
  }
  return batch;
}
void check_same(const std::vector<r1::Reward>& a, const std::vector<r1::Reward>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("item ", i);
    CHECK(a[i].score == b[i].score);
    CHECK(a[i].applicable == b[i].applicable);
    CHECK(a[i].extracted == b[i].extracted);
    CHECK(a[i].reason == b[i].reason);
    REQUIRE(a[i].components.size() == b[i].components.size());
    for (std::size_t c = 0; c < a[i].components.size(); ++c) {
      CHECK(a[i].components[c].name == b[i].components[c].name);
      CHECK(a[i].components[c].score == b[i].components[c].score);
    }
  }
}
struct Sleepy {
  std::string_view name() const { return "sleepy"; }
  r1::Reward operator()(const r1::Problem& problem, std::string_view) const {
    if (problem.answer == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(40));
    r1::Reward reward;
    reward.score = 1.0;
    return reward;
  }
};
}  // namespace

TEST_CASE("verify_batch equals sequential verification at 1 and 2 threads") {
  const Batch batch = mixed_batch(600);
  const r1::Sum<r1::MathAnswer, r1::R1Format, r1::Countdown> verifier{{1.0, 0.5, 0.25}};
  std::vector<r1::Reward> sequential;
  for (std::size_t i = 0; i < batch.problems.size(); ++i) sequential.push_back(verifier(batch.problems[i], batch.completions[i]));
  // The batch has right and wrong answers, so equality is not trivially all zeros.
  int correct = 0;
  for (const auto& reward : sequential) correct += reward.applicable && !reward.components.empty() && reward.components[0].name == "accuracy" && reward.components[0].score == 1.0;
  CHECK(correct > 50);
  CHECK(correct < 550);
  for (const int threads : {1, 2}) {
    INFO("threads ", threads);
    tbb::task_arena arena(threads);
    std::vector<r1::Reward> parallel;
    arena.execute([&] { parallel = r1::verify_batch(verifier, batch.problems, batch.completions); });
    check_same(sequential, parallel);
  }
  CHECK_THROWS_AS(r1::verify_batch(verifier, std::vector<r1::Problem>(2), std::vector<std::string>(3)), r1::Error);
}

TEST_CASE("verify_groups: completion i belongs to problem i / G") {
  const Batch batch = mixed_batch(40);
  std::vector<std::string> completions;
  const std::size_t group_size = 4;
  for (std::size_t p = 0; p < batch.problems.size(); ++p)
    for (std::size_t j = 0; j < group_size; ++j) completions.push_back(batch.completions[(p + j) % batch.completions.size()]);
  const r1::MathAnswer verifier;
  std::vector<r1::Reward> sequential;
  for (std::size_t i = 0; i < completions.size(); ++i) sequential.push_back(verifier(batch.problems[i / group_size], completions[i]));
  for (const int threads : {1, 2}) {
    tbb::task_arena arena(threads);
    std::vector<r1::Reward> parallel;
    arena.execute([&] {
      parallel = r1::verify_groups(verifier, std::span<const r1::Problem>(batch.problems),
                                   std::span<const std::string>(completions), group_size);
    });
    check_same(sequential, parallel);
  }
  CHECK_THROWS_AS(r1::verify_groups(verifier, std::span<const r1::Problem>(batch.problems),
                                    std::span<const std::string>(completions), 3),
                  r1::Error);
}

TEST_CASE("per-item time budget: an item past its budget scores 0, 'timed out'") {
  std::vector<r1::Problem> problems(6);
  problems[2].answer = "slow";
  const std::vector<std::string> completions(6, "x");
  r1::BatchOptions options;
  options.item_budget_ms = 10.0;  // the slow item sleeps 40 ms; the others take microseconds
  const auto rewards = r1::verify_batch(Sleepy{}, problems, completions, options);
  for (std::size_t i = 0; i < rewards.size(); ++i) {
    INFO("item ", i);
    CHECK(rewards[i].score == (i == 2 ? 0.0 : 1.0));
  }
  CHECK(rewards[2].reason.find("timed out") != std::string::npos);
  options.item_budget_ms = 0.0;  // no budget
  CHECK(r1::verify_batch(Sleepy{}, problems, completions, options)[2].score == 1.0);
}
