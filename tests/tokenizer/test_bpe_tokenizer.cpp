// BpeTokenizer on a hand-built tokenizer.json (tests/data/tokenizer/tiny_byte_level):
// vocabulary id = byte value for the 256 byte characters, then 7 merges (written ["a", "b"];
// a test rewrites them "a b"):
//   256 "Ġt" = Ġ+t   257 "he" = h+e   258 "Ġthe" = Ġt+he   259 "aa" = a+a
//   260 "aaaa" = aa+aa   261 "12" = 1+2   262 "Ã©" (bytes C3 A9, "é") = Ã+©
// added tokens 263 <think>, 264 </think>, 265 <eos> (special), 266 [W] (single_word,
// normalized), 267 <L> (lstrip), 268 <R> (rstrip), 269 ő (U+0151, normalized); NFC normalizer;
// pre-tokenizer Digits (runs) -> Split " ?\p{L}+|\s+| ?[^\s\p{L}\p{N}]+" -> ByteLevel.
// Every expected id list below is worked out by hand in the comment beside it.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "r1/tokenizer/bpe_tokenizer.hpp"
#include "r1/tokenizer/char_tokenizer.hpp"
#include "r1/tokenizer/prompt_template.hpp"
#include "r1/tokenizer/stream_decoder.hpp"
#include "r1/tokenizer/unicode_nfc.hpp"

using Ids = std::vector<r1::TokenId>;

