#include "support/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/process.h"

namespace hearth::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hearth-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& content) const {
  std::filesystem::path p = std::filesystem::path(path_) / rel;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  return p.string();
}

std::string TempDir::mkdir(const std::string& rel) const {
  std::filesystem::path p = std::filesystem::path(path_) / rel;
  std::filesystem::create_directories(p);
  return p.string();
}

std::string TempDir::symlink(const std::string& rel, const std::string& target) const {
  std::filesystem::path p = std::filesystem::path(path_) / rel;
  std::filesystem::create_directories(p.parent_path());
  std::filesystem::create_symlink(target, p);
  return p.string();
}

ProcessOutput RunProcess(const std::vector<std::string>& argv) {
  Command c;
  c.argv = argv;
  c.timeout = std::chrono::seconds(120);
  if (const char* tmp = std::getenv("TMPDIR")) c.env["TMPDIR"] = tmp;
  // `run --once` starts at once in tests (set by ctest; docs/agent-delivery.md, start_jitter).
  if (const char* j = std::getenv("HEARTH_START_JITTER")) c.env["HEARTH_START_JITTER"] = j;
  // The sanitizer build's settings (scripts/test --asan): where reports go, suppressions, and
  // verify_asan_link_order=0 for the programs run under libfaketime's LD_PRELOAD.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) c.env[name] = v;
  }
  auto r = RunCommand(c);
  ProcessOutput o;
  if (!r.ok()) {
    o.err = r.status().toString();
    return o;
  }
  o.exit_code = r->exit_code;
  o.out = r->out;
  o.err = r->err;
  return o;
}

bool RunningAsRoot() { return ::geteuid() == 0; }

}  // namespace hearth::testing
