#pragma once
// r1::MathExpression: a parsed math answer (LaTeX or plain text) with bounded
// depth, size and number length, evaluated exactly (r1::Rational) where it can
// be and in double elsewhere. Shapes beyond a single value are kept: tuples and
// intervals with their brackets, sets, bare comma lists, unions (\cup),
// equations (x = 3), percentages.
//
//   auto e = r1::parse_math_expression("\\frac{x+1}{2}");   // std::optional
//   e->variables() == {"x"};  e->evaluate_double(e->root(), {{"x", 3.0}}) == 2.0
//
// Parsing never reads out of bounds, never recurses deeper than `max_depth`, and
// refuses inputs longer than `max_length`, numbers longer than `max_number_digits`
// and trees larger than `max_nodes`: hostile input ends as "not parsable".
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/reward/rational.hpp"

namespace r1 {

struct ExpressionLimits {
  std::size_t max_length = 2000;        // bytes of the (normalised) answer
  int max_depth = 200;                  // parser recursion (about 5 per bracket level, 1 per sign or power)
  std::size_t max_nodes = 1024;         // tree size
  std::size_t max_number_digits = 400;  // one literal; longer ones are compared as strings
  std::int64_t max_bits = 1 << 14;      // exact arithmetic cap per integer (~4,900 digits)
};

enum class ExprKind : std::uint8_t {
  number, variable, pi, euler, infinity,
  negate, add, subtract, multiply, divide, power, root, function, factorial, percent,
  tuple,     // (a, b), [a, b), ...: ordered, brackets kept (intervals are tuples of two)
  set,       // \{a, b\}: unordered
  list,      // a, b: bare comma list, unordered (MATH "all solutions")
  union_of,  // A \cup B
  equation,  // lhs = rhs (a chain a = b = c keeps its first and last sides)
  inequality,  // a < b \le c, a \ne b: items are the sides, `name` the relations ('<' or 'l' for \le, 'n' for \ne)
  matrix,      // \begin{pmatrix} ... \end{pmatrix}: items are the rows, each a tuple
};

enum class MathFunction : std::uint8_t { sqrt, sin, cos, tan, sec, csc, cot, arcsin, arccos, arctan, sinh, cosh, tanh, ln, log, exp, abs };

struct ExprNode {
  ExprKind kind = ExprKind::number;
  MathFunction function = MathFunction::sqrt;
  char open = 0, close = 0;   // tuple brackets; ':' on a divide written as a ratio (5:12); '~' on an \approx
  std::int32_t first = -1;    // operand / left / base / index of the root
  std::int32_t second = -1;   // right / exponent / radicand / log base
  std::int32_t number = -1;   // index into numbers; for an equation, how many sides its chain had
  std::string name;           // variable name; an inequality's relations
  std::vector<std::int32_t> items;  // tuple, set, list, union
};

class MathExpression {
 public:
  std::int32_t root() const { return root_; }
  const ExprNode& node(std::int32_t index) const { return nodes_[static_cast<std::size_t>(index)]; }
  std::size_t size() const { return nodes_.size(); }

  // Digits after the decimal point of a number literal as written ("3.140" -> 3,
  // "42" -> -1: no point); -1 for a node that is not a literal.
  int decimal_places(std::int32_t index) const {
    const ExprNode& n = node(index);
    if (n.kind != ExprKind::number) return -1;
    return number_decimals_[static_cast<std::size_t>(n.number)];
  }

