#pragma once
// y (M, J) = x (M, K) W^T (+ y) for few rows M <= 16 with W (J, K) bf16 row-major, by the AMX tile unit
// (Intel SDM vol. 1 ch. 18, "Intel Advanced Matrix Extensions"): the decode step of a model sampling from bf16
// weights on CPUs that have AMX-BF16 (Sapphire Rapids and later Xeons). At batch 8 the AVX-512 BF16 kernel
// (few_rows_linear_bf16.hpp) spends as long multiplying as the weights take to arrive; one tile
// multiply-add does 16 x 16 x 32 of them, so the product becomes a pure weight stream.
//
// The product is taken transposed, Y^T (J, M) = W (J, K) x^T (K, M), so that W is the A operand and each tile of
// it, 16 rows of W by 32 bf16 of K, is loaded straight from the row-major weights (tileloadd with a stride of
// one row of W). x is rounded to bf16 (nearest even, vcvtne2ps2bf16) and packed once per call into the B
// operand's layout: each row of a B tile holds one pair (k, k + 1) for every row of x.
//
// Arithmetic (tdpbf16ps, Intel SDM vol. 2, "TDPBF16PS"): every output is one fp32 sum running along K, each
// step adding the two products of a pair, products of two bf16 exact in fp32, subnormal inputs and results
// flushed to zero. Its error against the rounded operands is that of a K-term fp32 sum,
// |computed - x^.w^| <= gamma_K sum |x^_k w^_k| (Higham 2002, eq. 3.5), the same bound as vdpbf16ps's lane sums
// (few_rows_linear_bf16.hpp), but not the same bits. The tile shape does not enter: each output's sum runs
// along K in order whatever rows of W or of x share its tiles.
//
// Linux gives a process the tile state (XTILEDATA, 8 KB a thread) only on request: arch_prctl
// (ARCH_REQ_XCOMP_PERM) once per process (kernel Documentation/arch/x86/xstate.rst). Where the build targets
// AMX-BF16 but the kernel refuses, amx_tiles_permitted() is false and callers take the AVX-512 BF16 kernel.
//
// The kernel is compiled where the build targets AMX-BF16, and, in a GCC build for x86-64 Linux that does not,
// for it by a function target attribute (R1_TARGET_AMX_BF16; see bf16_instructions.hpp): amx_tiles_permitted()
// then also asks the CPU.
#include <Eigen/Core>
#include <cstdint>

#include "r1/model/gemm/bf16_instructions.hpp"
#include "r1/model/gemm/bf16_rounding.hpp"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && R1_BF16_DOT_TARGETED && defined(__linux__)
#define R1_FEW_ROWS_HAS_AMX 1
#define R1_TARGET_AMX_BF16
#elif R1_BF16_DOT_COMPILED && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(R1_NO_RUNTIME_DISPATCH)
#define R1_FEW_ROWS_HAS_AMX 1
#define R1_TARGET_AMX_BF16 \
  __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#else
#define R1_FEW_ROWS_HAS_AMX 0
#endif

#if R1_FEW_ROWS_HAS_AMX
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>
#endif

