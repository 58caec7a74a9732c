// `hearth-server init` (a new server: keys, certificates, database, first token and secret)
// and `hearth-server serve` (its options, then RunServe).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <sys/stat.h>

#include "cli_commands.h"
#include "hearth/files.h"
#include "hearth/server/oidc.h"
#include "hearth/server/serve.h"
#include "hearth/server/state.h"

namespace hearth::server::cli {

int CmdInit(const ParsedFlags& a, const ServerCliEnvironment& env) {
  InitOptions o;
  o.state_dir = a.get("--state-dir", env.default_state_dir);
  o.database = a.get("--database");
  o.sans = a.all("--san");
  if (a.has("--policy")) {
    auto text = ReadFileBounded(a.get("--policy"), 1 << 20);
    if (!text.ok()) return Fail(env.err, text.status().withContext("--policy"));
    o.policy_text = *text;
    o.policy_source = a.get("--policy");
  } else {
    o.policy_text = ExamplePolicy();
    o.policy_source = "the built-in example policy";
  }
  o.now = std::chrono::system_clock::now();
  auto r = InitServerState(o);
  if (!r.ok()) return Fail(env.err, r.status());
  // The first admin token and enrolment secret are admin actions too.
  // (Recorded after the fact: init makes the database it would be recorded in.)
  if (auto store = OpenStore(DatabaseUri(o.state_dir, o.database)); store.ok()) {
    json::Value detail = json::Value::object();
    detail.set("admin_token", "token:1");
    detail.set("enroll_secret", "secret:1");
    Status s = (*store)->appendAudit(CliEntry("server.init", "state-dir:" + o.state_dir, detail));
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

namespace {

// A comma-separated list, each item trimmed, empty items dropped.
std::vector<std::string> commaList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// The client secret from oidc_client_secret_file: a regular file that only its owner may read
// (mode 0600 or 0400), its first line. InvalidArgument naming the key and what is expected.
StatusOr<std::string> readClientSecret(const std::string& path) {
  const std::string key = "oidc_client_secret_file " + path + ": ";
  struct stat st {};
  if (path.empty() || path[0] != '/')
    return InvalidArgumentError(key + "expected an absolute path");
  if (::stat(path.c_str(), &st) != 0) {
    return InvalidArgumentError(key + "cannot be read (does it exist?)");
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(key + "expected a regular file");
  if ((st.st_mode & 077) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    return InvalidArgumentError(key + "mode 0" + mode.str() +
                                " lets other users read the client secret; expected 0600 "
                                "(chmod 600 " +
                                path + ")");
  }
  auto text = ReadFileBounded(path, 4096);
  if (!text.ok()) return InvalidArgumentError(key + text.status().message());
  std::string secret = text->substr(0, text->find_first_of("\r\n"));
  if (secret.empty())
    return InvalidArgumentError(key + "expected the client secret, got an empty file");
  return secret;
}

// The oidc_* options; disabled (issuer empty) when oidc_issuer is not given. Errors name the key.
StatusOr<oidc::OidcSettings> oidcSettings(const ParsedFlags& a) {
  oidc::OidcSettings s;
  if (!a.has("--oidc-issuer")) {
    for (const char* other : {"--oidc-client-id", "--oidc-client-secret-file",
                              "--oidc-redirect-uri", "--oidc-role-claim"}) {
      if (a.has(other)) {
        // Named as in server.conf (oidc_client_id), where these keys usually are.
        std::string key = std::string(other).substr(2);
        std::replace(key.begin(), key.end(), '-', '_');
        return InvalidArgumentError(key +
                                    " is set but oidc_issuer is not (the provider's issuer URL)");
      }
    }
    return s;
  }
  s.issuer = a.get("--oidc-issuer");
  s.client_id = a.get("--oidc-client-id");
  if (a.has("--oidc-client-secret-file")) {
    HEARTH_ASSIGN_OR_RETURN(s.client_secret, readClientSecret(a.get("--oidc-client-secret-file")));
  }
  s.redirect_uri = a.get("--oidc-redirect-uri");
  if (a.has("--oidc-scopes")) s.scopes = a.get("--oidc-scopes");
  s.role_claim = a.get("--oidc-role-claim");
  s.admin_values = commaList(a.get("--oidc-admin-values"));
  s.read_values = commaList(a.get("--oidc-read-values"));
  std::string auth = a.get("--oidc-client-auth", "client_secret_basic");
  if (auth != "client_secret_basic" && auth != "client_secret_post") {
    return InvalidArgumentError(
        "oidc_client_auth: expected client_secret_basic or "
        "client_secret_post, got \"" +
        auth + "\"");
  }
  s.client_auth =
      auth == "client_secret_post" ? oidc::ClientAuth::kSecretPost : oidc::ClientAuth::kSecretBasic;
  s.ca_file = a.get("--oidc-ca-file");
  HEARTH_RETURN_IF_ERROR(oidc::CheckSettings(s));
  return s;
}

}  // namespace

// `serve`: the options from the command line (and config file), then RunServe until SIGTERM.
int CmdServe(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  ServeOptions o;
  o.state_dir = state_dir;
  o.database = a.get("--database");
  o.listen = a.get("--listen", "0.0.0.0:8443");
  o.admin_listen = a.get("--admin-listen", "127.0.0.1:8444");
  if (a.has("--stale-after")) {
    bool bad = false;
    auto hours = PositiveInt(a, "--stale-after", env.err, bad);
    if (bad) return kExitUsage;
    o.stale_after = std::chrono::hours(*hours);
  }
  if (a.has("--request-timeout")) {
    bool bad = false;
    auto secs = PositiveInt(a, "--request-timeout", env.err, bad);
    if (bad) return kExitUsage;
    o.request_deadline = std::chrono::seconds(*secs);
  }
  bool bad = false;
  if (auto secs = PositiveInt(a, "--handshake-timeout", env.err, bad)) {
    o.handshake_timeout = std::chrono::seconds(*secs);
  }
  if (auto n = PositiveInt(a, "--pending-per-address", env.err, bad)) {
    o.pending_per_address = static_cast<int>(std::min<int64_t>(*n, 100000));
  }
  if (auto secs = PositiveInt(a, "--body-timeout", env.err, bad)) {
    o.body_floor = std::chrono::seconds(*secs);
  }
  if (auto rate = PositiveInt(a, "--body-min-rate", env.err, bad)) o.body_min_rate = *rate;
  if (auto secs = PositiveInt(a, "--console-idle-timeout", env.err, bad)) {
    o.console_idle = std::chrono::seconds(*secs);
  }
  if (auto secs = PositiveInt(a, "--console-session-lifetime", env.err, bad)) {
    o.console_lifetime = std::chrono::seconds(*secs);
  }
  if (auto n = PositiveInt(a, "--threads", env.err, bad)) {
    if (*n > 1024) {
      env.err << "hearth-server: --threads " << *n << ": at most 1024\n";
      return kExitUsage;
    }
    o.max_threads = static_cast<int>(*n);
  }
  if (auto n = PositiveInt(a, "--queue", env.err, bad)) o.max_queued = static_cast<int>(*n);
  if (auto r = PositiveRate(a, "--enroll-rate", env.err, bad)) o.enroll_limit.per_second = *r;
  if (auto n = PositiveInt(a, "--enroll-burst", env.err, bad)) {
    o.enroll_limit.burst = static_cast<double>(*n);
  }
  if (auto r = PositiveRate(a, "--enroll-address-rate", env.err, bad)) {
    o.enroll_limit_per_address.per_second = *r;
  }
  if (auto n = PositiveInt(a, "--enroll-address-burst", env.err, bad)) {
    o.enroll_limit_per_address.burst = static_cast<double>(*n);
  }
  if (auto n = PositiveInt(a, "--enroll-spike-count", env.err, bad)) o.enroll_spike.threshold = *n;
  if (auto n = PositiveInt(a, "--enroll-spike-minutes", env.err, bad)) {
    o.enroll_spike.window = std::chrono::minutes(*n);
  }
  if (auto n = PositiveInt(a, "--device-cert-days", env.err, bad)) {
    if (*n > 3650) {
      env.err << "hearth-server: --device-cert-days " << *n << ": at most 3650 (ten years)\n";
      return kExitUsage;
    }
    o.device_cert_validity = std::chrono::hours(24 * *n);
  }
  if (auto days = WholeNumber(a, "--reenroll-expired-days", 0, 3650,
                              "expected a number of days from 0 (never) to 3650", env.err, bad)) {
    o.reenroll_expired = std::chrono::hours(24 * *days);
  }
  if (auto days = WholeNumber(a, "--cert-expiry-warn-days", 1, 3650,
                              "expected a number of days from 1 to 3650", env.err, bad)) {
    o.cert_expiry_warning = std::chrono::hours(24 * *days);
  }
  if (auto days = WholeNumber(a, "--exemption-expiry-warn-days", 1, 366,
                              "expected a number of days from 1 to 366", env.err, bad)) {
    o.exemption_expiry_warning = std::chrono::hours(24 * *days);
  }
  if (auto secs = WholeNumber(a, "--webhook-timeout", 1, 60, "expected seconds from 1 to 60",
                              env.err, bad)) {
    o.webhook_timeout = std::chrono::seconds(*secs);
  }
  o.webhook_ca_file = a.get("--webhook-ca-file");
  if (bad) return kExitUsage;
  auto sso = oidcSettings(a);
  if (!sso.ok()) {
    env.err << "hearth-server: " << sso.status().message() << "\n";
    return kExitUsage;
  }
  o.oidc = std::move(*sso);
  auto history = RetentionDays(a, "--retention-days", 400, env.err);
  auto retired = RetentionDays(a, "--retired-retention-days", 30, env.err);
  if (!history || !retired) return kExitUsage;
  o.history_retention = *history;
  o.retired_retention = *retired;
  return RunServe(o, env.out, env.err);
}

}  // namespace hearth::server::cli
