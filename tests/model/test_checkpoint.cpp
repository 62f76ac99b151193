// HF model directories: save -> load is bit-exact (F32) or the BF16 rounding of
// every weight, sharded checkpoints load, and bad directories, tensors and
// configs raise r1::Error naming what is wrong.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "expect_error.hpp"
#include "model_test_support.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/transformer.hpp"

namespace {

namespace fs = std::filesystem;
using Model = r1::Transformer<r1::cpu>;
using r1::test::expect_error;

std::string fresh_dir(const std::string& name) { return r1::test::fresh_test_dir("checkpoint", name); }

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

}  // namespace

TEST_CASE("save then load is bit-exact in F32, for Llama (untied), Qwen2 (tied, bias) and explicit head_dim") {
  int index = 0;
  for (const auto& config : {r1::test::tiny_llama(), r1::test::tiny_qwen2(), r1::test::tiny_llama_head_dim(8),
                             r1::test::tiny_qwen2_head_dim(4)}) {
    INFO(config.model_type, " head_dim ", config.head_dim(), " hidden_size ", config.hidden_size);
    Model model(config);
    model.init_random(5, 0.3f);
    const std::string dir = fresh_dir(config.model_type + std::to_string(index++));
    model.save(dir);
    const Model loaded = Model::load(dir);
    CHECK(loaded.config().to_json() == model.config().to_json());
    CHECK(std::equal(model.flat_parameters().begin(), model.flat_parameters().end(),
                     const_cast<Model&>(loaded).flat_parameters().begin()));
    r1::SafetensorsFile file(dir + "/model.safetensors");
    CHECK((file.find("lm_head.weight") != nullptr) == !config.tie_word_embeddings);  // HF omits a tied head
    CHECK(file.tensors().size() == model.tensors().size());
    // config.json carries head_dim (as HF writes it), and the tensors their heads x head_dim shapes.
    CHECK(r1::read_json_file(dir + "/config.json")["head_dim"] == config.head_dim());
    CHECK(loaded.config().head_dim() == config.head_dim());
    const auto q_proj = file.find("model.layers.0.self_attn.q_proj.weight");
    REQUIRE(q_proj != nullptr);
    CHECK(q_proj->shape == std::vector<std::int64_t>{config.num_attention_heads * config.head_dim(), config.hidden_size});
  }
}

TEST_CASE("BF16 save loads as the round-to-nearest-even of every weight") {
  Model model(r1::test::tiny_llama());
  model.init_random(6, 0.3f);
  const std::string dir = fresh_dir("bf16");
  model.save(dir, r1::SafetensorsDtype::bf16);
  CHECK(r1::read_json_file(dir + "/config.json")["torch_dtype"] == "bfloat16");
  Model loaded = Model::load(dir);
  for (std::size_t i = 0; i < model.flat_parameters().size(); ++i)
    CHECK(loaded.flat_parameters()[i] == r1::bf16_to_float(r1::float_to_bf16(model.flat_parameters()[i])));
}

