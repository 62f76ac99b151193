#pragma once
// Shared by the LoRA suites: an error-message check (tests/support/expect_error.hpp) and scratch directories.
#include <string>

#include "../model/model_test_support.hpp"
#include "expect_error.hpp"

namespace r1::test {

// A new, empty directory `name` under r1_test_<suite>_<pid> in the temp folder (model_test_support.hpp's).
inline std::string fresh_lora_dir(const std::string& suite, const std::string& name) {
  return fresh_test_dir(suite, name);
}

}  // namespace r1::test
