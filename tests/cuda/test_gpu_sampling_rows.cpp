// sample_tokens reading a model's logits in place (Transformer<cuda>'s device decoding):
// rows picked by row_index (G samples of a prompt draw from its prefill row), a row
// stride above the candidate vocabulary (ids past decodable_vocab_size never drawn), and
// the drawn token's log-probability, against a double-precision reference.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "gpu_test_support.hpp"
#include "r1/cuda/ops/sampling.hpp"

using r1::test::u32;

TEST_CASE("sample_tokens with row_index, a row stride and log-probs matches the compact call and the reference") {
  const int source_rows = 5, stride = 1003, vocab = 997, rows = 12;
  auto logits = r1::test::random_values<float>(std::size_t(source_rows) * stride, 131, 2.0);
  for (int r = 0; r < source_rows; ++r)
    for (int j = vocab; j < stride; ++j) logits[std::size_t(r) * stride + j] = 50.0;  // masked ids: would win
  std::vector<std::int32_t> row_index(rows);
  for (int r = 0; r < rows; ++r) row_index[r] = (r * 7) % source_rows;
  std::vector<double> uniforms(rows), compact(std::size_t(rows) * vocab);
  for (int r = 0; r < rows; ++r) {
    uniforms[r] = (r + 0.41) / rows;
    for (int j = 0; j < vocab; ++j)
      compact[std::size_t(r) * vocab + j] = logits[std::size_t(row_index[r]) * stride + j];
  }
  r1::gpu::DeviceArena arena(1 << 22);
  auto d_logits = r1::test::upload<float>(arena, logits, "logits");
  auto d_compact = r1::test::upload<float>(arena, compact, "compact logits");
  auto d_rows = r1::test::upload_exact(arena, row_index, "row_index");
  auto d_uniforms = r1::test::upload<float>(arena, uniforms, "uniforms");
  auto d_tokens = arena.allocate<std::int32_t>(rows, "tokens");
  auto d_compact_tokens = arena.allocate<std::int32_t>(rows, "compact tokens");
  auto d_logprobs = arena.allocate<float>(rows, "logprobs");
  for (const r1::gpu::SamplingParameters params :
       {r1::gpu::SamplingParameters{1.0f, 0, 1.0f}, r1::gpu::SamplingParameters{0.8f, 5, 1.0f},
        r1::gpu::SamplingParameters{0.0f, 0, 1.0f}}) {
    INFO("temperature ", params.temperature, " top_k ", params.top_k);
    r1::gpu::sample_tokens(d_logits.data, rows, vocab, params, d_uniforms.data, d_tokens.data, nullptr, d_rows.data,
                           stride, d_logprobs.data);
    r1::gpu::sample_tokens(d_compact.data, rows, vocab, params, d_uniforms.data, d_compact_tokens.data, nullptr);
    const auto tokens = r1::gpu::copy_to_host(d_tokens, nullptr, "tokens");
    const auto logprobs = r1::gpu::copy_to_host(d_logprobs, nullptr, "logprobs");
    // The same values in the same order: the same arithmetic, the same draw.
    CHECK(tokens == r1::gpu::copy_to_host(d_compact_tokens, nullptr, "compact tokens"));
    for (int r = 0; r < rows; ++r) {
      INFO("row ", r);
      REQUIRE(tokens[r] >= 0);
      REQUIRE(tokens[r] < vocab);
      if (params.temperature == 0.0f) {
        CHECK(logprobs[r] == 0.0f);  // one candidate left, as draw_token reports it
        continue;
      }
      const double* row = compact.data() + std::size_t(r) * vocab;
      std::vector<double> sorted(row, row + vocab);
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      const double cut = params.top_k > 0 ? sorted[std::size_t(params.top_k) - 1] : -INFINITY;
      const double m = sorted[0], T = params.temperature;
      double total = 0;
      for (int j = 0; j < vocab; ++j)
        if (row[j] >= cut) total += std::exp((row[j] - m) / T);
      CHECK(row[tokens[r]] >= cut);  // drawn from the kept set
      const double z = (row[tokens[r]] - m) / T, expected = z - std::log(total);
      // The kernel's kept mass: vocab exp terms, each within 4 u (expf) and 2 u |z| (its argument)
      // of the truth, summed in fp32 (vocab u): (vocab + 40) u 4 relative as in test_gpu_gemm_sampling,
      // which log turns into the same absolute error; then 3 u on z and the result.
      const double bound = (vocab + 40) * u32 * 4 + 3 * u32 * (std::abs(z) + std::abs(expected));
      CHECK(std::abs(logprobs[r] - expected) <= bound);
    }
  }
  CHECK_THROWS_AS(r1::gpu::sample_tokens(d_logits.data, rows, vocab, {1.0f, 0, 1.0f}, d_uniforms.data, d_tokens.data,
                                         nullptr, d_rows.data, vocab - 1, nullptr),
                  r1::Error);
}
