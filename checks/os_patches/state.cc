// os_patches state: first-seen dates of pending updates and of a pending restart, and the cached
// apt answer, kept in STATE_DIR/os_patches.json (nothing secret; mode 0644; written durably).
//
// {"version": 1,
//  "seen": [{"name", "installed", "candidate", "first_seen": RFC 3339, "security_since"?}],
//  "reboot": {"reason", "since"}?,
//  "apt_cache": {"key", "packages": [{"name","installed","candidate","security"}],
//                "removals": [], "kept_back": [], "phasing_deferred": [],
//                "unattended_upgrades_installed": bool}?}
#include "hearth/files.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"

namespace hearth::checks::os_patches {

namespace {

constexpr int64_t kStateVersion = 1;
constexpr size_t kMaxStateBytes = 16 * 1024 * 1024;

json::Value strings(const std::vector<std::string>& v) {
  json::Value a = json::Value::array();
  for (const auto& s : v) a.push(s);
  return a;
}

Status readStrings(const json::Value* v, std::vector<std::string>* out) {
  if (v == nullptr) return OkStatus();
  if (!v->isArray()) return DataLossError("expected an array of strings");
  for (const auto& e : v->asArray()) {
    if (!e.isString()) return DataLossError("expected an array of strings");
    out->push_back(e.asString());
  }
  return OkStatus();
}

StatusOr<std::string> str(const json::Value& o, const char* key) {
  const json::Value* v = o.find(key);
  if (v == nullptr || !v->isString()) return DataLossError(std::string("missing string ") + key);
  return v->asString();
}

StatusOr<TimePoint> when(const json::Value& o, const char* key) {
  HEARTH_ASSIGN_OR_RETURN(std::string s, str(o, key));
  auto t = parseRfc3339(s);
  if (!t.ok()) return DataLossError(std::string("bad time in ") + key);
  return *t;
}

}  // namespace

json::Value stateToJson(const PatchState& state) {
  json::Value doc = json::Value::object();
  doc.set("version", kStateVersion);
  json::Value seen = json::Value::array();
  for (const auto& s : state.seen) {
    json::Value e = json::Value::object();
    e.set("name", s.name);
    e.set("installed", s.installed);
    e.set("candidate", s.candidate);
    e.set("first_seen", formatRfc3339(s.first_seen));
    if (s.security_since) e.set("security_since", formatRfc3339(*s.security_since));
    seen.push(std::move(e));
  }
  doc.set("seen", std::move(seen));
  if (state.reboot_reason && state.reboot_since) {
    json::Value r = json::Value::object();
    r.set("reason", *state.reboot_reason);
    r.set("since", formatRfc3339(*state.reboot_since));
    doc.set("reboot", std::move(r));
  }
  if (state.apt_cache) {
    const AptCache& c = *state.apt_cache;
    json::Value a = json::Value::object();
    a.set("key", c.key);
    json::Value pk = json::Value::array();
    for (const auto& p : c.packages) {
      json::Value e = json::Value::object();
      e.set("name", p.name);
      e.set("installed", p.installed);
      e.set("candidate", p.candidate);
      e.set("security", p.security);
      pk.push(std::move(e));
    }
    a.set("packages", std::move(pk));
    a.set("removals", strings(c.removals));
    a.set("kept_back", strings(c.kept_back));
    a.set("phasing_deferred", strings(c.phasing_deferred));
    a.set("unattended_upgrades_installed", c.unattended_upgrades_installed);
    doc.set("apt_cache", std::move(a));
  }
  return doc;
}

StatusOr<PatchState> stateFromJson(const json::Value& doc) {
  PatchState st;
  const json::Value* version = doc.find("version");
  if (version == nullptr || !version->isInt() || version->asInt() != kStateVersion) {
    return DataLossError("unknown state version");
  }
  if (const json::Value* seen = doc.find("seen"); seen != nullptr) {
    if (!seen->isArray()) return DataLossError("seen: expected an array");
    for (const auto& e : seen->asArray()) {
      SeenEntry s;
      HEARTH_ASSIGN_OR_RETURN(s.name, str(e, "name"));
      HEARTH_ASSIGN_OR_RETURN(s.installed, str(e, "installed"));
      HEARTH_ASSIGN_OR_RETURN(s.candidate, str(e, "candidate"));
      HEARTH_ASSIGN_OR_RETURN(s.first_seen, when(e, "first_seen"));
      if (e.find("security_since") != nullptr) {
        HEARTH_ASSIGN_OR_RETURN(TimePoint t, when(e, "security_since"));
        s.security_since = t;
      }
      st.seen.push_back(std::move(s));
    }
  }
  if (const json::Value* r = doc.find("reboot"); r != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(std::string reason, str(*r, "reason"));
    HEARTH_ASSIGN_OR_RETURN(TimePoint since, when(*r, "since"));
    st.reboot_reason = reason;
    st.reboot_since = since;
  }
  if (const json::Value* a = doc.find("apt_cache"); a != nullptr) {
    AptCache c;
    HEARTH_ASSIGN_OR_RETURN(c.key, str(*a, "key"));
    const json::Value* pk = a->find("packages");
    if (pk == nullptr || !pk->isArray()) return DataLossError("apt_cache.packages");
    for (const auto& e : pk->asArray()) {
      AptCache::Package p;
      HEARTH_ASSIGN_OR_RETURN(p.name, str(e, "name"));
      HEARTH_ASSIGN_OR_RETURN(p.installed, str(e, "installed"));
      HEARTH_ASSIGN_OR_RETURN(p.candidate, str(e, "candidate"));
      const json::Value* sec = e.find("security");
      if (sec == nullptr || !sec->isBool()) return DataLossError("apt_cache.packages.security");
      p.security = sec->asBool();
      c.packages.push_back(std::move(p));
    }
    HEARTH_RETURN_IF_ERROR(readStrings(a->find("removals"), &c.removals));
    HEARTH_RETURN_IF_ERROR(readStrings(a->find("kept_back"), &c.kept_back));
    HEARTH_RETURN_IF_ERROR(readStrings(a->find("phasing_deferred"), &c.phasing_deferred));
    if (const json::Value* u = a->find("unattended_upgrades_installed");
        u != nullptr && u->isBool()) {
      c.unattended_upgrades_installed = u->asBool();
    }
    st.apt_cache = std::move(c);
  }
  return st;
}

StatusOr<PatchState> loadState(const std::string& dir) {
  std::string path = dir + "/" + kStateFileName;
  auto content = ReadFileBounded(path, kMaxStateBytes, {.follow_symlinks = false});
  if (!content.ok()) {
    if (content.status().code() == StatusCode::kNotFound) return PatchState{};
    if (content.status().code() == StatusCode::kResourceExhausted) {
      return DataLossError(path + " is too large");
    }
    return content.status();
  }
  auto doc = json::parse(*content, {.max_depth = 8, .max_bytes = kMaxStateBytes});
  if (!doc.ok()) return DataLossError(path + ": " + doc.status().message());
  auto st = stateFromJson(*doc);
  if (!st.ok()) return DataLossError(path + ": " + st.status().message());
  return st;
}

Status saveState(const std::string& dir, const PatchState& state) {
  return WriteFileDurably(dir + "/" + kStateFileName, json::write(stateToJson(state)) + "\n", 0644);
}

}  // namespace hearth::checks::os_patches
