// Advantage estimators against values worked out by hand from their formulas.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "r1/rl/advantage.hpp"
#include "r1/rl/grpo_objective.hpp"

namespace {

// Advantages are stored as float: one rounding of a value of magnitude ≤ 2,
// so 2^-24 · 2 ≈ 1.2e-7 absolute; 1e-6 leaves room for the double → float step.
constexpr double advantage_tolerance = 1e-6;

r1::Advantages run(std::vector<double> rewards, int group_size, r1::AdvantageOptions options,
                   std::vector<std::uint8_t> applicable = {}, std::vector<std::int32_t> lengths = {}) {
  static std::vector<double> r;
  static std::vector<std::uint8_t> a;
  static std::vector<std::int32_t> l;
  r = std::move(rewards), a = std::move(applicable), l = std::move(lengths);
  return r1::compute_advantages({r, a, group_size, l}, options);
}

void check_values(const r1::Advantages& got, const std::vector<double>& expected) {
  REQUIRE(got.per_completion.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("completion ", i);
    CHECK(got.per_completion[i] == doctest::Approx(expected[i]).epsilon(advantage_tolerance));
  }
}

}  // namespace

TEST_CASE("grpo z-score with the sample std (DeepSeekMath §4.1.2)") {
  r1::AdvantageOptions options;  // grpo, sample std, eps 1e-4, group scaling
  const auto got = run({1, 0, 0, 1, /*equal group*/ 1, 1, 1, 1}, 4, options);
  // Group 0: mean 0.5, squared deviations 4 · 0.25 = 1, sample variance 1/3.
  const double scale = std::sqrt(1.0 / 3.0) + 1e-4;
  check_values(got, {0.5 / scale, -0.5 / scale, -0.5 / scale, 0.5 / scale, 0, 0, 0, 0});
  CHECK(got.groups == 2);
  CHECK(got.zero_std_groups == 1);
  CHECK(got.keep == std::vector<std::uint8_t>(8, 1));  // no filter requested
}

TEST_CASE("grpo z-score with the population std") {
  r1::AdvantageOptions options;
  options.std_estimator = r1::StdEstimator::population;
  options.eps = 1e-6;
  const auto got = run({3, 1}, 2, options);
  // mean 2, population variance (1 + 1) / 2 = 1.
  check_values(got, {1 / (1 + 1e-6), -1 / (1 + 1e-6)});
}

TEST_CASE("not-applicable rewards are left out of the statistics") {
  r1::AdvantageOptions options;
  const auto got = run({1, std::numeric_limits<double>::quiet_NaN(), 0, 0}, 4, options, {1, 0, 1, 1});
  // Applicable {1, 0, 0}: mean 1/3, squared deviations 4/9 + 1/9 + 1/9 = 2/3, sample variance 1/3.
  const double scale = std::sqrt(1.0 / 3.0) + 1e-4;
  check_values(got, {(2.0 / 3.0) / scale, 0, (-1.0 / 3.0) / scale, (-1.0 / 3.0) / scale});
}

TEST_CASE("singleton groups: advantage 0, or verl's raw reward rule") {
  r1::AdvantageOptions options;
  SUBCASE("zero rule") {
    const auto got = run({0.7, 0.2}, 1, options);
    check_values(got, {0, 0});
    CHECK(got.zero_std_groups == 2);
  }
  SUBCASE("raw reward rule: mean 0, std 1") {
    options.singleton = r1::SingletonRule::raw_reward;
    check_values(run({0.7, 0.2}, 1, options), {0.7 / (1 + 1e-4), 0.2 / (1 + 1e-4)});
  }
  SUBCASE("one applicable reward in a larger group is a singleton") {
    options.singleton = r1::SingletonRule::raw_reward;
    options.estimator = r1::AdvantageEstimator::rloo;
    check_values(run({0.7, 5}, 2, options, {1, 0}), {0.7, 0});
  }
}

TEST_CASE("DAPO dynamic sampling drops groups with equal rewards") {
  r1::AdvantageOptions options;
  options.filter_zero_std_groups = true;
  const auto got = run({1, 1, 0, 1, 0, 0, 5, 5}, 2, options, {1, 1, 1, 1, 1, 1, 0, 0});
  CHECK(got.zero_std_groups == 3);  // {1,1}, {0,0}, and the group with no applicable reward
  CHECK(got.keep == std::vector<std::uint8_t>{0, 0, 1, 1, 0, 0, 0, 0});
}

