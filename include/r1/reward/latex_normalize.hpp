#pragma once
// Normalisation of a math answer string before it is parsed or compared: the
// rewrites the MATH grader (Hendrycks et al. 2021, `is_equiv`), Qwen2.5-Math and
// Math-Verify apply, done in linear passes over bytes (any input, including
// invalid UTF-8 and NUL bytes, is safe).
//
//   normalize_latex_answer("$\\dfrac{1}{2}$")        == "\\frac{1}{2}"
//   normalize_latex_answer("7,425,000 dollars")      == "7425000"
//   normalize_latex_answer("\\left( 1, 2 \\right)")  == "(1,2)"
//   normalize_latex_answer("90^\\circ")              == "90"
//   normalize_latex_answer("\\text{(B)}")            == "(B)"
//   normalize_latex_answer("12\\,500 \xE2\x82\xAC")            == "12500"
//   normalize_latex_answer("1,000.99m\xC2\xB2")              == "1000.99"
#include <array>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

namespace r1 {

namespace latex_detail {

inline bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Index of the '}' matching the '{' at `open`, or npos.
inline std::size_t matching_brace(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t k = open; k < text.size(); ++k) {
    if (text[k] == '\\' && k + 1 < text.size()) {
      ++k;  // \{ and \} are literal braces, not groups
      continue;
    }
    if (text[k] == '{') ++depth;
    if (text[k] == '}' && --depth == 0) return k;
  }
  return std::string_view::npos;
}

inline void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty() || text.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  std::size_t position = 0;
  while (true) {
    const std::size_t hit = text.find(from, position);
    if (hit == std::string::npos) break;
    out.append(text, position, hit - position);
    out.append(to);
    position = hit + from.size();
  }
  out.append(text, position, std::string::npos);
  text = std::move(out);
}

// Replaces a LaTeX command only where its name ends (so "\le" leaves "\left" alone).
inline void replace_command(std::string& text, std::string_view command, std::string_view to) {
  if (text.find(command) == std::string::npos) return;
  std::string out;
  out.reserve(text.size());
  std::size_t position = 0;
  while (true) {
    const std::size_t hit = text.find(command, position);
    if (hit == std::string::npos) break;
    const std::size_t after = hit + command.size();
    out.append(text, position, hit - position);
    if (after < text.size() && is_letter(text[after])) {
      out.append(command);
    } else {
      out.append(to);
    }
    position = after;
  }
  out.append(text, position, std::string::npos);
  text = std::move(out);
}

// \text{abc} -> abc for each wrapper command (brace-matched; an unmatched one is left).
inline void unwrap_command(std::string& text, std::string_view command) {
  std::size_t position = 0;
  while (true) {
    const std::size_t hit = text.find(command, position);
    if (hit == std::string::npos) return;
    std::size_t open = hit + command.size();
    while (open < text.size() && text[open] == ' ') ++open;
    if (open >= text.size() || text[open] != '{') {
      position = hit + command.size();
      continue;
    }
    const std::size_t close = matching_brace(text, open);
    if (close == std::string::npos) return;
    text = text.substr(0, hit) + text.substr(open + 1, close - open - 1) + text.substr(close + 1);
    position = hit;
  }
}

// Words dropped after a number: "10 cm", "5 dollars", "3 units". Multi-letter only,
// so a variable such as "m" in "2m" is never taken for metres.
inline bool is_unit_word(std::string_view word) {
  static constexpr std::array<std::string_view, 58> units = {
      "cm",      "mm",     "km",      "meter",   "meters",  "metre",  "metres",   "inch",    "inches",  "ft",
      "feet",    "foot",   "yard",    "yards",   "mile",    "miles",  "mph",      "kg",      "grams",   "gram",
      "pounds",  "pound",  "lb",      "lbs",     "ounces",  "oz",     "liters",   "liter",   "litres",  "ml",
      "gallons", "gallon", "degrees", "degree",  "dollars", "dollar", "cents",    "cent",    "units",   "unit",
      "square",  "sq",     "cubic",   "hours",   "hour",    "minutes", "minute",  "seconds", "second",  "days",
      "day",     "weeks",  "years",   "months",  "sec",     "min",    "hrs",      "percent"};
  static constexpr std::array<std::string_view, 12> more_units = {
      "pct", "percentage", "usd", "eur", "euros", "euro", "miles", "kilometers", "kilometres", "centimeters", "metres", "km/h"};
  for (const auto unit : more_units)
    if (word == unit) return true;
  for (const auto unit : units)
    if (word == unit) return true;
  return false;
}

