#pragma once
// The binary layout of optimizer state files: a magic tag and a version, then
// little-endian fields, then the CRC-32 of everything before it (r1/io/crc32.hpp,
// the checksum of every r1 binary format).
// Readers check the tag, the version, every size against what they expect, and
// the checksum, and raise r1::Error naming `what` on any mismatch. Arrays are
// read in bounded chunks, so a corrupted size cannot trigger a huge allocation.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/io/crc32.hpp"

namespace r1 {

static_assert(std::endian::native == std::endian::little, "r1 optimizer state files are little-endian");

class StateWriter {
 public:
  StateWriter(std::ostream& out, std::string_view what) : out_(out), what_(what) {}
  void bytes(const void* data, std::size_t size) {
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    require(out_.good(), what_, ": write failed");
    crc_ = crc32(std::string_view(static_cast<const char*>(data), size), crc_);
  }
  template <class T>
  void scalar(T value) { bytes(&value, sizeof value); }
  void text(std::string_view value) {
    scalar<std::uint64_t>(value.size());
    bytes(value.data(), value.size());
  }
  void floats(std::span<const float> values) {
    scalar<std::uint64_t>(values.size());
    bytes(values.data(), values.size() * sizeof(float));
  }
  // Writes the checksum of everything written so far.
  void finish() {
    const std::uint32_t checksum = crc_;
    out_.write(reinterpret_cast<const char*>(&checksum), sizeof checksum);
    require(out_.good(), what_, ": write failed");
  }

 private:
  std::ostream& out_;
  std::string what_;
  std::uint32_t crc_ = 0;
};

class StateReader {
 public:
  StateReader(std::istream& in, std::string_view what) : in_(in), what_(what) {}
  void bytes(void* data, std::size_t size, std::string_view field) {
    in_.read(static_cast<char*>(data), static_cast<std::streamsize>(size));
    require(in_.gcount() == static_cast<std::streamsize>(size), what_, ": truncated while reading ", field);
    crc_ = crc32(std::string_view(static_cast<const char*>(data), size), crc_);
  }
  template <class T>
  T scalar(std::string_view field) {
    T value{};
    bytes(&value, sizeof value, field);
    return value;
  }
  std::string text(std::string_view field, std::size_t max_size = 4096) {
    const auto size = scalar<std::uint64_t>(field);
    require(size <= max_size, what_, ": ", field, " claims ", size, " bytes, more than the limit ", max_size);
    std::string value(size, '\0');
    bytes(value.data(), size, field);
    return value;
  }
  // Reads a float array whose length must equal `expected`.
  std::vector<float> floats(std::string_view field, std::uint64_t expected) {
    const auto size = scalar<std::uint64_t>(field);
    require(size == expected, what_, ": ", field, " has ", size, " values, expected ", expected);
    std::vector<float> values;
    constexpr std::uint64_t chunk = 1 << 20;
    for (std::uint64_t done = 0; done < size;) {
      const std::uint64_t count = std::min(chunk, size - done);
      values.resize(done + count);
      bytes(values.data() + done, count * sizeof(float), field);
      done += count;
    }
    return values;
  }
  void expect_tag(std::string_view tag, std::uint32_t version) {
    std::string found(tag.size(), '\0');
    bytes(found.data(), found.size(), "format tag");
    require(found == tag, what_, ": not a ", tag, " state (format tag mismatch)");
    const auto found_version = scalar<std::uint32_t>("version");
    require(found_version == version, what_, ": format version ", found_version, ", expected ", version);
  }
  // Checks the trailing checksum.
  void finish() {
    const std::uint32_t expected = crc_;
    std::uint32_t stored = 0;
    in_.read(reinterpret_cast<char*>(&stored), sizeof stored);
    require(in_.gcount() == sizeof stored, what_, ": truncated before the checksum");
    require(stored == expected, what_, ": checksum mismatch (the state is corrupted)");
  }

 private:
  std::istream& in_;
  std::string what_;
  std::uint32_t crc_ = 0;
};

}  // namespace r1
