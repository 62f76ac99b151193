#pragma once
// Eigen's GEMM building blocks, in row-major terms: C (rows, cols) += A (rows, depth) B (depth, cols), with A
// and B packed by the caller. Eigen's own `C.noalias() = A * B` packs both operands on every call and zeroes
// all of C first; r1's linear layers and attention call these pieces directly so that an operand used by
// many products (a weight, a head's keys) is packed once, and C is zeroed one cache-hot block at a time.
// They serve double, and float without AVX-512 (gemm.hpp says which kernel runs where).
//
// Eigen's kernel (gebp_kernel) is column-major: it computes C^T (cols, rows) += B^T A^T, packing B^T as its
// left-hand side in panels of Traits::mr columns of C, and A^T as its right-hand side in panels of
// Traits::nr rows of C, each panel depth-major. Two consequences used by callers:
//   - the first n columns of a packed B, n a multiple of mr (or all of them), are exactly the packing of
//     those n columns: a product may use a prefix of a packed operand;
//   - a packed operand may be used at a smaller depth d than it was packed with, when the product is told
//     the packed depth (`b_packed_depth`): the first d of each panel's depth are taken.
// Eigen 3.4's gemm_pack_lhs, gemm_pack_rhs and gebp_kernel (Eigen/src/Core/products/GeneralBlockPanelKernel.h).
#include <Eigen/Core>

namespace r1 {

// How an operand is stored: as the matrix itself, row-major, or as its transpose, row-major.
enum class Stored { as_is, transposed };

template <class Scalar>
struct PackedGemm {
  using Traits = Eigen::internal::gebp_traits<Scalar, Scalar>;
  using Index = Eigen::Index;
  // Panel widths: a prefix of packed B is usable in multiples of kColumnPanel columns, of packed A in
  // multiples of kRowPanel rows.
  static constexpr Index kColumnPanel = Traits::mr;
  static constexpr Index kRowPanel = Traits::nr;

  // Packs B (depth, cols) from `b` with row stride `stride`: b holds B itself (stored as_is) or B^T
  // (stored transposed). `packed` takes depth * cols elements.
  template <Stored stored>
  static void pack_b(Scalar* packed, const Scalar* b, Index stride, Index depth, Index cols) {
    // B^T is the kernel's left-hand side: column-major over B's row-major storage, row-major over B^T's.
    constexpr int order = stored == Stored::as_is ? Eigen::ColMajor : Eigen::RowMajor;
    using Mapper = Eigen::internal::const_blas_data_mapper<Scalar, Index, order>;
    Eigen::internal::gemm_pack_lhs<Scalar, Index, Mapper, Traits::mr, Traits::LhsProgress,
                                   typename Traits::LhsPacket4Packing, order>
        pack;
    pack(packed, Mapper(b, stride), depth, cols);
  }

  // Packs A (rows, depth) from `a` with row stride `stride`: A itself (as_is) or A^T (transposed).
  // `packed` takes rows * depth elements.
  template <Stored stored>
  static void pack_a(Scalar* packed, const Scalar* a, Index stride, Index rows, Index depth) {
    constexpr int order = stored == Stored::as_is ? Eigen::ColMajor : Eigen::RowMajor;
    using Mapper = Eigen::internal::const_blas_data_mapper<Scalar, Index, order>;
    Eigen::internal::gemm_pack_rhs<Scalar, Index, Mapper, Traits::nr, order> pack;
    pack(packed, Mapper(a, stride), depth, rows);
  }

  // C (rows, cols), row stride ldc, += A B over `depth`, from packed operands. a_packed_depth and
  // b_packed_depth are the depths the operands were packed with (>= depth).
  static void multiply_add(Scalar* c, Index ldc, const Scalar* packed_a, const Scalar* packed_b, Index rows,
                           Index depth, Index cols, Index a_packed_depth, Index b_packed_depth) {
    using ResultMapper = Eigen::internal::blas_data_mapper<Scalar, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
    Eigen::internal::gebp_kernel<Scalar, Scalar, Index, ResultMapper, Traits::mr, Traits::nr, false, false> kernel;
    if (rows == 0 || cols == 0 || depth == 0) return;
    kernel(ResultMapper(c, ldc), packed_b, packed_a, cols, depth, rows, Scalar(1), b_packed_depth, a_packed_depth);
  }
  static void multiply_add(Scalar* c, Index ldc, const Scalar* packed_a, const Scalar* packed_b, Index rows,
                           Index depth, Index cols) {
    multiply_add(c, ldc, packed_a, packed_b, rows, depth, cols, depth, depth);
  }

  // The smallest prefix of n columns of a packed B (of `packed_cols` columns) that a product may use.
  static Index usable_columns(Index n, Index packed_cols) {
    const Index rounded = (n + kColumnPanel - 1) / kColumnPanel * kColumnPanel;
    return rounded < packed_cols ? rounded : packed_cols;
  }
};

}  // namespace r1
