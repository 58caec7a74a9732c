// Runs the policy's checks against a SystemView and assembles the report.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hearth/check.h"
#include "hearth/policy.h"
#include "hearth/result.h"
#include "hearth/system_view.h"

namespace hearth {

struct RunOptions {
  std::string state_dir;         // passed to checks as CheckParams::state_dir
  bool state_read_only = false;  // CheckParams::state_read_only
};

// Runs every check the policy enables, in the order of `checks`. A check that returns an error
// becomes an unknown result whose summary gives the reason. Never fails.
Report RunChecks(const SystemView& system, const Policy& policy,
                 const std::vector<std::unique_ptr<Check>>& checks, const RunOptions& options);

// Puts the policy's words for people into `report`: its description, whom to ask (helpdesk)
// and each check's help page. Called by RunChecks; for code that assembles a report itself.
void AddCompanyWords(const Policy& policy, Report& report);

// Hostname, OS name (os-release PRETTY_NAME) and kernel release, each "" if unreadable.
HostInfo CollectHostInfo(const SystemView& system);

}  // namespace hearth
