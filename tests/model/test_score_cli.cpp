// `r1 score` end to end: the tool's log-probs of the golden sequences equal the
// PyTorch float64 golden values, and bad input lines fail with a message naming
// the line.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "r1/core/json.hpp"

namespace {

namespace fs = std::filesystem;
const std::string kModelDir = std::string(R1_TEST_DATA_DIR) + "/model/golden_qwen2";

struct Run {
  int exit_code;
  std::string out, err;
};

Run run_score(const std::string& input_text, const std::string& extra_flags) {
  const fs::path dir = fs::temp_directory_path() / ("r1_test_score_cli_" + std::to_string(::getpid()));
  // Removed when the suite exits.
  static const struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{dir};
  fs::create_directories(dir);
  std::ofstream(dir / "in.jsonl") << input_text;
  const std::string command = std::string(R1_CLI_PATH) + " --threads 2 score --model " + kModelDir + " " + extra_flags +
                              " " + (dir / "in.jsonl").string() + " > " + (dir / "out.jsonl").string() + " 2> " +
                              (dir / "err.txt").string();
  const int status = std::system(command.c_str());
  const auto slurp = [](const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "out.jsonl"), slurp(dir / "err.txt")};
}

}  // namespace

TEST_CASE("r1 score reproduces the golden log-probs, one line per input line, in order") {
  const r1::Json golden = r1::read_json_file(std::string(R1_TEST_DATA_DIR) + "/model/golden_qwen2.json");
  std::string input;
  for (const auto& sequence : golden["sequences"]) input += r1::Json{{"ids", sequence}}.dump() + "\n\n";  // blank lines skipped
  input += "{\"ids\": [4]}\n";
  const Run run = run_score(input, "--temperature 0.8 --batch-tokens 7");  // small batches: order must survive flushes
  REQUIRE(run.exit_code == 0);
  std::istringstream lines(run.out);
  std::string line;
  std::size_t offset = 0;
  for (std::size_t s = 0; s < golden["sequences"].size(); ++s) {
    REQUIRE(std::getline(lines, line));
    const r1::Json out = r1::parse_json(line, "r1 score output");
    const auto length = golden["sequences"][s].size();
    const auto logprobs = out["logprobs"].get<std::vector<double>>();
    REQUIRE(logprobs.size() == length - 1);
    double total = 0;
    for (std::size_t t = 1; t < length; ++t) {
      total += logprobs[t - 1];
      // Positions the golden file scores (from score_from); 3e-4 as derived in test_golden.cpp.
      if (static_cast<std::int64_t>(t) >= golden["score_from"][s].get<std::int64_t>())
        CHECK(std::abs(logprobs[t - 1] - golden["logprobs"][offset + t].get<double>()) <= 3e-4);
    }
    CHECK(out["ppl"].get<double>() == doctest::Approx(std::exp(-total / static_cast<double>(length - 1))).epsilon(1e-6));
    offset += length;
  }
  REQUIRE(std::getline(lines, line));
  CHECK(r1::parse_json(line, "r1 score output") == r1::Json{{"logprobs", r1::Json::array()}, {"ppl", nullptr}});
  CHECK(!std::getline(lines, line));
}

TEST_CASE("r1 score: bad lines fail with exit code 1 and name the line") {
  Run run = run_score("{\"ids\": [1, 2]}\n{\"ids\": [1, 999]}\n", "");
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("line 2") != std::string::npos);
  CHECK(run.err.find("vocabulary") != std::string::npos);
  run = run_score("{\"ids\": [1, 2]\n", "");
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("line 1") != std::string::npos);
  run = run_score("{\"text\": \"hello\"}\n", "");  // the golden model has no tokenizer.json
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("tokenizer.json") != std::string::npos);
  run = run_score("{\"ids\": [1, 2]}\n", "--temperature 0");
  CHECK(run.exit_code == 1);
}

// A padded vocabulary (issue 22): the golden model's embedding has 37 rows; a tokenizer.json beside it with
// 30 ids makes ids 30..36 rows no token stands for, which `r1 score` rejects naming the line, id and size.
TEST_CASE("r1 score rejects ids outside the tokenizer's vocabulary when the embedding is padded") {
  const fs::path dir = fs::temp_directory_path() / ("r1_test_score_padded_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* name : {"config.json", "model.safetensors"}) fs::copy_file(fs::path(kModelDir) / name, dir / name);
  r1::Json vocab = r1::Json::object();
  for (int id = 0; id < 30; ++id) vocab[std::string(1, static_cast<char>('A' + id))] = id;
  std::ofstream(dir / "tokenizer.json") << r1::Json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", r1::Json::array()}}},
                                                    {"decoder", {{"type", "ByteLevel"}}}}.dump();
  std::ofstream(dir / "in.jsonl") << "{\"ids\": [1, 29]}\n{\"ids\": [1, 33]}\n";
  const std::string command = std::string(R1_CLI_PATH) + " --threads 1 score --batch-tokens 1 --model " + dir.string() + " " +
                              (dir / "in.jsonl").string() + " > " + (dir / "out.jsonl").string() + " 2> " +
                              (dir / "err.txt").string();
  const int status = std::system(command.c_str());
  std::stringstream err, out;
  err << std::ifstream(dir / "err.txt").rdbuf();
  out << std::ifstream(dir / "out.jsonl").rdbuf();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(out.str().find("logprobs") != std::string::npos);  // the first line, inside both vocabularies, was scored
  CHECK(err.str().find("in.jsonl line 2: field 'ids': token 1 = 33 is outside the tokenizer's vocabulary [0, 30)") !=
        std::string::npos);
  CHECK(err.str().find("37 rows") != std::string::npos);
}
