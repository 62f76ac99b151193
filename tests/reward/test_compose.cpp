// r1::Sum (compile time) and r1::RewardList (run time): weighted totals, each
// component reported by name, "not applicable" parts left out.
#include <doctest/doctest.h>

#include "r1/concepts.hpp"
#include "r1/reward/compose.hpp"
#include "r1/reward/format.hpp"
#include "r1/reward/math_answer.hpp"

namespace {
struct Constant {
  double value = 0.0;
  std::string_view name() const { return "constant"; }
  r1::Reward operator()(const r1::Problem&, std::string_view) const {
    r1::Reward reward;
    reward.score = value;
    return reward;
  }
};
struct NeverApplicable {
  std::string_view name() const { return "never"; }
  r1::Reward operator()(const r1::Problem&, std::string_view) const { return r1::Reward::not_applicable("why not"); }
};
struct MissingName {
  r1::Reward operator()(const r1::Problem&, std::string_view) const { return {}; }
};
double component(const r1::Reward& reward, std::string_view name) {
  for (const auto& c : reward.components)
    if (c.name == name) return c.score;
  FAIL("no component ", name);
  return 0.0;
}
}  // namespace

static_assert(r1::RewardVerifier<r1::Sum<r1::MathAnswer, r1::R1Format>>);
static_assert(r1::RewardVerifier<r1::RewardList>);
static_assert(r1::RewardVerifier<r1::AnyVerifier>);
static_assert(!r1::RewardVerifier<MissingName>);

TEST_CASE("Sum: weighted total, unweighted components by name") {
  r1::Problem problem;
  problem.answer = "4";
  const r1::Sum<r1::MathAnswer, r1::R1Format> reward{{1.0, 0.5}};
  const auto right = reward(problem, "<think>2+2</think><answer>4</answer>");
  CHECK(right.score == 1.5);  // 1 * 1 + 0.5 * 1
  REQUIRE(right.components.size() == 2);
  CHECK(right.components[0].name == "accuracy");
  CHECK(right.components[1].name == "format");
  CHECK(component(right, "format") == 1.0);
  CHECK(right.extracted == "4");
  const auto badly_formed = reward(problem, "2+2 = \\boxed{4}");
  CHECK(badly_formed.score == 1.0);  // accuracy only
  CHECK(component(badly_formed, "format") == 0.0);
  const auto wrong = reward(problem, "<think>2+2</think><answer>5</answer>");
  CHECK(wrong.score == 0.5);
  const r1::Sum<r1::MathAnswer, r1::R1Format> equal_weights;
  CHECK(equal_weights(problem, "<think>2+2</think><answer>4</answer>").score == 2.0);
}

TEST_CASE("Sum: not-applicable parts are left out; all out makes the sum not applicable") {
  const r1::Sum<Constant, NeverApplicable> partly{{2.0, 5.0}, Constant{0.25}, NeverApplicable{}};
  const auto reward = partly(r1::Problem{}, "x");
  CHECK(reward.applicable);
  CHECK(reward.score == 0.5);
  REQUIRE(reward.components.size() == 1);
  CHECK(reward.components[0].name == "constant");
  CHECK(reward.reason.find("not applicable: never") != std::string::npos);
  const r1::Sum<NeverApplicable> none;
  CHECK_FALSE(none(r1::Problem{}, "x").applicable);
  // accuracy without a gold answer is not applicable: format alone counts
  const r1::Sum<r1::MathAnswer, r1::R1Format> reward_without_gold;
  const auto format_only = reward_without_gold(r1::Problem{}, "<think>a</think><answer>1</answer>");
  CHECK(format_only.score == 1.0);
  CHECK(format_only.components.size() == 1);
}

TEST_CASE("nested sums report their leaves") {
  using Inner = r1::Sum<Constant, Constant>;
  const r1::Sum<Inner, r1::TagCount> nested{{1.0, 1.0}, Inner{{1.0, 3.0}, Constant{1.0}, Constant{2.0}}, r1::TagCount{}};
  const auto reward = nested(r1::Problem{}, "<think></think>");
  CHECK(reward.score == 7.5);  // (1*1 + 3*2) + 0.5
  REQUIRE(reward.components.size() == 3);
  CHECK(reward.components[2].name == "tag_count");
}

TEST_CASE("RewardList: run-time composition matches Sum") {
  r1::Problem problem;
  problem.answer = "\\frac{1}{2}";
  r1::RewardList list;
  list.add(r1::MathAnswer{}, 1.0).add(r1::R1Format{}, 0.5);
  list.add(r1::AnyVerifier("length_bonus", [](const r1::Problem&, std::string_view text) {
             r1::Reward reward;
             reward.score = text.size() < 100 ? 1.0 : 0.0;
             return reward;
           }),
           0.1);
  const r1::Sum<r1::MathAnswer, r1::R1Format> sum{{1.0, 0.5}};
  for (const std::string_view completion : {"<think>x</think><answer>0.5</answer>", "\\boxed{1/2}", "<answer>2</answer>"}) {
    const auto from_list = list(problem, completion);
    const auto from_sum = sum(problem, completion);
    CHECK(from_list.score == doctest::Approx(from_sum.score + 0.1).epsilon(1e-15));
    CHECK(component(from_list, "accuracy") == component(from_sum, "accuracy"));
    CHECK(component(from_list, "length_bonus") == 1.0);
  }
  CHECK_THROWS_AS(r1::RewardList{}(problem, "x"), r1::Error);
}
