#pragma once
// PreTokenizer: splits normalized text into the pieces BPE runs on, as HF
// tokenizers' pre_tokenizers do. Supported types (tokenizer.json "pre_tokenizer"):
//   Sequence  { pretokenizers: [...] }        each step refines every piece of the previous one
//   Split     { pattern: {Regex|String}, behavior, invert }
//   ByteLevel { add_prefix_space, use_regex }  GPT-2 split when use_regex; marks bytes for the byte-level alphabet
//   Digits    { individual_digits }            ASCII digits isolated one by one, or as runs
// Split behaviours (HF SplitDelimiterBehavior): Removed, Isolated, MergedWithPrevious,
// MergedWithNext, Contiguous. A regex sees one piece at a time, never its neighbours.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/tokenizer/unicode_regex.hpp"

namespace r1 {

// A piece of text: bytes [begin, end) of the string being pre-tokenized.
struct TextSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
};

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

class PreTokenizer {
 public:
  PreTokenizer() = default;  // no pre-tokenizer: the whole text is one piece

  // `where` names the JSON source in errors, e.g. "tokenizer.json: pre_tokenizer".
  static PreTokenizer from_json(const Json& node, const std::string& where) {
    PreTokenizer result;
    if (!node.is_null()) result.add_step(node, where);
    return result;
  }

  // Pieces of `text` (byte ranges into it), in order.
  std::vector<TextSpan> split(std::string_view text) const {
    std::vector<TextSpan> pieces;
    if (!text.empty()) pieces.push_back({0, text.size()});
    std::vector<std::pair<std::size_t, std::size_t>> matches;
    std::vector<std::pair<TextSpan, bool>> marked;
    std::vector<TextSpan> refined;
    for (const Step& step : steps_) {
      refined.clear();
      for (const TextSpan piece : pieces) {
        const std::string_view slice = text.substr(piece.begin, piece.end - piece.begin);
        mark_matches(step, slice, matches, marked);
        apply_behavior(step.behavior, marked, piece.begin, refined);
      }
      pieces.swap(refined);
    }
    return pieces;
  }

  // Whether a ByteLevel step is present: the BPE then works on bytes.
  bool byte_level() const { return byte_level_; }
  // ByteLevel's add_prefix_space: a space is put before text that does not start with one.
  bool add_prefix_space() const { return add_prefix_space_; }

 private:
  enum class Kind { regex, digits };
  struct Step {
    Kind kind = Kind::regex;
    std::shared_ptr<UnicodeRegex> regex;
    SplitBehavior behavior = SplitBehavior::isolated;
    bool invert = false;
    bool individual_digits = false;
  };

  // GPT-2's pattern, used by ByteLevel with use_regex (HF pre_tokenizers/byte_level.rs).
  static constexpr std::string_view gpt2_pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

  void add_step(const Json& node, const std::string& where) {
    require(node.is_object(), where, ": expected an object");
    const auto type = json_field<std::string>(node, "type", where);
    if (type == "Sequence") {
      const auto& list = node.contains("pretokenizers") ? node["pretokenizers"] : Json();
      require(list.is_array(), where, ": Sequence needs a 'pretokenizers' array");
      for (std::size_t i = 0; i < list.size(); ++i) add_step(list[i], where + ".pretokenizers[" + std::to_string(i) + "]");
    } else if (type == "Split") {
      Step step;
      const Json& pattern = node.contains("pattern") ? node["pattern"] : Json();
      require(pattern.is_object(), where, ": Split needs a 'pattern' object with 'Regex' or 'String'");
      std::string regex_text;
      if (pattern.contains("Regex")) {
        regex_text = json_field<std::string>(pattern, "Regex", where + ".pattern");
      } else if (pattern.contains("String")) {
        regex_text = quote(json_field<std::string>(pattern, "String", where + ".pattern"));
      } else {
        fail(where, ".pattern: expected 'Regex' or 'String'");
      }
      step.regex = std::make_shared<UnicodeRegex>(regex_text, where + ".pattern");
      step.behavior = behavior_from(json_field<std::string>(node, "behavior", where), where);
      step.invert = json_field_or<bool>(node, "invert", false, where);
      steps_.push_back(std::move(step));
    } else if (type == "ByteLevel") {
      byte_level_ = true;
      // HF prepends the space to every piece reaching this step; r1 does it once per text
      // segment, which is the same thing only when ByteLevel comes first.
      add_prefix_space_ = json_field_or<bool>(node, "add_prefix_space", true, where);
      require(!add_prefix_space_ || steps_.empty(), where,
              ": ByteLevel with add_prefix_space after another pre-tokenizer is not supported");
      if (json_field_or<bool>(node, "use_regex", true, where)) {
        Step step;
        step.regex = std::make_shared<UnicodeRegex>(gpt2_pattern, where);
        steps_.push_back(std::move(step));
      }
    } else if (type == "Digits") {
      Step step;
      step.kind = Kind::digits;
      step.individual_digits = json_field_or<bool>(node, "individual_digits", false, where);
      step.behavior = step.individual_digits ? SplitBehavior::isolated : SplitBehavior::contiguous;
      steps_.push_back(std::move(step));
    } else {
      fail(where, ": pre-tokenizer type '", type, "' is not supported (expected Sequence, Split, ByteLevel or Digits)");
    }
  }

