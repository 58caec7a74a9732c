// `hearth-server secret`, `token` and `policy`: enrolment secrets and admin tokens (printed
// once, stored as hashes) and signed policies. Every change is audited as cli:<unix user>.
#include <chrono>

#include "cli_commands.h"
#include "hearth/files.h"
#include "hearth/protocol/wire.h"
#include "hearth/server/state.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::server::cli {

namespace {

// A secret's or token's state in a listing when it no longer works by date: "revoked",
// "expired"; "" while it does.
std::string lapsed(const std::optional<TimePoint>& revoked_at,
                   const std::optional<TimePoint>& expires_at, TimePoint now) {
  if (revoked_at) return "revoked";
  if (expires_at && *expires_at <= now) return "expired";
  return "";
}

// `secret revoke ID` and `token revoke ID`: `what` is the command ("secret"), `noun` what the
// message calls it ("enrolment secret"), `revoke` the store's method. Audited as WHAT.revoke.
int revokeById(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store,
               const std::string& what, const std::string& noun,
               Status (Store::*revoke)(int64_t id, TimePoint at, const AuditEntry* audit)) {
  auto id = a.positional().size() > 2 ? text::parseInt(a.positional()[2]) : std::nullopt;
  if (!id) {
    env.err << "hearth-server: " << what << " revoke needs the " << what << "'s ID (see " << what
            << " list)\n";
    return kExitUsage;
  }
  AuditEntry entry = CliEntry(what + ".revoke", what + ":" + std::to_string(*id));
  Status s = (store.*revoke)(*id, std::chrono::system_clock::now(), &entry);
  if (!s.ok()) return Fail(env.err, s);
  env.err << noun << " " << *id << " revoked\n";
  return kExitOk;
}

}  // namespace

int CmdSecret(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "create") {
    bool bad = false;
    SecretRecord spec;
    spec.level = a.get("--level", "standard");
    spec.uses_left = PositiveInt(a, "--uses", env.err, bad);
    auto days = PositiveInt(a, "--expires", env.err, bad);
    if (bad) return kExitUsage;
    if (days) spec.expires_at = now + std::chrono::hours(24 * *days);
    if (a.has("--owner")) {
      spec.owner = a.get("--owner");
      if (!PersonTextOk("--owner", *spec.owner, protocol::kMaxOwnerChars, env.err)) {
        return kExitUsage;
      }
    }
    spec.approval = a.has("--approval");
    spec.created_at = now;
    if (!store.latestPolicy(spec.level).ok()) {
      env.err << "hearth-server: --level " << spec.level
              << ": no policy for that level (add one with hearth-server policy set)\n";
      return kExitUsage;
    }
    auto secret = NewSecret("hes_");
    if (!secret.ok()) return Fail(env.err, secret.status());
    json::Value detail = json::Value::object();
    detail.set("kind", SecretKind(spec));
    detail.set("level", spec.level);
    detail.set("owner", OptionalJson(spec.owner));
    detail.set("uses", spec.uses_left ? json::Value(*spec.uses_left) : json::Value());
    detail.set("expires_at", OptionalJson(spec.expires_at));
    detail.set("approval", spec.approval);
    AuditEntry entry = CliEntry("secret.create", "secret:", detail);
    auto rec = store.createSecret(HashSecret(*secret), spec, &entry);
    if (!rec.ok()) return Fail(env.err, rec.status());
    env.out << *secret << "\n";
    env.err << "enrolment secret " << rec->id << " (" << SecretKind(*rec) << ") for level "
            << spec.level << " created\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listSecrets();
    if (!list.ok()) return Fail(env.err, list.status());
    Table table(env.out, {"ID", "LEVEL", "OWNER", "USES", "LEFT", "EXPIRES", "STATE", "KIND"});
    for (const auto& s : *list) {
      std::string state = lapsed(s.revoked_at, s.expires_at, now);
      if (state.empty()) state = s.uses_left && *s.uses_left <= 0 ? "used up" : "active";
      table.row({std::to_string(s.id), s.level, OrDash(s.owner), std::to_string(s.uses),
                 s.uses_left ? std::to_string(*s.uses_left) : "unlimited", TimeOrDash(s.expires_at),
                 state, SecretKind(s)});
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    return revokeById(a, env, store, "secret", "enrolment secret", &Store::revokeSecret);
  }
  env.err << "hearth-server: secret needs create, list or revoke\n";
  return kExitUsage;
}

