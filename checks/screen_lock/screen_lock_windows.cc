// screen_lock on Windows, first increment: the person running the check, from their own hive
// (HKCU), the machine's inactivity limit (HKLM) and the power scheme (windows_settings.cc reads
// and judges). Judging every person from the service (ProfileList, HKU\<SID> of loaded hives)
// comes with the service (issue 17).
#include <windows.h>

#include "hearth/windows_text.h"
#include "screen_lock/screen_lock.h"
#include "screen_lock/windows_settings.h"

namespace hearth::checks {

namespace {

std::string currentUserName() {
  wchar_t name[257];
  DWORD size = 257;
  if (!::GetUserNameW(name, &size) || size == 0) return "this user";
  return hearth::windows::Narrow(std::wstring_view(name, size - 1));
}

class WindowsScreenLockCheck final : public Check {
 public:
  std::string_view id() const override { return kScreenLockCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override {
    const auto policy = params.policy.settingsOr<ScreenLockSettings>(id());
    screen_lock::windows::LockValues values =
        screen_lock::windows::ReadLockValues(system, RegistryRoot::kCurrentUser, "");
    return screen_lock::windows::JudgeWindowsScreenLock(values, currentUserName(), policy);
  }
};

}  // namespace

std::unique_ptr<Check> NewScreenLockCheck(uid_t /*effective_uid*/) {
  return std::make_unique<WindowsScreenLockCheck>();
}

std::unique_ptr<Check> NewScreenLockCheck() { return NewScreenLockCheck(0); }

}  // namespace hearth::checks
