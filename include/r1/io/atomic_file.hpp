#pragma once
// Crash-safe files: checkpoints, models, metrics and plots are written through these.
//
// write_file_atomically: a reader sees the old file or the new one, never a
// mix, and after it returns the new one survives a power cut: write a temporary
// in the same directory, fsync it, rename it over the target (atomic within one
// file system, POSIX rename(2)), then fsync the directory so the rename itself
// is durable.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

// A file written in pieces that replaces `path` atomically and durably on commit(), by the steps of
// write_file_atomically; destroyed before commit() (an exception while writing), it removes its temporary
// and `path` is untouched. Big checkpoints stream through it, so no save holds a second copy of what it
// writes (issue 22).
//
//   r1::AtomicFileWriter file("run/model.safetensors");
//   file.write(header);
//   file.write(tensor_bytes);   // as many pieces as needed
//   file.commit();
class AtomicFileWriter {
 public:
  // The temporary is a fresh name beside `path` (pid and a per-process counter; a stale temporary left
  // by a killed process with a reused pid is stepped over).
  explicit AtomicFileWriter(std::string path) : path_(std::move(path)) {
    const std::filesystem::path target{path_};
    require(target.has_filename(), path_, ": expected a file path");
    directory_ = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    static std::atomic<std::uint64_t> counter{0};
    for (int attempt = 0; attempt < 1000 && descriptor_ < 0; ++attempt) {
      std::string temporary_name = ".";
      temporary_name += target.filename().string();
      temporary_name += ".tmp.";
      temporary_name += std::to_string(::getpid());
      temporary_name += '.';
      temporary_name += std::to_string(counter.fetch_add(1));
      temporary_ = directory_ / temporary_name;
      descriptor_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (descriptor_ < 0 && errno != EEXIST) break;
    }
    require(descriptor_ >= 0, path_, ": cannot create the temporary ", temporary_.string(), " (", std::strerror(errno),
            ")");
  }
  // With a temporary of the caller's choosing (truncated if it exists), e.g. "model.safetensors.tmp".
  AtomicFileWriter(std::string path, const std::filesystem::path& temporary) : path_(std::move(path)), temporary_(temporary) {
    const std::filesystem::path target{path_};
    require(target.has_filename(), path_, ": expected a file path");
    directory_ = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    descriptor_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    require(descriptor_ >= 0, path_, ": cannot create the temporary ", temporary_.string(), " (", std::strerror(errno),
            ")");
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter() {
    if (committed_) return;
    if (descriptor_ >= 0) ::close(descriptor_);
    ::unlink(temporary_.c_str());
  }

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }

  // Appends `bytes`.
  void write(std::string_view bytes) {
    require(descriptor_ >= 0, path_, ": write after finish");
    detail::write_all(descriptor_, bytes, temporary_.string());
    size_ += bytes.size();
  }
  // Overwrites bytes already written at `offset` (a size or checksum known only after its data).
  void write_at(std::uint64_t offset, std::string_view bytes) {
    require(descriptor_ >= 0, path_, ": write after finish");
    require(offset <= size_ && bytes.size() <= size_ - offset, path_, ": write_at [", offset, ", ",
            offset + bytes.size(), ") past the ", size_, " bytes written");
    while (!bytes.empty()) {
      const ssize_t written = ::pwrite(descriptor_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (written < 0 && errno == EINTR) continue;
      require(written > 0, temporary_.string(), ": write failed (", std::strerror(errno), ")");
      bytes.remove_prefix(static_cast<std::size_t>(written));
      offset += static_cast<std::uint64_t>(written);
    }
  }
  // fsync and close the temporary: it is whole on disk, not yet in place.
  void finish() {
    if (descriptor_ < 0) return;
    const int descriptor = std::exchange(descriptor_, -1);
    if (::fsync(descriptor) != 0) {
      const int saved_errno = errno;
      ::close(descriptor);
      fail(temporary_.string(), ": fsync failed (", std::strerror(saved_errno), ")");
    }
    require(::close(descriptor) == 0, temporary_.string(), ": close failed (", std::strerror(errno), ")");
  }
  // finish(), rename over `path`, fsync the directory. On failure the temporary is removed.
  void commit() {
    finish();
    if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
      const int saved_errno = errno;
      fail(path_, ": cannot rename the temporary into place (", std::strerror(saved_errno), ")");
    }
    committed_ = true;
    detail::fsync_directory(directory_);
  }

 private:
  std::string path_;
  std::filesystem::path directory_, temporary_;
  int descriptor_ = -1;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

// Replaces `path` with `bytes` atomically and durably (see the top of this file).
// On failure the previous file is untouched and the temporary is removed.
inline void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter file(path);
  file.write(bytes);
  file.commit();
}

// A whole file's bytes; errors name the file.
inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.is_open(), path, ": cannot open for reading (", std::strerror(errno), ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  require(!in.bad(), path, ": read error");
  return bytes;
}

}  // namespace r1
