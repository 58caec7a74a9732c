// Test helpers: a temporary directory removed on destruction, file writing, running a binary.
#pragma once

#include <string>
#include <vector>

namespace hearth::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/rel, creating parent directories. Returns the full path.
  std::string write(const std::string& rel, const std::string& content) const;
  std::string mkdir(const std::string& rel) const;
  std::string symlink(const std::string& rel, const std::string& target) const;

 private:
  std::string path_;
};

struct ProcessOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] absolute) and captures its output; for CLI tests.
ProcessOutput RunProcess(const std::vector<std::string>& argv);

bool RunningAsRoot();

}  // namespace hearth::testing
