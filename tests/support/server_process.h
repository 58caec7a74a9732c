// A hearth-server (or any) process for integration tests: started with argv, its stdout read
// until a line announces the listeners, stopped with SIGTERM (then SIGKILL) on destruction.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace hearth::testing {

class ServerProcess {
 public:
  // Starts argv and waits (up to `timeout`) for a stdout line starting with "listening ".
  // Stderr goes to `log_path`.
  ServerProcess(const std::vector<std::string>& argv, const std::string& log_path,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool started() const { return !listening_line_.empty(); }
  // "host:port" of `name=` in the listening line (e.g. "devices", "admin").
  std::string address(const std::string& name) const;
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (or -1).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL, no cleanup by the process.
  void kill9();
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string listening_line_;
  std::string log_path_;
};

}  // namespace hearth::testing
