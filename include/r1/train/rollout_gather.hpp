#pragma once
// A rollout split over ranks, put back together: each rank generates and verifies
// its contiguous share of the step's prompts (whole groups, r1/dist/shard.hpp),
// then every rank receives every share in rank order, which is the order of the
// prompts. Everything after the rollout (advantages, metrics, the policy batch)
// then sees the same data on every rank as in one process.
//
// The shares travel as CBOR (nlohmann): exact for the floats and doubles inside.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/dist/communicator.hpp"
#include "r1/dist/shard.hpp"
#include "r1/train/rollout.hpp"

namespace r1 {

namespace detail {
inline Json rollout_to_json(const Rollout& rollout) {
  Json completions = Json::array(), rewards = Json::array();
  for (const Completion& c : rollout.completions)
    completions.push_back(Json{{"ids", c.ids},
                               {"logprobs", c.logprobs},
                               {"finish", static_cast<int>(c.finish_reason)},
                               {"ms", c.generation_ms},
                               {"text", c.text}});
  for (const Reward& r : rollout.rewards) {
    Json components = Json::array();
    for (const auto& component : r.components) components.push_back(Json{component.name, component.score});
    rewards.push_back(Json{{"score", r.score},
                           {"applicable", r.applicable},
                           {"components", std::move(components)},
                           {"extracted", r.extracted},
                           {"reason", r.reason}});
  }
  return Json{{"problem_indices", rollout.problem_indices},
              {"prompts", rollout.prompts},
              {"completions", std::move(completions)},
              {"texts", rollout.texts},
              {"rewards", std::move(rewards)},
              {"non_finite_rewards", rollout.non_finite_rewards},
              {"undecodable_completions", rollout.undecodable_completions},
              {"generation_seconds", rollout.generation_seconds},
              {"verification_seconds", rollout.verification_seconds}};
}

// Appends a share (from another rank of this job, so trusted as to its shape) to `into`.
inline void append_rollout(Rollout& into, const Json& share) {
  for (const auto& index : share.at("problem_indices")) into.problem_indices.push_back(index.get<std::size_t>());
  for (const auto& prompt : share.at("prompts")) into.prompts.push_back(prompt.get<std::vector<TokenId>>());
  for (const auto& c : share.at("completions")) {
    Completion completion;
    completion.ids = c.at("ids").get<std::vector<TokenId>>();
    completion.logprobs = c.at("logprobs").get<std::vector<float>>();
    completion.finish_reason = static_cast<FinishReason>(c.at("finish").get<int>());
    completion.generation_ms = c.at("ms").get<double>();
    completion.text = c.at("text").get<std::string>();
    into.completions.push_back(std::move(completion));
  }
  for (const auto& text : share.at("texts")) into.texts.push_back(text.get<std::string>());
  for (const auto& r : share.at("rewards")) {
    Reward reward;
    reward.score = r.at("score").get<double>();
    reward.applicable = r.at("applicable").get<bool>();
    for (const auto& component : r.at("components"))
      reward.components.push_back({component.at(0).get<std::string>(), component.at(1).get<double>()});
    reward.extracted = r.at("extracted").get<std::string>();
    reward.reason = r.at("reason").get<std::string>();
    into.rewards.push_back(std::move(reward));
  }
  into.non_finite_rewards += share.at("non_finite_rewards").get<int>();
  into.undecodable_completions += share.at("undecodable_completions").get<int>();
  // The step waits for the slowest rank.
  into.generation_seconds = std::max(into.generation_seconds, share.at("generation_seconds").get<double>());
  into.verification_seconds = std::max(into.verification_seconds, share.at("verification_seconds").get<double>());
}
}  // namespace detail

// The indices of this rank's share of `indices`, by whole prompts (each prompt is one group of G samples).
template <Communicator Comm>
std::vector<std::size_t> rank_share(const Comm& comm, const std::vector<std::size_t>& indices) {
  const ShardRange share = shard_of(static_cast<std::int64_t>(indices.size()), comm.rank(), comm.size());
  return {indices.begin() + share.begin, indices.begin() + share.end};
}

// Every rank's share of a rollout, concatenated in rank order, on every rank.
template <Communicator Comm>
Rollout gather_rollout(Comm& comm, Rollout local) {
  if (comm.size() == 1) return local;
  const std::vector<std::uint8_t> bytes = Json::to_cbor(detail::rollout_to_json(local));
  const auto shares = comm.all_gather_bytes(std::string(bytes.begin(), bytes.end()));
  Rollout all;
  all.samples_per_prompt = local.samples_per_prompt;
  for (const std::string& share : shares) {
    try {
      detail::append_rollout(all, Json::from_cbor(share));
    } catch (const Json::exception& error) {
      fail("gather_rollout: a rank's share does not decode: ", error.what());
    }
  }
  return all;
}

// Floats of every rank, concatenated in rank order, on every rank.
template <Communicator Comm>
std::vector<float> gather_floats(Comm& comm, const std::vector<float>& local) {
  if (comm.size() == 1) return local;
  const auto shares = comm.all_gather_bytes(
      std::string_view(reinterpret_cast<const char*>(local.data()), local.size() * sizeof(float)));
  std::vector<float> all;
  for (const std::string& share : shares) {
    require(share.size() % sizeof(float) == 0, "gather_floats: a share of ", share.size(), " bytes is not floats");
    const std::size_t old = all.size();
    all.resize(old + share.size() / sizeof(float));
    std::copy(share.begin(), share.end(), reinterpret_cast<char*>(all.data() + old));
  }
  return all;
}

}  // namespace r1
