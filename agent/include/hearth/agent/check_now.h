// The local "check now" request: the client side of the daemon's control socket (daemon.cc
// serves it). Used by `hearth-agent check-now` and by hearth-notify when the person clicks
// "Check again" on a notification.
#pragma once

#include <iosfwd>
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

}  // namespace hearth::agent
