#pragma once
// Top-k / top-p sampling of one token per row of logits (kernels/sampling.cu).
//   logits: (rows, vocab) fp32;  uniforms: (rows) in [0, 1), drawn on the host from
//   r1's counter-based RNG so a sample depends on (seed, step, prompt, sample,
//   position) only;  tokens: (rows) output.
// With z = logits / temperature: keep the top_k largest z (top_k <= 0: all), then
// the smallest set of the largest kept z whose probability (renormalised over the
// kept set) reaches top_p (Holtzman et al. 2020, "The Curious Case of Neural Text
// Degeneration", eq. 2; the order of HF's TopK then TopP warpers), and draw by
// inverse CDF in vocabulary order. Values tied with a threshold are all kept.
// temperature == 0 selects the argmax (lowest index among ties).
// Optional, for sampling straight from a model's device logits (Transformer<cuda>, KvSampler):
//   row_index: (rows) the logits row each output row reads (several rows may read one: the G
//   samples of a prompt draw from its prefill row); null: row r reads row r.
//   row_stride: floats between logits rows, >= vocab (0: vocab); with vocab < row_stride only ids
//   [0, vocab) are candidates (SamplerConfig::decodable_vocab_size).
//   logprobs: (rows) the log-probability of each drawn token under the distribution it was drawn
//   from (after temperature, top-k and top-p, renormalised; 0 for greedy), as draw_token
//   (r1/sampling/draw_token.hpp) reports it on the CPU: the GRPO behaviour log-prob.
#include <cuda_runtime.h>

#include <cstdint>

namespace r1::gpu {

struct SamplingParameters {
  float temperature = 1.0f;
  int top_k = 0;
  float top_p = 1.0f;
};

void sample_tokens(const float* logits, int rows, int vocab, const SamplingParameters& parameters,
                   const float* uniforms, std::int32_t* tokens, cudaStream_t stream,
                   const std::int32_t* row_index = nullptr, int row_stride = 0, float* logprobs = nullptr);

}  // namespace r1::gpu
