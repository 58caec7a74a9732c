// The screen_lock check. Pure parts (no I/O): gsettings.cc (GNOME, Cinnamon), kconfig.cc (KDE),
// xfconf.cc (XFCE) turn each desktop's settings into a LockConfig, screen_lock.cc holds the
// decision and the advice. Linux collection (screen_lock_linux.h): people_linux.cc finds the
// people, settings_linux.cc reads their settings as them, screen_lock_linux.cc is the Check.
// Who is judged (a *person*) is defined in ARCHITECTURE.md: a user with a live graphical session,
// or a local user with per-user desktop settings.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/accounts.h"
#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/logind_sessions.h"
#include "hearth/policy.h"
#include "hearth/posix_ids.h"
#include "hearth/result.h"

namespace hearth::checks {

inline constexpr char kScreenLockCheckId[] = "screen_lock";

// The policy's `checks.screen_lock` settings (besides `required`).
struct ScreenLockSettings : CheckSettings {
  int max_idle_seconds = 300;
  bool require_lock_on_resume = true;
};

std::unique_ptr<Check> NewScreenLockCheck();
// The same check for an agent running as `effective_uid` (NewScreenLockCheck() uses geteuid()).
// As root it drops to each person's identity; as anyone else it can read only its own settings.
std::unique_ptr<Check> NewScreenLockCheck(uid_t effective_uid);
// Its policy part (screen_lock_spec.cc: settings, names) and its agent's entry
// (screen_lock_entry.cc: factory and the privacy filter: the people it judges become "person N";
// their uids are removed).
CheckSpec ScreenLockCheckEntry(PolicyPart);
CheckEntry ScreenLockCheckEntry(AgentPart);

namespace screen_lock {

// --- who is on this machine ----------------------------------------------------------------------
// Accounts and logind sessions are parsed by the shared parsers of hearth/accounts.h and
// hearth/logind_sessions.h (the agent's notifications use them too); these are their names here.

using accounts::GroupEntry;
using accounts::groupsOf;
using accounts::isLiveGraphicalSession;
using accounts::isLoginShell;
using accounts::LogindSession;
using accounts::parseGroup;
using accounts::parseLoginDefs;
using accounts::parseLogindSession;
using accounts::parsePasswd;
using accounts::PasswdEntry;
using accounts::UidRange;

// --- the decision's vocabulary (screen_lock.cc) --------------------------------------------------

// Which desktop a session name (XDG_SESSION_DESKTOP, XDG_CURRENT_DESKTOP, a session .desktop file
// name) means.
enum class Desktop { kNone, kGnome, kCinnamon, kKde, kXfce, kUnsupported };
Desktop classifyDesktop(std::string_view name);
std::string_view desktopName(Desktop d);  // "gnome", "cinnamon", "kde", "xfce", ...

// --- GNOME and Cinnamon: gsettings (gsettings.cc) ------------------------------------------------

// schema → key → value text as printed by `gsettings list-recursively` ("uint32 300", "true").
using GSettingsValues = std::map<std::string, std::map<std::string, std::string>>;
GSettingsValues parseGSettingsList(std::string_view out);
std::optional<bool> parseGVariantBool(std::string_view value);
// "uint32 300", "300", "int32 -1" → the number.
std::optional<int64_t> parseGVariantInt(std::string_view value);
// Non-empty when stderr shows that gsettings could not see the real settings (memory backend,
// broken dconf): the reason.
std::string gsettingsBackendProblem(std::string_view err);

// --- KDE: KConfig INI (kconfig.cc) ---------------------------------------------------------------

struct KConfigEntry {
  std::string group;
  std::string key;
  std::string value;
  bool immutable = false;  // Key[$i]=
};
struct KConfigFile {
  bool file_immutable = false;             // a "[$i]" line before the first group
  std::set<std::string> immutable_groups;  // [Group][$i]
  std::vector<KConfigEntry> entries;       // non-localised entries, in file order
};
KConfigFile parseKConfig(std::string_view file);

// The result of a KConfig cascade (least important file merged first).
class KConfigCascade {
 public:
  struct Value {
    std::string value;
    bool immutable = false;
    std::string source;
  };
  // Merges `file` over what is there, honouring immutability of earlier files.
  void merge(const KConfigFile& file, const std::string& source);
  const Value* find(const std::string& group, const std::string& key) const;
  bool groupImmutable(const std::string& group) const { return immutable_groups_.count(group) > 0; }

