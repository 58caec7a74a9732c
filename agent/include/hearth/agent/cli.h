// The hearth-agent command line. main() only forwards to RunAgentCli.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace hearth::agent {

// Exit codes of `check`: 0 compliant, 1 not compliant, 2 usage or configuration error.
constexpr int kExitCompliant = 0;
constexpr int kExitNotCompliant = 1;
constexpr int kExitUsage = 2;

struct CliEnvironment {
  std::ostream& out;
  std::ostream& err;
  bool out_is_terminal = false;  // a readable table with colour; otherwise plain text
  std::string default_policy_path = "/etc/hearth/policy.json";
  std::string default_state_dir = "/var/lib/hearth";
  std::string default_config_path = "/etc/hearth/agent.conf";
  std::string default_enroll_file = "/etc/hearth/enroll.conf";
};

int RunAgentCli(const std::vector<std::string>& args, const CliEnvironment& env);

}  // namespace hearth::agent
