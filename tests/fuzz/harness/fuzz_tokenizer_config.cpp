// tokenizer_config.json (bos/eos/pad tokens, add_bos_token, add_eos_token)
// beside a fixed tokenizer.json (tests/data/tokenizer/tiny_byte_level).
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const r1::Json tokenizer_json =
      r1::read_json_file(std::string(R1_TEST_DATA_DIR) + "/tokenizer/tiny_byte_level/tokenizer.json");
  r1::fuzz::run_expecting_errors([&] {
    const auto config = r1::parse_json(r1::fuzz::as_text(data, size), "tokenizer_config.json");
    const auto tokenizer = r1::BpeTokenizer::from_json(tokenizer_json, config, "tokenizer.json", "tokenizer_config.json");
    const auto ids = tokenizer.encode("hi <think>", /*add_special_tokens=*/true);
    (void)tokenizer.decode(ids, /*skip_special_tokens=*/true);
  });
  return 0;
}