  // Free variables below `index`, sorted, unique.
  std::vector<std::string> variables(std::int32_t index) const {
    std::vector<std::string> names;
    collect_variables(index, names, 0);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  // The exact value when the subtree is built from numbers with + - * /, integer
  // powers, % and small factorials; nullopt otherwise or past the bit cap.
  std::optional<Rational> evaluate_exact(std::int32_t index, std::int64_t max_bits) const {
    const ExprNode& n = node(index);
    switch (n.kind) {
      case ExprKind::number:
        return numbers_[static_cast<std::size_t>(n.number)];
      case ExprKind::negate: {
        auto a = evaluate_exact(n.first, max_bits);
        if (!a) return std::nullopt;
        return a->negated();
      }
      case ExprKind::add:
      case ExprKind::subtract:
      case ExprKind::multiply:
      case ExprKind::divide: {
        auto a = evaluate_exact(n.first, max_bits);
        if (!a) return std::nullopt;
        auto b = evaluate_exact(n.second, max_bits);
        if (!b) return std::nullopt;
        if (n.kind == ExprKind::add) return Rational::add(*a, *b, max_bits);
        if (n.kind == ExprKind::subtract) return Rational::subtract(*a, *b, max_bits);
        if (n.kind == ExprKind::multiply) return Rational::multiply(*a, *b, max_bits);
        return Rational::divide(*a, *b, max_bits);
      }
      case ExprKind::power: {
        auto exponent = evaluate_exact(n.second, max_bits);
        if (!exponent) return std::nullopt;
        const auto k = exponent->to_int64();
        if (!k || *k > max_bits || *k < -max_bits) return std::nullopt;
        auto base = evaluate_exact(n.first, max_bits);
        if (!base) return std::nullopt;
        return Rational::power(*base, *k, max_bits);
      }
      case ExprKind::percent: {
        auto a = evaluate_exact(n.first, max_bits);
        if (!a) return std::nullopt;
        return Rational::divide(*a, Rational{100}, max_bits);
      }
      case ExprKind::factorial: {
        auto a = evaluate_exact(n.first, max_bits);
        if (!a) return std::nullopt;
        const auto k = a->to_int64();
        if (!k || *k < 0 || *k > 1000) return std::nullopt;
        Rational product{1};
        for (std::int64_t m = 2; m <= *k; ++m) {
          auto next = Rational::multiply(product, Rational{m}, max_bits);
          if (!next) return std::nullopt;
          product = std::move(*next);
        }
        return product;
      }
      default:
        return std::nullopt;
    }
  }

  // The value in double with variables bound by `values` (pairs name -> value);
  // NaN for anything undefined (an unbound variable, a domain error, a structure).
  double evaluate_double(std::int32_t index, const std::vector<std::pair<std::string, double>>& values) const {
    const ExprNode& n = node(index);
    const auto eval = [&](std::int32_t child) { return evaluate_double(child, values); };
    switch (n.kind) {
      case ExprKind::number: return number_values_[static_cast<std::size_t>(n.number)];
      case ExprKind::variable:
        for (const auto& [name, value] : values)
          if (name == n.name) return value;
        return std::nan("");
      case ExprKind::pi: return 3.14159265358979323846;
      case ExprKind::euler: return 2.71828182845904523536;
      case ExprKind::infinity: return HUGE_VAL;
      case ExprKind::negate: return -eval(n.first);
      case ExprKind::add: return eval(n.first) + eval(n.second);
      case ExprKind::subtract: return eval(n.first) - eval(n.second);
      case ExprKind::multiply: return eval(n.first) * eval(n.second);
      case ExprKind::divide: {
        const double denominator = eval(n.second);
        return denominator == 0.0 ? std::nan("") : eval(n.first) / denominator;
      }
      case ExprKind::power: return std::pow(eval(n.first), eval(n.second));
      case ExprKind::root: {
        const double index_value = eval(n.first);
        const double radicand = eval(n.second);
        if (radicand < 0 && std::fmod(index_value, 2.0) == 1.0) return -std::pow(-radicand, 1.0 / index_value);
        return std::pow(radicand, 1.0 / index_value);
      }
      case ExprKind::percent: return eval(n.first) / 100.0;
      case ExprKind::factorial: {
        const double a = eval(n.first);
        if (!(a >= 0) || a != std::floor(a)) return std::nan("");
        return std::tgamma(a + 1.0);
      }
      case ExprKind::function: {
        const double a = eval(n.first);
        switch (n.function) {
          case MathFunction::sqrt: return std::sqrt(a);
          case MathFunction::sin: return std::sin(a);
          case MathFunction::cos: return std::cos(a);
          case MathFunction::tan: return std::tan(a);
          case MathFunction::sec: return 1.0 / std::cos(a);
          case MathFunction::csc: return 1.0 / std::sin(a);
          case MathFunction::cot: return std::cos(a) / std::sin(a);
          case MathFunction::arcsin: return std::asin(a);
          case MathFunction::arccos: return std::acos(a);
          case MathFunction::arctan: return std::atan(a);
          case MathFunction::sinh: return std::sinh(a);
          case MathFunction::cosh: return std::cosh(a);
          case MathFunction::tanh: return std::tanh(a);
          case MathFunction::ln: return std::log(a);
          case MathFunction::exp: return std::exp(a);
          case MathFunction::abs: return std::fabs(a);
          case MathFunction::log:  // \log x is base 10 unless a base is given
            return n.second >= 0 ? std::log(a) / std::log(eval(n.second)) : std::log10(a);
        }
        return std::nan("");
      }
      default: return std::nan("");
    }
  }

 private:
  friend class MathExpressionParser;
  void collect_variables(std::int32_t index, std::vector<std::string>& names, int depth) const {
    const ExprNode& n = node(index);
    if (n.kind == ExprKind::variable) names.push_back(n.name);
    if (n.first >= 0) collect_variables(n.first, names, depth + 1);
    if (n.second >= 0) collect_variables(n.second, names, depth + 1);
    for (const auto item : n.items) collect_variables(item, names, depth + 1);
  }

  std::vector<ExprNode> nodes_;
  std::vector<Rational> numbers_;
  std::vector<double> number_values_;
  std::vector<int> number_decimals_;
  std::int32_t root_ = -1;
};

// Recursive-descent parser; see parse_math_expression.
class MathExpressionParser {
 public:
  MathExpressionParser(std::string_view text, const ExpressionLimits& limits) : text_(text), limits_(limits) {}

