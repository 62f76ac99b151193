#pragma once
// A suite that cannot run here says so and exits 77, which ctest reports as skipped.
#include <cstdio>
#include <cstdlib>

namespace r1::test {
[[noreturn]] inline void skip_suite(const char* why) {
  std::printf("skipped: %s\n", why);
  std::fflush(stdout);
  std::exit(77);
}
}  // namespace r1::test
