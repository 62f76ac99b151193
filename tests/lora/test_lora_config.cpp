// LoraConfig: r1's config section, PEFT's adapter_config.json both ways, and the refusal of every PEFT
// option r1 does not implement; the tensor names PEFT gives a Llama / Qwen2 adapter.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lora_test_support.hpp"
#include "r1/core/json.hpp"
#include "r1/model/lora_config.hpp"

namespace {

using r1::Json;
using r1::LoraConfig;
using r1::LoraTarget;
using r1::test::expect_error;

// An adapter_config.json as PEFT 0.13's LoraConfig.save_pretrained writes it (json.dumps of to_dict(),
// sort_keys, indent 2) for LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=["q_proj",
// "v_proj", "o_proj", "k_proj"], task_type="CAUSAL_LM") on Qwen2.5-0.5B: the set of target_modules comes
// out in hash order, every field of the dataclass is present, including the ones r1 ignores.
const char* const kPeftWritten = R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "Qwen/Qwen2.5-0.5B",
  "bias": "none",
  "eva_config": null,
  "exclude_modules": null,
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 32,
  "lora_bias": false,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 16,
  "rank_pattern": {},
  "revision": null,
  "target_modules": [
    "v_proj",
    "o_proj",
    "q_proj",
    "k_proj"
  ],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
})";

}  // namespace

TEST_CASE("names, parents and the tensor names PEFT writes") {
  CHECK(r1::lora_target_name(LoraTarget::q_proj) == "q_proj");
  CHECK(r1::lora_target_name(LoraTarget::down_proj) == "down_proj");
  for (const auto t : {LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj, LoraTarget::o_proj})
    CHECK(r1::lora_target_parent(t) == "self_attn");
  for (const auto t : {LoraTarget::gate_proj, LoraTarget::up_proj, LoraTarget::down_proj})
    CHECK(r1::lora_target_parent(t) == "mlp");
  CHECK(r1::lora_tensor_name(0, LoraTarget::q_proj, false) ==
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  CHECK(r1::lora_tensor_name(23, LoraTarget::down_proj, true) ==
        "base_model.model.model.layers.23.mlp.down_proj.lora_B.weight");
  CHECK(r1::lora_base_tensor_name(5, LoraTarget::gate_proj) == "model.layers.5.mlp.gate_proj.weight");
  CHECK_THROWS_AS(r1::lora_target_name(static_cast<LoraTarget>(7)), r1::Error);
  CHECK_THROWS_AS(r1::lora_tensor_name(-1, LoraTarget::q_proj, false), r1::Error);
}

TEST_CASE("from_json: defaults, aliases, all-linear, and the scale of LoRA and rsLoRA") {
  const auto defaults = LoraConfig::from_json(Json::object(), "lora");
  CHECK(defaults.r == 8);
  CHECK(defaults.alpha == 16.0f);
  CHECK(defaults.dropout == 0.0f);
  CHECK(!defaults.use_rslora);
  CHECK(defaults.seed == 0);
  CHECK(defaults.target_modules.size() == 7);
  for (int i = 0; i < r1::kLoraTargetCount; ++i) CHECK(defaults.targets(static_cast<LoraTarget>(i)));
  CHECK(defaults.scale() == 2.0f);  // 16 / 8

  const auto set = LoraConfig::from_json(
      Json::parse(R"({"r": 4, "alpha": 8, "lora_dropout": 0.1, "target_modules": ["v_proj", "q_proj"],
                      "use_rslora": true, "seed": 7})"),
      "lora");
  CHECK(set.r == 4);
  CHECK(set.alpha == 8.0f);
  CHECK(set.dropout == 0.1f);
  CHECK(set.seed == 7);
  CHECK(set.target_modules == std::vector<LoraTarget>{LoraTarget::v_proj, LoraTarget::q_proj});
  CHECK(set.targets(LoraTarget::q_proj));
  CHECK(!set.targets(LoraTarget::k_proj));
  CHECK(set.scale() == 4.0f);  // rsLoRA: 8 / sqrt(4)

  const auto all = LoraConfig::from_json(Json::parse(R"({"target_modules": "all-linear", "lora_alpha": 3})"), "lora");
  CHECK(all.target_modules.size() == 7);
  CHECK(all.scale() == 3.0f / 8.0f);

  // to_json and back.
  const auto again = LoraConfig::from_json(set.to_json(), "round trip");
  CHECK(again.to_json() == set.to_json());
  CHECK(set.to_json()["lora_dropout"].dump() == "0.1");  // the decimal the user wrote, not 0.10000000149
}

