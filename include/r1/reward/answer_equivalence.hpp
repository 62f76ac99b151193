#pragma once
// Are two parsed answers the same answer? (r1::MathExpression on both sides.)
//
// - numbers: exactly, as rationals (0.5 == \frac12 == 1/2; 03225 == 3225; 28 != 0.28);
//   values that are not rational (\sqrt{8}, \pi) in double within a relative tolerance;
// - expressions with variables: evaluated at fixed pseudo-random points
//   (\frac{x+1}{2} == 0.5x+0.5), over the union of both sides' variables;
// - tuples and intervals in order, with the same brackets ((0,1) != [0,1]);
//   sets and bare comma lists unordered; unions unordered;
// - equations side by side (either orientation), and `x = 3` against `3`; a label
//   (x, PQ, (a, b)) on one side of an equation names the answer on the other side
//   (`(a, b) = (4, 1)` is `(4, 1)`; `2x + z = 1` is not `1`, as in Math-Verify);
// - inequalities relation by relation (4 \geq t is t \leq 4), and a one-variable
//   inequality against the interval it describes (x > 2 is (2, \infty); Math-Verify's
//   allow_set_relation_comp, on here because a person marks it right);
// - matrices element by element, whatever their brackets (pmatrix == bmatrix);
// - a ratio a:b against a number by its value (5:12 == 5/12), against a ratio term by term;
// - a decimal gold accepts an answer that rounds to it at the gold's precision
//   (gold 3.14: \pi and 3.1416 are right). With one decimal place only an answer
//   whose decimals never end is rounded (gold 0.3: 1/3 is right; 0.25, 1/4 and 0.34
//   are wrong). A gold that is not a decimal is never rounded to: Math-Verify compares
//   at 6 places (1/3 == 0.333333); r1 keeps exact rationals there, so a truncated
//   decimal is not the fraction;
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
  bool inequality_matches_interval = true;  // x > 2 == (2, \infty)
  bool round_to_decimal_gold = true;        // gold 3.14 accepts 3.14159
};

