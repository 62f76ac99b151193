#pragma once
// The program a completion proposes: the last fenced code block of the requested
// language (CommonMark fences: ``` or ~~~, at most 3 spaces of indent, the info
// string's first word names the language). When no block carries the language's
// tag, the last untagged block is taken; a block left open at the end (a
// truncated completion) is not a program.
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"

namespace r1::code {

enum class CodeLanguage : std::uint8_t { python, cpp };

inline std::string_view to_string(CodeLanguage language) { return language == CodeLanguage::python ? "python" : "cpp"; }

inline std::string lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// "python", "python3", "py", "py3" / "cpp", "c++", "cxx", "cc" (any case); nullopt otherwise.
inline std::optional<CodeLanguage> code_language_from_tag(std::string_view tag) {
  const std::string lower = lowercase(tag);
  if (lower == "python" || lower == "python3" || lower == "py" || lower == "py3") return CodeLanguage::python;
  if (lower == "cpp" || lower == "c++" || lower == "cxx" || lower == "cc") return CodeLanguage::cpp;
  return std::nullopt;
}

// Like code_language_from_tag, but an unknown name is an r1::Error naming `where`.
inline CodeLanguage parse_code_language(std::string_view name, std::string_view where) {
  const auto language = code_language_from_tag(name);
  require(language.has_value(), where, ": unknown code language '", name, "': expected \"python\" or \"cpp\"");
  return *language;
}

struct FencedBlock {
  std::string info;  // first word of the info string, lowercased ("" when untagged)
  std::string code;  // the lines between the fences, each ending in '\n'
};

// Every closed fenced block, in order.
inline std::vector<FencedBlock> fenced_blocks(std::string_view text) {
  std::vector<FencedBlock> blocks;
  std::optional<FencedBlock> open;
  char fence_char = 0;
  std::size_t fence_length = 0;
  std::size_t position = 0;
  while (position < text.size()) {
    const std::size_t end = text.find('\n', position);
    std::string_view line = text.substr(position, end == std::string_view::npos ? std::string_view::npos : end - position);
    position = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t indent = 0;
    while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
    const std::string_view body = line.substr(indent);
    const bool can_be_fence = indent <= 3 && body.size() >= 3 && (body[0] == '`' || body[0] == '~');
    std::size_t run = 0;
    if (can_be_fence) {
      while (run < body.size() && body[run] == body[0]) ++run;
    }
    if (!open) {
      if (can_be_fence && run >= 3) {
        std::string_view info = body.substr(run);
        if (body[0] == '`' && info.find('`') != std::string_view::npos) continue;  // inline code, not a fence
        while (!info.empty() && std::isspace(static_cast<unsigned char>(info.front()))) info.remove_prefix(1);
        const std::size_t word_end = info.find_first_of(" \t{");
        open = FencedBlock{lowercase(info.substr(0, word_end)), {}};
        fence_char = body[0];
        fence_length = run;
      }
      continue;
    }
    const bool closes = can_be_fence && body[0] == fence_char && run >= fence_length &&
                        body.substr(run).find_first_not_of(" \t") == std::string_view::npos;
    if (closes) {
      blocks.push_back(std::move(*open));
      open.reset();
    } else {
      open->code.append(line);
      open->code.push_back('\n');
    }
  }
  return blocks;
}

// The last block tagged with `language`, else the last untagged block, else nullopt.
inline std::optional<std::string> extract_code_block(std::string_view completion, CodeLanguage language) {
  const std::vector<FencedBlock> blocks = fenced_blocks(completion);
  for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
    if (code_language_from_tag(block->info) == language) return block->code;
  }
  for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
    if (block->info.empty()) return block->code;
  }
  return std::nullopt;
}

}  // namespace r1::code
