#include "hearth/server/cli.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <ostream>
#include <pwd.h>
#include <set>
#include <unistd.h>

#include "common/text.h"
#include "hearth/result.h"
#include "hearth/server/backup.h"
#include "hearth/server/serve.h"
#include "hearth/server/state.h"
#include "hearth/system_view.h"

namespace hearth::server {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

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
    "  device list [--pending] [--json]                   devices (--pending: awaiting approval)\n"
    "  device approve ID | reject ID                      a device enrolled with an --approval\n"
    "                                                     secret (reject retires it)\n"
    "  device owner ID OWNER                              set who the device belongs to\n"
    "  audit  list [--after CURSOR] [--limit N] [--json]  the append-only log of admin actions\n"
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
    "\n"
    "Admin commands (token, secret, policy set, device approve/reject/owner) are recorded in the\n"
    "audit log as cli:<unix user>; API actions as the token's name.\n"
    "\n"
    "Every command takes --state-dir DIR (default /var/lib/hearth-server) and --database URI\n"
    "(default: SQLite in the state dir; postgresql://user@host:port/db for PostgreSQL), and\n"
    "--config FILE (default /etc/hearth/server.conf when it exists): key = value lines named\n"
    "like the options (state_dir, listen, admin_listen, database, stale_after, ...); the\n"
    "command line wins.\n"
    "  -h, --help     show this help       --version   show the version\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.\n";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;
  bool help = false;

  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = options.find(key);
    return it == options.end() || it->second.empty() ? fallback : it->second.back();
  }
  bool has(const std::string& key) const { return options.count(key) != 0; }
};

// Options that take a value; everything else starting with "--" is unknown.
const std::set<std::string> kValueOptions = {"--config",
                                             "--state-dir",
                                             "--database",
                                             "--san",
                                             "--policy",
                                             "--listen",
                                             "--admin-listen",
                                             "--level",
                                             "--uses",
                                             "--expires",
                                             "--owner",
                                             "--name",
                                             "--scope",
                                             "--file",
                                             "--stale-after",
                                             "--request-timeout",
                                             "--threads",
                                             "--queue",
                                             "--enroll-rate",
                                             "--enroll-burst",
                                             "--enroll-address-rate",
                                             "--enroll-address-burst",
                                             "--out",
                                             "--in",
                                             "--passphrase-file",
                                             "--retention-days",
                                             "--retired-retention-days",
                                             "--enroll-spike-count",
                                             "--enroll-spike-minutes",
                                             "--after",
                                             "--limit",
                                             "--device-cert-days",
                                             "--reenroll-expired-days",
                                             "--overlap-days"};
// Options without a value.
const std::set<std::string> kFlagOptions = {"--dry-run", "--approval", "--pending",
                                            "--json",    "--finish",   "--prepare"};

// /etc/hearth/server.conf: `key = value` lines, each key the name of a command-line option
// without its dashes (state_dir = --state-dir). The command line wins. Values are checked here so
// that an error names the file, the line and the key.
bool loadConfigFile(const std::string& path, bool explicit_path, Args& a, std::ostream& err) {
  auto view = NewLiveSystemView();
  auto text = view->readFile(path, 64 * 1024, false);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound && !explicit_path) return true;
    err << "hearth-server: configuration " << path << ": " << text.status().message() << "\n";
    return false;
  }
  enum Kind { kPath, kAddress, kDatabase, kCount, kRate, kDays };
  const std::map<std::string, Kind> keys = {{"state_dir", kPath},
                                            {"listen", kAddress},
                                            {"admin_listen", kAddress},
                                            {"database", kDatabase},
                                            {"stale_after", kCount},
                                            {"request_timeout", kCount},
                                            {"threads", kCount},
                                            {"queue", kCount},
                                            {"enroll_rate", kRate},
                                            {"enroll_burst", kCount},
                                            {"enroll_address_rate", kRate},
                                            {"enroll_address_burst", kCount},
                                            {"retention_days", kCount},
                                            {"retired_retention_days", kCount},
                                            {"enroll_spike_count", kCount},
                                            {"enroll_spike_minutes", kCount},
                                            {"device_cert_days", kCount},
                                            {"reenroll_expired_days", kDays}};
  std::set<std::string> seen;
  int n = 0;
  for (const auto& raw : text::splitLines(*text)) {
    ++n;
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string where = path + ":" + std::to_string(n) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      err << "hearth-server: " << where << "expected `key = value`, got \"" << line << "\"\n";
      return false;
    }
    std::string key = text::trim(line.substr(0, eq));
    std::string value = text::trim(line.substr(eq + 1));
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::string known;
      for (const auto& [k, unused] : keys) known += (known.empty() ? "" : ", ") + k;
      err << "hearth-server: " << where << key << ": unknown key (expected one of " << known
          << ")\n";
      return false;
    }
    if (!seen.insert(key).second) {
      err << "hearth-server: " << where << key << ": set twice\n";
      return false;
    }
    std::string problem;
    switch (it->second) {
      case kPath:
        if (value.empty() || value[0] != '/') problem = "expected an absolute path";
        break;
      case kAddress:
        if (value.rfind(':') == std::string::npos) problem = "expected ADDRESS:PORT";
        break;
      case kDatabase:
        if (!value.empty() && value.rfind("postgresql://", 0) != 0 &&
            value.rfind("postgres://", 0) != 0) {
          problem = "expected empty (SQLite) or a postgresql:// URI";
        }
        break;
      case kCount: {
        auto v = text::parseInt(value);
        if (!v || *v < 1 || *v > 1000000) problem = "expected a whole number from 1 to 1000000";
        break;
      }
      case kDays: {
        auto v = text::parseInt(value);
        if (!v || *v < 0 || *v > 3650) problem = "expected a number of days from 0 to 3650";
        break;
      }
      case kRate: {
        char* end = nullptr;
        double d = std::strtod(value.c_str(), &end);
        if (value.empty() || end == nullptr || *end != '\0' || !(d > 0) || d > 1e6) {
          problem = "expected a positive number (per second)";
        }
        break;
      }
    }
    if (!problem.empty()) {
      // A database URI may hold a password: never echo the value.
      err << "hearth-server: " << where << key << ": " << problem
          << (it->second == kDatabase ? "" : ", got \"" + value + "\"") << "\n";
      return false;
    }
    std::string option = "--" + key;
    std::replace(option.begin(), option.end(), '_', '-');
    if (!a.has(option)) a.options[option].push_back(value);  // the command line wins
  }
  return true;
}

