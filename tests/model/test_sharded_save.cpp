// Sharded HF checkpoints written by r1 (write_checkpoint_tensors, Transformer::save with a shard
// limit): save -> load is bit-exact through shards in F32 and BF16; shard names, grouping and the
// index follow transformers' save_pretrained; every shard is checked here by parsing the bytes with
// nothing from r1's safetensors code (8-byte little-endian header length, JSON header, contiguous
// data); re-saving a directory in the other layout leaves nothing stale for the loader, and a write
// that fails names the file and leaves the previous checkpoint loadable.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "r1/core/json.hpp"
#include "r1/io/checkpoint_dir.hpp"
#include "r1/model/transformer.hpp"

namespace {

namespace fs = std::filesystem;
using Model = r1::Transformer<r1::cpu>;

std::string fresh_dir(const std::string& name) { return r1::test::fresh_test_dir("sharded_save", name); }

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::set<std::string> file_names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// One tensor of a shard as its header declares it.
struct HeaderTensor {
  std::string name, dtype;
  std::uint64_t elements = 1, begin = 0, end = 0;
};

// A shard parsed from its bytes by the safetensors spec (github.com/huggingface/safetensors, "Format"):
// u64 little-endian header length n, n bytes of JSON, then the data section. Checks the structure:
// __metadata__ {"format": "pt"}, offsets in range, each span the size its shape and dtype need, and the
// spans tiling the data section from 0 without gaps or overlaps. Tensors come back in offset order.
struct ParsedShard {
  std::vector<HeaderTensor> tensors;
  std::string data;  // the data section
};

ParsedShard parse_shard(const fs::path& path) {
  INFO("shard ", path.string());
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  REQUIRE(header_length <= bytes.size() - 8);
  const r1::Json header = r1::Json::parse(bytes.substr(8, static_cast<std::size_t>(header_length)));
  ParsedShard shard;
  shard.data = bytes.substr(8 + static_cast<std::size_t>(header_length));
  REQUIRE(header.is_object());
  REQUIRE(header.contains("__metadata__"));
  CHECK(header["__metadata__"]["format"] == "pt");
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    HeaderTensor tensor;
    tensor.name = name;
    tensor.dtype = entry.at("dtype").get<std::string>();
    for (const auto& extent : entry.at("shape")) tensor.elements *= extent.get<std::uint64_t>();
    tensor.begin = entry.at("data_offsets")[0].get<std::uint64_t>();
    tensor.end = entry.at("data_offsets")[1].get<std::uint64_t>();
    const std::uint64_t element_size = tensor.dtype == "F32" ? 4 : tensor.dtype == "BF16" ? 2 : 0;
    CHECK(element_size != 0);
    CHECK(tensor.end - tensor.begin == tensor.elements * element_size);
    shard.tensors.push_back(tensor);
  }
  std::sort(shard.tensors.begin(), shard.tensors.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
  std::uint64_t expected_begin = 0;
  for (const auto& tensor : shard.tensors) {
    CHECK(tensor.begin == expected_begin);
    expected_begin = tensor.end;
  }
  CHECK(expected_begin == shard.data.size());
  return shard;
}

// A directory's sharded checkpoint, parsed and cross-checked against its index: weight_map names every
// tensor once and only the shard whose header holds it, total_size is the sum of the tensors' bytes, and
// the shard names are model-0000i-of-0000N.safetensors for i = 1..N.
std::vector<ParsedShard> parse_sharded_dir(const std::string& dir) {
  const r1::Json index = r1::Json::parse(read_bytes(fs::path(dir) / "model.safetensors.index.json"));
  const auto& weight_map = index.at("weight_map");
  std::set<std::string> shard_names;
  for (const auto& [tensor, file] : weight_map.items()) shard_names.insert(file.get<std::string>());
  const std::size_t count = shard_names.size();
  std::vector<ParsedShard> shards;
  std::uint64_t total_bytes = 0;
  std::size_t tensors_in_headers = 0;
  for (std::size_t i = 1; i <= count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i, count);
    INFO("expected shard ", name);
    REQUIRE(shard_names.count(name) == 1);
    shards.push_back(parse_shard(fs::path(dir) / name));
    for (const auto& tensor : shards.back().tensors) {
      CHECK(weight_map.at(tensor.name) == name);
      total_bytes += tensor.end - tensor.begin;
    }
    tensors_in_headers += shards.back().tensors.size();
  }
  CHECK(tensors_in_headers == weight_map.size());  // with the line above: each tensor in exactly one shard
  CHECK(index.at("metadata").at("total_size").get<std::uint64_t>() == total_bytes);
  return shards;
}

