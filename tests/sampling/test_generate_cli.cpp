// `r1 generate` end to end: a small model saved with Transformer::save, JSONL in,
// JSONL out. Checks the output shape and order, greedy output = the in-process
// KvSampler, output independent of --batch-lines, prompts through a tokenizer
// with stop strings, and bad input → exit 1 with a message naming the line.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/model/transformer.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/tokenizer/bpe_tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
using r1::TokenId;

// The committed tokenizer fixture has 270 ids; '<eos>' is 265.
const std::string kTokenizerPath = std::string(R1_TEST_DATA_DIR) + "/tokenizer/tiny_byte_level/tokenizer.json";
constexpr std::int64_t kVocab = 270;

struct Workspace {
  fs::path root;
  Workspace() {
    root = fs::temp_directory_path() / ("r1_generate_cli_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    r1::ModelConfig config;
    config.vocab_size = kVocab;
    config.hidden_size = 32;
    config.intermediate_size = 48;
    config.num_hidden_layers = 2;
    config.num_attention_heads = 4;
    config.num_key_value_heads = 2;
    config.max_position_embeddings = 256;
    r1::Transformer<r1::cpu> model(config);
    model.init_random(3, 0.3f);
    model.save((root / "model").string());
  }
  ~Workspace() { fs::remove_all(root); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(root / name, std::ios::binary) << text;
    return (root / name).string();
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  struct Result {
    int exit_code;
    std::vector<r1::Json> lines;
    std::string stderr_text;
  };
  Result run(const std::string& arguments, const std::string& input_file) const {
    const auto out = root / "out.jsonl", err = root / "err.txt";
    const std::string command = std::string(R1_CLI_PATH) + " --threads 2 generate --model " + (root / "model").string() +
                                " " + arguments + " " + input_file + " > " + out.string() + " 2> " + err.string();
    const int status = std::system(command.c_str());
    Result result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, {}, read(err)};
    std::istringstream lines(read(out));
    std::string line;
    while (std::getline(lines, line)) result.lines.push_back(r1::Json::parse(line));
    return result;
  }
};

}  // namespace

TEST_CASE("r1 generate: ids in, one line per input line, greedy equal to the in-process sampler") {
  const Workspace workspace;
  const auto input = workspace.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n\n{\"ids\": [40, 50]}\n{\"ids\": [7]}\n");
  const auto result = workspace.run("--temperature 0 --max-new-tokens 8 --n 2 --ignore-eos", input);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.lines.size() == 3);  // the empty line is skipped

  auto model = r1::Transformer<r1::cpu>::load((workspace.root / "model").string());
  const std::vector<std::vector<TokenId>> prompts{{1, 2, 3}, {40, 50}, {7}};
  r1::SamplerConfig config;
  config.temperature = 0.0f;
  config.max_new_tokens = 8;
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = 2;
  const auto expected = r1::KvSampler{config}.generate(model, request);
  for (std::size_t line = 0; line < 3; ++line) {
    const auto& completions = result.lines[line].at("completions");
    REQUIRE(completions.size() == 2);
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(completions[j].at("ids").get<std::vector<TokenId>>() == expected[line * 2 + j].ids);
      CHECK(completions[j].at("logprobs").get<std::vector<float>>() == std::vector<float>(8, 0.0f));
      CHECK(completions[j].at("finish_reason") == "length");
      CHECK_FALSE(completions[j].contains("text"));  // no tokenizer
    }
  }
}

TEST_CASE("r1 generate: --banned-token-id is never drawn, as in the in-process sampler") {
  const Workspace workspace;
  const auto input = workspace.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n");
  auto model = r1::Transformer<r1::cpu>::load((workspace.root / "model").string());
  const std::vector<std::vector<TokenId>> prompts{{1, 2, 3}};
  r1::SamplerConfig config;
  config.temperature = 0.0f;
  config.max_new_tokens = 8;
  r1::GenerationRequest request;
  request.prompts = prompts;
  const TokenId greedy_first = r1::KvSampler{config}.generate(model, request).at(0).ids.at(0);
  config.banned_token_ids = {greedy_first};
  const auto expected = r1::KvSampler{config}.generate(model, request).at(0).ids;

  const auto result = workspace.run(
      "--temperature 0 --max-new-tokens 8 --ignore-eos --banned-token-id " + std::to_string(greedy_first), input);
  INFO(result.stderr_text);
  REQUIRE(result.exit_code == 0);
  REQUIRE(result.lines.size() == 1);
  const auto ids = result.lines[0].at("completions").at(0).at("ids").get<std::vector<TokenId>>();
  CHECK(ids == expected);
  CHECK(std::find(ids.begin(), ids.end(), greedy_first) == ids.end());
}

