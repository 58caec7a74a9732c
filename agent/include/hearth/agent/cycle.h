// One agent cycle (`hearth-agent run --once`): refresh the signed policy, run the checks, spool
// the filtered report durably, then deliver the whole spool in sequence order until it is empty
// or the first failure. The reports stay spooled when the server is unreachable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "hearth/agent/config.h"
#include "hearth/status.h"

namespace hearth::agent {

struct CycleOptions {
  std::string state_dir;
  AgentConfig config;          // policy fallback, proxy, timeouts, spool bounds, service_user
  bool isolate_checks = true;  // the checks in a disposable child process
};

struct CycleOutcome {
  bool checked = false;
  int64_t sequence = 0;
  size_t delivered = 0;
  size_t spool_depth = 0;
  std::string delivery_error;  // empty when the spool was emptied
  bool retired = false;        // the server says this device is retired
};

// Logs to `log` (the terminal's form of hearth::Logger, at config.log_level).
StatusOr<CycleOutcome> RunCycle(const CycleOptions& options, std::ostream& log);

}  // namespace hearth::agent