void check_same_parameters(Model& a, Model& b) {
  REQUIRE(a.flat_parameters().size() == b.flat_parameters().size());
  CHECK(std::memcmp(a.flat_parameters().data(), b.flat_parameters().data(), a.flat_parameters().size_bytes()) == 0);
}

std::vector<r1::SafetensorsTensorView> views_of(Model& model) {
  std::vector<r1::SafetensorsTensorView> views;
  for (const auto& p : model.parameters()) views.push_back({p.name, p.shape, p.value});
  return views;
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const r1::Error& e) {
    return e.what();
  }
  FAIL("no r1::Error");
  return {};
}

}  // namespace

TEST_CASE("sharded save -> load is bit-exact in F32 and BF16, shards greedy in r1's tensor order") {
  for (const auto& config : {r1::test::tiny_llama(), r1::test::tiny_qwen2()}) {
    for (const auto dtype : {r1::SafetensorsDtype::f32, r1::SafetensorsDtype::bf16}) {
      CAPTURE(config.model_type);
      CAPTURE(r1::to_string(dtype));
      Model model(config);
      r1::test::fill_for_test(model, 21);
      const std::uint64_t element_size = dtype == r1::SafetensorsDtype::f32 ? 4 : 2;
      // A limit of a quarter of the weights (and above the largest tensor) forces several shards.
      std::uint64_t total = 0, largest = 0;
      for (const auto& p : model.parameters()) {
        total += p.value.size() * element_size;
        largest = std::max<std::uint64_t>(largest, p.value.size() * element_size);
      }
      const auto limit = static_cast<std::int64_t>(std::max(total / 4, largest));
      const std::string dir = fresh_dir(config.model_type + "_" + std::string(r1::to_string(dtype)));
      model.save(dir, dtype, limit);
      CHECK(!fs::exists(fs::path(dir) / "model.safetensors"));

      Model loaded = Model::load(dir);
      if (dtype == r1::SafetensorsDtype::f32) {
        check_same_parameters(model, loaded);
      } else {
        // The same bits a single-file BF16 save gives (itself tested against RNE in test_checkpoint).
        const std::string single = fresh_dir(config.model_type + "_single_bf16");
        model.save(single, dtype);
        Model reference = Model::load(single);
        check_same_parameters(reference, loaded);
      }

      const auto shards = parse_sharded_dir(dir);
      CHECK(shards.size() >= 4);
      // Greedy in order: shards concatenated give r1's tensor order; none exceeds the limit; and the
      // first tensor of each shard would have tipped the one before over it.
      std::vector<std::string> order;
      std::vector<std::uint64_t> shard_bytes;
      for (const auto& shard : shards) {
        shard_bytes.push_back(shard.data.size());
        CHECK(shard.data.size() <= static_cast<std::uint64_t>(limit));
        for (const auto& tensor : shard.tensors) order.push_back(tensor.name);
      }
      std::vector<std::string> expected_order;
      for (const auto& p : model.parameters()) expected_order.push_back(p.name);
      CHECK(order == expected_order);
      for (std::size_t s = 1; s < shards.size(); ++s) {
        const auto& first = shards[s].tensors.front();
        CHECK(shard_bytes[s - 1] + (first.end - first.begin) > static_cast<std::uint64_t>(limit));
      }
      // The F32 bytes are the model's floats, byte for byte, at the offsets the headers give.
      if (dtype == r1::SafetensorsDtype::f32) {
        std::size_t t = 0;
        for (const auto& shard : shards)
          for (const auto& tensor : shard.tensors) {
            const auto p = model.parameters()[t++];
            CHECK(std::memcmp(shard.data.data() + tensor.begin, p.value.data(), p.value.size_bytes()) == 0);
          }
      }
    }
  }
}

