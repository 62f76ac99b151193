#pragma once
// Evaluation as the DeepSeek-R1 paper reports it: pass@1 averaged over k
// samples, unbiased pass@k, cons@k (majority vote), greedy accuracy, and
// completion lengths, aggregated from per-problem results.
//
//   std::vector<r1::ProblemResult> results(problems.size());
//   for each problem p, for each of its k samples s:
//     results[p].samples.push_back({.correct = reward.score > 0.5, .answer = reward.extracted,
//                                   .length_tokens = completion.ids.size(), .truncated = finish == length});
//   auto report = r1::summarize_evaluation(results, /*pass_at_ks=*/{1, 4, 16});
//   std::cout << report.to_json().dump(2);
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

// Unbiased estimator of pass@k from n samples of which c are correct: the
// probability that at least one of k samples drawn without replacement from the
// n is correct, 1 - C(n-c, k) / C(n, k) (Chen et al. 2021, "Evaluating Large
// Language Models Trained on Code", Eq. 1), in their numerically stable product
// form 1 - prod_{i=n-c+1}^{n} (1 - k / i), which never forms a binomial coefficient.
inline double pass_at_k(std::int64_t n, std::int64_t c, std::int64_t k) {
  require(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass_at_k: expected 0 <= c <= n and 1 <= k <= n, got n=", n,
          " c=", c, " k=", k);
  if (n - c < k) return 1.0;  // every choice of k samples includes a correct one
  double all_wrong = 1.0;
  for (std::int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - all_wrong;
}

// One sampled (or greedy) completion of one problem, as the verifier judged it.
struct SampleResult {
  bool correct = false;
  std::string answer;               // the extracted final answer; empty = none could be extracted
  std::int64_t length_tokens = 0;   // completion length
  bool truncated = false;           // stopped by the length limit (finish reason "length")
};

// All samples of one problem, and optionally its greedy (temperature 0) completion.
struct ProblemResult {
  std::vector<SampleResult> samples;
  std::optional<SampleResult> greedy;
};

// The majority-vote answer of `samples`: the most frequent non-empty extracted
// answer, compared as exact strings (normalise before, e.g. "0.50" -> "0.5", if
// the task needs it). Samples with no extracted answer do not vote. Ties go to
// the answer whose first vote came earliest in sample order, so the vote is
// deterministic. Null when no sample has an answer.
inline const SampleResult* majority_vote(std::span<const SampleResult> samples) {
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> votes;  // answer -> (count, first index)
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].answer.empty()) continue;
    auto [it, inserted] = votes.try_emplace(samples[i].answer, 0, i);
    ++it->second.first;
  }
  const SampleResult* winner = nullptr;
  std::size_t best_count = 0, best_first = 0;
  for (const auto& [answer, vote] : votes) {
    const auto [count, first] = vote;
    if (winner == nullptr || count > best_count || (count == best_count && first < best_first)) {
      winner = &samples[first];
      best_count = count;
      best_first = first;
    }
  }
  return winner;
}

// cons@k of one problem: 1 when the majority answer of its samples is correct.
// The winning answer counts as correct when the verifier judged its first
// sample correct (all samples with the same extracted answer get the same verdict
// from a verifier that scores the extracted answer).
inline bool consensus_correct(std::span<const SampleResult> samples) {
  const SampleResult* winner = majority_vote(samples);
  return winner != nullptr && winner->correct;
}

struct EvaluationReport {
  std::size_t problems = 0;
  std::size_t samples_per_problem = 0;  // k of pass@1-over-k and cons@k (the same for every problem)
  double pass_at_1 = 0.0;               // mean over problems of (correct samples / k)
  std::map<std::int64_t, double> pass_at_k;  // k -> mean over problems of the unbiased pass@k
  double cons_at_k = 0.0;               // share of problems whose majority answer is correct
  std::optional<double> greedy_accuracy;  // when every problem has a greedy result
  double mean_length_tokens = 0.0;      // over all samples
  std::int64_t min_length_tokens = 0;
  std::int64_t max_length_tokens = 0;
  double truncated_ratio = 0.0;         // share of samples stopped by the length limit
  double answered_ratio = 0.0;          // share of samples with an extracted answer

  // Names follow the paper's tables: pass@1, pass@K, cons@K.
  Json to_json() const {
    Json json = Json::object();
    json["problems"] = problems;
    json["samples_per_problem"] = samples_per_problem;
    json["pass@1"] = pass_at_1;
    for (const auto& [k, value] : pass_at_k) json["pass@" + std::to_string(k)] = value;
    json["cons@" + std::to_string(samples_per_problem)] = cons_at_k;
    if (greedy_accuracy) json["greedy_accuracy"] = *greedy_accuracy;
    json["completions/mean_length"] = mean_length_tokens;
    json["completions/min_length"] = min_length_tokens;
    json["completions/max_length"] = max_length_tokens;
    json["completions/clipped_ratio"] = truncated_ratio;
    json["answered_ratio"] = answered_ratio;
    return json;
  }
};