// Drops trailing unit words after a numeric part ("10 square feet" -> "10").
inline void strip_trailing_units(std::string& text) {
  std::size_t end = text.size();
  bool stripped = false;
  bool percent = false;
  while (true) {
    std::size_t e = end;
    while (e > 0 && is_space(text[e - 1])) --e;
    std::size_t b = e;
    while (b > 0 && is_letter(text[b - 1])) --b;
    if (b == e || b == 0) break;
    std::string word;
    for (std::size_t k = b; k < e; ++k) word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(text[k]))));
    if (!is_unit_word(word)) break;
    // A unit follows a number, a closing bracket, or another unit word after a space.
    const char before = text[b - 1];
    if (!(is_space(before) || is_digit(before) || before == '}' || before == ')' || before == '%')) break;
    if (word == "percent" || word == "pct" || word == "percentage") percent = true;
    end = b;
    stripped = true;
  }
  if (!stripped) return;
  while (end > 0 && is_space(text[end - 1])) --end;
  if (end == 0) return;  // the answer was only unit words: keep it as text
  const char last = text[end - 1];
  if (!(is_digit(last) || last == '}' || last == ')' || last == '%' || last == '.')) return;
  text.resize(end);
  if (percent) text.push_back('%');
}

// "1,000.99m²", "12 cm^2", "5 km^{3}": a length unit raised to a power after a number goes.
// Single letters (m) only here, where the power marks them as a unit, not a variable.
inline void strip_area_units(std::string& text) {
  std::size_t end = text.size();
  bool powered = false;
  for (const std::string_view power : {"\xC2\xB2", "\xC2\xB3", "^{2}", "^{3}", "^2", "^3"}) {
    if (end >= power.size() && std::string_view(text).substr(end - power.size()) == power) {
      end -= power.size();
      powered = true;
      break;
    }
  }
  if (!powered) return;
  std::size_t begin = end;
  while (begin > 0 && is_letter(text[begin - 1])) --begin;
  const std::string_view unit = std::string_view(text).substr(begin, end - begin);
  bool known = false;
  for (const std::string_view length : {"m", "cm", "mm", "km", "ft", "in", "yd", "mi", "inches", "feet", "meters", "metres", "units"})
    known = known || unit == length;
  if (!known || begin == 0) return;
  std::size_t number_end = begin;
  while (number_end > 0 && is_space(text[number_end - 1])) --number_end;
  if (number_end == 0 || !(is_digit(text[number_end - 1]) || text[number_end - 1] == '}')) return;
  text.resize(number_end);
}

// "7,425,000" -> "7425000" where every group after a comma has exactly three digits
// and no space follows the comma (so "1, 234" stays a list of two numbers).
inline std::string remove_thousands_separators(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t k = 0;
  while (k < text.size()) {
    if (!is_digit(text[k]) || (k > 0 && (is_digit(text[k - 1]) || text[k - 1] == '.'))) {
      out.push_back(text[k++]);
      continue;
    }
    // A run of digits that starts a number.
    std::size_t end = k;
    while (end < text.size() && is_digit(text[end])) ++end;
    std::size_t groups_end = end;
    // "0,111" is a decimal comma, never a thousands group (Math-Verify reads it as 0.111).
    bool grouped = end - k <= 3 && !(end - k == 1 && text[k] == '0');
    std::size_t probe = end;
    int groups = 0;
    // One separator throughout a number: ',' (12,500) or a space (12 500, from 12\,500 or 12\ 500).
    const char separator = probe < text.size() ? text[probe] : '\0';
    if (separator != ',' && separator != ' ') grouped = false;
    while (grouped && probe + 4 <= text.size() && text[probe] == separator && is_digit(text[probe + 1]) &&
           is_digit(text[probe + 2]) && is_digit(text[probe + 3]) &&
           (probe + 4 == text.size() || !is_digit(text[probe + 4]))) {
      probe += 4;
      ++groups;
      groups_end = probe;
    }
    // "1 000, 2 000" keeps its list comma; a space group followed by ',' + digit is a list item, not grouping.
    if (groups > 0 && separator == ' ' && groups_end < text.size() && text[groups_end] == ',' &&
        groups_end + 1 < text.size() && is_digit(text[groups_end + 1]))
      groups = 0;
    if (groups > 0) {
      for (std::size_t m = k; m < groups_end; ++m)
        if (text[m] != separator) out.push_back(text[m]);
      k = groups_end;
    } else {
      out.append(text.substr(k, end - k));
      k = end;
    }
  }
  return out;
}

}  // namespace latex_detail