TEST_CASE("r1 generate: sampled output does not depend on --batch-lines") {
  const Workspace workspace;
  const auto input = workspace.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n{\"ids\": [40, 50]}\n{\"ids\": [7]}\n{\"ids\": [9, 9]}\n");
  const auto together = workspace.run("--seed 5 --n 3 --max-new-tokens 6 --top-p 0.9 --ignore-eos", input);
  const auto one_by_one = workspace.run("--seed 5 --n 3 --max-new-tokens 6 --top-p 0.9 --ignore-eos --batch-lines 1", input);
  REQUIRE(together.exit_code == 0);
  REQUIRE(one_by_one.exit_code == 0);
  REQUIRE(together.lines.size() == 4);
  REQUIRE(one_by_one.lines.size() == 4);
  for (std::size_t line = 0; line < 4; ++line) {
    const auto& a = together.lines[line].at("completions");
    const auto& b = one_by_one.lines[line].at("completions");
    REQUIRE(a.size() == 3);
    REQUIRE(b.size() == 3);
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(a[j].at("ids") == b[j].at("ids"));
      // A row's logits may differ in the last bits with the batch's shape (GEMM
      // blocking): log-probs agree to a few float ulps (|ℓ| < 10: 1e-5).
      const auto la = a[j].at("logprobs").get<std::vector<float>>(), lb = b[j].at("logprobs").get<std::vector<float>>();
      REQUIRE(la.size() == lb.size());
      for (std::size_t t = 0; t < la.size(); ++t) CHECK(std::abs(la[t] - lb[t]) < 1e-5f);
    }
  }
  const auto other_seed = workspace.run("--seed 6 --n 3 --max-new-tokens 6 --top-p 0.9 --ignore-eos", input);
  CHECK(other_seed.lines != together.lines);
}

// What a raw (possibly not UTF-8) string becomes in r1's JSON output.
std::string as_json_text(const std::string& raw) {
  return r1::Json::parse(r1::Json(raw).dump(-1, ' ', false, r1::Json::error_handler_t::replace)).get<std::string>();
}

TEST_CASE("r1 generate: prompts through a tokenizer, text and stop strings") {
  const Workspace workspace;
  const auto tokenizer = r1::BpeTokenizer::from_file(kTokenizerPath);
  const auto input = workspace.write("in.jsonl", "{\"prompt\": \"the cat\"}\n");
  const std::string common = "--tokenizer " + kTokenizerPath + " --temperature 0 --max-new-tokens 40 --ignore-eos";
  const auto plain = workspace.run(common, input);
  INFO(plain.stderr_text);
  REQUIRE(plain.exit_code == 0);
  REQUIRE(plain.lines.size() == 1);
  const auto& completion = plain.lines[0].at("completions").at(0);
  const auto ids = completion.at("ids").get<std::vector<TokenId>>();
  REQUIRE(ids.size() == 40);
  const std::string raw_text = tokenizer.decode(ids);
  CHECK(completion.at("text").get<std::string>() == as_json_text(raw_text));

  // A stop string: the first run of two alphanumeric bytes in the greedy text
  // (the random model's text is mostly other bytes), passed through --sampler-config.
  std::size_t start = std::string::npos;
  for (std::size_t i = 0; i + 1 < raw_text.size() && start == std::string::npos; ++i)
    if (std::isalnum(static_cast<unsigned char>(raw_text[i])) && std::isalnum(static_cast<unsigned char>(raw_text[i + 1])))
      start = i;
  REQUIRE_MESSAGE(start != std::string::npos, "no alphanumeric pair in the greedy text: pick another seed");
  const std::string stop = raw_text.substr(start, 2);
  const auto config = workspace.write("sampler.json", "{\"stop_strings\": [\"" + stop + "\"]}");
  const auto stopped = workspace.run(common + " --sampler-config " + config, input);
  INFO(stopped.stderr_text);
  REQUIRE(stopped.exit_code == 0);
  REQUIRE(stopped.lines.size() == 1);
  const auto& cut = stopped.lines[0].at("completions").at(0);
  CHECK(cut.at("finish_reason") == "stop");
  CHECK(cut.at("text").get<std::string>() == as_json_text(raw_text.substr(0, start)));
  // The ids end with the token that completed the stop string: a prefix of the greedy ids.
  const auto cut_ids = cut.at("ids").get<std::vector<TokenId>>();
  REQUIRE(cut_ids.size() <= ids.size());
  CHECK(std::equal(cut_ids.begin(), cut_ids.end(), ids.begin()));
  CHECK(tokenizer.decode(std::span(cut_ids).first(cut_ids.size() - 1)).find(stop) == std::string::npos);
  CHECK(tokenizer.decode(cut_ids).find(stop) != std::string::npos);
}

TEST_CASE("r1 generate: bad input exits 1 naming the line") {
  const Workspace workspace;
  const auto check_error = [&](const std::string& input_text, const std::string& arguments, const std::string& expected) {
    const auto result = workspace.run(arguments, workspace.write("bad.jsonl", input_text));
    CHECK(result.exit_code == 1);
    CHECK_MESSAGE(result.stderr_text.find(expected) != std::string::npos, result.stderr_text);
  };
  check_error("{\"prompt\": \"hi\"}\n", "", "line 1: a \"prompt\" needs a tokenizer");
  check_error("{\"ids\": [1]}\n{\"ids\": [1, 999]}\n", "--batch-lines 1", "line 2: GenerationRequest: prompt 0 token 1 = 999");
  check_error("{\"ids\": [1]}\n{\"ids\": [1,\n", "", "line 2: malformed JSON");
  check_error("{\"text\": \"x\"}\n", "", "line 1: expected a field \"ids\" or \"prompt\"");
  check_error("{\"ids\": [1]}\n", "--top-p 1.5", "top_p = 1.5");
  check_error("{\"ids\": [1]}\n", "--stop x", "--stop needs a tokenizer");
}
