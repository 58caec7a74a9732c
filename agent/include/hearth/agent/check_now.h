// The local "check now" request: the client side of the daemon's control socket (daemon.cc
// serves it; on Windows the service's control pipe, check_now_windows.cc), and the rule both
// apply (CheckNowGate, check_now_gate.cc). Used by `hearth-agent check-now` and by hearth-notify
// when the person clicks "Check again" on a notification.
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "hearth/status.h"

namespace hearth::agent {

// Connects to the daemon's control socket at `socket_path`, which takes no arguments, identifies
// the caller by SO_PEERCRED and allows one request a minute per person. Returns the daemon's
// answer (one line: "ok: checking now; ..." or "busy: ..."), read within 5 seconds. Errors:
// FailedPrecondition when `socket_path` is empty (the socket is turned off), Unavailable when
// nothing listens there ("the agent is not running"), DeadlineExceeded without an answer.
StatusOr<std::string> AskForCheck(const std::string& socket_path);

// `hearth-agent check-now`: AskForCheck, the answer printed to `out`, an error (in the person's
// language) to `err`. 0 when a check was started, 1 otherwise.
int RequestCheckNow(const std::string& socket_path, std::ostream& out, std::ostream& err);

// How often the control socket starts a check, at most.
constexpr int kCheckNowMinSeconds = 60;

// The agent's side of the rule, the same on every OS (daemon.cc's control socket, the Windows
// service's control pipe): one request a minute per person, so one cannot starve another, and
// never more than one check start every 5 seconds in all. Not thread-safe: one per server.
class CheckNowGate {
 public:
  struct Answer {
    bool start = false;  // start a check now
    std::string line;    // what the asker is told: "ok: ...\n" or "busy: ...\n"
  };
  // `person` names who asks (a uid, a Windows user SID); `now` is a steady clock's.
  Answer ask(const std::string& person, std::chrono::steady_clock::time_point now);

 private:
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
  std::optional<std::chrono::steady_clock::time_point> last_any_;
};

}  // namespace hearth::agent
