// os_patches state: first-seen dates of pending updates and of a pending restart, and the cached
// apt answer, kept in STATE_DIR/os_patches.json (nothing secret; mode 0644; written durably).
//
// {"version": 1,
//  "seen": [{"name", "installed", "candidate", "first_seen": RFC 3339, "security_since"?}],
//  "reboot": {"reason", "since"}?,
//  "watching_since": RFC 3339?   (this PC's first check; absent in states before it existed)
//  "apt_cache": {"key", "packages": [{"name","installed","candidate","security"}],
//                "removals": [], "kept_back": [], "phasing_deferred": [],
//                "unattended_upgrades_installed": bool}?}
#include <cstdint>
#include <optional>
#include <string_view>

#include "hearth/files.h"
#include "hearth/json_reader.h"
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

// An optional array of strings at `key`.
Status readStrings(const json::ObjectReader& r, std::string_view key,
                   std::vector<std::string>* out) {
  const json::Array* list = nullptr;
  HEARTH_RETURN_IF_ERROR(r.readArray(key, SIZE_MAX, "an array of strings", list));
  for (size_t i = 0; list != nullptr && i < list->size(); ++i) {
    if (!(*list)[i].isString()) return r.invalid(key, "an array of strings", &(*list)[i]);
    out->push_back((*list)[i].asString());
  }
  return OkStatus();
}

// Reads the objects of the array at `key` with `each`.
template <typename Each>
Status readObjects(const json::ObjectReader& r, std::string_view key, Each each,
                   json::Presence presence = json::Presence::kOptional) {
  const json::Array* list = nullptr;
  HEARTH_RETURN_IF_ERROR(r.readArray(key, SIZE_MAX, "an array of objects", list, presence));
  for (size_t i = 0; list != nullptr && i < list->size(); ++i) {
    HEARTH_ASSIGN_OR_RETURN(
        json::ObjectReader e,
        r.objectAt(std::string(key) + "[" + std::to_string(i) + "]", (*list)[i]));
    HEARTH_RETURN_IF_ERROR(each(e));
  }
  return OkStatus();
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
  if (state.watching_since) doc.set("watching_since", formatRfc3339(*state.watching_since));
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
  using json::Presence;
  HEARTH_ASSIGN_OR_RETURN(json::ObjectReader r,
                          json::ObjectReader::Open(doc, {.code = StatusCode::kDataLoss}));
  PatchState st;
  int64_t version = 0;
  HEARTH_RETURN_IF_ERROR(
      r.readInt("version", kStateVersion, kStateVersion, version, Presence::kRequired));
  auto read_seen = [&](const json::ObjectReader& e) -> Status {
    SeenEntry s;
    HEARTH_RETURN_IF_ERROR(e.readString("name", s.name, {}, Presence::kRequired));
    HEARTH_RETURN_IF_ERROR(e.readString("installed", s.installed, {}, Presence::kRequired));
    HEARTH_RETURN_IF_ERROR(e.readString("candidate", s.candidate, {}, Presence::kRequired));
    HEARTH_RETURN_IF_ERROR(e.readTime("first_seen", s.first_seen, Presence::kRequired));
    if (e.has("security_since")) {
      TimePoint t;
      HEARTH_RETURN_IF_ERROR(e.readTime("security_since", t));
      s.security_since = t;
    }
    st.seen.push_back(std::move(s));
    return OkStatus();
  };
  HEARTH_RETURN_IF_ERROR(readObjects(r, "seen", read_seen));
  // A state kept before the field existed: its updates were seen while watching (an upgraded
  // agent must not fail what it has watched for weeks as "pending at first sight").
  TimePoint watching{};
  HEARTH_RETURN_IF_ERROR(r.readTime("watching_since", watching));
  st.watching_since = watching;
  std::optional<json::ObjectReader> reboot;
  HEARTH_RETURN_IF_ERROR(r.readObject("reboot", reboot));
  if (reboot) {
    std::string reason;
    TimePoint since;
    HEARTH_RETURN_IF_ERROR(reboot->readString("reason", reason, {}, Presence::kRequired));
    HEARTH_RETURN_IF_ERROR(reboot->readTime("since", since, Presence::kRequired));
    st.reboot_reason = reason;
    st.reboot_since = since;
  }
  std::optional<json::ObjectReader> apt;
  HEARTH_RETURN_IF_ERROR(r.readObject("apt_cache", apt));
  if (apt) {
    AptCache c;
    HEARTH_RETURN_IF_ERROR(apt->readString("key", c.key, {}, Presence::kRequired));
    auto read_package = [&](const json::ObjectReader& e) -> Status {
      AptCache::Package p;
      HEARTH_RETURN_IF_ERROR(e.readString("name", p.name, {}, Presence::kRequired));
      HEARTH_RETURN_IF_ERROR(e.readString("installed", p.installed, {}, Presence::kRequired));
      HEARTH_RETURN_IF_ERROR(e.readString("candidate", p.candidate, {}, Presence::kRequired));
      HEARTH_RETURN_IF_ERROR(e.readBool("security", p.security, Presence::kRequired));
      c.packages.push_back(std::move(p));
      return OkStatus();
    };
    HEARTH_RETURN_IF_ERROR(readObjects(*apt, "packages", read_package, Presence::kRequired));
    HEARTH_RETURN_IF_ERROR(readStrings(*apt, "removals", &c.removals));
    HEARTH_RETURN_IF_ERROR(readStrings(*apt, "kept_back", &c.kept_back));
    HEARTH_RETURN_IF_ERROR(readStrings(*apt, "phasing_deferred", &c.phasing_deferred));
    c.unattended_upgrades_installed = apt->boolOr("unattended_upgrades_installed", false);
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

namespace hearth::checks::os_patches {

StatusOr<CheckResult> runWithState(const SystemView& sys, const CheckParams& params,
                                   const Collector& collect) {
  OsPatchesSettings settings = params.policy.settingsOr<OsPatchesSettings>(kOsPatchesCheckId);
  TimePoint now = sys.now();
  PatchState state;
  json::Value state_ev = json::Value::object();
  std::string before;
  if (!params.state_dir.empty()) {
    auto loaded = loadState(params.state_dir);
    if (loaded.ok()) {
      state = std::move(loaded).value();
    } else {
      state_ev.set("state_error", loaded.status().toString() + " (started afresh)");
    }
    before = json::write(stateToJson(state));
  }
  StatusOr<PatchFacts> facts = collect(state, now);
  if (!facts.ok()) return facts.status();
  state.seen = applyFirstSeen(state.seen, facts->pending, now);
  facts->ages_from_now = params.state_dir.empty();
  // This PC's first check (a new or damaged state) starts watching now; without a state dir
  // nothing is remembered and ages count from now (applyFleetFirstSeen).
  if (!params.state_dir.empty() && !state.watching_since) state.watching_since = now;
  applyFleetFirstSeen(facts->pending, loadFleetFirstSeen(params.state_dir),
                      params.state_dir.empty() ? std::nullopt : state.watching_since);
  CheckResult result = judgePatches(*facts, settings, now);
  if (!params.state_dir.empty() && !params.state_read_only) {
    std::string after = json::write(stateToJson(state));
    if (after != before) {
      if (Status s = saveState(params.state_dir, state); !s.ok()) {
        state_ev.set("state_error", s.toString());
      }
    }
  }
  if (state_ev.size() > 0) result.evidence.set("state", std::move(state_ev));
  return result;
}

}  // namespace hearth::checks::os_patches