// The canonical form of an answer: see the file comment. Whitespace is kept
// (single spaces) because "\sin x" needs it; compare with spaces removed.
inline std::string normalize_latex_answer(std::string_view raw) {
  using namespace latex_detail;
  std::string text(raw);

  // A matrix row break (two backslashes) is kept whole: the "\\ " rewrite below would split it.
  replace_all(text, "\\\\", "\x1e");
  // Spaces that are not ASCII: no-break, thin and narrow no-break spaces.
  replace_all(text, "\xC2\xA0", " ");
  replace_all(text, "\xE2\x80\x89", " ");
  replace_all(text, "\xE2\x80\xAF", " ");
  // Currency signs are units: € £ ¥ ₹ and their LaTeX commands.
  for (const std::string_view currency : {"\xE2\x82\xAC", "\xC2\xA3", "\xC2\xA5", "\xE2\x82\xB9"}) replace_all(text, currency, "");
  for (const std::string_view currency : {"\\texteuro", "\\euro", "\\pounds", "\\yen"}) replace_command(text, currency, "");

  // Math delimiters and spacing commands.
  replace_all(text, "\\(", "");
  replace_all(text, "\\)", "");
  replace_all(text, "\\[", "");
  replace_all(text, "\\]", "");
  replace_all(text, "\\$", "");
  replace_all(text, "$", "");
  replace_all(text, "\\!", "");
  replace_all(text, "\\,", " ");
  replace_all(text, "\\;", " ");
  replace_all(text, "\\:", " ");
  replace_all(text, "\\ ", " ");
  replace_all(text, "~", " ");
  replace_command(text, "\\qquad", " ");
  replace_command(text, "\\quad", " ");
  replace_command(text, "\\displaystyle", "");
  replace_command(text, "\\dfrac", "\\frac");
  replace_command(text, "\\tfrac", "\\frac");
  replace_command(text, "\\cfrac", "\\frac");
  replace_command(text, "\\dots", "");
  replace_command(text, "\\ldots", "");
  // \left( \right] \bigl( ...: the delimiter stays, the sizing goes; \left. is nothing.
  replace_all(text, "\\left.", "");
  replace_all(text, "\\right.", "");
  for (const std::string_view sizing : {"\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\big", "\\Big"})
    replace_command(text, sizing, "");
  // Degrees: ^\circ, ^{\circ}, the ° sign (UTF-8 C2 B0).
  replace_all(text, "^{\\circ}", "");
  replace_all(text, "^\\circ", "");
  replace_command(text, "\\circ", "");
  replace_command(text, "\\degree", "");
  replace_all(text, "\xC2\xB0", "");
  replace_all(text, "\\%", "%");
  replace_all(text, "{,}", "");
  // "x \in [1, 2]": the set is the answer.
  if (const std::size_t in = text.find("\\in "); in != std::string::npos && in < 8) text = text.substr(in + 4);

  // A trailing \text{ units} after a number is dropped (MATH style "10\text{ inches}");
  // any other \text{}, \mathrm{}, ... is unwrapped.
  for (const std::string_view wrapper : {"\\text", "\\mbox", "\\mathrm", "\\textnormal", "\\textbf", "\\textrm", "\\textit"}) {
    const std::size_t hit = text.rfind(wrapper);
    if (hit == std::string::npos || hit == 0) continue;
    std::size_t open = hit + wrapper.size();
    while (open < text.size() && text[open] == ' ') ++open;
    if (open >= text.size() || text[open] != '{') continue;
    const std::size_t close = matching_brace(text, open);
    if (close == std::string::npos || close + 1 != text.size()) continue;
    std::string words;
    for (std::size_t k = open + 1; k < close; ++k) words.push_back(text[k]);
    std::string candidate = text.substr(0, hit);
    std::size_t end = candidate.size();
    while (end > 0 && is_space(candidate[end - 1])) --end;
    candidate.resize(end);
    std::string probe = "0 " + words;  // are the words all units?
    strip_trailing_units(probe);
    // MATH writes units as "\text{ units}", with a leading space: any such words go.
    const bool spaced_words = words.size() >= 2 && words[0] == ' ' && is_letter(words[1]);
    if (!candidate.empty() && (is_digit(candidate.back()) || candidate.back() == '}') && (probe == "0" || spaced_words))
      text = candidate;
  }
  for (const std::string_view wrapper : {"\\textbf", "\\textit", "\\textrm", "\\textnormal", "\\textup", "\\textsf",
                                          "\\texttt", "\\emph", "\\text", "\\mbox", "\\mathrm", "\\mathbf",
                                          "\\mathit", "\\mathsf", "\\operatorname", "\\boldsymbol"})
    unwrap_command(text, wrapper);

  text = remove_thousands_separators(text);

  // Collapse whitespace; trim.
  std::string collapsed;
  collapsed.reserve(text.size());
  for (const char c : text) {
    if (is_space(c)) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed.push_back(' ');
    } else {
      collapsed.push_back(c);
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  text = std::move(collapsed);

  // Trailing punctuation of a sentence: "42." "42;" (a decimal point needs a digit after it).
  while (!text.empty() && (text.back() == '.' || text.back() == ',' || text.back() == ';' || text.back() == ' ')) text.pop_back();
  strip_area_units(text);
  strip_trailing_units(text);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  replace_all(text, "\x1e", "\\\\");
  return text;
}

// The normalised answer without spaces, the form compared as strings; a space
// between two digits stays ("1 2" is not "12").
inline std::string without_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t k = 0; k < text.size(); ++k) {
    if (text[k] != ' ') {
      out.push_back(text[k]);
    } else if (!out.empty() && latex_detail::is_digit(out.back()) && k + 1 < text.size() &&
               latex_detail::is_digit(text[k + 1])) {
      out.push_back(' ');
    }
  }
  return out;
}

}  // namespace r1
