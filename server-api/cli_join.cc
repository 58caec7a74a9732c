// `hearth-server join`: another server for a cluster on one PostgreSQL database (issue 18), from
// the state directory of an existing server (or a copy of it); again after a rotation there.
#include <chrono>

#include "cli_commands.h"
#include "hearth/server/state.h"

namespace hearth::server::cli {

int CmdJoin(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  if (!a.has("--from")) {
    env.err << "hearth-server: join needs --from DIR: the state directory of a server of the "
               "cluster (or a copy of it, e.g. made with scp -rp)\n";
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
  auto joined = JoinServerState(from, state_dir, again);
  if (!joined.ok()) {
    env.err << "hearth-server: join: " << joined.status().message() << "\n";
    return joined.status().code() == StatusCode::kInvalidArgument ||
                   joined.status().code() == StatusCode::kFailedPrecondition ||
                   joined.status().code() == StatusCode::kNotFound
               ? kExitUsage
               : kExitFailure;
  }
  json::Value detail = json::Value::object();
  detail.set("from", from);
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
