#pragma once
// What a sampler is asked for and what it returns.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/token_batch.hpp"

namespace r1 {

enum class FinishReason : std::uint8_t { eos, stop, length };

inline std::string_view to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::eos: return "eos";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
  }
  return "unknown";
}

// G completions for each of several prompts. Random draws are keyed by
// (seed, step, prompt_keys[p], sample, position) so a completion does not depend
// on which other prompts share the batch.
struct GenerationRequest {
  std::span<const std::vector<TokenId>> prompts;
  std::span<const std::uint64_t> prompt_keys;  // stable id per prompt (e.g. dataset index); empty = 0..P-1
  int samples_per_prompt = 1;
  std::uint64_t seed = 0;
  std::uint64_t step = 0;
};

struct Completion {
  std::vector<TokenId> ids;      // generated tokens; a final EOS or stop token id is included
  std::vector<float> logprobs;   // behaviour log-prob of each id under the distribution sampled from
  FinishReason finish_reason = FinishReason::length;
  double generation_ms = 0.0;
  // Filled when the sampler has a detokenizer: the completion's text, without a
  // final EOS/stop token and cut before a matched stop string.
  std::string text;
};

}  // namespace r1
