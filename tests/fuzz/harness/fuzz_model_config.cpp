// A model's config.json (HF LlamaConfig / Qwen2Config) as ModelConfig reads it.
#include <cstdint>

#include "fuzz_support.hpp"
#include "r1/model/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  r1::fuzz::run_expecting_errors([&] {
    const auto config = r1::ModelConfig::from_json(r1::parse_json(r1::fuzz::as_text(data, size), "config.json"),
                                                   "config.json");
    // What loads must write back and load again to the same config.
    const auto again = r1::ModelConfig::from_json(config.to_json(), "round trip");
    if (again.to_json() != config.to_json()) r1::fuzz::property_failed("config.json round trip changed the config");
  });
  return 0;
}
