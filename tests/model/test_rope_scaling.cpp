// HF "rope_scaling" (linear, llama3) for the Llama family: the inverse frequencies against values
// worked out apart from the code, the config.json field (parse, errors, round trip), and the model's
// forward and KV-cache paths against the naive reference with scaling on.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "r1/core/rng.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/config.hpp"
#include "r1/model/rope_frequencies.hpp"

namespace {

using r1::ModelConfig;
using r1::RopeScaling;

constexpr RopeScaling llama3(double factor, double low, double high, std::int64_t original) {
  return {RopeScaling::Kind::llama3, factor, low, high, original};
}

// head_dim 16, theta 1e4 (unscaled inv_freq[i] = 10^(-i/2), wavelength 2π 10^(i/2)), llama3 with factor 8,
// low/high_freq_factor 1/4 (Llama 3.1's) and an original context of 2000: band edges at wavelengths
// 2000 / 4 = 500 and 2000 / 1 = 2000, so i = 0..3 keep their frequency (wavelengths 6.3 .. 199), i = 4, 5
// are interpolated (628, 1987) and i = 6, 7 are divided by 8 (6283, 19869). Expected values by hand, from
// Meta's description of the scaling, s = (original / wavelen - 1) / 3, value = base (s + (1 - s) / 8),
// evaluated in Python doubles and printed with repr:
//   i = 4: base 1e-2,        s = (10/π - 1) / 3     = 0.72769962061263...
//   i = 5: base 10^(-5/2),   s = (√10/π - 1) / 3    = 0.00219474736324...  (just inside the band)
//   i = 6: 1e-3 / 8 = 1.25e-4;  i = 7: 10^(-7/2) / 8.
const std::vector<double> kLlama3Expected = {
    1.0, 0.31622776601683794, 0.1, 0.03162277660168379, 0.007617371680360561, 0.0004013575580079928,
    0.000125, 3.952847075210474e-05};

// Relative error bound: the code's chain (pow, 1/x, 2π/x, original/x, the s and blend arithmetic) is about
// 12 roundings of relative size u = eps/2 on the worst entry (i = 5, where s's tiny value amplifies the error
// in original/wavelen by 0.875 / 0.127 ≈ 7). Double: 12 u for the code plus 12 u for the Python reference.
// Float: twice the 12 u count as margin for that rough count; the double reference's error is negligible.
template <class Scalar>
double llama3_tolerance() {
  return 24 * double(std::numeric_limits<Scalar>::epsilon()) / 2;
}

TEST_CASE_TEMPLATE("llama3 scaling: high frequencies kept, low ones divided by factor, the band between blended",
                   Scalar, float, double) {
  const auto inv_freq = r1::rope_inverse_frequencies<Scalar>(16, 10000.0, llama3(8.0, 1.0, 4.0, 2000));
  REQUIRE(inv_freq.size() == kLlama3Expected.size());
  for (std::size_t i = 0; i < inv_freq.size(); ++i) {
    INFO("i = ", i);
    CHECK(std::abs(double(inv_freq[i]) - kLlama3Expected[i]) <= llama3_tolerance<Scalar>() * kLlama3Expected[i]);
  }
}

TEST_CASE_TEMPLATE("llama3 scaling with Llama 3.1's parameters: the regions fall where the wavelengths say",
                   Scalar, float, double) {
  // head_dim 128, theta 5e5: wavelength 2π 5e5^(i/64) is 1956 at i = 28 (< 8192 / 4), 2402 at i = 29 and
  // 6695 at i = 34 (inside [2048, 8192]), 8219 at i = 35 (> 8192): all at least 0.3% from a band edge,
  // far beyond rounding, so the regions are exact in float too.
  const auto unscaled = r1::rope_inverse_frequencies<Scalar>(128, 500000.0);
  const auto scaled = r1::rope_inverse_frequencies<Scalar>(128, 500000.0, llama3(8.0, 1.0, 4.0, 8192));
  REQUIRE(scaled.size() == 64);
  for (std::size_t i = 0; i < 64; ++i) {
    INFO("i = ", i);
    if (i <= 28) CHECK(scaled[i] == unscaled[i]);
    if (i >= 35) CHECK(scaled[i] == unscaled[i] / Scalar(8));
    if (i >= 29 && i <= 34) {
      CHECK(scaled[i] < unscaled[i]);
      CHECK(scaled[i] > unscaled[i] / Scalar(8));
    }
    if (i > 0) CHECK(scaled[i] < scaled[i - 1]);  // still a strictly falling spectrum
  }
}

TEST_CASE_TEMPLATE("linear scaling divides every frequency by the factor; none is 1 / theta^(2i/E) as HF computes it",
                   Scalar, float, double) {
  // theta 1e4, head_dim 8: 10^(-i), i = 0..3; divided by 4.
  const auto linear = r1::rope_inverse_frequencies<Scalar>(8, 10000.0, {RopeScaling::Kind::linear, 4.0});
  const double expected[] = {0.25, 0.025, 0.0025, 0.00025};
  // pow, 1/x and /4 (exact): 2 roundings of the result and pow's own error (≤ 1 u): 4 u.
  const double u = std::numeric_limits<Scalar>::epsilon() / 2;
  for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(double(linear[i]) - expected[i]) <= 4 * u * expected[i]);
  // Unscaled: the very operations RopeTable used before scaling existed, so unscaled models are bit-identical.
  const auto none = r1::rope_inverse_frequencies<Scalar>(8, 100.0);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(none[i] == Scalar(1) / std::pow(Scalar(100.0), Scalar(2 * static_cast<int>(i)) / Scalar(8)));
}

