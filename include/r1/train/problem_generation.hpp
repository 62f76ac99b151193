#pragma once
// Generation over a list of problems, a batch of prompts at a time: what
// evaluation and rejection sampling share. Each problem's index is its prompt
// key, so its samples do not depend on the batch it falls in.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "r1/concepts.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "r1/train/text_codec.hpp"

namespace r1 {

// Calls consume(first_problem, prompts, completions) for each batch; completion
// p * samples + j is sample j of problem first_problem + p.
template <class ModelT>
  requires Model<ModelT>
void generate_for_problems(
    ModelT& model, std::span<const Problem> problems, const TextCodec& codec, KvSampler& sampler, int samples,
    std::uint64_t seed, int prompts_per_batch,
    const std::function<void(std::size_t, std::span<const std::vector<TokenId>>, const std::vector<Completion>&)>& consume) {
  const auto batch = static_cast<std::size_t>(std::max(1, prompts_per_batch));
  for (std::size_t first = 0; first < problems.size(); first += batch) {
    const std::size_t last = std::min(problems.size(), first + batch);
    std::vector<std::vector<TokenId>> prompts;
    std::vector<std::uint64_t> keys;
    for (std::size_t p = first; p < last; ++p) {
      prompts.push_back(codec.render_prompt(problems[p]));
      keys.push_back(p);
    }
    GenerationRequest request;
    request.prompts = prompts;
    request.prompt_keys = keys;
    request.samples_per_prompt = samples;
    request.seed = seed;
    consume(first, prompts, sampler.generate(model, request));
  }
}

}  // namespace r1
