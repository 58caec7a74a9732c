// os_patches on Windows, first increment: the Windows Update Agent's offline search of its local
// cache for updates not installed (never online, never a download). When the search fails
// (Wine 8: E_NOTIMPL; the service stopped; no rights) the check is unknown with the reason. When
// it succeeds, the pending updates are listed (security ones by MSRC severity or category), but
// their age against the policy is not judged yet on Windows (issue 17: first-seen dates in the
// state dir as on Linux, pending reboot, the automatic-update policy): unknown, never a pass.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace os_patches {

namespace {

bool isSecurity(const WindowsUpdate& u) {
  if (!u.msrc_severity.empty()) return true;
  for (const auto& c : u.categories) {
    if (c == "Security Updates" || c == "Critical Updates") return true;
  }
  return false;
}

class WindowsOsPatchesCheck final : public Check {
 public:
  std::string_view id() const override { return kOsPatchesCheckId; }

  StatusOr<CheckResult> run(const SystemView& system,
                            const CheckParams& /*params*/) const override {
    auto updates = system.searchWindowsUpdates("IsInstalled=0 and IsHidden=0");
    if (!updates.ok()) {
      return Status(
          updates.status().code(),
          "could not ask Windows Update which updates are pending: " + updates.status().message());
    }
    CheckResult r;
    r.verdict = Verdict::kUnknown;
    json::Value security = json::Value::array();
    int64_t security_count = 0;
    for (const auto& u : *updates) {
      if (!isSecurity(u)) continue;
      ++security_count;
      json::Value j = json::Value::object();
      j.set("title", u.title);
      j.set("severity", u.msrc_severity);
      security.push(std::move(j));
    }
    r.evidence.set("pending_updates", static_cast<int64_t>(updates->size()));
    r.evidence.set("pending_security_updates", security_count);
    r.evidence.set("security_updates", std::move(security));
    r.evidence.set("source", "Windows Update Agent, offline search of the local cache");
    r.setSummary(i18n::Msg(
        "{1} updates pending ({2} security); Hearth does not judge their age "
        "on Windows yet",
        {i18n::Lit(std::to_string(updates->size())), i18n::Lit(std::to_string(security_count))}));
    return r;
  }
};

}  // namespace

std::unique_ptr<Check> NewOsPatchesCheck(CheckOptions /*options*/) {
  return std::make_unique<WindowsOsPatchesCheck>();
}

}  // namespace os_patches

std::unique_ptr<Check> NewOsPatchesCheck() { return os_patches::NewOsPatchesCheck({}); }

}  // namespace hearth::checks
