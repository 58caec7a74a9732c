// `hearth-server join`: another server for a cluster on one PostgreSQL database (issue 18), from
// the state directory of an existing server (or a copy of it) or from a backup of one made by
// `hearth-server backup`; again after a rotation there.
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli_commands.h"
#include "hearth/server/backup.h"
#include "hearth/server/state.h"

namespace hearth::server::cli {

int CmdJoin(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  if (!a.has("--from")) {
    env.err << "hearth-server: join needs --from DIR: the state directory of a server of the "
               "cluster (or a copy of it, e.g. made with scp -rp), or --from FILE "
               "--passphrase-file F: a backup of one made by hearth-server backup\n";
    return kExitUsage;
  }
  std::string database = a.get("--database");
  if (!database.starts_with("postgresql://") && !database.starts_with("postgres://")) {
    env.err << "hearth-server: join makes another server on the cluster's shared PostgreSQL "
               "database: give its --database postgresql://... (or database = in server.conf); "
               "a server on SQLite has a database of its own and nothing to join\n";
    return kExitUsage;
  }
  // The database first: a server that could not reach it is not joined.
  auto store = OpenStore(database, OpenMode::kExisting);
  if (!store.ok()) {
    env.err << "hearth-server: join: the database: " << store.status().message() << "\n"
            << "hearth-server: nothing was written to " << state_dir << "\n";
    return kExitFailure;
  }
  bool again = a.has("--again");
  std::string from = a.get("--from");
  // A backup file: its state directory files go to a private directory beside the target first
  // (decrypted and authenticated), and are joined from there.
  struct stat from_st {};
  const bool backup = ::stat(from.c_str(), &from_st) == 0 && S_ISREG(from_st.st_mode);
  std::string staging;
  if (backup) {
    if (!a.has("--passphrase-file")) {
      env.err << "hearth-server: join: " << from
              << " is a file: a backup made by hearth-server backup, which needs its "
                 "--passphrase-file FILE (or - for standard input)\n";
      return kExitUsage;
    }
    auto passphrase = ReadPassphraseFile(a.get("--passphrase-file"));
    if (!passphrase.ok()) return Fail(env.err, passphrase.status());
    std::string target = state_dir;
    while (target.size() > 1 && target.back() == '/') target.pop_back();
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(target).parent_path(), ec);
    staging = target + ".join-XXXXXX";
    if (::mkdtemp(staging.data()) == nullptr) {
      return Fail(env.err, ErrnoToStatus(errno, "create a private directory beside " + target));
    }
    auto files = ExtractBackupStateFiles(from, *passphrase, staging);
    if (!files.ok()) {
      std::filesystem::remove_all(staging, ec);
      const Status& s = files.status();
      env.err << "hearth-server: join: " << s.message() << "\n"
              << "hearth-server: expected a backup made by `hearth-server backup` on a server of "
                 "the cluster, and its passphrase; nothing was written to "
              << state_dir << "\n";
      return s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kInternal ? kExitFailure
                                                                                    : kExitUsage;
    }
  }
  auto joined = JoinServerState(backup ? staging : from, state_dir, again);
  if (backup) {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  }
  if (!joined.ok()) {
    std::string message = joined.status().message();
    // The private copy is gone: name the backup the operator gave instead.
    for (size_t p = 0; backup && (p = message.find(staging, p)) != std::string::npos;) {
      message.replace(p, staging.size(), from);
      p += from.size();
    }
    env.err << "hearth-server: join: " << message << "\n";
    return joined.status().code() == StatusCode::kInvalidArgument ||
                   joined.status().code() == StatusCode::kFailedPrecondition ||
                   joined.status().code() == StatusCode::kNotFound
               ? kExitUsage
               : kExitFailure;
  }
  json::Value detail = json::Value::object();
  detail.set("from", from);
  detail.set("backup", backup);
  detail.set("again", again);
  detail.set("files", static_cast<int64_t>(joined->copied.size()));
  if (Status s = (*store)->appendAudit(
          CliEntry(again ? "server.join_again" : "server.join", "state-dir:" + state_dir, detail));
      !s.ok()) {
    env.err << "hearth-server: warning: joined, but not recorded in the audit log: " << s.message()
            << "\n";
  }
  env.out << (again ? "Took the files of " : "Joined: the files of ") << from << " are in "
          << state_dir << " (" << joined->copied.size() << " file(s)";
  if (!joined->removed.empty()) {
    env.out << "; removed " << joined->removed.size() << " the other server no longer has:";
    for (const auto& n : joined->removed) env.out << " " << n;
  }
  env.out << ")\n"
          << "Start it (or restart it) with: hearth-server serve --state-dir " << state_dir
          << " --database ... (the same server.conf as the other servers)\n";
  return kExitOk;
}

}  // namespace hearth::server::cli