TEST_CASE("grpo with batch scaling and with no scaling") {
  r1::AdvantageOptions options;
  const std::vector<double> rewards{1, 0, 3, 1};
  SUBCASE("batch") {
    options.scaling = r1::AdvantageScaling::batch;
    // Batch mean 1.25; squared deviations 0.0625 + 1.5625 + 3.0625 + 0.0625 = 4.75; sample variance 4.75 / 3.
    const double scale = std::sqrt(4.75 / 3.0) + 1e-4;
    check_values(run(rewards, 2, options), {0.5 / scale, -0.5 / scale, 1 / scale, -1 / scale});
  }
  SUBCASE("none") {
    options.scaling = r1::AdvantageScaling::none;
    check_values(run(rewards, 2, options), {0.5, -0.5, 1, -1});
  }
}

TEST_CASE("Dr. GRPO subtracts the group mean only (Liu et al. 2025, Eq. 3)") {
  r1::AdvantageOptions options;
  options.estimator = r1::AdvantageEstimator::dr_grpo;
  check_values(run({1, 0, 0, 0.5}, 4, options), {1 - 0.375, -0.375, -0.375, 0.5 - 0.375});
}

TEST_CASE("RLOO uses the leave-one-out mean (Ahmadian et al. 2024)") {
  r1::AdvantageOptions options;
  options.estimator = r1::AdvantageEstimator::rloo;
  check_values(run({1, 0, 0, 0.5}, 4, options), {1 - 0.5 / 3, 0 - 1.5 / 3, 0 - 1.5 / 3, 0.5 - 1.0 / 3});
}

TEST_CASE("REINFORCE++ whitens over all valid tokens (Hu 2025)") {
  r1::AdvantageOptions options;
  options.estimator = r1::AdvantageEstimator::reinforce_pp;
  const std::vector<double> rewards{1, 0, 1, 1};
  const std::vector<std::int32_t> lengths{2, 4, 1, 3};
  SUBCASE("no baseline") {
    // Tokens: 1 ×2, 0 ×4, 1 ×1, 1 ×3: 10 tokens, mean 0.6,
    // squared deviations 6 · 0.16 + 4 · 0.36 = 2.4, sample variance 2.4 / 9.
    const double scale = std::sqrt(2.4 / 9) + 1e-4;
    check_values(run(rewards, 2, options, {}, lengths), {0.4 / scale, -0.6 / scale, 0.4 / scale, 0.4 / scale});
  }
  SUBCASE("group-mean baseline first") {
    options.estimator = r1::AdvantageEstimator::reinforce_pp_baseline;
    // Centred: 0.5 ×2, −0.5 ×4, 0 ×1, 0 ×3: mean −0.1,
    // squared deviations 2 · 0.36 + 4 · 0.16 + 4 · 0.01 = 1.4, sample variance 1.4 / 9.
    const double scale = std::sqrt(1.4 / 9) + 1e-4;
    check_values(run(rewards, 2, options, {}, lengths), {0.6 / scale, -0.4 / scale, 0.1 / scale, 0.1 / scale});
  }
  SUBCASE("no lengths: one token per completion") {
    // Values 1, 0, 1, 1: mean 0.75, squared deviations 3 · 0.0625 + 0.5625 = 0.75, sample variance 0.25.
    const double scale = 0.5 + 1e-4;
    check_values(run(rewards, 2, options), {0.25 / scale, -0.75 / scale, 0.25 / scale, 0.25 / scale});
  }
}

TEST_CASE("bad advantage input raises r1::Error") {
  r1::AdvantageOptions options;
  CHECK_THROWS_AS(run({1, 0, 1}, 2, options), r1::Error);                     // not whole groups
  CHECK_THROWS_AS(run({1, 0}, 0, options), r1::Error);                        // group size 0
  CHECK_THROWS_AS(run({1, 0}, 2, options, {1}), r1::Error);                   // applicable size
  CHECK_THROWS_AS(run({1, 0}, 2, options, {}, {3}), r1::Error);               // lengths size
  CHECK_THROWS_AS(run({1, 0}, 2, options, {}, {3, -1}), r1::Error);           // negative length
  CHECK_THROWS_AS(run({1, std::nan("")}, 2, options), r1::Error);             // non-finite applicable reward
  CHECK_NOTHROW(run({1, std::nan("")}, 2, options, {1, 0}));                  // ...fine when not applicable
  options.eps = -1;
  CHECK_THROWS_AS(run({1, 0}, 2, options), r1::Error);
}

TEST_CASE("GrpoObjective::advantages uses its config") {
  r1::GrpoObjective objective{r1::GrpoConfig::dr_grpo()};
  const std::vector<double> rewards{1, 0};
  const auto got = objective.advantages({rewards, {}, 2, {}});
  check_values(got, {0.5, -0.5});
}
