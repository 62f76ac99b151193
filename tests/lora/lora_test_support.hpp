#pragma once
// Shared by the LoRA suites: an error-message check and scratch directories.
#include <doctest/doctest.h>
#include <string>

#include "../model/model_test_support.hpp"
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

// A new, empty directory `name` under r1_test_<suite>_<pid> in the temp folder (model_test_support.hpp's).
inline std::string fresh_lora_dir(const std::string& suite, const std::string& name) {
  return fresh_test_dir(suite, name);
}

}  // namespace r1::test
