#pragma once
// Runs a Python peer script on JSON cases and returns its JSON results; the
// suite is skipped (exit 77) when python3 with torch is not available.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "r1/core/json.hpp"
#include "skip.hpp"

namespace r1::test {

// The first of $R1_PEER_PYTHON, python3 on the PATH, /usr/bin/python3 that imports torch.
inline std::string python_with_torch() {
  static const std::string found = [] {
    std::vector<std::string> candidates;
    if (const char* chosen = std::getenv("R1_PEER_PYTHON")) candidates.emplace_back(chosen);
    candidates.emplace_back("python3");
    candidates.emplace_back("/usr/bin/python3");
    for (const std::string& python : candidates)
      if (std::system(("'" + python + "' -c 'import torch' > /dev/null 2>&1").c_str()) == 0) return python;
    return std::string{};
  }();
  return found;
}

inline std::string require_python_torch() {
  std::string python = python_with_torch();
  if (python.empty()) skip_suite("no python3 with torch for the PyTorch peer (set R1_PEER_PYTHON)");
  return python;
}

inline Json run_python_peer(const std::string& script, const Json& cases, const std::string& stem) {
  const std::string python = require_python_torch();
  const auto dir = std::filesystem::temp_directory_path();
  const auto in = dir / (stem + "_cases.json"), out = dir / (stem + "_results.json");
  std::ofstream(in) << cases.dump();
  const std::string command = "'" + python + "' '" + script + "' '" + in.string() + "' '" + out.string() + "'";
  const int status = std::system(command.c_str());
  require(status == 0, command, ": exited with status ", status);
  Json results = read_json_file(out.string());
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  return results;
}

}  // namespace r1::test
