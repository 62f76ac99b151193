// Sampling from bf16 weights (issue 26): the decode kernels that read bf16 against double products, and a
// model's prefill/decode logits against the same model with its weight matrices rounded to bf16.
// Widening bf16 to fp32 is exact and the many-rows path runs the fp32 GEMM on the widened values (bitwise the
// rounded model's). The few-rows products (every product of a decode step, and the LM head of a prefill of
// at most 16 sequences) run the build's path (few_rows_bf16_path()):
//  - widening: the fp32 kernel's tiling and arithmetic on the widened weights, but the compiler may contract
//    its scalar tail differently (an FMA or not), so decoding agrees to fp32 rounding: K-term dot products,
//    |error| <= K u sum |x w| (Higham 2002, eq. 3.5) ~ 24 * 6e-8 * 10 ~ 1.5e-5 for these logits; 1e-4 bounds it.
//  - vdpbf16ps: the product's input is rounded to bf16 as well (relative 2^-8), bounded below.
//  - AMX tiles (where the CPU has AMX-BF16 and the kernel grants them): the same rounded operands, each
//    output one running fp32 sum along K; the same bounds.
// vdpbf16ps and the tiles run wherever the CPU has them: a GCC build that does not target them compiles them
// with target attributes and chooses at run time (bf16_instructions.hpp), so the AVX2 twin of this suite runs
// them too on such a CPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/gemm/few_rows_linear.hpp"
#include "r1/model/gemm/few_rows_linear_amx.hpp"
#include "r1/model/gemm/few_rows_linear_bf16.hpp"
#include "r1/model/transformer.hpp"

namespace {

using Model = r1::Transformer<r1::cpu>;

// The matrices a bf16-sampling model reads in bf16: every projection and the LM head (not the embedding's
// input rows, the norms or the biases).
bool sampled_in_bf16(const std::string& name) {
  return name.ends_with("proj.weight") || name == "lm_head.weight";
}

Model rounded_copy(Model& model) {
  Model rounded = model;
  rounded.set_sampling_storage(r1::WeightStorage::full);  // the copy keeps the original's storage otherwise
  for (const auto& view : rounded.parameters())
    if (sampled_in_bf16(view.name))
      for (auto& value : view.value) value = r1::bf16_to_float(r1::float_to_bf16(value));
  return rounded;
}

struct Logits {
  std::vector<float> prefill, decode;
};

Logits run(Model& model, const r1::TokenBatch& prompts, std::vector<r1::TokenId> next) {
  const auto S = prompts.size(), V = static_cast<std::size_t>(model.vocab_size());
  std::vector<std::int32_t> slots;
  for (std::size_t s = 0; s < S; ++s) slots.push_back(static_cast<std::int32_t>(s));
  auto cache = model.make_cache(static_cast<int>(S), 64);
  Logits out{std::vector<float>(S * V), std::vector<float>(S * V)};
  model.prefill(cache, slots, prompts, out.prefill);
  model.decode(cache, slots, next, out.decode);
  return out;
}

void close(const std::vector<float>& a, const std::vector<float>& b, double tolerance = 1e-4) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) <= tolerance);
}

double largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double largest = 0;
  for (std::size_t i = 0; i < a.size(); ++i) largest = std::max<double>(largest, std::abs(a[i] - b[i]));
  return largest;
}

// With vdpbf16ps, how far rounding the LM head's input to bf16 can move a logit. The input h is the final
// RMSNorm's output g * x / sqrt(mean(x^2) + eps) (Zhang & Sennrich 2019, eq. 4), so ||h||_2 <= max|g| sqrt(D);
// rounding h moves logit v by at most 2^-8 sum_k |h_k w_vk| <= 2^-8 ||h||_2 ||w_v||_2 (Cauchy-Schwarz), and
// fp32 accumulation in another order adds (D + 2) 2^-24 of the same sum (Higham 2002, eq. 3.5).
double head_rounding_bound(Model& model, const r1::ModelConfig& config) {
  const auto D = static_cast<std::size_t>(config.hidden_size);
  const std::string head = config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  double norm_gain = 0, row_norm = 0;
  for (const auto& view : model.parameters()) {
    if (view.name == "model.norm.weight")
      for (const float g : view.value) norm_gain = std::max<double>(norm_gain, std::abs(g));
    if (view.name == head)
      for (std::size_t row = 0; row * D < view.value.size(); ++row) {
        double squares = 0;
        for (std::size_t k = 0; k < D; ++k) squares += double(view.value[row * D + k]) * view.value[row * D + k];
        row_norm = std::max(row_norm, std::sqrt(squares));
      }
  }
  REQUIRE(norm_gain > 0);
  REQUIRE(row_norm > 0);
  return (0x1p-8 + (double(D) + 2) * 0x1p-24) * norm_gain * std::sqrt(double(D)) * row_norm;
}

