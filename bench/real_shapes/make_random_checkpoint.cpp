// make_random_checkpoint: an HF-layout model folder of a real checkpoint's shape with random weights, for
// measuring r1 at that shape without downloading the weights (issue 22).
//
//   make_random_checkpoint --config bench/real_shapes/qwen2.5-0.5b.config.json --out ckpt/qwen2.5-0.5b
//
// Writes OUT/model.safetensors in BF16 (as the published checkpoints are) from r1::Transformer<r1::cpu>'s
// init_random (normal(0, initializer_range) matrices, unit norms, zero biases), then OUT/config.json: the
// given file byte for byte, so every field of the real config (vocab padding, rope_theta,
// max_position_embeddings, sliding-window flags, ...) reaches the reader, not r1's own subset of them.
// The weights carry no information; the shapes, dtypes and tensor names are the real ones.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"
#include "r1/core/timer.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/io/safetensors.hpp"
#include "r1/model/config.hpp"
#include "r1/model/transformer.hpp"

namespace {

struct Options {
  std::string config, out;
  std::uint64_t seed = 1;
};

void make_random_checkpoint(const Options& options) {
  const std::string config_text = r1::read_file_bytes(options.config);
  const r1::Json config_json = r1::parse_json(config_text, options.config);
  const r1::ModelConfig config = r1::ModelConfig::from_json(config_json, options.config);
  // HF's _init_weights draws from normal(0, initializer_range); r1 reads no such field, so it is taken here.
  const auto stddev = static_cast<float>(r1::json_field_or<double>(config_json, "initializer_range", 0.02, options.config));

  const r1::Stopwatch watch;
  r1::Transformer<r1::cpu> model(config);  // fp32 parameters and gradients: 8 bytes a parameter while it lives
  model.init_random(options.seed, stddev);
  const double init_seconds = watch.elapsed_seconds();
  model.save(options.out, r1::SafetensorsDtype::bf16);
  r1::write_file_atomically((std::filesystem::path(options.out) / "config.json").string(), config_text);

  const auto parameters = model.parameter_count();
  std::printf("make_random_checkpoint: %s: %lld parameters (%.3f GB in BF16), init %.1f s, save %.1f s\n",
              options.out.c_str(), static_cast<long long>(parameters), 2.0 * static_cast<double>(parameters) / 1e9,
              init_seconds, watch.elapsed_seconds() - init_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"An HF-layout model folder (config.json + BF16 model.safetensors) of a given shape, random weights"};
  Options options;
  app.add_option("--config", options.config, "HF config.json of the shape (copied as is)")->required();
  app.add_option("--out", options.out, "Output folder")->required();
  app.add_option("--seed", options.seed, "Philox seed of the weights");
  CLI11_PARSE(app, argc, argv);
  try {
    make_random_checkpoint(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "make_random_checkpoint: %s\n", error.what());
    return 1;
  }
  return 0;
}
