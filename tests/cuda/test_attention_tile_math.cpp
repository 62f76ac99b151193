// The per-tile math of the tensor-core attention kernels (kernels/attention_mma.cu),
// run on the CPU: mma.m16n8k16 fragment indices (r1/cuda/math/mma_fragment.hpp)
// against the PTX ISA's fragment figures, the register reuse of S as P, ldmatrix's
// transposed loads as B operands, a warp's forward tile emulated lane by lane from
// those indices against a double softmax, the causal tile ranges of packed
// sequences against brute force, and the online softmax with per-lane partial sums.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "r1/cuda/math/attention.hpp"
#include "r1/cuda/math/bf16.hpp"
#include "r1/cuda/math/mma_fragment.hpp"

namespace {

constexpr double u32 = r1::gpu::fp32_unit_roundoff;  // 2^-24
constexpr double u16 = r1::gpu::bf16_unit_roundoff;  // 2^-8

}  // namespace

TEST_CASE("mma.m16n8k16 fragment indices cover each operand once, pairs adjacent, as the PTX figures show") {
  std::set<std::pair<int, int>> a, b, c;
  for (int lane = 0; lane < 32; ++lane) {
    for (int reg = 0; reg < 4; ++reg) {
      const auto lo = r1::gpu::mma_a_index(lane, reg, 0), hi = r1::gpu::mma_a_index(lane, reg, 1);
      CHECK(hi.row == lo.row);
      CHECK(hi.col == lo.col + 1);  // one 32-bit shared word holds the pair
      CHECK(lo.col % 2 == 0);
      a.insert({lo.row, lo.col});
      a.insert({hi.row, hi.col});
    }
    for (int reg = 0; reg < 2; ++reg) {
      const auto lo = r1::gpu::mma_b_index(lane, reg, 0), hi = r1::gpu::mma_b_index(lane, reg, 1);
      CHECK(hi.col == lo.col);
      CHECK(hi.row == lo.row + 1);  // k pair: contiguous in a row of K (B = K^T)
      b.insert({lo.row, lo.col});
      b.insert({hi.row, hi.col});
    }
    for (int e = 0; e < 4; ++e) {
      const auto at = r1::gpu::mma_c_index(lane, e);
      c.insert({at.row, at.col});
    }
  }
  CHECK(a.size() == 256);  // 16 x 16, every element once
  CHECK(b.size() == 128);  // 16 x 8
  CHECK(c.size() == 128);  // 16 x 8
  for (auto [row, col] : a) CHECK((row < 16 && col < 16));
  for (auto [row, col] : b) CHECK((row < 16 && col < 8));
  for (auto [row, col] : c) CHECK((row < 16 && col < 8));
  // Read off the PTX ISA figures for m16n8k16 (lane 5: groupID 1, threadID_in_group 1).
  CHECK(r1::gpu::mma_a_index(5, 0, 0).row == 1);  // a0: row 1, col 2
  CHECK(r1::gpu::mma_a_index(5, 0, 0).col == 2);
  CHECK(r1::gpu::mma_a_index(5, 1, 1).row == 9);  // a3: row 9, col 3
  CHECK(r1::gpu::mma_a_index(5, 1, 1).col == 3);
  CHECK(r1::gpu::mma_a_index(5, 2, 0).row == 1);  // a4: row 1, col 10
  CHECK(r1::gpu::mma_a_index(5, 2, 0).col == 10);
  CHECK(r1::gpu::mma_a_index(31, 3, 1).row == 15);  // a7 of lane 31: row 15, col 15
  CHECK(r1::gpu::mma_a_index(31, 3, 1).col == 15);
  CHECK(r1::gpu::mma_b_index(5, 1, 0).row == 10);  // b2: k 10, n 1
  CHECK(r1::gpu::mma_b_index(5, 1, 0).col == 1);
  CHECK(r1::gpu::mma_c_index(5, 3).row == 9);  // c3: row 9, col 3
  CHECK(r1::gpu::mma_c_index(5, 3).col == 3);
}