  std::optional<MathExpression> parse() {
    if (text_.size() > limits_.max_length || text_.empty()) return std::nullopt;
    const std::int32_t root = parse_list();
    if (failed_) return std::nullopt;
    skip_spaces();
    if (position_ != text_.size()) return std::nullopt;
    result_.root_ = root;
    return std::move(result_);
  }

 private:
  static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  // ---- lexing helpers over the raw text ----
  void skip_spaces() {
    while (position_ < text_.size() && text_[position_] == ' ') ++position_;
  }
  bool at_end() {
    skip_spaces();
    return position_ >= text_.size();
  }
  char peek_char() {
    skip_spaces();
    return position_ < text_.size() ? text_[position_] : '\0';
  }
  bool accept(char c) {
    if (peek_char() == c && position_ < text_.size()) {
      ++position_;
      return true;
    }
    return false;
  }
  bool accept_text(std::string_view token) {
    skip_spaces();
    if (text_.substr(position_, token.size()) == token) {
      position_ += token.size();
      return true;
    }
    return false;
  }
  // The command name at the cursor ("frac" for "\frac"), without consuming it.
  std::string_view peek_command() {
    skip_spaces();
    if (position_ + 1 >= text_.size() || text_[position_] != '\\' || !is_letter(text_[position_ + 1])) return {};
    std::size_t end = position_ + 1;
    while (end < text_.size() && is_letter(text_[end])) ++end;
    return text_.substr(position_ + 1, end - position_ - 1);
  }
  bool accept_command(std::string_view name) {
    if (peek_command() != name) return false;
    position_ += name.size() + 1;
    return true;
  }
  // Unicode operators models write in plain text: − × · ÷ π ∞ √.
  std::string_view peek_unicode() {
    skip_spaces();
    for (const std::string_view symbol : {"\xE2\x88\x92", "\xC3\x97", "\xC2\xB7", "\xC3\xB7", "\xCF\x80", "\xE2\x88\x9E", "\xE2\x88\x9A"})
      if (text_.substr(position_, symbol.size()) == symbol) return symbol;
    return {};
  }

  // ---- tree building ----
  void fail() { failed_ = true; }
  std::int32_t add(ExprNode node) {
    if (failed_ || result_.nodes_.size() >= limits_.max_nodes) {
      fail();
      return 0;
    }
    result_.nodes_.push_back(std::move(node));
    return static_cast<std::int32_t>(result_.nodes_.size() - 1);
  }
  std::int32_t binary(ExprKind kind, std::int32_t a, std::int32_t b) {
    ExprNode node;
    node.kind = kind;
    node.first = a;
    node.second = b;
    return add(std::move(node));
  }
  std::int32_t unary(ExprKind kind, std::int32_t a) { return binary(kind, a, -1); }
  std::int32_t leaf(ExprKind kind) { return binary(kind, -1, -1); }
  std::int32_t number_node(std::string_view literal) {
    if (literal.size() > limits_.max_number_digits) {
      fail();
      return 0;
    }
    auto value = Rational::from_decimal(literal, limits_.max_number_digits);
    if (!value) {
      fail();
      return 0;
    }
    ExprNode node;
    node.kind = ExprKind::number;
    node.number = static_cast<std::int32_t>(result_.numbers_.size());
    result_.number_values_.push_back(value->to_double());
    result_.numbers_.push_back(std::move(*value));
    const std::size_t point = literal.find('.');
    result_.number_decimals_.push_back(point == std::string_view::npos ? -1 : static_cast<int>(literal.size() - point - 1));
    return add(std::move(node));
  }
  std::int32_t variable_node(std::string name) {
    ExprNode node;
    node.kind = ExprKind::variable;
    node.name = std::move(name);
    return add(std::move(node));
  }

