#pragma once
// r1::reward_from_answer_tag: the frame of a verifier that judges the last <answer>...</answer> block of a
// completion (Countdown, SubsetSumAnswer). Without a block the reward is `no_answer_score`, reason
// "no <answer> block"; with one, the block's text, trimmed, is the reward's `extracted` and
// judge(extracted, reward) sets its score and reason.
//
//   return r1::reward_from_answer_tag(completion, 0.0, [&](std::string_view answer, r1::Reward& reward) {
//     reward.score = answer == "4" ? 1.0 : 0.0;
//     reward.reason = reward.score > 0 ? "correct" : "wrong";
//   });
#include <string_view>

#include "r1/reward/answer_extraction.hpp"
#include "r1/reward/reward.hpp"

namespace r1 {

template <class Judge>
Reward reward_from_answer_tag(std::string_view completion, double no_answer_score, Judge&& judge) {
  Reward reward;
  const auto answer = find_answer_tag(completion);
  if (!answer) {
    reward.score = no_answer_score;
    reward.reason = "no <answer> block";
    return reward;
  }
  reward.extracted.assign(extraction_detail::trim(*answer));
  judge(std::string_view(reward.extracted), reward);
  return reward;
}

}  // namespace r1
