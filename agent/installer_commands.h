// The commands an installer runs (the Windows MSI's custom actions; packaging/windows):
//   preseed-write   writes enroll.conf (docs/rollout.md's keys) from the MSI's public properties,
//                   the secret only in that file (SYSTEM and Administrators only), the server's
//                   CA copied beside it (from --ca-file, or --ca-cert: the DER certificate as
//                   one line of base64, for an MSI that carries it in a property);
//   purge-state     removes the agent's configuration and state (the MSI's PURGE=1).
// Not listed in --help: a person has `enroll` for the same.
#pragma once

#include <string>
#include <vector>

#include "hearth/agent/cli.h"

namespace hearth::agent {

int RunInstallerCommand(const std::string& command, const std::vector<std::string>& args,
                        const CliEnvironment& env);

}  // namespace hearth::agent