TEST_CASE("two accumulator n-tiles are the next mma's A operand (FlashAttention-2's S -> P in registers)") {
  for (int lane = 0; lane < 32; ++lane)
    for (int kk = 0; kk < 4; ++kk)
      for (int reg = 0; reg < 4; ++reg)
        for (int half = 0; half < 2; ++half) {
          const auto slot = r1::gpu::mma_a_from_accumulators(reg, half);
          const auto from = r1::gpu::mma_c_index(lane, slot.element);  // in n-tile 2 kk + slot.tile
          const auto to = r1::gpu::mma_a_index(lane, reg, half);       // column within the 16-wide k block
          CHECK(from.row == to.row);
          CHECK(8 * slot.tile + from.col == to.col);
        }
}

namespace {

// Register m, half e of `lane` after ldmatrix.x4.trans over the 16 x 16 block of a
// row-major X at (k0, n0): lanes 8m .. 8m + 7 address the rows of matrix m.
template <class X>
double ldmatrix_x4_trans(const X& x, int k0, int n0, int lane, int m, int half) {
  const auto element = r1::gpu::ldmatrix_trans_element(lane, half);  // (row, col) in matrix m
  const auto row_address = r1::gpu::ldmatrix_x4_row_address(8 * m + element.row);
  return x(k0 + row_address.row, n0 + row_address.col + element.col);
}

}  // namespace

TEST_CASE("ldmatrix.x4.trans over a 16 x 16 block gives the B operands of its two 8-column n-tiles") {
  auto x = [](int row, int col) { return 1000.0 * row + col; };
  for (int lane = 0; lane < 32; ++lane)
    for (int m = 0; m < 4; ++m)
      for (int half = 0; half < 2; ++half) {
        const auto b = r1::gpu::mma_b_index(lane, m % 2, half);  // B[k][n] = X[k0 + k][n0 + 8 (m / 2) + n]
        CHECK(ldmatrix_x4_trans(x, 32, 16, lane, m, half) == x(32 + b.row, 16 + 8 * (m / 2) + b.col));
      }
}

namespace {

// One 16 x 8 += (16 x 16)(16 x 8) mma on the warp's registers, the operands located by
// the fragment indices; products and sums in double.
struct Warp {
  using A = std::array<std::array<std::array<double, 2>, 4>, 32>;  // [lane][reg][half]
  using B = std::array<std::array<std::array<double, 2>, 2>, 32>;
  using C = std::array<std::array<double, 4>, 32>;
  static void mma(C& d, const A& a, const B& b) {
    double am[16][16], bm[16][8];
    for (int lane = 0; lane < 32; ++lane)
      for (int h = 0; h < 2; ++h) {
        for (int r = 0; r < 4; ++r) {
          const auto at = r1::gpu::mma_a_index(lane, r, h);
          am[at.row][at.col] = a[lane][r][h];
        }
        for (int r = 0; r < 2; ++r) {
          const auto at = r1::gpu::mma_b_index(lane, r, h);
          bm[at.row][at.col] = b[lane][r][h];
        }
      }
    for (int lane = 0; lane < 32; ++lane)
      for (int e = 0; e < 4; ++e) {
        const auto at = r1::gpu::mma_c_index(lane, e);
        for (int k = 0; k < 16; ++k) d[lane][e] += am[at.row][k] * bm[k][at.col];
      }
  }
};

}  // namespace

