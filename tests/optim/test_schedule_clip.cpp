// Learning-rate schedules at chosen steps, and global gradient-norm clipping.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include <tbb/global_control.h>

#include "r1/optim/adamw.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/optim/schedule.hpp"

namespace {
// Schedules compute in double and round once to float: 2^-24 relative.
constexpr double schedule_tolerance = 1e-7;
}  // namespace

TEST_CASE("constant and linear warm-up") {
  CHECK(r1::ConstantSchedule{0.3f}(0) == 0.3f);
  CHECK(r1::ConstantSchedule{0.3f}(1000) == 0.3f);
  const r1::LinearWarmupSchedule warmup{2.0f, 4};
  CHECK(warmup(0) == 0.0f);  // HF's warm-up starts at 0
  CHECK(warmup(3) == doctest::Approx(1.5).epsilon(schedule_tolerance));
  CHECK(warmup(4) == 2.0f);
  CHECK(warmup(100) == 2.0f);
}

TEST_CASE("cosine with warm-up and a floor (SGDR Eq. 5)") {
  const r1::CosineSchedule cosine{1.0f, 10, 110, 0.1f};
  CHECK(cosine(0) == 0.0f);
  CHECK(cosine(5) == doctest::Approx(0.5).epsilon(schedule_tolerance));
  CHECK(cosine(10) == doctest::Approx(1.0).epsilon(schedule_tolerance));
  // p = 25/100: 0.1 + 0.9 · ½ (1 + cos(π/4))
  CHECK(cosine(35) == doctest::Approx(0.1 + 0.45 * (1 + std::sqrt(0.5))).epsilon(schedule_tolerance));
  CHECK(cosine(60) == doctest::Approx(0.55).epsilon(schedule_tolerance));  // p = ½
  CHECK(cosine(110) == doctest::Approx(0.1).epsilon(schedule_tolerance));
  CHECK(cosine(500) == doctest::Approx(0.1).epsilon(schedule_tolerance));  // held at the floor
}

TEST_CASE("warm-up–stable–decay (MiniCPM)") {
  r1::WsdSchedule wsd{1.0f, 10, 100, 20, 0.0f};
  CHECK(wsd(5) == doctest::Approx(0.5).epsilon(schedule_tolerance));
  CHECK(wsd(50) == 1.0f);
  CHECK(wsd(80) == doctest::Approx(1.0).epsilon(schedule_tolerance));  // decay starts at 100 − 20
  CHECK(wsd(85) == doctest::Approx(0.75).epsilon(schedule_tolerance));
  CHECK(wsd(90) == doctest::Approx(0.5).epsilon(schedule_tolerance));
  CHECK(wsd(100) == doctest::Approx(0.0).epsilon(schedule_tolerance));
  wsd.decay = r1::WsdSchedule::Decay::cosine;
  CHECK(wsd(85) == doctest::Approx(0.5 * (1 + std::cos(std::numbers::pi / 4))).epsilon(schedule_tolerance));
  CHECK(wsd(90) == doctest::Approx(0.5).epsilon(schedule_tolerance));
}

TEST_CASE("schedules from JSON") {
  const auto cosine = r1::LrSchedule::from_json(
      r1::Json{{"type", "cosine"}, {"lr", 1.0}, {"warmup_steps", 10}, {"total_steps", 110}, {"min_lr", 0.1}});
  CHECK(cosine(60) == doctest::Approx(0.55).epsilon(schedule_tolerance));
  CHECK(r1::LrSchedule::from_json(r1::Json{{"type", "constant"}, {"lr", 3e-6}})(7) == 3e-6f);
  CHECK(r1::LrSchedule::from_json(r1::Json{{"type", "linear_warmup"}, {"lr", 1.0}, {"warmup_steps", 4}})(1) == 0.25f);
  const auto wsd = r1::LrSchedule::from_json(r1::Json{
      {"type", "wsd"}, {"lr", 1.0}, {"warmup_steps", 10}, {"total_steps", 100}, {"decay_steps", 20}, {"decay", "linear"}});
  CHECK(wsd(90) == doctest::Approx(0.5).epsilon(schedule_tolerance));
  CHECK_THROWS_AS(r1::LrSchedule::from_json(r1::Json{{"type", "step"}}), r1::Error);
  CHECK_THROWS_WITH_AS(r1::LrSchedule::from_json(r1::Json{{"type", "constant"}, {"warmup", 3}}),
                       doctest::Contains("warmup"), r1::Error);
  CHECK_THROWS_AS(r1::LrSchedule::from_json(r1::Json{{"type", "cosine"}, {"warmup_steps", 10}, {"total_steps", 10}}),
                  r1::Error);
  CHECK_THROWS_AS(r1::LrSchedule::from_json(r1::Json{{"type", "constant"}, {"lr", -1}}), r1::Error);
  CHECK_THROWS_AS(r1::LrSchedule::from_json(
                      r1::Json{{"type", "wsd"}, {"warmup_steps", 50}, {"total_steps", 60}, {"decay_steps", 20}}),
                  r1::Error);
}

