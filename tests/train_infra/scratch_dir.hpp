#pragma once
// A fresh directory under the system temp dir for one test, removed at the end.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace r1::test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() / ("r1_" + name + "_" + std::to_string(entropy()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    const auto target = file(name);
    std::ofstream out(target, std::ios::binary);
    out << bytes;
    return target;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace r1::test
