// The agent's commands other than `check` on Windows: not there yet (issue 17 brings the service,
// the network side and enrolment). Each says so, with the usage exit code.
#include <ostream>

#include "agent_commands.h"

namespace hearth::agent {

int RunAgentCommand(const std::string& command, const std::vector<std::string>& /*args*/,
                    const CliEnvironment& env) {
  env.err << "hearth-agent: \"" << command
          << "\" is not available on Windows yet; only \"check\" is (issue 17)\n";
  return kExitUsage;
}

}  // namespace hearth::agent