  struct DepthGuard {
    MathExpressionParser& parser;
    explicit DepthGuard(MathExpressionParser& p) : parser(p) {
      if (++parser.depth_ > parser.limits_.max_depth) parser.fail();
    }
    ~DepthGuard() { --parser.depth_; }
  };

  // list := relation (',' relation)*
  std::int32_t parse_list() {
    std::vector<std::int32_t> items{parse_relation()};
    while (!failed_ && accept(',')) items.push_back(parse_relation());
    if (items.size() == 1) return items[0];
    ExprNode node;
    node.kind = ExprKind::list;
    node.items = std::move(items);
    return add(std::move(node));
  }
  // The relation at the cursor, consumed: '=' (also \approx: '~'), '<', '>', 'l' (\le),
  // 'g' (\ge), 'n' (\ne); 0 when none. ASCII, LaTeX and Unicode spellings are one relation.
  char accept_relation() {
    const char c = peek_char();
    if (c != '<' && c != '>' && c != '=' && c != '!' && c != '\\' && c != '\xE2') return 0;
    if (accept_text("<=") || accept_command("leq") || accept_command("le") || accept_command("leqslant") ||
        accept_text("\xE2\x89\xA4"))
      return 'l';
    if (accept_text(">=") || accept_command("geq") || accept_command("ge") || accept_command("geqslant") ||
        accept_text("\xE2\x89\xA5"))
      return 'g';
    if (accept_text("!=") || accept_command("neq") || accept_command("ne") || accept_text("\xE2\x89\xA0")) return 'n';
    if (accept_text("==")) return '=';
    if (accept('=')) return '=';
    if (accept('<') || accept_command("lt")) return '<';
    if (accept('>') || accept_command("gt")) return '>';
    if (accept_command("approx") || accept_text("\xE2\x89\x88")) return '~';
    return 0;
  }
  static bool is_relation_command(std::string_view command) {
    for (const std::string_view relation : {"le", "leq", "leqslant", "ge", "geq", "geqslant", "lt", "gt", "ne", "neq",
                                             "approx", "end"})
      if (command == relation) return true;
    return false;
  }
  // relation := ratio (rel ratio)*. A chain of '=' keeps its first side and the side
  // after its last '=' (x = 4 + 8 = 12 is x = 12; Math-Verify's "last = is considered");
  // \approx after an '=' is a remark and dropped (x = 1/3 \approx 0.33 is x = 1/3), and
  // on its own reads as '='. Inequalities keep every side; > and \ge chains are
  // turned around so every stored relation is '<', 'l' or 'n'.
  std::int32_t parse_relation() {
    std::vector<std::int32_t> sides{parse_ratio()};
    std::string relations;
    while (!failed_) {
      const char relation = accept_relation();
      if (relation == 0) break;
      relations.push_back(relation);
      sides.push_back(parse_ratio());
      if (relations.size() > 64) fail();
    }
    if (failed_ || relations.empty()) return sides[0];
    const std::size_t last_equal = relations.find_last_of('=');
    const bool only_equalities = relations.find_first_not_of("=~") == std::string::npos;
    if (only_equalities) {
      const std::size_t rhs = last_equal == std::string::npos ? sides.size() - 1 : last_equal + 1;
      ExprNode node;
      node.kind = ExprKind::equation;
      node.first = sides[0];
      node.second = sides[rhs];
      node.number = static_cast<std::int32_t>(rhs + 1);  // sides written up to the kept one (2: a = b)
      if (last_equal == std::string::npos) node.open = '~';  // only \approx: a \approx b
      return add(std::move(node));
    }
    if (relations.find_first_of("=~") != std::string::npos) {  // 0 < x = 3: mixed chains are not answers
      fail();
      return 0;
    }
    if (relations.find('n') != std::string::npos && relations.size() != 1) {
      fail();
      return 0;
    }
    const bool decreasing = relations.find_first_of("<l") == std::string::npos && relations != "n";
    const bool increasing = relations.find_first_of(">g") == std::string::npos;
    if (!decreasing && !increasing) {
      fail();
      return 0;
    }
    if (decreasing) {
      std::reverse(sides.begin(), sides.end());
      std::reverse(relations.begin(), relations.end());
      for (char& relation : relations) relation = relation == '>' ? '<' : 'l';
    }
    ExprNode node;
    node.kind = ExprKind::inequality;
    node.items = std::move(sides);
    node.name = std::move(relations);
    return add(std::move(node));
  }
  // ratio := union (':' union)*. Two terms are their quotient, marked as a ratio (open
  // ':'), so 5:12 == \frac{5}{12} while two ratios compare term by term (3:30 is also a
  // time, and 1:10 is not it); three or more are an ordered tuple (1:2:3).
  std::int32_t parse_ratio() {
    std::vector<std::int32_t> terms{parse_union()};
    while (!failed_ && accept(':')) {
      terms.push_back(parse_union());
      if (terms.size() > 64) fail();
    }
    if (failed_ || terms.size() == 1) return terms[0];
    if (terms.size() == 2) {
      ExprNode node;
      node.kind = ExprKind::divide;
      node.open = node.close = ':';
      node.first = terms[0];
      node.second = terms[1];
      return add(std::move(node));
    }
    ExprNode node;
    node.kind = ExprKind::tuple;
    node.open = node.close = ':';
    node.items = std::move(terms);
    return add(std::move(node));
  }
  // union := sum ('\cup' sum)*
  std::int32_t parse_union() {
    std::vector<std::int32_t> items{parse_sum()};
    while (!failed_ && (accept_command("cup") || accept_text("\xE2\x88\xAA"))) items.push_back(parse_sum());
    if (items.size() == 1) return items[0];
    ExprNode node;
    node.kind = ExprKind::union_of;
    node.items = std::move(items);
    return add(std::move(node));
  }
  // sum := product (('+' | '-') product)*
  std::int32_t parse_sum() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    std::int32_t left = parse_product();
    while (!failed_) {
      if (accept('+')) {
        left = binary(ExprKind::add, left, parse_product());
      } else if (accept('-') || accept_text("\xE2\x88\x92")) {
        left = binary(ExprKind::subtract, left, parse_product());
      } else if (accept_command("pm") || accept_text("\xC2\xB1")) {  // a \pm b: the two values a + b, a - b
        const std::int32_t right = parse_product();
        left = plus_minus(binary(ExprKind::add, left, right), binary(ExprKind::subtract, left, right));
      } else {
        break;
      }
    }
    return left;
  }
  bool starts_implicit_factor() {
    const char c = peek_char();
    if (is_letter(c) || c == '(' || c == '{') return true;
    if (c == '\\') {
      const auto command = peek_command();
      return !command.empty() && command != "cdot" && command != "times" && command != "div" && command != "cup" &&
             command != "pm" && command != "mp" && !is_relation_command(command);
    }
    const auto symbol = peek_unicode();
    return symbol == "\xCF\x80" || symbol == "\xE2\x88\x9E" || symbol == "\xE2\x88\x9A";
  }
  // product := unary (('*' | '/' | \cdot | \times | \div | implicit) unary)*
  std::int32_t parse_product() {
    std::int32_t left = parse_unary();
    while (!failed_) {
      if (accept('*') || accept_command("cdot") || accept_command("times") || accept_text("\xC3\x97") ||
          accept_text("\xC2\xB7")) {
        left = binary(ExprKind::multiply, left, parse_unary());
      } else if (accept('/') || accept_command("div") || accept_text("\xC3\xB7")) {
        left = binary(ExprKind::divide, left, parse_unary());
      } else if (starts_implicit_factor()) {
        const bool fraction_follows = peek_command() == "frac";
        const std::int32_t right = parse_power();
        left = is_mixed_number(left, right, fraction_follows) ? mixed_number(left, right)
                                                              : binary(ExprKind::multiply, left, right);
      } else {
        break;
      }
    }
    return left;
  }
  // A mixed number, 2\frac{1}{2} = 2.5 as written in MATH and GSM8K answers: an
  // integer literal (or its negation) directly followed by \frac of two integer literals.
  bool is_integer_literal(std::int32_t index) const {
    if (failed_) return false;
    const ExprNode& n = result_.node(index);
    return n.kind == ExprKind::number && result_.numbers_[static_cast<std::size_t>(n.number)].denominator() == BigInt{1};
  }
  bool is_mixed_number(std::int32_t whole, std::int32_t fraction, bool fraction_follows) const {
    if (failed_ || !fraction_follows) return false;
    const ExprNode& f = result_.node(fraction);
    if (f.kind != ExprKind::divide || !is_integer_literal(f.first) || !is_integer_literal(f.second)) return false;
    const ExprNode& w = result_.node(whole);
    return is_integer_literal(whole) || (w.kind == ExprKind::negate && is_integer_literal(w.first));
  }
  std::int32_t mixed_number(std::int32_t whole, std::int32_t fraction) {
    const ExprNode& w = result_.node(whole);
    if (w.kind == ExprKind::negate) return unary(ExprKind::negate, binary(ExprKind::add, w.first, fraction));
    return binary(ExprKind::add, whole, fraction);
  }

