#pragma once
// A per-thread verification deadline. verify_batch sets one around each item;
// r1's verifiers check it between stages and end with a "timed out" verdict
// instead of running on. Without a deadline set, checks always pass.
//
//   {
//     r1::ScopedVerificationDeadline deadline{/*budget_ms=*/50.0};
//     ... if (r1::verification_deadline_passed()) return timed_out_reward(); ...
//   }
#include <chrono>

namespace r1 {

namespace budget_detail {
inline std::chrono::steady_clock::time_point& thread_deadline() {
  thread_local std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  return deadline;
}
}  // namespace budget_detail

inline bool verification_deadline_passed() {
  const auto deadline = budget_detail::thread_deadline();
  return deadline != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() > deadline;
}

// Sets this thread's deadline to now + budget_ms (<= 0: none) and restores the previous one on exit.
class ScopedVerificationDeadline {
 public:
  explicit ScopedVerificationDeadline(double budget_ms) : previous_(budget_detail::thread_deadline()) {
    if (budget_ms > 0) {
      budget_detail::thread_deadline() =
          std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double, std::milli>(budget_ms));
    }
  }
  ~ScopedVerificationDeadline() { budget_detail::thread_deadline() = previous_; }
  ScopedVerificationDeadline(const ScopedVerificationDeadline&) = delete;
  ScopedVerificationDeadline& operator=(const ScopedVerificationDeadline&) = delete;

 private:
  std::chrono::steady_clock::time_point previous_;
};

}  // namespace r1
