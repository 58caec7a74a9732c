// A hearth-server (or any) process for integration tests: started with argv, its stdout read until
// a line announces the listeners, stopped with SIGTERM (then SIGKILL) on destruction. TestServer:
// the set-up every test against a real hearth-server repeats (init a state directory, serve it on
// loopback ports, the admin token, the enrolment secret, the CA).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth::testing {

// In a child just forked from `parent`: the kernel kills it (SIGKILL) when the test program that
// started it dies, so an aborted test leaves no server or agent running. Async-signal-safe.
void KillWhenParentDies(pid_t parent);

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

struct ServeOptions {
  std::string listen = "127.0.0.1:0";        // --listen (the devices' listener)
  std::string admin_listen = "127.0.0.1:0";  // --admin-listen
  std::vector<std::string> extra{};          // more arguments, after the ones above
  // A command the server runs under, e.g. {"/usr/bin/env", "LD_PRELOAD=..."} or {ip, "netns",
  // "exec", name}.
  std::vector<std::string> prefix{};
};

// A hearth-server with its state directory (which init() creates) and, once serve() has run, its
// process. `database` empty: SQLite in the state directory; otherwise a database URI that every
// command gets as --database.
class TestServer {
 public:
  explicit TestServer(std::string state_dir, std::string database = "",
                      std::string binary = hearth::testing::ServerProgram());

  // hearth-server init --state-dir S [--database D] `args`.
  ProcessOutput init(const std::vector<std::string>& args = {}) const;
  // hearth-server `args` --state-dir S [--database D], e.g. cli({"token", "list"}).
  ProcessOutput cli(std::vector<std::string> args) const;
  // Stops the server if it runs, then starts hearth-server serve --state-dir S --listen L
  // --admin-listen A [--database D] `options.extra` with stderr to `log_path`; whether it started
  // (its log says why not).
  bool serve(const std::string& log_path, const ServeOptions& options = {});

  bool started() const { return process_ && process_->started(); }
  // "host:port" of a listener ("devices", "admin") of the running server.
  std::string address(const std::string& name) const;
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  // SIGTERM and wait; the exit status (or -1, also when it does not run).
  int stop();
  void kill9();

  const std::string& stateDir() const { return state_dir_; }
  const std::string& database() const { return database_; }
  std::string caFile() const { return state_dir_ + "/ca.pem"; }
  std::string adminToken() const;    // state_dir/admin-token without its newline
  std::string enrollSecret() const;  // state_dir/enroll-secret without its newline

 private:
  std::vector<std::string> withDatabase(std::vector<std::string> argv) const;

  std::string state_dir_, database_, binary_;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace hearth::testing
