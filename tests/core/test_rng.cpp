#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "r1/core/rng.hpp"

// Known-answer vectors of Philox-4x32-10 from Random123's kat_vectors
// (Salmon et al., SC'11): counter, key -> output.
TEST_CASE("philox4x32-10 matches the published known-answer vectors") {
  using r1::philox4x32;
  CHECK(philox4x32({0, 0, 0, 0}, {0, 0}) == r1::PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        r1::PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
        r1::PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("RandomStream is a pure function of seed, indices and position") {
  const r1::RandomStream a{7, {1, 2, 3}}, b{7, {1, 2, 3}}, other_sample{7, {1, 2, 4}}, other_seed{8, {1, 2, 3}};
  for (std::uint32_t position = 0; position < 100; ++position) {
    CHECK(a.uniform(position) == b.uniform(position));
    CHECK(a.uniform(position) != other_sample.uniform(position));
    CHECK(a.uniform(position) != other_seed.uniform(position));
    CHECK(a.uniform(position) >= 0.0);
    CHECK(a.uniform(position) < 1.0);
  }
}

TEST_CASE("Philox generator: uniform mean and variance, restorable position") {
  r1::Philox generator{123};
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = generator.uniform();
    sum += u;
    sum_sq += u * u;
  }
  // Mean of U(0,1) is 1/2 with standard error sqrt(1/12/n) ~ 6.5e-4: allow 5 standard errors.
  // Variance 1/12 has standard error ~ sqrt(1/180/n) ~ 1.7e-4 (2% of 1/12 is ~10 of them).
  CHECK(std::abs(sum / n - 0.5) < 5 * 6.5e-4);
  CHECK(sum_sq / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12).epsilon(0.01));

  r1::Philox first{9};
  for (int i = 0; i < 7; ++i) first();
  const auto saved = first.position();
  std::vector<std::uint32_t> expected;
  for (int i = 0; i < 9; ++i) expected.push_back(first());
  r1::Philox resumed{9};
  resumed.set_position(saved);
  for (int i = 0; i < 9; ++i) CHECK(resumed() == expected[i]);
}
