// Saves stream (issue 22): a trainer checkpoint (policy, reference, AdamW moments) and an HF export
// (model.safetensors in F32 and BF16, and shards) are written in a forked child whose address space is
// capped (RLIMIT_AS) at its size before the save plus a margin a quarter of the model's parameters; the
// files read back equal in the parent. The in-memory serialize() of the same checkpoint fails under the
// same cap, so the cap is tight enough to catch a save that copies the model.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "r1/core/error.hpp"
#include "r1/model/transformer.hpp"
#include "r1/optim/adamw.hpp"
#include "r1/io/checksummed_container.hpp"
#include "r1/train/checkpoint.hpp"

namespace {

using Model = r1::Transformer<r1::cpu>;
namespace fs = std::filesystem;

// 4.5 M parameters (18 MB in F32); the largest tensors, embedding and head, 1 M each.
r1::ModelConfig save_config() {
  r1::ModelConfig config;
  config.model_type = "llama";
  config.vocab_size = 4096;
  config.hidden_size = 256;
  config.intermediate_size = 512;
  config.num_hidden_layers = 4;
  config.num_attention_heads = 4;
  config.num_key_value_heads = 2;
  config.max_position_embeddings = 64;
  config.tie_word_embeddings = false;
  return config;
}

// The address space now (VmSize, /proc/self/statm's first field, in pages).
std::uint64_t address_space_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long long pages = 0;
  const int read = std::fscanf(statm, "%llu", &pages);
  std::fclose(statm);
  return read == 1 ? pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

enum ChildExit { kSaved = 0, kNoMemory = 3, kR1Error = 4, kOtherError = 5, kNoStatm = 6 };

// Runs `save` in a child capped at its address space + `margin_bytes`; returns the child's ChildExit.
int run_capped(std::uint64_t margin_bytes, const std::function<void()>& save) {
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = kSaved;
    const std::uint64_t now = address_space_bytes();
    if (now == 0) ::_exit(kNoStatm);
    const rlimit limit{now + margin_bytes, now + margin_bytes};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(kOtherError);
    try {
      save();
    } catch (const std::bad_alloc&) {
      code = kNoMemory;
    } catch (const r1::Error& error) {
      // An allocation failure inside a library call may surface as an r1::Error; say which.
      std::fprintf(stderr, "child: %s\n", error.what());
      code = kR1Error;
    } catch (...) {
      code = kOtherError;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

struct StandInTrainer {
  Model* policy_;
  Model* reference_;
  r1::AdamW* optimizer_;
  Model& policy() { return *policy_; }
  Model* reference() { return reference_; }
  r1::AdamW& optimizer() { return *optimizer_; }
  std::int64_t current_step() const { return 7; }
  std::int64_t skipped_updates() const { return 0; }
};

}  // namespace

TEST_CASE("checkpoints and HF exports save under an address-space cap far below the model's size") {
  const std::string dir = r1::test::fresh_test_dir("streaming_save", "capped");
  Model policy(save_config());
  policy.init_random(3, 0.05f);
  Model reference = policy;
  reference.init_random(4, 0.05f);
  r1::AdamW optimizer{r1::AdamWConfig{}};
  for (auto& g : policy.flat_gradients()) g = 1e-3f;
  optimizer.step(policy.parameters());  // moments nonzero: 2 more copies of the parameters' size
  StandInTrainer trainer{&policy, &reference, &optimizer};

  const std::uint64_t model_bytes = policy.flat_parameters().size_bytes();
  const std::uint64_t margin = model_bytes / 4;  // 4.5 MB; the checkpoint is 4 x 18 MB
  MESSAGE("model ", model_bytes >> 20, " MiB, checkpoint ~", (4 * model_bytes) >> 20, " MiB, cap margin ",
          margin >> 20, " MiB");

  const std::string checkpoint = dir + "/run.r1ckpt";
  CHECK(run_capped(margin, [&] { r1::save_trainer_checkpoint(checkpoint, trainer); }) == kSaved);
  CHECK(run_capped(margin, [&] { policy.save(dir + "/f32"); }) == kSaved);
  CHECK(run_capped(margin, [&] { policy.save(dir + "/bf16", r1::SafetensorsDtype::bf16); }) == kSaved);
  CHECK(run_capped(margin, [&] { policy.save(dir + "/sharded", r1::SafetensorsDtype::f32, 5'000'000); }) == kSaved);
  // The cap bites: building the same checkpoint in memory, as saves did before, runs out.
  const int in_memory = run_capped(margin, [&] {
    r1::CheckpointWriter writer;
    writer.add_view("policy", std::span<const float>(policy.flat_parameters()));
    writer.add_view("reference", std::span<const float>(reference.flat_parameters()));
    writer.add_stream("optimizer", [&](std::ostream& out) { optimizer.save_state(out); });
    const std::string bytes = writer.serialize();
    if (bytes.empty()) std::abort();
  });
  CHECK(in_memory == kNoMemory);

  // Read back in the parent, uncapped.
  const auto reader = r1::CheckpointReader::from_file(checkpoint);
  const auto same_floats = [](const std::vector<float>& a, std::span<const float> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), b.size_bytes()) == 0;
  };
  CHECK(same_floats(reader.section_array<float>("policy"), policy.flat_parameters()));
  CHECK(same_floats(reader.section_array<float>("reference"), reference.flat_parameters()));
  std::ostringstream state;
  optimizer.save_state(state);
  CHECK(reader.section("optimizer") == state.str());
  CHECK(reader.section_json("state")["step"] == 7);