  // The two values of a \pm, as an unordered list (meaningful as a whole answer or an
  // equation's side; inside a larger expression it evaluates to nothing and never matches).
  std::int32_t plus_minus(std::int32_t plus, std::int32_t minus) {
    ExprNode node;
    node.kind = ExprKind::list;
    node.items = {plus, minus};
    return add(std::move(node));
  }

  // unary := ('-' | '+' | '\pm') unary | power
  std::int32_t parse_unary() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    if (accept('-') || accept_text("\xE2\x88\x92")) return unary(ExprKind::negate, parse_unary());
    if (accept('+')) return parse_unary();
    if (accept_command("pm") || accept_text("\xC2\xB1")) {  // \pm 2: the values 2 and -2
      const std::int32_t operand = parse_unary();
      return plus_minus(operand, unary(ExprKind::negate, operand));
    }
    return parse_power();
  }
  // power := postfix ('^' exponent)?, right-associative: 2^3^2 = 2^(3^2)
  std::int32_t parse_power() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    const std::int32_t base = parse_postfix();
    if (failed_ || !accept('^')) return base;
    return binary(ExprKind::power, base, parse_exponent());
  }
  std::int32_t parse_exponent() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    if (peek_char() == '{') {
      ++position_;
      const std::int32_t inner = parse_sum();
      if (!accept('}')) fail();
      return postfix_after(inner, /*allow_power=*/true);
    }
    if (accept('-')) return unary(ExprKind::negate, parse_exponent());
    return parse_power();
  }
  std::int32_t postfix_after(std::int32_t operand, bool allow_power) {
    if (allow_power && !failed_ && accept('^')) return binary(ExprKind::power, operand, parse_exponent());
    return operand;
  }
  // postfix := primary ('!' | '%')*
  std::int32_t parse_postfix() {
    std::int32_t operand = parse_primary();
    while (!failed_) {
      if (peek_char() == '!' && text_.substr(position_, 2) != "!=") {
        ++position_;
        operand = unary(ExprKind::factorial, operand);
      } else if (accept('%')) {
        operand = unary(ExprKind::percent, operand);
      } else {
        break;
      }
    }
    return operand;
  }

  // The argument of \frac or \sqrt: {group}, or one digit / letter / command (\frac12, \frac\pi2).
  std::int32_t parse_argument() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    const char c = peek_char();
    if (c == '{') {
      ++position_;
      const std::int32_t inner = parse_sum();
      if (!accept('}')) fail();
      return inner;
    }
    if (is_digit(c)) {
      ++position_;
      return number_node(text_.substr(position_ - 1, 1));
    }
    if (is_letter(c) || c == '\\') return parse_primary();
    fail();
    return 0;
  }

  std::int32_t parse_bracketed(char open) {
    DepthGuard guard(*this);
    std::vector<std::int32_t> items{parse_relation()};
    while (!failed_ && accept(',')) items.push_back(parse_relation());
    if (failed_) return 0;
    const char close = peek_char();
    if (close != ')' && close != ']') {
      fail();
      return 0;
    }
    ++position_;
    if (items.size() == 1) {
      if ((open == '(') != (close == ')')) fail();  // "(3]" is neither a group nor an interval
      return items[0];
    }
    ExprNode node;
    node.kind = ExprKind::tuple;
    node.open = open;
    node.close = close;
    node.items = std::move(items);
    return add(std::move(node));
  }

  // The {name} after \begin or \end.
  std::string_view environment_name() {
    if (!accept('{')) return {};
    const std::size_t close = text_.find('}', position_);
    if (close == std::string_view::npos || close - position_ > 16) return {};
    const std::string_view name = text_.substr(position_, close - position_);
    position_ = close + 1;
    return name;
  }
  // \begin{pmatrix} a & b \\ c & d \end{pmatrix} (also bmatrix, Bmatrix, matrix, smallmatrix,
  // array{cc}): rows of entries; the bracket style is presentation, not value.
  std::int32_t parse_matrix() {
    DepthGuard guard(*this);
    const std::string_view name = environment_name();
    if (!(name == "pmatrix" || name == "bmatrix" || name == "Bmatrix" || name == "matrix" || name == "smallmatrix" ||
          name == "array")) {
      fail();
      return 0;
    }
    if (name == "array" && environment_name().empty()) {  // the column specification {cc}
      fail();
      return 0;
    }
    ExprNode matrix;
    matrix.kind = ExprKind::matrix;
    while (!failed_) {
      if (accept_text("\\end")) break;
      ExprNode row;
      row.kind = ExprKind::tuple;
      row.open = '[';
      row.close = ']';
      row.items.push_back(parse_sum());
      while (!failed_ && accept('&')) row.items.push_back(parse_sum());
      if (failed_) return 0;
      matrix.items.push_back(add(std::move(row)));
      if (accept_text("\\\\")) continue;
      if (!accept_text("\\end")) fail();
      break;
    }
    if (failed_ || environment_name() != name || matrix.items.empty()) {
      fail();
      return 0;
    }
    return add(std::move(matrix));
  }

  std::int32_t parse_function(MathFunction function) {
    ExprNode node;
    node.kind = ExprKind::function;
    node.function = function;
    std::int32_t power = -1;
    if (function == MathFunction::log && accept('_')) node.second = parse_argument();
    if (accept('^')) power = parse_exponent();  // \sin^2 x
    if (failed_) return 0;
    node.first = peek_char() == '(' ? parse_primary() : parse_power();
    const std::int32_t applied = add(std::move(node));
    return power >= 0 ? binary(ExprKind::power, applied, power) : applied;
  }

  std::int32_t parse_command_primary() {
    const std::string_view command = peek_command();
    if (command.empty()) {
      // \{ a, b \}: a set.
      if (accept_text("\\{")) {
        DepthGuard guard(*this);
        std::vector<std::int32_t> items{parse_relation()};
        while (!failed_ && accept(',')) items.push_back(parse_relation());
        if (!accept_text("\\}")) fail();
        ExprNode node;
        node.kind = ExprKind::set;
        node.items = std::move(items);
        return add(std::move(node));
      }
      fail();
      return 0;
    }
    position_ += command.size() + 1;
    if (command == "begin") return parse_matrix();
    if (command == "frac") {
      const std::int32_t numerator = parse_argument();
      return binary(ExprKind::divide, numerator, parse_argument());
    }
    if (command == "sqrt") {
      if (accept('[')) {
        const std::int32_t index = parse_sum();
        if (!accept(']')) fail();
        return binary(ExprKind::root, index, parse_argument());
      }
      ExprNode node;
      node.kind = ExprKind::function;
      node.function = MathFunction::sqrt;
      node.first = parse_argument();
      return add(std::move(node));
    }
    if (command == "pi") return leaf(ExprKind::pi);
    if (command == "infty" || command == "infinity") return leaf(ExprKind::infinity);
    static constexpr std::pair<std::string_view, MathFunction> functions[] = {
        {"sin", MathFunction::sin},       {"cos", MathFunction::cos},       {"tan", MathFunction::tan},
        {"sec", MathFunction::sec},       {"csc", MathFunction::csc},       {"cot", MathFunction::cot},
        {"arcsin", MathFunction::arcsin}, {"arccos", MathFunction::arccos}, {"arctan", MathFunction::arctan},
        {"sinh", MathFunction::sinh},     {"cosh", MathFunction::cosh},     {"tanh", MathFunction::tanh},
        {"ln", MathFunction::ln},         {"log", MathFunction::log},       {"exp", MathFunction::exp}};
    for (const auto& [name, function] : functions)
      if (command == name) return parse_function(function);
    static constexpr std::string_view greek[] = {"alpha", "beta",  "gamma", "delta", "epsilon", "theta", "lambda",
                                                 "mu",    "nu",    "rho",   "sigma", "tau",     "phi",   "varphi",
                                                 "psi",   "omega", "xi",    "eta",   "zeta",    "kappa", "chi"};
    for (const auto name : greek)
      if (command == name) return variable_node(std::string(name));
    fail();
    return 0;
  }

  std::int32_t parse_primary() {
    DepthGuard guard(*this);
    if (failed_) return 0;
    const char c = peek_char();
    if (is_digit(c) || (c == '.' && position_ + 1 < text_.size() && is_digit(text_[position_ + 1]))) {
      const std::size_t start = position_;
      while (position_ < text_.size() && is_digit(text_[position_])) ++position_;
      if (position_ + 1 < text_.size() && text_[position_] == '.' && is_digit(text_[position_ + 1])) {
        ++position_;
        while (position_ < text_.size() && is_digit(text_[position_])) ++position_;
      }
      const std::int32_t number = number_node(text_.substr(start, position_ - start));
      if (is_digit(peek_char()) || (peek_char() == '.' && !at_end())) fail();  // "7 425" or "1.2.3"
      return number;
    }
    if (is_letter(c)) {
      ++position_;
      if (c == 'e' && !(position_ < text_.size() && text_[position_] == '_')) return leaf(ExprKind::euler);
      std::string name(1, c);
      if (position_ < text_.size() && text_[position_] == '_') {  // x_1, x_{12}
        ++position_;
        if (position_ < text_.size() && (is_digit(text_[position_]) || is_letter(text_[position_]))) {
          name += '_';
          name += text_[position_++];
        } else if (position_ < text_.size() && text_[position_] == '{') {
          const std::size_t close = text_.find('}', position_);
          if (close == std::string_view::npos || close - position_ > 8) {
            fail();
            return 0;
          }
          name += '_';
          name.append(text_.substr(position_ + 1, close - position_ - 1));
          position_ = close + 1;
        } else {
          fail();
          return 0;
        }
      }
      return variable_node(std::move(name));
    }
    if (c == '(' || c == '[') {
      ++position_;
      return parse_bracketed(c);
    }
    if (c == '{') {
      // Plain braces group: {1,3} is the unordered list 1, 3, not the set \{1,3\} nor the
      // pair (1,3). Math-Verify matches (1,3) with {1,3}; r1 does not (strict: a point is
      // not a list of its coordinates).
      ++position_;
      const std::int32_t inner = parse_list();
      if (!accept('}')) fail();
      return inner;
    }
    if (c == '|') {
      ++position_;
      ExprNode node;
      node.kind = ExprKind::function;
      node.function = MathFunction::abs;
      node.first = parse_sum();
      if (!accept('|')) fail();
      return add(std::move(node));
    }
    if (c == '\\') return parse_command_primary();
    const auto symbol = peek_unicode();
    if (symbol == "\xCF\x80") {
      position_ += symbol.size();
      return leaf(ExprKind::pi);
    }
    if (symbol == "\xE2\x88\x9E") {
      position_ += symbol.size();
      return leaf(ExprKind::infinity);
    }
    if (symbol == "\xE2\x88\x9A") {
      position_ += symbol.size();
      ExprNode node;
      node.kind = ExprKind::function;
      node.function = MathFunction::sqrt;
      node.first = parse_power();
      return add(std::move(node));
    }
    fail();
    return 0;
  }

  std::string_view text_;
  ExpressionLimits limits_;
  std::size_t position_ = 0;
  int depth_ = 0;
  bool failed_ = false;
  MathExpression result_;
};

// Parses a normalised answer (see normalize_latex_answer); nullopt when it is not
// a math expression or passes a limit.
inline std::optional<MathExpression> parse_math_expression(std::string_view text, const ExpressionLimits& limits = {}) {
  return MathExpressionParser(text, limits).parse();
}

}  // namespace r1
