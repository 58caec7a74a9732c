// The hearth-agent commands other than `check`: enroll, run (and run --once), status,
// show-report, check-now (agent_commands.cc). cli.cc dispatches to them.
#pragma once

#include <string>
#include <vector>

#include "hearth/agent/cli.h"

namespace hearth::agent {

int RunAgentCommand(const std::string& command, const std::vector<std::string>& args,
                    const CliEnvironment& env);

}  // namespace hearth::agent