namespace r1 {

#if R1_FEW_ROWS_HAS_AMX

// The most rows of x one call takes (the columns of a B tile: 64 bytes of fp32 outputs).
inline constexpr Eigen::Index kAmxMaxRows = 16;
// The fewest rows of x for which few_rows_linear_bf16 takes the tiles. The decode step at the Qwen2.5-0.5B shape on
// this project's Xeon, 2 threads, quiet (bench/RESULTS.md, 2026-12-07 day), tiles against vdpbf16ps: 39.9 against
// 31.5 ms at batch 1, 41.2 against 35.9 at 2, 43.1 against 47.3 at 4, 46.4 against 66.6 at 8.
inline constexpr Eigen::Index kAmxMinRows = 4;
// K must be a multiple of this (one tile step: 64 bytes of bf16 in each row of W).
inline constexpr Eigen::Index kAmxStep = 32;

// Whether this process may use the tile registers: asked of the kernel once (arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA)); false when the kernel or the CPU does not offer AMX.
inline bool amx_tiles_permitted() {
  static const bool permitted = [] {
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return cpu_runs_avx512_bf16() && __builtin_cpu_supports("amx-bf16") && __builtin_cpu_supports("amx-tile") &&
           syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return permitted;
}

namespace detail {

// The tile configuration ldtilecfg reads (palette 1; Intel SDM vol. 1, 18.2): bytes per row and rows of each of
// the 8 tile registers.
struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(AmxTileConfig) == 64);

// The tile registers of few_rows_linear_bf16_amx (the intrinsics take their numbers as literals): tmm0 and tmm1
// accumulate 32 rows of W by M rows of x, tmm2 and tmm3 hold the matching 16 x 32 blocks of W, tmm4 the packed x
// of one step along K.

// x^ (M, K), x rounded to bf16, in the B layout: element (pair r = k / 2, column 2 m + k % 2) of a matrix of
// K / 2 rows and 2 M columns, so that the 16 rows of one step along K are one B tile. A pair (k, k + 1) of a row
// moves as one 32-bit word: the layout is the transpose of x^ seen as (M, K / 2) words.
inline void pack_rows_for_amx(const std::uint16_t* rounded, Eigen::Index M, Eigen::Index K, std::uint16_t* packed) {
  const Eigen::Index pairs = K / 2;
  for (Eigen::Index m = 0; m < M; ++m)
    for (Eigen::Index r = 0; r < pairs; ++r)
      std::memcpy(packed + (r * M + m) * 2, rounded + m * K + 2 * r, 2 * sizeof(std::uint16_t));
}

}  // namespace detail

// y (M, J) at row stride y_stride = x (M, K) W^T, or y += x W^T when `accumulate`, by AMX tiles: M <= kAmxMaxRows,
// K a multiple of kAmxStep, amx_tiles_permitted(). W goes 32 rows at a time, its last J % 32 rows through a
// zero-padded copy. While one block of 32 rows multiplies, the next is prefetched: on this project's Xeon that
// took a 9,728 x 896 product at 8 rows on 2 threads from 9.9 to 10.4 GB/s (bench/RESULTS.md, 2026-12-07 day).
R1_TARGET_AMX_BF16 inline void few_rows_linear_bf16_amx(const float* x, Eigen::Index M, Eigen::Index K,
                                                        const std::uint16_t* w, Eigen::Index J, float* y,
                                                        Eigen::Index y_stride, bool accumulate) {
  thread_local std::vector<std::uint16_t> packed, padded;
  if (static_cast<Eigen::Index>(packed.size()) < M * K) packed.resize(static_cast<std::size_t>(M * K));
  detail::pack_rows_for_amx(detail::rounded_to_bf16(x, M * K), M, K, packed.data());

  const auto out_bytes = static_cast<std::uint16_t>(4 * M);
  detail::AmxTileConfig config;
  for (int tile = 0; tile < 5; ++tile) {
    config.rows[tile] = 16;
    config.bytes_per_row[tile] = tile == 2 || tile == 3 ? 64 : out_bytes;  // W: 32 bf16; x and the sums: M words
  }
  _tile_loadconfig(&config);

  const Eigen::Index w_stride = 2 * K;                 // bytes from one row of W to the next
  const Eigen::Index x_step = 16 * 2 * M;              // bf16 elements of packed x per step along K
  alignas(64) float out[2][16 * kAmxMaxRows];          // (row of W, row of x) as the tiles store them
  for (Eigen::Index j = 0; j < J; j += 32) {
    const Eigen::Index rows = std::min<Eigen::Index>(32, J - j);
    const std::uint16_t* block = w + j * K;
    if (rows < 32) {  // the last rows, zero-padded to 32 (zeros add exact zeros)
      padded.assign(static_cast<std::size_t>(32 * K), 0);
      std::memcpy(padded.data(), block, static_cast<std::size_t>(rows * K) * sizeof(std::uint16_t));
      block = padded.data();
    }
    const bool second = rows > 16;
    const bool prefetch_next = j + 64 <= J;
    _tile_zero(0);
    _tile_zero(1);
    const std::uint16_t* xs = packed.data();
    for (Eigen::Index k = 0; k < K; k += kAmxStep, xs += x_step) {
      if (prefetch_next)  // the same 64 bytes of the next block's 32 rows (read, locality 1: prefetcht2)
        for (Eigen::Index r = 0; r < 32; ++r) __builtin_prefetch(block + (32 + r) * K + k, 0, 1);
      _tile_loadd(4, xs, out_bytes);
      _tile_loadd(2, block + k, w_stride);
      _tile_dpbf16ps(0, 2, 4);
      if (second) {
        _tile_loadd(3, block + 16 * K + k, w_stride);
        _tile_dpbf16ps(1, 3, 4);
      }
    }
    _tile_stored(0, out[0], out_bytes);
    if (second) _tile_stored(1, out[1], out_bytes);
    for (Eigen::Index r = 0; r < rows; ++r) {
      const float* from = out[r / 16] + (r % 16) * M;
      for (Eigen::Index m = 0; m < M; ++m) {
        float& target = y[m * y_stride + j + r];
        target = accumulate ? target + from[m] : from[m];
      }
    }
  }
  _tile_release();
}

#endif  // R1_FEW_ROWS_HAS_AMX

}  // namespace r1
