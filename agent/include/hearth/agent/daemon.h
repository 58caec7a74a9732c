// `hearth-agent run`: the daemon (foreground; systemd supervises).
//
// One thread, one poll loop over: a signalfd (SIGTERM/SIGINT stop within a second, SIGHUP reloads
// agent.conf, SIGUSR1 checks now), the cycle timer (CLOCK_BOOTTIME, so a suspended PC runs the
// overdue cycle as soon as it resumes), a CLOCK_REALTIME cancel-on-set timer (woken on resume and
// clock steps: a resume triggers a full cycle once the network settled), a netlink route socket
// (links, addresses, routes: debounced, then only the vpn check re-runs), and the delivery retry
// timer (exponential backoff with full jitter, Retry-After honoured). Between those it sleeps:
// no polling, no periodic wakeups of its own.
#pragma once

#include <iosfwd>
#include <string>

#include "hearth/agent/config.h"

namespace hearth::agent {

struct DaemonOptions {
  std::string state_dir = "/var/lib/hearth";
  std::string config_path = "/etc/hearth/agent.conf";
  bool config_explicit = false;
  AgentConfig config_defaults;  // what agent.conf does not set (the OS's paths)
  // Tests: the checks without a child process.
  bool isolate_checks = true;
};

// Returns the process exit code: 0 after SIGTERM/SIGINT, 2 for a configuration error at start.
int RunDaemon(const DaemonOptions& options, std::ostream& err);

}  // namespace hearth::agent
