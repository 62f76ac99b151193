#pragma once
// The seccomp-BPF filter every sandboxed program runs under (linux/seccomp.h,
// Documentation/userspace-api/seccomp_filter.rst). It is the network barrier when
// no network namespace can be made, and a second barrier when one can:
//   - socket() of any family fails with EACCES: no TCP/UDP, no abstract or
//     filesystem unix sockets (socketpair(), which connects to nothing, stays);
//   - io_uring_setup() fails with ENOSYS, since io_uring's IORING_OP_SOCKET would
//     create sockets without passing through the socket() system call;
//   - a system call of another ABI (i386 via int 0x80, x32) kills the process,
//     so the numbers checked above cannot be dodged.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <array>
#include <cerrno>
#include <cstddef>

namespace r1::code {

#if defined(__x86_64__)
inline constexpr unsigned kSeccompNativeArch = AUDIT_ARCH_X86_64;
inline constexpr unsigned kSeccompForeignAbiBit = 0x40000000u;  // __X32_SYSCALL_BIT
#elif defined(__aarch64__)
inline constexpr unsigned kSeccompNativeArch = AUDIT_ARCH_AARCH64;
inline constexpr unsigned kSeccompForeignAbiBit = 0xffffffffu;  // no second ABI sharing the arch value
#else
#error "r1/reward/code: the seccomp filter knows x86_64 and aarch64 only"
#endif

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

// The filter as a BPF program. Static storage: the sandbox's child process
// installs it between fork and exec, where it must not allocate.
inline const sock_fprog& network_deny_filter() {
  static constexpr std::array<sock_filter, 11> program{{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kSeccompNativeArch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kSeccompForeignAbiBit, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  }};
  static const sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
  return fprog;
}

}  // namespace r1::code