TEST_CASE("a limit forcing 3 shards: names, grouping, index, and an oversized tensor alone") {
  // F32 sizes 40, 40, 120, 40, 40 bytes under a limit of 80: [a b] fills shard 1 exactly, the
  // 120-byte tensor exceeds the limit and sits alone (transformers: "it will end up in its own
  // sub-checkpoint"), [c d] fills shard 3.
  std::vector<float> values(70);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25f - 3.0f;
  const std::span<const float> all(values);
  const std::vector<r1::SafetensorsTensorView> tensors = {
      {"a", {10}, all.subspan(0, 10)},     {"b", {2, 5}, all.subspan(10, 10)}, {"big", {3, 10}, all.subspan(20, 30)},
      {"c", {10}, all.subspan(50, 10)},    {"d", {10, 1}, all.subspan(60, 10)}};
  const std::string dir = fresh_dir("three");
  r1::write_checkpoint_tensors(dir, tensors, r1::SafetensorsDtype::f32, 80);

  CHECK(file_names(dir) == std::set<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                                 "model-00003-of-00003.safetensors", "model.safetensors.index.json"});
  const r1::Json index = r1::Json::parse(read_bytes(fs::path(dir) / "model.safetensors.index.json"));
  CHECK(index == r1::Json::parse(R"({"metadata": {"total_size": 280},
      "weight_map": {"a": "model-00001-of-00003.safetensors", "b": "model-00001-of-00003.safetensors",
                     "big": "model-00002-of-00003.safetensors",
                     "c": "model-00003-of-00003.safetensors", "d": "model-00003-of-00003.safetensors"}})"));
  const auto shards = parse_sharded_dir(dir);
  REQUIRE(shards.size() == 3);
  CHECK(shards[1].tensors.size() == 1);
  CHECK(shards[1].data.size() == 120);
  // Read back through the loader.
  r1::CheckpointTensors checkpoint(dir);
  std::vector<float> out(30);
  checkpoint.read("big", {3, 10}, out);
  CHECK(std::equal(out.begin(), out.end(), values.begin() + 20));

  SUBCASE("plan_checkpoint_shards edge cases") {
    const auto plan = [](std::vector<std::uint64_t> bytes, std::int64_t limit) {
      return r1::plan_checkpoint_shards(bytes, limit);
    };
    using Plan = std::vector<std::vector<std::size_t>>;
    CHECK(plan({}, 10) == Plan{});
    CHECK(plan({5, 5, 5}, 10) == Plan{{0, 1}, {2}});
    CHECK(plan({11, 3, 11, 11, 3}, 10) == Plan{{0}, {1}, {2}, {3}, {4}});  // oversized ones alone, order kept
    CHECK(plan({3, 11, 3, 4}, 10) == Plan{{0}, {1}, {2, 3}});
    CHECK(plan({10, 0, 1}, 10) == Plan{{0, 1}, {2}});  // an empty tensor joins the full shard
    CHECK_THROWS_AS(plan({1}, 0), r1::Error);
    CHECK_THROWS_AS(plan({1}, -5), r1::Error);
  }
  SUBCASE("shard names") {
    CHECK(r1::checkpoint_shard_name(0, 3) == "model-00001-of-00003.safetensors");
    CHECK(r1::checkpoint_shard_name(41, 123) == "model-00042-of-00123.safetensors");
    CHECK(r1::is_checkpoint_shard_name("model-00042-of-00123.safetensors"));
    CHECK_FALSE(r1::is_checkpoint_shard_name("model.safetensors"));
    CHECK_FALSE(r1::is_checkpoint_shard_name("model-0042-of-00123.safetensors"));
    CHECK_FALSE(r1::is_checkpoint_shard_name("model-00042-of-00123.safetensors.tmp"));
    CHECK_FALSE(r1::is_checkpoint_shard_name("adapter-00001-of-00002.safetensors"));
  }
}

