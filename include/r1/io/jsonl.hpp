#pragma once
// JSON Lines (https://jsonlines.org): one JSON value a line, UTF-8, '\n'
// separated. Reading is line by line with a bounded line length, so a file
// without newlines cannot make the reader allocate without limit; blank lines
// (only spaces, tabs or '\r') are skipped; errors name the file and the line.
//
//   r1::JsonlReader reader{"train.jsonl"};
//   r1::Json record;
//   while (reader.next(record)) use(record, reader.where());
//
//   r1::JsonlWriter writer{"out.jsonl"};
//   writer.write({{"prompt", "1+1="}, {"answer", "2"}});  // flushed per line
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/core/json.hpp"

namespace r1 {

// 64 MiB: larger than any sane record (a long chain of thought is ~100 KiB), small
// enough that a corrupt file fails fast instead of exhausting memory.
inline constexpr std::size_t kDefaultJsonlMaxLineBytes = std::size_t{64} << 20;

class JsonlReader {
 public:
  explicit JsonlReader(std::string path, std::size_t max_line_bytes = kDefaultJsonlMaxLineBytes)
      : path_(std::move(path)), max_line_bytes_(max_line_bytes), in_(path_, std::ios::binary) {
    require(max_line_bytes_ > 0, path_, ": max_line_bytes must be positive");
    require(in_.is_open(), path_, ": cannot open for reading (", std::strerror(errno), ")");
  }

  // The next non-blank line's text (without '\n' and a trailing '\r'); false at the end.
  bool next_line(std::string& line) {
    while (read_raw_line(line)) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) return true;
    }
    return false;
  }

  // The next non-blank line parsed as JSON; false at the end.
  bool next(Json& record) {
    std::string line;
    if (!next_line(line)) return false;
    record = parse_json(line, where());
    return true;
  }

  // "path:line N" of the line last returned, for error messages.
  std::string where() const { return path_ + ":line " + std::to_string(line_number_); }
  std::size_t line_number() const { return line_number_; }  // 1-based; 0 before the first line
  const std::string& path() const { return path_; }

 private:
  bool read_raw_line(std::string& line) {
    line.clear();
    if (at_end_) return false;
    ++line_number_;
    std::streambuf* buffer = in_.rdbuf();
    bool read_any = false;
    while (true) {
      const auto next = buffer->sbumpc();
      if (next == std::char_traits<char>::eof()) {
        at_end_ = true;
        require(!in_.bad(), where(), ": read error");
        if (!read_any) {
          --line_number_;  // no line was there
          return false;
        }
        break;
      }
      read_any = true;
      const char c = std::char_traits<char>::to_char_type(next);
      if (c == '\n') break;
      require(line.size() < max_line_bytes_, where(), ": line longer than the limit of ", max_line_bytes_,
              " bytes (a missing newline, or raise max_line_bytes)");
      line.push_back(c);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  std::string path_;
  std::size_t max_line_bytes_;
  std::ifstream in_;
  std::size_t line_number_ = 0;
  bool at_end_ = false;
};

// Calls visit(record, where) for every non-blank line of `path`.
inline void for_each_jsonl(const std::string& path, const std::function<void(const Json&, const std::string&)>& visit,
                           std::size_t max_line_bytes = kDefaultJsonlMaxLineBytes) {
  JsonlReader reader{path, max_line_bytes};
  Json record;
  while (reader.next(record)) visit(record, reader.where());
}

// Every non-blank line of `path`, parsed.
inline std::vector<Json> read_jsonl(const std::string& path, std::size_t max_line_bytes = kDefaultJsonlMaxLineBytes) {
  std::vector<Json> records;
  for_each_jsonl(path, [&](const Json& record, const std::string&) { records.push_back(record); }, max_line_bytes);
  return records;
}

// Serialises a value as one JSONL line (no newline). Invalid UTF-8 in a string
// is an r1::Error naming `where`; NaN and infinities become null (JSON has no
// literal for them).
template <class BasicJson>
std::string to_jsonl_line(const BasicJson& value, std::string_view where) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": cannot serialise as JSON: ", e.what());
  }
}

// Appends one JSON value a line and flushes after each, so a crash loses at most
// the line being written and `tail -f` shows progress.
class JsonlWriter {
 public:
  enum class Mode { truncate, append };

  explicit JsonlWriter(std::string path, Mode mode = Mode::truncate) : path_(std::move(path)) {
    const auto flags = std::ios::binary | (mode == Mode::append ? std::ios::app : std::ios::trunc);
    out_.open(path_, flags);
    require(out_.is_open(), path_, ": cannot open for writing (", std::strerror(errno), ")");
  }

  template <class BasicJson>
  void write(const BasicJson& record) {
    write_line(to_jsonl_line(record, path_ + ":line " + std::to_string(lines_written_ + 1)));
  }

  // Writes already-serialised JSON; it must not contain a newline.
  void write_line(std::string_view json_text) {
    require(json_text.find('\n') == std::string_view::npos, path_, ": a JSONL record must not contain a newline");
    out_.write(json_text.data(), static_cast<std::streamsize>(json_text.size()));
    out_.put('\n');
    out_.flush();
    require(out_.good(), path_, ": write failed (disk full?)");
    ++lines_written_;
  }

  std::size_t lines_written() const { return lines_written_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
  std::size_t lines_written_ = 0;
};

// Writes `records` to `path`, one a line (replacing the file).
template <class BasicJson>
void write_jsonl(const std::string& path, const std::vector<BasicJson>& records) {
  JsonlWriter writer{path};
  for (const auto& record : records) writer.write(record);
}

}  // namespace r1