bool parseArgs(const std::vector<std::string>& in, Args& out, std::ostream& err) {
  for (size_t i = 0; i < in.size(); ++i) {
    std::string a = in[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    if (kFlagOptions.count(a) != 0 && !inline_value) {
      out.options[a].push_back("1");
      continue;
    }
    if (a == "--passphrase") {
      err << "hearth-server: --passphrase: a passphrase on the command line is visible to every "
             "local user; use --passphrase-file FILE (or - for standard input)\n";
      return false;
    }
    if (kValueOptions.count(a) == 0) {
      err << "hearth-server: unknown option \"" << in[i] << "\" (see hearth-server --help)\n";
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= in.size()) {
        err << "hearth-server: " << a << " needs a value\n";
        return false;
      }
      value = in[++i];
    }
    out.options[a].push_back(value);
  }
  return true;
}

std::optional<int64_t> positiveInt(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  auto v = text::parseInt(a.get(key));
  if (!v || *v < 1 || *v > 1000000) {
    err << "hearth-server: " << key << " \"" << a.get(key)
        << "\": expected a whole number from 1 to 1000000\n";
    bad = true;
    return std::nullopt;
  }
  return v;
}

// A rate: a number of events per second, more than 0 and at most 1000000 (fractions allowed).
std::optional<double> positiveRate(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  const std::string text = a.get(key);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(v > 0) || v > 1000000) {
    err << "hearth-server: " << key << " \"" << text
        << "\": expected a number of events per second, more than 0 and at most 1000000\n";
    bad = true;
    return std::nullopt;
  }
  return v;
}

std::string orDash(const std::optional<std::string>& s) { return s ? *s : "-"; }
std::string timeOrDash(const std::optional<TimePoint>& t) { return t ? formatRfc3339(*t) : "-"; }

// The audit entry of an admin action done from the command line; the store records it in the
// same transaction as the action.
AuditEntry cliEntry(const std::string& action, const std::string& target,
                    const json::Value& detail = json::Value::object()) {
  AuditEntry e;
  e.at = std::chrono::system_clock::now();
  e.actor = CliActor();
  e.action = action;
  e.target = target;
  e.detail = json::write(detail);
  return e;
}

json::Value optionalJson(const std::optional<std::string>& s) {
  return s ? json::Value(*s) : json::Value();
}

int fail(std::ostream& err, const Status& s) {
  err << "hearth-server: " << s.message() << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                 s.code() == StatusCode::kFailedPrecondition
             ? kExitUsage
             : kExitFailure;
}