TEST_CASE("a model within the limit is one model.safetensors, as before") {
  Model model(r1::test::tiny_llama());
  r1::test::fill_for_test(model, 22);
  const std::string dir = fresh_dir("default");
  model.save(dir);  // default limit, 5 GB
  CHECK(file_names(dir) == std::set<std::string>{"config.json", "model.safetensors"});
  std::uint64_t bytes = 0;
  for (const auto& p : model.parameters()) bytes += p.value.size_bytes();
  const std::string exact = fresh_dir("exact");
  model.save(exact, r1::SafetensorsDtype::f32, static_cast<std::int64_t>(bytes));  // fits exactly
  CHECK(file_names(exact) == std::set<std::string>{"config.json", "model.safetensors"});
  model.save(exact, r1::SafetensorsDtype::f32, static_cast<std::int64_t>(bytes) - 1);  // one byte short
  CHECK(file_names(exact) == std::set<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                                   "model-00002-of-00002.safetensors", "model.safetensors.index.json"});
}

TEST_CASE("re-saving a directory in the other layout leaves nothing stale for the loader") {
  // Each save holds different weights, so a stale file picked up shows as a mismatch.
  Model first(r1::test::tiny_qwen2()), second(r1::test::tiny_qwen2()), third(r1::test::tiny_qwen2()),
      fourth(r1::test::tiny_qwen2());
  r1::test::fill_for_test(first, 31);
  r1::test::fill_for_test(second, 32);
  r1::test::fill_for_test(third, 33);
  r1::test::fill_for_test(fourth, 34);
  const std::string dir = fresh_dir("resave");
  // Files that are not r1's checkpoint stay.
  std::ofstream(fs::path(dir) / "tokenizer.json") << "{}";
  std::ofstream(fs::path(dir) / "adapter-00001-of-00002.safetensors") << "not ours";
  const std::set<std::string> others = {"config.json", "tokenizer.json", "adapter-00001-of-00002.safetensors"};
  const auto with_others = [&](std::set<std::string> names) {
    names.insert(others.begin(), others.end());
    return names;
  };

  first.save(dir, r1::SafetensorsDtype::f32, 2000);  // sharded: several files
  const auto first_files = file_names(dir);
  CHECK(first_files.count("model.safetensors.index.json") == 1);
  CHECK(first_files.size() > others.size() + 3);
  {
    Model loaded = Model::load(dir);
    check_same_parameters(first, loaded);
  }

  second.save(dir);  // single file over shards: index and shards go
  CHECK(file_names(dir) == with_others({"model.safetensors"}));
  {
    Model loaded = Model::load(dir);
    check_same_parameters(second, loaded);
  }

  third.save(dir, r1::SafetensorsDtype::f32, 4000);  // shards over a single file: model.safetensors goes
  CHECK(file_names(dir).count("model.safetensors") == 0);
  {
    Model loaded = Model::load(dir);
    check_same_parameters(third, loaded);
    parse_sharded_dir(dir);
  }

  fourth.save(dir, r1::SafetensorsDtype::f32, 2000);  // more shards over fewer: the old -of-0000N ones go
  std::size_t shard_files = 0;
  for (const auto& name : file_names(dir)) {
    if (!r1::is_checkpoint_shard_name(name)) continue;
    ++shard_files;
    CHECK(first_files.count(name) == 1);  // same limit as the first save: the same names, no others
  }
  CHECK(file_names(dir) == first_files);
  CHECK(shard_files == parse_sharded_dir(dir).size());
  Model loaded = Model::load(dir);
  check_same_parameters(fourth, loaded);
}

