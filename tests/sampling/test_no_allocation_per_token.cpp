// The decode loop allocates nothing per token: a generate call makes the same
// number of heap allocations for 8 and for 64 new tokens (buffers are sized
// once per call). Counts every operator new in this executable (counting_new.hpp).
#include <doctest/doctest.h>

#include <vector>

#include "counting_new.hpp"
#include "r1/core/aligned_vector.hpp"
#include "r1/sampling/kv_sampler.hpp"
#include "table_model.hpp"

namespace {

long allocations_for(int max_new_tokens, float temperature, int top_k, float top_p, float repetition_penalty) {
  r1::test::TableModel model(64);
  model.decode_rows.reserve(1000);  // the test model's own call log must not count
  const std::vector<std::vector<r1::TokenId>> prompts{{1, 2, 3}, {4, 5}, {6}};
  r1::SamplerConfig config;
  config.max_new_tokens = max_new_tokens;
  config.temperature = temperature;
  config.top_k = top_k;
  config.top_p = top_p;
  config.repetition_penalty = repetition_penalty;
  r1::KvSampler sampler{config};
  r1::GenerationRequest request;
  request.prompts = prompts;
  request.samples_per_prompt = 4;
  request.seed = 17;
  const long before = r1::test::allocation_count();
  const auto completions = sampler.generate(model, request);
  const long during = r1::test::allocation_count() - before;
  for (const auto& completion : completions) REQUIRE(completion.ids.size() == static_cast<std::size_t>(max_new_tokens));
  return during;
}

}  // namespace

TEST_CASE("allocations per generate call do not grow with the number of new tokens") {
  REQUIRE((r1::test::huge_pages_off() && !r1::detail::huge_pages_enabled()));  // every buffer goes through the counted new
  for (const auto& [temperature, top_k, top_p, penalty] :
       std::vector<std::tuple<float, int, float, float>>{{1.0f, 0, 1.0f, 1.0f}, {0.7f, 10, 0.9f, 1.3f}, {0.0f, 0, 1.0f, 1.2f}}) {
    CAPTURE(temperature);
    const long short_run = allocations_for(8, temperature, top_k, top_p, penalty);
    const long long_run = allocations_for(64, temperature, top_k, top_p, penalty);
    CHECK(short_run > 0);  // the counter works
    CHECK(long_run == short_run);
  }
}
