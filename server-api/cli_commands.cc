// What the commands share: failure reports, audit entries, tables and their cells.
#include "cli_commands.h"

#include <chrono>

#include "hearth/text.h"
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
  return NewAuditEntry(CliActor(), action, target, detail);
}

Table::Table(std::ostream& out, const std::vector<std::string>& header) : out_(out) { row(header); }

void Table::row(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += "  ";
    line += text::escapeForDisplay(cells[i]);
  }
  out_ << line << "\n";
}

bool PersonTextOk(const std::string& what, const std::string& value, size_t max_chars,
                  std::ostream& err) {
  Status s = value.empty() ? InvalidArgumentError("must not be empty")
                           : text::validatePersonText(value, max_chars);
  if (s.ok()) return true;
  err << "hearth-server: " << what << " " << s.message() << "\n";
  return false;
}

std::string OrDash(const std::optional<std::string>& s) { return s ? *s : "-"; }
std::string TimeOrDash(const std::optional<TimePoint>& t) { return t ? formatRfc3339(*t) : "-"; }

json::Value OptionalJson(const std::optional<std::string>& s) {
  return s ? json::Value(*s) : json::Value();
}

json::Value OptionalJson(const std::optional<TimePoint>& t) {
  return t ? json::Value(formatRfc3339(*t)) : json::Value();
}

}  // namespace hearth::server::cli
