// The hearth-server command line. main() only forwards to RunServerCli.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace hearth::server {

struct ServerCliEnvironment {
  std::ostream& out;
  std::ostream& err;
  std::string default_state_dir = "/var/lib/hearth-server";
  // Read when it exists and --config is not given (a missing default file means defaults).
  std::string default_config = "/etc/hearth/server.conf";
};

// Who runs this command line, for the audit log: "cli:<unix user>" (of the effective uid).
// Commands that change or export anything (e.g. `backup`) append an AuditEntry with it through
// Store::appendAudit.
std::string CliActor();

// Exit codes: 0 success, 1 runtime failure (database, network), 2 usage or configuration error.
int RunServerCli(const std::vector<std::string>& args, const ServerCliEnvironment& env);

}  // namespace hearth::server