// With vdpbf16ps a decode step rounds the input of each of its 4 L + 1 products (q/k/v, o, gate/up, down per
// layer, the head); to first order each perturbs its output by at most 2^-8 of its sum |x w|, and the
// residual stream is renormalised (RMSNorm) before every product, so the logits move by at most about
// (4 L + 1) times the head's share. This is a first-order scale, not a proof through attention and SwiGLU.
double decode_rounding_scale(Model& model, const r1::ModelConfig& config) {
  return double(4 * config.num_hidden_layers + 1) * head_rounding_bound(model, config);
}

// The rounded model's logits against the bf16-sampling model's. A prefill of more than 16 tokens runs its
// layers in the many-rows path (bitwise the rounded model's) and only its head (one row per sequence) in the
// few-rows kernel; a shorter one, like a decode step, runs every product in the few-rows kernel.
enum class Prefill { long_prompts, short_prompts };

void check_against_rounded(const Logits& got, const Logits& expected, Model& model, const r1::ModelConfig& config,
                           Prefill prefill) {
  if (r1::few_rows_bf16_dot()) {
    const double scale = decode_rounding_scale(model, config);
    close(got.prefill, expected.prefill, prefill == Prefill::long_prompts ? head_rounding_bound(model, config) : scale);
    close(got.decode, expected.decode, scale);
    // The activations' rounding shows: far above fp32 rounding.
    CHECK(largest_difference(got.decode, expected.decode) > 1e-4);
  } else {
    // The head's K = D = 16 leaves the widening kernel no scalar tail: its logits are the fp32 kernel's.
    if (prefill == Prefill::long_prompts && config.hidden_size % 16 == 0)
      CHECK(got.prefill == expected.prefill);
    close(got.prefill, expected.prefill);
    close(got.decode, expected.decode);
  }
}

}  // namespace

// The conversion path runs the fp32 kernel's code (one tiling, few_rows_linear.hpp) with the weights widened
// exactly in registers, so it equals few_rows_linear on the widened weights bit for bit wherever K is a
// multiple of the packet (16 covers AVX2's 8 and AVX-512's 16 lanes); in the scalar remainder the compiler may
// contract x w + sum into an FMA in one kernel and not the other. Against a double
// reference each output is a K-term fp32 dot product plus y: |error| <= gamma_{K+1} (|y| + sum |x_k w_k|)
// (Higham 2002, eq. 3.5), gamma_n ~ n u with u = 2^-24; (K + 2) u bounds it.
TEST_CASE("few_rows_linear_bf16_widened: the fp32 kernel on the widened weights, bitwise, for every tile remainder") {
  r1::Philox rng(3);
  for (const Eigen::Index M : {1, 2, 3, 4, 5, 8, 13, 16})
    for (const Eigen::Index K : {1, 7, 16, 37, 64, 100, 896})
      for (const Eigen::Index J : {1, 2, 3, 7}) {
        std::vector<float> x(static_cast<std::size_t>(M * K)), y(static_cast<std::size_t>(M * J), 0.5f);
        std::vector<std::uint16_t> w(static_cast<std::size_t>(J * K));
        for (auto& v : x) v = static_cast<float>(rng.normal());
        for (auto& v : w) v = r1::float_to_bf16(static_cast<float>(rng.normal()));
        r1::few_rows_linear_bf16_widened(x.data(), M, K, w.data(), J, y.data(), J, true);
        std::vector<float> widened(w.size()), fp32(static_cast<std::size_t>(M * J), 0.5f);
        for (std::size_t i = 0; i < w.size(); ++i) widened[i] = r1::bf16_to_float(w[i]);
        r1::few_rows_linear(x.data(), M, K, widened.data(), J, fp32.data(), J, true);
        if (K % 16 == 0) CHECK(y == fp32);
        for (Eigen::Index m = 0; m < M; ++m)
          for (Eigen::Index j = 0; j < J; ++j) {
            double exact = 0.5, magnitude = 0.5;
            for (Eigen::Index k = 0; k < K; ++k) {
              const double term = double(x[static_cast<std::size_t>(m * K + k)]) * widened[static_cast<std::size_t>(j * K + k)];
              exact += term;
              magnitude += std::abs(term);
            }
            const float got = y[static_cast<std::size_t>(m * J + j)];
            CHECK(std::abs(got - exact) <= (K + 2) * 0x1p-24 * magnitude);
            CHECK(std::abs(got - fp32[static_cast<std::size_t>(m * J + j)]) <= (K + 2) * 0x1p-24 * magnitude);
          }
      }
}

