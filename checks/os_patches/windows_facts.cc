// os_patches on Windows: the facts (pending updates from the Windows Update Agent's local cache,
// how fresh that cache is, a pending restart, the automatic-update policy), read through
// SystemView so that the Linux unit run tests them on a FakeSystemView. The decision is the one
// Linux uses (os_patches_decision.cc); os_patches_windows.cc is the Check.
#include <algorithm>
#include <cctype>
#include <regex>

#include "hearth/text.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"

namespace hearth::checks::os_patches {

namespace {

constexpr size_t kMaxNameBytes = 200;

constexpr char kAutoUpdateKey[] =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update";
constexpr char kCbsKey[] =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing";
constexpr char kSessionManagerKey[] = "SYSTEM\\CurrentControlSet\\Control\\Session Manager";
constexpr char kPolicyAuKey[] = "SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU";

// Whether registry key `key` exists: nullopt (with `why`) when Windows would not say.
std::optional<bool> keyExists(const SystemView& sys, const std::string& key, std::string* why) {
  auto listed = sys.listRegistrySubkeys(RegistryRoot::kLocalMachine, key);
  if (listed.ok()) return true;
  if (listed.status().code() == StatusCode::kNotFound) return false;
  *why = "HKLM\\" + key + ": " + listed.status().message();
  return std::nullopt;
}

std::optional<uint64_t> policyNumber(const SystemView& sys, const char* name) {
  auto v = sys.readRegistry(RegistryRoot::kLocalMachine, kPolicyAuKey, name);
  if (!v.ok() || v->type != RegistryValue::Type::kNumber) return std::nullopt;
  return v->number;
}

}  // namespace

bool isWindowsSecurityUpdate(const WindowsUpdate& u) {
  if (!u.msrc_severity.empty()) return true;
  return std::any_of(u.categories.begin(), u.categories.end(), [](const std::string& c) {
    return c == "Security Updates" || c == "Critical Updates";
  });
}

std::string windowsUpdateLine(std::string_view title) {
  // "2026-01 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5034123)":
  // the month prefix and the KB number change every month, the line they belong to does not.
  static const std::regex kMonth(R"(^\d{4}-\d{2} )");
  static const std::regex kKb(R"(\s*[-(]?\s*KB\d+\)?)");
  static const std::regex kVersion(R"(\s*\(Version [^)]*\))");
  std::string t(title.substr(0, 1024));
  t = std::regex_replace(t, kMonth, "");
  t = std::regex_replace(t, kVersion, "");
  t = std::regex_replace(t, kKb, "");
  t = text::trim(t);
  while (!t.empty() && (t.back() == '-' || t.back() == ' ')) t.pop_back();
  if (t.empty()) t = text::trim(std::string(title.substr(0, 1024)));
  if (t.size() > kMaxNameBytes) t.resize(kMaxNameBytes);
  return t;
}

StatusOr<PatchFacts> collectWindowsPatches(const SystemView& sys, PatchState& state,
                                           TimePoint now) {
  auto updates = sys.searchWindowsUpdates("IsInstalled=0 and IsHidden=0");
  if (!updates.ok()) {
    return Status(updates.status().code(),
                  "could not ask Windows Update which updates are "
                  "pending: " +
                      updates.status().message());
  }
  PatchFacts facts;
  facts.manager = kWindowsUpdateManager;
  for (const auto& u : *updates) {
    PendingUpdate p;
    p.name = windowsUpdateLine(u.title);
    p.candidate = !u.kb_ids.empty() ? "KB" + u.kb_ids.front() : u.update_id;
    p.security = isWindowsSecurityUpdate(u);
    facts.pending.push_back(std::move(p));
  }
  // Two updates of one line (a cumulative update and its dynamic update) stay two entries: the
  // ages are per entry, and the first-seen matching (applyFirstSeen) is by name and candidate.

  auto history = sys.windowsUpdateHistory();
  if (history.ok() && history->last_search_success) {
    facts.lists_fresh_at = history->last_search_success;
    facts.lists_source = "Windows Update: last successful search for updates";
  } else {
    facts.lists_source = history.ok() ? "Windows Update: no successful search for updates on record"
                                      : "Windows Update: cannot tell when it last searched (" +
                                            history.status().message() + ")";
  }
  json::Value extra = json::Value::object();
  if (history.ok() && history->last_installation_success) {
    extra.set("last_installation", formatRfc3339(*history->last_installation_success));
  }

  // A pending restart: Windows Update's and servicing's own markers, and file replacements
  // waiting for a restart (an installer's PendingFileRenameOperations).
  RebootFacts rf;
  json::Value rev = json::Value::object();
  json::Value reasons = json::Value::array();
  std::string why;
  bool unknown = false;
  bool needed = false;
  const std::pair<std::string, const char*> markers[] = {
      {std::string(kAutoUpdateKey) + "\\RebootRequired", "Windows Update: restart required"},
      {std::string(kCbsKey) + "\\RebootPending", "component servicing: restart pending"}};
  for (const auto& [key, reason] : markers) {
    std::string w;
    std::optional<bool> exists = keyExists(sys, key, &w);
    if (!exists) {
      unknown = true;
      why = w;
    } else if (*exists) {
      needed = true;
      reasons.push(reason);
    }
  }
  auto renames = sys.readRegistry(RegistryRoot::kLocalMachine, kSessionManagerKey,
                                  "PendingFileRenameOperations");
  if (renames.ok()) {
    needed = true;
    reasons.push("files waiting to be replaced at the next restart (PendingFileRenameOperations)");
  } else if (renames.status().code() != StatusCode::kNotFound) {
    unknown = true;
    why = "HKLM\\" + std::string(kSessionManagerKey) + ": " + renames.status().message();
  }
  rev.set("reasons", std::move(reasons));
  if (needed) {
    rf.need = RebootNeed::kYes;
    // Since the first check that saw it pending (Windows records no time for it).
    rf.since = state.reboot_since ? std::min(*state.reboot_since, now) : now;
    state.reboot_reason = "Windows: restart pending";
    state.reboot_since = rf.since;
  } else {
    state.reboot_reason.reset();
    state.reboot_since.reset();
    if (unknown) {
      rf.need = RebootNeed::kUnknown;
      rf.unknown_reason = why;
    }
  }
  rf.evidence = std::move(rev);
  facts.reboot = std::move(rf);

  // The automatic-update policy (evidence only): NoAutoUpdate=1 turns them off; AUOptions 2 only
  // notifies, 3 downloads, 4 and 5 install on a schedule. No policy: Windows installs on its own.
  json::Value au = json::Value::object();
  std::optional<uint64_t> off = policyNumber(sys, "NoAutoUpdate");
  std::optional<uint64_t> options = policyNumber(sys, "AUOptions");
  au.set("policy", off || options ? "set by policy (HKLM\\" + std::string(kPolicyAuKey) + ")"
                                  : "not set by policy: Windows installs updates on its own");
  if (off) au.set("no_auto_update", *off == 1);
  if (options) au.set("au_options", static_cast<int64_t>(*options));
  au.set("enabled", !(off && *off == 1) && (!options || *options >= 3));
  facts.automatic_updates = std::move(au);
  facts.extra = std::move(extra);
  return facts;
}

}  // namespace hearth::checks::os_patches
