// `hearth-agent check-now` on Windows: the service's control pipe (\\.\pipe\hearth-agent-control),
// its server side here and its client in check_now_windows.cc (RequestCheckNow, check_now.h).
//
// The pipe admits SYSTEM, Administrators and interactive users (anyone signed in at the PC or
// over Remote Desktop), local clients only, and no one but the service may create an instance of
// it (each instance is made with FILE_FLAG_FIRST_PIPE_INSTANCE: a process that took the name
// first makes the service refuse it and say so). One request per connection: the client writes
// "check-now\n" (at most 64 bytes, within 2 s), the service answers one line with
// CheckNowGate's rule and texts, the same as the Linux daemon's control socket.
#pragma once

#include <windows.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "hearth/agent/check_now.h"
#include "hearth/log.h"
#include "hearth/status.h"

namespace hearth::agent {

extern const wchar_t kControlPipeName[];

// Serves the control pipe on a thread of its own until destroyed. Thread-safe.
class ControlPipe {
 public:
  // Errors: the pipe could not be made (Unavailable: the name is taken by another process, or
  // the system refused).
  static StatusOr<std::unique_ptr<ControlPipe>> Start(Logger& log);
  ~ControlPipe();
  ControlPipe(const ControlPipe&) = delete;
  ControlPipe& operator=(const ControlPipe&) = delete;

  // An auto-reset event, set when a request was granted (a check is due now).
  HANDLE requested() const { return requested_; }
  // The Windows session of whoever was granted the last check (NotifyOptions.asked_by on
  // Windows, where a Desktop's uid is its session id); cleared.
  std::optional<uint32_t> takeAsker();

 private:
  ControlPipe(Logger& log, HANDLE first);
  void serve();
  void handle(HANDLE pipe);

  Logger& log_;
  HANDLE first_;                // the first instance, made by Start
  HANDLE stop_ = nullptr;       // manual-reset: the destructor ends the thread
  HANDLE requested_ = nullptr;  // auto-reset
  std::mutex mu_;
  std::optional<uint32_t> asker_;
  CheckNowGate gate_;
  std::thread thread_;
};

// The service's control pipe unless agent.conf turns it off (`control_socket =` with no value;
// a path there is the Linux socket and is ignored here); nullptr, with the reason logged, when
// off or when it could not be made.
std::unique_ptr<ControlPipe> OpenControlPipe(const std::string& control_socket, Logger& log);

}  // namespace hearth::agent
