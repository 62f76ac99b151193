#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/train/trend.hpp"

namespace {
const double kNan = std::numeric_limits<double>::quiet_NaN();
}

TEST_CASE("window_means averages each run of steps, the last run over its own length") {
  const std::vector<double> values{1, 2, 3, 4, 5};
  const auto means = r1::window_means(values, 2);  // (1+2)/2, (3+4)/2, 5/1
  REQUIRE(means.size() == 3);
  CHECK(means[0] == doctest::Approx(1.5));
  CHECK(means[1] == doctest::Approx(3.5));
  CHECK(means[2] == doctest::Approx(5.0));
  CHECK(r1::window_means(values, 5) == std::vector<double>{3.0});
  CHECK(r1::window_means(values, 9) == std::vector<double>{3.0});
  CHECK(r1::window_means(std::vector<double>{}, 3).empty());
}

TEST_CASE("window_means leaves a skipped step's non-finite value out of its window") {
  const std::vector<double> values{1, kNan, 3, kNan, kNan};
  const auto means = r1::window_means(values, 2);  // {1}, {3}, {}
  REQUIRE(means.size() == 3);
  CHECK(means[0] == doctest::Approx(1.0));
  CHECK(means[1] == doctest::Approx(3.0));
  CHECK(std::isnan(means[2]));
  CHECK_THROWS_AS(r1::window_means(values, 0), r1::Error);
}

TEST_CASE("rise_span: the steps where 10% and 90% of the rise from the first window to the peak were reached") {
  // First 10, peak 30: the 10% mark is 12 (window 2, step 50), the 90% mark 28 (window 4, step 100).
  const std::vector<double> gradual{10, 10, 12, 20, 30, 30};
  const auto span = r1::rise_span(gradual, 25);
  REQUIRE(span.has_value());
  CHECK(span->first == 10);
  CHECK(span->peak == 30);
  CHECK(span->from_step == 50);
  CHECK(span->to_step == 100);
  CHECK(span->windows == 3);

  // A flip: both marks are passed in the same window.
  const auto flip = r1::rise_span(std::vector<double>{10, 10, 30, 30}, 25);
  REQUIRE(flip.has_value());
  CHECK(flip->from_step == 50);
  CHECK(flip->to_step == 50);
  CHECK(flip->windows == 1);

  // The peak counts even if the curve falls back after it; 11.9 is under the 10% mark (12).
  const auto dip = r1::rise_span(std::vector<double>{10, 11.9, 30, 20}, 10);
  REQUIRE(dip.has_value());
  CHECK(dip->from_step == 20);
  CHECK(dip->to_step == 20);

  // Other marks: 50% of 10 -> 30 is 20, reached in window 3; 100% in window 4.
  const auto half = r1::rise_span(gradual, 25, 0.5, 1.0);
  REQUIRE(half.has_value());
  CHECK(half->from_step == 75);
  CHECK(half->to_step == 100);

  // A non-finite window is skipped when looking for a mark.
  const auto gap = r1::rise_span(std::vector<double>{10, kNan, 30}, 5);
  REQUIRE(gap.has_value());
  CHECK(gap->from_step == 10);
}

TEST_CASE("rise_span: no rise, no span; bad marks and windows are errors") {
  CHECK_FALSE(r1::rise_span(std::vector<double>{}, 25).has_value());
  CHECK_FALSE(r1::rise_span(std::vector<double>{10, 9, 8}, 25).has_value());
  CHECK_FALSE(r1::rise_span(std::vector<double>{10, 10}, 25).has_value());
  CHECK_FALSE(r1::rise_span(std::vector<double>{kNan, 20}, 25).has_value());
  const std::vector<double> rising{1, 2};
  CHECK_THROWS_AS(r1::rise_span(rising, 0), r1::Error);
  CHECK_THROWS_AS(r1::rise_span(rising, 25, 0.0, 0.9), r1::Error);
  CHECK_THROWS_AS(r1::rise_span(rising, 25, 0.9, 0.1), r1::Error);
  CHECK_THROWS_AS(r1::rise_span(rising, 25, 0.1, 1.5), r1::Error);
}
