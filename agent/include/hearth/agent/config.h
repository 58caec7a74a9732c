// /etc/hearth/agent.conf: `key = value` lines, `#` comments. Unknown keys are errors that name
// the file, line and key. A missing default file means defaults.
#pragma once

#include <string>

#include "hearth/status.h"

namespace hearth::agent {

struct AgentConfig {
  std::string proxy;                                        // "" = environment; "none" = no proxy
  std::string fallback_policy = "/etc/hearth/policy.json";  // used before the first policy fetch
};

// `explicit_path`: the file was named with --config, so it must exist.
StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, bool explicit_path);

}  // namespace hearth::agent