int cmdInit(const Args& a, const ServerCliEnvironment& env) {
  InitOptions o;
  o.state_dir = a.get("--state-dir", env.default_state_dir);
  o.database = a.get("--database");
  if (auto it = a.options.find("--san"); it != a.options.end()) o.sans = it->second;
  if (a.has("--policy")) {
    auto view = NewLiveSystemView();
    auto text = view->readFile(a.get("--policy"), 1 << 20, false);
    if (!text.ok()) return fail(env.err, text.status().withContext("--policy"));
    o.policy_text = *text;
    o.policy_source = a.get("--policy");
  } else {
    o.policy_text = ExamplePolicy();
    o.policy_source = "the built-in example policy";
  }
  o.now = std::chrono::system_clock::now();
  auto r = InitServerState(o);
  if (!r.ok()) return fail(env.err, r.status());
  // The first admin token and enrolment secret are admin actions too.
  // (Recorded after the fact: init makes the database it would be recorded in.)
  if (auto store = OpenStore(DatabaseUri(o.state_dir, o.database)); store.ok()) {
    json::Value detail = json::Value::object();
    detail.set("admin_token", "token:1");
    detail.set("enroll_secret", "secret:1");
    Status s = (*store)->appendAudit(cliEntry("server.init", "state-dir:" + o.state_dir, detail));
    if (!s.ok()) env.err << "hearth-server: warning: audit log: " << s.message() << "\n";
  }
  ServerPaths p = PathsFor(o.state_dir);
  env.out << "Initialised a Hearth server in " << o.state_dir << "\n"
          << "  agents trust:      " << p.ca_cert << " (server key pin " << r->ca_pin << ")\n"
          << "  admin token:       " << p.admin_token << "\n"
          << "  enrolment secret:  " << p.enroll_secret << "\n"
          << "Start it with: hearth-server serve --state-dir " << o.state_dir << "\n";
  return kExitOk;
}

int cmdSecret(const Args& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "create") {
    bool bad = false;
    SecretRecord spec;
    spec.level = a.get("--level", "standard");
    spec.uses_left = positiveInt(a, "--uses", env.err, bad);
    auto days = positiveInt(a, "--expires", env.err, bad);
    if (bad) return kExitUsage;
    if (days) spec.expires_at = now + std::chrono::hours(24 * *days);
    if (a.has("--owner")) spec.owner = a.get("--owner");
    spec.approval = a.has("--approval");
    spec.created_at = now;
    if (!store.latestPolicy(spec.level).ok()) {
      env.err << "hearth-server: --level " << spec.level
              << ": no policy for that level (add one with hearth-server policy set)\n";
      return kExitUsage;
    }
    auto secret = NewSecret("hes_");
    if (!secret.ok()) return fail(env.err, secret.status());
    json::Value detail = json::Value::object();
    detail.set("kind", SecretKind(spec));
    detail.set("level", spec.level);
    detail.set("owner", optionalJson(spec.owner));
    detail.set("uses", spec.uses_left ? json::Value(*spec.uses_left) : json::Value());
    detail.set("expires_at",
               spec.expires_at ? json::Value(formatRfc3339(*spec.expires_at)) : json::Value());
    detail.set("approval", spec.approval);
    AuditEntry entry = cliEntry("secret.create", "secret:", detail);
    auto rec = store.createSecret(HashSecret(*secret), spec, &entry);
    if (!rec.ok()) return fail(env.err, rec.status());
    env.out << *secret << "\n";
    env.err << "enrolment secret " << rec->id << " (" << SecretKind(*rec) << ") for level "
            << spec.level << " created\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listSecrets();
    if (!list.ok()) return fail(env.err, list.status());
    env.out << "ID  LEVEL  OWNER  USES  LEFT  EXPIRES  STATE  KIND\n";
    for (const auto& s : *list) {
      std::string state = s.revoked_at                             ? "revoked"
                          : (s.expires_at && *s.expires_at <= now) ? "expired"
                          : (s.uses_left && *s.uses_left <= 0)     ? "used up"
                                                                   : "active";
      env.out << s.id << "  " << s.level << "  " << orDash(s.owner) << "  " << s.uses << "  "
              << (s.uses_left ? std::to_string(*s.uses_left) : "unlimited") << "  "
              << timeOrDash(s.expires_at) << "  " << state << "  " << SecretKind(s) << "\n";
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    auto id = a.positional.size() > 2 ? text::parseInt(a.positional[2]) : std::nullopt;
    if (!id) {
      env.err << "hearth-server: secret revoke needs the secret's ID (see secret list)\n";
      return kExitUsage;
    }
    AuditEntry entry = cliEntry("secret.revoke", "secret:" + std::to_string(*id));
    Status s = store.revokeSecret(*id, now, &entry);
    if (!s.ok()) return fail(env.err, s);
    env.err << "enrolment secret " << *id << " revoked\n";
    return kExitOk;
  }
  env.err << "hearth-server: secret needs create, list or revoke\n";
  return kExitUsage;
}