  for (const char* name : {"f32", "sharded"}) {
    CAPTURE(name);
    const Model loaded = Model::load(dir + "/" + name);
    CHECK(same_floats(std::vector<float>(loaded.flat_parameters().begin(), loaded.flat_parameters().end()),
                      policy.flat_parameters()));
  }
  CHECK(fs::exists(dir + "/sharded/model.safetensors.index.json"));
  const Model bf16 = Model::load(dir + "/bf16");
  const auto values = policy.flat_parameters();
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    mismatches += bf16.flat_parameters()[i] != r1::bf16_to_float(r1::float_to_bf16(values[i])) ? 1 : 0;
  CHECK(mismatches == 0);
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    CHECK_FALSE(entry.path().filename().string().find(".tmp") != std::string::npos);
}

TEST_CASE("a streamed checkpoint is byte for byte the serialized one, and crc32_combine joins checksums") {
  const std::string dir = r1::test::fresh_test_dir("streaming_save", "bytes");
  std::vector<float> values(300'000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f - 7.0f;
  std::string streamed(3'000'001, '\0');  // > the 1 MiB stream buffer, odd length
  for (std::size_t i = 0; i < streamed.size(); ++i) streamed[i] = static_cast<char>(i * 131 % 251);
  r1::CheckpointWriter writer;
  writer.add_json("state", {{"step", 1}});
  writer.add_view("values", std::span<const float>(values));
  writer.add_stream("streamed", [&](std::ostream& out) {
    out.write(streamed.data(), 10);  // a small write into the buffer, then a big one past it
    out.write(streamed.data() + 10, static_cast<std::streamsize>(streamed.size() - 10));
  });
  writer.add_stream("empty", [](std::ostream&) {});
  writer.add("tail", "end");
  const std::string path = dir + "/c.r1ckpt";
  writer.write(path);
  CHECK(r1::read_file_bytes(path) == writer.serialize());
  const auto reader = r1::CheckpointReader::from_file(path);
  CHECK(reader.section("streamed") == streamed);
  CHECK(reader.section("empty").empty());

  for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{4096},
                                streamed.size()}) {
    CAPTURE(cut);
    const std::string_view all(streamed), a = all.substr(0, cut), b = all.substr(cut);
    CHECK(r1::crc32_combine(r1::crc32(a), r1::crc32(b), b.size()) == r1::crc32(all));
  }
  CHECK(r1::crc32("123456789") == 0xCBF43926u);  // slicing-by-8 keeps the check value
}

TEST_CASE("a failed streamed write leaves the previous checkpoint and no temporary") {
  const std::string dir = r1::test::fresh_test_dir("streaming_save", "failure");
  const std::string path = dir + "/c.r1ckpt";
  r1::CheckpointWriter first;
  first.add("version", "1");
  first.write(path);
  r1::CheckpointWriter second;
  second.add("version", "2");
  second.add_stream("optimizer", [](std::ostream& out) {
    out << "partial";
    r1::fail("optimizer: cannot save");
  });
  CHECK_THROWS_WITH_AS(second.write(path), doctest::Contains("optimizer: cannot save"), r1::Error);
  CHECK(r1::CheckpointReader::from_file(path).section("version") == "1");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);
}