TEST_CASE("from_json: each mistake is an error naming its field") {
  const auto bad = [](const char* text, const std::string& expected) {
    expect_error([&] { LoraConfig::from_json(Json::parse(text), "config: 'lora'"); }, expected);
  };
  bad(R"({"rank": 8})", "unknown field 'rank'");
  bad(R"({"r": 0})", "field 'r' = 0");
  bad(R"({"r": 2.5})", "field 'r'");
  bad(R"({"lora_alpha": 0})", "field 'lora_alpha'");
  bad(R"({"lora_alpha": -1})", "field 'lora_alpha'");
  bad(R"({"alpha": 1, "lora_alpha": 2})", "'alpha' and 'lora_alpha'");
  bad(R"({"lora_dropout": 1})", "field 'lora_dropout' = 1");
  bad(R"({"lora_dropout": -0.1})", "field 'lora_dropout'");
  bad(R"({"target_modules": ["q_proj", "q_proj"]})", "names 'q_proj' twice");
  bad(R"({"target_modules": ["q_proj", "lm_head"]})", "field 'target_modules'[1] = \"lm_head\"");
  bad(R"({"target_modules": []})", "field 'target_modules' is empty");
  bad(R"({"target_modules": ".*proj"})", "not a regular expression");
  bad(R"({"target_modules": [1]})", "field 'target_modules'[0]");
  bad(R"({"use_rslora": 1})", "field 'use_rslora'");
  bad(R"({"seed": -1})", "field 'seed'");
  bad(R"([1])", "expected a JSON object");
  for (const char* text : {R"({"r": 0})", R"({"lora_dropout": 1})"})
    expect_error([&] { LoraConfig::from_json(Json::parse(text), "config: 'lora'"); }, "config: 'lora'");
}

TEST_CASE("to_adapter_config writes PEFT's fields, and from_adapter_config reads them back") {
  LoraConfig config;
  config.r = 4;
  config.alpha = 12;
  config.dropout = 0.05f;
  config.use_rslora = true;
  config.target_modules = {LoraTarget::q_proj, LoraTarget::v_proj, LoraTarget::down_proj};
  const Json json = config.to_adapter_config("Qwen/Qwen2.5-0.5B");
  CHECK(json["peft_type"] == "LORA");
  CHECK(json["task_type"] == "CAUSAL_LM");
  CHECK(json["base_model_name_or_path"] == "Qwen/Qwen2.5-0.5B");
  CHECK(json["r"] == 4);
  CHECK(json["lora_alpha"].is_number_integer());  // PEFT's lora_alpha is an int
  CHECK(json["lora_alpha"] == 12);
  CHECK(json["lora_dropout"].dump() == "0.05");
  CHECK(json["bias"] == "none");
  CHECK(json["fan_in_fan_out"] == false);
  CHECK(json["modules_to_save"].is_null());
  CHECK(json["init_lora_weights"] == true);
  CHECK(json["inference_mode"] == true);
  CHECK(json["use_rslora"] == true);
  CHECK(json["use_dora"] == false);
  CHECK(json["target_modules"] == Json::parse(R"(["q_proj", "v_proj", "down_proj"])"));
  CHECK(!json.contains("seed"));  // r1's, not a PEFT field

  const auto back = LoraConfig::from_adapter_config(Json::parse(json.dump(2)), "adapter_config.json");
  CHECK(back.r == config.r);
  CHECK(back.alpha == config.alpha);
  CHECK(back.dropout == config.dropout);
  CHECK(back.use_rslora == config.use_rslora);
  CHECK(back.target_modules == config.target_modules);
  CHECK(back.scale() == config.scale());

  config.alpha = 2.5f;  // not an integer: written as a number
  CHECK(config.to_adapter_config("m")["lora_alpha"].dump() == "2.5");
  CHECK(LoraConfig::from_adapter_config(config.to_adapter_config("m"), "x").alpha == 2.5f);
}

