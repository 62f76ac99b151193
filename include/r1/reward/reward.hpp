#pragma once
// What a verifier returns (a Reward) for a Problem (r1/core/problem.hpp).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/json.hpp"
#include "r1/core/problem.hpp"

namespace r1 {

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
