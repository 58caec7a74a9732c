#include "support/programs.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace hearth::testing {

std::string BuiltProgram(const std::string& built_path) {
  const char* other = std::getenv("HEARTH_TEST_PROGRAMS_FROM");
  if (other == nullptr || *other == '\0') return built_path;
  const std::string tree = std::string(HEARTH_BINARY_DIR) + "/";
  if (built_path.compare(0, tree.size(), tree) != 0) return built_path;
  std::string path = std::string(other);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  path += "/" + built_path.substr(tree.size());
  if (::access(path.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "HEARTH_TEST_PROGRAMS_FROM=%s: no program %s (build it in that tree, or unset "
                 "the variable to test this tree's %s)\n",
                 other, path.c_str(), built_path.c_str());
    std::_Exit(2);
  }
  return path;
}

std::string BuiltLocaleDir() {
  const char* other = std::getenv("HEARTH_TEST_PROGRAMS_FROM");
  std::string tree = other != nullptr && *other != '\0' ? other : HEARTH_BINARY_DIR;
  while (tree.size() > 1 && tree.back() == '/') tree.pop_back();
  return tree + "/locale";
}

const std::string& AgentProgram() {
  static const std::string path = BuiltProgram(HEARTH_BUILT_AGENT);
  return path;
}

const std::string& UploadProgram() {
  static const std::string path = BuiltProgram(HEARTH_BUILT_UPLOAD);
  return path;
}

const std::string& NotifyProgram() {
  static const std::string path = BuiltProgram(HEARTH_BUILT_NOTIFY);
  return path;
}

const std::string& ServerProgram() {
  static const std::string path = BuiltProgram(HEARTH_BUILT_SERVER);
  return path;
}

}  // namespace hearth::testing