TEST_CASE("from_adapter_config reads an adapter_config.json as PEFT writes it") {
  const auto config = LoraConfig::from_adapter_config(r1::parse_json(kPeftWritten, "adapter_config.json"),
                                                      "adapter_config.json");
  CHECK(config.r == 16);
  CHECK(config.alpha == 32.0f);
  CHECK(config.dropout == 0.05f);
  CHECK(!config.use_rslora);
  // A set in PEFT: r1 keeps them in LoraTarget order.
  CHECK(config.target_modules ==
        std::vector<LoraTarget>{LoraTarget::q_proj, LoraTarget::k_proj, LoraTarget::v_proj, LoraTarget::o_proj});
  CHECK(config.scale() == 2.0f);  // 32 / 16

  // A field absent takes PEFT's default (lora_alpha 8, not r1's 16); "all-linear" is the seven.
  const auto minimal = LoraConfig::from_adapter_config(
      Json::parse(R"({"peft_type": "LORA", "target_modules": "all-linear"})"), "adapter_config.json");
  CHECK(minimal.r == 8);
  CHECK(minimal.alpha == 8.0f);
  CHECK(minimal.target_modules.size() == 7);
  // Fields r1 ignores, at values that do not change the adapter's math, and ones newer PEFT adds.
  Json ignored = Json::parse(kPeftWritten);
  ignored["task_type"] = nullptr;
  ignored["init_lora_weights"] = "gaussian";
  ignored["revision"] = "main";
  ignored["peft_version"] = "0.17.0";
  ignored["modules_to_save"] = Json::array();
  ignored["rank_pattern"] = nullptr;
  CHECK(LoraConfig::from_adapter_config(ignored, "adapter_config.json").r == 16);
}

TEST_CASE("from_adapter_config refuses each PEFT option r1 does not implement, naming the field") {
  const auto refused = [](const char* field, const Json& value) {
    Json json = Json::parse(kPeftWritten);
    json[field] = value;
    expect_error([&] { LoraConfig::from_adapter_config(json, "adapter/adapter_config.json"); },
                 std::string("adapter/adapter_config.json: field '") + field + "'");
  };
  refused("bias", "all");
  refused("bias", "lora_only");
  refused("fan_in_fan_out", true);
  refused("modules_to_save", Json::parse(R"(["lm_head"])"));
  refused("rank_pattern", Json::parse(R"({"q_proj": 4})"));
  refused("alpha_pattern", Json::parse(R"({"q_proj": 4})"));
  refused("use_dora", true);
  refused("layers_to_transform", Json::parse("[0, 1]"));
  refused("layers_to_transform", 3);
  refused("layer_replication", Json::parse("[[0, 4], [2, 5]]"));
  refused("exclude_modules", Json::parse(R"(["q_proj"])"));
  refused("lora_bias", true);
  refused("use_qalora", true);
  refused("target_parameters", Json::parse(R"(["experts.gate_up_proj"])"));
  refused("trainable_token_indices", Json::parse("[1, 2]"));
  refused("target_modules", Json::parse(R"(["q_proj", "lm_head"])"));
  refused("target_modules", Json::parse(R"(["self_attn.q_proj"])"));
  refused("target_modules", ".*(q|v)_proj");
  refused("target_modules", nullptr);
  refused("peft_type", "LOHA");
  refused("r", 0);
  refused("lora_alpha", "16");
  refused("lora_dropout", 1.5);
  refused("use_rslora", "yes");

  Json no_type = Json::parse(kPeftWritten);
  no_type.erase("peft_type");
  expect_error([&] { LoraConfig::from_adapter_config(no_type, "a"); }, "missing field 'peft_type'");
  expect_error([&] { LoraConfig::from_adapter_config(Json::array(), "a"); }, "expected a JSON object");
}