// The forward kernel's dataflow for one warp (16 query rows from row q0 of a sequence of
// `length` tokens, 64-key tiles), lane by lane: Q K^T from A fragments of Q and row-wise
// B loads of K, masking by fragment position, the online softmax with the row max
// reduced over the 4 lanes of a row and per-lane partial sums, P rounded to bf16 and
// reused as the A operand, V's B operands through ldmatrix.x4.trans.
// Against the double softmax: an index error moves whole weights (errors of order 1);
// each P weight goes double -> float (u32) -> bf16 (u16 of the float), at most
// (u16 + 2 u32) relative, so |O - O_ref| <= sum_j P_j |v_j| (u16 + 2 u32 + 1e-12)
// (the rest is double arithmetic, 1e-12 covering its rounding).
TEST_CASE("a warp's forward tile, emulated from the fragment indices, equals the double softmax") {
  constexpr int D = 32, tile = 64;
  const int length = 150, q0 = 100;  // rows 100..115: 2 key tiles, the second ragged and causal
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<double> q(std::size_t(length) * D), k(q.size()), v(q.size());
  for (auto* x : {&q, &k, &v})
    for (auto& e : *x) e = normal(rng);
  const double scale = 1.0 / std::sqrt(double(D));

  Warp::A qa[D / 16];
  for (int kk = 0; kk < D / 16; ++kk)
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < 4; ++r)
        for (int h = 0; h < 2; ++h) {
          const auto at = r1::gpu::mma_a_index(lane, r, h);
          qa[kk][lane][r][h] = q[std::size_t(q0 + at.row) * D + 16 * kk + at.col];
        }
  Warp::C o[D / 8] = {};
  struct Row {
    double max = -INFINITY, sum = 0;
  };
  Row state[32][2];
  const int key_tiles = r1::gpu::causal_key_tile_count(q0, 16, tile, length);
  REQUIRE(key_tiles == 2);
  for (int kt = 0; kt < key_tiles; ++kt) {
    const int k0 = kt * tile;
    auto key = [&](int j, int d) { return k0 + j < length ? k[std::size_t(k0 + j) * D + d] : 0.0; };
    auto value = [&](int j, int d) { return k0 + j < length ? v[std::size_t(k0 + j) * D + d] : 0.0; };
    Warp::C s[tile / 8] = {};
    for (int nt = 0; nt < tile / 8; ++nt)
      for (int kk = 0; kk < D / 16; ++kk) {
        Warp::B b;
        for (int lane = 0; lane < 32; ++lane)
          for (int r = 0; r < 2; ++r)
            for (int h = 0; h < 2; ++h) {
              const auto at = r1::gpu::mma_b_index(lane, r, h);  // B[k][n] = K[nt 8 + n][16 kk + k]
              b[lane][r][h] = key(nt * 8 + at.col, 16 * kk + at.row);
            }
        Warp::mma(s[nt], qa[kk], b);
      }
    double tile_max[32][2];
    for (int lane = 0; lane < 32; ++lane) {
      tile_max[lane][0] = tile_max[lane][1] = -INFINITY;
      for (int nt = 0; nt < tile / 8; ++nt)
        for (int e = 0; e < 4; ++e) {
          const auto at = r1::gpu::mma_c_index(lane, e);
          const bool visible = r1::gpu::attention_visible(q0 + at.row, k0 + nt * 8 + at.col, length);
          s[nt][lane][e] = visible ? s[nt][lane][e] * scale : -INFINITY;
          tile_max[lane][e / 2] = std::max(tile_max[lane][e / 2], s[nt][lane][e]);
        }
    }
    for (int lane = 0; lane < 32; ++lane)  // the xor-1, xor-2 shuffles: lanes 4g .. 4g + 3
      for (int h = 0; h < 2; ++h) {
        double m = -INFINITY;
        for (int other = lane / 4 * 4; other < lane / 4 * 4 + 4; ++other) m = std::max(m, tile_max[other][h]);
        const double new_max = std::max(state[lane][h].max, m);
        const double factor = state[lane][h].max == -INFINITY ? 0.0 : std::exp(state[lane][h].max - new_max);
        state[lane][h] = {new_max, state[lane][h].sum * factor};
        for (auto& tile_o : o)
          for (int e = 2 * h; e < 2 * h + 2; ++e) tile_o[lane][e] *= factor;
      }
    for (int lane = 0; lane < 32; ++lane)
      for (int nt = 0; nt < tile / 8; ++nt)
        for (int e = 0; e < 4; ++e) {
          double& x = s[nt][lane][e];
          x = x == -INFINITY ? 0.0 : std::exp(x - state[lane][e / 2].max);
          state[lane][e / 2].sum += x;
        }
    for (int kk = 0; kk < tile / 16; ++kk) {
      Warp::A pa;
      for (int lane = 0; lane < 32; ++lane)
        for (int r = 0; r < 4; ++r)
          for (int h = 0; h < 2; ++h) {
            const auto slot = r1::gpu::mma_a_from_accumulators(r, h);
            pa[lane][r][h] = r1::gpu::round_to_bf16(static_cast<float>(s[2 * kk + slot.tile][lane][slot.element]));
          }
      for (int np = 0; np < D / 16; ++np) {
        Warp::B b0, b1;
        for (int lane = 0; lane < 32; ++lane)
          for (int h = 0; h < 2; ++h) {
            b0[lane][0][h] = ldmatrix_x4_trans(value, 16 * kk, 16 * np, lane, 0, h);
            b0[lane][1][h] = ldmatrix_x4_trans(value, 16 * kk, 16 * np, lane, 1, h);
            b1[lane][0][h] = ldmatrix_x4_trans(value, 16 * kk, 16 * np, lane, 2, h);
            b1[lane][1][h] = ldmatrix_x4_trans(value, 16 * kk, 16 * np, lane, 3, h);
          }
        Warp::mma(o[2 * np], pa, b0);
        Warp::mma(o[2 * np + 1], pa, b1);
      }
    }
  }
  int checked = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int h = 0; h < 2; ++h) {
      double sum = 0;
      for (int other = lane / 4 * 4; other < lane / 4 * 4 + 4; ++other) sum += state[other][h].sum;
      const int i = q0 + r1::gpu::mma_c_index(lane, 2 * h).row;
      std::vector<double> p(i + 1);
      double m = -INFINITY, l = 0;
      for (int j = 0; j <= i; ++j) {
        double dot = 0;
        for (int d = 0; d < D; ++d) dot += q[std::size_t(i) * D + d] * k[std::size_t(j) * D + d];
        m = std::max(m, p[j] = dot * scale);
      }
      for (auto& pj : p) l += (pj = std::exp(pj - m));
      CHECK(std::abs(state[lane][h].max - m) <= 1e-12 * std::max(1.0, std::abs(m)));
      CHECK(std::abs(sum - l) <= 1e-12 * l);
      for (int nt = 0; nt < D / 8; ++nt)
        for (int e = 2 * h; e < 2 * h + 2; ++e) {
          const int d = nt * 8 + r1::gpu::mma_c_index(lane, e).col;
          double expected = 0, magnitude = 0;
          for (int j = 0; j <= i; ++j) {
            expected += p[j] / l * v[std::size_t(j) * D + d];
            magnitude += p[j] / l * std::abs(v[std::size_t(j) * D + d]);
          }
          CHECK(std::abs(o[nt][lane][e] / sum - expected) <= magnitude * (u16 + 2 * u32 + 1e-12));
          ++checked;
        }
    }
  CHECK(checked == 16 * D);
}

