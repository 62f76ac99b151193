#pragma once
// Where each element of a warp-level mma.sync.m16n8k16 operand lives: which lane,
// which 32-bit register, which 16-bit half (PTX ISA 8.x, section 9.7.13.4.8,
// "Matrix Fragments for mma.m16n8k16 with floating point type"). With
// g = lane / 4 (groupID) and t = lane % 4 (threadID_in_group):
//   A (16 x 16, row-major, 4 registers of 2 x bf16): register r, half e holds
//     A[g + 8 (r % 2)][2t + e + 8 (r / 2)]
//   B (16 x 8, "col", 2 registers of 2 x bf16): register r, half e holds B[2t + e + 8r][g]
//   C, D (16 x 8, 4 fp32): element c holds C[g + 8 (c / 2)][2t + c % 2]
// These functions are the only place kernels/attention_mma.cu takes those indices
// from, and tests/cuda/test_attention_tile_math.cpp emulates the mma with them on
// the CPU, including the FlashAttention-2 reuse of two accumulator tiles as the
// next mma's A operand (mma_a_from_accumulators).
#include "r1/cuda/host_device.hpp"

namespace r1::gpu {

struct FragmentIndex {
  int row;
  int col;
};

R1_HOST_DEVICE FragmentIndex mma_a_index(int lane, int reg, int half) {
  return {lane / 4 + 8 * (reg % 2), 2 * (lane % 4) + half + 8 * (reg / 2)};
}

// (row, col) of B = (k, n).
R1_HOST_DEVICE FragmentIndex mma_b_index(int lane, int reg, int half) {
  return {2 * (lane % 4) + half + 8 * reg, lane / 4};
}

R1_HOST_DEVICE FragmentIndex mma_c_index(int lane, int element) {
  return {lane / 4 + 8 * (element / 2), 2 * (lane % 4) + element % 2};
}

// The A operand over k = 16 columns [16 kk, 16 kk + 16) is held by the same lanes
// as the accumulators of the two 8-column n-tiles 2 kk and 2 kk + 1: A register r,
// half e is accumulator element `element` of n-tile 2 kk + `tile`.
struct AccumulatorSlot {
  int tile;     // 0: n-tile 2 kk, 1: n-tile 2 kk + 1
  int element;  // 0..3
};
R1_HOST_DEVICE AccumulatorSlot mma_a_from_accumulators(int reg, int half) { return {reg / 2, 2 * (reg % 2) + half}; }

// ldmatrix.sync.aligned.m8n8.x4.trans.b16 (PTX ISA, section 9.7.13.4.15): lanes
// 8m .. 8m + 7 give the addresses of rows 0..7 of 8 x 8 matrix m (16 contiguous
// bytes each); with .trans, register m of a lane holds source matrix m's elements
// (row 2t + half, column g), the transpose of the plain fragment (row g, column 2t + half).
// The kernels load a 16 x 16 block X[k][n] (row k = key or query, n = head dim) as the
// B operands of two n-tiles: matrix m covers rows 8 (m % 2) .. and columns 8 (m / 2) ..,
// so registers 0, 1 are B = X[:, 0:8] and registers 2, 3 are B = X[:, 8:16].
R1_HOST_DEVICE FragmentIndex ldmatrix_x4_row_address(int lane) {  // (row, col) in the 16 x 16 block
  return {lane % 8 + 8 * ((lane / 8) % 2), 8 * (lane / 16)};
}
R1_HOST_DEVICE FragmentIndex ldmatrix_trans_element(int lane, int half) {  // (row, col) in an 8 x 8 matrix
  return {2 * (lane % 4) + half, lane / 4};
}

}  // namespace r1::gpu
