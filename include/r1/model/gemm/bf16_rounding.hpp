#pragma once
// Activations rounded to bf16 for the AVX-512 BF16 and AMX decode products (few_rows_linear_bf16.hpp,
// few_rows_linear_amx.hpp): both multiply bf16 by bf16, so the fp32 activations are rounded once per call.
// Compiled where bf16_instructions.hpp says the vdpbf16ps kernel is (R1_BF16_DOT_COMPILED); callable only where
// cpu_runs_avx512_bf16().
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "r1/model/gemm/bf16_instructions.hpp"

#if R1_BF16_DOT_COMPILED
#include <immintrin.h>
#endif

namespace r1::detail {

#if R1_BF16_DOT_COMPILED
// to[i] = from[i] rounded to bf16 for i < n, to nearest even (vcvtne2ps2bf16; subnormals become zero).
R1_TARGET_AVX512_BF16 inline void round_to_bf16(const float* from, Eigen::Index n, std::uint16_t* to) {
  Eigen::Index i = 0;
  for (; i + 32 <= n; i += 32)
    _mm512_storeu_si512(to + i, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(from + i + 16), _mm512_loadu_ps(from + i)));
  if (const Eigen::Index rest = n - i; rest > 0) {
    const auto mask = static_cast<__mmask32>((std::uint64_t{1} << rest) - 1);
    const __m512 low = _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), from + i);
    const __m512 high = rest > 16 ? _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask >> 16), from + i + 16)
                                  : _mm512_setzero_ps();
    _mm512_mask_storeu_epi16(to + i, mask, (__m512i)_mm512_cvtne2ps_pbh(high, low));
  }
}

// from[0, n) rounded to bf16 (round_to_bf16) into the calling thread's buffer, which grows to the largest n seen
// and is overwritten by the thread's next call.
R1_TARGET_AVX512_BF16 inline const std::uint16_t* rounded_to_bf16(const float* from, Eigen::Index n) {
  thread_local std::vector<std::uint16_t> rounded;
  if (static_cast<Eigen::Index>(rounded.size()) < n) rounded.resize(static_cast<std::size_t>(n));
  round_to_bf16(from, n, rounded.data());
  return rounded.data();
}
#endif

}  // namespace r1::detail
