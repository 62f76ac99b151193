#pragma once
// Shared by the LoRA suites: an error-message check and scratch directories.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "r1/core/error.hpp"

namespace r1::test {

// `fn` throws r1::Error whose message contains `expected`.
template <class Fn>
void expect_error(Fn&& fn, const std::string& expected) {
  INFO("expected message part '", expected, "'");
  try {
    fn();
    FAIL("no error");
  } catch (const r1::Error& e) {
    INFO("message: ", e.what());
    CHECK(std::string(e.what()).find(expected) != std::string::npos);
  }
}

// A new, empty directory `name` under r1_test_<suite>_<pid> in the temp folder; that root goes when the
// process exits.
inline std::string fresh_lora_dir(const std::string& suite, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("r1_test_" + suite + "_" + std::to_string(::getpid()));
  static const struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{root};
  const fs::path dir = root / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

}  // namespace r1::test
