// Bad tokenizer files and hostile text: a clear r1::Error or a correct result, never a crash
// (this suite runs under AddressSanitizer and UBSan).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "r1/tokenizer/bpe_tokenizer.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/tokenizer/stream_decoder.hpp"

namespace {
const std::string fixture_dir = std::string(R1_TEST_DATA_DIR) + "/tokenizer/tiny_byte_level";

r1::Json fixture_json() { return r1::read_json_file(fixture_dir + "/tokenizer.json"); }

std::string load_error(const r1::Json& tokenizer) {
  try {
    r1::BpeTokenizer::from_json(tokenizer, r1::Json(), "bad.json");
  } catch (const r1::Error& e) {
    return e.what();
  }
  return "no error";
}

// A deterministic byte generator (64-bit LCG, Knuth MMIX constants).
struct Bytes {
  std::uint64_t state;
  std::uint8_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint8_t>(state >> 56);
  }
};
}  // namespace

TEST_CASE("malformed or missing files name the file") {
  const auto dir = std::filesystem::temp_directory_path() / "r1_tokenizer_bad_input";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "tokenizer.json").string();
  std::ofstream(path) << "{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [";
  CHECK_THROWS_WITH_AS(r1::BpeTokenizer::from_file(path), doctest::Contains("malformed JSON"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::BpeTokenizer::from_file((dir / "missing.json").string()), doctest::Contains("cannot open"),
                       r1::Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad tokenizer.json content raises r1::Error naming the field") {
  auto merges_unknown = fixture_json();
  merges_unknown["model"]["merges"][0] = "Ġ zz";
  CHECK(load_error(merges_unknown).find("merges[0]: token 'zz' is not in the vocabulary") != std::string::npos);

  auto merge_shape = fixture_json();
  merge_shape["model"]["merges"][1] = "he";
  CHECK(load_error(merge_shape).find("merges[1]") != std::string::npos);
  merge_shape["model"]["merges"][1] = r1::Json::array({"h"});
  CHECK(load_error(merge_shape).find("merges[1]") != std::string::npos);

  auto merged_missing = fixture_json();
  merged_missing["model"]["vocab"].erase("aaaa");
  CHECK(load_error(merged_missing).find("merged token 'aaaa' is not in the vocabulary") != std::string::npos);

  auto pre_unknown = fixture_json();
  pre_unknown["pre_tokenizer"]["pretokenizers"][1]["type"] = "Metaspace";
  CHECK(load_error(pre_unknown).find("pre-tokenizer type 'Metaspace' is not supported") != std::string::npos);

  auto behavior_unknown = fixture_json();
  behavior_unknown["pre_tokenizer"]["pretokenizers"][1]["behavior"] = "Sideways";
  CHECK(load_error(behavior_unknown).find("split behavior 'Sideways'") != std::string::npos);

  auto bad_regex = fixture_json();
  bad_regex["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"] = "(unclosed";
  CHECK(load_error(bad_regex).find("cannot compile regex '(unclosed'") != std::string::npos);

  auto normalizer_unknown = fixture_json();
  normalizer_unknown["normalizer"] = {{"type", "Lowercase"}};
  CHECK(load_error(normalizer_unknown).find("normalizer type 'Lowercase' is not supported") != std::string::npos);

  auto model_unknown = fixture_json();
  model_unknown["model"]["type"] = "WordPiece";
  CHECK(load_error(model_unknown).find("model type 'WordPiece' is not supported") != std::string::npos);

  auto bad_id = fixture_json();
  bad_id["model"]["vocab"]["Ġt"] = -5;
  CHECK(load_error(bad_id).find("id -5 is outside") != std::string::npos);

  auto bad_added = fixture_json();
  bad_added["added_tokens"][0]["id"] = "seven";
  CHECK(load_error(bad_added).find("added_tokens[0]") != std::string::npos);

  // An id near 2^31 made the loader size its id table at 2^31 strings (64 GB); ids are bounded by the
  // vocabulary's size instead: 263 vocab entries + 7 added tokens = 270 in the fixture.
  auto huge_vocab_id = fixture_json();
  huge_vocab_id["model"]["vocab"]["Ġt"] = 2147483646;
  CHECK(load_error(huge_vocab_id).find("bad.json: model.vocab['Ġt']: id 2147483646 is outside [0, 270)") !=
        std::string::npos);
  auto limit_vocab_id = fixture_json();
  limit_vocab_id["model"]["vocab"]["Ġt"] = 270;
  CHECK(load_error(limit_vocab_id).find("id 270 is outside [0, 270)") != std::string::npos);
  auto float_vocab_id = fixture_json();
  float_vocab_id["model"]["vocab"]["Ġt"] = 3.5;
  CHECK(load_error(float_vocab_id).find("model.vocab['Ġt'] has the wrong type (number)") != std::string::npos);
  auto huge_added_id = fixture_json();
  huge_added_id["added_tokens"][1]["id"] = 2147483646;
  CHECK(load_error(huge_added_id).find("added_tokens[1]: id 2147483646 is outside [0, 270)") != std::string::npos);
  auto wrapped_added_id = fixture_json();
  wrapped_added_id["added_tokens"][1]["id"] = r1::Json::parse("18446744073709551615");
  CHECK(load_error(wrapped_added_id).find("added_tokens[1]: field 'id' is out of range") != std::string::npos);
  // A gap is allowed within the vocabulary's size, which counts an added token that repeats a vocab
  // token (DeepSeek's begin-of-sentence is both) twice: without 'aaaa' (id 260) but with 'Ġt' added
  // again, 262 vocab entries + 8 added tokens bound the ids, the largest being 269.
  auto gap = fixture_json();
  gap["model"]["vocab"].erase("aaaa");
  gap["model"]["merges"] = r1::Json::array();
  gap["added_tokens"].push_back({{"id", gap["model"]["vocab"]["Ġt"]}, {"content", "Ġt"}, {"special", false}});
  CHECK(load_error(gap) == "no error");
  gap["added_tokens"].erase(7);  // now 269 is one past 262 + 7
  CHECK(load_error(gap).find("added_tokens[6]: id 269 is outside [0, 269)") != std::string::npos);

  // Json::value() on an array threw nlohmann's type_error, escaping as std::terminate (found by fuzz_tokenizer_json).
  auto specials_array = fixture_json();
  specials_array["post_processor"] = {{"type", "TemplateProcessing"},
                                      {"single", {{{"SpecialToken", {{"id", "<eos>"}, {"type_id", 0}}}}}},
                                      {"special_tokens", r1::Json::array({1})}};
  CHECK(load_error(specials_array).find("bad.json: post_processor.special_tokens: expected an object, got array") !=
        std::string::npos);

  auto missing_byte = fixture_json();
  missing_byte["model"]["vocab"].erase("Ā");  // the character of byte 0
  missing_byte["model"]["merges"] = r1::Json::array();
  CHECK(load_error(missing_byte).find("all 256 byte characters") != std::string::npos);

  CHECK(load_error(r1::Json::array()).find("expected a JSON object") != std::string::npos);
  CHECK(load_error(r1::Json::object()).find("missing field 'model'") != std::string::npos);
}

TEST_CASE("invalid UTF-8 and random bytes are tokenized as bytes and decode back exactly") {
  const auto tokenizer = r1::BpeTokenizer::from_file(fixture_dir + "/tokenizer.json");
  Bytes bytes{12345};
  for (int round = 0; round < 2000; ++round) {
    std::string text(static_cast<std::size_t>(bytes.next() % 64), '\0');
    for (auto& ch : text) ch = static_cast<char>(bytes.next());
    if (round % 3 == 0) text = "<think>" + text + "o\xCC\x8B [W] 12345";
    std::vector<r1::TokenId> ids;
    REQUIRE_NOTHROW(ids = tokenizer.encode(text));
    const std::string normalized = r1::nfc::normalize(text);
    // NFC (applied between raw added tokens) is the only change encode makes here.
    CHECK(tokenizer.decode(ids) == normalized);
    r1::StreamDecoder stream(tokenizer);
    std::string streamed;
    for (const auto id : ids) streamed += stream.push(id);
    streamed += stream.finish();
    CHECK(streamed == r1::utf8::to_valid_lossy(normalized));
  }
}

TEST_CASE("ids outside the vocabulary raise r1::Error") {
  const auto tokenizer = r1::BpeTokenizer::from_file(fixture_dir + "/tokenizer.json");
  CHECK_THROWS_WITH_AS(tokenizer.decode(std::vector<r1::TokenId>{270}), doctest::Contains("token id 270"), r1::Error);
  CHECK_THROWS_AS(tokenizer.decode(std::vector<r1::TokenId>{-1}), r1::Error);
  CHECK_THROWS_AS(tokenizer.id_to_token(1 << 30), r1::Error);
  const r1::CharTokenizer chars({}, "ab");
  CHECK_THROWS_AS(chars.encode("abc"), r1::Error);
}