  static SplitBehavior behavior_from(const std::string& name, const std::string& where) {
    if (name == "Removed") return SplitBehavior::removed;
    if (name == "Isolated") return SplitBehavior::isolated;
    if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
    if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
    if (name == "Contiguous") return SplitBehavior::contiguous;
    fail(where, ": split behavior '", name,
         "' is unknown (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
  }

  // A literal string as a PCRE2 pattern.
  static std::string quote(const std::string& literal) {
    std::string out = "\\Q";
    for (std::size_t i = 0; i < literal.size(); ++i) {
      if (literal.compare(i, 2, "\\E") == 0) {
        out += "\\E\\\\E\\Q";
        ++i;
      } else {
        out += literal[i];
      }
    }
    return out + "\\E";
  }

  // The piece cut into alternating (span, is_match) parts that cover it (HF Pattern::find_matches).
  static void mark_matches(const Step& step, std::string_view slice, std::vector<std::pair<std::size_t, std::size_t>>& matches,
                           std::vector<std::pair<TextSpan, bool>>& marked) {
    marked.clear();
    if (step.kind == Kind::digits) {
      // A character predicate: each ASCII digit is one match, the runs between are one part each.
      std::size_t previous = 0;
      for (std::size_t i = 0; i < slice.size(); ++i) {
        if (slice[i] < '0' || slice[i] > '9') continue;
        if (i > previous) marked.push_back({{previous, i}, false});
        marked.push_back({{i, i + 1}, true});
        previous = i + 1;
      }
      if (previous < slice.size()) marked.push_back({{previous, slice.size()}, false});
    } else {
      step.regex->find_all(slice, matches);
      std::size_t previous = 0;
      for (const auto& [begin, end] : matches) {
        if (begin > previous) marked.push_back({{previous, begin}, false});
        marked.push_back({{begin, end}, true});
        previous = end;
      }
      if (previous < slice.size()) marked.push_back({{previous, slice.size()}, false});
    }
    if (step.invert)
      for (auto& part : marked) part.second = !part.second;
  }

  // HF SplitDelimiterBehavior applied to the marked parts of one piece starting at `base`.
  static void apply_behavior(SplitBehavior behavior, const std::vector<std::pair<TextSpan, bool>>& marked,
                             std::size_t base, std::vector<TextSpan>& out) {
    const std::size_t first_out = out.size();
    const auto shifted = [base](TextSpan span) { return TextSpan{span.begin + base, span.end + base}; };
    switch (behavior) {
      case SplitBehavior::removed:
        for (const auto& [span, is_match] : marked)
          if (!is_match) out.push_back(shifted(span));
        break;
      case SplitBehavior::isolated:
        for (const auto& [span, is_match] : marked) out.push_back(shifted(span));
        break;
      case SplitBehavior::merged_with_previous: {
        bool previous_match = false;
        for (const auto& [span, is_match] : marked) {
          if (is_match && !previous_match && out.size() > first_out)
            out.back().end = span.end + base;
          else
            out.push_back(shifted(span));
          previous_match = is_match;
        }
        break;
      }
      case SplitBehavior::merged_with_next: {
        bool previous_match = false;
        std::vector<TextSpan> reversed;
        for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
          const auto& [span, is_match] = *it;
          if (is_match && !previous_match && !reversed.empty())
            reversed.back().begin = span.begin + base;
          else
            reversed.push_back(shifted(span));
          previous_match = is_match;
        }
        out.insert(out.end(), reversed.rbegin(), reversed.rend());
        break;
      }
      case SplitBehavior::contiguous: {
        bool previous_match = false;
        for (const auto& [span, is_match] : marked) {
          if (is_match == previous_match && out.size() > first_out)
            out.back().end = span.end + base;
          else
            out.push_back(shifted(span));
          previous_match = is_match;
        }
        break;
      }
    }
    // Empty parts never reach the model.
    std::size_t kept = first_out;
    for (std::size_t i = first_out; i < out.size(); ++i)
      if (out[i].end > out[i].begin) out[kept++] = out[i];
    out.resize(kept);
  }

  std::vector<Step> steps_;
  bool byte_level_ = false;
  bool add_prefix_space_ = false;
};

}  // namespace r1
