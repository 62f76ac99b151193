#pragma once
// y (M, J) = x (M, K) W^T (+ y) for few rows M with W (J, K) stored in bf16: the decode step of a model
// sampling from bf16 weights (issue 26). Decoding is bound by streaming the weights (a 0.5B model's are 2 GB
// in fp32 per token), so halving their bytes is what counts. The tiling is few_rows_linear's
// (few_rows_linear.hpp); two weight loaders read bf16:
//  - Bf16DotWeights, where the CPU has AVX-512 BF16 (cpu_runs_avx512_bf16(): the build targets it, or a GCC
//    build for x86-64 compiled the kernel for it; bf16_instructions.hpp): vdpbf16ps (Intel SDM, "VDPBF16PS:
//    Dot Product of BF16 Pairs Accumulated into Packed Single Precision") multiplies 32 bf16 activations by
//    32 bf16 weights and adds each pair of products into one of 16 fp32 accumulators. The activations are
//    rounded to bf16 (vcvtne2ps2bf16: round to nearest even) once per call, so each product x w carries a
//    relative error of at most 2^-8 from x's rounding (bf16 keeps 8 significant bits) besides fp32
//    accumulation: |computed - x.w| <= (2^-8 + gamma_{K+1} (1 + 2^-8)) sum_k |x_k w_k| (Higham 2002, eq. 3.5,
//    gamma_n = n 2^-24 / (1 - n 2^-24)). Products of two bf16 are exact in fp32 (8 + 8 <= 24 significant
//    bits). vdpbf16ps treats subnormal inputs as zero and flushes subnormal sums to zero (SDM), an absolute
//    error below 2^-126 per term. The remainder of K (fewer than 32) goes through the same instruction with
//    masked loads, so every term is rounded and summed alike.
//  - WidenedBf16Weights elsewhere: each bf16 weight is widened exactly (its 16 bits become the high half of an
//    fp32) in registers and multiplied into fp32 accumulators against the fp32 activations: the fp32 kernel's
//    arithmetic on the rounded weights.
// Where the CPU also has AMX-BF16 (and the kernel grants the tiles), steps of 4 to 16 rows take the AMX tiles
// instead (few_rows_linear_amx.hpp: the same rounded operands, one fp32 sum along K per output).
// The sampled distribution is whichever path the build runs; the behaviour log-probs are computed from the
// logits it produced, so they are those of the distribution sampled from. few_rows_bf16_path() names it.
// Defining R1_FEW_ROWS_BF16_WIDEN selects the widening loader even where vdpbf16ps exists (bench twins).
#include <immintrin.h>

#include <Eigen/Core>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "r1/model/gemm/bf16_instructions.hpp"
#include "r1/model/gemm/bf16_rounding.hpp"
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/gemm/few_rows_linear_amx.hpp"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif

namespace r1 {

namespace detail {

// kLanes bf16 values at `from` widened to the build's fp32 packet (bf16 is the high half of an fp32).
inline SimdPacket<float> load_bf16_packet(const std::uint16_t* from) {
#if defined(__AVX512F__)
  static_assert(Eigen::internal::unpacket_traits<SimdPacket<float>>::size == 16);
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(from)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
#elif defined(__AVX2__)
  static_assert(Eigen::internal::unpacket_traits<SimdPacket<float>>::size == 8);
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(from)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
#else
  constexpr int kLanes = Eigen::internal::unpacket_traits<SimdPacket<float>>::size;
  alignas(64) float values[kLanes];
  for (int i = 0; i < kLanes; ++i) values[i] = std::bit_cast<float>(std::uint32_t{from[i]} << 16);
  return Eigen::internal::pload<SimdPacket<float>>(values);
#endif
}

inline float bf16_value(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }

// bf16 W widened to fp32 in registers; fp32 activations, products and sums (the fp32 loader's arithmetic).
struct WidenedBf16Weights : SameTypeWeights<float> {
  using Weight = std::uint16_t;
  using Output = float;
  static Weights load_weights(const std::uint16_t* w) { return load_bf16_packet(w); }
  // The remainder of K in scalars; the compiler may contract x w + sum into an FMA here and not in the fp32
  // loader's tail (or the reverse), so the two agree bitwise only where K is a multiple of kStep.
  static float finish(const Accumulator& acc, const float* x, const std::uint16_t* w, Eigen::Index k, Eigen::Index K) {
    float sum = Eigen::internal::predux(acc);
    for (; k < K; ++k) sum += x[k] * bf16_value(w[k]);
    return sum;
  }
};

#if R1_BF16_DOT_COMPILED
// The 16 lanes of v summed in halves: 8 pairs (i, i + 8), then 4, 2 and 1 (Eigen's predux order for AVX-512).
R1_TARGET_AVX512_BF16 inline float sum_of_lanes(__m512 v) {
  const __m256 eight = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
  const __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
  return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}

// bf16 W and bf16 activations (x rounded once per call, round_to_bf16), 32 per step, pairs of products summed
// into 16 fp32 lanes (vdpbf16ps). Compiled for AVX-512 BF16 whatever the build targets: its functions run
// only inside few_rows_linear_bf16_dot, into which the tiling is inlined.
struct Bf16DotWeights {
  using Input = std::uint16_t;
  using Weight = std::uint16_t;
  using Output = float;
  using Accumulator = __m512;
  using Inputs = __m512bh;
  using Weights = __m512bh;
  static constexpr Eigen::Index kStep = 32;
  R1_TARGET_AVX512_BF16 static Accumulator zero() { return _mm512_setzero_ps(); }
  R1_TARGET_AVX512_BF16 static Inputs load_inputs(const std::uint16_t* x) { return (__m512bh)_mm512_loadu_si512(x); }
  R1_TARGET_AVX512_BF16 static Weights load_weights(const std::uint16_t* w) {
    return (__m512bh)_mm512_loadu_si512(w);
  }
  R1_TARGET_AVX512_BF16 static Accumulator madd(const Inputs& x, const Weights& w, const Accumulator& acc) {
    return _mm512_dpbf16_ps(acc, x, w);
  }
  // The last K - k < 32 terms as one more masked step (masked-off lanes load zeros), then the lane sum.
  R1_TARGET_AVX512_BF16 static float finish(Accumulator acc, const std::uint16_t* x, const std::uint16_t* w,
                                            Eigen::Index k, Eigen::Index K) {
    if (const Eigen::Index rest = K - k; rest > 0) {
      const auto mask = static_cast<__mmask32>((std::uint64_t{1} << rest) - 1);
      acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_maskz_loadu_epi16(mask, x + k),
                             (__m512bh)_mm512_maskz_loadu_epi16(mask, w + k));
    }
    return sum_of_lanes(acc);
  }
};
#endif

}  // namespace detail

// True where few_rows_linear_bf16 multiplies with vdpbf16ps (bf16-rounded activations) in this process, false
// where it widens: the kernel is compiled and the CPU runs it.
inline bool few_rows_bf16_dot() {
#if R1_BF16_DOT_COMPILED && !defined(R1_FEW_ROWS_BF16_WIDEN)
  return cpu_runs_avx512_bf16();
#else
  return false;
#endif
}

// True where few_rows_linear_bf16 may multiply by AMX tiles (the kernel is compiled): it does where the CPU has
// AMX-BF16 and the kernel grants the tiles (amx_tiles_permitted()), for kAmxMinRows to kAmxMaxRows rows and K a
// multiple of kAmxStep; other calls take vdpbf16ps. The two round differently (one running sum along K against 16
// lane sums summed), so a row's logits depend on whether its step decoded fewer than kAmxMinRows rows; either way
// they are the logits the sampler draws from and scores. Defining R1_FEW_ROWS_BF16_NO_AMX keeps vdpbf16ps (bench twins).
#if R1_FEW_ROWS_HAS_AMX && !defined(R1_FEW_ROWS_BF16_WIDEN) && !defined(R1_FEW_ROWS_BF16_NO_AMX)
inline constexpr bool kFewRowsBf16MayUseAmx = true;
#else
inline constexpr bool kFewRowsBf16MayUseAmx = false;
#endif

