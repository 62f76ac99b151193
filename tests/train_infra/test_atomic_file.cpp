#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <thread>
#include <string>
#include <istream>
#include <span>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/io/checksummed_container.hpp"
#include "r1/train/checkpoint.hpp"
#include "scratch_dir.hpp"

namespace {
r1::CheckpointWriter small_checkpoint() {
  r1::CheckpointWriter writer;
  writer.add("model", std::string("\x01\x02\x03\x00\xff", 5));
  writer.add_json("state", {{"step", 7}});
  writer.add("empty", "");
  return writer;
}
}  // namespace

TEST_CASE("CRC-32 check values") {
  CHECK(r1::crc32("") == 0u);
  CHECK(r1::crc32("123456789") == 0xCBF43926u);  // the catalogue check value of CRC-32/ISO-HDLC
  CHECK(r1::crc32("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
  // Incremental use gives the same result.
  CHECK(r1::crc32("6789", r1::crc32("12345")) == 0xCBF43926u);
}

TEST_CASE("write_file_atomically replaces the file and leaves no temporary") {
  r1::test::ScratchDir dir{"atomic"};
  const auto path = dir.file("state.bin");
  r1::write_file_atomically(path, "first");
  CHECK(r1::read_file_bytes(path) == "first");
  r1::write_file_atomically(path, std::string("second\0with nul", 15));
  CHECK(r1::read_file_bytes(path) == std::string("second\0with nul", 15));
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);  // the temporary was renamed, not left behind

  // A directory that does not exist: an error naming the path; nothing is created.
  CHECK_THROWS_WITH_AS(r1::write_file_atomically(dir.file("missing/state.bin"), "x"),
                       doctest::Contains("state.bin: cannot create the temporary"), r1::Error);
  CHECK_THROWS_WITH_AS(r1::read_file_bytes(dir.file("absent")), doctest::Contains("absent: cannot open"), r1::Error);
}

TEST_CASE("checkpoint container round trip") {
  r1::test::ScratchDir dir{"checkpoint"};
  const auto path = dir.file("run.r1ckpt");
  auto writer = small_checkpoint();
  writer.add_array("weights", std::vector<float>{1.5f, -2.0f, 0.25f});
  writer.write(path);

  const auto reader = r1::CheckpointReader::from_file(path);
  CHECK(reader.names() == std::vector<std::string>{"model", "state", "empty", "weights"});
  CHECK(reader.section("model") == std::string_view("\x01\x02\x03\x00\xff", 5));
  CHECK(reader.section_json("state")["step"] == 7);
  CHECK(reader.section("empty").empty());
  CHECK(reader.section_array<float>("weights") == std::vector<float>{1.5f, -2.0f, 0.25f});
  CHECK_THROWS_WITH_AS(reader.section_array<double>("weights"), doctest::Contains("not a multiple of the element size 8"),
                       r1::Error);
  CHECK_THROWS_WITH_AS(reader.section("optimizer"), doctest::Contains("run.r1ckpt: checkpoint has no section 'optimizer'"),
                       r1::Error);
  CHECK(!reader.has("optimizer"));

  // Layout by hand: 8 magic + 4 version + 4 count, then per section 4 + name + 8 + 4 + data,
  // then a 4-byte trailer: 16 + (21+5) + (21+10) + (21+0) + (23+12) + 4 = 133 bytes
  // ("state" holds {"step":7}, 10 bytes; 3 floats are 12).
  CHECK(r1::read_file_bytes(path).size() == 133);

  CHECK_THROWS_AS(writer.add("model", "again"), r1::Error);
  CHECK_THROWS_AS(writer.add("", "x"), r1::Error);
}

TEST_CASE("a truncated checkpoint is rejected at every length") {
  const std::string bytes = small_checkpoint().serialize();
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    INFO("truncated to ", length, " of ", bytes.size(), " bytes");
    CHECK_THROWS_AS(r1::CheckpointReader::from_bytes(bytes.substr(0, length), "cut.r1ckpt"), r1::Error);
  }
  CHECK_NOTHROW(r1::CheckpointReader::from_bytes(bytes, "whole.r1ckpt"));
  CHECK_THROWS_WITH_AS(r1::CheckpointReader::from_bytes(bytes + "x", "long.r1ckpt"),
                       doctest::Contains("long.r1ckpt: checkpoint checksum mismatch"), r1::Error);
}