r1::Json distill_llama_config() {
  // DeepSeek-R1-Distill-Llama-8B's config.json, its shape shrunk to test size.
  return {{"model_type", "llama"},
          {"vocab_size", 100},
          {"hidden_size", 32},
          {"intermediate_size", 64},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"max_position_embeddings", 131072},
          {"rope_theta", 500000.0},
          {"rope_scaling",
           {{"factor", 8.0},
            {"low_freq_factor", 1.0},
            {"high_freq_factor", 4.0},
            {"original_max_position_embeddings", 8192},
            {"rope_type", "llama3"}}}};
}

TEST_CASE("config.json rope_scaling: llama3, linear, legacy 'type', 'default' and null parse; save -> load round-trips") {
  const auto config = ModelConfig::from_json(distill_llama_config(), "config.json");
  CHECK(config.rope_scaling == llama3(8.0, 1.0, 4.0, 8192));
  const auto reloaded = ModelConfig::from_json(r1::parse_json(config.to_json().dump(), "saved"), "saved");
  CHECK(reloaded.rope_scaling == config.rope_scaling);
  CHECK(reloaded.to_json() == config.to_json());
  CHECK(config.to_json()["rope_scaling"]["rope_type"] == "llama3");

  auto json = distill_llama_config();
  json["rope_scaling"] = {{"type", "linear"}, {"factor", 2}};  // legacy key, integer factor
  const auto linear = ModelConfig::from_json(json, "config.json");
  CHECK(linear.rope_scaling == RopeScaling{RopeScaling::Kind::linear, 2.0});
  const auto linear_json = linear.to_json()["rope_scaling"];
  CHECK(linear_json == r1::Json{{"rope_type", "linear"}, {"factor", 2.0}});
  CHECK(ModelConfig::from_json(linear.to_json(), "saved").rope_scaling == linear.rope_scaling);

  for (const r1::Json& none : {r1::Json(nullptr), r1::Json{{"rope_type", "default"}}}) {
    json["rope_scaling"] = none;
    const auto plain = ModelConfig::from_json(json, "config.json");
    CHECK(plain.rope_scaling == RopeScaling{});
    CHECK(plain.to_json()["rope_scaling"].is_null());
  }
  json.erase("rope_scaling");
  CHECK(ModelConfig::from_json(json, "config.json").rope_scaling == RopeScaling{});
}

