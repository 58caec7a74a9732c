// `hearth-server report compliance --from --to [--format csv|json] [--output FILE]`: the period
// report for auditors (hearth/server/report.h), the same bytes as GET /api/v1/compliance-report.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include "cli_commands.h"
#include "hearth/server/report.h"

namespace hearth::server::cli {

int CmdReport(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  if (sub != "compliance" || a.positional().size() > 2) {
    env.err << "hearth-server: report needs \"compliance --from DATE --to DATE\" (see "
               "hearth-server --help)\n";
    return kExitUsage;
  }
  auto format = ParseReportFormat(a.get("--format", "csv"));
  if (!format.ok()) return Fail(env.err, format.status());
  auto period = ParseReportPeriod(a.get("--from"), a.get("--to"), std::chrono::system_clock::now());
  if (!period.ok()) return Fail(env.err, period.status());
  std::string path = a.get("--output");
  std::optional<std::ofstream> file;
  Status s = WriteComplianceReport(store, *period, *format, [&]() -> std::ostream& {
    if (path.empty()) return env.out;
    // The report names devices and their owners: readable by its owner only.
    file.emplace(path, std::ios::binary | std::ios::trunc);
    std::error_code ignored;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ignored);
    return *file;
  });
  if (s.ok() && file && !file->is_open()) s = UnavailableError("cannot write " + path);
  if (!s.ok()) return Fail(env.err, s);
  if (file) env.err << "compliance report written to " << path << "\n";
  return kExitOk;
}

}  // namespace hearth::server::cli
