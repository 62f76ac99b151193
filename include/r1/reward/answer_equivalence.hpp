#pragma once
// Are two parsed answers the same answer? (r1::MathExpression on both sides.)
//
// - numbers: exactly, as rationals (0.5 == \frac12 == 1/2; 03225 == 3225; 28 != 0.28);
//   values that are not rational (\sqrt{8}, \pi) in double within a relative tolerance;
// - expressions with variables: evaluated at fixed pseudo-random points
//   (\frac{x+1}{2} == 0.5x+0.5), over the union of both sides' variables;
// - tuples and intervals in order, with the same brackets ((0,1) != [0,1]);
//   sets and bare comma lists unordered; unions unordered;
// - equations side by side (either orientation), and `x = 3` against `3`;
// - a percent gold (28\%) accepts 28, 0.28 and 28\%; a percent answer to a plain
//   gold is read without its sign (MATH's grader strips "\%").
#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "r1/reward/expression.hpp"

namespace r1 {

struct EquivalenceOptions {
  double relative_tolerance = 1e-9;           // values that are not both exact rationals
  double rational_relative_tolerance = 0.0;   // 0: rationals compared exactly
  // Points at which expressions with variables are compared; each side is built from
  // at most `max_nodes` operations, each with relative error <= 2^-53, so agreement to
  // 1e-8 separates equal expressions (error ~1e-13) from different ones.
  double sample_relative_tolerance = 1e-8;
  int sample_points = 8;
  std::int64_t max_bits = 1 << 14;
  std::size_t max_unordered_items = 256;
};

namespace equivalence_detail {

inline bool is_structure(ExprKind kind) {
  return kind == ExprKind::tuple || kind == ExprKind::set || kind == ExprKind::list || kind == ExprKind::union_of ||
         kind == ExprKind::equation;
}

// |a - b| <= tolerance * max(|a|, |b|), with infinities equal only to the same infinity.
// The 1e-12 absolute floor absorbs rounding such as sin(pi) = 1.2e-16 against 0.
inline bool close(double a, double b, double relative_tolerance) {
  if (std::isnan(a) || std::isnan(b)) return false;
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= relative_tolerance * std::max(std::fabs(a), std::fabs(b)) + 1e-12;
}

// Values given to variables at each sample point: irrational-looking, mostly positive
// (so \sqrt{x} and \ln x are defined), a few negative.
inline double sample_value(int point, int variable) {
  static constexpr double table[] = {1.3247179572, 2.7182818285, 0.5772156649, 1.6180339887, 3.1415926536,
                                     0.4142135624, 2.2360679775, 1.7320508076, -0.8414709848, -1.4142135624,
                                     -2.3025850930, 0.1234567891, 4.6692016091};
  constexpr int count = static_cast<int>(sizeof(table) / sizeof(table[0]));
  return table[(point * 5 + variable * 7 + variable * point) % count];
}

class Comparer {
 public:
  Comparer(const MathExpression& left, const MathExpression& right, const EquivalenceOptions& options)
      : left_(left), right_(right), options_(options) {}

  bool equal(std::int32_t x, std::int32_t y) const {
    const ExprNode& a = left_.node(x);
    const ExprNode& b = right_.node(y);
    if (a.kind == ExprKind::equation && b.kind == ExprKind::equation)
      return (equal(a.first, b.first) && equal(a.second, b.second)) ||
             (equal(a.first, b.second) && equal(a.second, b.first));
    if (a.kind == ExprKind::equation) {
      if (left_.node(a.first).kind == ExprKind::variable) return equal(a.second, y);
      if (left_.node(a.second).kind == ExprKind::variable) return equal(a.first, y);
      return false;
    }
    if (b.kind == ExprKind::equation) {
      if (right_.node(b.first).kind == ExprKind::variable) return equal(x, b.second);
      if (right_.node(b.second).kind == ExprKind::variable) return equal(x, b.first);
      return false;
    }
    if (a.kind == ExprKind::tuple || b.kind == ExprKind::tuple) {
      if (a.kind != b.kind || a.open != b.open || a.close != b.close || a.items.size() != b.items.size()) return false;
      for (std::size_t k = 0; k < a.items.size(); ++k)
        if (!equal(a.items[k], b.items[k])) return false;
      return true;
    }
    const bool a_unordered = a.kind == ExprKind::set || a.kind == ExprKind::list;
    const bool b_unordered = b.kind == ExprKind::set || b.kind == ExprKind::list;
    if (a_unordered || b_unordered) {
      if (!(a_unordered && b_unordered)) return false;
      return unordered_equal(a.items, b.items);
    }
    if (a.kind == ExprKind::union_of || b.kind == ExprKind::union_of) {
      if (a.kind != b.kind) return false;
      return unordered_equal(a.items, b.items);
    }
    return values_equal(x, y);
  }

