// r1 tokenize: JSONL in, JSONL out, one line per input line, in order.
//   r1 tokenize --tokenizer PATH [FILE]             {"text": ...}  ->  {"ids": [...]}
//   r1 tokenize --tokenizer PATH --decode [FILE]    {"ids": [...]} ->  {"text": ...}
//   --special adds BOS/EOS as the tokenizer's config says (encode) / drops special tokens (decode).
// PATH is a tokenizer.json or the folder holding it (with tokenizer_config.json beside it).
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "r1/core/json.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

namespace {

std::string tokenizer_file(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) return (std::filesystem::path(path) / "tokenizer.json").string();
  return path;
}

void run_tokenize(const std::string& tokenizer_path, const std::string& input, bool decode, bool special) {
  const auto tokenizer = r1::BpeTokenizer::from_file(tokenizer_file(tokenizer_path));
  r1::cli::InputLines lines(input);
  std::string line;
  while (lines.next(line)) {
    if (line.empty()) continue;
    const r1::Json record = r1::parse_json(line, lines.where());
    r1::Json out;
    if (decode) {
      const auto ids = r1::json_field<std::vector<r1::TokenId>>(record, "ids", lines.where());
      out["text"] = tokenizer.decode(ids, /*skip_special_tokens=*/special);
    } else {
      out["ids"] = tokenizer.encode(r1::json_field<std::string>(record, "text", lines.where()), special);
    }
    // A decoded cut through a UTF-8 character is written with U+FFFD in its place.
    std::cout << out.dump(-1, ' ', false, r1::Json::error_handler_t::replace) << '\n';
  }
  std::cout.flush();
}

const bool registered = r1::cli::register_command("tokenize", [](CLI::App& app) {
  auto* command = app.add_subcommand("tokenize", "Encode {\"text\"} or decode {\"ids\"} JSONL lines with a tokenizer.json");
  auto tokenizer = std::make_shared<std::string>();
  auto input = std::make_shared<std::string>();
  auto decode = std::make_shared<bool>(false);
  auto special = std::make_shared<bool>(false);
  command->add_option("--tokenizer", *tokenizer, "tokenizer.json, or the folder holding it")->required();
  command->add_option("file", *input, "JSONL input (default: stdin)");
  command->add_flag("--decode", *decode, "Decode {\"ids\": [...]} lines to {\"text\": ...}");
  command->add_flag("--special", *special,
                    "Encode: add BOS/EOS as tokenizer_config.json says; decode: drop special tokens");
  command->callback([=] { run_tokenize(*tokenizer, *input, *decode, *special); });
});

}  // namespace
