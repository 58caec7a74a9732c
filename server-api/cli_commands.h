// The hearth-server commands, one entry point each (RunServerCli dispatches to them), and what
// they share: exit codes, how a failure is reported, the audit entry of a command-line action,
// and their tables.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli_args.h"
#include "hearth/json.h"
#include "hearth/server/cli.h"
#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints the status's message; the exit code: 2 for InvalidArgument, NotFound and
// FailedPrecondition (the command was wrong), else 1.
int Fail(std::ostream& err, const Status& s);

// The audit entry of an admin action done from the command line (actor cli:<unix user>); the
// store records it in the same transaction as the action. A null `detail` records none.
AuditEntry CliEntry(const std::string& action, const std::string& target,
                    const json::Value& detail = json::Value::object());

// The one table printer of the command line: a header line, then a line per row as it comes (a
// listing may be paged), cells separated by two spaces. Every table that shows stored strings
// goes through it: each cell is printed through text::escapeForDisplay, so that a stored value
// (from an old database, or written around the API) cannot start a new row or send terminal
// escapes.
class Table {
 public:
  // Prints the header.
  Table(std::ostream& out, const std::vector<std::string>& header);
  void row(const std::vector<std::string>& cells);

 private:
  std::ostream& out_;
};

// Whether `value`, given for `what` (a flag or argument name, e.g. "--owner"), passes
// text::validatePersonText with at most `max_chars` characters and is not empty; if not, says
// why on `err`.
bool PersonTextOk(const std::string& what, const std::string& value, size_t max_chars,
                  std::ostream& err);

// Table cells and JSON fields: "-" or null for what is absent.
std::string OrDash(const std::optional<std::string>& s);
std::string TimeOrDash(const std::optional<TimePoint>& t);
json::Value OptionalJson(const std::optional<std::string>& s);
json::Value OptionalJson(const std::optional<TimePoint>& t);

// cli_serve.cc: init, serve.
int CmdInit(const ParsedFlags& a, const ServerCliEnvironment& env);
int CmdServe(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir);

// cli_admin.cc: secret, token, policy.
int CmdSecret(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);
int CmdToken(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);
int CmdPolicy(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store,
              const std::string& state_dir);

// cli_devices.cc: device, exemption, audit.
int CmdDevice(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);
int CmdExemption(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);
int CmdAudit(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);
// cli_owners_import.cc: device owners-import FILE.csv [--dry-run] [--json].
int CmdOwnersImport(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);

// cli_webhooks.cc: webhook add|list|test|remove|deliveries.
int CmdWebhook(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);

// cli_report.cc: report compliance.
int CmdReport(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);

// cli_database.cc: check-db, backup, restore, prune. `db` is the database URI.
int CmdCheckDb(const ServerCliEnvironment& env, Store& store, const std::string& db);
int CmdBackup(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir);
int CmdRestore(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir);
int CmdPrune(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store);

// cli_rotate.cc: rotate signing-key | server-cert | device-ca (keys only, then audited).
int CmdRotate(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir);

// cli_join.cc: join --from DIR [--again] (a shared PostgreSQL database only; audited).
int CmdJoin(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir);

}  // namespace hearth::server::cli