TEST_CASE("a sharded checkpoint (model.safetensors.index.json) loads") {
  Model model(r1::test::tiny_qwen2());
  model.init_random(8, 0.3f);
  const std::string dir = fresh_dir("sharded");
  model.save(dir);
  fs::remove(dir + "/model.safetensors");
  // Two shards, tensors alternating between them.
  std::vector<r1::SafetensorsTensorView> shard[2];
  r1::Json weight_map = r1::Json::object();
  std::size_t i = 0;
  for (const auto& p : model.parameters()) {
    const int which = static_cast<int>(i++ % 2);
    shard[which].push_back({p.name, p.shape, p.value});
    weight_map[p.name] = "model-0000" + std::to_string(which + 1) + "-of-00002.safetensors";
  }
  r1::write_safetensors(dir + "/model-00001-of-00002.safetensors", shard[0]);
  r1::write_safetensors(dir + "/model-00002-of-00002.safetensors", shard[1], r1::SafetensorsDtype::bf16);
  write_text(dir + "/model.safetensors.index.json", r1::Json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
  Model loaded = Model::load(dir);
  i = 0;
  for (const auto& p : model.parameters()) {
    const auto q = loaded.parameters()[i];
    for (std::size_t k = 0; k < p.value.size(); ++k)
      CHECK(q.value[k] == (i % 2 == 0 ? p.value[k] : r1::bf16_to_float(r1::float_to_bf16(p.value[k]))));
    ++i;
  }
  // An index pointing outside the directory is refused.
  weight_map["model.norm.weight"] = "../elsewhere.safetensors";
  write_text(dir + "/model.safetensors.index.json", r1::Json{{"weight_map", weight_map}}.dump());
  expect_error([&] { Model::load(dir); }, "not a plain file name");
}

TEST_CASE("missing or misshapen tensors, missing files and bad configs raise r1::Error") {
  Model model(r1::test::tiny_llama());
  model.init_random(9);
  const std::string dir = fresh_dir("bad");
  model.save(dir);

  SUBCASE("missing tensor") {
    std::vector<r1::SafetensorsTensorView> views;
    for (const auto& p : model.parameters())
      if (p.name != "model.layers.1.mlp.up_proj.weight") views.push_back({p.name, p.shape, p.value});
    r1::write_safetensors(dir + "/model.safetensors", views);
    expect_error([&] { Model::load(dir); }, "'model.layers.1.mlp.up_proj.weight' is missing");
  }
  SUBCASE("wrong shape") {
    std::vector<r1::SafetensorsTensorView> views;
    for (const auto& p : model.parameters()) {
      auto shape = p.shape;
      if (p.name == "model.layers.0.self_attn.k_proj.weight") shape = {shape[1], shape[0]};
      views.push_back({p.name, shape, p.value});
    }
    r1::write_safetensors(dir + "/model.safetensors", views);
    expect_error([&] { Model::load(dir); }, "'model.layers.0.self_attn.k_proj.weight' has shape [16,8]");
  }
  SUBCASE("no weights at all") {
    fs::remove(dir + "/model.safetensors");
    expect_error([&] { Model::load(dir); }, "neither model.safetensors");
  }
  SUBCASE("no config") {
    fs::remove(dir + "/config.json");
    expect_error([&] { Model::load(dir); }, "config.json");
  }
  SUBCASE("unknown model type") {
    auto json = model.config().to_json();
    json["model_type"] = "gpt2";
    write_text(dir + "/config.json", json.dump());
    expect_error([&] { Model::load(dir); }, "'model_type' = 'gpt2'");
  }
  SUBCASE("missing field") {
    auto json = model.config().to_json();
    json.erase("hidden_size");
    write_text(dir + "/config.json", json.dump());
    expect_error([&] { Model::load(dir); }, "missing field 'hidden_size'");
  }
}

TEST_CASE("ModelConfig::from_json: defaults, HF variants, non-finite and inconsistent values") {
  r1::Json json = {{"model_type", "qwen2"}, {"vocab_size", 100},        {"hidden_size", 32},
                   {"intermediate_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                   {"eos_token_id", {7, 8}},  {"bos_token_id", nullptr}};
  const auto config = r1::ModelConfig::from_json(json, "config.json");
  CHECK(config.num_key_value_heads == 4);  // defaults to multi-head
  CHECK(config.attention_bias);            // qwen2 always has q/k/v bias
  CHECK(config.eos_token_id == 7);
  CHECK(config.bos_token_id == -1);
  CHECK(config.head_dim() == 8);
  CHECK(r1::ModelConfig::from_json(config.to_json(), "round trip").to_json() == config.to_json());

  const auto expect_bad = [&](const char* field, r1::Json value, const std::string& expected) {
    r1::Json bad = json;
    bad[field] = std::move(value);
    expect_error([&] { r1::ModelConfig::from_json(bad, "config.json"); }, expected);
  };
  expect_bad("rope_theta", std::numeric_limits<double>::quiet_NaN(), "'rope_theta'");
  expect_bad("rms_norm_eps", std::numeric_limits<double>::infinity(), "'rms_norm_eps'");
  expect_bad("rms_norm_eps", -1.0, "'rms_norm_eps'");
  expect_bad("hidden_size", 30, "not a multiple of num_attention_heads");
  expect_bad("num_key_value_heads", 3, "not a multiple of num_key_value_heads");
  expect_bad("vocab_size", 0, "'vocab_size' = 0");
  expect_bad("vocab_size", "many", "'vocab_size' has the wrong type");
  expect_bad("hidden_act", "gelu", "'hidden_act'");
  expect_bad("rope_scaling", {{"type", "llama3"}}, "RoPE scaling is not supported");
  expect_bad("eos_token_id", -3, "'eos_token_id'");
}

TEST_CASE("ModelConfig::from_json: an explicit head_dim (HF LlamaConfig) sizes the heads; bad ones name 'head_dim'") {
  // The Mistral-Nemo pattern at toy scale: hidden 40, 4 heads of 16 (not 40 / 4 = 10), 2 key/value heads.
  r1::Json json = {{"model_type", "llama"},      {"vocab_size", 50},         {"hidden_size", 40},
                   {"intermediate_size", 64},    {"num_hidden_layers", 1},   {"num_attention_heads", 4},
                   {"num_key_value_heads", 2},   {"head_dim", 16}};
  const auto config = r1::ModelConfig::from_json(json, "config.json");
  CHECK(config.head_dim() == 16);
  CHECK(config.to_json()["head_dim"] == 16);
  const auto again = r1::ModelConfig::from_json(config.to_json(), "round trip");
  CHECK(again.head_dim() == 16);
  CHECK(again.to_json() == config.to_json());
  const Model model(config);
  CHECK(model.core().find_tensor("model.layers.0.self_attn.q_proj.weight")->shape == std::vector<std::int64_t>{64, 40});
  CHECK(model.core().find_tensor("model.layers.0.self_attn.k_proj.weight")->shape == std::vector<std::int64_t>{32, 40});
  CHECK(model.core().find_tensor("model.layers.0.self_attn.o_proj.weight")->shape == std::vector<std::int64_t>{40, 64});

  // Absent or null: hidden_size / num_attention_heads, as HF; and hidden_size must then divide.
  r1::Json derived = json;
  derived["head_dim"] = nullptr;
  derived["hidden_size"] = 48;
  CHECK(r1::ModelConfig::from_json(derived, "config.json").head_dim() == 12);
  derived.erase("head_dim");
  CHECK(r1::ModelConfig::from_json(derived, "config.json").head_dim() == 12);
  derived["hidden_size"] = 42;
  expect_error([&] { r1::ModelConfig::from_json(derived, "config.json"); }, "not a multiple of num_attention_heads");
  json["hidden_size"] = 42;  // with an explicit head_dim it need not
  CHECK(r1::ModelConfig::from_json(json, "config.json").head_dim() == 16);

  const auto expect_bad = [&](r1::Json value, const std::string& expected) {
    r1::Json bad = json;
    bad["head_dim"] = std::move(value);
    expect_error([&] { r1::ModelConfig::from_json(bad, "config.json"); }, expected);
  };
  expect_bad(0, "config.json: field 'head_dim' = 0");
  expect_bad(-8, "field 'head_dim' = -8");
  expect_bad(16.5, "field 'head_dim' = 16.5");
  expect_bad(16.0, "field 'head_dim' = 16.0");  // refused rather than truncated to a size
  expect_bad("16", "field 'head_dim' = \"16\"");
  expect_bad(true, "field 'head_dim' = true");
  expect_bad(15, "field 'head_dim' = 15: must be even for rotary embeddings");
  expect_bad(std::int64_t{1} << 40, "field 'head_dim' = 1099511627776: exceeds");
  expect_bad(std::int64_t{1} << 23, "num_attention_heads 4 x head_dim 8388608 exceeds");

  // A config built in code: a negative head_dim is refused by validate() too.
  r1::ModelConfig direct = r1::test::tiny_llama();
  direct.explicit_head_dim = -4;
  expect_error([&] { Model{direct}; }, "'head_dim'");
}