// A weight larger than kFewRowsStreamingBytes goes through the streaming tiles (8 rows of x, prefetching); the same
// rows of W taken 16 at a time (in cache, 4-row tiles) must give the same bits: the tiling does not change any
// output's arithmetic, for either bf16 loader.
TEST_CASE("few_rows_linear_bf16: the streaming tiles of a large weight equal the in-cache tiles bitwise") {
  r1::Philox rng(21);
  const Eigen::Index K = 1000, J = 601;  // 1.2 MB of bf16
  REQUIRE(static_cast<std::size_t>(J * K) * 2 > r1::detail::kFewRowsStreamingBytes);
  std::vector<std::uint16_t> w(static_cast<std::size_t>(J * K));
  for (auto& v : w) v = r1::float_to_bf16(static_cast<float>(rng.normal()));
  for (const Eigen::Index M : {1, 8, 11}) {
    std::vector<float> x(static_cast<std::size_t>(M * K));
    for (auto& v : x) v = static_cast<float>(rng.normal());
    const auto both_ways = [&](auto product) {
      std::vector<float> whole(static_cast<std::size_t>(M * J)), blocks(whole.size());
      product(x.data(), M, K, w.data(), J, whole.data(), J, false);
      for (Eigen::Index j = 0; j < J; j += 16)
        product(x.data(), M, K, w.data() + j * K, std::min<Eigen::Index>(16, J - j), blocks.data() + j, J, false);
      CHECK(whole == blocks);
    };
    both_ways(r1::few_rows_linear_bf16_widened);
    both_ways(r1::few_rows_linear_bf16);
  }
}