int cmdToken(const Args& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "create") {
    if (!a.has("--name")) {
      env.err << "hearth-server: token create needs --name NAME (who or what uses it)\n";
      return kExitUsage;
    }
    bool bad = false;
    TokenRecord spec;
    spec.name = a.get("--name");
    spec.scope = a.get("--scope", "read");
    if (spec.scope != "read" && spec.scope != "admin") {
      env.err << "hearth-server: --scope \"" << spec.scope << "\": expected read or admin\n";
      return kExitUsage;
    }
    auto days = positiveInt(a, "--expires", env.err, bad);
    if (bad) return kExitUsage;
    if (days) spec.expires_at = now + std::chrono::hours(24 * *days);
    spec.created_at = now;
    auto token = NewSecret("hat_");
    if (!token.ok()) return fail(env.err, token.status());
    json::Value detail = json::Value::object();
    detail.set("name", spec.name);
    detail.set("scope", spec.scope);
    detail.set("expires_at",
               spec.expires_at ? json::Value(formatRfc3339(*spec.expires_at)) : json::Value());
    AuditEntry entry = cliEntry("token.create", "token:", detail);
    auto rec = store.createToken(HashSecret(*token), spec, &entry);
    if (!rec.ok()) return fail(env.err, rec.status());
    env.out << *token << "\n";
    env.err << "admin token " << rec->id << " (" << spec.scope << ") created\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listTokens();
    if (!list.ok()) return fail(env.err, list.status());
    env.out << "ID  NAME  SCOPE  CREATED  EXPIRES  STATE\n";
    for (const auto& t : *list) {
      std::string state = t.revoked_at                             ? "revoked"
                          : (t.expires_at && *t.expires_at <= now) ? "expired"
                                                                   : "active";
      env.out << t.id << "  " << t.name << "  " << t.scope << "  " << formatRfc3339(t.created_at)
              << "  " << timeOrDash(t.expires_at) << "  " << state << "\n";
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    auto id = a.positional.size() > 2 ? text::parseInt(a.positional[2]) : std::nullopt;
    if (!id) {
      env.err << "hearth-server: token revoke needs the token's ID (see token list)\n";
      return kExitUsage;
    }
    AuditEntry entry = cliEntry("token.revoke", "token:" + std::to_string(*id));
    Status s = store.revokeToken(*id, now, &entry);
    if (!s.ok()) return fail(env.err, s);
    env.err << "admin token " << *id << " revoked\n";
    return kExitOk;
  }
  env.err << "hearth-server: token needs create, list or revoke\n";
  return kExitUsage;
}

int cmdPolicy(const Args& a, const ServerCliEnvironment& env, Store& store,
              const std::string& state_dir) {
  std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub == "set") {
    if (!a.has("--file")) {
      env.err << "hearth-server: policy set needs --file POLICY.json\n";
      return kExitUsage;
    }
    auto keys = LoadServerKeys(state_dir);
    if (!keys.ok()) return fail(env.err, keys.status());
    auto view = NewLiveSystemView();
    auto text = view->readFile(a.get("--file"), 1 << 20, false);
    if (!text.ok()) return fail(env.err, text.status().withContext("--file"));
    AuditEntry entry = cliEntry("policy.set", "");
    auto rec = SetPolicy(store, keys->signing_key, *text, a.get("--file"),
                         std::chrono::system_clock::now(), &entry);
    if (!rec.ok()) return fail(env.err, rec.status());
    env.err << "level " << rec->level << " is now at policy version " << rec->version << "\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listLatestPolicies();
    if (!list.ok()) return fail(env.err, list.status());
    env.out << "LEVEL  VERSION  SINCE\n";
    for (const auto& p : *list) {
      env.out << p.level << "  " << p.version << "  " << formatRfc3339(p.created_at) << "\n";
    }
    return kExitOk;
  }
  env.err << "hearth-server: policy needs set or list\n";
  return kExitUsage;
}

