// Math verifications per second on a mixed set (mixed_set.hpp), single thread and
// through verify_batch at 1 and 2 threads, with the median and 99th-percentile
// latency of one verification (counters latency_median_us, latency_p99_us).
//
//   build-reward/bench/reward/bench_reward --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "mixed_set.hpp"
#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/batch.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"

namespace {

const r1::bench::MixedSet& mixed_set() {
  static const r1::bench::MixedSet set = r1::bench::mixed_math_set(2400);
  return set;
}

// One verification at a time: throughput, and per-call latency percentiles.
void BM_MathAnswer_single_thread(benchmark::State& state) {
  const auto& set = mixed_set();
  const r1::MathAnswer verifier;
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 20);
  std::size_t i = 0;
  double correct = 0.0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const r1::Reward reward = verifier(set.problems[i], set.completions[i]);
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(reward.score);
    correct += reward.score;
    if (latencies_us.size() < latencies_us.capacity())
      latencies_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    i = (i + 1) % set.problems.size();
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  if (!latencies_us.empty()) {
    state.counters["latency_median_us"] = latencies_us[latencies_us.size() / 2];
    state.counters["latency_p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
  }
  state.counters["fraction_correct"] = correct / static_cast<double>(state.iterations());
  state.counters["verifications_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MathAnswer_single_thread);

// Long free-text completions (1.3-2 KB, no <answer> tag; long_free_text_set): the
// extraction scans the whole text for boxes, cues, spans and numbers.
void BM_MathAnswer_long_free_text(benchmark::State& state) {
  static const r1::bench::MixedSet set = r1::bench::long_free_text_set(800);
  const r1::MathAnswer verifier;
  std::size_t i = 0;
  double correct = 0.0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const r1::Reward reward = verifier(set.problems[i], set.completions[i]);
    benchmark::DoNotOptimize(reward.score);
    correct += reward.score;
    bytes += set.completions[i].size();
    i = (i + 1) % set.problems.size();
  }
  state.counters["fraction_correct"] = correct / static_cast<double>(state.iterations());
  state.counters["mean_bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
  state.counters["verifications_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MathAnswer_long_free_text);

// The whole set through verify_batch in a oneTBB arena of `threads` threads.
void BM_MathAnswer_verify_batch(benchmark::State& state) {
  const auto& set = mixed_set();
  const r1::MathAnswer verifier;
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::vector<r1::Reward> rewards;
    arena.execute([&] { rewards = r1::verify_batch(verifier, set.problems, set.completions); });
    benchmark::DoNotOptimize(rewards.data());
  }
  state.counters["verifications_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * set.problems.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MathAnswer_verify_batch)->Arg(1)->Arg(2)->UseRealTime();

// The R1-Zero reward: accuracy + strict format.
void BM_Sum_accuracy_format_single_thread(benchmark::State& state) {
  const auto& set = mixed_set();
  const r1::Sum<r1::MathAnswer, r1::R1Format> verifier;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier(set.problems[i], set.completions[i]).score);
    i = (i + 1) % set.problems.size();
  }
  state.counters["verifications_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sum_accuracy_format_single_thread);

// Stages alone: extraction, and comparison of already-extracted answers.
void BM_extract_answer(benchmark::State& state) {
  const auto& set = mixed_set();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(r1::extract_answer(set.completions[i]));
    i = (i + 1) % set.problems.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_extract_answer);

void BM_compare_extracted(benchmark::State& state) {
  const auto& set = mixed_set();
  std::vector<std::string> answers;
  for (const auto& completion : set.completions) answers.push_back(r1::extract_answer(completion)->text);
  const r1::MathAnswer verifier;
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier.compare(set.problems[i].answer, answers[i]).equal);
    i = (i + 1) % set.problems.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_compare_extracted);

}  // namespace

BENCHMARK_MAIN();
