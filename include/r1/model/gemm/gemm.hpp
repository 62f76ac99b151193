#pragma once
// r1's CPU GEMM kernels: which runs where, and why. In row-major terms each computes C (rows, cols) = A B,
// with W row-major (out, in) as in HF checkpoints. linear.hpp (r1/model/ops) picks the loop; attention.hpp
// calls the two register kernels directly.
//
// The register kernel, chosen at compile time by scalar type and instruction set (kUsesRegisterTiles):
//   register_tile_gemm.hpp  float with AVX-512. r1's 8 x 48 tile of C in 24 of the 32 zmm registers, A read in
//                           place, C written once from zeros, itself or a residual (Goto & van de Geijn 2008).
//   packed_gemm.hpp         everything else (double, float without AVX-512). Eigen 3.4's own packing routines
//                           and gebp kernel, called piece by piece. With AVX2's 16 registers the register-tile
//                           loop spilled its accumulators and lost to Eigen's kernel.
//
// The loops around them, chosen at run time by linear.hpp from the shape:
//   row_panel_gemm.hpp      forward (y = x W^T) and input gradient (dx = dy W) over more than kFewRows rows, for
//                           a weight of up to 4 MiB: the weight is packed once per chunk of rows, and the rows
//                           are walked in panels that stay in the L2 cache with an epilogue (SwiGLU, residual).
//   token_split_gemm.hpp    weight gradient (dW += dy^T x) over at least two chunks of 256 tokens (or one, on a
//                           single thread with the register tiles), weight of up to 4 MiB: split over tokens, so
//                           every token's rows are packed once, instead of over features, where every chunk
//                           packs the whole of the other operand.
//   few_rows_linear.hpp     forward over at most kFewRows rows (a decode step, one row per live sequence): the
//                           weight is read where it lies, since packing it costs more than the few multiply-adds
//                           per weight that follow.
//   otherwise               Eigen's product, split across r1's threads over rows or features (linear.hpp).
//
// bench/model/bench_linear measures each loop against Eigen's product of the same shape in the same run;
// bench/sampling/bench_generate measures the decode step. Every kernel has a test against double sums:
// tests/model/test_ops_reference.cpp, test_register_tile_gemm.cpp, test_row_panel_gemm.cpp,
// test_few_rows_linear.cpp, test_linear_backward.cpp.
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/gemm/packed_gemm.hpp"
#include "r1/model/gemm/register_tile_gemm.hpp"
#include "r1/model/gemm/row_panel_gemm.hpp"
#include "r1/model/gemm/token_split_gemm.hpp"
