#pragma once
// The verdict of one test, and how a finished sandbox run maps onto it.
#include <csignal>
#include <cstdint>
#include <optional>
#include <string_view>

#include "r1/reward/code/sandbox.hpp"

namespace r1::code {

enum class Verdict : std::uint8_t {
  accepted,
  wrong_answer,
  time_limit,     // CPU time of all threads over the limit (exactly, or SIGXCPU at RLIMIT_CPU) or wall-clock limit
  memory_limit,   // allocation failed under RLIMIT_AS (see classify_run)
  output_limit,   // stdout/stderr over the cap, or a file over RLIMIT_FSIZE / the tmpfs size
  runtime_error,  // non-zero exit or a signal (kept in TestResult::signal)
  compile_error,
  sandbox_error,  // the sandbox failed: not the program's fault
};

inline std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::accepted: return "accepted";
    case Verdict::wrong_answer: return "wrong answer";
    case Verdict::time_limit: return "time limit";
    case Verdict::memory_limit: return "memory limit";
    case Verdict::output_limit: return "output limit";
    case Verdict::runtime_error: return "runtime error";
    case Verdict::compile_error: return "compile error";
    case Verdict::sandbox_error: return "sandbox error";
  }
  return "unknown";
}

// Written to stderr by r1's C++ runtime when malloc, calloc or realloc returns null.
inline constexpr std::string_view kAllocationFailedMarker = "r1: allocation failed";

// The verdict of a run that did not end normally (anything but exit status 0),
// or nullopt when its output is to be compared.
//
// Memory: RLIMIT_AS makes allocations fail rather than kill, so running out shows
// as Python's MemoryError, C++'s std::bad_alloc (then abort), or a program that
// saw malloc return null and crashed or gave up: r1's C++ runtime (program.hpp)
// writes kAllocationFailedMarker then. Without it (a binary not built by r1), a
// crash with a peak resident size of at least 3/4 of the limit counts too.
// Files: Python ignores SIGXFSZ, so a file over RLIMIT_FSIZE shows as
// "[Errno 27] File too large", a full tmpfs as "[Errno 28] No space left".
inline std::optional<Verdict> classify_run(const SandboxResult& run, const SandboxLimits& limits) {
  switch (run.outcome) {
    case SandboxOutcome::sandbox_error: return Verdict::sandbox_error;
    case SandboxOutcome::wall_timeout: return Verdict::time_limit;
    case SandboxOutcome::output_limit: return Verdict::output_limit;
    case SandboxOutcome::exited:
    case SandboxOutcome::signaled: break;
  }
  // RLIMIT_CPU counts whole seconds; the exact limit is applied here, to the CPU
  // time the program process used (a run that finished but took too long).
  if (run.cpu_ms > static_cast<double>(limits.cpu_time_ms)) return Verdict::time_limit;
  const auto said = [&](std::string_view text) { return run.stderr_text.find(text) != std::string::npos; };
  const bool near_memory_limit =
      static_cast<double>(run.max_rss_kb) * 1024.0 >= 0.75 * static_cast<double>(limits.address_space_bytes);
  if (run.outcome == SandboxOutcome::signaled) {
    if (run.signal == SIGXCPU) return Verdict::time_limit;
    if (run.signal == SIGXFSZ) return Verdict::output_limit;
    if (said("std::bad_alloc") || said(kAllocationFailedMarker) || near_memory_limit) return Verdict::memory_limit;
    return Verdict::runtime_error;
  }
  if (run.exit_code == 0) return std::nullopt;
  if (said("MemoryError") || said("std::bad_alloc") || said(kAllocationFailedMarker)) return Verdict::memory_limit;
  if (said("File too large") || said("No space left on device")) return Verdict::output_limit;
  return Verdict::runtime_error;
}

}  // namespace r1::code