// The backward kernel's dataflow for one (64-key tile, 64-query tile) step, all 4 warps
// (warp w owns keys 16w .. 16w + 15): S^T = K Q^T and dP^T = V dO^T from A fragments of
// K, V and row-wise B loads of Q, dO; P^T and dS^T by fragment position, dS^T written
// query-major to the dS tile; dV += P^T dO and dK += dS^T Q through the register reuse
// and ldmatrix.x4.trans of dO and Q; dQ = dS K from A fragments of the dS tile and
// ldmatrix.x4.trans of K. Against double sums over the same (query, key) pairs with P and
// L from a double softmax: the bf16 rounding of each P and dS operand (through float:
// u16 + 2 u32 relative) bounds the difference, |dV - ref| <= sum_i P |dO| (u16 + 2 u32 + 1e-12)
// and likewise with |dS| |Q| for dK and |dS| |K| for dQ (both before the kernel's
// multiplication by the scale).
TEST_CASE("the backward tile step, emulated from the fragment indices, equals double sums") {
  constexpr int D = 32, tile = 64;
  const int length = 150, k0 = 64, i0 = r1::gpu::causal_first_query_tile(k0, tile);  // keys 64..127, queries 64..127
  REQUIRE(i0 == 64);
  std::mt19937 rng(13);
  std::normal_distribution<double> normal;
  std::vector<double> q(std::size_t(length) * D), k(q.size()), v(q.size()), d_out(q.size());
  for (auto* x : {&q, &k, &v, &d_out})
    for (auto& e : *x) e = normal(rng);
  const double scale = 1.0 / std::sqrt(double(D));
  auto dot = [&](const std::vector<double>& a, int i, const std::vector<double>& b, int j) {
    double sum = 0;
    for (int d = 0; d < D; ++d) sum += a[std::size_t(i) * D + d] * b[std::size_t(j) * D + d];
    return sum;
  };
  // L_i and D_i = dO_i . O_i from the double softmax over keys 0..i.
  std::vector<double> lse(length), delta(length);
  for (int i = 0; i < length; ++i) {
    double m = -INFINITY, l = 0;
    for (int j = 0; j <= i; ++j) m = std::max(m, dot(q, i, k, j) * scale);
    for (int j = 0; j <= i; ++j) l += std::exp(dot(q, i, k, j) * scale - m);
    lse[i] = m + std::log(l);
    for (int j = 0; j <= i; ++j) delta[i] += std::exp(dot(q, i, k, j) * scale - lse[i]) * dot(d_out, i, v, j);
  }
  auto row_of = [&](const std::vector<double>& x, int first) {  // a 64-row tile, zero past the sequence
    return [&x, first, length](int r, int d) { return first + r < length ? x[std::size_t(first + r) * D + d] : 0.0; };
  };
  const auto q_tile = row_of(q, i0), do_tile = row_of(d_out, i0), k_tile = row_of(k, k0), v_tile = row_of(v, k0);
  double ds_tile[tile][tile] = {};  // [query][key], the kernel's sh.ds
  Warp::C dk[4][D / 8] = {}, dv[4][D / 8] = {};
  for (int w = 0; w < 4; ++w) {
    Warp::C s[tile / 8] = {}, dp[tile / 8] = {};
    for (int kk = 0; kk < D / 16; ++kk) {
      Warp::A ka, va;
      for (int lane = 0; lane < 32; ++lane)
        for (int r = 0; r < 4; ++r)
          for (int h = 0; h < 2; ++h) {
            const auto at = r1::gpu::mma_a_index(lane, r, h);
            ka[lane][r][h] = k_tile(16 * w + at.row, 16 * kk + at.col);
            va[lane][r][h] = v_tile(16 * w + at.row, 16 * kk + at.col);
          }
      for (int nt = 0; nt < tile / 8; ++nt) {
        Warp::B qb, dob;
        for (int lane = 0; lane < 32; ++lane)
          for (int r = 0; r < 2; ++r)
            for (int h = 0; h < 2; ++h) {
              const auto at = r1::gpu::mma_b_index(lane, r, h);  // B[k][n] = X[nt 8 + n][16 kk + k]
              qb[lane][r][h] = q_tile(nt * 8 + at.col, 16 * kk + at.row);
              dob[lane][r][h] = do_tile(nt * 8 + at.col, 16 * kk + at.row);
            }
        Warp::mma(s[nt], ka, qb);
        Warp::mma(dp[nt], va, dob);
      }
    }
    for (int lane = 0; lane < 32; ++lane)
      for (int nt = 0; nt < tile / 8; ++nt)
        for (int e = 0; e < 4; ++e) {
          const auto at = r1::gpu::mma_c_index(lane, e);  // row: key, col: query
          const int query = nt * 8 + at.col;
          const bool visible = r1::gpu::attention_visible(i0 + query, k0 + 16 * w + at.row, length);
          const double p = visible ? std::exp(s[nt][lane][e] * scale - lse[i0 + query]) : 0.0;
          s[nt][lane][e] = p;
          dp[nt][lane][e] = visible ? p * (dp[nt][lane][e] - delta[i0 + query]) : 0.0;
          ds_tile[query][16 * w + at.row] = r1::gpu::round_to_bf16(static_cast<float>(dp[nt][lane][e]));
        }
    for (int kk = 0; kk < tile / 16; ++kk) {
      Warp::A pa, dsa;
      for (int lane = 0; lane < 32; ++lane)
        for (int r = 0; r < 4; ++r)
          for (int h = 0; h < 2; ++h) {
            const auto slot = r1::gpu::mma_a_from_accumulators(r, h);
            pa[lane][r][h] = r1::gpu::round_to_bf16(static_cast<float>(s[2 * kk + slot.tile][lane][slot.element]));
            dsa[lane][r][h] = r1::gpu::round_to_bf16(static_cast<float>(dp[2 * kk + slot.tile][lane][slot.element]));
          }
      for (int np = 0; np < D / 16; ++np) {
        Warp::B b[2][2];  // [operand: dO, Q][n-tile]
        for (int lane = 0; lane < 32; ++lane)
          for (int m = 0; m < 4; ++m)
            for (int h = 0; h < 2; ++h) {
              b[0][m / 2][lane][m % 2][h] = ldmatrix_x4_trans(do_tile, 16 * kk, 16 * np, lane, m, h);
              b[1][m / 2][lane][m % 2][h] = ldmatrix_x4_trans(q_tile, 16 * kk, 16 * np, lane, m, h);
            }
        for (int t = 0; t < 2; ++t) {
          Warp::mma(dv[w][2 * np + t], pa, b[0][t]);
          Warp::mma(dk[w][2 * np + t], dsa, b[1][t]);
        }
      }
    }
  }
  Warp::C dq[4][D / 8] = {};  // warp w: query rows 16w .. 16w + 15
  auto ds_at = [&](int r, int c) { return ds_tile[r][c]; };
  for (int w = 0; w < 4; ++w)
    for (int np = 0; np < D / 16; ++np)
      for (int kk = 0; kk < tile / 16; ++kk) {
        Warp::A a;
        Warp::B b[2];
        for (int lane = 0; lane < 32; ++lane) {
          for (int r = 0; r < 4; ++r)
            for (int h = 0; h < 2; ++h) {
              const auto at = r1::gpu::mma_a_index(lane, r, h);
              a[lane][r][h] = ds_at(16 * w + at.row, 16 * kk + at.col);
            }
          for (int m = 0; m < 4; ++m)
            for (int h = 0; h < 2; ++h) b[m / 2][lane][m % 2][h] = ldmatrix_x4_trans(k_tile, 16 * kk, 16 * np, lane, m, h);
        }
        Warp::mma(dq[w][2 * np], a, b[0]);
        Warp::mma(dq[w][2 * np + 1], a, b[1]);
      }
  const double rel = u16 + 2 * u32 + 1e-12;
  int checked = 0;
  for (int w = 0; w < 4; ++w)
    for (int lane = 0; lane < 32; ++lane)
      for (int nt = 0; nt < D / 8; ++nt)
        for (int e = 0; e < 4; ++e) {
          const auto at = r1::gpu::mma_c_index(lane, e);
          const int d = nt * 8 + at.col;
          const int j = k0 + 16 * w + at.row;  // dK, dV row: a key
          double ref_dv = 0, mag_dv = 0, ref_dk = 0, mag_dk = 0;
          for (int i = i0; i < std::min(length, i0 + tile); ++i) {
            if (!r1::gpu::attention_visible(i, j, length)) continue;
            const double p = std::exp(dot(q, i, k, j) * scale - lse[i]);
            const double ds = p * (dot(d_out, i, v, j) - delta[i]);
            ref_dv += p * d_out[std::size_t(i) * D + d], mag_dv += p * std::abs(d_out[std::size_t(i) * D + d]);
            ref_dk += ds * q[std::size_t(i) * D + d], mag_dk += std::abs(ds * q[std::size_t(i) * D + d]);
          }
          CHECK(std::abs(dv[w][nt][lane][e] - ref_dv) <= mag_dv * rel + 1e-12);
          CHECK(std::abs(dk[w][nt][lane][e] - ref_dk) <= mag_dk * rel + 1e-12);
          const int i = i0 + 16 * w + at.row;  // dQ row: a query
          double ref_dq = 0, mag_dq = 0;
          for (int jj = k0; jj < k0 + tile; ++jj) {
            if (!r1::gpu::attention_visible(i, jj, length)) continue;
            const double ds = std::exp(dot(q, i, k, jj) * scale - lse[i]) * (dot(d_out, i, v, jj) - delta[i]);
            ref_dq += ds * k[std::size_t(jj) * D + d], mag_dq += std::abs(ds * k[std::size_t(jj) * D + d]);
          }
          CHECK(std::abs(dq[w][nt][lane][e] - ref_dq) <= mag_dq * rel + 1e-12);
          ++checked;
        }
  CHECK(checked == 4 * 16 * D);
}

