#pragma once
// What a verifier reads (a Problem) and what it returns (a Reward).
#include <cstdint>
#include <string>
#include <utility>
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

struct RewardComponent {
  std::string name;
  double score = 0.0;
};

// A verifier's verdict. `applicable == false` means the verifier could not judge
// this completion (e.g. the problem has no gold answer); it is then excluded from
// means and group statistics rather than counted as 0.
struct Reward {
  double score = 0.0;
  bool applicable = true;
  std::vector<RewardComponent> components;  // named parts, e.g. {"accuracy", 1}, {"format", 0.5}
  std::string extracted;                    // what was read from the completion, for logs
  std::string reason;                       // why this score, for logs

  static Reward not_applicable(std::string why) {
    Reward reward;
    reward.applicable = false;
    reward.reason = std::move(why);
    return reward;
  }
};

}  // namespace r1
