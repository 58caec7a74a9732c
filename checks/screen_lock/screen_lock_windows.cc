// screen_lock on Windows. Run by a person (`hearth-agent check`): that person, from their own
// hive (HKCU). Run by the service (LocalSystem, whose HKCU is nobody's): every person with a
// loaded hive, from HKU\<SID>, named from ProfileList. Both with the machine's inactivity limit
// (HKLM) and the power scheme; windows_settings.cc reads and judges (built and tested on Linux).
#include <windows.h>

#include "hearth/windows_text.h"
#include "screen_lock/screen_lock.h"
#include "screen_lock/windows_settings.h"

namespace hearth::checks {

namespace {

// True when this process runs as LocalSystem (the service).
bool runningAsLocalSystem() {
  HANDLE token = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) return false;
  alignas(TOKEN_USER) unsigned char buffer[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  DWORD size = 0;
  bool system = false;
  if (::GetTokenInformation(token, TokenUser, buffer, sizeof(buffer), &size)) {
    auto* user = reinterpret_cast<TOKEN_USER*>(buffer);
    system = ::IsWellKnownSid(user->User.Sid, WinLocalSystemSid) != FALSE;
  }
  ::CloseHandle(token);
  return system;
}

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
    if (runningAsLocalSystem()) return screen_lock::windows::JudgeWindowsPeople(system, policy);
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
