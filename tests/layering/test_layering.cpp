// Every `#include "r1/..."` in include/r1 follows the layer order of the design
// (shared/DESIGN.md, "Layout"): core <- io <- {tokenizer, model, reward, rl, optim,
// dist} <- {sampling, cuda} <- {tasks, train} <- the umbrella headers (r1.hpp,
// concepts.hpp). A header may include its own folder and any lower layer; folders
// of one layer never include each other; nothing includes an umbrella header.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {
const std::map<std::string, int> kLayer{
    {"core", 0},    {"io", 1},     {"tokenizer", 2}, {"model", 2}, {"reward", 2}, {"rl", 2},
    {"optim", 2},   {"dist", 2},   {"sampling", 3},  {"cuda", 3},  {"tasks", 4},  {"train", 4},
    {"<top>", 5},
};

// "model/ops/rope.hpp" -> "model"; "concepts.hpp" -> "<top>".
std::string folder_of(const std::string& path) {
  const auto slash = path.find('/');
  return slash == std::string::npos ? "<top>" : path.substr(0, slash);
}

// Why `from` may not include `to`, or "" when it may.
std::string violation(const std::string& from, const std::string& to) {
  const std::string a = folder_of(from), b = folder_of(to);
  if (!kLayer.count(a)) return "folder '" + a + "' has no layer in the design";
  if (!kLayer.count(b)) return "folder '" + b + "' has no layer in the design";
  if (b == "<top>") return a == "<top>" ? "" : "includes an umbrella header";
  if (a == b) return "";
  const int la = kLayer.at(a), lb = kLayer.at(b);
  if (lb < la) return "";
  return lb == la ? "folders of one layer include each other" : "includes a higher layer";
}
}  // namespace

TEST_CASE("the rule itself, on made-up edges") {
  CHECK(violation("model/transformer.hpp", "core/error.hpp").empty());
  CHECK(violation("model/ops/rope.hpp", "model/config.hpp").empty());
  CHECK(violation("train/grpo_trainer.hpp", "sampling/kv_sampler.hpp").empty());
  CHECK(violation("concepts.hpp", "rl/policy_batch.hpp").empty());
  CHECK(violation("io/checkpoint_dir.hpp", "train/atomic_file.hpp") == "includes a higher layer");
  CHECK(violation("reward/batch.hpp", "concepts.hpp") == "includes an umbrella header");
  CHECK(violation("model/transformer.hpp", "optim/adamw.hpp") == "folders of one layer include each other");
  CHECK(violation("sampling/kv_sampler.hpp", "cuda/device.hpp") == "folders of one layer include each other");
  CHECK(!violation("widgets/a.hpp", "core/error.hpp").empty());
}

TEST_CASE("include/r1 follows the layer order") {
  const std::filesystem::path root = std::filesystem::path(R1_SOURCE_DIR) / "include" / "r1";
  REQUIRE(std::filesystem::is_directory(root));
  const std::regex include_line(R"(^\s*#\s*include\s*[<"]r1/([^">]+)[">])");
  std::vector<std::string> problems;
  int headers = 0, edges = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".hpp") continue;
    ++headers;
    const std::string from = std::filesystem::relative(entry.path(), root).generic_string();
    std::ifstream in(entry.path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      std::smatch match;
      if (!std::regex_search(line, match, include_line)) continue;
      ++edges;
      const std::string to = match[1].str();
      if (const std::string why = violation(from, to); !why.empty())
        problems.push_back("r1/" + from + ":" + std::to_string(number) + " includes r1/" + to + ": " + why);
    }
  }
  std::ostringstream report;
  for (const auto& problem : problems) report << problem << "\n";
  INFO(headers, " headers, ", edges, " includes of r1 headers; against the layer order:\n", report.str());
  CHECK(headers > 50);
  CHECK(problems.empty());
}