namespace {
const std::string fixture_path = std::string(R1_TEST_DATA_DIR) + "/tokenizer/tiny_byte_level/tokenizer.json";

const r1::BpeTokenizer& fixture() {
  static const r1::BpeTokenizer tokenizer = r1::BpeTokenizer::from_file(fixture_path);
  return tokenizer;
}

std::vector<std::string> pieces(const r1::PreTokenizer& pre, std::string_view text) {
  std::vector<std::string> out;
  for (const auto span : pre.split(text)) out.emplace_back(text.substr(span.begin, span.end - span.begin));
  return out;
}

r1::PreTokenizer split_on_dash(const char* behavior) {
  return r1::PreTokenizer::from_json(
      r1::Json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", false}}, "test");
}
}  // namespace

static_assert(r1::TokenizerLike<r1::BpeTokenizer>);

TEST_CASE("BpeTokenizer: merges apply lowest rank first, leftmost first") {
  const auto& tokenizer = fixture();
  CHECK(tokenizer.vocab_size() == 270);
  // t h e: only (h,e) has a rank (1) -> [t, he]; (t, he) has none.
  CHECK(tokenizer.encode("the") == Ids{116, 257});
  // Ġ t h e: (Ġ,t) rank 0 first -> [Ġt, h, e]; (h,e) rank 1 -> [Ġt, he]; (Ġt,he) rank 2 -> [Ġthe].
  CHECK(tokenizer.encode(" the") == Ids{258});
  // a a a a a: (a,a) at 0 -> [aa,a,a,a]; leftmost (a,a) now at 2 -> [aa,aa,a]; (aa,aa) -> [aaaa, a].
  CHECK(tokenizer.encode("aaaaa") == Ids{260, 97});
  // Digits keeps "12345" whole; 1 2 3 4 5: (1,2) rank 5 -> [12, 3, 4, 5].
  CHECK(tokenizer.encode("12345") == Ids{261, 51, 52, 53});
  // "x 12": Split gives "x", " " (\s+), then "12"; the space stays a lone byte 32.
  CHECK(tokenizer.encode("x 12") == Ids{120, 32, 261});
  CHECK(tokenizer.encode("") == Ids{});
}

TEST_CASE("BpeTokenizer: added tokens, single_word, lstrip, rstrip, normalized") {
  const auto& tokenizer = fixture();
  CHECK(tokenizer.encode("<think>1</think>") == Ids{263, 49, 264});
  // Longest first: "<think>" is not split into "<" "think" ">".
  CHECK(tokenizer.encode("<<think>>") == Ids{60, 263, 62});
  // [W] between spaces is a single word: "a " -> a, " "; then 266; " b" -> " b" = Ġ b (no merge).
  CHECK(tokenizer.encode("a [W] b") == Ids{97, 32, 266, 32, 98});
  // "x[W]": preceded by a word character, so not matched: x, "[", W, "]".
  CHECK(tokenizer.encode("x[W]") == Ids{120, 91, 87, 93});
  // <L> swallows the spaces on its left, <R> those on its right.
  CHECK(tokenizer.encode("a  <L>b") == Ids{97, 267, 98});
  CHECK(tokenizer.encode("a<R>  b") == Ids{97, 268, 98});
  // "ő" (normalized) matches after NFC: "cafo\u030B" -> "cafő" -> "caf" + 269.
  CHECK(tokenizer.encode("caf\xC5\x91") == Ids{99, 97, 102, 269});
  CHECK(tokenizer.encode("cafo\xCC\x8B") == Ids{99, 97, 102, 269});
  CHECK(tokenizer.decode(Ids{269}) == "\xC5\x91");  // not in the byte alphabet: decoded as written
  // "Ã" is bytes C3 83: ids 195 and 131; the only merge on 195 is (195, 169), so none applies.
  CHECK(tokenizer.encode("\xC3\x83") == Ids{0xC3, 0x83});
}

TEST_CASE("merges written \"a b\" load the same as [\"a\", \"b\"]") {
  r1::Json json = r1::read_json_file(fixture_path);
  for (auto& merge : json["model"]["merges"]) merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  const auto spaced = r1::BpeTokenizer::from_json(json, r1::Json());
  for (const char* text : {"the", " the", "aaaaa", "12345"}) CHECK(spaced.encode(text) == fixture().encode(text));
  CHECK(spaced.encode(" the") == Ids{258});
}

TEST_CASE("an added token whose content is in the vocabulary takes the vocabulary's id, as HF does") {
  r1::Json json = r1::read_json_file(fixture_path);
  json["added_tokens"][6]["content"] = "\xC3\xA9";  // "é" is the byte-level character of byte E9, id 233
  const auto tokenizer = r1::BpeTokenizer::from_json(json, r1::Json());
  CHECK(tokenizer.encode("cafe\xCC\x81") == Ids{99, 97, 102, 233});
}

TEST_CASE("character-level BPE without ByteLevel: unknown characters become unk_token, fused when asked") {
  r1::Json json = {{"model",
                    {{"type", "BPE"},
                     {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"<unk>", 3}}},
                     {"merges", r1::Json::array({r1::Json::array({"a", "b"})})},
                     {"unk_token", "<unk>"},
                     {"fuse_unk", true}}}};
  // a b x y a b: (a,b) merges at both ends; x and y are unknown -> ab <unk> <unk> ab, fused -> ab <unk> ab.
  CHECK(r1::BpeTokenizer::from_json(json, r1::Json()).encode("abxyab") == Ids{2, 3, 2});
  json["model"]["fuse_unk"] = false;
  const auto unfused = r1::BpeTokenizer::from_json(json, r1::Json());
  CHECK(unfused.encode("abxyab") == Ids{2, 3, 3, 2});
  CHECK(unfused.decode(Ids{2, 3, 2}) == "ab<unk>ab");  // no decoder: tokens as written
}

TEST_CASE("BpeTokenizer: special tokens from tokenizer_config.json; decode; invalid UTF-8 as bytes") {
  const auto& tokenizer = fixture();
  CHECK(tokenizer.eos_token_id() == 265);
  CHECK_FALSE(tokenizer.bos_token_id().has_value());
  CHECK(tokenizer.adds_eos());
  CHECK(tokenizer.encode("the", true) == Ids{116, 257, 265});
  CHECK(tokenizer.decode(Ids{258, 263, 261}) == " the<think>12");
  CHECK(tokenizer.decode(Ids{258, 263, 261}, /*skip_special_tokens=*/true) == " the12");
  CHECK(tokenizer.id_to_token(258) == "Ġthe");
  CHECK(tokenizer.token_to_id("<eos>") == 265);
  CHECK(tokenizer.token_to_id("Ġt") == 256);
  CHECK(tokenizer.is_special(263));
  CHECK_FALSE(tokenizer.is_special(266));
  // "a\xFFb": \xFF matches no regex branch, so it is a piece of its own: a, byte FF, b.
  CHECK(tokenizer.encode("a\xFF" "b") == Ids{97, 255, 98});
  CHECK(tokenizer.decode(tokenizer.encode("a\xFF" "b\xE2\x82")) == "a\xFF" "b\xE2\x82");
}

