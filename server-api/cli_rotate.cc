// `hearth-server rotate`: the policy-signing key, the server certificate and the device CA.
// The keys live in files, not in the database; a rotation done is recorded in the audit log.
#include <chrono>

#include "cli_commands.h"
#include "hearth/server/state.h"
#include "hearth/time.h"

namespace hearth::server::cli {

namespace {

// The rotation itself: signing-key, server-cert or device-ca. Keys only: no database.
int rotate(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  std::string what = a.positional().size() > 1 ? a.positional()[1] : "";
  if (what == "signing-key") {
    if (a.has("--finish")) {
      Status s = FinishSigningKeyRotation(state_dir);
      if (!s.ok()) return Fail(env.err, s);
      env.err << "the next policy-signing key is now the current one; restart `hearth-server "
                 "serve` to use it\n";
      return kExitOk;
    }
    bool bad = false;
    int64_t days = WholeNumber(a, "--overlap-days", 0, 3650,
                               "expected a number of days from 0 to 3650", env.err, bad)
                       .value_or(30);
    if (bad) return kExitUsage;
    auto when = StartSigningKeyRotation(state_dir, std::chrono::hours(24 * days),
                                        std::chrono::system_clock::now());
    if (!when.ok()) return Fail(env.err, when.status());
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
      if (!pin.ok()) return Fail(env.err, pin.status());
      env.out << *pin << "\n";
      env.err << "the next server key is prepared; restart `hearth-server serve` so that every "
                 "policy announces its pin, wait until the agents have fetched a policy, then "
                 "run `hearth-server rotate server-cert`\n";
      return kExitOk;
    }
    auto r = RotateServerCertificate(state_dir, std::chrono::system_clock::now());
    if (!r.ok()) return Fail(env.err, r.status());
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
      if (!s.ok()) return Fail(env.err, s);
      env.err << "the previous device CA is no longer trusted; restart `hearth-server serve`. "
                 "Devices still on a certificate it issued must enrol again\n";
      return kExitOk;
    }
    Status s = RollOverDeviceCa(state_dir, std::chrono::system_clock::now());
    if (!s.ok()) return Fail(env.err, s);
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

int CmdRotate(const ParsedFlags& a, const ServerCliEnvironment& env, const std::string& state_dir) {
  int rc = rotate(a, env, state_dir);
  if (rc == kExitOk) {
    // Key rotations are admin actions too: recorded once done (the keys live in files, not in
    // the database, so there is no transaction to share).
    std::string what = a.positional().size() > 1 ? a.positional()[1] : "";
    AuditEntry entry = CliEntry("rotate." + what +
                                    (a.has("--finish")    ? ".finish"
                                     : a.has("--prepare") ? ".prepare"
                                                          : ""),
                                "server", json::Value());
    auto store = OpenStore(DatabaseUri(state_dir, a.get("--database")), OpenMode::kExisting);
    Status s = store.ok() ? (*store)->appendAudit(entry) : store.status();
    if (!s.ok()) {
      env.err << "hearth-server: warning: " << entry.action
              << " done, but not recorded in the audit log: " << s.message() << "\n";
    }
  }
  return rc;
}

}  // namespace hearth::server::cli
