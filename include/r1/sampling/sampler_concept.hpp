#pragma once
// The Sampler concept (one of the five policies of a recipe, r1/concepts.hpp).
#include <concepts>
#include <vector>

#include "r1/model/model_concept.hpp"
#include "r1/sampling/completion.hpp"

namespace r1 {

// Turns prompts into G completions each, with a Model. Completions come back
// prompt-major: completion p * G + j is sample j of prompt p.
template <class S, class M>
concept Sampler = Model<M> && requires(S& sampler, M& model, const GenerationRequest& request) {
  { sampler.generate(model, request) } -> std::same_as<std::vector<Completion>>;
};

}  // namespace r1
