// `r1 merge-lora` end to end: a tiny random model and a random PEFT adapter in, a merged HF directory out
// whose adapted weights are W0 + scale * B A and whose other tensors are the base's, bitwise.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "lora_test_support.hpp"
#include "r1/core/rng.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/config.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/peft_adapter.hpp"
#include "r1/model/transformer.hpp"

namespace {

namespace fs = std::filesystem;
using Model = r1::Transformer<r1::cpu>;
using r1::LoraTarget;

std::string fresh_dir(const std::string& name) { return r1::test::fresh_lora_dir("merge_lora_cli", name); }

struct Run {
  int exit_code;
  std::string out, err;
};

Run run_cli(const std::string& arguments, const std::string& scratch) {
  const std::string out = scratch + "/stdout.txt", err = scratch + "/stderr.txt";
  const std::string command = std::string(R1_CLI_PATH) + " --threads 2 merge-lora " + arguments + " > " + out + " 2> " + err;
  const int status = std::system(command.c_str());
  const auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

// GQA Llama (untied head) and Qwen2 (q/k/v biases, tied embeddings), 2 layers, out != in for every projection.
r1::ModelConfig tiny_config(bool qwen2) {
  r1::ModelConfig c;
  c.model_type = qwen2 ? "qwen2" : "llama";
  c.vocab_size = 11;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.attention_bias = qwen2;
  c.tie_word_embeddings = qwen2;
  return c;
}

// A random adapter for `model`: factors drawn N(0, 0.5), large beside the base's N(0, 0.02), so a merge
// that skipped a weight or used the wrong factor could not pass.
struct RandomAdapter {
  r1::LoraConfig config;
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<std::vector<float>> values;

  RandomAdapter(const Model& model, r1::LoraConfig lora, std::int64_t layers) : config(std::move(lora)) {
    r1::Philox rng(11);
    for (std::int64_t layer = 0; layer < layers; ++layer)
      for (const auto target : config.target_modules) {
        const auto* base = model.find_tensor(r1::lora_base_tensor_name(std::min<std::int64_t>(layer, 1), target));
        REQUIRE(base != nullptr);
        add(r1::lora_tensor_name(layer, target, false), {config.r, base->shape[1]}, rng);
        add(r1::lora_tensor_name(layer, target, true), {base->shape[0], config.r}, rng);
      }
  }
  void add(std::string name, std::vector<std::int64_t> shape, r1::Philox& rng) {
    names.push_back(std::move(name));
    values.emplace_back(static_cast<std::size_t>(shape[0] * shape[1]));
    for (auto& v : values.back()) v = static_cast<float>(rng.normal() * 0.5);
    shapes.push_back(std::move(shape));
  }
  const std::vector<float>& factor(std::int64_t layer, LoraTarget target, bool is_b) const {
    const auto name = r1::lora_tensor_name(layer, target, is_b);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return values[i];
    FAIL("no factor ", name);
    return values[0];
  }
  void save(const std::string& dir) const {
    std::vector<r1::SafetensorsTensorView> views;
    for (std::size_t i = 0; i < names.size(); ++i) views.push_back({names[i], shapes[i], values[i]});
    r1::save_peft_adapter(dir, config, views, "tiny/base");
  }
};

std::vector<float> tensor_values(const Model& model, const r1::ParameterTensor& tensor) {
  const auto all = model.flat_parameters();
  return {all.begin() + tensor.offset, all.begin() + tensor.offset + tensor.size};
}

}  // namespace

TEST_CASE("r1 merge-lora: adapted weights are W0 + scale * B A, every other tensor the base's bitwise") {
  for (const bool qwen2 : {false, true}) {
    CAPTURE(qwen2);
    const std::string root = fresh_dir(qwen2 ? "qwen2" : "llama");
    const std::string base_dir = root + "/base", adapter_dir = root + "/adapter", out_dir = root + "/merged";
    Model model(tiny_config(qwen2));
    model.init_random(3);
    model.save(base_dir);
    r1::write_file_atomically(base_dir + "/tokenizer.json", "{\"tokenizer\": true}\n");
    r1::write_file_atomically(base_dir + "/generation_config.json", "{\"do_sample\": true}\n");

    r1::LoraConfig lora;
    lora.r = 3;
    lora.alpha = 5;  // scale 5/3: not a power of two, so the scale's own rounding is part of the test
    lora.target_modules = {LoraTarget::q_proj, LoraTarget::v_proj, LoraTarget::o_proj, LoraTarget::gate_proj,
                           LoraTarget::down_proj};
    const RandomAdapter adapter(model, lora, 2);
    adapter.save(adapter_dir);

    const Run run = run_cli("--model " + base_dir + " --adapter " + adapter_dir + " --out " + out_dir, root);
    INFO("stdout: ", run.out, "\nstderr: ", run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(run.out.find("merged 10 weights") != std::string::npos);

    const Model base = Model::load(base_dir);
    const Model merged = Model::load(out_dir);
    CHECK(merged.config().to_json() == base.config().to_json());
    CHECK(r1::read_file_bytes(out_dir + "/tokenizer.json") == "{\"tokenizer\": true}\n");
    CHECK(r1::read_file_bytes(out_dir + "/generation_config.json") == "{\"do_sample\": true}\n");
    CHECK(!fs::exists(out_dir + "/tokenizer_config.json"));  // absent in the base: not invented

    // Tolerance per entry, in the precision of the fp32 merge: W0 + s fl(sum of r products) rounds to within
    // u (|exact| + (r + 2) |s| sum_k |B A|), u = 2^-24 (the derivation is beside lora_merge's test in
    // test_peft_adapter.cpp); the exact value is taken with s = the float scale the tool uses.
    const double u = std::numeric_limits<float>::epsilon() / 2.0;
    const double s = lora.scale();
    int adapted = 0;
    for (const auto& tensor : base.tensors()) {
      CAPTURE(tensor.name);
      const auto before = tensor_values(base, tensor);
      const auto* merged_tensor = merged.find_tensor(tensor.name);
      REQUIRE(merged_tensor != nullptr);
      const auto after = tensor_values(merged, *merged_tensor);
      bool is_adapted = false;
      for (std::int64_t layer = 0; layer < 2; ++layer)
        for (const auto target : lora.target_modules) {
          if (tensor.name != r1::lora_base_tensor_name(layer, target)) continue;
          is_adapted = true;
          ++adapted;
          const auto& a = adapter.factor(layer, target, false);
          const auto& b = adapter.factor(layer, target, true);
          const std::int64_t out = tensor.shape[0], in = tensor.shape[1], r = lora.r;
          int failures = 0;
          double largest_change = 0;
          for (std::int64_t o = 0; o < out; ++o)
            for (std::int64_t i = 0; i < in; ++i) {
              double sum = 0, magnitude = 0;
              for (std::int64_t k = 0; k < r; ++k) {
                const double term = double(b[static_cast<std::size_t>(o * r + k)]) * a[static_cast<std::size_t>(k * in + i)];
                sum += term;
                magnitude += std::abs(term);
              }
              const auto at = static_cast<std::size_t>(o * in + i);
              const double exact = before[at] + s * sum;
              const double tolerance = u * (std::abs(exact) + double(r + 2) * s * magnitude);
              largest_change = std::max(largest_change, std::abs(double(after[at]) - before[at]));
              if (std::abs(after[at] - exact) > tolerance && ++failures <= 3)
                FAIL_CHECK("at (", o, ", ", i, "): ", after[at], " vs ", exact, ", tolerance ", tolerance);
            }
          CHECK(failures == 0);
          CHECK(largest_change > 0.1);  // the adapter moved the weight
        }
      if (!is_adapted) CHECK(after == before);  // bitwise (no NaN in a random model)
    }
    CHECK(adapted == 10);  // 5 targets x 2 layers

    // --dtype bf16: the same merge, each value rounded to BF16 on the way out.
    const Run bf16 = run_cli("--model " + base_dir + " --adapter " + adapter_dir + " --out " + root +
                                 "/merged_bf16 --dtype bf16 --max-shard-size 2KB",
                             root);
    INFO("stderr: ", bf16.err);
    REQUIRE(bf16.exit_code == 0);
    CHECK(fs::exists(root + "/merged_bf16/model.safetensors.index.json"));  // 2 KB shards
    const Model rounded = Model::load(root + "/merged_bf16");
    const auto f32 = merged.flat_parameters(), b16 = rounded.flat_parameters();
    REQUIRE(f32.size() == b16.size());
    int mismatches = 0;
    for (std::size_t i = 0; i < f32.size(); ++i) mismatches += b16[i] != r1::bf16_to_float(r1::float_to_bf16(f32[i]));
    CHECK(mismatches == 0);
  }
}

TEST_CASE("r1 merge-lora refuses an adapter that does not fit the model, and an --out over the base") {
  const std::string root = fresh_dir("refusals");
  const std::string base_dir = root + "/base";
  Model model(tiny_config(false));
  model.init_random(5);
  model.save(base_dir);
  r1::LoraConfig lora;
  lora.r = 2;
  lora.target_modules = {LoraTarget::k_proj};

  // Factors for a third layer the 2-layer model lacks.
  RandomAdapter deeper(model, lora, 3);
  deeper.save(root + "/deeper");
  Run run = run_cli("--model " + base_dir + " --adapter " + root + "/deeper --out " + root + "/out", root);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("'base_model.model.model.layers.2.self_attn.k_proj.lora_A.weight' is in the adapter but the "
                     "model has no place for it") != std::string::npos);
  CHECK(!fs::exists(root + "/out"));

  // An adapter of another rank than its config says: the shapes disagree.
  RandomAdapter ranked(model, lora, 2);
  ranked.save(root + "/ranked");
  auto config = r1::read_json_file(root + "/ranked/adapter_config.json");
  config["r"] = 4;
  r1::write_file_atomically(root + "/ranked/adapter_config.json", config.dump(2));
  run = run_cli("--model " + base_dir + " --adapter " + root + "/ranked --out " + root + "/out", root);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("has shape [2,16], the model expects [4,16]") != std::string::npos);

  run = run_cli("--model " + base_dir + " --adapter " + root + "/deeper --out " + base_dir, root);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("is the base model's folder") != std::string::npos);
  run = run_cli("--model " + base_dir + " --adapter " + root + "/deeper --out " + root + "/out --dtype f16", root);
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("--dtype 'f16'") != std::string::npos);
}
