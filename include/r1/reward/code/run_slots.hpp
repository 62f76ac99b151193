#pragma once
// The process-wide bound on simultaneous sandboxed runs. Each run holds one slot
// for its whole life; the slot gives it a user id no other run of any process
// holds at the same time, so that RLIMIT_NPROC counts only this run's processes
// and "kill every process of this uid" (kill(-1) as that uid) kills only this run.
//
//   uid = kSandboxUidBase + pid * kMaxRunSlots + slot
//
// pid is the caller's process id (at most 2^22 on Linux), so two processes using
// r1 at once (two ctest suites, two trainers) never share a uid; the largest
// value, 100000 + 2^22 * 64 + 63, is below 2^31.
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "r1/core/error.hpp"

namespace r1::code {

inline constexpr std::uint32_t kSandboxUidBase = 100000;
inline constexpr int kMaxRunSlots = 64;

// The first uid (inclusive) and the last (exclusive) this process runs programs as.
inline std::uint32_t sandbox_uid_begin() {
  return kSandboxUidBase + static_cast<std::uint32_t>(::getpid()) * static_cast<std::uint32_t>(kMaxRunSlots);
}
inline std::uint32_t sandbox_uid_end() { return sandbox_uid_begin() + kMaxRunSlots; }

class RunSlots {
 public:
  explicit RunSlots(int capacity) : in_use_(kMaxRunSlots, false) { set_capacity(capacity); }

  // At most `capacity` runs at once (1..64); lowering it lets running runs finish.
  void set_capacity(int capacity) {
    require(capacity >= 1 && capacity <= kMaxRunSlots, "sandbox run slots: capacity ", capacity,
            " out of range: expected 1..", kMaxRunSlots);
    std::lock_guard lock(mutex_);
    capacity_ = capacity;
    freed_.notify_all();
  }
  int capacity() const {
    std::lock_guard lock(mutex_);
    return capacity_;
  }

  // Blocks until a slot is free; returns its index.
  int acquire() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [&] { return busy_ < capacity_; });
    const auto free_slot = std::find(in_use_.begin(), in_use_.end(), false);
    const int slot = static_cast<int>(free_slot - in_use_.begin());
    in_use_[static_cast<std::size_t>(slot)] = true;
    ++busy_;
    return slot;
  }
  void release(int slot) {
    {
      std::lock_guard lock(mutex_);
      in_use_[static_cast<std::size_t>(slot)] = false;
      --busy_;
    }
    freed_.notify_one();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<bool> in_use_;
  int capacity_ = 1;
  int busy_ = 0;
};

// The one pool of this process; by default as many slots as hardware threads.
inline RunSlots& sandbox_run_slots() {
  static RunSlots slots{std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxRunSlots)};
  return slots;
}

// Holds a slot for a scope.
class RunSlot {
 public:
  RunSlot() : slot_(sandbox_run_slots().acquire()) {}
  ~RunSlot() { sandbox_run_slots().release(slot_); }
  RunSlot(const RunSlot&) = delete;
  RunSlot& operator=(const RunSlot&) = delete;
  int index() const { return slot_; }
  std::uint32_t uid() const { return sandbox_uid_begin() + static_cast<std::uint32_t>(slot_); }

 private:
  int slot_;
};

}  // namespace r1::code