// hearth-server device list|approve|reject|owner.
int cmdDevice(const Args& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "list") {
    DeviceFilter f;
    f.now = now;
    if (a.has("--pending")) f.status = "pending";
    f.limit = 1000;
    json::Value arr = json::Value::array();
    if (!a.has("--json")) {
      env.out << "DEVICE  HOSTNAME  OWNER  LEVEL  STATUS  LAST_SEEN  FLAGS\n";
    }
    while (true) {
      auto list = store.listDevices(f);
      if (!list.ok()) return fail(env.err, list.status());
      for (const auto& d : *list) {
        if (a.has("--json")) {
          json::Value o = json::Value::object();
          o.set("device_id", d.device_id);
          o.set("hostname", d.hostname);
          o.set("owner", optionalJson(d.owner));
          o.set("level", d.level);
          o.set("status", d.status);
          o.set("last_seen",
                d.last_seen ? json::Value(formatRfc3339(*d.last_seen)) : json::Value());
          o.set("pending_approval", d.pending_approval);
          o.set("duplicate_machine_id", d.duplicate_machine_id);
          o.set("reported_by", "device");
          arr.push(std::move(o));
          continue;
        }
        std::vector<std::string> flags;
        if (d.pending_approval) flags.emplace_back("pending-approval");
        if (d.duplicate_machine_id) flags.emplace_back("duplicate-machine-id");
        env.out << d.device_id << "  " << d.hostname << "  " << orDash(d.owner) << "  " << d.level
                << "  " << d.status << "  " << timeOrDash(d.last_seen) << "  "
                << (flags.empty() ? "-" : text::join(flags, ",")) << "\n";
      }
      if (static_cast<int>(list->size()) < f.limit || list->empty()) break;
      f.after = list->back().device_id;
    }
    if (a.has("--json")) {
      json::Value o = json::Value::object();
      o.set("devices", std::move(arr));
      env.out << json::write(o) << "\n";
    }
    return kExitOk;
  }
  std::string id = a.positional.size() > 2 ? a.positional[2] : "";
  if ((sub == "approve" || sub == "reject" || sub == "owner") && id.empty()) {
    env.err << "hearth-server: device " << sub << " needs the device's ID (see device list"
            << (sub == "owner" ? "" : " --pending") << ")\n";
    return kExitUsage;
  }
  if (sub == "approve" || sub == "reject") {
    bool approve = sub == "approve";
    AuditEntry entry = cliEntry(approve ? "device.approve" : "device.reject", "device:" + id);
    Status s = approve ? store.approveDevice(id, now, &entry) : store.rejectDevice(id, now, &entry);
    if (!s.ok()) return fail(env.err, s);
    env.err << "device " << id << (approve ? " approved" : " rejected (retired)") << "\n";
    return kExitOk;
  }
  if (sub == "owner") {
    if (a.positional.size() != 4 || a.positional[3].empty() || a.positional[3].size() > 256) {
      env.err << "hearth-server: device owner needs ID and OWNER (1 to 256 characters)\n";
      return kExitUsage;
    }
    const std::string& owner = a.positional[3];
    json::Value detail = json::Value::object();
    detail.set("owner", owner);
    AuditEntry entry = cliEntry("device.owner", "device:" + id, detail);
    Status s = store.setDeviceOwner(id, owner, &entry);
    if (!s.ok()) return fail(env.err, s);
    env.err << "device " << id << " now belongs to " << owner << "\n";
    return kExitOk;
  }
  env.err << "hearth-server: device needs list, approve, reject or owner\n";
  return kExitUsage;
}