int CmdToken(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  TimePoint now = std::chrono::system_clock::now();
  if (sub == "create") {
    if (!a.has("--name")) {
      env.err << "hearth-server: token create needs --name NAME (who or what uses it)\n";
      return kExitUsage;
    }
    bool bad = false;
    TokenRecord spec;
    spec.name = a.get("--name");
    if (!PersonTextOk("--name", spec.name, protocol::kMaxNameChars, env.err)) return kExitUsage;
    spec.scope = a.get("--scope", "read");
    if (spec.scope != "read" && spec.scope != "admin") {
      env.err << "hearth-server: --scope \"" << spec.scope << "\": expected read or admin\n";
      return kExitUsage;
    }
    auto days = PositiveInt(a, "--expires", env.err, bad);
    if (bad) return kExitUsage;
    if (days) spec.expires_at = now + std::chrono::hours(24 * *days);
    spec.created_at = now;
    auto token = NewSecret("hat_");
    if (!token.ok()) return Fail(env.err, token.status());
    json::Value detail = json::Value::object();
    detail.set("name", spec.name);
    detail.set("scope", spec.scope);
    detail.set("expires_at", OptionalJson(spec.expires_at));
    AuditEntry entry = CliEntry("token.create", "token:", detail);
    auto rec = store.createToken(HashSecret(*token), spec, &entry);
    if (!rec.ok()) return Fail(env.err, rec.status());
    env.out << *token << "\n";
    env.err << "admin token " << rec->id << " (" << spec.scope << ") created\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listTokens();
    if (!list.ok()) return Fail(env.err, list.status());
    Table table(env.out, {"ID", "NAME", "SCOPE", "CREATED", "EXPIRES", "STATE"});
    for (const auto& t : *list) {
      std::string state = lapsed(t.revoked_at, t.expires_at, now);
      table.row({std::to_string(t.id), t.name, t.scope, formatRfc3339(t.created_at),
                 TimeOrDash(t.expires_at), state.empty() ? "active" : state});
    }
    return kExitOk;
  }
  if (sub == "revoke")
    return revokeById(a, env, store, "token", "admin token", &Store::revokeToken);
  env.err << "hearth-server: token needs create, list or revoke\n";
  return kExitUsage;
}

int CmdPolicy(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store,
              const std::string& state_dir) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  if (sub == "set") {
    if (!a.has("--file")) {
      env.err << "hearth-server: policy set needs --file POLICY.json\n";
      return kExitUsage;
    }
    auto keys = LoadServerKeys(state_dir);
    if (!keys.ok()) return Fail(env.err, keys.status());
    auto text = ReadFileBounded(a.get("--file"), 1 << 20);
    if (!text.ok()) return Fail(env.err, text.status().withContext("--file"));
    AuditEntry entry = CliEntry("policy.set", "");
    auto rec = SetPolicy(store, keys->signing_key, *text, a.get("--file"),
                         std::chrono::system_clock::now(), &entry);
    if (!rec.ok()) return Fail(env.err, rec.status());
    env.err << "level " << rec->level << " is now at policy version " << rec->version << "\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto list = store.listLatestPolicies();
    if (!list.ok()) return Fail(env.err, list.status());
    Table table(env.out, {"LEVEL", "VERSION", "SINCE"});
    for (const auto& p : *list) {
      table.row({p.level, std::to_string(p.version), formatRfc3339(p.created_at)});
    }
    return kExitOk;
  }
  env.err << "hearth-server: policy needs set or list\n";
  return kExitUsage;
}

}  // namespace hearth::server::cli