TEST_CASE("StreamDecoder over byte-level BPE never cuts a character") {
  const auto& tokenizer = fixture();
  // "é" is 262 (bytes C3 A9); as two byte tokens 0xC3, 0xA9 the first alone must print nothing.
  r1::StreamDecoder stream(tokenizer);
  CHECK(stream.push(0xC3) == "");
  CHECK(stream.push(0xA9) == "\xC3\xA9");
  CHECK(stream.push(258) == " the");
  CHECK(stream.push(0xF0) == "");
  CHECK(stream.finish() == "\xEF\xBF\xBD");
}

TEST_CASE("Split behaviours follow HF's SplitDelimiterBehavior (its docstring's example)") {
  const std::string text = "the-final--countdown";
  CHECK(pieces(split_on_dash("Removed"), text) == std::vector<std::string>{"the", "final", "countdown"});
  CHECK(pieces(split_on_dash("Isolated"), text) == std::vector<std::string>{"the", "-", "final", "-", "-", "countdown"});
  CHECK(pieces(split_on_dash("MergedWithPrevious"), text) == std::vector<std::string>{"the-", "final-", "-", "countdown"});
  CHECK(pieces(split_on_dash("MergedWithNext"), text) == std::vector<std::string>{"the", "-final", "-", "-countdown"});
  CHECK(pieces(split_on_dash("Contiguous"), text) == std::vector<std::string>{"the", "-", "final", "--", "countdown"});
  const auto inverted = r1::PreTokenizer::from_json(
      r1::Json{{"type", "Split"}, {"pattern", {{"Regex", "[a-z]+"}}}, {"behavior", "Removed"}, {"invert", true}}, "test");
  CHECK(pieces(inverted, "ab, cd") == std::vector<std::string>{"ab", "cd"});
}

TEST_CASE("Digits and the GPT-2 ByteLevel split") {
  const auto runs = r1::PreTokenizer::from_json(r1::Json{{"type", "Digits"}, {"individual_digits", false}}, "test");
  const auto single = r1::PreTokenizer::from_json(r1::Json{{"type", "Digits"}, {"individual_digits", true}}, "test");
  CHECK(pieces(runs, "ab123c4") == std::vector<std::string>{"ab", "123", "c", "4"});
  CHECK(pieces(single, "ab123c") == std::vector<std::string>{"ab", "1", "2", "3", "c"});
  const auto gpt2 = r1::PreTokenizer::from_json(r1::Json{{"type", "ByteLevel"}, {"add_prefix_space", false}}, "test");
  CHECK(gpt2.byte_level());
  CHECK(pieces(gpt2, "Hello world's 42!  x") ==
        std::vector<std::string>{"Hello", " world", "'s", " 42", "!", " ", " x"});
}

TEST_CASE("UnicodeRegex: \\s is Unicode White_Space as in Oniguruma, and long backtracking runs complete") {
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  const r1::UnicodeRegex space(R"(\s+)", "test");
  space.find_all("\xE1\xA0\x8E", matches);  // U+180E MONGOLIAN VOWEL SEPARATOR: not White_Space
  CHECK(matches.empty());
  space.find_all("a\xE3\x80\x80\xC2\x85" "b", matches);  // U+3000 and U+0085 are
  CHECK(matches == std::vector<std::pair<std::size_t, std::size_t>>{{1, 6}});
  const r1::UnicodeRegex not_space_class(R"([^\s\p{L}]+)", "test");  // \s inside a class
  not_space_class.find_all("a 1\xE3\x80\x80" "2", matches);
  CHECK(matches == std::vector<std::pair<std::size_t, std::size_t>>{{2, 3}, {6, 7}});
  // DeepSeek's alternatives on 10 MB of spaces: \s*[\r\n]+ backtracks over the whole run once
  // (more than PCRE2's default match limit of 10^7), then \s+(?!\S) takes it all.
  const r1::UnicodeRegex deepseek_tail(R"(\s*[\r\n]+|\s+(?!\S)|\s+)", "test");
  const std::string spaces(10'000'000, ' ');
  deepseek_tail.find_all(spaces, matches);
  CHECK(matches == std::vector<std::pair<std::size_t, std::size_t>>{{0, spaces.size()}});
}

