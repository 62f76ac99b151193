#pragma once
// Helpers for the kernel-vs-CPU tests: random inputs that are exact in the storage
// type (so the double reference sees the very values the kernel reads), uploads in
// either storage type, downloads to float, and an element-wise comparison against
// a per-element error bound that each test derives.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "r1/cuda/arena.hpp"
#include "r1/cuda/dtype.hpp"
#include "r1/cuda/math/bf16.hpp"

namespace r1::test {

inline constexpr double u32 = gpu::fp32_unit_roundoff;   // 2^-24
inline constexpr double u16 = gpu::bf16_unit_roundoff;   // 2^-8

// Unit roundoff of the storage type: what rounding a result into it costs, relatively.
template <class T>
inline constexpr double storage_roundoff = std::is_same_v<T, float> ? 0.0 : gpu::bf16_unit_roundoff;

// Normal(0, scale) values rounded to T's precision (returned as double).
template <class T>
std::vector<double> random_values(std::size_t n, unsigned seed, double scale = 1.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(n);
  for (auto& v : values) {
    const float f = static_cast<float>(normal(rng));
    v = std::is_same_v<T, float> ? f : gpu::round_to_bf16(f);
  }
  return values;
}

template <class T>
T to_storage(double v) {
  if constexpr (std::is_same_v<T, float>)
    return static_cast<float>(v);
  else
    return __float2bfloat16_rn(static_cast<float>(v));
}
template <class T>
double from_storage(T v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return __bfloat162float(v);
}

template <class T>
gpu::DeviceSpan<T> upload(gpu::DeviceArena& arena, const std::vector<double>& values, const char* name) {
  std::vector<T> host(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) host[i] = to_storage<T>(values[i]);
  auto device = arena.allocate<T>(values.size(), name);
  gpu::copy_to_device<T>(std::span<const T>(host), device, nullptr, name);
  return device;
}

template <class T>
gpu::DeviceSpan<T> upload_exact(gpu::DeviceArena& arena, const std::vector<T>& values, const char* name) {
  auto device = arena.allocate<T>(values.size(), name);
  gpu::copy_to_device<T>(std::span<const T>(values), device, nullptr, name);
  return device;
}

template <class T>
std::vector<double> download(gpu::DeviceSpan<T> device) {
  const auto host = gpu::copy_to_host(device, nullptr, "download");
  std::vector<double> values(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) values[i] = from_storage<T>(host[i]);
  return values;
}

// Every |got_i - expected_i| <= bound_i; reports the worst element on failure.
inline void check_within(const std::vector<double>& got, const std::vector<double>& expected,
                         const std::vector<double>& bound, const std::string& what) {
  REQUIRE(got.size() == expected.size());
  REQUIRE(bound.size() == expected.size());
  std::size_t worst = 0;
  double worst_ratio = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double ratio = std::abs(got[i] - expected[i]) / bound[i];
    if (!(ratio <= worst_ratio)) worst_ratio = ratio, worst = i;  // NaN counts as worst
  }
  INFO(what, ": worst element ", worst, " got ", got[worst], " expected ", expected[worst], " bound ", bound[worst]);
  CHECK(worst_ratio <= 1.0);
}

}  // namespace r1::test
