#pragma once
// One thread count for all of r1, set once: from a flag, else R1_THREADS, else
// the hardware. oneTBB honours it through tbb::global_control; an oversubscribed
// machine makes small GEMMs ~100x slower (shared/R1ZERO-TOY.md), so every parallel
// loop in r1 goes through this one pool.
#include <tbb/global_control.h>
#include <tbb/info.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "r1/core/error.hpp"

namespace r1 {

// Thread count from R1_THREADS when set, else `fallback` (0 = all cores).
inline int threads_from_environment(int fallback = 0) {
  if (const char* value = std::getenv("R1_THREADS"); value != nullptr && *value != '\0') {
    char* end = nullptr;
    const long parsed = std::strtol(value, &end, 10);
    require(end != value && *end == '\0' && parsed > 0 && parsed <= 4096,
            "R1_THREADS='", value, "': expected a positive integer");
    return static_cast<int>(parsed);
  }
  return fallback > 0 ? fallback : tbb::info::default_concurrency();
}

// Holds the process-wide limit while alive. Create one in main():
//   r1::ThreadLimit threads{flag_value};   // 0 = R1_THREADS or all cores
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads = 0)
      : count_(threads > 0 ? threads : threads_from_environment()),
        control_(std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                       static_cast<std::size_t>(count_))) {}
  int count() const { return count_; }

 private:
  int count_;
  std::unique_ptr<tbb::global_control> control_;
};

// The parallelism oneTBB will use now.
inline int active_threads() {
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

}  // namespace r1