namespace equivalence_detail {

// Names an answer rather than being one: a variable (x, x_1, \alpha), letters written
// together (PQ, AB: a product of variables, where e may appear among other letters,
// "Area"), or a tuple of labels ((a, b)). No numbers, no operators, no \pi (\pi r is a value).
inline bool is_label_product(const MathExpression& e, std::int32_t index, int depth) {
  const ExprNode& n = e.node(index);
  if (depth > 32) return false;
  if (n.kind == ExprKind::variable || n.kind == ExprKind::euler) return true;
  return n.kind == ExprKind::multiply && is_label_product(e, n.first, depth + 1) && is_label_product(e, n.second, depth + 1);
}
inline bool is_label(const MathExpression& e, std::int32_t index) {
  const ExprNode& n = e.node(index);
  if (n.kind == ExprKind::variable) return true;
  if (n.kind == ExprKind::multiply) return is_label_product(e, index, 0) && !e.variables(index).empty();
  if (n.kind == ExprKind::tuple && n.open == '(') {
    for (const auto item : n.items)
      if (!is_label(e, item)) return false;
    return true;
  }
  return false;
}

// The decimal places of a literal gold (3.14, -0.5), or -1.
inline int literal_decimal_places(const MathExpression& e, std::int32_t index) {
  const ExprNode& n = e.node(index);
  if (n.kind == ExprKind::negate) return e.decimal_places(n.first);
  return e.decimal_places(index);
}

// One interval of a set of reals, its ends as nodes of one expression.
struct IntervalView {
  std::int32_t low = -1, high = -1;  // -1: infinite (or a value below)
  bool low_closed = false, high_closed = false;
  bool low_is_value = false, high_is_value = false;  // an end solved for (-x > -1: x < 1)
  double low_value = 0.0, high_value = 0.0;
};

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
      if (is_label(left_, a.first)) return equal(a.second, y);
      if (is_label(left_, a.second)) return equal(a.first, y);
      return false;
    }
    if (b.kind == ExprKind::equation) {
      // The answer's value is the side opposite a label (y = 12, 12 = y), or the last side
      // of a chain (t = 4 + 8 = 12 is 12, as in Math-Verify). A two-sided statement
      // without a label (3 = 3, x + 2 = 5) is not a value: strict where Math-Verify reads
      // its right side, since a wrong statement would then be rewarded.
      if (is_label(right_, b.first)) return equal(x, b.second);
      if (is_label(right_, b.second)) return equal(x, b.first);
      if (b.number >= 3) return equal(x, b.second);
      // \frac{70}{9} \approx 7.78 states one value twice, exactly and rounded: either side.
      if (b.open == '~') return equal(x, b.first) || equal(x, b.second);
      return false;
    }
    if (a.kind == ExprKind::inequality || b.kind == ExprKind::inequality) return relations_equal(x, y);
    if (a.kind == ExprKind::matrix || b.kind == ExprKind::matrix) {
      if (a.kind != b.kind || a.items.size() != b.items.size()) return false;
      for (std::size_t k = 0; k < a.items.size(); ++k)
        if (!equal(a.items[k], b.items[k])) return false;
      return true;
    }
    if (a.kind == ExprKind::tuple || b.kind == ExprKind::tuple) {
      if (a.kind != b.kind || a.open != b.open || a.close != b.close || a.items.size() != b.items.size()) return false;
      for (std::size_t k = 0; k < a.items.size(); ++k)
        if (!equal(a.items[k], b.items[k])) return false;
      return true;
    }
    if (a.kind == ExprKind::union_of || b.kind == ExprKind::union_of) {
      if (a.kind == b.kind && unordered_equal(a.items, b.items)) return true;
      // \{1,3\} \cup \{2,4\} is the set \{1,2,3,4\}: unions of finite sets as their elements.
      std::vector<std::int32_t> left_elements, right_elements;
      if (!set_elements(left_, x, left_elements) || !set_elements(right_, y, right_elements)) return false;
      return unordered_equal(left_elements, right_elements);
    }
    const bool a_unordered = a.kind == ExprKind::set || a.kind == ExprKind::list;
    const bool b_unordered = b.kind == ExprKind::set || b.kind == ExprKind::list;
    if (a_unordered || b_unordered) {
      if (!(a_unordered && b_unordered)) return false;
      return unordered_equal(a.items, b.items);
    }
    if (a.kind == ExprKind::divide && b.kind == ExprKind::divide && a.open == ':' && b.open == ':')
      return equal(a.first, b.first) && equal(a.second, b.second);  // 5:12 against 5:12, term by term
    return values_equal(x, y);
  }

 private:
  // The elements of a finite set or of a union of finite sets (duplicates dropped by
  // node identity only: \{1\} \cup \{1\} keeps two, and then matches no set of one).
  static bool set_elements(const MathExpression& e, std::int32_t index, std::vector<std::int32_t>& out) {
    const ExprNode& n = e.node(index);
    if (n.kind == ExprKind::set) {
      out.insert(out.end(), n.items.begin(), n.items.end());
      return true;
    }
    if (n.kind != ExprKind::union_of) return false;
    for (const auto item : n.items)
      if (e.node(item).kind != ExprKind::set || !set_elements(e, item, out)) return false;
    return true;
  }

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

  // Inequalities: the same relations between equal sides; else, for one variable, the
  // same set of reals as intervals (x > 2 against (2, \infty), or 2 < x against x > 2).
  bool relations_equal(std::int32_t x, std::int32_t y) const {
    const ExprNode& a = left_.node(x);
    const ExprNode& b = right_.node(y);
    if (a.kind == ExprKind::inequality && b.kind == ExprKind::inequality && a.name == b.name &&
        a.items.size() == b.items.size()) {
      bool same = true;
      for (std::size_t k = 0; k < a.items.size() && same; ++k) same = equal(a.items[k], b.items[k]);
      if (same) return true;
    }
    if (!options_.inequality_matches_interval) return false;
    std::vector<IntervalView> left_set, right_set;
    std::string left_variable, right_variable;
    if (!as_intervals(left_, x, left_set, left_variable, options_) ||
        !as_intervals(right_, y, right_set, right_variable, options_))
      return false;
    if (!left_variable.empty() && !right_variable.empty() && left_variable != right_variable) return false;
    if (left_set.size() != right_set.size()) return false;
    std::vector<bool> used(right_set.size(), false);
    for (const auto& interval : left_set) {
      bool matched = false;
      for (std::size_t k = 0; k < right_set.size() && !matched; ++k)
        if (!used[k] && same_interval(interval, right_set[k])) matched = used[k] = true;
      if (!matched) return false;
    }
    return true;
  }
  // Ends of a (left) and b (right): infinite, a node, or a value solved for.
  bool same_end(std::int32_t a, bool a_is_value, double a_value, std::int32_t b, bool b_is_value, double b_value) const {
    if (a_is_value || b_is_value) {
      const double x = a_is_value ? a_value : (a >= 0 ? left_.evaluate_double(a, {}) : std::nan(""));
      const double y = b_is_value ? b_value : (b >= 0 ? right_.evaluate_double(b, {}) : std::nan(""));
      return close(x, y, options_.sample_relative_tolerance);
    }
    if (a < 0 || b < 0) return a == b;
    return equal(a, b);
  }
  bool same_interval(const IntervalView& a, const IntervalView& b) const {
    return same_end(a.low, a.low_is_value, a.low_value, b.low, b.low_is_value, b.low_value) &&
           same_end(a.high, a.high_is_value, a.high_value, b.high, b.high_is_value, b.high_value) &&
           a.low_closed == b.low_closed && a.high_closed == b.high_closed;
  }
  // lhs < rhs in one variable where both sides are linear in it (-x > -1, 2x + 1 \le 5):
  // f = lhs - rhs is s*x + f(0), checked at five points; the relation holds on one side
  // of the root -f(0)/s, the side set by the sign of s. Solved in double, so the ends
  // compare within sample_relative_tolerance.
  static bool solve_linear(const MathExpression& e, const ExprNode& n, std::vector<IntervalView>& out,
                           std::string& variable, const EquivalenceOptions& options) {
    if (n.items.size() != 2) return false;
    auto names = e.variables(n.items[0]);
    const auto more = e.variables(n.items[1]);
    names.insert(names.end(), more.begin(), more.end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (names.size() != 1) return false;
    const auto f = [&](double t) {
      const std::vector<std::pair<std::string, double>> at{{names[0], t}};
      return e.evaluate_double(n.items[0], at) - e.evaluate_double(n.items[1], at);
    };
    const double f0 = f(0.0);
    const double slope = f(1.0) - f0;
    if (!std::isfinite(f0) || !std::isfinite(slope) || std::fabs(slope) < 1e-12) return false;
    for (const double t : {2.0, -1.5, 3.7})
      if (!close(f(t), f0 + slope * t, options.sample_relative_tolerance)) return false;
    const double root = -f0 / slope;
    variable = names[0];
    if (n.name == "n") {
      out.push_back({-1, -1, false, false, false, true, 0.0, root});
      out.push_back({-1, -1, false, false, true, false, root, 0.0});
      return true;
    }
    IntervalView view;
    if (slope > 0) {  // f < 0 below the root
      view.high_is_value = true;
      view.high_value = root;
      view.high_closed = n.name[0] == 'l';
    } else {
      view.low_is_value = true;
      view.low_value = root;
      view.low_closed = n.name[0] == 'l';
    }
    out.push_back(view);
    return true;
  }
  // Reads an inequality in one variable, an interval or a union of intervals as a set
  // of intervals; `variable` is the inequality's variable (empty for an interval).
  static bool as_intervals(const MathExpression& e, std::int32_t index, std::vector<IntervalView>& out,
                           std::string& variable, const EquivalenceOptions& options) {
    const ExprNode& n = e.node(index);
    const auto infinite = [&](std::int32_t end, bool negative) {
      const ExprNode& m = e.node(end);
      if (negative) return m.kind == ExprKind::negate && e.node(m.first).kind == ExprKind::infinity;
      return m.kind == ExprKind::infinity;
    };
    if (n.kind == ExprKind::tuple) {
      if (n.items.size() != 2 || (n.open != '(' && n.open != '[') || (n.close != ')' && n.close != ']')) return false;
      IntervalView view;
      view.low = infinite(n.items[0], true) ? -1 : n.items[0];
      view.high = infinite(n.items[1], false) ? -1 : n.items[1];
      view.low_closed = view.low >= 0 && n.open == '[';
      view.high_closed = view.high >= 0 && n.close == ']';
      out.push_back(view);
      return true;
    }
    if (n.kind == ExprKind::union_of) {
      for (const auto item : n.items)
        if (e.node(item).kind != ExprKind::tuple || !as_intervals(e, item, out, variable, options)) return false;
      return true;
    }
    if (n.kind != ExprKind::inequality) return false;
    const auto is_variable = [&](std::int32_t item) { return e.node(item).kind == ExprKind::variable; };
    IntervalView view;
    if (n.items.size() == 2 && n.name == "n") {  // x \ne c: everything but c
      const std::int32_t c = is_variable(n.items[0]) ? n.items[1] : n.items[0];
      variable = e.node(is_variable(n.items[0]) ? n.items[0] : n.items[1]).name;
      if (!is_variable(n.items[0]) && !is_variable(n.items[1])) return solve_linear(e, n, out, variable, options);
      out.push_back({-1, c, false, false});
      out.push_back({c, -1, false, false});
      return true;
    }
    if (n.items.size() == 2 && is_variable(n.items[0])) {  // x < c
      variable = e.node(n.items[0]).name;
      view.high = n.items[1];
      view.high_closed = n.name[0] == 'l';
    } else if (n.items.size() == 2 && is_variable(n.items[1])) {  // c < x
      variable = e.node(n.items[1]).name;
      view.low = n.items[0];
      view.low_closed = n.name[0] == 'l';
    } else if (n.items.size() == 3 && is_variable(n.items[1])) {  // a < x <= b
      variable = e.node(n.items[1]).name;
      view.low = n.items[0];
      view.low_closed = n.name[0] == 'l';
      view.high = n.items[2];
      view.high_closed = n.name[1] == 'l';
    } else {
      return solve_linear(e, n, out, variable, options);
    }
    out.push_back(view);
    return true;
  }

  // Gold 3.14 and an answer within half a unit of its last place: |a - g| * 2 * 10^d <= 1.
  bool rounds_to_decimal_gold(std::int32_t x, std::int32_t y, const Rational* exact_answer, double answer) const {
    if (!options_.round_to_decimal_gold) return false;
    const int places = literal_decimal_places(left_, x);
    if (places < 1 || places > 30) return false;
    const int answer_places = literal_decimal_places(right_, y);
    if (answer_places >= 0 && answer_places <= places) return false;  // not more precise than the gold
    if (places == 1 && answer_places >= 0) return false;               // 0.54 is not 0.5
    if (places == 1) {
      // With one place the gold may well be exact (0.3): only an answer whose decimals never
      // end (1/3, \pi) is taken as rounded; 1/4 = 0.25 is a decimal, and not 0.3.
      const double value = exact_answer != nullptr ? exact_answer->to_double() : answer;
      double scaled = value;
      for (int k = 1; k <= 6; ++k) {
        scaled *= 10.0;
        if (std::fabs(scaled - std::nearbyint(scaled)) <= 1e-9 * std::max(1.0, std::fabs(scaled))) return false;
      }
    }
    const auto gold = left_.evaluate_exact(x, options_.max_bits);
    if (!gold) return false;
    if (exact_answer != nullptr) {
      const auto scale = Rational::power(Rational{10}, places, options_.max_bits);  // 10^d
      const auto difference = Rational::subtract(*exact_answer, *gold, options_.max_bits);
      if (!scale || !difference) return false;
      const auto scaled = Rational::multiply(*difference, Rational::multiply(*scale, Rational{2}).value(), options_.max_bits);
      return scaled && scaled->numerator().abs() <= scaled->denominator();
    }
    if (!std::isfinite(answer)) return false;
    return std::fabs(answer - gold->to_double()) <= 0.5 * std::pow(10.0, -places) * (1.0 + 1e-12);
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
            if (const auto same = Rational::equal(*exact_left, *exact_right, 2 * options_.max_bits)) {
              return *same || rounds_to_decimal_gold(x, y, &*exact_right, 0.0);
            }
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
      return close(a, b, options_.relative_tolerance) || rounds_to_decimal_gold(x, y, nullptr, b);
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