 private:
  std::map<std::string, std::map<std::string, Value>> values_;
  std::set<std::string> immutable_groups_;
  bool all_immutable_ = false;
};

// KConfig's reading of a bool: false/no/off/0 are false, anything else non-empty is true.
std::optional<bool> parseKConfigBool(std::string_view value);

// --- XFCE: xfconf per-channel XML (xfconf.cc) ----------------------------------------------------

struct XfconfFileProperty {
  std::string path;  // "/lock/enabled"
  std::string type;  // bool, int, uint, double, string, empty, array, ...
  std::string value;
  std::string locked;    // locked="..." user list, as written
  std::string unlocked;  // unlocked="..."
};
struct XfconfFile {
  std::string channel;
  std::string locked;
  std::string unlocked;
  std::vector<XfconfFileProperty> properties;
};
// A bounded reader for the per-channel format (nested <property name= type= value=>, <value>
// items of arrays are skipped). InvalidArgument on malformed input.
StatusOr<XfconfFile> parseXfconfXml(std::string_view xml);

// "*", "user", "@group" lists as xfconf reads them.
bool xfconfUserInList(std::string_view list, const std::string& user,
                      const std::vector<std::string>& group_names);

class XfconfChannel {
 public:
  struct Value {
    std::string type;
    std::string value;
    bool locked = false;
    std::string source;
  };
  // Merges a file as xfconfd does: system files may lock the channel or properties for this
  // user; a user file cannot override locked ones (nor anything once the channel is locked).
  void merge(const XfconfFile& file, bool system_file, const std::string& source,
             const std::string& user, const std::vector<std::string>& group_names);
  const Value* find(const std::string& path) const;
  bool channelLocked() const { return locked_; }

 private:
  std::map<std::string, Value> values_;
  bool locked_ = false;
};

// --- the decision (screen_lock.cc; gnomeConfig and the others in their desktop's file) -----------

// What one desktop's settings amount to for one person.
struct LockConfig {
  Desktop desktop = Desktop::kNone;
  std::string label;  // "gnome", "ubuntu", "kde", ...
  // Settings that switch automatic locking off, e.g. "lock-enabled is false". Empty = on.
  std::vector<std::string> disabled_by;
  std::optional<int64_t> idle_seconds;  // until the screen blanks; nullopt or <= 0: never
  int64_t lock_delay_seconds = 0;       // from blanking to locked
  std::optional<bool> lock_on_resume;   // nullopt: cannot tell
  std::string lock_on_resume_note;      // why it cannot tell
  bool enforced = false;                // every relevant setting fixed by an administrator
  json::Value source = json::Value::array();
  json::Value settings = json::Value::object();
  int64_t grace_seconds_hint = 0;  // KDE LockGrace, for remediation
};

struct Assessment {
  Verdict verdict = Verdict::kUnknown;
  std::optional<int64_t> idle_to_lock_seconds;  // nullopt: never locks on its own
  i18n::Message reason;                         // "screen locks after 900 s of inactivity ..."
};
Assessment assess(const LockConfig& config, const ScreenLockSettings& policy);

// GNOME (and Ubuntu/Budgie) from gsettings values. NotFound when the GNOME schemas are absent.
// `enforced`: no relevant key is writable (`gsettings writable`).
StatusOr<LockConfig> gnomeConfig(const GSettingsValues& values, bool enforced);
// The keys whose writability decides "enforced", as (schema, key), in asking order.
std::vector<std::pair<std::string, std::string>> gnomeRelevantKeys(const GSettingsValues& values);
StatusOr<LockConfig> cinnamonConfig(const GSettingsValues& values, bool enforced);
std::vector<std::pair<std::string, std::string>> cinnamonRelevantKeys(
    const GSettingsValues& values);
// KDE from the merged kscreenlockerrc cascade (admin [$i] marks make it enforced).
LockConfig kdeConfig(const KConfigCascade& config, bool require_lock_on_resume);
// XFCE from the merged xfce4-screensaver and xfce4-power-manager channels.
LockConfig xfceConfig(const XfconfChannel& saver, const XfconfChannel& power,
                      bool require_lock_on_resume);

// What the person at the PC should do for `desktop` (may be kUnsupported with `label`), in the
// menus of its version: `major` is GNOME's (42-45 share menus, 46 moved them to "Privacy &
// Security") or Plasma's (5: Workspace Behavior, 6: Security & Privacy); 0 when unknown.
Advice remediationFor(Desktop desktop, int major, std::string_view label,
                      const ScreenLockSettings& policy, int64_t grace_seconds);

// fail > unknown > pass > not_applicable.
int verdictSeverity(Verdict v);

}  // namespace screen_lock
}  // namespace hearth::checks
