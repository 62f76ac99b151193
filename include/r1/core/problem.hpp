#pragma once
// A Problem: a prompt and what the verifiers need to judge its completions. The
// vocabulary shared by datasets, tasks, verifiers, the rollout and the trainers.
#include <cstdint>
#include <string>
#include <vector>

#include "r1/core/json.hpp"

namespace r1 {

// One problem with what its verifiers need. Fields a verifier does not use stay empty.
struct Problem {
  std::string prompt;
  std::string answer;                  // gold answer (math, arithmetic), as written in the dataset
  std::vector<std::int64_t> numbers;   // countdown: the numbers to use
  std::int64_t target = 0;             // countdown: the value to reach
  Json tests;                          // code: test cases
  std::string language;                // language consistency: expected language code ("en", "zh")
  Json extra;                          // anything else a custom verifier wants
};

}  // namespace r1
