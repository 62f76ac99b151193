#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/train/evaluation.hpp"

namespace {
// 1 - C(n-c, k) / C(n, k) through log-gamma: an independent route to Chen et al.'s Eq. 1.
double pass_at_k_by_binomials(std::int64_t n, std::int64_t c, std::int64_t k) {
  if (n - c < k) return 1.0;
  const auto log_choose = [](double top, double bottom) {
    return std::lgamma(top + 1) - std::lgamma(bottom + 1) - std::lgamma(top - bottom + 1);
  };
  return 1.0 - std::exp(log_choose(static_cast<double>(n - c), static_cast<double>(k)) -
                        log_choose(static_cast<double>(n), static_cast<double>(k)));
}
}  // namespace

TEST_CASE("pass@k: hand-computed values") {
  // Tolerance 1e-15: at most c = 3 double multiplications, each within 2^-53 ~ 1.1e-16 relative.
  constexpr double kTight = 1e-15;
  CHECK(std::abs(r1::pass_at_k(5, 2, 1) - 0.4) < kTight);                // = c / n
  CHECK(std::abs(r1::pass_at_k(5, 2, 2) - 0.7) < kTight);                // 1 - C(3,2)/C(5,2) = 1 - 3/10
  CHECK(std::abs(r1::pass_at_k(10, 3, 4) - 5.0 / 6.0) < kTight);         // 1 - C(7,4)/C(10,4) = 1 - 35/210
  CHECK(r1::pass_at_k(4, 2, 3) == 1.0);                                   // n - c < k: always a correct one
  CHECK(r1::pass_at_k(16, 0, 8) == 0.0);
  CHECK(r1::pass_at_k(16, 16, 1) == 1.0);
  CHECK(std::abs(r1::pass_at_k(1000, 1, 1) - 0.001) < kTight);
  // Stable where C(200, 100) ~ 9e58 would overflow a naive integer formula.
  CHECK(r1::pass_at_k(200, 100, 100) == doctest::Approx(1.0));
  CHECK_THROWS_AS(r1::pass_at_k(4, 5, 1), r1::Error);
  CHECK_THROWS_AS(r1::pass_at_k(4, 1, 5), r1::Error);
  CHECK_THROWS_AS(r1::pass_at_k(4, 1, 0), r1::Error);
}

TEST_CASE("pass@k agrees with the binomial form over a grid") {
  // The log-gamma route loses ~1e-13 relative (lgamma of arguments up to 64,
  // values ~2e2, each within a few ulps, then exp): compare at 1e-11 absolute.
  for (std::int64_t n = 1; n <= 64; n += 3) {
    for (std::int64_t c = 0; c <= n; ++c) {
      for (std::int64_t k = 1; k <= n; k += 2) {
        INFO("n=", n, " c=", c, " k=", k);
        CHECK(std::abs(r1::pass_at_k(n, c, k) - pass_at_k_by_binomials(n, c, k)) < 1e-11);
      }
    }
  }
}

TEST_CASE("majority vote: most frequent answer, ties to the first occurrence, empty answers abstain") {
  const std::vector<r1::SampleResult> tie{{false, "7"}, {true, "5"}, {true, "5"}, {false, "7"}, {false, ""}};
  REQUIRE(r1::majority_vote(tie) != nullptr);
  CHECK(r1::majority_vote(tie)->answer == "7");  // 2 votes each; "7" was voted first
  CHECK(!r1::consensus_correct(tie));

  const std::vector<r1::SampleResult> clear{{false, "7"}, {true, "5"}, {true, "5"}};
  CHECK(r1::majority_vote(clear)->answer == "5");
  CHECK(r1::consensus_correct(clear));

  const std::vector<r1::SampleResult> abstaining{{false, ""}, {false, ""}, {true, "3"}};
  CHECK(r1::majority_vote(abstaining)->answer == "3");  // two empty extractions do not outvote one answer
  CHECK(r1::consensus_correct(abstaining));

  const std::vector<r1::SampleResult> none{{false, ""}, {false, ""}};
  CHECK(r1::majority_vote(none) == nullptr);
  CHECK(!r1::consensus_correct(none));
}

