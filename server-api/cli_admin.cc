// `hearth-server secret`, `token` and `policy`: enrolment secrets and admin tokens (printed
// once, stored as hashes) and signed policies. Every change is audited as cli:<unix user>.
#include <chrono>

#include "cli_commands.h"
#include "hearth/files.h"
#include "hearth/server/state.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::server::cli {

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
    if (a.has("--owner")) spec.owner = a.get("--owner");
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
    detail.set("expires_at",
               spec.expires_at ? json::Value(formatRfc3339(*spec.expires_at)) : json::Value());
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
    env.out << "ID  LEVEL  OWNER  USES  LEFT  EXPIRES  STATE  KIND\n";
    for (const auto& s : *list) {
      std::string state = s.revoked_at                             ? "revoked"
                          : (s.expires_at && *s.expires_at <= now) ? "expired"
                          : (s.uses_left && *s.uses_left <= 0)     ? "used up"
                                                                   : "active";
      env.out << s.id << "  " << s.level << "  " << OrDash(s.owner) << "  " << s.uses << "  "
              << (s.uses_left ? std::to_string(*s.uses_left) : "unlimited") << "  "
              << TimeOrDash(s.expires_at) << "  " << state << "  " << SecretKind(s) << "\n";
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    auto id = a.positional().size() > 2 ? text::parseInt(a.positional()[2]) : std::nullopt;
    if (!id) {
      env.err << "hearth-server: secret revoke needs the secret's ID (see secret list)\n";
      return kExitUsage;
    }
    AuditEntry entry = CliEntry("secret.revoke", "secret:" + std::to_string(*id));
    Status s = store.revokeSecret(*id, now, &entry);
    if (!s.ok()) return Fail(env.err, s);
    env.err << "enrolment secret " << *id << " revoked\n";
    return kExitOk;
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
    detail.set("expires_at",
               spec.expires_at ? json::Value(formatRfc3339(*spec.expires_at)) : json::Value());
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
    env.out << "ID  NAME  SCOPE  CREATED  EXPIRES  STATE\n";
    for (const auto& t : *list) {
      std::string state = t.revoked_at                             ? "revoked"
                          : (t.expires_at && *t.expires_at <= now) ? "expired"
                                                                   : "active";
      env.out << t.id << "  " << t.name << "  " << t.scope << "  " << formatRfc3339(t.created_at)
              << "  " << TimeOrDash(t.expires_at) << "  " << state << "\n";
    }
    return kExitOk;
  }
  if (sub == "revoke") {
    auto id = a.positional().size() > 2 ? text::parseInt(a.positional()[2]) : std::nullopt;
    if (!id) {
      env.err << "hearth-server: token revoke needs the token's ID (see token list)\n";
      return kExitUsage;
    }
    AuditEntry entry = CliEntry("token.revoke", "token:" + std::to_string(*id));
    Status s = store.revokeToken(*id, now, &entry);
    if (!s.ok()) return Fail(env.err, s);
    env.err << "admin token " << *id << " revoked\n";
    return kExitOk;
  }
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
    env.out << "LEVEL  VERSION  SINCE\n";
    for (const auto& p : *list) {
      env.out << p.level << "  " << p.version << "  " << formatRfc3339(p.created_at) << "\n";
    }
    return kExitOk;
  }
  env.err << "hearth-server: policy needs set or list\n";
  return kExitUsage;
}

}  // namespace hearth::server::cli