// hearth-server audit list: the audit log, oldest first.
int cmdAudit(const Args& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional.size() > 1 ? a.positional[1] : "";
  if (sub != "list") {
    env.err << "hearth-server: audit needs list\n";
    return kExitUsage;
  }
  int64_t after = 0;
  if (a.has("--after")) {
    auto v = text::parseInt(a.get("--after"));
    if (!v || *v < 0) {
      env.err << "hearth-server: --after \"" << a.get("--after")
              << "\": expected a cursor (a whole number from a previous listing)\n";
      return kExitUsage;
    }
    after = *v;
  }
  bool bad = false;
  auto limit = positiveInt(a, "--limit", env.err, bad);
  if (bad) return kExitUsage;
  int64_t left = limit.value_or(INT64_MAX);
  json::Value arr = json::Value::array();
  if (!a.has("--json")) env.out << "CURSOR  AT  ACTOR  ACTION  TARGET  DETAIL\n";
  while (left > 0) {
    auto page = store.listAudit(after, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (!page.ok()) return fail(env.err, page.status());
    for (const auto& e : *page) {
      if (a.has("--json")) {
        arr.push(AuditEntryJson(e));
      } else {
        env.out << e.id << "  " << formatRfc3339(e.at) << "  " << e.actor << "  " << e.action
                << "  " << (e.target.empty() ? "-" : e.target) << "  " << e.detail.value_or("-")
                << "\n";
      }
    }
    left -= static_cast<int64_t>(page->size());
    if (page->size() < 1000) break;
    after = page->back().id;
  }
  if (a.has("--json")) {
    json::Value o = json::Value::object();
    o.set("entries", std::move(arr));
    env.out << json::write(o) << "\n";
  }
  return kExitOk;
}

// Prints "ok" (exit 0) when the database is consistent, else what is wrong (exit 1). Opening it
// first recovers what a crash left (SQLite replays its write-ahead log).
int cmdCheckDb(const ServerCliEnvironment& env, Store& store, const std::string& db) {
  auto result = store.checkIntegrity();
  if (!result.ok()) return fail(env.err, result.status());
  if (*result == "ok") {
    env.out << "ok\n";
    return kExitOk;
  }
  env.out << *result << "\n";
  env.err << "hearth-server: the database " << (db.rfind("postgres", 0) == 0 ? "" : db + " ")
          << "is damaged: restore it from a backup\n";
  return kExitFailure;
}

// Days of retention from `key` (1 to 36500; absent: `fallback`).
std::optional<std::chrono::seconds> retentionDays(const Args& a, const std::string& key,
                                                  int64_t fallback, std::ostream& err) {
  int64_t days = fallback;
  if (a.has(key)) {
    auto v = text::parseInt(a.get(key));
    if (!v || *v < 1 || *v > 36500) {
      err << "hearth-server: " << key << " \"" << a.get(key)
          << "\": expected a whole number of days from 1 to 36500\n";
      return std::nullopt;
    }
    days = *v;
  }
  return std::chrono::seconds(days * 24 * 3600);
}

StatusOr<std::string> passphraseFrom(const Args& a, const std::string& cmd) {
  if (!a.has("--passphrase-file")) {
    return InvalidArgumentError(cmd +
                                " needs --passphrase-file FILE (or - for standard input); the "
                                "passphrase is never taken from the command line");
  }
  return ReadPassphraseFile(a.get("--passphrase-file"));
}

int cmdBackup(const Args& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  if (!a.has("--out")) {
    env.err << "hearth-server: backup needs --out FILE\n";
    return kExitUsage;
  }
  auto passphrase = passphraseFrom(a, "backup");
  if (!passphrase.ok()) return fail(env.err, passphrase.status());
  BackupOptions o;
  o.state_dir = state_dir;
  o.database = a.get("--database");
  o.config = a.get("--config", env.default_config);
  o.out = a.get("--out");
  o.passphrase = *passphrase;
  {
    // A backup carries every key and report out of the server: it is audited, before any data
    // is copied, and refused if it cannot be (like the CSV export).
    auto store = OpenStore(DatabaseUri(state_dir, o.database));
    if (!store.ok()) return fail(env.err, store.status());
    AuditEntry entry;
    entry.at = std::chrono::system_clock::now();
    entry.actor = CliActor();
    entry.action = "backup";
    entry.target = "file:" + o.out;
    if (Status s = (*store)->appendAudit(entry); !s.ok()) {
      return fail(env.err, s.withContext("backup refused: cannot record it in the audit log"));
    }
  }
  auto r = CreateBackup(o);
  if (!r.ok()) return fail(env.err, r.status());
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

int cmdRestore(const Args& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  if (!a.has("--in")) {
    env.err << "hearth-server: restore needs --in FILE (a backup made by hearth-server backup)\n";
    return kExitUsage;
  }
  auto passphrase = passphraseFrom(a, "restore");
  if (!passphrase.ok()) return fail(env.err, passphrase.status());
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

int cmdPrune(const Args& a, const ServerCliEnvironment& env, Store& store) {
  auto history = retentionDays(a, "--retention-days", 400, env.err);
  auto retired = retentionDays(a, "--retired-retention-days", 30, env.err);
  if (!history || !retired) return kExitUsage;
  PruneOptions o;
  o.now = std::chrono::system_clock::now();
  o.history_window = *history;
  o.retired_window = *retired;
  o.dry_run = a.has("--dry-run");
  auto r = store.prune(o);
  if (!r.ok()) return fail(env.err, r.status());
  const char* verb = o.dry_run ? "would delete" : "deleted";
  env.out << verb << " " << r->reports << " report(s) received before "
          << formatRfc3339(o.now - o.history_window) << " (each device's latest report is kept)\n"
          << verb << " " << r->events << " feed event(s) from before then\n"
          << verb << " " << r->retired_devices.size() << " device(s) retired before "
          << formatRfc3339(o.now - o.retired_window) << ", with their " << r->retired_reports
          << " report(s) and " << r->retired_events << " event(s)";
  for (const auto& id : r->retired_devices) env.out << "\n  " << id;
  env.out << "\n";
  if (!o.dry_run) {
    AuditEntry entry;
    entry.at = o.now;
    entry.actor = CliActor();
    entry.action = "prune";
    json::Value detail = json::Value::object();
    detail.set("reports", static_cast<int64_t>(r->reports));
    detail.set("events", static_cast<int64_t>(r->events));
    detail.set("retired_devices", static_cast<int64_t>(r->retired_devices.size()));
    entry.detail = json::write(detail);
    if (Status s = store.appendAudit(entry); !s.ok()) {
      env.err << "hearth-server: warning: prune done, but not recorded in the audit log: "
              << s.message() << "\n";
    }
  }
  return kExitOk;
}

// `rotate signing-key [--overlap-days N] | --finish`. Keys only: no database.
int cmdRotate(const Args& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  std::string what = a.positional.size() > 1 ? a.positional[1] : "";
  if (what == "signing-key") {
    if (a.has("--finish")) {
      Status s = FinishSigningKeyRotation(state_dir);
      if (!s.ok()) return fail(env.err, s);
      env.err << "the next policy-signing key is now the current one; restart `hearth-server "
                 "serve` to use it\n";
      return kExitOk;
    }
    int64_t days = 30;
    if (a.has("--overlap-days")) {
      auto v = text::parseInt(a.get("--overlap-days"));
      if (!v || *v < 0 || *v > 3650) {
        env.err << "hearth-server: --overlap-days \"" << a.get("--overlap-days")
                << "\": expected a number of days from 0 to 3650\n";
        return kExitUsage;
      }
      days = *v;
    }
    auto when = StartSigningKeyRotation(state_dir, std::chrono::hours(24 * days),
                                        std::chrono::system_clock::now());
    if (!when.ok()) return fail(env.err, when.status());
    env.out << "next policy-signing key: " << PathsFor(state_dir).signing_next_pub << "\n"
            << "announced to agents with every policy from the next start of `hearth-server "
               "serve`; it signs policies from "
            << formatRfc3339(*when) << "\n";
    env.err << "restart `hearth-server serve` now so that agents learn the next key during the "
               "overlap; agents that fetch no policy before "
            << formatRfc3339(*when) << " must be enrolled again\n";
    return kExitOk;
  }
  if (what == "server-cert") {
    if (a.has("--prepare")) {
      auto pin = PrepareServerKeyRotation(state_dir);
      if (!pin.ok()) return fail(env.err, pin.status());
      env.out << *pin << "\n";
      env.err << "the next server key is prepared; restart `hearth-server serve` so that every "
                 "policy announces its pin, wait until the agents have fetched a policy, then "
                 "run `hearth-server rotate server-cert`\n";
      return kExitOk;
    }
    auto r = RotateServerCertificate(state_dir, std::chrono::system_clock::now());
    if (!r.ok()) return fail(env.err, r.status());
    env.out << r->pin << "\n";
    env.err << "new server certificate (same names, same CA) valid until "
            << formatRfc3339(r->not_after) << "; restart `hearth-server serve` to use it\n";
    if (!r->announced) {
      env.err << "warning: its key was not announced beforehand (rotate server-cert --prepare): "
                 "agents enrolled with --pin will refuse the server until they are enrolled "
                 "again; agents that trust ca.pem are not affected\n";
    }
    return kExitOk;
  }
  if (what == "device-ca") {
    if (a.has("--finish")) {
      Status s = FinishDeviceCaRollover(state_dir);
      if (!s.ok()) return fail(env.err, s);
      env.err << "the previous device CA is no longer trusted; restart `hearth-server serve`. "
                 "Devices still on a certificate it issued must enrol again\n";
      return kExitOk;
    }
    Status s = RollOverDeviceCa(state_dir, std::chrono::system_clock::now());
    if (!s.ok()) return fail(env.err, s);
    env.err << "new device CA " << PathsFor(state_dir).device_ca_cert
            << "; restart `hearth-server serve`: it issues every certificate from then on and "
               "still accepts those of the previous CA. Agents move to it as they renew (within "
               "half of --device-cert-days); then run `hearth-server rotate device-ca --finish`\n";
    return kExitOk;
  }
  env.err << "hearth-server: rotate needs what to rotate: signing-key, server-cert or "
             "device-ca\n";
  return kExitUsage;
}

}  // namespace

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

int RunServerCli(const std::vector<std::string>& raw, const ServerCliEnvironment& env) {
  if (raw.empty()) {
    env.err << kUsage;
    return kExitUsage;
  }
  if (raw[0] == "--version" || raw[0] == "-V") {
    env.out << "hearth-server " << HEARTH_VERSION << "\n";
    return kExitOk;
  }
  Args a;
  if (!parseArgs(raw, a, env.err)) return kExitUsage;
  if (a.help || a.positional.empty() || a.positional[0] == "help") {
    env.out << kUsage;
    return a.positional.empty() && !a.help ? kExitUsage : kExitOk;
  }
  if (!loadConfigFile(a.get("--config", env.default_config), a.has("--config"), a, env.err)) {
    return kExitUsage;
  }
  const std::string& cmd = a.positional[0];
  if (cmd == "init") return cmdInit(a, env);

  std::string state_dir = a.get("--state-dir", env.default_state_dir);
  if (cmd == "serve") {
    ServeOptions o;
    o.state_dir = state_dir;
    o.database = a.get("--database");
    o.listen = a.get("--listen", "0.0.0.0:8443");
    o.admin_listen = a.get("--admin-listen", "127.0.0.1:8444");
    if (a.has("--stale-after")) {
      bool bad = false;
      auto hours = positiveInt(a, "--stale-after", env.err, bad);
      if (bad) return kExitUsage;
      o.stale_after = std::chrono::hours(*hours);
    }
    if (a.has("--request-timeout")) {
      bool bad = false;
      auto secs = positiveInt(a, "--request-timeout", env.err, bad);
      if (bad) return kExitUsage;
      o.request_deadline = std::chrono::seconds(*secs);
    }
    bool bad = false;
    if (auto n = positiveInt(a, "--threads", env.err, bad)) {
      if (*n > 1024) {
        env.err << "hearth-server: --threads " << *n << ": at most 1024\n";
        return kExitUsage;
      }
      o.max_threads = static_cast<int>(*n);
    }
    if (auto n = positiveInt(a, "--queue", env.err, bad)) o.max_queued = static_cast<int>(*n);
    if (auto r = positiveRate(a, "--enroll-rate", env.err, bad)) o.enroll_limit.per_second = *r;
    if (auto n = positiveInt(a, "--enroll-burst", env.err, bad)) {
      o.enroll_limit.burst = static_cast<double>(*n);
    }
    if (auto r = positiveRate(a, "--enroll-address-rate", env.err, bad)) {
      o.enroll_limit_per_address.per_second = *r;
    }
    if (auto n = positiveInt(a, "--enroll-address-burst", env.err, bad)) {
      o.enroll_limit_per_address.burst = static_cast<double>(*n);
    }
    if (auto n = positiveInt(a, "--enroll-spike-count", env.err, bad))
      o.enroll_spike.threshold = *n;
    if (auto n = positiveInt(a, "--enroll-spike-minutes", env.err, bad)) {
      o.enroll_spike.window = std::chrono::minutes(*n);
    }
    if (auto n = positiveInt(a, "--device-cert-days", env.err, bad)) {
      if (*n > 3650) {
        env.err << "hearth-server: --device-cert-days " << *n << ": at most 3650 (ten years)\n";
        return kExitUsage;
      }
      o.device_cert_validity = std::chrono::hours(24 * *n);
    }
    if (a.has("--reenroll-expired-days")) {
      auto v = text::parseInt(a.get("--reenroll-expired-days"));
      if (!v || *v < 0 || *v > 3650) {
        env.err << "hearth-server: --reenroll-expired-days \"" << a.get("--reenroll-expired-days")
                << "\": expected a number of days from 0 (never) to 3650\n";
        return kExitUsage;
      }
      o.reenroll_expired = std::chrono::hours(24 * *v);
    }
    if (bad) return kExitUsage;
    auto history = retentionDays(a, "--retention-days", 400, env.err);
    auto retired = retentionDays(a, "--retired-retention-days", 30, env.err);
    if (!history || !retired) return kExitUsage;
    o.history_retention = *history;
    o.retired_retention = *retired;
    return RunServe(o, env.out, env.err);
  }
  if (cmd == "backup") return cmdBackup(a, env, state_dir);
  if (cmd == "restore") return cmdRestore(a, env, state_dir);
  if (cmd == "rotate") {
    int rc = cmdRotate(a, env, state_dir);
    if (rc == kExitOk) {
      // Key rotations are admin actions too: recorded once done (the keys live in files, not in
      // the database, so there is no transaction to share).
      std::string what = a.positional.size() > 1 ? a.positional[1] : "";
      AuditEntry entry;
      entry.at = std::chrono::system_clock::now();
      entry.actor = CliActor();
      entry.action = "rotate." + what +
                     (a.has("--finish")    ? ".finish"
                      : a.has("--prepare") ? ".prepare"
                                           : "");
      entry.target = "server";
      auto store = OpenStore(DatabaseUri(state_dir, a.get("--database")));
      Status s = store.ok() ? (*store)->appendAudit(entry) : store.status();
      if (!s.ok()) {
        env.err << "hearth-server: warning: " << entry.action
                << " done, but not recorded in the audit log: " << s.message() << "\n";
      }
    }
    return rc;
  }
  if (cmd != "secret" && cmd != "token" && cmd != "policy" && cmd != "check-db" && cmd != "prune" &&
      cmd != "device" && cmd != "audit") {
    env.err << "hearth-server: unknown command \"" << cmd << "\" (see hearth-server --help)\n";
    return kExitUsage;
  }
  std::string db = DatabaseUri(state_dir, a.get("--database"));
  if (a.get("--database").empty() && ::access(db.c_str(), F_OK) != 0) {
    env.err << "hearth-server: " << db
            << " does not exist: is --state-dir right? (create a server with hearth-server init)\n";
    return kExitUsage;
  }
  auto store = OpenStore(db);
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
    return fail(env.err, store.status());
  }
  if (cmd == "check-db") return cmdCheckDb(env, **store, db);
  if (cmd == "secret") return cmdSecret(a, env, **store);
  if (cmd == "token") return cmdToken(a, env, **store);
  if (cmd == "prune") return cmdPrune(a, env, **store);
  if (cmd == "device") return cmdDevice(a, env, **store);
  if (cmd == "audit") return cmdAudit(a, env, **store);
  return cmdPolicy(a, env, **store, state_dir);
}

}  // namespace hearth::server
