#pragma once
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
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <ostream>
#include <span>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

#include "r1/io/atomic_file.hpp"
#include "r1/io/crc32.hpp"

namespace r1 {

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
  // Adds a section holding a copy of `bytes`; names are unique, 1..1024 bytes.
  void add(std::string name, std::string_view bytes) {
    check_name(name);
    sections_.push_back({std::move(name), std::string(bytes), {}, {}, false});
  }
  void add_json(std::string name, const Json& value) { add(std::move(name), value.dump()); }
  // The raw bytes of trivially copyable values (floats, integers), host byte order; copied.
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void add_array(std::string name, const std::vector<T>& values) {
    add(std::move(name), std::string_view(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  }
  // The raw bytes of `values`, borrowed, not copied: they must live, unchanged, until write() or
  // serialize() has returned (a model's parameters, saved without a second copy).
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void add_view(std::string name, std::span<const T> values) {
    check_name(name);
    sections_.push_back({std::move(name), {}, std::string_view(reinterpret_cast<const char*>(values.data()),
                                                               values.size_bytes()), {}, true});
  }
  // A section whose bytes `produce` writes to a stream when the file is written (an optimiser's
  // save_state): write() passes them straight to the file, so their size is never held in memory.
  // `produce` must write the same bytes each time it is called.
  void add_stream(std::string name, std::function<void(std::ostream&)> produce) {
    check_name(name);
    require(static_cast<bool>(produce), "checkpoint section '", name, "': no producer");
    sections_.push_back({std::move(name), {}, {}, std::move(produce), false});
  }

  // The whole file in memory (small checkpoints, tests); write() gives the same bytes.
  std::string serialize() const {
    std::string out(kCheckpointMagic);
    detail::append_little_endian(out, kCheckpointVersion);
    detail::append_little_endian(out, static_cast<std::uint32_t>(sections_.size()));
    for (const auto& section : sections_) {
      std::string produced;
      std::string_view data = section.bytes();
      if (section.produce) {
        std::ostringstream stream;
        section.produce(stream);
        require(stream.good(), "checkpoint section '", section.name, "': the producer failed");
        produced = std::move(stream).str();
        data = produced;
      }
      detail::append_little_endian(out, static_cast<std::uint32_t>(section.name.size()));
      out += section.name;
      detail::append_little_endian(out, static_cast<std::uint64_t>(data.size()));
      detail::append_little_endian(out, crc32(data));
      out += data;
    }
    detail::append_little_endian(out, crc32(out));
    return out;
  }

  // Writes `path` atomically (AtomicFileWriter), streaming: sections go to the file as they are, each
  // checksummed once (the whole-file checksum is combined from theirs, crc32_combine), so the extra
  // memory is one 1 MiB buffer, whatever the checkpoint's size.
  void write(const std::string& path) const {
    AtomicFileWriter file(path);
    std::uint32_t file_crc = 0;
    const auto put = [&](std::string_view bytes) {
      file.write(bytes);
      file_crc = crc32(bytes, file_crc);
    };
    std::string head(kCheckpointMagic);
    detail::append_little_endian(head, kCheckpointVersion);
    detail::append_little_endian(head, static_cast<std::uint32_t>(sections_.size()));
    put(head);
    for (const auto& section : sections_) {
      head.clear();
      detail::append_little_endian(head, static_cast<std::uint32_t>(section.name.size()));
      head += section.name;
      put(head);
      std::uint64_t size = 0;
      std::uint32_t data_crc = 0;
      const std::uint64_t fields_at = file.size();
      std::string fields;
      if (section.produce) {
        file.write(std::string_view("\0\0\0\0\0\0\0\0\0\0\0\0", 12));  // size and checksum, filled in below
        SectionStreamBuffer buffer(file);
        std::ostream stream(&buffer);
        stream.exceptions(std::ios::badbit);  // a failed file write reaches the caller as its own r1::Error
        section.produce(stream);
        stream.flush();
        require(stream.good(), path, ": checkpoint section '", section.name, "': the producer failed");
        size = buffer.size();
        data_crc = buffer.crc();
        detail::append_little_endian(fields, size);
        detail::append_little_endian(fields, data_crc);
        file.write_at(fields_at, fields);
      } else {
        const std::string_view data = section.bytes();
        size = data.size();
        data_crc = crc32(data);
        detail::append_little_endian(fields, size);
        detail::append_little_endian(fields, data_crc);
        file.write(fields);
        file.write(data);
      }
      file_crc = crc32_combine(crc32(fields, file_crc), data_crc, size);
    }
    std::string trailer;
    detail::append_little_endian(trailer, file_crc);
    file.write(trailer);
    file.commit();
  }

 private:
  struct Section {
    std::string name;
    std::string owned;
    std::string_view view;
    std::function<void(std::ostream&)> produce;
    bool borrowed = false;
    std::string_view bytes() const { return borrowed ? view : std::string_view(owned); }
  };

  // Passes a section's bytes to the file in 1 MiB pieces (big writes directly), checksumming them.
  class SectionStreamBuffer : public std::streambuf {
   public:
    explicit SectionStreamBuffer(AtomicFileWriter& file) : file_(file), buffer_(std::size_t{1} << 20) {
      setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    std::uint64_t size() const { return size_; }
    std::uint32_t crc() const { return crc_; }

   protected:
    int_type overflow(int_type c) override {
      drain();
      if (!traits_type::eq_int_type(c, traits_type::eof())) {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
      }
      return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* data, std::streamsize count) override {
      if (count >= static_cast<std::streamsize>(buffer_.size() / 2)) {
        drain();
        pass(std::string_view(data, static_cast<std::size_t>(count)));
        return count;
      }
      return std::streambuf::xsputn(data, count);
    }
    int sync() override {
      drain();
      return 0;
    }

   private:
    void drain() {
      pass(std::string_view(pbase(), static_cast<std::size_t>(pptr() - pbase())));
      setp(buffer_.data(), buffer_.data() + buffer_.size());
    }
    void pass(std::string_view bytes) {
      if (bytes.empty()) return;
      crc_ = crc32(bytes, crc_);
      size_ += bytes.size();
      file_.write(bytes);
    }
    AtomicFileWriter& file_;
    std::vector<char> buffer_;
    std::uint64_t size_ = 0;
    std::uint32_t crc_ = 0;
  };

  void check_name(const std::string& name) const {
    require(!name.empty() && name.size() <= kCheckpointMaxNameBytes, "checkpoint section name '", name,
            "': expected 1..", kCheckpointMaxNameBytes, " bytes");
    for (const auto& section : sections_) require(section.name != name, "checkpoint section '", name, "' added twice");
  }

  std::vector<Section> sections_;
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

// A checkpoint read from its file without holding the file in memory (a 0.5B model's trainer checkpoint
// is 8 GB): opening checks the magic, the whole-file checksum (one streaming pass, 1 MiB at a time) and the
// section table, each size against the file, before any section is handed out; sections are then read
// into the caller's memory (checked against their own checksum) or streamed.
//
//   r1::CheckpointFileReader checkpoint("run/checkpoint.r1ckpt");
//   checkpoint.read_array<float>("policy", model.flat_parameters());
//   checkpoint.stream_section("optimizer", [&](std::istream& in) { optimizer.load_state(in); });
class CheckpointFileReader {
 public:
  explicit CheckpointFileReader(std::string path) : path_(std::move(path)) {
    in_.open(path_, std::ios::binary);
    require(in_.is_open(), path_, ": cannot open for reading (", std::strerror(errno), ")");
    in_.seekg(0, std::ios::end);
    const auto end = in_.tellg();
    require(end >= 0, path_, ": cannot read the file size");
    size_ = static_cast<std::uint64_t>(end);
    in_.seekg(0);
    std::string magic(kCheckpointMagic.size(), '\0');
    require(size_ >= kCheckpointMagic.size() && read_at(0, magic.data(), magic.size()) && magic == kCheckpointMagic, path_,
            ": not an r1 checkpoint (bad magic; expected \"R1CKPT\\r\\n\")");
    constexpr std::uint64_t kTrailerBytes = 4;
    require(size_ >= kCheckpointMagic.size() + 8 + kTrailerBytes, path_, ": truncated checkpoint (", size_, " bytes)");
    const std::uint64_t body = size_ - kTrailerBytes;
    // The whole-file checksum first: it covers every header field, so nothing below trusts a size a bit
    // flip could have changed.
    std::vector<char> chunk(std::size_t{1} << 20);
    std::uint32_t crc = 0;
    for (std::uint64_t at = 0; at < body;) {
      const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), body - at));
      require(read_at(at, chunk.data(), count), path_, ": read failed at byte ", at);
      crc = crc32(std::string_view(chunk.data(), count), crc);
      at += count;
    }
    require(crc == little_endian<std::uint32_t>(body, body + kTrailerBytes, "the file checksum"), path_,
            ": checkpoint checksum mismatch (corrupt or truncated file)");
    std::uint64_t at = kCheckpointMagic.size();
    const auto version = next<std::uint32_t>(at, body, "the version");
    require(version == kCheckpointVersion, path_, ": checkpoint version ", version, ", this reader knows version ",
            kCheckpointVersion);
    const auto count = next<std::uint32_t>(at, body, "the section count");
    for (std::uint32_t s = 0; s < count; ++s) {
      const auto name_size = next<std::uint32_t>(at, body, "a section name length");
      require(name_size >= 1 && name_size <= kCheckpointMaxNameBytes && body - at >= name_size, path_, ": section ", s,
              ": bad name length ", name_size);
      std::string name(name_size, '\0');
      require(read_at(at, name.data(), name_size), path_, ": read failed at byte ", at);
      at += name_size;
      require(!has(name), path_, ": section '", name, "' appears twice");
      const auto data_size = next<std::uint64_t>(at, body, "a section size");
      const auto data_crc = next<std::uint32_t>(at, body, "a section checksum");
      require(data_size <= body - at, path_, ": section '", name, "' claims ", data_size, " bytes, past the end of the file");
      sections_.push_back({std::move(name), at, data_size, data_crc});
      at += data_size;
    }
    require(at == body, path_, ": ", body - at, " unexpected bytes after the last section");
  }

  const std::string& path() const { return path_; }
  bool has(std::string_view name) const { return find(name) != nullptr; }
  std::uint64_t section_size(std::string_view name) const { return get(name).size; }

  // Section `name` into `out`, which must be its size exactly; its checksum is checked.
  void read_section(std::string_view name, std::span<char> out) {
    const Section& section = get(name);
    require(out.size() == section.size, path_, ": section '", name, "' holds ", section.size, " bytes, expected ",
            out.size());
    require(read_at(section.offset, out.data(), out.size()), path_, ": section '", name, "': read failed");
    require(crc32(std::string_view(out.data(), out.size())) == section.crc, path_, ": section '", name,
            "' checksum mismatch");
  }
  template <class T>
    requires std::is_trivially_copyable_v<T>
  void read_array(std::string_view name, std::span<T> out) {
    const Section& section = get(name);
    require(section.size == out.size_bytes(), path_, ": section '", name, "' holds ", section.size / sizeof(T),
            " values, expected ", out.size());
    read_section(name, std::span<char>(reinterpret_cast<char*>(out.data()), out.size_bytes()));
  }
  std::string section(std::string_view name) {
    std::string bytes(static_cast<std::size_t>(get(name).size), '\0');
    read_section(name, bytes);
    return bytes;
  }
  Json section_json(std::string_view name) { return parse_json(section(name), path_ + ": section '" + std::string(name) + "'"); }

  // `consume` reads section `name` from a stream (1 MiB buffered), for a reader that takes an istream (an
  // optimiser's load_state): the bytes are not all held at once. The whole-file checksum, checked when the
  // file was opened, covers them.
  void stream_section(std::string_view name, const std::function<void(std::istream&)>& consume) {
    const Section& section = get(name);
    SectionReadBuffer buffer(*this, section);
    std::istream stream(&buffer);
    consume(stream);
  }

 private:
  struct Section {
    std::string name;
    std::uint64_t offset = 0, size = 0;
    std::uint32_t crc = 0;
  };

  class SectionReadBuffer : public std::streambuf {
   public:
    SectionReadBuffer(CheckpointFileReader& file, const Section& section)
        : file_(file), next_(section.offset), end_(section.offset + section.size), buffer_(std::size_t{1} << 20) {}

   protected:
    int_type underflow() override {
      if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
      if (next_ >= end_) return traits_type::eof();
      const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), end_ - next_));
      require(file_.read_at(next_, buffer_.data(), count), file_.path_, ": read failed at byte ", next_);
      next_ += count;
      setg(buffer_.data(), buffer_.data(), buffer_.data() + count);
      return traits_type::to_int_type(*gptr());
    }

   private:
    CheckpointFileReader& file_;
    std::uint64_t next_, end_;
    std::vector<char> buffer_;
  };

  const Section* find(std::string_view name) const {
    for (const auto& section : sections_)
      if (section.name == name) return &section;
    return nullptr;
  }
  const Section& get(std::string_view name) const {
    const Section* found = find(name);
    require(found != nullptr, path_, ": checkpoint has no section '", name, "'");
    return *found;
  }
  bool read_at(std::uint64_t offset, char* out, std::size_t count) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(out, static_cast<std::streamsize>(count));
    return in_.good() || (in_.gcount() == static_cast<std::streamsize>(count));
  }
  template <class Unsigned>
  Unsigned little_endian(std::uint64_t at, std::uint64_t end, std::string_view what) {
    require(at <= end && end - at >= sizeof(Unsigned), path_, ": truncated checkpoint (", size_, " bytes) while reading ",
            what, " at byte ", at);
    unsigned char bytes[sizeof(Unsigned)];
    require(read_at(at, reinterpret_cast<char*>(bytes), sizeof(Unsigned)), path_, ": read failed at byte ", at);
    Unsigned value = 0;
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) value |= static_cast<Unsigned>(bytes[i]) << (8 * i);
    return value;
  }
  template <class Unsigned>
  Unsigned next(std::uint64_t& at, std::uint64_t end, std::string_view what) {
    const auto value = little_endian<Unsigned>(at, end, what);
    at += sizeof(Unsigned);
    return value;
  }

  std::string path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::vector<Section> sections_;
};

}  // namespace r1
