// Runs before doctest's main: without a usable CUDA device the whole suite reports
// "skipped: <why>" (the CUDA error's name when the runtime failed, so a driver
// mismatch does not pass for "no GPU") and exits 77, which ctest shows as skipped.
// With R1_REQUIRE_GPU=1 (a machine that has a GPU) it fails instead, exit 1.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "r1/cuda/device.hpp"
#include "skip.hpp"

namespace {
bool usable_device() {
  const r1::gpu::DeviceQuery query = r1::gpu::query_devices();
  if (query.count > 0) return true;
  const char* required = std::getenv("R1_REQUIRE_GPU");
  if (required != nullptr && std::string(required) == "1") {
    std::printf("failed: R1_REQUIRE_GPU=1 but %s\n", query.reason().c_str());
    std::fflush(stdout);
    std::exit(1);
  }
  r1::test::skip_suite(query.reason().c_str());
}
[[maybe_unused]] const bool device_present = usable_device();
}  // namespace
