// Runs before doctest's main: without a CUDA device the whole suite reports
// "skipped: no CUDA device" and exits 77, which ctest shows as skipped.
#include "r1/cuda/device.hpp"
#include "skip.hpp"

namespace {
[[maybe_unused]] const bool device_present = r1::gpu::has_device() || (r1::test::skip_suite("no CUDA device"), false);
}
