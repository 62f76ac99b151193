// safetensors reading and writing: dtype conversions against hand-worked bit
// patterns, write -> read round trips, and every kind of malformed file raising
// r1::Error that names the file (this suite runs under ASan + UBSan).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <unistd.h>
#include <vector>

#include "r1/io/safetensors.hpp"

namespace {

namespace fs = std::filesystem;

fs::path scratch_dir() {
  const fs::path dir = fs::temp_directory_path() / ("r1_test_safetensors_" + std::to_string(::getpid()));
  // Removed when the suite exits.
  static const struct Cleanup {
    fs::path path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{dir};
  fs::create_directories(dir);
  return dir;
}

// A file of an 8-byte little-endian `declared_length` (default: the header's size), the header text, then `data`.
std::string write_raw(const std::string& name, const std::string& header, std::size_t data_bytes,
                      std::uint64_t declared_length = std::numeric_limits<std::uint64_t>::max()) {
  const std::string path = (scratch_dir() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::uint64_t length = declared_length == std::numeric_limits<std::uint64_t>::max() ? header.size() : declared_length;
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(length >> (8 * i)));
  out << header;
  for (std::size_t i = 0; i < data_bytes; ++i) out.put(static_cast<char>(i));
  return path;
}

// Opening (and reading every tensor of) `path` raises r1::Error mentioning the path and `expected`.
void expect_bad_file(const std::string& path, const std::string& expected) {
  INFO("file ", path, ", expected message part '", expected, "'");
  try {
    r1::SafetensorsFile file(path);
    for (const auto& tensor : file.tensors()) file.read(tensor.name);
    FAIL("no error");
  } catch (const r1::Error& e) {
    const std::string message = e.what();
    INFO("message: ", message);
    CHECK(message.find(path) != std::string::npos);
    CHECK(message.find(expected) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("bf16 rounding: nearest, ties to even, specials") {
  // 1 + 2^-8 lies exactly between bf16 neighbours 1 (0x3F80, even) and 1 + 2^-7 (0x3F81).
  CHECK(r1::float_to_bf16(1.0f) == 0x3F80);
  CHECK(r1::float_to_bf16(std::bit_cast<float>(0x3F808000u)) == 0x3F80);
  // 1 + 3 * 2^-8 lies between 0x3F81 (odd) and 0x3F82 (even): ties go to 0x3F82.
  CHECK(r1::float_to_bf16(std::bit_cast<float>(0x3F818000u)) == 0x3F82);
  // Just above the tie rounds up.
  CHECK(r1::float_to_bf16(std::bit_cast<float>(0x3F808001u)) == 0x3F81);
  CHECK(r1::float_to_bf16(-2.0f) == 0xC000);
  CHECK(r1::float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(r1::float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds past the largest bf16
  CHECK(std::isnan(r1::bf16_to_float(r1::float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(r1::bf16_to_float(0x3F81) == 1.0f + 1.0f / 128.0f);
}

TEST_CASE("f16 to f32: normal, subnormal, infinity, NaN") {
  CHECK(r1::f16_to_float(0x3C00) == 1.0f);
  CHECK(r1::f16_to_float(0xC000) == -2.0f);
  CHECK(r1::f16_to_float(0x7BFF) == 65504.0f);                 // largest half
  CHECK(r1::f16_to_float(0x0001) == std::ldexp(1.0f, -24));    // smallest subnormal
  CHECK(r1::f16_to_float(0x03FF) == std::ldexp(1023.0f, -24)); // largest subnormal
  CHECK(r1::f16_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(r1::f16_to_float(0x7E00)));
  CHECK(std::signbit(r1::f16_to_float(0x8000)));
}

TEST_CASE("write then read: F32 bit-exact, BF16 rounded, metadata, 8-byte aligned data") {
  const std::vector<float> a{1.5f, -0.1f, 3e-39f, 65504.25f, 7.0f, 0.3f};
  const std::vector<float> b{std::bit_cast<float>(0x3F818000u), 2.0f};
  const std::vector<r1::SafetensorsTensorView> tensors{{"a", {2, 3}, a}, {"b.weight", {2}, b}};
  const std::string path = (scratch_dir() / "round_trip.safetensors").string();
  r1::write_safetensors(path, tensors, r1::SafetensorsDtype::f32, {{"producer", "r1"}});
  {
    r1::SafetensorsFile file(path);
    CHECK(file.read("a") == a);
    CHECK(file.read("b.weight") == b);
    CHECK(file.find("a")->shape == std::vector<std::int64_t>{2, 3});
    CHECK(file.metadata()["format"] == "pt");
    CHECK(file.metadata()["producer"] == "r1");
  }
  std::ifstream raw(path, std::ios::binary);
  std::uint64_t header_length = 0;
  raw.read(reinterpret_cast<char*>(&header_length), 8);
  CHECK(header_length % 8 == 0);

  r1::write_safetensors(path, tensors, r1::SafetensorsDtype::bf16);
  r1::SafetensorsFile file(path);
  CHECK(file.find("a")->dtype == "BF16");
  const auto read_a = file.read("a");
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(read_a[i] == r1::bf16_to_float(r1::float_to_bf16(a[i])));
  CHECK(file.read("b.weight")[0] == r1::bf16_to_float(0x3F82));
  CHECK_THROWS_AS(r1::write_safetensors(path, tensors, r1::SafetensorsDtype::f16), r1::Error);
  const std::vector<r1::SafetensorsTensorView> wrong{{"a", {4}, a}};
  CHECK_THROWS_AS(r1::write_safetensors(path, wrong), r1::Error);
}

TEST_CASE("F16 tensors read as fp32") {
  // Two halves: 1.0 (0x3C00) and -2.0 (0xC000), little-endian.
  const std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  const std::string path = (scratch_dir() / "half.safetensors").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::uint64_t length = header.size();
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << header;
    const unsigned char data[] = {0x00, 0x3C, 0x00, 0xC0};
    out.write(reinterpret_cast<const char*>(data), 4);
  }
  r1::SafetensorsFile file(path);
  CHECK(file.read("h") == std::vector<float>{1.0f, -2.0f});
}

TEST_CASE("malformed files raise r1::Error naming the file, never crash") {
  const std::string good = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  SUBCASE("truncated below the length field") {
    const std::string path = (scratch_dir() / "short.safetensors").string();
    std::ofstream(path, std::ios::binary) << "abc";
    expect_bad_file(path, "truncated");
  }
  SUBCASE("header length beyond the file") { expect_bad_file(write_raw("long.safetensors", good, 16, 10'000), "exceeds the file"); }
  SUBCASE("header length near 2^64") {
    expect_bad_file(write_raw("huge.safetensors", good, 16, std::numeric_limits<std::uint64_t>::max() - 1), "exceeds the file");
  }
  SUBCASE("data truncated") { expect_bad_file(write_raw("cut.safetensors", good, 12), "run past the data section"); }
  SUBCASE("header not JSON") { expect_bad_file(write_raw("notjson.safetensors", "{\"w\": [", 0), "header: malformed JSON"); }
  SUBCASE("header number too large for a double") {
    // nlohmann throws out_of_range, not parse_error, for 1e999: it escaped as std::terminate.
    expect_bad_file(write_raw("inf.safetensors", R"({"__metadata__":{"x":"y"},"w":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}})", 4),
                    "header: malformed JSON");
  }
  SUBCASE("header nested a million levels") {
    expect_bad_file(write_raw("deep.safetensors", std::string(1'000'000, '['), 0), "nested deeper than");
  }
  SUBCASE("float extent") {
    expect_bad_file(write_raw("float.safetensors", R"({"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})", 16), "non-negative integers");
  }
  SUBCASE("header not an object") { expect_bad_file(write_raw("array.safetensors", "[1,2]", 0), "JSON object"); }
  SUBCASE("offset out of range") {
    expect_bad_file(write_raw("range.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}})", 16),
                    "run past the data section");
  }
  SUBCASE("overlapping tensors") {
    expect_bad_file(write_raw("overlap.safetensors",
                              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              16),
                    "overlap");
  }
  SUBCASE("reversed offsets") {
    expect_bad_file(write_raw("reversed.safetensors", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 16), "reversed");
  }
  SUBCASE("shape disagrees with the byte span") {
    expect_bad_file(write_raw("shape.safetensors", R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", 16), "needs 24 bytes");
  }
  SUBCASE("shape product overflows") {
    expect_bad_file(write_raw("overflow.safetensors",
                              R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}})", 16),
                    "overflows");
  }
  SUBCASE("negative extent") {
    expect_bad_file(write_raw("negative.safetensors", R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16), "non-negative");
  }
  SUBCASE("unknown dtype") {
    expect_bad_file(write_raw("dtype.safetensors", R"({"w":{"dtype":"F99","shape":[4],"data_offsets":[0,16]}})", 16), "unknown dtype");
  }
  SUBCASE("known dtype r1 does not read") {
    expect_bad_file(write_raw("int.safetensors", R"({"w":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", 16), "r1 reads");
  }
  SUBCASE("data_offsets malformed") {
    expect_bad_file(write_raw("offsets.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", 16), "data_offsets");
  }
  SUBCASE("missing dtype") {
    expect_bad_file(write_raw("nodtype.safetensors", R"({"w":{"shape":[4],"data_offsets":[0,16]}})", 16), "dtype");
  }
  SUBCASE("metadata not strings") {
    expect_bad_file(write_raw("meta.safetensors", R"({"__metadata__":{"format":3}})", 0), "__metadata__");
  }
  SUBCASE("missing file") {
    const std::string path = (scratch_dir() / "absent.safetensors").string();
    expect_bad_file(path, "cannot read");
  }
  SUBCASE("a valid file still reads") {
    r1::SafetensorsFile file(write_raw("good.safetensors", good, 16));
    CHECK(file.read("w").size() == 4);
    CHECK_THROWS_AS(file.read("absent"), r1::Error);
  }
}