// Whether few_rows_linear_bf16 takes the AMX tiles for an (M, K) x (K, J) product in this process.
inline bool few_rows_bf16_uses_amx([[maybe_unused]] Eigen::Index M, [[maybe_unused]] Eigen::Index K) {
#if R1_FEW_ROWS_HAS_AMX
  if constexpr (kFewRowsBf16MayUseAmx)
    return M >= kAmxMinRows && M <= kAmxMaxRows && K % kAmxStep == 0 && amx_tiles_permitted();
#endif
  return false;
}

// The arithmetic few_rows_linear_bf16 runs in this build and process, for benchmarks and logs.
inline const char* few_rows_bf16_path() {
#if R1_FEW_ROWS_HAS_AMX
  if (kFewRowsBf16MayUseAmx && amx_tiles_permitted()) {
    static const std::string amx = "amx tdpbf16ps at " + std::to_string(kAmxMinRows) + " to " +
                                   std::to_string(kAmxMaxRows) + " rows where K is a multiple of " +
                                   std::to_string(kAmxStep) +
                                   ", else avx512_bf16 vdpbf16ps (activations rounded to bf16, fp32 sums)";
    return amx.c_str();
  }
#endif
  if (few_rows_bf16_dot()) return "avx512_bf16 vdpbf16ps (activations rounded to bf16, fp32 sums)";
#if defined(__AVX512F__)
  return "bf16 widened to fp32, avx512f fma";
#elif defined(__AVX2__)
  return "bf16 widened to fp32, avx2 fma";
#else
  return "bf16 widened to fp32, scalar";
#endif
}

// y (M, J) at row stride y_stride = x (M, K) W^T, or y += x W^T when `accumulate`; W (J, K) bf16 row-major,
// every weight widened to fp32 (fp32 activations and arithmetic). Available in every build.
inline void few_rows_linear_bf16_widened(const float* x, Eigen::Index M, Eigen::Index K, const std::uint16_t* w,
                                         Eigen::Index J, float* y, Eigen::Index y_stride, bool accumulate) {
  detail::few_rows_linear_with<detail::WidenedBf16Weights>(x, M, K, w, J, y, y_stride, accumulate);
}

#if R1_BF16_DOT_COMPILED
// The same product by vdpbf16ps: x rounded to bf16 (nearest even) once (rounded_to_bf16), then bf16 x bf16
// products summed in fp32. Call only where cpu_runs_avx512_bf16().
R1_TARGET_AVX512_BF16 inline void few_rows_linear_bf16_dot(const float* x, Eigen::Index M, Eigen::Index K,
                                                           const std::uint16_t* w, Eigen::Index J, float* y,
                                                           Eigen::Index y_stride, bool accumulate) {
  detail::few_rows_linear_with<detail::Bf16DotWeights>(detail::rounded_to_bf16(x, M * K), M, K, w, J, y, y_stride,
                                                      accumulate);
}
#endif

// The decode step's product with bf16 weights: AMX tiles where few_rows_bf16_uses_amx(M, K), else vdpbf16ps
// where few_rows_bf16_dot(), else the widening loader.
inline void few_rows_linear_bf16(const float* x, Eigen::Index M, Eigen::Index K, const std::uint16_t* w, Eigen::Index J,
                                 float* y, Eigen::Index y_stride, bool accumulate) {
#if R1_FEW_ROWS_HAS_AMX
  if (few_rows_bf16_uses_amx(M, K)) return few_rows_linear_bf16_amx(x, M, K, w, J, y, y_stride, accumulate);
#endif
#if R1_BF16_DOT_COMPILED && !defined(R1_FEW_ROWS_BF16_WIDEN)
  if (few_rows_bf16_dot()) return few_rows_linear_bf16_dot(x, M, K, w, J, y, y_stride, accumulate);
#endif
  few_rows_linear_bf16_widened(x, M, K, w, J, y, y_stride, accumulate);
}

}  // namespace r1

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
