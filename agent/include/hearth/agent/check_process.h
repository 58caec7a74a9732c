// Running the checks without ever blocking the agent on one: each cycle runs in a short-lived
// child process, each check in it under its own timeout. A check that does not finish in time is
// reported unknown ("did not finish within N s") and left behind in the child, which is discarded
// when the cycle ends, so nothing it holds (a hung read, a stuck command) outlives the cycle and
// the daemon's own memory stays small.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "hearth/check.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/policy.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::agent {

struct CheckProcessOptions {
  std::string state_dir;                    // the checks' own state (first-seen dates, caches)
  std::chrono::seconds check_timeout{300};  // per check
  std::set<std::string> only;               // run only these ids (empty: all the policy enables)
  // Desktop notifications for failed required checks (sent from the child, as each person).
  bool notify = false;
  std::string notify_state_file;
  // The daemon's control socket: a notification's "Check again" asks for a check there ("" = no
  // such action).
  std::string control_socket;
  // The person who asked for this run (NotifyOptions.asked_by).
  std::optional<uint32_t> asked_by;
  int interrupt_fd = -1;    // readable → abandon the run (Unavailable "interrupted")
  bool in_process = false;  // tests: run in this process (no timeout isolation)
  // Tests: the checks and the system view (default: those of Checks() and the live system).
  std::function<std::vector<std::unique_ptr<Check>>()> make_checks;
  std::function<std::unique_ptr<SystemView>()> make_view;
};

// The `check --json` object (names kept: local only; filter before sending). What the child logs
// is logged through `log`, each line at its level.
StatusOr<json::Value> RunChecksIsolated(const Policy& policy, const CheckProcessOptions& options,
                                        Logger& log);

// The run itself, apart from the caller (RunChecksIsolated without in_process): on Linux a forked
// child whose one result frame is read back (check_process_linux.cc); on Windows, which has no
// fork, the calling process with per-check timeouts (check_process_windows.cc: a check that
// hangs leaves a thread behind until the process ends; `run --once` ends, the service does not).
StatusOr<json::Value> RunChecksInChild(const Policy& policy, const CheckProcessOptions& options,
                                       Logger& log);
// Runs the checks in the calling process with per-check timeouts (threads); a timed-out check's
// thread is detached, so call this only in a process that is discarded afterwards.
json::Value RunChecksWithTimeouts(const SystemView& view, const Policy& policy,
                                  const CheckProcessOptions& options, Logger& log);

}  // namespace hearth::agent
