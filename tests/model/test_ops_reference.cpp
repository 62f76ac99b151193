// Every CPU op of r1/model/ops and every GEMM kernel of r1/model/gemm, forward and backward, against a
// reference evaluated in a wider type from the same inputs (double for float, long double for double), at a
// few shapes, ragged ones included, chosen to reach each path of the kernels' dispatch (gemm.hpp). In the
// spirit of ggml's test-backend-ops: one error metric for all ops, a printed table, a failure when any row
// exceeds its bound.
//
// The metric. For each output element y, with reference y* and magnitude m (the same formula evaluated on
// absolute values: the sum of |terms| of every reduction that feeds y, weighted as below where a function's
// argument error is amplified), e = |y - y*| / m, and a row reports max e in units of u = epsilon / 2.
// The bound. Rounding error analysis (N. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
// 2002: Lemma 3.1, eq. 3.5 and section 4.2) bounds a sum of n products, in any order or blocking, with or
// without FMA, by gamma_n m, gamma_n = n u / (1 - n u); a chain of k roundings of a product's factors by
// gamma_k relative. Each op's k below counts the roundings along its longest chain, with every elementary
// function (exp, log, sin, cos) taken as 2 ulp = 4 u relative (glibc's float functions are within 1-2 ulp, its
// manual's "Errors in Math Functions"; Eigen's vectorised exp and log are range reduction and a polynomial
// of the same accuracy) and sqrt and division correctly rounded (IEEE 754: u). The reference's own error,
// gamma_k of the wide type, is added. Tolerances are these bounds, never tuned.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "r1/core/rng.hpp"
#include "r1/core/threads.hpp"
#include "r1/model/gemm/gemm.hpp"
#include "r1/model/ops/attention.hpp"
#include "r1/model/ops/embedding.hpp"
#include "r1/model/ops/linear.hpp"
#include "r1/model/ops/log_softmax_gather.hpp"
#include "r1/model/ops/rmsnorm.hpp"
#include "r1/model/ops/rope.hpp"
#include "r1/model/ops/swiglu.hpp"
#include "r1/model/ops/swiglu_projections.hpp"

namespace {

using Index = Eigen::Index;

template <class Scalar>
struct WideOf;
template <>
struct WideOf<float> {
  using type = double;
};
template <>
struct WideOf<double> {
  using type = long double;
};

template <class T>
long double gamma_of(std::int64_t k) {
  const long double u = std::numeric_limits<T>::epsilon() / 2.0L, n = static_cast<long double>(k);
  return n * u / (1.0L - n * u);
}

struct Row {
  std::string op, shape;
  double error_u, bound_u;
};

std::string shape_of(std::initializer_list<std::pair<const char*, Index>> dims) {
  std::string text;
  for (const auto& [name, value] : dims) {
    if (!text.empty()) text += ' ';
    text.append(name).append("=").append(std::to_string(value));
  }
  return text;
}

// Compares got against (reference, magnitude) with k roundings; records and checks the row.
template <class Scalar, class Wide>
void compare(std::vector<Row>& table, const std::string& op, const std::string& shape, std::span<const Scalar> got,
             const std::vector<Wide>& reference, const std::vector<Wide>& magnitude, std::int64_t k) {
  REQUIRE(got.size() == reference.size());
  REQUIRE(magnitude.size() == reference.size());
  long double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const long double error = std::abs(static_cast<long double>(got[i]) - static_cast<long double>(reference[i]));
    if (!std::isfinite(static_cast<long double>(got[i]))) worst = std::numeric_limits<long double>::infinity();
    else if (magnitude[i] > 0) worst = std::max(worst, error / static_cast<long double>(magnitude[i]));
    else if (error > 0) worst = std::numeric_limits<long double>::infinity();  // zero magnitude: exact
  }
  const long double u = std::numeric_limits<Scalar>::epsilon() / 2.0L;
  const long double bound = gamma_of<Scalar>(k) + gamma_of<Wide>(k);
  table.push_back({op, shape, static_cast<double>(worst / u), static_cast<double>(bound / u)});
  CAPTURE(op);
  CAPTURE(shape);
  CHECK(worst <= bound);
}

template <class Scalar>
std::vector<Scalar> random_vector(r1::Philox& rng, std::size_t size, double scale = 1.0) {
  std::vector<Scalar> values(size);
  for (auto& value : values) value = static_cast<Scalar>(scale * rng.normal());
  return values;
}

template <class Scalar>
struct OpsReference {
  using Wide = typename WideOf<Scalar>::type;
  std::vector<Row> table;
  r1::Philox rng{20};

  Wide w(Scalar value) const { return static_cast<Wide>(value); }
  template <class Vector>
  void check(const std::string& op, const std::string& shape, const Vector& got, const std::vector<Wide>& reference,
             const std::vector<Wide>& magnitude, std::int64_t k) {
    compare<Scalar, Wide>(table, op, shape, std::span<const Scalar>(got.data(), got.size()), reference, magnitude, k);
  }

