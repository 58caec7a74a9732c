// /etc/hearth/agent.conf: `key = value` lines, `#` comments. Unknown keys and bad values are
// errors that name the file, line and key. A missing default file means defaults.
// Durations are written `90s`, `15m`, `1h`, `2d` (a bare number means seconds); sizes `20MiB`,
// `512KiB` or a number of bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "hearth/log.h"
#include "hearth/status.h"

namespace hearth::agent {

struct AgentConfig {
  std::chrono::seconds interval{15 * 60};    // interval: between full check runs
  int splay_percent = 10;                    // splay: ± this share of the interval, random
  std::chrono::seconds heartbeat{60 * 60};   // heartbeat: send even when nothing changed
  std::chrono::seconds check_timeout{300};   // check_timeout: a check taking longer is unknown
  std::chrono::seconds network_debounce{5};  // network_debounce: wait for the network to settle
  std::chrono::seconds retry_cap{15 * 60};   // retry_cap: the longest wait between delivery tries
  std::chrono::seconds connect_timeout{10};  // connect_timeout: TCP + TLS connect to the server
  std::chrono::seconds request_timeout{30};  // request_timeout: one whole request
  // start_jitter: `run --once` waits a random time up to this before its first request, so that
  // many PCs started at the same instant (a timer, a login script) do not arrive together
  // (0 = off; the environment variable HEARTH_START_JITTER overrides it, e.g. in tests)
  std::chrono::seconds start_jitter{10};
  std::string proxy;  // proxy: "" = environment; "none" = no proxy
  std::string fallback_policy = "/etc/hearth/policy.json";  // policy: before the first fetch
  std::string enroll_file = "/etc/hearth/enroll.conf";      // enroll_file: preseeded enrolment
  std::string service_user = "hearth";  // service_user: the unprivileged uploader's account
  // control_socket: where `hearth-agent check-now` asks the daemon for a check ("" = off)
  std::string control_socket = "/run/hearth/agent.sock";
  bool notify = true;                    // notify: desktop notifications for failed checks
  size_t spool_max_reports = 10000;      // spool_max_reports
  size_t spool_max_bytes = 20u << 20;    // spool_max_bytes
  size_t sent_keep_reports = 500;        // sent_keep_reports: acknowledged reports kept (0: none)
  int sent_keep_days = 7;                // sent_keep_days: ... and for at most this many days
  LogLevel log_level = LogLevel::kInfo;  // log_level: error | warning | info | debug
};

// `explicit_path`: the file was named with --config, so it must exist.
// `defaults`: what the file does not set (the OS's paths: on Windows under %ProgramData%).
StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, bool explicit_path,
                                      const AgentConfig& defaults = {});

// Parses "90s", "15m", "1h", "2d", "600" (seconds). Exposed for tests.
StatusOr<std::chrono::seconds> ParseDuration(const std::string& text);
// Parses "20MiB", "512KiB", "1GiB", "1048576". Exposed for tests.
StatusOr<size_t> ParseSize(const std::string& text);

}  // namespace hearth::agent
