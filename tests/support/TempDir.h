#pragma once
// A private temporary directory (config files, captured logs), removed with its contents when
// the object goes away.
#include <string>

namespace ringlb::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path ("" on failure).
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// The whole content of a file ("" if it can't be read).
std::string readFile(const std::string& path);

}  // namespace ringlb::test