// Aggregates per-problem results. Every problem must have the same number of
// samples k >= 1; each entry of `pass_at_ks` must be in [1, k].
inline EvaluationReport summarize_evaluation(std::span<const ProblemResult> results,
                                             std::span<const std::int64_t> pass_at_ks = {}) {
  require(!results.empty(), "summarize_evaluation: no problems to summarise");
  const std::size_t k = results.front().samples.size();
  require(k >= 1, "summarize_evaluation: problem 0 has no samples");
  EvaluationReport report;
  report.problems = results.size();
  report.samples_per_problem = k;
  for (const auto pass_k : pass_at_ks) {
    require(pass_k >= 1 && static_cast<std::size_t>(pass_k) <= k, "summarize_evaluation: pass@", pass_k,
            " needs between 1 and ", k, " samples per problem");
    report.pass_at_k[pass_k] = 0.0;
  }
  bool all_greedy = true;
  double greedy_correct = 0.0, length_sum = 0.0, truncated = 0.0, answered = 0.0;
  report.min_length_tokens = std::numeric_limits<std::int64_t>::max();
  report.max_length_tokens = std::numeric_limits<std::int64_t>::min();
  for (std::size_t p = 0; p < results.size(); ++p) {
    const auto& samples = results[p].samples;
    require(samples.size() == k, "summarize_evaluation: problem ", p, " has ", samples.size(),
            " samples, problem 0 has ", k, "; every problem needs the same number");
    std::int64_t correct = 0;
    for (const auto& sample : samples) {
      require(sample.length_tokens >= 0, "summarize_evaluation: problem ", p, " has a negative completion length");
      correct += sample.correct;
      length_sum += static_cast<double>(sample.length_tokens);
      report.min_length_tokens = std::min(report.min_length_tokens, sample.length_tokens);
      report.max_length_tokens = std::max(report.max_length_tokens, sample.length_tokens);
      truncated += sample.truncated;
      answered += !sample.answer.empty();
    }
    const auto n = static_cast<std::int64_t>(k);
    report.pass_at_1 += static_cast<double>(correct) / static_cast<double>(n);
    for (auto& [pass_k, value] : report.pass_at_k) value += pass_at_k(n, correct, pass_k);
    report.cons_at_k += consensus_correct(samples);
    if (results[p].greedy) {
      greedy_correct += results[p].greedy->correct;
    } else {
      all_greedy = false;
    }
  }
  const auto problem_count = static_cast<double>(results.size());
  const double sample_count = problem_count * static_cast<double>(k);
  report.pass_at_1 /= problem_count;
  for (auto& [pass_k, value] : report.pass_at_k) value /= problem_count;
  report.cons_at_k /= problem_count;
  if (all_greedy) report.greedy_accuracy = greedy_correct / problem_count;
  report.mean_length_tokens = length_sum / sample_count;
  report.truncated_ratio = truncated / sample_count;
  report.answered_ratio = answered / sample_count;
  return report;
}

inline EvaluationReport summarize_evaluation(std::span<const ProblemResult> results,
                                             std::initializer_list<std::int64_t> pass_at_ks) {
  const std::vector<std::int64_t> ks(pass_at_ks);
  return summarize_evaluation(results, std::span<const std::int64_t>(ks));
}

// Two evaluations of the same problems compared problem by problem (two checkpoints, or one policy with and
// without an intervention): the mean over problems of pass@1 under a minus pass@1 under b, and its standard
// error, the sample standard deviation of the per-problem differences over sqrt(problems) (the paired-samples
// standard error; problem difficulty cancels in each difference). correct_a[p] of samples_a samples of problem
// p were right under a. standard_error is NaN with fewer than 2 problems.
struct PairedDifference {
  double mean = 0;
  double standard_error = 0;
  std::size_t problems = 0;
};

inline PairedDifference paired_pass_at_1_difference(std::span<const int> correct_a, std::span<const int> correct_b,
                                                    int samples_a, int samples_b) {
  require(correct_a.size() == correct_b.size(), "paired_pass_at_1_difference: ", correct_a.size(), " problems in a, ",
          correct_b.size(), " in b; expected the same problems");
  require(samples_a >= 1 && samples_b >= 1, "paired_pass_at_1_difference: samples per problem must be >= 1, got ",
          samples_a, " and ", samples_b);
  PairedDifference result;
  result.problems = correct_a.size();
  if (result.problems == 0) return result;
  std::vector<double> differences(result.problems);
  for (std::size_t p = 0; p < result.problems; ++p) {
    require(correct_a[p] >= 0 && correct_a[p] <= samples_a && correct_b[p] >= 0 && correct_b[p] <= samples_b,
            "paired_pass_at_1_difference: problem ", p, " has ", correct_a[p], " of ", samples_a, " and ", correct_b[p],
            " of ", samples_b, " samples right");
    differences[p] = static_cast<double>(correct_a[p]) / samples_a - static_cast<double>(correct_b[p]) / samples_b;
    result.mean += differences[p];
  }
  const auto n = static_cast<double>(result.problems);
  result.mean /= n;
  if (result.problems < 2) {
    result.standard_error = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  double squares = 0;
  for (const double difference : differences) squares += (difference - result.mean) * (difference - result.mean);
  result.standard_error = std::sqrt(squares / (n - 1.0)) / std::sqrt(n);
  return result;
}

}  // namespace r1
