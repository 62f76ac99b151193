#pragma once
// Which bf16 instructions the decode products may use: those the build targets, and, in a GCC build for
// x86-64 that does not target them (the default -mavx2 -mfma build), the same kernels compiled for them
// with function target attributes and chosen at run time where the CPU has them (GCC manual, "x86 Function
// Attributes": target("...")). A Zen 4 or a Sapphire Rapids running the default build then multiplies bf16
// weights with AVX-512 BF16 (and AMX on Sapphire Rapids) instead of widening them to fp32.
//
//   R1_BF16_DOT_COMPILED    the vdpbf16ps kernel and the bf16 rounding of activations exist in this build;
//   R1_BF16_DOT_TARGETED    ... and the build targets them (-march with AVX-512 BF16): no run-time choice;
//   R1_TARGET_AVX512_BF16   the attribute that compiles a function for them (empty where targeted);
//   cpu_runs_avx512_bf16()  whether this CPU runs them (true where targeted).
//
// The generic tiling (few_rows_linear.hpp) is then inlined whole into the kernel compiled for AVX-512, so that
// no AVX-512 vector crosses a call of the narrower target. Clang refuses AVX-512 vectors in the tiling's
// un-attributed templates, so only GCC builds choose at run time; a Clang build keeps what it targets.
#include <cstdint>

#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__)
#define R1_BF16_DOT_COMPILED 1
#define R1_BF16_DOT_TARGETED 1
#define R1_TARGET_AVX512_BF16
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(R1_NO_RUNTIME_DISPATCH)
#define R1_BF16_DOT_COMPILED 1
#define R1_BF16_DOT_TARGETED 0
#define R1_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#else
#define R1_BF16_DOT_COMPILED 0
#define R1_BF16_DOT_TARGETED 0
#endif

namespace r1 {

// Whether this process's CPU runs the vdpbf16ps kernel (AVX-512 F, BW, VL, DQ and BF16).
inline bool cpu_runs_avx512_bf16() {
#if R1_BF16_DOT_TARGETED
  return true;
#elif R1_BF16_DOT_COMPILED
  static const bool runs = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                           __builtin_cpu_supports("avx512bf16");
  return runs;
#else
  return false;
#endif
}

}  // namespace r1
