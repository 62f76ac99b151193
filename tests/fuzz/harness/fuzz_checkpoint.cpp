// Trainer checkpoints: the checksummed section container (io/checksummed_container.hpp)
// and what load_trainer_checkpoint reads from it (the "state" JSON, the "policy"
// floats, the optimizer state), into a small stand-in trainer.
//
// A random byte string almost never carries valid CRC-32s, so inputs whose first
// byte is odd have their checksums recomputed first: the fuzzer then reaches the
// sections' contents, not only the checksum checks.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/io/checksummed_container.hpp"
#include "r1/train/checkpoint.hpp"

namespace {

// Rewrites the section checksums and the file checksum of `bytes` in place,
// walking the layout as CheckpointReader does and stopping where it is broken.
void fix_checksums(std::string& bytes) {
  const auto read = [&](std::size_t at, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    return value;
  };
  const auto write32 = [&](std::size_t at, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
  };
  if (bytes.size() < 8 + 8 + 4) return;
  const std::size_t body = bytes.size() - 4;
  std::size_t at = 8 + 4;
  const auto count = read(at, 4);
  at += 4;
  for (std::uint64_t s = 0; s < count; ++s) {
    if (body - at < 4) break;
    const auto name_size = read(at, 4);
    at += 4;
    if (body - at < name_size) break;
    at += name_size;
    if (body - at < 12) break;
    const auto data_size = read(at, 8);
    at += 8;
    const std::size_t crc_at = at;
    at += 4;
    if (body - at < data_size) break;
    write32(crc_at, r1::crc32(std::string_view(bytes).substr(at, data_size)));
    at += data_size;
  }
  write32(body, r1::crc32(std::string_view(bytes).substr(0, body)));
}

struct StandInModel {
  std::vector<float> values = std::vector<float>(5, 0.25f);
  std::span<float> flat_parameters() { return values; }
};

struct StandInTrainer {
  StandInModel model_;
  r1::AdamW optimizer_;
  std::int64_t step = 0, optimizer_steps_ = 0, skipped = 0;
  StandInModel& model() { return model_; }
  r1::AdamW& optimizer() { return optimizer_; }
  std::int64_t optimizer_steps() const { return optimizer_steps_; }
  void restore_counters(std::int64_t s, std::int64_t o, std::int64_t k) { step = s, optimizer_steps_ = o, skipped = k; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(r1::fuzz::as_text(data + 1, size - 1));
  if (data[0] & 1) fix_checksums(bytes);
  r1::fuzz::run_expecting_errors([&] {
    const auto reader = r1::CheckpointReader::from_bytes(bytes, "fuzz.r1ckpt");
    for (const auto& name : reader.names()) {
      (void)reader.section(name);
      r1::fuzz::run_expecting_errors([&] { (void)reader.section_json(name); });
      r1::fuzz::run_expecting_errors([&] { (void)reader.section_array<float>(name); });
      r1::fuzz::run_expecting_errors([&] { (void)reader.section_array<std::uint64_t>(name); });
    }
  });
  const std::string path = r1::fuzz::write_scratch_file("checkpoint.r1ckpt", bytes);
  StandInTrainer trainer;
  r1::fuzz::run_expecting_errors([&] { r1::load_trainer_checkpoint(path, trainer); });
  return 0;
}
