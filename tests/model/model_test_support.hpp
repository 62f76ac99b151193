#pragma once
// Shared by the model suites: small configurations, weights drawn for tests, and a
// naive double-precision reference of the Llama / Qwen2 forward written from the
// HF modelling code's equations, independent of r1's ops and buffer layout; and
// scratch directories for the checkpoint suites.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/rng.hpp"
#include "r1/core/token_batch.hpp"
#include "r1/model/basic_transformer.hpp"
#include "r1/model/config.hpp"

namespace r1::test {

// A new, empty directory `name` under r1_test_<suite>_<pid> in the temp folder; that root goes when the
// process exits (one suite per test binary: the first call's root is the one removed).
inline std::string fresh_test_dir(const std::string& suite, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("r1_test_" + suite + "_" + std::to_string(::getpid()));
  static const struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{root};
  const fs::path dir = root / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// A small Llama with GQA (4 query heads on 2 key/value heads), untied head, no bias.
inline ModelConfig tiny_llama() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 11;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.rope_theta = 100.0;  // a small theta makes every frequency turn visibly within a few positions
  c.rms_norm_eps = 1e-5;
  return c;
}

// A small Qwen2: q/k/v biases, tied embeddings, multi-head (no grouping).
inline ModelConfig tiny_qwen2() {
  ModelConfig c = tiny_llama();
  c.model_type = "qwen2";
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  c.num_key_value_heads = 4;
  c.vocab_size = 13;
  return c;
}

// tiny_llama / tiny_qwen2 with an explicit HF "head_dim" that is not hidden_size / num_attention_heads
// (24 / 4 = 6): 8 makes the heads wider than the hidden state (q_proj (32, 24), o_proj (24, 32)), 4 narrower
// (q_proj (16, 24)), so no buffer, stride or scale can silently use hidden_size in place of heads x head_dim.
inline ModelConfig tiny_llama_head_dim(std::int64_t head_dim) {
  ModelConfig c = tiny_llama();
  c.hidden_size = 24;
  c.explicit_head_dim = head_dim;
  return c;
}
inline ModelConfig tiny_qwen2_head_dim(std::int64_t head_dim) {
  ModelConfig c = tiny_qwen2();
  c.hidden_size = 24;
  c.explicit_head_dim = head_dim;
  return c;
}

// Every parameter drawn (norm weights around 1, everything else around 0) with a spread large enough that
// attention is far from uniform and every nonlinearity is exercised.
template <class AnyTransformer>
void fill_for_test(AnyTransformer& model, std::uint64_t seed, double spread = 0.4) {
  using Scalar = typename std::remove_reference_t<decltype(model.flat_parameters()[0])>;
  Philox rng(seed);
  for (const auto& tensor : model.tensors()) {
    const bool is_norm = tensor.name.ends_with("norm.weight");
    for (std::int64_t i = 0; i < tensor.size; ++i)
      model.flat_parameters()[static_cast<std::size_t>(tensor.offset + i)] =
          static_cast<Scalar>((is_norm ? 1.0 : 0.0) + spread * rng.normal());
  }
}

// Sequences of lengths 5, 1, 7 and 3; the third scored from position 3 (a prompt of 3 tokens).
inline TokenBatch mixed_batch(std::int64_t vocab, std::uint64_t seed) {
  Philox rng(seed);
  TokenBatch batch;
  const int lengths[] = {5, 1, 7, 3};
  const int first_scored[] = {1, 1, 3, 1};
  for (int s = 0; s < 4; ++s) {
    std::vector<TokenId> tokens;
    for (int t = 0; t < lengths[s]; ++t) tokens.push_back(static_cast<TokenId>(rng() % static_cast<std::uint32_t>(vocab)));
    batch.push_back(tokens, first_scored[s]);
  }
  return batch;
}

// Two sequences longer than attention's 64-row query block (150 and 70 tokens) and a short one, so the
// blocked causal attention crosses block edges; the second scored from position 40.
inline TokenBatch long_batch(std::int64_t vocab, std::uint64_t seed) {
  Philox rng(seed);
  TokenBatch batch;
  const int lengths[] = {150, 70, 3};
  const int first_scored[] = {1, 40, 1};
  for (int s = 0; s < 3; ++s) {
    std::vector<TokenId> tokens;
    for (int t = 0; t < lengths[s]; ++t) tokens.push_back(static_cast<TokenId>(rng() % static_cast<std::uint32_t>(vocab)));
    batch.push_back(tokens, first_scored[s]);
  }
  return batch;
}

// RoPE's frequency i of a config, in double: theta^(-2i/E), then HF's rope_scaling written from the
// published descriptions (HF `_compute_llama3_parameters`, Meta's Llama 3.1 `apply_scaling`) rather than
// from r1's code: linear divides by the factor; llama3 counts the turns r = original / wavelength a
// frequency makes within the original context and divides by the factor below low_freq_factor turns,
// keeps it above high_freq_factor turns, and in between blends the two with weight
// s = (r - low) / (high - low) on the kept frequency.
inline double reference_inverse_frequency(const ModelConfig& c, std::int64_t i) {
  const auto E = static_cast<double>(c.explicit_head_dim > 0 ? c.explicit_head_dim
                                                             : c.hidden_size / c.num_attention_heads);
  const double base = std::pow(c.rope_theta, -2.0 * static_cast<double>(i) / E);
  const RopeScaling& scaling = c.rope_scaling;
  if (scaling.kind == RopeScaling::Kind::linear) return base / scaling.factor;
  if (scaling.kind != RopeScaling::Kind::llama3) return base;
  const double turns = static_cast<double>(scaling.original_max_position_embeddings) * base / (2 * std::numbers::pi);
  if (turns < scaling.low_freq_factor) return base / scaling.factor;
  if (turns > scaling.high_freq_factor) return base;
  const double s = (turns - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
  return s * base + (1 - s) * base / scaling.factor;
}

// Logits (T, V) of one sequence from the naive reference forward, all in double.
template <class Scalar>
std::vector<double> reference_logits(const BasicTransformer<Scalar>& model, std::span<const TokenId> tokens) {
  const ModelConfig& c = model.config();
  const auto weight = [&](const std::string& name) -> std::vector<double> {
    const ParameterTensor* tensor = model.find_tensor(name);
    if (tensor == nullptr) return {};
    const auto values = model.flat_parameters().subspan(static_cast<std::size_t>(tensor->offset),
                                                        static_cast<std::size_t>(tensor->size));
    return {values.begin(), values.end()};
  };
  // E as HF's LlamaAttention takes it: the config's head_dim, else hidden_size // num_attention_heads.
  const std::int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, H = c.num_attention_heads,
                     K = c.num_key_value_heads,
                     E = c.explicit_head_dim > 0 ? c.explicit_head_dim : c.hidden_size / c.num_attention_heads;
  const auto T = static_cast<std::int64_t>(tokens.size());
  // Every weight must have exactly the (out, in) shape HF gives it, so a layout error cannot read past a tensor.
  const auto matvec = [](const std::vector<double>& w, const std::vector<double>& bias, const std::vector<double>& x,
                         std::int64_t out) {
    const auto in = static_cast<std::int64_t>(x.size());
    const auto weights = static_cast<std::int64_t>(w.size()), biases = static_cast<std::int64_t>(bias.size());
    require(weights == out * in && (biases == 0 || biases == out), "reference_logits: a weight of ", weights,
            " values (bias ", biases, ") for a (", out, ", ", in, ") projection");
    std::vector<double> y(static_cast<std::size_t>(out));
    for (std::int64_t o = 0; o < out; ++o) {
      double sum = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < in; ++i) sum += w[static_cast<std::size_t>(o * in + i)] * x[static_cast<std::size_t>(i)];
      y[static_cast<std::size_t>(o)] = sum;
    }
    return y;
  };
  const auto rmsnorm = [&](const std::vector<double>& x, const std::vector<double>& w) {
    double mean_square = 0;
    for (double v : x) mean_square += v * v / static_cast<double>(D);
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(mean_square + c.rms_norm_eps) * w[i];
    return y;
  };
  const auto rope = [&](std::vector<double>& x, std::int64_t heads, std::int64_t position) {
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < E / 2; ++i) {
        const double angle = static_cast<double>(position) * reference_inverse_frequency(c, i);
        double& a = x[static_cast<std::size_t>(h * E + i)];
        double& b = x[static_cast<std::size_t>(h * E + i + E / 2)];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(angle) - b0 * std::sin(angle);
        b = b0 * std::cos(angle) + a0 * std::sin(angle);
      }
  };
  const auto embed = weight("model.embed_tokens.weight");
  std::vector<std::vector<double>> x(static_cast<std::size_t>(T));
  for (std::int64_t t = 0; t < T; ++t)
    x[static_cast<std::size_t>(t)].assign(embed.begin() + tokens[static_cast<std::size_t>(t)] * D,
                                          embed.begin() + (tokens[static_cast<std::size_t>(t)] + 1) * D);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<std::vector<double>> q(static_cast<std::size_t>(T)), k(q.size()), v(q.size());
    for (std::int64_t t = 0; t < T; ++t) {
      const auto xn = rmsnorm(x[static_cast<std::size_t>(t)], weight(p + "input_layernorm.weight"));
      q[static_cast<std::size_t>(t)] = matvec(weight(p + "self_attn.q_proj.weight"), weight(p + "self_attn.q_proj.bias"), xn, H * E);
      k[static_cast<std::size_t>(t)] = matvec(weight(p + "self_attn.k_proj.weight"), weight(p + "self_attn.k_proj.bias"), xn, K * E);
      v[static_cast<std::size_t>(t)] = matvec(weight(p + "self_attn.v_proj.weight"), weight(p + "self_attn.v_proj.bias"), xn, K * E);
      rope(q[static_cast<std::size_t>(t)], H, t);
      rope(k[static_cast<std::size_t>(t)], K, t);
    }
    for (std::int64_t t = 0; t < T; ++t) {
      std::vector<double> attended(static_cast<std::size_t>(H * E), 0.0);
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / (H / K);
        std::vector<double> scores;
        double max_score = -1e300;
        for (std::int64_t j = 0; j <= t; ++j) {
          double dot = 0;
          for (std::int64_t e = 0; e < E; ++e)
            dot += q[static_cast<std::size_t>(t)][static_cast<std::size_t>(h * E + e)] * k[static_cast<std::size_t>(j)][static_cast<std::size_t>(g * E + e)];
          scores.push_back(dot / std::sqrt(static_cast<double>(E)));
          max_score = std::max(max_score, scores.back());
        }
        double total = 0;
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (std::int64_t j = 0; j <= t; ++j)
          for (std::int64_t e = 0; e < E; ++e)
            attended[static_cast<std::size_t>(h * E + e)] +=
                scores[static_cast<std::size_t>(j)] / total * v[static_cast<std::size_t>(j)][static_cast<std::size_t>(g * E + e)];
      }
      const auto projected = matvec(weight(p + "self_attn.o_proj.weight"), {}, attended, D);
      for (std::int64_t i = 0; i < D; ++i) x[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] += projected[static_cast<std::size_t>(i)];
    }
    for (std::int64_t t = 0; t < T; ++t) {
      auto& row = x[static_cast<std::size_t>(t)];
      const auto xn = rmsnorm(row, weight(p + "post_attention_layernorm.weight"));
      const auto gate = matvec(weight(p + "mlp.gate_proj.weight"), {}, xn, F);
      const auto up = matvec(weight(p + "mlp.up_proj.weight"), {}, xn, F);
      std::vector<double> act(static_cast<std::size_t>(F));
      for (std::int64_t i = 0; i < F; ++i) {
        const double g = gate[static_cast<std::size_t>(i)];
        act[static_cast<std::size_t>(i)] = g / (1.0 + std::exp(-g)) * up[static_cast<std::size_t>(i)];
      }
      const auto down = matvec(weight(p + "mlp.down_proj.weight"), {}, act, D);
      for (std::int64_t i = 0; i < D; ++i) row[static_cast<std::size_t>(i)] += down[static_cast<std::size_t>(i)];
    }
  }
  const auto head = c.tie_word_embeddings ? embed : weight("lm_head.weight");
  std::vector<double> logits;
  for (std::int64_t t = 0; t < T; ++t) {
    const auto row = matvec(head, {}, rmsnorm(x[static_cast<std::size_t>(t)], weight("model.norm.weight")), V);
    logits.insert(logits.end(), row.begin(), row.end());
  }
  return logits;
}

// log-softmax(z / T)[target] and the entropy of softmax(z / T) of one logits row, in double.
struct ReferenceScore {
  double logprob, entropy;
};
inline ReferenceScore reference_score(std::span<const double> logits, double temperature, TokenId target) {
  double max_a = -1e300;
  for (double z : logits) max_a = std::max(max_a, z / temperature);
  double total = 0;
  for (double z : logits) total += std::exp(z / temperature - max_a);
  const double lse = max_a + std::log(total);
  double entropy = 0;
  for (double z : logits) {
    const double log_p = z / temperature - lse;
    entropy -= std::exp(log_p) * log_p;
  }
  return {logits[static_cast<std::size_t>(target)] / temperature - lse, entropy};
}

}  // namespace r1::test
