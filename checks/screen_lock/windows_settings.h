// screen_lock on Windows, the part that runs anywhere: which registry values decide whether and
// when the screen locks for the person running the check, read through SystemView (so the Linux
// unit tests feed it from registry exports), and the judgement. screen_lock_windows.cc is the
// Check that calls it on Windows with the caller's own hive (HKCU).
//
// The values (Microsoft's Group Policy reference, "Control Panel\Personalization" and "Interactive
// logon: Machine inactivity limit"):
//   HKCU\Control Panel\Desktop                    ScreenSaveActive, ScreenSaverIsSecure,
//                                                 ScreenSaveTimeOut, SCRNSAVE.EXE (REG_SZ)
//   HKCU\Software\Policies\Microsoft\Windows\Control Panel\Desktop
//                                                 the same names, set by policy; they win
//   HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System
//                                                 InactivityTimeoutSecs (REG_DWORD): the machine
//                                                 locks after that many idle seconds
// and the active power scheme's "require sign-in on wake" (CONSOLELOCK) for lock on resume.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hearth/system_view.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock::windows {

inline constexpr char kDesktopKey[] = "Control Panel\\Desktop";
inline constexpr char kDesktopPolicyKey[] =
    "Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop";
inline constexpr char kSystemPolicyKey[] =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";

// One per-user setting: the person's own value and the policy's (which wins), as text.
struct Setting {
  std::optional<std::string> user;
  std::optional<std::string> policy;
  const std::optional<std::string>& effective() const { return policy ? policy : user; }
};

struct LockValues {
  Setting active;    // ScreenSaveActive "1"/"0"
  Setting secure;    // ScreenSaverIsSecure "1"/"0"
  Setting timeout;   // ScreenSaveTimeOut, seconds
  Setting scrnsave;  // SCRNSAVE.EXE, the screen saver program ("" or absent: none)
  std::optional<int64_t> inactivity_timeout_secs;  // HKLM InactivityTimeoutSecs
  std::optional<PowerSettings> power;
  std::string power_error;          // why `power` is absent
  std::vector<std::string> errors;  // registry reads that failed other than "not there"
};

// Reads the values for the person whose hive is `user_root` + `user_prefix` (HKCU and "", or
// HKU and "<SID>\\"). Missing keys and values are simply absent; other failures are listed.
LockValues ReadLockValues(const SystemView& system, RegistryRoot user_root,
                          const std::string& user_prefix);

// What the values amount to (desktop kUnsupported, label "windows"): the screen saver locks when
// it is on, a program is chosen, it asks for the password and its timeout is above 0; the machine
// inactivity limit locks on its own; the shorter wins. Lock on resume from the power scheme
// (unknown with the reason when it cannot be read, as under Wine).
LockConfig WindowsConfig(const LockValues& values);

// The whole judgement for one person (`user`: their account name, for the evidence), as the
// check reports it. Unknown when the registry could not be read.
CheckResult JudgeWindowsScreenLock(const LockValues& values, const std::string& user,
                                   const ScreenLockSettings& policy);

// A person whose registry hive is loaded (HKU\<SID>): signed in, or with a process running as
// them. Local and domain accounts (S-1-5-21-...) and Microsoft Entra ID accounts (S-1-12-1-...);
// the system's own accounts (S-1-5-18/19/20, .DEFAULT) and the *_Classes hives are not people.
struct WindowsPerson {
  std::string sid;
  std::string user;  // the profile folder's name (ProfileList's ProfileImagePath), else the SID
};
inline constexpr char kProfileListKey[] =
    "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";

// The people with a loaded hive, in HKU's order. An error when HKU cannot be listed.
StatusOr<std::vector<WindowsPerson>> LoadedPeople(const SystemView& system);

// The check as the service runs it (LocalSystem, whose own HKCU is nobody's): every person with a
// loaded hive judged from HKU\<SID>, the worst decides, each listed; not_applicable when nobody
// is; unknown (with the reason) when HKU cannot be listed.
CheckResult JudgeWindowsPeople(const SystemView& system, const ScreenLockSettings& policy);

// What the person should do on Windows 10/11 (Settings > Personalization > Lock screen).
Advice WindowsRemediation(const ScreenLockSettings& policy);

}  // namespace hearth::checks::screen_lock::windows
