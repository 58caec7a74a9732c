// os_patches on Windows: the Check. The facts come from windows_facts.cc (the Windows Update
// Agent's offline search of its local cache, never online, never a download; the last successful
// search; a pending restart; the automatic-update policy); first-seen dates in the state dir, the
// fleet's dates and the decision are Linux's (runWithState, judgePatches). When the search fails
// (Wine: E_NOTIMPL; the service stopped; no rights) the check is unknown with the reason.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace os_patches {

namespace {

class WindowsOsPatchesCheck final : public Check {
 public:
  std::string_view id() const override { return kOsPatchesCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override {
    return runWithState(system, params, [&](PatchState& state, TimePoint now) {
      return collectWindowsPatches(system, state, now);
    });
  }
};

}  // namespace

std::unique_ptr<Check> NewOsPatchesCheck(CheckOptions /*options*/) {
  return std::make_unique<WindowsOsPatchesCheck>();
}

}  // namespace os_patches

std::unique_ptr<Check> NewOsPatchesCheck() { return os_patches::NewOsPatchesCheck({}); }

}  // namespace hearth::checks
