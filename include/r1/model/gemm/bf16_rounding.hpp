#pragma once
// Activations rounded to bf16 for the AVX-512 BF16 and AMX decode products (few_rows_linear_bf16.hpp,
// few_rows_linear_amx.hpp): both multiply bf16 by bf16, so the fp32 activations are rounded once per call.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512F__)
#define R1_FEW_ROWS_BF16_HAS_DOT 1
#include <immintrin.h>
#else
#define R1_FEW_ROWS_BF16_HAS_DOT 0
#endif

namespace r1::detail {

#if R1_FEW_ROWS_BF16_HAS_DOT
// to[i] = from[i] rounded to bf16 for i < n, to nearest even (vcvtne2ps2bf16; subnormals become zero).
inline void round_to_bf16(const float* from, Eigen::Index n, std::uint16_t* to) {
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
inline const std::uint16_t* rounded_to_bf16(const float* from, Eigen::Index n) {
  thread_local std::vector<std::uint16_t> rounded;
  if (static_cast<Eigen::Index>(rounded.size()) < n) rounded.resize(static_cast<std::size_t>(n));
  round_to_bf16(from, n, rounded.data());
  return rounded.data();
}
#endif

}  // namespace r1::detail
