#pragma once
// y (M, J) = x (M, K) W^T (+ y) for few rows M with W (J, K) stored in bf16: the decode step of a model
// sampling from bf16 weights (issue 26). Decoding is bound by streaming the weights (a 0.5B model's are 2 GB
// in fp32 per token), so halving their bytes is what counts; the arithmetic stays fp32: each bf16 weight is
// widened exactly (its 16 bits become the high half of an fp32) in registers and multiplied into fp32
// accumulators against fp32 activations. The tiling is few_rows_linear's (few_rows_linear.hpp): a tile of
// (rows of x) x (rows of W) dot products along K, W read where it lies, once per block of rows of x.
#include <immintrin.h>

#include <Eigen/Core>
#include <bit>
#include <cstdint>

#include "r1/model/gemm/few_rows_linear.hpp"

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

template <int RowsX, int RowsW>
inline void few_rows_tile_bf16(const float* x, Eigen::Index x_stride, const std::uint16_t* w, Eigen::Index K, float* out,
                               Eigen::Index out_stride, bool accumulate) {
  using Packet = SimdPacket<float>;
  constexpr Eigen::Index kLanes = Eigen::internal::unpacket_traits<Packet>::size;
  Packet acc[RowsX][RowsW];
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) acc[m][j] = Eigen::internal::pset1<Packet>(0.0f);
  Eigen::Index k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    Packet weights[RowsW];
    for (int j = 0; j < RowsW; ++j) weights[j] = load_bf16_packet(w + j * K + k);
    for (int m = 0; m < RowsX; ++m) {
      const Packet inputs = Eigen::internal::ploadu<Packet>(x + m * x_stride + k);
      for (int j = 0; j < RowsW; ++j) acc[m][j] = Eigen::internal::pmadd(inputs, weights[j], acc[m][j]);
    }
  }
  for (int m = 0; m < RowsX; ++m)
    for (int j = 0; j < RowsW; ++j) {
      float sum = Eigen::internal::predux(acc[m][j]);
      for (Eigen::Index tail = k; tail < K; ++tail) sum += x[m * x_stride + tail] * bf16_value(w[j * K + tail]);
      float& target = out[m * out_stride + j];
      target = accumulate ? target + sum : sum;
    }
}

template <int RowsW>
inline void few_rows_weight_rows_bf16(const float* x, Eigen::Index M, Eigen::Index K, const std::uint16_t* w, float* y,
                                      Eigen::Index y_stride, bool accumulate) {
  constexpr int kBlock = 4;
  Eigen::Index m = 0;
  for (; m + kBlock <= M; m += kBlock)
    few_rows_tile_bf16<kBlock, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate);
  switch (M - m) {
    case 3: few_rows_tile_bf16<3, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 2: few_rows_tile_bf16<2, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    case 1: few_rows_tile_bf16<1, RowsW>(x + m * K, K, w, K, y + m * y_stride, y_stride, accumulate); break;
    default: break;
  }
}

}  // namespace detail

// y (M, J) at row stride y_stride = x (M, K) W^T, or y += x W^T when `accumulate`; W (J, K) bf16 row-major.
inline void few_rows_linear_bf16(const float* x, Eigen::Index M, Eigen::Index K, const std::uint16_t* w, Eigen::Index J,
                                 float* y, Eigen::Index y_stride, bool accumulate) {
  constexpr int kRowsW = 3;
  Eigen::Index j = 0;
  for (; j + kRowsW <= J; j += kRowsW)
    detail::few_rows_weight_rows_bf16<kRowsW>(x, M, K, w + j * K, y + j, y_stride, accumulate);
  for (; j < J; ++j) detail::few_rows_weight_rows_bf16<1>(x, M, K, w + j * K, y + j, y_stride, accumulate);
}

}  // namespace r1

#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
