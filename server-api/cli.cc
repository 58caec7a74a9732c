// The hearth-server command line: usage, reading the arguments and the config file, and
// dispatch to the commands (cli_commands.h), opening the database for those that need it.
#include "hearth/server/cli.h"

#include <ostream>
#include <pwd.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "cli_args.h"
#include "cli_commands.h"
#include "hearth/server/state.h"
#include "hearth/server/store.h"

namespace hearth::server {

std::string CliActor() {
  uid_t uid = ::geteuid();
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return std::string("cli:") + found->pw_name;
  }
  return "cli:uid " + std::to_string(uid);
}

namespace cli {

namespace {

constexpr const char* kUsage =
    "Usage: hearth-server COMMAND [OPTIONS]\n"
    "\n"
    "The company side of Hearth: enrols home PCs, serves their signed policy, stores their\n"
    "reports and serves the compliance feed to IT.\n"
    "\n"
    "Commands:\n"
    "  init   --state-dir DIR [--san NAME ...] [--policy FILE] [--database URI]\n"
    "         create keys, certificates, the database, level \"standard\", one admin token\n"
    "         (DIR/admin-token) and one enrolment secret (DIR/enroll-secret)\n"
    "  serve  --state-dir DIR [--listen ADDR:PORT] [--admin-listen ADDR:PORT] [--database URI]\n"
    "         [--stale-after HOURS] [--request-timeout SECONDS]\n"
    "         [--body-timeout SECONDS] [--body-min-rate BYTES_PER_S]\n"
    "                                                     a request body must arrive within\n"
    "                                                     SECONDS plus its size at the rate\n"
    "                                                     (10, 1024); a slower one is cut (408)\n"
    "         [--threads N] [--queue N]                   worker threads and waiting connections\n"
    "                                                     per listener (16, 64); beyond: 503\n"
    "         [--enroll-rate PER_S] [--enroll-burst N]    enrolments, whole server (10/s, 50)\n"
    "         [--enroll-address-rate PER_S] [--enroll-address-burst N]\n"
    "                                                     enrolments per source address (2/s, 20)\n"
    "         [--retention-days N]                        keep reports and feed events N days\n"
    "                                                     (400; each device's latest is kept)\n"
    "         [--retired-retention-days N]                delete a retired device and all its\n"
    "                                                     data N days after retirement (30)\n"
    "         [--enroll-spike-count N] [--enroll-spike-minutes M]\n"
    "                                                     more than N enrolments with one secret\n"
    "                                                     within M minutes: an enrolment_spike "
    "feed\n"
    "                                                     event, once per window (20, 10)\n"
    "         [--device-cert-days N]                      lifetime of device certificates (365);\n"
    "                                                     agents renew at half of it\n"
    "         [--reenroll-expired-days N]                 a device whose certificate expired at\n"
    "                                                     most N days ago may still renew it (0:\n"
    "                                                     never; it must run enroll again)\n"
    "         [--cert-expiry-warn-days N]                 a certificate_expiring feed event when\n"
    "                                                     a certificate expires within N days\n"
    "                                                     and was not renewed (30)\n"
    "         [--exemption-expiry-warn-days N]            an exemption_expiring feed event when\n"
    "                                                     an exemption lapses within N days (3)\n"
    "         [--console-idle-timeout S] [--console-session-lifetime S]\n"
    "                                                     an IT console session ends S seconds\n"
    "                                                     unused (1800), S seconds after sign-in\n"
    "                                                     (43200)\n"
    "         [--webhook-timeout S] [--webhook-ca-file F] one webhook delivery's time limit (10);\n"
    "                                                     a CA bundle trusted beside the system's\n"
    "                                                     for webhook receivers\n"
    "         [--oidc-issuer URL --oidc-client-id ID --oidc-client-secret-file F\n"
    "          --oidc-redirect-uri URL --oidc-role-claim CLAIM [--oidc-admin-values V,...]\n"
    "          [--oidc-read-values V,...] [--oidc-scopes S] [--oidc-client-auth M]\n"
    "          [--oidc-ca-file F]]                        the console's single sign-on with\n"
    "                                                     OpenID Connect (docs/server.md)\n"
    "         run in the foreground until SIGTERM\n"
    "  check-db                                           check the database's integrity (SQLite:\n"
    "                                                     PRAGMA integrity_check); prints ok\n"
    "  backup --out FILE --passphrase-file F              an encrypted copy of the database\n"
    "                                                     (online, while serve runs), the keys,\n"
    "                                                     certificates and server.conf\n"
    "  restore --in FILE --passphrase-file F              a new server from a backup; --state-dir\n"
    "                                                     must be new or empty (PostgreSQL: an\n"
    "                                                     empty --database)\n"
    "                                                     F: a file holding the passphrase, or -\n"
    "                                                     for standard input (never an argument)\n"
    "  prune [--dry-run] [--retention-days N] [--retired-retention-days N]\n"
    "                                                     apply retention now; prints what goes\n"
    "  secret create [--level L] [--uses N] [--expires DAYS] [--owner ID] [--approval]\n"
    "         | list | revoke ID\n"
    "         --uses 1: single-use; --owner: per-person (devices get that owner); --uses N:\n"
    "         limited; no --uses: a rollout secret. --approval: its devices wait as \"pending\"\n"
    "         until IT approves them (their reports are kept, not counted)\n"
    "  token  create --name NAME [--scope read|admin] [--expires DAYS] | list | revoke ID\n"
    "         read: devices, history, feed, CSV; admin: everything (retire, approve, audit ...)\n"
    "  policy set --file POLICY.json | list\n"
    "  device list [--pending] [--status S] [--check ID] [--failing-for DAYS] [--owner O]\n"
    "         [--level L] [--sort device_id|failing_since] [--json]\n"
    "                                                     devices (--pending: awaiting approval;\n"
    "                                                     S: compliant, at_risk, noncompliant,\n"
    "                                                     unknown, stale, pending, retired)\n"
    "  device approve ID | reject ID                      a device enrolled with an --approval\n"
    "                                                     secret (reject retires it)\n"
    "  device owner ID OWNER                              set who the device belongs to\n"
    "  device owners-import FILE.csv [--dry-run] [--json]  owners in bulk: a header row with\n"
    "                                                     hostname (or device_id) and owner;\n"
    "                                                     all checked first, each change audited\n"
    "  device retire ID                                   its certificate is refused from now on\n"
    "  device level ID LEVEL                              hold it to another level's policy\n"
    "  exemption add (--device ID | --owner O) --check ID --until DATE|TIME --reason TEXT\n"
    "                                                     the check does not count against the\n"
    "                                                     device(s) until then (a date: through "
    "it)\n"
    "  exemption list [--json] | revoke ID                exemptions, newest first\n"
    "  audit  list [--after CURSOR] [--limit N] [--json]  the append-only log of admin actions\n"
    "  webhook add --url URL --events TYPE,...|all [--format json|slack|teams]\n"
    "         [--secret-file F]                           push feed events to URL, signed with "
    "the\n"
    "                                                     secret in F (- for standard input; "
    "none:\n"
    "                                                     a new one, printed once)\n"
    "  webhook list [--json] | remove ID                  webhooks (never their URL's path or\n"
    "                                                     secret)\n"
    "  webhook test ID [--webhook-ca-file F] [--webhook-timeout S]\n"
    "                                                     send a signed test delivery now\n"
    "  webhook deliveries ID [--before ID] [--limit N] [--json]\n"
    "                                                     the delivery log, newest first\n"
    "  report compliance --from DATE --to DATE [--format csv|json] [--output FILE [--force]]\n"
    "                                                     the period report for auditors: per\n"
    "                                                     device and check the share of the\n"
    "                                                     period compliant, incidents, stale\n"
    "                                                     spans, admin actions, totals per level\n"
    "                                                     (DATE: YYYY-MM-DD or RFC 3339; at most\n"
    "                                                     366 days, ended; same data, same bytes)\n"
    "  rotate signing-key [--overlap-days N]              make the next policy-signing key; it is\n"
    "                                                     announced with every policy and signs\n"
    "                                                     them after N days (30)\n"
    "  rotate signing-key --finish                        the next key signs from now on\n"
    "  rotate server-cert --prepare                       make the next server TLS key; its pin\n"
    "                                                     is announced with every policy\n"
    "  rotate server-cert                                 a new server certificate (same names,\n"
    "                                                     same CA) for the prepared key\n"
    "  rotate device-ca                                   a new device CA issues certificates;\n"
    "                                                     the previous one is still accepted\n"
    "  rotate device-ca --finish                          stop accepting the previous device CA\n"
    "  join --from DIR [--again]                          another server on the shared PostgreSQL\n"
    "                                                     database: the keys and certificates of\n"
    "                                                     DIR (a server's state directory); with\n"
    "                                                     --again after a rotation there\n"
    "  join --from FILE --passphrase-file F [--again]     the same from a backup of a server of\n"
    "                                                     the cluster (hearth-server backup)\n"
    "\n"
    "Admin commands (token, secret, policy set, device approve/reject/owner/owners-import/\n"
    "retire/level, exemption, webhook) are recorded in the audit log as cli:<unix user>; API\n"
    "actions as the token's name.\n"
    "\n"
    "Every command takes --state-dir DIR (default /var/lib/hearth-server) and --database URI\n"
    "(default: SQLite in the state dir; postgresql://user@host:port/db for PostgreSQL), and\n"
    "--config FILE (default /etc/hearth/server.conf when it exists): key = value lines named\n"
    "like the options (state_dir, listen, admin_listen, database, stale_after, ...); the\n"
    "command line wins.\n"
    "  -h, --help     show this help       --version   show the version\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

int dispatch(const std::vector<std::string>& raw, const ServerCliEnvironment& env) {
  if (raw.empty()) {
    env.err << kUsage;
    return kExitUsage;
  }
  if (raw[0] == "--version" || raw[0] == "-V") {
    env.out << "hearth-server " << HEARTH_VERSION << "\n";
    return kExitOk;
  }
  auto parsed = ParseArgs(raw);
  if (!parsed.ok()) return Fail(env.err, parsed.status());
  ParsedFlags& a = *parsed;
  if (WantsHelp(a) || a.positional().empty() || a.positional()[0] == "help") {
    env.out << kUsage;
    return a.positional().empty() && !WantsHelp(a) ? kExitUsage : kExitOk;
  }
  if (Status s = LoadConfigFile(a.get("--config", env.default_config), a.has("--config"), a);
      !s.ok()) {
    env.err << "hearth-server: " << s.message() << "\n";
    return kExitUsage;
  }
  const std::string& cmd = a.positional()[0];
  if (cmd == "init") return CmdInit(a, env);

  std::string state_dir = a.get("--state-dir", env.default_state_dir);
  if (cmd == "serve") return CmdServe(a, env, state_dir);
  if (cmd == "backup") return CmdBackup(a, env, state_dir);
  if (cmd == "restore") return CmdRestore(a, env, state_dir);
  if (cmd == "rotate") return CmdRotate(a, env, state_dir);
  if (cmd == "join") return CmdJoin(a, env, state_dir);
  if (cmd != "secret" && cmd != "token" && cmd != "policy" && cmd != "check-db" && cmd != "prune" &&
      cmd != "device" && cmd != "audit" && cmd != "webhook" && cmd != "report" &&
      cmd != "exemption") {
    env.err << "hearth-server: unknown command \"" << cmd << "\" (see hearth-server --help)\n";
    return kExitUsage;
  }
  std::string db = DatabaseUri(state_dir, a.get("--database"));
  // Only init and restore make a database; check-db never writes.
  if (Status file = CheckDatabaseFile(db); a.get("--database").empty() && !file.ok()) {
    env.err << "hearth-server: " << file.message() << "\n";
    return kExitUsage;
  }
  auto store = OpenStore(db, cmd == "check-db" ? OpenMode::kReadOnly : OpenMode::kExisting);
  if (!store.ok() && cmd == "check-db") {
    // A database that cannot even be opened is what check-db is for: say so, exit 1.
    env.out << store.status().message() << "\n";
    env.err << "hearth-server: the database cannot be opened: restore it from a backup (or fix "
               "the connection)\n";
    return kExitFailure;
  }
  if (!store.ok()) {
    if (a.get("--database").empty()) {
      env.err << "hearth-server: cannot open the database in " << state_dir << ": "
              << store.status().message() << " (create one with hearth-server init)\n";
      return kExitUsage;
    }
    return Fail(env.err, store.status());
  }
  if (cmd == "check-db") return CmdCheckDb(env, **store, db);
  if (cmd == "secret") return CmdSecret(a, env, **store);
  if (cmd == "token") return CmdToken(a, env, **store);
  if (cmd == "prune") return CmdPrune(a, env, **store);
  if (cmd == "device") return CmdDevice(a, env, **store);
  if (cmd == "audit") return CmdAudit(a, env, **store);
  if (cmd == "webhook") return CmdWebhook(a, env, **store);
  if (cmd == "report") return CmdReport(a, env, **store);
  if (cmd == "exemption") return CmdExemption(a, env, **store);
  return CmdPolicy(a, env, **store, state_dir);
}

}  // namespace

}  // namespace cli

int RunServerCli(const std::vector<std::string>& raw, const ServerCliEnvironment& env) {
  return cli::dispatch(raw, env);
}

}  // namespace hearth::server