  // C (rows, cols) = C0 + A (rows, depth) B (depth, cols) (+ bias), A(r, k) = a(r, k), B(k, j) = b(k, j):
  // n = depth products plus C0 and the bias, k = depth + 2 roundings on any term.
  template <class GetA, class GetB>
  void gemm_reference(Index rows, Index depth, Index cols, GetA a, GetB b, const Scalar* c0, const Scalar* bias,
                      std::vector<Wide>& reference, std::vector<Wide>& magnitude) const {
    reference.assign(static_cast<std::size_t>(rows * cols), 0);
    magnitude.assign(reference.size(), 0);
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < cols; ++j) {
        Wide sum = 0, abs_sum = 0;
        for (Index k = 0; k < depth; ++k) {
          const Wide term = w(a(r, k)) * w(b(k, j));
          sum += term, abs_sum += std::abs(term);
        }
        if (c0 != nullptr) sum += w(c0[r * cols + j]), abs_sum += std::abs(w(c0[r * cols + j]));
        if (bias != nullptr) sum += w(bias[j]), abs_sum += std::abs(w(bias[j]));
        reference[static_cast<std::size_t>(r * cols + j)] = sum;
        magnitude[static_cast<std::size_t>(r * cols + j)] = abs_sum;
      }
  }

  // linear_forward and linear_forward_residual: y (N, out) = [y0 or residual +] x W^T + b, k = in + 2.
  void linear_forward_case(Index rows, Index in, Index out, bool accumulate, bool residual) {
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * in));
    const auto weight = random_vector<Scalar>(rng, static_cast<std::size_t>(out * in));
    const auto bias = random_vector<Scalar>(rng, static_cast<std::size_t>(out));
    const auto y0 = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * out));
    std::vector<Scalar> y = y0;
    if (residual) r1::linear_forward_residual(x.data(), weight.data(), bias.data(), y0.data(), rows, in, out, y.data());
    else r1::linear_forward(x.data(), weight.data(), bias.data(), rows, in, out, y.data(), accumulate);
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        rows, in, out, [&](Index r, Index k) { return x[static_cast<std::size_t>(r * in + k)]; },
        [&](Index k, Index j) { return weight[static_cast<std::size_t>(j * in + k)]; },
        accumulate || residual ? y0.data() : nullptr, bias.data(), reference, magnitude);
    const std::string op = residual ? "linear_forward_residual" : accumulate ? "linear_forward +=" : "linear_forward";
    check(op, shape_of({{"N", rows}, {"in", in}, {"out", out}}), y, reference, magnitude, in + 2);
  }

  // dx (N, in) = [dx0 +] dy (N, out) W (out, in), k = out + 1.
  void linear_backward_input_case(Index rows, Index in, Index out, bool accumulate) {
    const auto dy = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * out));
    const auto weight = random_vector<Scalar>(rng, static_cast<std::size_t>(out * in));
    const auto dx0 = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * in));
    std::vector<Scalar> dx = dx0;
    r1::linear_backward_input(dy.data(), weight.data(), rows, in, out, dx.data(), accumulate);
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        rows, out, in, [&](Index r, Index k) { return dy[static_cast<std::size_t>(r * out + k)]; },
        [&](Index k, Index j) { return weight[static_cast<std::size_t>(k * in + j)]; }, accumulate ? dx0.data() : nullptr,
        nullptr, reference, magnitude);
    check(accumulate ? "linear_backward_input +=" : "linear_backward_input",
          shape_of({{"N", rows}, {"in", in}, {"out", out}}), dx, reference, magnitude, out + 1);
  }

  // dW (out, in) += dy^T x and dbias += column sums of dy: N terms and what was there, k = N + 1.
  void linear_backward_weight_case(Index rows, Index in, Index out, int threads) {
    r1::ThreadLimit limit{threads};
    const auto dy = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * out));
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * in));
    const auto dw0 = random_vector<Scalar>(rng, static_cast<std::size_t>(out * in));
    const auto db0 = random_vector<Scalar>(rng, static_cast<std::size_t>(out));
    std::vector<Scalar> dw = dw0, db = db0;
    r1::linear_backward_weight(dy.data(), x.data(), rows, in, out, dw.data(), db.data());
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        out, rows, in, [&](Index r, Index k) { return dy[static_cast<std::size_t>(k * out + r)]; },
        [&](Index k, Index j) { return x[static_cast<std::size_t>(k * in + j)]; }, dw0.data(), nullptr, reference,
        magnitude);
    const std::string shape = shape_of({{"N", rows}, {"in", in}, {"out", out}, {"threads", threads}});
    check("linear_backward_weight dW", shape, dw, reference, magnitude, rows + 1);
    gemm_reference(
        1, rows, out, [&](Index, Index) { return Scalar(1); },
        [&](Index k, Index j) { return dy[static_cast<std::size_t>(k * out + j)]; }, db0.data(), nullptr, reference,
        magnitude);
    check("linear_backward_weight dbias", shape, db, reference, magnitude, rows + 1);
  }

  // The register kernels called directly: C = C0 + A B with A read transposed (a depth stride, as the token
  // split and attention's P^T use it), k = depth + 1.
  void packed_kernels_case(Index rows, Index depth, Index cols) {
    const auto a_t = random_vector<Scalar>(rng, static_cast<std::size_t>(depth * rows));  // A^T (depth, rows)
    const auto b = random_vector<Scalar>(rng, static_cast<std::size_t>(depth * cols));    // B (depth, cols)
    const auto c0 = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * cols));
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        rows, depth, cols, [&](Index r, Index k) { return a_t[static_cast<std::size_t>(k * rows + r)]; },
        [&](Index k, Index j) { return b[static_cast<std::size_t>(k * cols + j)]; }, c0.data(), nullptr, reference,
        magnitude);
    const std::string shape = shape_of({{"rows", rows}, {"depth", depth}, {"cols", cols}});
    {
      using Gemm = r1::PackedGemm<Scalar>;
      r1::AlignedVector<Scalar> packed_a, packed_b;
      r1::grow_to(packed_a, rows * depth), r1::grow_to(packed_b, depth * cols);
      Gemm::template pack_a<r1::Stored::transposed>(packed_a.data(), a_t.data(), rows, rows, depth);
      Gemm::template pack_b<r1::Stored::as_is>(packed_b.data(), b.data(), cols, depth, cols);
      std::vector<Scalar> c = c0;
      Gemm::multiply_add(c.data(), cols, packed_a.data(), packed_b.data(), rows, depth, cols);
      check("PackedGemm::multiply_add", shape, c, reference, magnitude, depth + 1);
    }
    if constexpr (std::is_same_v<Scalar, float>) {
      r1::AlignedVector<float> packed_b;
      r1::grow_to(packed_b, r1::register_tile::packed_size(depth, cols));
      r1::register_tile::pack_b(packed_b.data(), b.data(), cols, depth, cols, false);
      std::vector<float> c = c0;
      r1::register_tile::multiply(a_t.data(), 1, rows, packed_b.data(), depth, cols, rows, c.data(), cols, c.data(), cols);
      check(r1::kHasRegisterTileGemm ? "register_tile::multiply" : "register_tile::multiply (loops)", shape, c,
            reference, magnitude, depth + 1);
    }
  }

  // few_rows_linear: y (M, J) at a wider row stride = [y0 +] x W^T, k = K + 1.
  void few_rows_case(Index M, Index K, Index J, bool accumulate) {
    const Index stride = J + 3;
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(M * K));
    const auto weight = random_vector<Scalar>(rng, static_cast<std::size_t>(J * K));
    const auto y0 = random_vector<Scalar>(rng, static_cast<std::size_t>(M * stride));
    std::vector<Scalar> y = y0;
    r1::few_rows_linear(x.data(), M, K, weight.data(), J, y.data(), stride, accumulate);
    std::vector<Scalar> c0(static_cast<std::size_t>(M * J)), got(c0.size());
    for (Index m = 0; m < M; ++m)
      for (Index j = 0; j < J; ++j) {
        c0[static_cast<std::size_t>(m * J + j)] = y0[static_cast<std::size_t>(m * stride + j)];
        got[static_cast<std::size_t>(m * J + j)] = y[static_cast<std::size_t>(m * stride + j)];
      }
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        M, K, J, [&](Index r, Index k) { return x[static_cast<std::size_t>(r * K + k)]; },
        [&](Index k, Index j) { return weight[static_cast<std::size_t>(j * K + k)]; }, accumulate ? c0.data() : nullptr,
        nullptr, reference, magnitude);
    check(accumulate ? "few_rows_linear +=" : "few_rows_linear", shape_of({{"M", M}, {"K", K}, {"J", J}}), got,
          reference, magnitude, K + 1);
  }

  // SwiGLU a = silu(g) u, silu(g) = g / (1 + exp(-g)): exp 4u, the sum, division and product u each: relative,
  // k = 7. Backward, s = 1 / (1 + exp(-g)) (k = 6 relative): du = da g s, k = 8 relative; dg = da u s (1 + g (1 -
  // s)): 1 - s carries <= 2 gamma_7 absolute (s <= 1), the bracket <= gamma_9 (1 + 3|g|) absolute, and the three
  // products with s another gamma_9 relative: m = |da u s| (1 + 3|g|), k = 18.
  void swiglu_reference(const std::vector<Scalar>& gate_up, const std::vector<Scalar>& d_act, Index rows, Index F,
                        std::vector<Wide>& act, std::vector<Wide>& act_mag, std::vector<Wide>& dgu,
                        std::vector<Wide>& dg_mag, std::vector<Wide>& du_mag) const {
    act.assign(static_cast<std::size_t>(rows * F), 0), act_mag = act;
    dgu.assign(static_cast<std::size_t>(rows * 2 * F), 0), dg_mag = dgu, du_mag = dgu;
    for (Index r = 0; r < rows; ++r)
      for (Index f = 0; f < F; ++f) {
        const Wide g = w(gate_up[static_cast<std::size_t>(r * 2 * F + f)]);
        const Wide u = w(gate_up[static_cast<std::size_t>(r * 2 * F + F + f)]);
        const Wide s = 1 / (1 + std::exp(-g));
        const auto i = static_cast<std::size_t>(r * F + f);
        act[i] = g * s * u, act_mag[i] = std::abs(act[i]);
        if (d_act.empty()) continue;
        const Wide da = w(d_act[i]);
        const auto ig = static_cast<std::size_t>(r * 2 * F + f), iu = static_cast<std::size_t>(r * 2 * F + F + f);
        dgu[ig] = da * u * s * (1 + g * (1 - s)), dgu[iu] = da * g * s;
        // Only the half each magnitude belongs to is compared; the other stays 0 in that vector.
        dg_mag[ig] = std::abs(da * u * s) * (1 + 3 * std::abs(g)), du_mag[iu] = std::abs(dgu[iu]);
      }
  }
  // Picks the g (half = 0) or u (half = 1) columns of an (N, 2F) matrix.
  template <class T>
  static std::vector<T> half_of(const std::vector<T>& m, Index rows, Index F, int half) {
    std::vector<T> out(static_cast<std::size_t>(rows * F));
    for (Index r = 0; r < rows; ++r)
      for (Index f = 0; f < F; ++f) out[static_cast<std::size_t>(r * F + f)] = m[static_cast<std::size_t>(r * 2 * F + half * F + f)];
    return out;
  }

  void swiglu_case(Index rows, Index F) {
    const auto gate_up = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * 2 * F), 3.0);
    const auto d_act = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * F));
    std::vector<Scalar> act(static_cast<std::size_t>(rows * F)), d_gate_up(gate_up.size());
    r1::swiglu_forward(gate_up.data(), rows, F, act.data());
    r1::swiglu_backward(d_act.data(), gate_up.data(), rows, F, d_gate_up.data());
    std::vector<Wide> ref_act, act_mag, ref_dgu, dg_mag, du_mag;
    swiglu_reference(gate_up, d_act, rows, F, ref_act, act_mag, ref_dgu, dg_mag, du_mag);
    const std::string shape = shape_of({{"N", rows}, {"F", F}});
    check("swiglu_forward", shape, act, ref_act, act_mag, 7);
    check("swiglu_backward dg", shape, half_of(d_gate_up, rows, F, 0), half_of(ref_dgu, rows, F, 0),
          half_of(dg_mag, rows, F, 0), 18);
    check("swiglu_backward du", shape, half_of(d_gate_up, rows, F, 1), half_of(ref_dgu, rows, F, 1),
          half_of(du_mag, rows, F, 1), 8);
  }

  // gate_up_swiglu_forward / down_swiglu_backward: the GEMM as linear's (k = D + 2 and F... + 1), then the
  // activation checked against the reference evaluated from the op's own GEMM output (its actual input).
  void swiglu_projections_case(Index rows, Index D, Index F) {
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * D));
    const auto gate_up_weight = random_vector<Scalar>(rng, static_cast<std::size_t>(2 * F * D), 0.3);
    std::vector<Scalar> gate_up(static_cast<std::size_t>(rows * 2 * F)), act(static_cast<std::size_t>(rows * F));
    r1::gate_up_swiglu_forward(x.data(), gate_up_weight.data(), rows, D, F, gate_up.data(), act.data());
    std::vector<Wide> reference, magnitude;
    gemm_reference(
        rows, D, 2 * F, [&](Index r, Index k) { return x[static_cast<std::size_t>(r * D + k)]; },
        [&](Index k, Index j) { return gate_up_weight[static_cast<std::size_t>(j * D + k)]; }, nullptr, nullptr,
        reference, magnitude);
    const std::string shape = shape_of({{"N", rows}, {"D", D}, {"F", F}});
    check("gate_up_swiglu_forward gate_up", shape, gate_up, reference, magnitude, D + 2);
    std::vector<Wide> ref_act, act_mag, unused1, unused2, unused3;
    swiglu_reference(gate_up, {}, rows, F, ref_act, act_mag, unused1, unused2, unused3);
    check("gate_up_swiglu_forward act", shape, act, ref_act, act_mag, 7);

    const auto d_out = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * D));
    const auto down_weight = random_vector<Scalar>(rng, static_cast<std::size_t>(D * F));
    std::vector<Scalar> d_act(static_cast<std::size_t>(rows * F)), d_gate_up(gate_up.size());
    r1::down_swiglu_backward(d_out.data(), down_weight.data(), gate_up.data(), rows, F, D, d_act.data(), d_gate_up.data());
    gemm_reference(
        rows, D, F, [&](Index r, Index k) { return d_out[static_cast<std::size_t>(r * D + k)]; },
        [&](Index k, Index j) { return down_weight[static_cast<std::size_t>(k * F + j)]; }, nullptr, nullptr, reference,
        magnitude);
    check("down_swiglu_backward d_act", shape, d_act, reference, magnitude, D + 1);
    std::vector<Wide> ref_dgu, dg_mag, du_mag;
    swiglu_reference(gate_up, d_act, rows, F, ref_act, act_mag, ref_dgu, dg_mag, du_mag);
    check("down_swiglu_backward dg", shape, half_of(d_gate_up, rows, F, 0), half_of(ref_dgu, rows, F, 0),
          half_of(dg_mag, rows, F, 0), 18);
    check("down_swiglu_backward du", shape, half_of(d_gate_up, rows, F, 1), half_of(ref_dgu, rows, F, 1),
          half_of(du_mag, rows, F, 1), 8);
  }

  // RMSNorm, r = 1 / sqrt(sum(x^2) / D + eps): the sum of D squares gamma_D relative (positive terms), /D and
  // +eps u each, sqrt halves that and adds u, 1/ adds u: rstd k = ceil(D / 2) + 3 relative; y = x r w two more,
  // k = ceil(D / 2) + 5. Backward from the forward's rstd (an input): dx = dx0 + r dy w - (r^3 / D sum_k dy_k w_k
  // x_k) x: the dot gamma_{D+1} over sum |dy w x|, the coefficient 4 more, times x 1, r dy w 2, the subtraction and
  // the += 1 each: k = D + 8 over m = |dx0| + |r dy w| + r^3 / D sum |dy w x| |x|. dw = dw0 + sum_rows r dy x:
  // two roundings per term and N additions, k = N + 2.
  void rmsnorm_case(Index rows, Index D) {
    const double eps = 1e-5;
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * D));
    const auto weight = random_vector<Scalar>(rng, static_cast<std::size_t>(D));
    std::vector<Scalar> y(x.size()), rstd(static_cast<std::size_t>(rows));
    r1::rmsnorm_forward(x.data(), weight.data(), rows, D, eps, y.data(), rstd.data());
    std::vector<Wide> ref_y(y.size()), mag_y(y.size()), ref_r(rstd.size()), mag_r(rstd.size());
    for (Index r = 0; r < rows; ++r) {
      Wide squares = 0;
      for (Index i = 0; i < D; ++i) squares += w(x[static_cast<std::size_t>(r * D + i)]) * w(x[static_cast<std::size_t>(r * D + i)]);
      const Wide inv = 1 / std::sqrt(squares / static_cast<Wide>(D) + static_cast<Wide>(eps));
      ref_r[static_cast<std::size_t>(r)] = inv, mag_r[static_cast<std::size_t>(r)] = inv;
      for (Index i = 0; i < D; ++i) {
        const auto at = static_cast<std::size_t>(r * D + i);
        ref_y[at] = w(x[at]) * inv * w(weight[static_cast<std::size_t>(i)]), mag_y[at] = std::abs(ref_y[at]);
      }
    }
    const std::string shape = shape_of({{"N", rows}, {"D", D}});
    check("rmsnorm_forward rstd", shape, rstd, ref_r, mag_r, (D + 1) / 2 + 3);
    check("rmsnorm_forward y", shape, y, ref_y, mag_y, (D + 1) / 2 + 5);

    const auto dy = random_vector<Scalar>(rng, x.size());
    const auto dx0 = random_vector<Scalar>(rng, x.size());
    const auto dw0 = random_vector<Scalar>(rng, weight.size());
    std::vector<Scalar> dx = dx0, dw = dw0;
    r1::rmsnorm_backward(dy.data(), x.data(), weight.data(), rstd.data(), rows, D, dx.data(), dw.data());
    std::vector<Wide> ref_dx(dx.size()), mag_dx(dx.size()), ref_dw(dw.size()), mag_dw(dw.size());
    for (Index i = 0; i < D; ++i) ref_dw[static_cast<std::size_t>(i)] = w(dw0[static_cast<std::size_t>(i)]), mag_dw[static_cast<std::size_t>(i)] = std::abs(w(dw0[static_cast<std::size_t>(i)]));
    for (Index r = 0; r < rows; ++r) {
      const Wide inv = w(rstd[static_cast<std::size_t>(r)]);
      Wide dot = 0, dot_abs = 0;
      for (Index i = 0; i < D; ++i) {
        const auto at = static_cast<std::size_t>(r * D + i);
        const Wide term = w(dy[at]) * w(weight[static_cast<std::size_t>(i)]) * w(x[at]);
        dot += term, dot_abs += std::abs(term);
      }
      const Wide coefficient = inv * inv * inv / static_cast<Wide>(D);
      for (Index i = 0; i < D; ++i) {
        const auto at = static_cast<std::size_t>(r * D + i);
        const Wide direct = inv * w(dy[at]) * w(weight[static_cast<std::size_t>(i)]);
        ref_dx[at] = w(dx0[at]) + direct - coefficient * dot * w(x[at]);
        mag_dx[at] = std::abs(w(dx0[at])) + std::abs(direct) + coefficient * dot_abs * std::abs(w(x[at]));
        ref_dw[static_cast<std::size_t>(i)] += inv * w(dy[at]) * w(x[at]);
        mag_dw[static_cast<std::size_t>(i)] += std::abs(inv * w(dy[at]) * w(x[at]));
      }
    }
    check("rmsnorm_backward dx", shape, dx, ref_dx, mag_dx, D + 8);
    check("rmsnorm_backward dw", shape, dw, ref_dw, mag_dw, rows + 2);
  }

  // RoPE with its table, from the table's inverse frequencies (rope_inverse_frequencies, an input here): the
  // angle p inv_freq rounds once (u |angle| absolute), cos and sin 4u each, so each entry of the table carries
  // <= gamma_5 (1 + |angle|) absolute; x' = a c -+ b s two products and a sum: k = 7 over
  // m = (|a| + |b|)(1 + |angle|). The inverse rotation the same.
  void rope_case(Index rows, Index heads, Index half, Index first_position) {
    const Index E = 2 * half, stride = heads * E + 5;
    r1::RopeTable<Scalar> table(E, 10000.0);
    table.reserve(first_position + rows);
    const auto inv_freq = r1::rope_inverse_frequencies<Scalar>(E, 10000.0);
    const auto x = random_vector<Scalar>(rng, static_cast<std::size_t>(rows * stride));
    const std::string shape = shape_of({{"N", rows}, {"heads", heads}, {"E", E}, {"p0", first_position}});
    for (const bool inverse : {false, true}) {
      std::vector<Scalar> rotated = x;
      r1::rope_rotate(rotated.data(), rows, stride, heads, first_position, table, inverse);
      std::vector<Scalar> got;
      std::vector<Wide> reference, magnitude;
      for (Index r = 0; r < rows; ++r)
        for (Index h = 0; h < heads; ++h)
          for (Index i = 0; i < E; ++i) {
            const Index lo = i % half, at = r * stride + h * E;
            const Wide angle = static_cast<Wide>(first_position + r) * w(inv_freq[static_cast<std::size_t>(lo)]);
            const Wide c = std::cos(angle), s = (inverse ? -1 : 1) * std::sin(angle);
            const Wide a = w(x[static_cast<std::size_t>(at + lo)]), b = w(x[static_cast<std::size_t>(at + lo + half)]);
            got.push_back(rotated[static_cast<std::size_t>(at + i)]);
            reference.push_back(i < half ? a * c - b * s : b * c + a * s);
            magnitude.push_back((std::abs(a) + std::abs(b)) * (1 + std::abs(angle)));
          }
      check(inverse ? "rope_rotate inverse" : "rope_rotate", shape, got, reference, magnitude, 7);
    }
  }

  // Embedding: a copy (exact, k = 0); its backward sums a token's rows onto what was there, k = N + 1.
  void embedding_case(Index rows, Index vocab, Index D) {
    const auto table = random_vector<Scalar>(rng, static_cast<std::size_t>(vocab * D));
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(rows));
    for (auto& token : tokens) token = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
    std::vector<Scalar> x(static_cast<std::size_t>(rows * D));
    r1::embedding_forward(table.data(), std::span<const std::int32_t>(tokens), D, x.data());
    std::vector<Wide> reference, magnitude;
    for (Index r = 0; r < rows; ++r)
      for (Index i = 0; i < D; ++i) {
        reference.push_back(w(table[static_cast<std::size_t>(tokens[static_cast<std::size_t>(r)] * D + i)]));
        magnitude.push_back(std::abs(reference.back()));
      }
    const std::string shape = shape_of({{"N", rows}, {"V", vocab}, {"D", D}});
    check("embedding_forward", shape, x, reference, magnitude, 0);
    const auto dx = random_vector<Scalar>(rng, x.size());
    std::vector<Scalar> d_table = table;
    r1::embedding_backward(dx.data(), std::span<const std::int32_t>(tokens), D, d_table.data());
    reference.assign(table.size(), 0), magnitude.assign(table.size(), 0);
    for (std::size_t i = 0; i < table.size(); ++i) reference[i] = w(table[i]), magnitude[i] = std::abs(w(table[i]));
    for (Index r = 0; r < rows; ++r)
      for (Index i = 0; i < D; ++i) {
        const auto at = static_cast<std::size_t>(tokens[static_cast<std::size_t>(r)] * D + i);
        reference[at] += w(dx[static_cast<std::size_t>(r * D + i)]), magnitude[at] += std::abs(w(dx[static_cast<std::size_t>(r * D + i)]));
      }
    check("embedding_backward", shape, d_table, reference, magnitude, rows + 1);
  }

  // log_softmax_gather at temperature T, a = z / T (two roundings), b = a - max a, S = sum exp(b).
  // Forward: b carries gamma_3 (|a| + |max a|) absolute, exp(b) that relative plus 4u, S gamma_V more, log S 4u
  // more relative to |log S|, and lse, logprob and entropy (= log S - sum e^b b / S, both parts >= 0) a few
  // roundings each: every piece is <= gamma_{V+10} times m = 1 + 4 max|a| + 2 |log S| + 2 |entropy|.
  // Backward from the forward's lse and entropy (inputs): log p_j = a_j - lse carries gamma_3 (|a_j| + |lse|),
  // p_j that relative plus 4u, the bracket d_lp + d_H (log p_j + H) 3 more, the products 3 and the target's += 1:
  // k = 14 over m_j = p_j / T (|d_lp| + |d_H| (1 + |log p_j| + |H|)) (1 + |a_j| + |lse|) + [j = y] |d_lp| / T.
  void log_softmax_case(Index vocab, Scalar temperature, Index rows) {
    const std::string shape = shape_of({{"V", vocab}, {"rows", rows}}) + " T=" + std::to_string(temperature).substr(0, 4);
    std::vector<Scalar> got_lp, got_h, got_grad;
    std::vector<Wide> ref_lp, mag_lp, ref_h, mag_h, ref_grad, mag_grad;
    for (Index r = 0; r < rows; ++r) {
      const auto z = random_vector<Scalar>(rng, static_cast<std::size_t>(vocab), 4.0);
      const auto target = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
      const auto forward = r1::log_softmax_gather_forward(z.data(), vocab, temperature, target);
      const Wide T = w(temperature);
      Wide max_a = -std::numeric_limits<Wide>::infinity(), max_abs_a = 0;
      for (const Scalar value : z) max_a = std::max(max_a, w(value) / T), max_abs_a = std::max(max_abs_a, std::abs(w(value) / T));
      Wide S = 0, weighted = 0;
      for (const Scalar value : z) {
        const Wide b = w(value) / T - max_a;
        S += std::exp(b), weighted += std::exp(b) * b;
      }
      const Wide lse = max_a + std::log(S), entropy = std::log(S) - weighted / S;
      const Wide m = 1 + 4 * max_abs_a + 2 * std::abs(std::log(S)) + 2 * std::abs(entropy);
      got_lp.push_back(forward.logprob), ref_lp.push_back(w(z[static_cast<std::size_t>(target)]) / T - lse), mag_lp.push_back(m);
      got_h.push_back(forward.entropy), ref_h.push_back(entropy), mag_h.push_back(m);

      const Scalar d_lp = static_cast<Scalar>(rng.normal()), d_h = static_cast<Scalar>(rng.normal());
      std::vector<Scalar> grad = z;
      r1::log_softmax_gather_backward(grad.data(), vocab, temperature, target, forward, d_lp, d_h);
      const Wide given_lse = w(forward.log_normalizer), given_h = w(forward.entropy);
      for (Index j = 0; j < vocab; ++j) {
        const Wide a = w(z[static_cast<std::size_t>(j)]) / T, log_p = a - given_lse, p = std::exp(log_p);
        Wide value = -p / T * (w(d_lp) + w(d_h) * (log_p + given_h));
        Wide magnitude = p / T * (std::abs(w(d_lp)) + std::abs(w(d_h)) * (1 + std::abs(log_p) + std::abs(given_h))) *
                         (1 + std::abs(a) + std::abs(given_lse));
        if (j == target) value += w(d_lp) / T, magnitude += std::abs(w(d_lp)) / T;
        got_grad.push_back(grad[static_cast<std::size_t>(j)]), ref_grad.push_back(value), mag_grad.push_back(magnitude);
      }
    }
    check("log_softmax_gather logprob", shape, got_lp, ref_lp, mag_lp, vocab + 10);
    check("log_softmax_gather entropy", shape, got_h, ref_h, mag_h, vocab + 10);
    check("log_softmax_gather_backward", shape, got_grad, ref_grad, mag_grad, 14);
  }

  // Causal attention per head, score s_ij = q_i . k_j / sqrt(E), a_i = max_j sum |q k| / sqrt(E), r_i the spread
  // max_j (m_i - s_ij), S the keys seen. As test_attention.cpp derives: P's entries carry a relative error
  // eps_i = 2 gamma_E a_i + u r_i + 6u + gamma_S <= gamma_{E+2S+6} (1 + 2 a_i + r_i), and O = P V gamma_S more:
  // k = E + 3S + 6 over m = (1 + 2 a_i + r_i) sum_j P_ij |v_j|; lse = m_i + log sum the same k over
  // m = 1 + 2 a_i + r_i + |log sum| + |lse|. The gradients chain three reductions more (dP over E, the row dot
  // over E, dQ/dK/dV over S) on quantities with relative errors <= max eps: k = 4 (2E + 3S + 6) over the
  // gradient evaluated on absolute values times (1 + 2 max a + max r).
  void attention_case(const std::vector<std::int64_t>& lengths, const r1::AttentionHeads& heads) {
    std::vector<std::int64_t> offsets{0};
    for (const auto length : lengths) offsets.push_back(offsets.back() + length);
    const Index N = offsets.back(), E = heads.head_dim, width = heads.qkv_width(), A = heads.q_width();
    const auto qkv = random_vector<Scalar>(rng, static_cast<std::size_t>(N * width));
    const auto d_out = random_vector<Scalar>(rng, static_cast<std::size_t>(N * A));
    std::vector<Scalar> out(d_out.size()), lse(static_cast<std::size_t>(N * heads.heads)), d_qkv(qkv.size(), Scalar(7));
    r1::AttentionScratch<Scalar> scratch;
    r1::attention_forward_packed(qkv.data(), std::span<const std::int64_t>(offsets), heads, out.data(), lse.data(), scratch);
    r1::attention_backward_packed(d_out.data(), qkv.data(), out.data(), lse.data(), std::span<const std::int64_t>(offsets),
                                  heads, d_qkv.data(), scratch);
    const Wide scale = 1 / std::sqrt(static_cast<Wide>(E));
    const auto q = [&](Index row, Index col) { return w(qkv[static_cast<std::size_t>(row * width + col)]); };
    const auto g = [&](Index row, Index col) { return w(d_out[static_cast<std::size_t>(row * A + col)]); };
    std::vector<Wide> ref_out(out.size(), 0), mag_out(out.size(), 0), ref_lse(lse.size(), 0), mag_lse(lse.size(), 0);
    std::vector<Wide> ref_d(qkv.size(), 0), mag_d(qkv.size(), 0);
    Wide worst_a = 0, worst_r = 0;
    Index longest = 0;
    for (std::size_t sequence = 0; sequence + 1 < offsets.size(); ++sequence) {
      const Index first = offsets[sequence], T = offsets[sequence + 1] - first;
      longest = std::max(longest, T);
      for (Index h = 0; h < heads.heads; ++h) {
        const Index kv = h / heads.group(), qc = h * E, kc = A + kv * E, vc = A + heads.kv_width() + kv * E;
        std::vector<Wide> P(static_cast<std::size_t>(T * T), 0);
        for (Index i = 0; i < T; ++i) {
          std::vector<Wide> s(static_cast<std::size_t>(i + 1));
          Wide m = -std::numeric_limits<Wide>::infinity(), a = 0, sum = 0, spread = 0;
          for (Index j = 0; j <= i; ++j) {
            Wide dot = 0, dot_abs = 0;
            for (Index e = 0; e < E; ++e) dot += q(first + i, qc + e) * q(first + j, kc + e), dot_abs += std::abs(q(first + i, qc + e) * q(first + j, kc + e));
            s[static_cast<std::size_t>(j)] = dot * scale, m = std::max(m, dot * scale), a = std::max(a, dot_abs * scale);
          }
          for (Index j = 0; j <= i; ++j) sum += std::exp(s[static_cast<std::size_t>(j)] - m), spread = std::max(spread, m - s[static_cast<std::size_t>(j)]);
          for (Index j = 0; j <= i; ++j) P[static_cast<std::size_t>(i * T + j)] = std::exp(s[static_cast<std::size_t>(j)] - m) / sum;
          worst_a = std::max(worst_a, a), worst_r = std::max(worst_r, spread);
          const Wide weight = 1 + 2 * a + spread;
          const auto l = static_cast<std::size_t>((first + i) * heads.heads + h);
          ref_lse[l] = m + std::log(sum), mag_lse[l] = weight + std::abs(std::log(sum)) + std::abs(ref_lse[l]);
          for (Index e = 0; e < E; ++e) {
            Wide o = 0, o_abs = 0;
            for (Index j = 0; j <= i; ++j) o += P[static_cast<std::size_t>(i * T + j)] * q(first + j, vc + e), o_abs += P[static_cast<std::size_t>(i * T + j)] * std::abs(q(first + j, vc + e));
            ref_out[static_cast<std::size_t>((first + i) * A + qc + e)] = o;
            mag_out[static_cast<std::size_t>((first + i) * A + qc + e)] = weight * o_abs;
          }
        }
        // dP = dO V^T; dS = P (dP - sum_j P dP) scale; dQ = dS K; dK += dS^T Q; dV += P^T dO.
        for (Index i = 0; i < T; ++i) {
          std::vector<Wide> dp(static_cast<std::size_t>(i + 1), 0), dp_abs(dp.size(), 0);
          Wide row_dot = 0, row_dot_abs = 0;
          for (Index j = 0; j <= i; ++j) {
            for (Index e = 0; e < E; ++e) dp[static_cast<std::size_t>(j)] += g(first + i, qc + e) * q(first + j, vc + e), dp_abs[static_cast<std::size_t>(j)] += std::abs(g(first + i, qc + e) * q(first + j, vc + e));
            row_dot += P[static_cast<std::size_t>(i * T + j)] * dp[static_cast<std::size_t>(j)];
            row_dot_abs += P[static_cast<std::size_t>(i * T + j)] * dp_abs[static_cast<std::size_t>(j)];
          }
          for (Index j = 0; j <= i; ++j) {
            const Wide p = P[static_cast<std::size_t>(i * T + j)];
            const Wide ds = p * (dp[static_cast<std::size_t>(j)] - row_dot) * scale, ds_abs = p * (dp_abs[static_cast<std::size_t>(j)] + row_dot_abs) * scale;
            for (Index e = 0; e < E; ++e) {
              const auto add = [&](Index row, Index col, Wide value, Wide magnitude) {
                ref_d[static_cast<std::size_t>(row * width + col)] += value, mag_d[static_cast<std::size_t>(row * width + col)] += magnitude;
              };
              add(first + i, qc + e, ds * q(first + j, kc + e), ds_abs * std::abs(q(first + j, kc + e)));
              add(first + j, kc + e, ds * q(first + i, qc + e), ds_abs * std::abs(q(first + i, qc + e)));
              add(first + j, vc + e, p * g(first + i, qc + e), p * std::abs(g(first + i, qc + e)));
            }
          }
        }
      }
    }
    for (auto& magnitude : mag_d) magnitude *= 1 + 2 * worst_a + worst_r;
    std::string lengths_text;
    for (const auto length : lengths) {
      if (!lengths_text.empty()) lengths_text += ',';
      lengths_text.append(std::to_string(length));
    }
    std::string shape = "T=";
    shape.append(lengths_text).append(" ").append(shape_of({{"H", heads.heads}, {"K", heads.kv_heads}, {"E", E}}));
    check("attention_forward out", shape, out, ref_out, mag_out, E + 3 * longest + 6);
    check("attention_forward lse", shape, lse, ref_lse, mag_lse, E + 3 * longest + 6);
    check("attention_backward d_qkv", shape, d_qkv, ref_d, mag_d, 4 * (2 * E + 3 * longest + 6));
  }

  void run_all() {
    r1::ThreadLimit limit{2};
    // linear: few rows (N <= 16), row panels (ragged widths), Eigen's product split by features (few rows, wide
    // output) and by rows (a weight over row_panel_gemm's 4 MiB).
    linear_forward_case(1, 64, 96, false, false);
    linear_forward_case(7, 67, 131, false, false);
    linear_forward_case(97, 67, 131, false, false);
    linear_forward_case(97, 67, 131, true, false);
    linear_forward_case(20, 40, 300, false, false);
    linear_forward_case(70, 1030, 1030, false, false);
    linear_forward_case(97, 67, 131, false, true);
    linear_forward_case(5, 33, 17, false, true);
    linear_backward_input_case(97, 131, 67, false);
    linear_backward_input_case(97, 67, 131, true);
    linear_backward_input_case(5, 33, 17, false);
    linear_backward_input_case(70, 1030, 1030, false);
    // The weight gradient: the token split (2 chunks; 1 thread: one chunk on the register tiles, or Eigen's
    // feature split), Eigen's split by output features (out >= in) and by input features.
    linear_backward_weight_case(600, 67, 131, 2);
    linear_backward_weight_case(600, 67, 131, 1);
    linear_backward_weight_case(100, 96, 200, 2);
    linear_backward_weight_case(100, 200, 96, 2);
    packed_kernels_case(13, 37, 53);
    packed_kernels_case(64, 300, 130);
    few_rows_case(1, 37, 11, false);
    few_rows_case(7, 70, 10, true);
    swiglu_projections_case(97, 67, 45);
    swiglu_projections_case(5, 33, 20);
    swiglu_case(97, 45);
    swiglu_case(5, 300);
    rmsnorm_case(97, 67);
    rmsnorm_case(3, 256);
    rope_case(37, 3, 9, 5);
    embedding_case(97, 20, 67);
    log_softmax_case(1000, Scalar(0.7), 4);
    log_softmax_case(37, Scalar(1), 4);
    attention_case({61, 1, 100}, r1::AttentionHeads{4, 2, 20});
    attention_case({13}, r1::AttentionHeads{2, 1, 16});
  }

  void print(const char* scalar) const {
    std::printf("\nops against the %s reference (error and bound in units of u = epsilon/2 of %s)\n",
                std::is_same_v<Scalar, float> ? "double" : "long double", scalar);
    std::printf("%-34s %-34s %12s %12s\n", "op", "shape", "error (u)", "bound (u)");
    for (const auto& row : table)
      std::printf("%-34s %-34s %12.3g %12.4g%s\n", row.op.c_str(), row.shape.c_str(), row.error_u, row.bound_u,
                  row.error_u <= row.bound_u ? "" : "  FAIL");
  }
};

}  // namespace

TEST_CASE("every CPU op in float against double, within its derived bound") {
  OpsReference<float> ops;
  ops.run_all();
  ops.print("float");
}

TEST_CASE("every CPU op in double against long double, within its derived bound") {
  OpsReference<double> ops;
  ops.run_all();
  ops.print("double");
}
