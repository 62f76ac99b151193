#pragma once
// Crash-safe files for checkpoints.
//
// write_file_atomically: a reader sees the old file or the new one, never a
// mix, and after it returns the new one survives a power cut: write a temporary
// in the same directory, fsync it, rename it over the target (atomic within one
// file system, POSIX rename(2)), then fsync the directory so the rename itself
// is durable.
//
// CheckpointWriter / CheckpointReader: a container of named byte sections with
// a checksum per section and one over the whole file, whose reader rejects any
// truncated or corrupted file with an r1::Error before handing out a byte.
//
//   r1::CheckpointWriter checkpoint;
//   checkpoint.add("model", model_bytes);
//   checkpoint.add("optimizer", optimizer_bytes);
//   checkpoint.add_json("state", {{"step", 120}});
//   checkpoint.write("run/checkpoint.r1ckpt");      // atomically
//   auto loaded = r1::CheckpointReader::from_file("run/checkpoint.r1ckpt");
//   std::string_view model = loaded.section("model");
//
// Layout, little-endian:
//   magic "R1CKPT\r\n" (8 bytes; the \r\n catches text-mode mangling), version u32,
//   section count u32,
//   per section: name length u32, name, data size u64, CRC-32 of the data u32, data,
//   trailer: CRC-32 of every byte before it u32.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

namespace detail {
inline void write_all(int descriptor, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(descriptor, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    require(written > 0, path, ": write failed (", std::strerror(errno), ")");
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

inline void fsync_directory(const std::filesystem::path& directory) {
  const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  require(descriptor >= 0, directory.string(), ": cannot open the directory to fsync it (", std::strerror(errno), ")");
  const int status = ::fsync(descriptor);
  const int saved_errno = errno;
  ::close(descriptor);
  require(status == 0, directory.string(), ": fsync of the directory failed (", std::strerror(saved_errno), ")");
}
}  // namespace detail

// Replaces `path` with `bytes` atomically and durably (see the top of this file).
// On failure the previous file is untouched and the temporary is removed.
inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::filesystem::path target{path};
  require(target.has_filename(), path, ": expected a file path");
  const std::filesystem::path directory =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  // A name no other writer uses: pid and a per-process counter; a stale
  // temporary left by a killed process with a reused pid is stepped over.
  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path temporary;
  int descriptor = -1;
  for (int attempt = 0; attempt < 1000 && descriptor < 0; ++attempt) {
    std::string temporary_name = ".";
    temporary_name += target.filename().string();
    temporary_name += ".tmp.";
    temporary_name += std::to_string(::getpid());
    temporary_name += '.';
    temporary_name += std::to_string(counter.fetch_add(1));
    temporary = directory / temporary_name;
    descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (descriptor < 0 && errno != EEXIST) break;
  }
  require(descriptor >= 0, path, ": cannot create the temporary ", temporary.string(), " (", std::strerror(errno), ")");
  try {
    detail::write_all(descriptor, bytes, temporary.string());
    require(::fsync(descriptor) == 0, temporary.string(), ": fsync failed (", std::strerror(errno), ")");
    require(::close(descriptor) == 0, temporary.string(), ": close failed (", std::strerror(errno), ")");
  } catch (...) {
    ::close(descriptor);  // may be closed already; EBADF is harmless here
    ::unlink(temporary.c_str());
    throw;
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int saved_errno = errno;
    ::unlink(temporary.c_str());
    fail(path, ": cannot rename the temporary into place (", std::strerror(saved_errno), ")");
  }
  detail::fsync_directory(directory);
}

// A whole file's bytes; errors name the file.
inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.is_open(), path, ": cannot open for reading (", std::strerror(errno), ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(!in.bad(), path, ": read error");
  return bytes;
}

// CRC-32 as in IEEE 802.3 / zlib (reflected polynomial 0xEDB88320, initial and
// final XOR 0xFFFFFFFF); check value CRC-32("123456789") = 0xCBF43926. It detects
// every single-bit error and every burst up to 32 bits.
inline std::uint32_t crc32(std::string_view bytes, std::uint32_t previous = 0) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> entries{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t value = i;
      for (int bit = 0; bit < 8; ++bit) value = (value & 1u) ? (value >> 1) ^ 0xEDB88320u : value >> 1;
      entries[i] = value;
    }
    return entries;
  }();
  std::uint32_t crc = ~previous;
  for (const char c : bytes) crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

inline constexpr std::string_view kCheckpointMagic{"R1CKPT\r\n", 8};
inline constexpr std::uint32_t kCheckpointVersion = 1;
inline constexpr std::size_t kCheckpointMaxNameBytes = 1024;

namespace detail {
template <class Unsigned>
void append_little_endian(std::string& out, Unsigned value) {
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}
}  // namespace detail

class CheckpointWriter {
 public:
  // Adds a section; names are unique, 1..1024 bytes.
  void add(std::string name, std::string_view bytes) {
    require(!name.empty() && name.size() <= kCheckpointMaxNameBytes, "checkpoint section name '", name,
            "': expected 1..", kCheckpointMaxNameBytes, " bytes");
    for (const auto& [existing, data] : sections_) {
      require(existing != name, "checkpoint section '", name, "' added twice");
    }
    sections_.emplace_back(std::move(name), std::string(bytes));
  }
  void add_json(std::string name, const Json& value) { add(std::move(name), value.dump()); }
  // The raw bytes of trivially copyable values (floats, integers), host byte order.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void add_array(std::string name, const std::vector<T>& values) {
    add(std::move(name), std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  }

