#pragma once
// Shared pieces of r1's libFuzzer harnesses (tests/fuzz/README.md).
//
// A harness feeds one input to a parser. r1::Error is the parser's expected
// answer to bad input and is swallowed; anything else (another exception, a
// crash, a sanitizer report, a timeout, memory beyond -rss_limit_mb) escapes and
// libFuzzer reports it as a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "r1/core/error.hpp"

namespace r1::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `body`; r1::Error is an accepted outcome, anything else propagates.
template <class Body>
void run_expecting_errors(Body&& body) {
  try {
    body();
  } catch (const r1::Error&) {
  }
}

// A property the parser promises did not hold: a finding.
[[noreturn]] inline void property_failed(const char* what) {
  std::fprintf(stderr, "r1 fuzz: property failed: %s\n", what);
  std::abort();
}

// A scratch file holding `bytes`, for readers that take a path; one per name and
// process (libFuzzer runs inputs one at a time), removed at exit.
inline std::string write_scratch_file(const char* name, std::string_view bytes) {
  static const std::filesystem::path dir = [] {
    auto path = std::filesystem::temp_directory_path() / ("r1_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    static const struct Cleanup {
      std::filesystem::path path;
      ~Cleanup() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
      }
    } cleanup{path};
    return path;
  }();
  const std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) property_failed("cannot write the scratch file");
  return path;
}

}  // namespace r1::fuzz
