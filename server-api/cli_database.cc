// The database's care from the command line: `check-db`, `backup`, `restore` (encrypted,
// passphrase from a file) and `prune` (retention now).
#include <chrono>

#include "cli_commands.h"
#include "hearth/server/backup.h"
#include "hearth/server/state.h"
#include "hearth/time.h"

namespace hearth::server::cli {

namespace {

StatusOr<std::string> passphraseFrom(const ParsedFlags& a, const std::string& cmd) {
  if (!a.has("--passphrase-file")) {
    return InvalidArgumentError(cmd +
                                " needs --passphrase-file FILE (or - for standard input); the "
                                "passphrase is never taken from the command line");
  }
  return ReadPassphraseFile(a.get("--passphrase-file"));
}

}  // namespace

// Prints "ok" (exit 0) when the database is consistent, else what is wrong (exit 1). Opening it
// first recovers what a crash left (SQLite replays its write-ahead log).
int CmdCheckDb(const ServerCliEnvironment& env, Store& store, const std::string& db) {
  auto result = store.checkIntegrity();
  // A page too damaged for the check to walk it fails the check itself ("malformed").
  if (!result.ok() && store.health().code() != StatusCode::kDataLoss) {
    return Fail(env.err, result.status());
  }
  if (result.ok() && *result == "ok") {
    env.out << "ok\n";
    return kExitOk;
  }
  env.out << (result.ok() ? *result : result.status().message()) << "\n";
  env.err << "hearth-server: the database " << (db.starts_with("postgres") ? "" : db + " ")
          << "is damaged: restore it from a backup\n";
  return kExitFailure;
}

int CmdBackup(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  if (!a.has("--out")) {
    env.err << "hearth-server: backup needs --out FILE\n";
    return kExitUsage;
  }
  auto passphrase = passphraseFrom(a, "backup");
  if (!passphrase.ok()) return Fail(env.err, passphrase.status());
  BackupOptions o;
  o.state_dir = state_dir;
  o.database = a.get("--database");
  o.config = a.get("--config", env.default_config);
  o.out = a.get("--out");
  o.passphrase = *passphrase;
  {
    // A backup carries every key and report out of the server: it is audited, before any data
    // is copied, and refused if it cannot be (like the CSV export).
    auto store = OpenStore(DatabaseUri(state_dir, o.database), OpenMode::kExisting);
    if (!store.ok()) return Fail(env.err, store.status());
    if (Status s = (*store)->appendAudit(CliEntry("backup", "file:" + o.out, json::Value()));
        !s.ok()) {
      return Fail(env.err, s.withContext("backup refused: cannot record it in the audit log"));
    }
  }
  auto r = CreateBackup(o);
  if (!r.ok()) return Fail(env.err, r.status());
  std::string files;
  for (const auto& f : r->files) files += (files.empty() ? "" : " ") + f;
  env.out << "Backup written to " << o.out << " (" << r->bytes << " bytes, encrypted)\n"
          << "  database:  " << r->database_kind << ", snapshot as of "
          << formatRfc3339(r->snapshot_at) << " (unix ms "
          << std::chrono::duration_cast<std::chrono::milliseconds>(
                 r->snapshot_at.time_since_epoch())
                 .count()
          << ")";
  if (r->schema_version > 0) env.out << ", schema " << r->schema_version;
  env.out << "\n  files:     " << files << "\n"
          << "  config:    " << (r->config_included ? o.config : "none") << "\n";
  return kExitOk;
}

int CmdRestore(const ParsedFlags& a, const ServerCliEnvironment& env,
               const std::string& state_dir) {
  if (!a.has("--in")) {
    env.err << "hearth-server: restore needs --in FILE (a backup made by hearth-server backup)\n";
    return kExitUsage;
  }
  auto passphrase = passphraseFrom(a, "restore");
  if (!passphrase.ok()) return Fail(env.err, passphrase.status());
  RestoreOptions o;
  o.in = a.get("--in");
  o.state_dir = state_dir;
  o.database = a.get("--database");
  o.passphrase = *passphrase;
  auto r = RestoreBackup(o);
  if (!r.ok()) {
    const Status& s = r.status();
    env.err << "hearth-server: restore: " << s.message() << "\n"
            << "hearth-server: nothing was written to " << state_dir << "\n";
    return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kFailedPrecondition
               ? kExitUsage
               : kExitFailure;
  }
  env.out << "Restored a Hearth server into " << state_dir << "\n"
          << "  from:      " << o.in << " (" << r->created_by << ", database snapshot as of "
          << r->snapshot_at << ")\n"
          << "  database:  " << (o.database.empty() ? DatabaseUri(state_dir, "") : "PostgreSQL")
          << " (integrity ok, schema " << r->schema_version << ")\n";
  if (!r->config_path.empty()) {
    env.out << "  config:    " << r->config_path
            << " (the backed-up server.conf: review it and install it as "
               "/etc/hearth/server.conf)\n";
  }
  env.out << "Start it with: hearth-server serve --state-dir " << state_dir
          << (o.database.empty() ? "" : " --database ...") << "\n"
          << "Enrolled agents keep working when it answers at the address they enrolled with.\n";
  return kExitOk;
}

int CmdPrune(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  auto history = RetentionDays(a, "--retention-days", 400, env.err);
  auto retired = RetentionDays(a, "--retired-retention-days", 30, env.err);
  if (!history || !retired) return kExitUsage;
  PruneOptions o;
  o.now = std::chrono::system_clock::now();
  o.history_window = *history;
  o.retired_window = *retired;
  o.dry_run = a.has("--dry-run");
  auto r = store.prune(o);
  if (!r.ok()) return Fail(env.err, r.status());
  const char* verb = o.dry_run ? "would delete" : "deleted";
  env.out << verb << " " << r->reports << " report(s) received before "
          << formatRfc3339(o.now - o.history_window) << " (each device's latest report is kept)\n"
          << verb << " " << r->events << " feed event(s) from before then\n";
  if (r->fleet_pending > 0) {
    env.out << verb << " " << r->fleet_pending
            << " fleet first-seen date(s) of updates no device reported pending since then\n";
  }
  if (r->history_changes > 0) {
    env.out << verb << " " << r->history_changes
            << " recorded level or required-check change(s) from before then\n";
  }
  env.out << verb << " " << r->retired_devices.size() << " device(s) retired before "
          << formatRfc3339(o.now - o.retired_window) << ", with their " << r->retired_reports
          << " report(s) and " << r->retired_events << " event(s)";
  for (const auto& id : r->retired_devices) env.out << "\n  " << id;
  env.out << "\n";
  if (!o.dry_run) {
    json::Value detail = json::Value::object();
    detail.set("reports", static_cast<int64_t>(r->reports));
    detail.set("events", static_cast<int64_t>(r->events));
    detail.set("history_changes", static_cast<int64_t>(r->history_changes));
    detail.set("retired_devices", static_cast<int64_t>(r->retired_devices.size()));
    if (Status s = store.appendAudit(CliEntry("prune", "", detail)); !s.ok()) {
      env.err << "hearth-server: warning: prune done, but not recorded in the audit log: "
              << s.message() << "\n";
    }
  }
  return kExitOk;
}

}  // namespace hearth::server::cli