TEST_CASE("config.json rope_scaling: unsupported types and missing or bad fields raise r1::Error naming the field") {
  const auto expect_bad = [](r1::Json scaling, const std::string& expected) {
    auto json = distill_llama_config();
    json["rope_scaling"] = std::move(scaling);
    CHECK_THROWS_WITH_AS(ModelConfig::from_json(json, "config.json"), doctest::Contains(expected.c_str()), r1::Error);
  };
  expect_bad({{"rope_type", "dynamic"}, {"factor", 2.0}}, "field 'rope_scaling.rope_type' = \"dynamic\"");
  expect_bad({{"rope_type", "yarn"}, {"factor", 4.0}}, "RoPE scaling is not supported for this type");
  expect_bad({{"type", "longrope"}}, "'rope_scaling.rope_type' = \"longrope\"");
  expect_bad({{"factor", 8.0}}, "field 'rope_scaling.rope_type' = missing");
  expect_bad(8.0, "field 'rope_scaling' = 8.0: expected an object or null");
  expect_bad({{"rope_type", "linear"}}, "field 'rope_scaling.factor' = missing");
  expect_bad({{"rope_type", "linear"}, {"factor", "8"}}, "field 'rope_scaling.factor' = \"8\"");
  expect_bad({{"rope_type", "linear"}, {"factor", 0.0}}, "field 'rope_scaling.factor' = 0: expected a finite positive");
  expect_bad({{"rope_type", "linear"}, {"factor", -2.0}}, "field 'rope_scaling.factor' = -2");
  auto scaling = distill_llama_config()["rope_scaling"];
  for (const char* field : {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
    auto missing = scaling;
    missing.erase(field);
    expect_bad(missing, std::string("field 'rope_scaling.") + field + "' = missing");
  }
  auto bad = scaling;
  bad["factor"] = -8.0;
  expect_bad(bad, "field 'rope_scaling.factor' = -8");
  bad = scaling;
  bad["low_freq_factor"] = 0.0;
  expect_bad(bad, "field 'rope_scaling.low_freq_factor' = 0");
  bad = scaling;
  bad["high_freq_factor"] = 1.0;  // the band would be empty and s divide by zero
  expect_bad(bad, "field 'rope_scaling.high_freq_factor' = 1: expected more than low_freq_factor");
  bad = scaling;
  bad["original_max_position_embeddings"] = 8192.5;
  expect_bad(bad, "field 'rope_scaling.original_max_position_embeddings' = 8192.5");
  bad["original_max_position_embeddings"] = -1;
  expect_bad(bad, "field 'rope_scaling.original_max_position_embeddings' = -1");

  // A config built in code is checked the same way before a model is made of it.
  ModelConfig config = r1::test::tiny_llama();
  config.rope_scaling = {RopeScaling::Kind::linear, std::numeric_limits<double>::quiet_NaN()};
  CHECK_THROWS_WITH_AS(r1::BasicTransformer<double>{config}, doctest::Contains("field 'rope_scaling.factor' = nan"),
                       r1::Error);
}

// tiny_llama with head_dim 8 and theta 100: unscaled inv_freq 100^(-i/4) = 1, 0.316, 0.1, 0.0316, wavelengths
// 6.3, 19.9, 62.8, 199. An original context of 100 (band [25, 100]) puts i = 0, 1 high, i = 2 medium, i = 3 low.
ModelConfig scaled_tiny_llama() {
  ModelConfig config = r1::test::tiny_llama();
  config.hidden_size = 32;
  config.rope_scaling = llama3(8.0, 1.0, 4.0, 100);
  return config;
}

TEST_CASE("a llama3-scaled model's forward and KV-cache prefill equal the naive reference with scaling") {
  const ModelConfig config = scaled_tiny_llama();
  r1::BasicTransformer<double> model(config);
  r1::test::fill_for_test(model, 7);
  r1::Philox rng(5);
  std::vector<r1::TokenId> tokens(12);
  for (auto& token : tokens) token = static_cast<r1::TokenId>(rng() % static_cast<std::uint32_t>(config.vocab_size));
  const auto T = tokens.size(), V = static_cast<std::size_t>(config.vocab_size);
  r1::TokenBatch batch;
  batch.push_back(tokens, 1);
  std::vector<double> logprobs(T), entropies(T);
  model.forward_scores(batch, 1.0, logprobs, entropies);

  const auto expected = r1::test::reference_logits(model, tokens);
  // The unscaled model with the same weights: the check below must tell the two apart.
  ModelConfig plain_config = config;
  plain_config.rope_scaling = {};
  r1::BasicTransformer<double> plain(plain_config);
  std::copy(model.flat_parameters().begin(), model.flat_parameters().end(), plain.flat_parameters().begin());
  const auto unscaled = r1::test::reference_logits(plain, tokens);

  // Tolerance as in test_transformer's forward check: both sides in double over reductions of at most
  // max(D, F) = 32 terms through 2 layers, rounding differences near 1e-14 on values of order 1-10.
  double largest_scaling_effect = 0;
  for (std::size_t t = 1; t < T; ++t) {
    const auto row = std::span<const double>(expected).subspan((t - 1) * V, V);
    const auto score = r1::test::reference_score(row, 1.0, tokens[t]);
    CHECK(std::abs(logprobs[t] - score.logprob) <= 1e-10);
    CHECK(std::abs(entropies[t] - score.entropy) <= 1e-10);
    const auto plain_row = std::span<const double>(unscaled).subspan((t - 1) * V, V);
    largest_scaling_effect =
        std::max(largest_scaling_effect, std::abs(r1::test::reference_score(plain_row, 1.0, tokens[t]).logprob - score.logprob));
  }
  CHECK(largest_scaling_effect > 1e-3);  // scaling moves the log-probs far beyond the tolerance

  // The inference path: prefill of the first n tokens gives the logits of position n - 1.
  for (const std::size_t n : {std::size_t{3}, T}) {
    auto cache = model.make_cache(1, static_cast<int>(T));
    r1::TokenBatch prompt;
    prompt.push_back(std::vector<r1::TokenId>(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n)), 1);
    std::vector<double> logits(V);
    model.extend(cache, std::vector<std::int32_t>{0}, prompt, logits);
    for (std::size_t v = 0; v < V; ++v) CHECK(std::abs(logits[v] - expected[(n - 1) * V + v]) <= 1e-10);
  }
}

}  // namespace