// The choice: vdpbf16ps exactly where the build targets AVX-512 BF16, or, in a GCC build for x86-64, where the
// CPU has it (asked here of the CPU directly); the widening loader elsewhere; the path's name says which.
TEST_CASE("few_rows_linear_bf16 runs the path few_rows_bf16_path() names") {
  const std::string path = r1::few_rows_bf16_path();
  CHECK(r1::few_rows_bf16_dot() == (path.find("vdpbf16ps") != std::string::npos));
#if defined(R1_FEW_ROWS_BF16_WIDEN)
  CHECK_FALSE(r1::few_rows_bf16_dot());
#elif defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
  CHECK(r1::few_rows_bf16_dot());
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  __builtin_cpu_init();
  CHECK(r1::few_rows_bf16_dot() == (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")));
#else
  CHECK_FALSE(r1::few_rows_bf16_dot());
#endif
  MESSAGE("few_rows_linear_bf16 here: " << path);
  r1::Philox rng(8);
  const Eigen::Index M = 5, K = 75, J = 4;
  std::vector<float> x(static_cast<std::size_t>(M * K)), y(static_cast<std::size_t>(M * J)), widened(y.size());
  std::vector<std::uint16_t> w(static_cast<std::size_t>(J * K));
  for (auto& v : x) v = static_cast<float>(rng.normal());
  for (auto& v : w) v = r1::float_to_bf16(static_cast<float>(rng.normal()));
  r1::few_rows_linear_bf16(x.data(), M, K, w.data(), J, y.data(), J, false);
  r1::few_rows_linear_bf16_widened(x.data(), M, K, w.data(), J, widened.data(), J, false);
  // Rounding 75 random activations to bf16 moves some of 20 dot products (a chance of 2^-16 per activation of
  // being exact in bf16 already).
  CHECK((y != widened) == r1::few_rows_bf16_dot());
}

#if R1_BF16_DOT_COMPILED
// vdpbf16ps against double references. x (fp32) is rounded to bf16 by the kernel (nearest even, relative error
// <= u_bf16 = 2^-8: 8 significant bits) and the weights are the bf16 rounding of fp32 values w (same bound);
// products of two bf16 are exact in fp32, so the only other error is fp32 accumulation of K products plus y:
// gamma_{K+1} (|y| + sum |x^ w^|) (Higham 2002, eq. 3.5), gamma_n ~ n 2^-24, bounded by (K + 2) 2^-24.
//  - against sum x^ w^ in double (the operands as rounded): fp32 accumulation only;
//  - against sum x w in double (the fp32 operands before rounding): |x^ w^ - x w| <= ((1 + 2^-8)^2 - 1) |x w|
//    per term, plus the accumulation bound on |x^ w^| <= (1 + 2^-8)^2 |x w|.
// Normal(0, 1) data: no subnormals, so vdpbf16ps's flushing to zero does not enter.
// Checks `product` (x rounded to bf16 inside, bf16 W, fp32 sums) against both double references over every
// (M, K, J) given; returns the largest error relative to sum |x w|.
template <class Product>
double check_bf16_products(Product product, std::initializer_list<Eigen::Index> Ms, std::initializer_list<Eigen::Index> Ks,
                           std::initializer_list<Eigen::Index> Js, std::uint64_t seed) {
  r1::Philox rng(seed);
  const double u = 0x1p-8, rounding = (1 + u) * (1 + u) - 1;
  double largest_relative_to_fp32 = 0;
  for (const Eigen::Index M : Ms)
    for (const Eigen::Index K : Ks)
      for (const Eigen::Index J : Js) {
        for (const bool accumulate : {false, true}) {
          std::vector<float> x(static_cast<std::size_t>(M * K)), w_fp32(static_cast<std::size_t>(J * K));
          std::vector<float> y(static_cast<std::size_t>(M * J), 0.5f);
          std::vector<std::uint16_t> w(w_fp32.size());
          for (auto& v : x) v = static_cast<float>(rng.normal());
          for (auto& v : w_fp32) v = static_cast<float>(rng.normal());
          for (std::size_t i = 0; i < w.size(); ++i) w[i] = r1::float_to_bf16(w_fp32[i]);
          product(x.data(), M, K, w.data(), J, y.data(), J, accumulate);
          const double y0 = accumulate ? 0.5 : 0.0;
          for (Eigen::Index m = 0; m < M; ++m)
            for (Eigen::Index j = 0; j < J; ++j) {
              double rounded = y0, rounded_magnitude = y0, exact = y0, exact_magnitude = y0;
              for (Eigen::Index k = 0; k < K; ++k) {
                const float xk = x[static_cast<std::size_t>(m * K + k)];
                const auto i = static_cast<std::size_t>(j * K + k);
                const double term = double(r1::bf16_to_float(r1::float_to_bf16(xk))) * r1::bf16_to_float(w[i]);
                rounded += term;
                rounded_magnitude += std::abs(term);
                exact += double(xk) * w_fp32[i];
                exact_magnitude += std::abs(double(xk) * w_fp32[i]);
              }
              const double got = y[static_cast<std::size_t>(m * J + j)];
              const double gamma = (K + 2) * 0x1p-24;
              CHECK(std::abs(got - rounded) <= gamma * rounded_magnitude);
              CHECK(std::abs(got - exact) <= (rounding + gamma * (1 + rounding)) * exact_magnitude);
              largest_relative_to_fp32 = std::max(largest_relative_to_fp32, std::abs(got - exact) / exact_magnitude);
            }
        }
      }
  return largest_relative_to_fp32;
}

TEST_CASE("few_rows_linear_bf16_dot against double products of the rounded and of the unrounded operands") {
  if (!r1::cpu_runs_avx512_bf16()) {
    MESSAGE("skipped: this CPU has no AVX-512 BF16");
    return;
  }
  const double largest_relative_to_fp32 =
      check_bf16_products(r1::few_rows_linear_bf16_dot, {1, 2, 3, 4, 5, 8, 13, 16}, {1, 7, 16, 31, 32, 33, 64, 100, 896},
                          {1, 2, 3, 7}, 11);
  // The bf16 rounding is visible: far above fp32 accumulation (~1e-5 at K = 896) somewhere.
  CHECK(largest_relative_to_fp32 > 1e-3);
}
#endif

#if R1_FEW_ROWS_HAS_AMX
// The AMX tiles (few_rows_linear_amx.hpp) take the same rounded operands and sum each output along K in fp32, so
// the bounds above hold for them too (gamma_{K+1}: K products in one running sum, plus y). W of 1 to 70 rows:
// blocks of 32, the second 16-row tile half used or not, the zero-padded last block.
TEST_CASE("few_rows_linear_bf16_amx against double products of the rounded and of the unrounded operands") {
  if (!r1::amx_tiles_permitted()) {
    MESSAGE("skipped: this CPU has no AMX-BF16 or the kernel does not grant the tiles");
    return;
  }
  const double largest_relative_to_fp32 = check_bf16_products(
      r1::few_rows_linear_bf16_amx, {1, 2, 3, 8, 13, 16}, {32, 64, 96, 896}, {1, 2, 15, 16, 17, 31, 32, 33, 70}, 12);
  CHECK(largest_relative_to_fp32 > 1e-3);
}

// Each output's sum runs along K on its own: the rows of x and of W that share its tiles do not change its bits.
// One row of x at a time against all eight, and W in blocks of 7 rows against all of it, give the same bits.
TEST_CASE("few_rows_linear_bf16_amx: an output's bits do not depend on the other rows of x or of W") {
  if (!r1::amx_tiles_permitted()) {
    MESSAGE("skipped: this CPU has no AMX-BF16 or the kernel does not grant the tiles");
    return;
  }
  r1::Philox rng(13);
  const Eigen::Index M = 8, K = 160, J = 75;
  std::vector<float> x(static_cast<std::size_t>(M * K));
  std::vector<std::uint16_t> w(static_cast<std::size_t>(J * K));
  for (auto& v : x) v = static_cast<float>(rng.normal());
  for (auto& v : w) v = r1::float_to_bf16(static_cast<float>(rng.normal()));
  std::vector<float> all(static_cast<std::size_t>(M * J)), by_row(all.size()), by_block(all.size());
  r1::few_rows_linear_bf16_amx(x.data(), M, K, w.data(), J, all.data(), J, false);
  for (Eigen::Index m = 0; m < M; ++m)
    r1::few_rows_linear_bf16_amx(x.data() + m * K, 1, K, w.data(), J, by_row.data() + m * J, J, false);
  for (Eigen::Index j = 0; j < J; j += 7)
    r1::few_rows_linear_bf16_amx(x.data(), M, K, w.data() + j * K, std::min<Eigen::Index>(7, J - j), by_block.data() + j,
                                 J, false);
  CHECK(all == by_row);
  CHECK(all == by_block);
  // few_rows_linear_bf16 takes the tiles for this shape (K a multiple of 32, 4 <= M <= 16) unless the build opts out.
  CHECK(r1::few_rows_bf16_uses_amx(M, K) == r1::kFewRowsBf16MayUseAmx);
  CHECK(r1::few_rows_bf16_uses_amx(r1::kAmxMinRows, K) == r1::kFewRowsBf16MayUseAmx);
  CHECK_FALSE(r1::few_rows_bf16_uses_amx(M, K + 1));
  CHECK_FALSE(r1::few_rows_bf16_uses_amx(17, K));
  CHECK_FALSE(r1::few_rows_bf16_uses_amx(r1::kAmxMinRows - 1, K));
  std::vector<float> dispatched(all.size());
  r1::few_rows_linear_bf16(x.data(), M, K, w.data(), J, dispatched.data(), J, false);
  if (r1::kFewRowsBf16MayUseAmx) CHECK(dispatched == all);
}
#else
TEST_CASE("few_rows_linear_bf16_amx") {
  MESSAGE("skipped: the AMX kernel is not compiled in this build (few_rows_linear_amx.hpp)");
}
#endif
#if !R1_BF16_DOT_COMPILED
TEST_CASE("few_rows_linear_bf16_dot") {
  MESSAGE("skipped: the vdpbf16ps kernel is not compiled in this build (bf16_instructions.hpp)");
}
#endif

TEST_CASE("bf16 sampling: prefill (many rows) and decode (few rows) logits those of the rounded model") {
  const auto config = r1::test::tiny_llama();  // an untied head, read in bf16
  Model model(config);
  model.init_random(4, 0.3f);
  Model rounded = rounded_copy(model);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  CHECK(model.sampling_storage() == r1::WeightStorage::bf16);
  r1::TokenBatch prompts;  // 20 + 3 prompt tokens: the prefill takes the many-rows path
  std::vector<r1::TokenId> long_prompt;
  for (int t = 0; t < 20; ++t) long_prompt.push_back(static_cast<r1::TokenId>((t * 7) % config.vocab_size));
  prompts.push_back(long_prompt, 1);
  prompts.push_back(std::vector<r1::TokenId>{1, 2, 3}, 1);
  const Logits expected = run(rounded, prompts, {4, 5});
  const Logits got = run(model, prompts, {4, 5});
  check_against_rounded(got, expected, model, config, Prefill::long_prompts);
  // Sampling from bf16 changes the logits: the fp32 model's differ.
  model.set_sampling_storage(r1::WeightStorage::full);
  const Logits exact = run(model, prompts, {4, 5});
  double largest = 0;
  for (std::size_t i = 0; i < exact.decode.size(); ++i) largest = std::max<double>(largest, std::abs(exact.decode[i] - got.decode[i]));
  CHECK(largest > 1e-3);  // rounding ~0.4% of each weight moves logits by far more than fp32 rounding
}

TEST_CASE("bf16 sampling: weights changed through parameters() are seen by the next prefill") {
  const auto config = r1::test::tiny_llama();
  Model model(config);
  model.init_random(5, 0.3f);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  r1::TokenBatch prompts;
  prompts.push_back(std::vector<r1::TokenId>{3, 1, 4}, 1);
  const Logits before = run(model, prompts, {1});
  for (const auto& view : model.parameters())  // an optimiser step
    for (auto& value : view.value) value *= 1.5f;
  Model rounded = rounded_copy(model);
  const Logits after = run(model, prompts, {1});
  CHECK(after.decode != before.decode);
  check_against_rounded(after, run(rounded, prompts, {1}), model, config, Prefill::short_prompts);
}

// A head of 20,000 rows: the few-rows kernel runs over all of them at once (the many-rows path would take it
// in two 16,384-row blocks): D = 16 terms per logit, ~D ulps of values of order 10, so 1e-4 absolute.
TEST_CASE("bf16 sampling over a vocabulary of two head blocks: the rounded model's logits") {
  auto config = r1::test::tiny_llama();
  config.vocab_size = 20000;
  Model model(config);
  model.init_random(6, 0.3f);
  Model rounded = rounded_copy(model);
  model.set_sampling_storage(r1::WeightStorage::bf16);
  r1::TokenBatch prompts;
  std::vector<r1::TokenId> prompt;
  for (int t = 0; t < 20; ++t) prompt.push_back(static_cast<r1::TokenId>(t * 997 % 20000));
  prompts.push_back(prompt, 1);
  const Logits expected = run(rounded, prompts, {7});
  const Logits got = run(model, prompts, {7});
  check_against_rounded(got, expected, model, config, Prefill::long_prompts);
}
