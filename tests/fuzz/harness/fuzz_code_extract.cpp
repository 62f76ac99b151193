// The code verifier's text side, no program run: the fenced-block extractor on a
// completion, and the output comparison (whitespace- and float-tolerant) of two
// texts. Input: "completion\0expected output" (the second part may be absent).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/reward/code/compare.hpp"
#include "r1/reward/code/extract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = r1::fuzz::as_text(data, size);
  const auto split = text.find('\0');
  const std::string_view completion = text.substr(0, split);
  const std::string_view other = split == std::string_view::npos ? text : text.substr(split + 1);
  r1::fuzz::run_expecting_errors([&] {
    for (const auto& block : r1::code::fenced_blocks(completion))
      if (block.code.size() > completion.size()) r1::fuzz::property_failed("a fenced block longer than the text");
    for (const auto language : {r1::code::CodeLanguage::python, r1::code::CodeLanguage::cpp}) {
      const auto code = r1::code::extract_code_block(completion, language);
      if (code && code->size() > completion.size()) r1::fuzz::property_failed("extracted code longer than the text");
    }
    if (!r1::code::outputs_match(completion, completion)) r1::fuzz::property_failed("an output does not match itself");
    (void)r1::code::outputs_match(completion, other);
    (void)r1::code::outputs_match(completion, other, 1e-6);
  });
  return 0;
}