TEST_CASE("causal tile ranges of a packed sequence cover exactly the visible (query, key) pairs") {
  for (const int query_tile : {16, 64})
    for (const int key_tile : {32, 64})
      for (int length = 0; length <= 200; length += (length < 70 ? 1 : 13)) {
        std::set<std::pair<int, int>> forward, backward;
        for (int q0 = 0; q0 < length + query_tile; q0 += query_tile) {
          const int count = r1::gpu::causal_key_tile_count(q0, query_tile, key_tile, length);
          for (int kt = 0; kt < count; ++kt)
            for (int i = q0; i < q0 + query_tile; ++i)
              for (int j = kt * key_tile; j < (kt + 1) * key_tile; ++j)
                if (r1::gpu::attention_visible(i, j, length)) forward.insert({i, j});
        }
        for (int k0 = 0; k0 < length; k0 += key_tile)
          for (int i0 = r1::gpu::causal_first_query_tile(k0, query_tile); i0 < length; i0 += query_tile)
            for (int i = i0; i < i0 + query_tile; ++i)
              for (int j = k0; j < k0 + key_tile; ++j)
                if (r1::gpu::attention_visible(i, j, length)) backward.insert({i, j});
        const std::size_t pairs = std::size_t(length) * (length + 1) / 2;  // j <= i < length
        CHECK(forward.size() == pairs);
        CHECK(backward.size() == pairs);
        // No wasted tile: the last key tile a query tile loads holds a key it sees, and
        // the first query tile a key tile visits holds a query that sees its first key.
        for (int q0 = 0; q0 < length; q0 += query_tile) {
          const int count = r1::gpu::causal_key_tile_count(q0, query_tile, key_tile, length);
          CHECK(count >= 1);
          CHECK((count - 1) * key_tile <= std::min(length, q0 + query_tile) - 1);
        }
        for (int k0 = 0; k0 < length; k0 += key_tile)
          CHECK(r1::gpu::causal_first_query_tile(k0, query_tile) + query_tile - 1 >= k0);
      }
  CHECK(r1::gpu::causal_key_tile_count(64, 64, 64, 64) == 0);  // a tile past the end loads nothing
  CHECK(r1::gpu::causal_key_tile_count(0, 64, 64, 1) == 1);
}

