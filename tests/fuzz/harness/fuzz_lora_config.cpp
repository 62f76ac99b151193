// A LoRA adapter's adapter_config.json (PEFT) as load_peft_adapter_config reads it from a directory
// (read_json_file's bounded parse, then LoraConfig::from_adapter_config), and the same bytes as r1's own
// "lora" config section (LoraConfig::from_json). What loads must round-trip through what r1 writes.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_support.hpp"
#include "r1/core/json.hpp"
#include "r1/model/lora_config.hpp"
#include "r1/model/peft_adapter.hpp"

namespace {
bool same_adapter(const r1::LoraConfig& a, const r1::LoraConfig& b) {
  return a.r == b.r && a.alpha == b.alpha && a.dropout == b.dropout && a.use_rslora == b.use_rslora &&
         a.target_modules == b.target_modules;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = r1::fuzz::as_text(data, size);
  r1::fuzz::run_expecting_errors([&] {
    const std::string path = r1::fuzz::write_scratch_file("adapter_config.json", text);
    const auto config = r1::load_peft_adapter_config(std::filesystem::path(path).parent_path().string());
    const auto written = config.to_adapter_config("fuzz/base");
    const auto again = r1::LoraConfig::from_adapter_config(r1::parse_json(written.dump(2), "round trip"), "round trip");
    if (!same_adapter(config, again)) r1::fuzz::property_failed("adapter_config.json round trip changed the adapter");
  });
  r1::fuzz::run_expecting_errors([&] {
    const auto config = r1::LoraConfig::from_json(r1::parse_json(text, "config: 'lora'"), "config: 'lora'");
    const auto again = r1::LoraConfig::from_json(r1::parse_json(config.to_json().dump(), "round trip"), "round trip");
    if (!same_adapter(config, again) || again.seed != config.seed)
      r1::fuzz::property_failed("lora config section round trip changed the config");
    // r1's config written as PEFT's: the same adapter, targets in LoraTarget order (PEFT's are a set).
    auto sorted = config;
    std::sort(sorted.target_modules.begin(), sorted.target_modules.end());
    const auto peft = r1::LoraConfig::from_adapter_config(config.to_adapter_config("m"), "as PEFT");
    if (!same_adapter(sorted, peft))
      r1::fuzz::property_failed("lora config section written as adapter_config.json changed the adapter");
  });
  return 0;
}