TEST_CASE("every single-bit flip of a checkpoint is rejected") {
  // CRC-32 detects every single-bit error, so each flip must be caught (by the
  // magic check, a size check, or a checksum).
  const std::string bytes = small_checkpoint().serialize();
  int accepted = 0;
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string corrupt = bytes;
      corrupt[at] = static_cast<char>(corrupt[at] ^ (1 << bit));
      try {
        r1::CheckpointReader::from_bytes(corrupt, "flipped.r1ckpt");
        ++accepted;
      } catch (const r1::Error&) {
      }
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("a checkpoint whose checksums are consistent but whose sizes lie is still rejected") {
  // Forge a file with a section size past the end and a recomputed trailer:
  // the size check, not the checksum, must stop it.
  std::string forged(r1::kCheckpointMagic);
  const auto append_u32 = [&](std::uint32_t value) {
    for (int i = 0; i < 4; ++i) forged.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  };
  append_u32(r1::kCheckpointVersion);
  append_u32(1);
  append_u32(1);
  forged += "m";
  append_u32(0xFFFFFFF0u);  // data size, low half
  append_u32(0x7FFFFFFFu);  // data size, high half
  append_u32(0);            // section checksum
  append_u32(r1::crc32(forged));
  CHECK_THROWS_WITH_AS(r1::CheckpointReader::from_bytes(forged, "forged.r1ckpt"), doctest::Contains("past the end"),
                       r1::Error);

  std::string wrong_version = small_checkpoint().serialize();
  wrong_version[8] = 2;
  wrong_version.resize(wrong_version.size() - 4);
  const auto trailer = r1::crc32(wrong_version);
  for (int i = 0; i < 4; ++i) wrong_version.push_back(static_cast<char>((trailer >> (8 * i)) & 0xFF));
  CHECK_THROWS_WITH_AS(r1::CheckpointReader::from_bytes(wrong_version, "v2.r1ckpt"),
                       doctest::Contains("checkpoint version 2, this reader knows version 1"), r1::Error);
}

namespace {
// What load_trainer_checkpoint needs of a trainer, with an optimizer that reads nothing.
struct StandInTrainer {
  struct Model {
    std::vector<float> values = std::vector<float>(2, 0.0f);
    std::span<float> flat_parameters() { return values; }
  } model_;
  struct Optimizer {
    void load_state(std::istream&) {}
  } optimizer_;
  std::int64_t step = -1;
  Model& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  void restore_counters(std::int64_t s, std::int64_t) { step = s; }
};
}  // namespace

TEST_CASE("a trainer checkpoint whose state fields have the wrong type is an r1::Error (found by fuzz_checkpoint)") {
  r1::test::ScratchDir dir{"checkpoint_state_types"};
  const auto load = [&](const r1::Json& state) {
    r1::CheckpointWriter writer;
    writer.add_json("state", state);
    writer.add_array("policy", std::vector<float>{1.0f, 2.0f});
    writer.add("optimizer", "");
    const auto path = dir.file("state.r1ckpt");
    writer.write(path);
    StandInTrainer trainer;
    r1::load_trainer_checkpoint(path, trainer);
    return trainer.step;
  };
  const r1::Json good = {{"format", "r1.trainer_checkpoint"}, {"version", 1}, {"step", 4}, {"skipped_updates", 0}};
  CHECK(load(good) == 4);
  // Json::value("version", 0) threw nlohmann's type_error for a string, escaping as std::terminate.
  r1::Json string_version = good;
  string_version["version"] = "1";
  CHECK_THROWS_WITH_AS(load(string_version), doctest::Contains("state.r1ckpt: field 'version' has the wrong type"),
                       r1::Error);
  r1::Json number_format = good;
  number_format["format"] = 3;
  CHECK_THROWS_WITH_AS(load(number_format), doctest::Contains("field 'format' has the wrong type"), r1::Error);
  CHECK_THROWS_WITH_AS(load(r1::Json::array({1})), doctest::Contains("not an r1 trainer checkpoint"), r1::Error);
  r1::Json float_step = good;
  float_step["step"] = 1e300;
  CHECK_THROWS_WITH_AS(load(float_step), doctest::Contains("field 'step' has the wrong type"), r1::Error);
}

TEST_CASE("stale temporaries of a killed writer with the same pid do not block the next write") {
  r1::test::ScratchDir dir{"atomic_stale"};
  const auto path = dir.file("state.bin");
  // Names the next writes of this process would try first.
  for (int n = 0; n < 300; ++n) {
    dir.write(".state.bin.tmp." + std::to_string(::getpid()) + "." + std::to_string(n), "stale");
  }
  r1::write_file_atomically(path, "fresh");
  CHECK(r1::read_file_bytes(path) == "fresh");
}

TEST_CASE("a writer killed mid-checkpoint leaves the previous checkpoint loadable") {
  r1::test::ScratchDir dir{"atomic_kill"};
  const auto path = dir.file("run.r1ckpt");
  r1::CheckpointWriter first;
  first.add("version", "1");
  first.write(path);
  r1::CheckpointWriter second;
  second.add("version", "2");
  second.add("weights", std::string(std::size_t{8} << 20, '\x5a'));  // 8 MiB: each write takes a while
  const std::string second_bytes = second.serialize();

  int saw_second = 0;
  for (const int delay_ms : {0, 2, 5, 20, 60}) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (;;) r1::write_file_atomically(path, second_bytes);  // until killed
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    // Whenever it was killed, the file is one whole checkpoint: the old one or the new one.
    const auto reader = r1::CheckpointReader::from_file(path);
    const auto version = reader.section("version");
    CHECK((version == "1" || version == "2"));
    if (version == "2") {
      ++saw_second;
      CHECK(reader.section("weights").size() == (std::size_t{8} << 20));
    }
  }
  MESSAGE("the new checkpoint was in place after ", saw_second, " of 5 kills");
}
