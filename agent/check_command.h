// `hearth-agent check`: one evaluation, printed; nothing is sent.
#pragma once

#include <string>
#include <vector>

#include "hearth/agent/cli.h"
#include "hearth/result.h"

namespace hearth::agent {

int RunCheckCommand(const std::vector<std::string>& args, const CliEnvironment& env);

// A check's name as the person reads it ("Disk encryption", translated); its id when the
// registry has no name for it.
std::string CheckDisplayName(const std::string& id);
// A verdict as the person reads it ("PASS", translated).
const char* VerdictLabel(Verdict v);

// The report as a table a person can read; `color` adds ANSI colours for a terminal.
std::string FormatReportText(const Report& report, bool color);

}  // namespace hearth::agent
