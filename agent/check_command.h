// `hearth-agent check`: one evaluation, printed; nothing is sent.
#pragma once

#include <string>
#include <vector>

#include "hearth/agent/cli.h"
#include "hearth/result.h"

namespace hearth::agent {

int RunCheckCommand(const std::vector<std::string>& args, const CliEnvironment& env);

// The report as a table a person can read; `color` adds ANSI colours for a terminal.
std::string FormatReportText(const Report& report, bool color);

}  // namespace hearth::agent