TEST_CASE("masking predicate and masked weights") {
  CHECK(r1::gpu::attention_visible(3, 3, 4));
  CHECK(r1::gpu::attention_visible(3, 0, 4));
  CHECK_FALSE(r1::gpu::attention_visible(3, 4, 8));  // the future
  CHECK_FALSE(r1::gpu::attention_visible(4, 0, 4));  // a padding row past the sequence
  CHECK(r1::gpu::online_softmax_weight(-INFINITY, -INFINITY) == 0.0f);
  CHECK(r1::gpu::online_softmax_weight(-INFINITY, 2.0f) == 0.0f);
  CHECK(r1::gpu::online_softmax_weight(2.0f, 2.0f) == 1.0f);
}

// Per-lane partial sums (each of 4 lanes folds its share of every tile, all under the
// row's shared max) give the row's log-sum-exp. fp32 budget, relative to the true sum l:
// each weight expf (2 ulp, 4u; the host's is no worse) of a difference (u) and at most one
// rescale per tile (expf 4u plus the product u, and the sum it scales: 6u per tile); the
// n additions (n u); then logf (4u of |lse|) and the final addition (u |lse|):
// |lse - ref| <= (5 + 6 tiles + n) u + 5u |ref|.
TEST_CASE("online softmax with per-lane partial sums gives the row's log-sum-exp") {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0.0, 3.0);
  for (const int n : {1, 7, 64, 65, 300}) {
    std::vector<float> scores(n);
    for (auto& s : scores) s = static_cast<float>(normal(rng));
    constexpr int tile = 64;
    r1::gpu::OnlineSoftmax lanes[4];
    const int tiles = (n + tile - 1) / tile;
    for (int t = 0; t < tiles; ++t) {
      float block_max = -INFINITY;
      for (int j = t * tile; j < std::min(n, (t + 1) * tile); ++j) block_max = std::max(block_max, scores[j]);
      for (auto& lane : lanes) r1::gpu::online_softmax_rescale(lane, block_max);
      for (int j = t * tile; j < std::min(n, (t + 1) * tile); ++j)
        lanes[j % 4].sum += r1::gpu::online_softmax_weight(scores[j], lanes[j % 4].max);
    }
    r1::gpu::OnlineSoftmax row{lanes[0].max, (lanes[0].sum + lanes[1].sum) + (lanes[2].sum + lanes[3].sum)};
    for (const auto& lane : lanes) CHECK(lane.max == row.max);
    double m = -INFINITY, l = 0;
    for (float s : scores) m = std::max(m, double(s));
    for (float s : scores) l += std::exp(double(s) - m);
    const double ref = m + std::log(l);
    CHECK(std::abs(r1::gpu::online_softmax_logsumexp(row) - ref) <= (5 + 6 * tiles + n) * u32 + 5 * u32 * std::abs(ref));
  }
}