TEST_CASE("a failed sharded write names the file and leaves the previous checkpoint loadable") {
  Model old_model(r1::test::tiny_llama()), new_model(r1::test::tiny_llama());
  r1::test::fill_for_test(old_model, 41);
  r1::test::fill_for_test(new_model, 42);
  std::uint64_t bytes = 0;
  for (const auto& p : old_model.parameters()) bytes += p.value.size_bytes();
  // A limit a little over a third of the weights gives 3 shards (checked below).
  const auto limit = static_cast<std::int64_t>(bytes / 3 + 2000);

  SUBCASE("writing a shard fails: the previous sharded checkpoint is untouched") {
    const std::string dir = fresh_dir("fail_write");
    old_model.save(dir, r1::SafetensorsDtype::f32, limit);
    const auto before = file_names(dir);
    REQUIRE(before.count("model-00003-of-00003.safetensors") == 1);
    // A directory where the second shard's temporary goes makes opening it fail.
    fs::create_directories(fs::path(dir) / "model-00002-of-00003.safetensors.tmp" / "blocker");
    const std::string message = error_of([&] { new_model.save(dir, r1::SafetensorsDtype::f32, limit); });
    CHECK(message.find("model-00002-of-00003.safetensors") != std::string::npos);
    auto after = file_names(dir);
    after.erase("model-00002-of-00003.safetensors.tmp");
    CHECK(after == before);  // the first shard's temporary was removed too
    Model loaded = Model::load(dir);
    check_same_parameters(old_model, loaded);
  }
  SUBCASE("moving a shard into place fails: the previous single file still loads") {
    const std::string dir = fresh_dir("fail_rename");
    old_model.save(dir);
    fs::create_directories(fs::path(dir) / "model-00002-of-00003.safetensors" / "blocker");
    const std::string message = error_of([&] { new_model.save(dir, r1::SafetensorsDtype::f32, limit); });
    CHECK(message.find("model-00002-of-00003.safetensors") != std::string::npos);
    for (const auto& name : file_names(dir)) CHECK_FALSE(name.ends_with(".tmp"));
    Model loaded = Model::load(dir);
    check_same_parameters(old_model, loaded);
  }
  SUBCASE("moving a shard into place fails over old shards: loading refuses instead of mixing") {
    const std::string dir = fresh_dir("fail_rename_sharded");
    old_model.save(dir, r1::SafetensorsDtype::f32, bytes / 2 + 2000);  // 2 shards
    REQUIRE(file_names(dir).count("model-00002-of-00002.safetensors") == 1);
    fs::create_directories(fs::path(dir) / "model-00002-of-00003.safetensors" / "blocker");
    CHECK_THROWS_AS(new_model.save(dir, r1::SafetensorsDtype::f32, limit), r1::Error);
    CHECK_THROWS_AS(Model::load(dir), r1::Error);
  }
}

TEST_CASE("a non-positive shard size is an r1::Error and writes nothing") {
  Model model(r1::test::tiny_llama());
  const std::string dir = fresh_dir("bad_limit");
  for (const std::int64_t limit : {0LL, -1LL}) {
    CAPTURE(limit);
    CHECK(error_of([&] { model.save(dir, r1::SafetensorsDtype::f32, limit); }).find("max shard size") != std::string::npos);
    CHECK_THROWS_AS(r1::write_checkpoint_tensors(dir, views_of(model), r1::SafetensorsDtype::f32, limit), r1::Error);
  }
  CHECK(file_names(dir).empty());
}

TEST_CASE("parse_byte_size: HF-style sizes, and bad ones name the flag") {
  CHECK(r1::parse_byte_size("5GB", "--max-shard-size") == 5'000'000'000);
  CHECK(r1::parse_byte_size("500MB", "x") == 500'000'000);
  CHECK(r1::parse_byte_size("1.5GB", "x") == 1'500'000'000);
  CHECK(r1::parse_byte_size(" 64 kb ", "x") == 64'000);
  CHECK(r1::parse_byte_size("2GiB", "x") == 2'147'483'648);
  CHECK(r1::parse_byte_size("3MiB", "x") == 3 * 1048576);
  CHECK(r1::parse_byte_size("1048577", "x") == 1'048'577);
  CHECK(r1::parse_byte_size("7B", "x") == 7);
  CHECK(r1::parse_byte_size("1TB", "x") == 1'000'000'000'000);
  for (const char* bad : {"0", "-5GB", "0.1", "", "GB", "abc", "5XB", "5 G B", "1e3", "nan", "inf", "99999999TB"}) {
    CAPTURE(bad);
    const std::string message = error_of([&] { r1::parse_byte_size(bad, "--max-shard-size"); });
    CHECK(message.find("--max-shard-size") != std::string::npos);
  }
}
