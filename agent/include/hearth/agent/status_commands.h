// What the person at the PC reads without root: `hearth-agent status` (status.json, in plain
// words or as the object itself) and `hearth-agent show-report` (the last acknowledged report,
// byte for byte).
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

namespace hearth::agent {

// Both return the process's exit code. `status` shows its times as PersonTime (server_view.h)
// relative to `now`; --json keeps them as stored (RFC 3339).
int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err,
                std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err);
// `show-report --pretty`: the same report as a person reads it, each field with what it means,
// in the person's language (the values themselves as sent, in English).
int PrintLastReportPretty(const std::string& state_dir, std::ostream& out, std::ostream& err);
// The pretty form of one report envelope's JSON text (what PrintLastReportPretty prints).
std::string FormatReportPretty(const std::string& envelope);

}  // namespace hearth::agent