TEST_CASE("evaluation report aggregates per-problem results") {
  std::vector<r1::ProblemResult> results(2);
  // Problem 0: 2 of 4 correct; answers tie 12/13, "12" first and correct; greedy correct.
  results[0].samples = {{true, "12", 10, false}, {false, "13", 20, false}, {true, "12", 30, false}, {false, "13", 40, true}};
  results[0].greedy = r1::SampleResult{true, "12", 12, false};
  // Problem 1: 1 of 4 correct; "9" wins 2 votes to 1 and is wrong; greedy wrong.
  results[1].samples = {{false, "9", 5, false}, {false, "9", 5, false}, {false, "", 5, false}, {true, "4", 100, false}};
  results[1].greedy = r1::SampleResult{false, "9", 5, false};

  const auto report = r1::summarize_evaluation(results, {1, 2, 4});
  // By hand:
  //   pass@1 = (2/4 + 1/4) / 2 = 0.375
  //   pass@2: problem 0: 1 - C(2,2)/C(4,2) = 5/6; problem 1: 1 - C(3,2)/C(4,2) = 1/2; mean 2/3
  //   pass@4: n - c < 4 for both, so 1
  //   cons@4 = (1 + 0) / 2; greedy = (1 + 0) / 2
  //   lengths: (10+20+30+40+5+5+5+100) / 8 = 215/8; min 5, max 100; 1 truncated, 7 answered of 8
  // Tolerance 1e-15: sums of at most 8 terms of size <= 1, each within ~1e-16.
  CHECK(report.problems == 2);
  CHECK(report.samples_per_problem == 4);
  CHECK(std::abs(report.pass_at_1 - 0.375) < 1e-15);
  CHECK(std::abs(report.pass_at_k.at(1) - 0.375) < 1e-15);
  CHECK(std::abs(report.pass_at_k.at(2) - 2.0 / 3.0) < 1e-15);
  CHECK(report.pass_at_k.at(4) == 1.0);
  CHECK(report.cons_at_k == 0.5);
  REQUIRE(report.greedy_accuracy.has_value());
  CHECK(*report.greedy_accuracy == 0.5);
  CHECK(report.mean_length_tokens == 26.875);
  CHECK(report.min_length_tokens == 5);
  CHECK(report.max_length_tokens == 100);
  CHECK(report.truncated_ratio == 0.125);
  CHECK(report.answered_ratio == 0.875);

  const auto json = report.to_json();
  CHECK(json["pass@1"].get<double>() == report.pass_at_1);
  CHECK(json["pass@2"].get<double>() == report.pass_at_k.at(2));
  CHECK(json["cons@4"].get<double>() == 0.5);
  CHECK(json["greedy_accuracy"].get<double>() == 0.5);
  CHECK(json["completions/mean_length"].get<double>() == 26.875);

  // Without a greedy result on every problem there is no greedy accuracy.
  results[1].greedy.reset();
  CHECK(!r1::summarize_evaluation(results).greedy_accuracy.has_value());
  CHECK(!r1::summarize_evaluation(results).to_json().contains("greedy_accuracy"));
}

TEST_CASE("evaluation report rejects inconsistent input") {
  std::vector<r1::ProblemResult> results(2);
  results[0].samples = {{true, "1", 3, false}, {true, "1", 3, false}};
  results[1].samples = {{true, "1", 3, false}};
  CHECK_THROWS_WITH_AS(r1::summarize_evaluation(results), doctest::Contains("problem 1 has 1 samples"), r1::Error);
  results[1].samples.push_back({false, "2", 3, false});
  CHECK_THROWS_WITH_AS(r1::summarize_evaluation(results, {3}), doctest::Contains("pass@3 needs between 1 and 2"),
                       r1::Error);
  CHECK_THROWS_AS(r1::summarize_evaluation(std::vector<r1::ProblemResult>{}), r1::Error);
  CHECK_THROWS_AS(r1::summarize_evaluation(std::vector<r1::ProblemResult>(1)), r1::Error);
}

TEST_CASE("paired pass@1 difference: the mean per-problem difference and its paired standard error") {
  // Differences 4/4 - 2/4 = 0.5, 2/4 - 2/4 = 0, 0/4 - 1/4 = -0.25: mean 1/12; deviations 5/12, -1/12, -4/12;
  // squares sum (25 + 1 + 16)/144 = 42/144; variance 21/144; SE = sqrt(21/144) / sqrt(3) = sqrt(7)/12.
  const std::vector<int> a{4, 2, 0}, b{2, 2, 1};
  const auto difference = r1::paired_pass_at_1_difference(a, b, 4, 4);
  CHECK(difference.problems == 3);
  CHECK(difference.mean == doctest::Approx(1.0 / 12.0));
  CHECK(difference.standard_error == doctest::Approx(std::sqrt(7.0) / 12.0));
  // Swapping a and b negates the mean and keeps the error.
  const auto swapped = r1::paired_pass_at_1_difference(b, a, 4, 4);
  CHECK(swapped.mean == doctest::Approx(-1.0 / 12.0));
  CHECK(swapped.standard_error == doctest::Approx(difference.standard_error));
  // Different sample counts: 1/2 - 2/4 = 0 and 2/2 - 0/4 = 1: mean 0.5, SE = sqrt(0.5) / sqrt(2) = 0.5.
  const std::vector<int> c{1, 2}, d{2, 0};
  const auto mixed = r1::paired_pass_at_1_difference(c, d, 2, 4);
  CHECK(mixed.mean == doctest::Approx(0.5));
  CHECK(mixed.standard_error == doctest::Approx(0.5));
  // The same results: no difference, no error.
  const auto same = r1::paired_pass_at_1_difference(a, a, 4, 4);
  CHECK(same.mean == 0.0);
  CHECK(same.standard_error == 0.0);
  // One problem: a mean, no standard error; none: zeros.
  const std::vector<int> one_a{3}, one_b{1};
  CHECK(r1::paired_pass_at_1_difference(one_a, one_b, 4, 4).mean == doctest::Approx(0.5));
  CHECK(std::isnan(r1::paired_pass_at_1_difference(one_a, one_b, 4, 4).standard_error));
  CHECK(r1::paired_pass_at_1_difference(std::vector<int>{}, std::vector<int>{}, 4, 4).problems == 0);
}

TEST_CASE("paired pass@1 difference rejects mismatched or impossible counts") {
  const std::vector<int> three{1, 2, 3}, two{1, 2}, too_many{1, 5, 0};
  CHECK_THROWS_WITH_AS(r1::paired_pass_at_1_difference(three, two, 4, 4), doctest::Contains("3 problems in a, 2 in b"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(r1::paired_pass_at_1_difference(three, too_many, 4, 4),
                       doctest::Contains("problem 1 has 2 of 4 and 5 of 4"), r1::Error);
  CHECK_THROWS_AS(r1::paired_pass_at_1_difference(three, three, 0, 4), r1::Error);
}
