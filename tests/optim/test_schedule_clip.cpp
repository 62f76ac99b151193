// Learning-rate schedules at chosen steps, and global gradient-norm clipping.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <vector>

#include <tbb/global_control.h>

#include "r1/optim/adamw.hpp"
#include "r1/optim/clip_grad_norm.hpp"
#include "r1/optim/schedule.hpp"
#include "r1/optim/sgd.hpp"

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

namespace {
// Values of k-dependent size and sign, some tiny, so v spans many magnitudes.
std::vector<float> wave(std::size_t n, double frequency, double scale) {
  std::vector<float> out(n);
  for (std::size_t k = 0; k < n; ++k) out[k] = static_cast<float>(scale * std::sin(frequency * static_cast<double>(k)));
  return out;
}

// Two steps of `Optimizer` on one parameter of n values that starts `offset` floats into its buffers, at `threads`
// threads; returns the values.
template <class Optimizer, class Config>
std::vector<float> two_steps(const Config& config, std::size_t n, std::size_t offset, std::size_t threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  std::vector<float> value(offset, 0.0f), grad(offset, 0.0f);
  const auto v0 = wave(n, 0.001, 1.0), g0 = wave(n, 0.003, 1e-3);
  value.insert(value.end(), v0.begin(), v0.end());
  grad.insert(grad.end(), g0.begin(), g0.end());
  std::vector<r1::ParameterView> params{{"w", {static_cast<std::int64_t>(n)},
                                         std::span(value).subspan(offset), std::span(grad).subspan(offset), true}};
  Optimizer optimizer(config);
  optimizer.step(params);
  optimizer.step(params);
  return {value.begin() + static_cast<std::ptrdiff_t>(offset), value.end()};
}

// Each value's update is a function of its own value, gradient and moments only: the same bits whatever the
// thread count, the address of the buffer, or where the value falls in its parameter (first, middle, ragged
// end, or alone). Under the loops this replaced, AVX2 builds failed it: Eigen ran the vectorised body with an
// approximate packet sqrt and the unaligned head and ragged tail with std::sqrt, and the head moved with the
// split points and the address.
template <class Optimizer, class Config>
void check_update_is_elementwise(const Config& config) {
  // 300 001 values: several parallel tasks of 2^15 and a ragged last block.
  const std::size_t n = 300001;
  const auto reference = two_steps<Optimizer>(config, n, 0, 1);
  for (std::size_t threads : {2, 3, 4})
    for (std::size_t offset : {0, 1, 3, 8}) {
      CAPTURE(threads);
      CAPTURE(offset);
      CHECK(two_steps<Optimizer>(config, n, offset, threads) == reference);
    }
  // Each value alone, or among a few: goes through the padded last block.
  const auto v0 = wave(n, 0.001, 1.0), g0 = wave(n, 0.003, 1e-3);
  for (std::size_t k : {std::size_t{0}, std::size_t{5}, std::size_t{17}, std::size_t{1000}, n - 1}) {
    std::vector<float> value{v0[k]}, grad{g0[k]};
    std::vector<r1::ParameterView> params{{"w", {1}, value, grad, true}};
    Optimizer optimizer(config);
    optimizer.step(params);
    optimizer.step(params);
    CAPTURE(k);
    CHECK(value[0] == reference[k]);
  }
}
}  // namespace

TEST_CASE("AdamW and SGD: each value's update is the same at any thread count, address and position") {
  check_update_is_elementwise<r1::AdamW>(r1::AdamWConfig{});
  check_update_is_elementwise<r1::AdamW>(r1::AdamWConfig{0.01f, 0.9f, 0.95f, 1e-6f, 0.1f});
  check_update_is_elementwise<r1::Sgd>(r1::SgdConfig{0.1f, 0.9f, 0.0f, 0.01f, true});
  check_update_is_elementwise<r1::Sgd>(r1::SgdConfig{0.1f, 0.5f, 0.25f, 0.0f, false});
}

TEST_CASE("the gradient norm does not depend on the thread count") {
  const std::size_t n = 300001;
  auto grad = wave(n, 0.003, 1.0);
  double serial = 0;
  for (float g : grad) serial += static_cast<double>(g) * g;
  std::vector<float> value(n, 0.0f);
  std::vector<r1::ParameterView> params{{"w", {static_cast<std::int64_t>(n)}, value, grad, true}};
  auto norm_at = [&](std::size_t threads) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    return r1::global_grad_norm(params);
  };
  const double norm1 = norm_at(1);
  CHECK(norm_at(2) == norm1);  // the same reduction tree
  CHECK(norm_at(3) == norm1);
  // A different summation order of n positive double terms: relative error ≤ n · 2^-53 ≈ 3.3e-11.
  CHECK(norm1 == doctest::Approx(std::sqrt(serial)).epsilon(3.4e-11));
}