 private:
  // Every item of one side matched to a distinct equal item of the other.
  bool unordered_equal(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) const {
    if (a.size() != b.size() || a.size() > options_.max_unordered_items) return false;
    std::vector<bool> used(b.size(), false);
    for (const auto item : a) {
      bool matched = false;
      for (std::size_t k = 0; k < b.size() && !matched; ++k) {
        if (!used[k] && equal(item, b[k])) {
          used[k] = true;
          matched = true;
        }
      }
      if (!matched) return false;
    }
    return true;
  }

  bool values_equal(std::int32_t x, std::int32_t y) const {
    // Sampled over the union of both sides' variables: x - x equals 0, x + 1 never equals y + 1.
    auto variables = left_.variables(x);
    const auto right_variables = right_.variables(y);
    if (variables != right_variables) {
      variables.insert(variables.end(), right_variables.begin(), right_variables.end());
      std::sort(variables.begin(), variables.end());
      variables.erase(std::unique(variables.begin(), variables.end()), variables.end());
    }
    if (variables.empty()) {
      const auto exact_left = left_.evaluate_exact(x, options_.max_bits);
      if (exact_left) {
        const auto exact_right = right_.evaluate_exact(y, options_.max_bits);
        if (exact_right) {
          if (options_.rational_relative_tolerance <= 0.0) {
            if (const auto same = Rational::equal(*exact_left, *exact_right, 2 * options_.max_bits)) return *same;
          }
          return close(exact_left->to_double(), exact_right->to_double(),
                       std::max(options_.rational_relative_tolerance, 1e-15));
        }
      }
      // A value that overflowed or underflowed in double (10^{-100000} -> 0) is not
      // trusted: the floating-point status flags (per thread) tell.
      std::feclearexcept(FE_OVERFLOW | FE_UNDERFLOW);
      const double a = left_.evaluate_double(x, {});
      const double b = right_.evaluate_double(y, {});
      if (std::fetestexcept(FE_OVERFLOW | FE_UNDERFLOW)) return false;
      // An infinity is equal only to the same written infinity (interval ends): 2^{100000}
      // and 3^{100000} both overflow to inf in double and must not compare equal.
      if (std::isinf(a) || std::isinf(b)) return a == b && is_written_infinity(left_, x) && is_written_infinity(right_, y);
      return close(a, b, options_.relative_tolerance);
    }
    // Identities are compared where both sides are defined; a point where exactly
    // one side is defined shows different domains (\sqrt{x^2} vs x is caught by value).
    std::vector<std::pair<std::string, double>> values(variables.size());
    int compared = 0;
    for (int point = 0; point < options_.sample_points; ++point) {
      for (std::size_t v = 0; v < variables.size(); ++v)
        values[v] = {variables[v], sample_value(point, static_cast<int>(v))};
      const double a = left_.evaluate_double(x, values);
      const double b = right_.evaluate_double(y, values);
      const bool a_defined = std::isfinite(a);
      const bool b_defined = std::isfinite(b);
      if (!a_defined && !b_defined) continue;
      if (a_defined != b_defined) return false;
      if (!close(a, b, options_.sample_relative_tolerance)) return false;
      ++compared;
    }
    return compared >= 3;
  }

  static bool is_written_infinity(const MathExpression& expression, std::int32_t index) {
    const ExprNode& n = expression.node(index);
    if (n.kind == ExprKind::negate) return expression.node(n.first).kind == ExprKind::infinity;
    return n.kind == ExprKind::infinity;
  }

  const MathExpression& left_;
  const MathExpression& right_;
  const EquivalenceOptions& options_;
};

}  // namespace equivalence_detail

// True when `answer` is the same answer as `gold` (see the file comment).
inline bool expressions_equivalent(const MathExpression& gold, const MathExpression& answer,
                                   const EquivalenceOptions& options = {}) {
  const equivalence_detail::Comparer comparer(gold, answer, options);
  const ExprNode& gold_root = gold.node(gold.root());
  const ExprNode& answer_root = answer.node(answer.root());
  if (gold_root.kind == ExprKind::percent && answer_root.kind != ExprKind::percent)
    return comparer.equal(gold_root.first, answer.root()) || comparer.equal(gold.root(), answer.root());
  if (answer_root.kind == ExprKind::percent && gold_root.kind != ExprKind::percent)
    return comparer.equal(gold.root(), answer_root.first);
  return comparer.equal(gold.root(), answer.root());
}

}  // namespace r1
