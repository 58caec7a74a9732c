// What the person at the PC reads without root: `hearth-agent status` (status.json, in plain
// words or as the object itself) and `hearth-agent show-report` (the last acknowledged report,
// byte for byte).
#pragma once

#include <iosfwd>
#include <string>

namespace hearth::agent {

// Both return the process's exit code.
int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err);
int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err);

}  // namespace hearth::agent