TEST_CASE("NFC (UAX #15): composition, singletons, exclusions, reordering, Hangul") {
  CHECK(r1::nfc::normalize("e\xCC\x81") == "\xC3\xA9");             // e + U+0301 -> U+00E9
  CHECK(r1::nfc::normalize("\xE2\x84\xAB") == "\xC3\x85");          // U+212B ANGSTROM SIGN -> U+00C5 (singleton)
  CHECK(r1::nfc::normalize("\xE0\xA5\x98") == "\xE0\xA4\x95\xE0\xA4\xBC");  // U+0958 excluded: stays U+0915 U+093C
  // a + U+0307 (ccc 230) + U+0323 (ccc 220): reorder to a, 0323, 0307; a+0323 = U+1EA1; 0307 stays.
  CHECK(r1::nfc::normalize("a\xCC\x87\xCC\xA3") == "\xE1\xBA\xA1\xCC\x87");
  CHECK(r1::nfc::normalize("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "\xEA\xB0\x81");  // L V T jamo -> U+AC01
  CHECK(r1::nfc::normalize("\xEA\xB0\x80\xE1\x86\xA8") == "\xEA\xB0\x81");              // LV + T -> LVT
  CHECK(r1::nfc::normalize("\xCC\x81" "a") == "\xCC\x81" "a");  // a leading mark composes with nothing
  CHECK(r1::nfc::normalize("plain ASCII") == "plain ASCII");
  CHECK(r1::nfc::normalize("e\xFF\xCC\x81") == "e\xFF\xCC\x81");  // an ill-formed byte blocks composition and stays
}

TEST_CASE("Prompt templates: R1-Zero (paper Table 1) and the DeepSeek chat format") {
  CHECK(r1::r1_zero_prompt_text("What is 2+3?") ==
        "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
        "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
        "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
        "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: What is "
        "2+3?. Assistant:");
  CHECK(r1::deepseek_chat_text("Hi") == "<｜User｜>Hi<｜Assistant｜><think>\n");
  CHECK(r1::deepseek_chat_text("Hi", {.system = "Be brief.", .open_think = false}) == "Be brief.<｜User｜>Hi<｜Assistant｜>");
  // The fixture tokenizer has no BOS: the R1-Zero ids are exactly encode() of the text.
  const auto& tokenizer = fixture();
  CHECK(r1::r1_zero_prompt(tokenizer, "the") == tokenizer.encode(r1::r1_zero_prompt_text("the")));
  // A character tokenizer with "<bos>": the chat prompt starts with it (id 0), then the text's characters.
  const r1::CharTokenizer chars({"<bos>", "<｜User｜>", "<｜Assistant｜>"}, "ab");
  CHECK(r1::deepseek_chat_prompt(chars, "ab", {.system = "", .open_think = false}) == Ids{0, 1, 3, 4, 2});
}

TEST_CASE("10 MB of one character: BPE is not quadratic") {
  const auto& tokenizer = fixture();
  // "a" x N is one pre-token; merges a+a then aa+aa leave N/4 tokens "aaaa" (260) when 4 divides N.
  const auto seconds = [&](std::size_t n) {
    const std::string text(n, 'a');
    const auto start = std::chrono::steady_clock::now();
    const Ids ids = tokenizer.encode(text);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(ids.size() == n / 4);
    CHECK(std::all_of(ids.begin(), ids.end(), [](r1::TokenId id) { return id == 260; }));
    return elapsed;
  };
  const double one_mb = std::min(seconds(1'000'000), seconds(1'000'000));
  const double four_mb = std::min(seconds(4'000'000), seconds(4'000'000));
  // Linear: ratio 4; n log n: 4 * log(4e6)/log(1e6) = 4.4; quadratic: 16. 10 separates them with
  // room for a machine shared with other builds (each figure is the best of two runs).
  CHECK(four_mb / one_mb < 10.0);
  seconds(10'000'000);
}