  std::string serialize() const {
    std::string out(kCheckpointMagic);
    detail::append_little_endian(out, kCheckpointVersion);
    detail::append_little_endian(out, static_cast<std::uint32_t>(sections_.size()));
    for (const auto& [name, data] : sections_) {
      detail::append_little_endian(out, static_cast<std::uint32_t>(name.size()));
      out += name;
      detail::append_little_endian(out, static_cast<std::uint64_t>(data.size()));
      detail::append_little_endian(out, crc32(data));
      out += data;
    }
    detail::append_little_endian(out, crc32(out));
    return out;
  }

  // Serialises and writes `path` atomically.
  void write(const std::string& path) const { write_file_atomically(path, serialize()); }

 private:
  std::vector<std::pair<std::string, std::string>> sections_;
};

class CheckpointReader {
 public:
  // Parses and verifies `bytes`; `where` names the source in errors.
  static CheckpointReader from_bytes(std::string bytes, std::string where) {
    CheckpointReader reader;
    reader.where_ = std::move(where);
    reader.bytes_ = std::move(bytes);
    reader.parse();
    return reader;
  }
  static CheckpointReader from_file(const std::string& path) { return from_bytes(read_file_bytes(path), path); }

  bool has(std::string_view name) const { return find(name) != nullptr; }

  // The bytes of section `name`; valid while the reader lives.
  std::string_view section(std::string_view name) const {
    const Section* found = find(name);
    require(found != nullptr, where_, ": checkpoint has no section '", name, "'");
    return std::string_view(bytes_).substr(found->offset, found->size);
  }
  Json section_json(std::string_view name) const {
    return parse_json(section(name), where_ + ": section '" + std::string(name) + "'");
  }
  // A section written by add_array<T>; its size must be a multiple of sizeof(T).
  template <class T>
    requires std::is_trivially_copyable_v<T>
  std::vector<T> section_array(std::string_view name) const {
    const auto bytes = section(name);
    require(bytes.size() % sizeof(T) == 0, where_, ": section '", name, "' has ", bytes.size(),
            " bytes, not a multiple of the element size ", sizeof(T));
    std::vector<T> values(bytes.size() / sizeof(T));
    if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
    return values;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const auto& section : sections_) names.push_back(section.name);
    return names;
  }

 private:
  struct Section {
    std::string name;
    std::size_t offset;
    std::size_t size;
  };

  const Section* find(std::string_view name) const {
    for (const auto& section : sections_) {
      if (section.name == name) return &section;
    }
    return nullptr;
  }

  // Reads an integer at `at` (little-endian) after checking it lies before `end`.
  template <class Unsigned>
  Unsigned read_little_endian(std::size_t& at, std::size_t end, std::string_view what) const {
    require(at <= end && end - at >= sizeof(Unsigned), where_, ": truncated checkpoint (", bytes_.size(),
            " bytes) while reading ", what, " at byte ", at);
    Unsigned value = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
      value |= static_cast<Unsigned>(static_cast<unsigned char>(bytes_[at + i])) << (8 * i);
    }
    at += sizeof(Unsigned);
    return value;
  }

  void parse() {
    const std::string_view all(bytes_);
    require(all.size() >= kCheckpointMagic.size() && all.substr(0, kCheckpointMagic.size()) == kCheckpointMagic, where_,
            ": not an r1 checkpoint (bad magic; expected \"R1CKPT\\r\\n\")");
    // The whole-file checksum first: it covers every header field, so nothing
    // below trusts a size that a bit flip could have changed.
    constexpr std::size_t kTrailerBytes = 4;
    require(all.size() >= kCheckpointMagic.size() + 8 + kTrailerBytes, where_, ": truncated checkpoint (", all.size(),
            " bytes)");
    const std::size_t body_size = all.size() - kTrailerBytes;
    std::size_t trailer_at = body_size;
    const auto stored_file_crc = read_little_endian<std::uint32_t>(trailer_at, all.size(), "the file checksum");
    require(crc32(all.substr(0, body_size)) == stored_file_crc, where_,
            ": checkpoint checksum mismatch (corrupt or truncated file)");

    std::size_t at = kCheckpointMagic.size();
    const auto version = read_little_endian<std::uint32_t>(at, body_size, "the version");
    require(version == kCheckpointVersion, where_, ": checkpoint version ", version, ", this reader knows version ",
            kCheckpointVersion);
    const auto count = read_little_endian<std::uint32_t>(at, body_size, "the section count");
    for (std::uint32_t s = 0; s < count; ++s) {
      const auto name_size = read_little_endian<std::uint32_t>(at, body_size, "a section name length");
      require(name_size >= 1 && name_size <= kCheckpointMaxNameBytes && body_size - at >= name_size, where_,
              ": section ", s, ": bad name length ", name_size);
      std::string name = bytes_.substr(at, name_size);
      at += name_size;
      require(find(name) == nullptr, where_, ": section '", name, "' appears twice");
      const auto data_size = read_little_endian<std::uint64_t>(at, body_size, "a section size");
      const auto data_crc = read_little_endian<std::uint32_t>(at, body_size, "a section checksum");
      require(at <= body_size && data_size <= body_size - at, where_, ": section '", name, "' claims ", data_size,
              " bytes, past the end of the file");
      const auto size = static_cast<std::size_t>(data_size);
      require(crc32(all.substr(at, size)) == data_crc, where_, ": section '", name, "' checksum mismatch");
      sections_.push_back({std::move(name), at, size});
      at += size;
    }
    require(at == body_size, where_, ": ", body_size - at, " unexpected bytes after the last section");
  }

  std::string where_;
  std::string bytes_;
  std::vector<Section> sections_;
};

}  // namespace r1
