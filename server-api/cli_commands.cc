// What the commands share: failure reports, audit entries, table cells.
#include "cli_commands.h"

#include <chrono>

#include "hearth/time.h"

namespace hearth::server::cli {

int Fail(std::ostream& err, const Status& s) {
  err << "hearth-server: " << s.message() << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                 s.code() == StatusCode::kFailedPrecondition
             ? kExitUsage
             : kExitFailure;
}

AuditEntry CliEntry(const std::string& action, const std::string& target,
                    const json::Value& detail) {
  AuditEntry e;
  e.at = std::chrono::system_clock::now();
  e.actor = CliActor();
  e.action = action;
  e.target = target;
  e.detail = json::write(detail);
  return e;
}

std::string OrDash(const std::optional<std::string>& s) { return s ? *s : "-"; }
std::string TimeOrDash(const std::optional<TimePoint>& t) { return t ? formatRfc3339(*t) : "-"; }

json::Value OptionalJson(const std::optional<std::string>& s) {
  return s ? json::Value(*s) : json::Value();
}

}  // namespace hearth::server::cli