TEST_CASE("clip_grad_norm scales by max_norm / (‖g‖ + 1e-6) and returns the norm before clipping") {
  std::vector<float> a_value(2), a_grad{3, 4}, b_value(1), b_grad{12};
  std::vector<r1::ParameterView> params{{"a", {2}, a_value, a_grad, true}, {"b", {1}, b_value, b_grad, false}};
  CHECK(r1::clip_grad_norm(params, 100) == doctest::Approx(13));  // ‖(3, 4, 12)‖ = 13: under the bound
  CHECK(a_grad[0] == 3.0f);
  CHECK(r1::clip_grad_norm(params, 6.5) == doctest::Approx(13));
  const double coefficient = 6.5 / (13 + 1e-6);
  // One float multiply per value: 2^-24 relative.
  CHECK(a_grad[0] == doctest::Approx(3 * coefficient).epsilon(1e-7));
  CHECK(a_grad[1] == doctest::Approx(4 * coefficient).epsilon(1e-7));
  CHECK(b_grad[0] == doctest::Approx(12 * coefficient).epsilon(1e-7));
  CHECK(r1::global_grad_norm(params) == doctest::Approx(6.5).epsilon(1e-6));
  // With a tiny norm the + 1e-6 of torch's formula shows: ‖(3e-4, 4e-4)‖ = 5e-4, and
  // the coefficient 1e-4 / (5e-4 + 1e-6) differs from 1e-4 / 5e-4 by 0.2 %.
  std::vector<float> tiny_value(2), tiny_grad{3e-4f, 4e-4f};
  std::vector<r1::ParameterView> tiny{{"tiny", {2}, tiny_value, tiny_grad, true}};
  const double tiny_norm = std::hypot(double(3e-4f), double(4e-4f));
  CHECK(r1::clip_grad_norm(tiny, 1e-4) == doctest::Approx(tiny_norm).epsilon(1e-12));
  CHECK(tiny_grad[1] == doctest::Approx(double(4e-4f) * 1e-4 / (tiny_norm + 1e-6)).epsilon(1e-7));
  const float before = b_grad[0];
  CHECK(r1::clip_grad_norm(params, 0) == doctest::Approx(6.5).epsilon(1e-6));  // 0: measure only
  CHECK(b_grad[0] == before);
  a_grad[1] = std::numeric_limits<float>::infinity();
  CHECK(std::isinf(r1::clip_grad_norm(params, 1)));
  CHECK(b_grad[0] == before);  // left alone for the caller to skip the step
  a_grad[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(r1::clip_grad_norm(params, 1)));
  CHECK_THROWS_AS(r1::clip_grad_norm(params, std::nan("")), r1::Error);
}

TEST_CASE("norm and AdamW update do not depend on the thread count") {
  // 300 001 values: several parallel tasks of 2^15, with a ragged last one.
  const std::size_t n = 300001;
  std::vector<float> value(n), grad(n);
  for (std::size_t k = 0; k < n; ++k) {
    value[k] = static_cast<float>(std::sin(0.001 * static_cast<double>(k)));
    grad[k] = static_cast<float>(std::cos(0.003 * static_cast<double>(k)));
  }
  double serial = 0;
  for (float g : grad) serial += static_cast<double>(g) * g;
  auto run = [&](std::size_t threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    std::vector<float> v = value, g = grad;
    std::vector<r1::ParameterView> params{{"w", {static_cast<std::int64_t>(n)}, v, g, true}};
    const double norm = r1::global_grad_norm(params);
    r1::AdamW adam;
    adam.step(params);
    adam.step(params);
    return std::pair{norm, v};
  };
  const auto [norm1, values1] = run(1);
  const auto [norm2, values2] = run(2);
  CHECK(norm1 == norm2);      // the same reduction tree
  CHECK(values1 == values2);  // element-wise: bitwise equal
  // A different summation order of n positive double terms: relative error ≤ n · 2^-53 ≈ 3.3e-11.
  CHECK(norm1 == doctest::Approx(std::sqrt(serial)).epsilon(3.4e-11));
}
