// screen_lock on Linux: the check's private types. ScreenLockCheck finds the people on the machine
// (people_linux.cc), reads and judges each person's desktop settings as that person
// (settings_linux.cc) and puts the verdicts together (screen_lock_linux.cc).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <sys/types.h>
#include <vector>

#include "hearth/accounts.h"
#include "hearth/check.h"
#include "hearth/desktop_env.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/logind_sessions.h"
#include "hearth/system_view.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock {

// The desktop sessions installed (/usr/share/xsessions, /usr/share/wayland-sessions).
struct InstalledSessions {
  bool any_listed = false;
  std::set<Desktop> desktops;
};

// One desktop to judge for a person.
struct DesktopToJudge {
  Desktop desktop = Desktop::kNone;
  std::string label;          // for unsupported desktops: the session's name
  bool from_session = false;  // a live session runs it (absence of its schemas is then unknown)
};

// One person to judge: the account, how they were found, and the desktops they use.
struct Person {
  accounts::PasswdEntry user;
  UserIdentity identity;
  std::string identity_problem;  // non-empty: we cannot act as this user
  std::vector<accounts::LogindSession> sessions;
  std::vector<std::string> markers;  // rel paths found
  std::vector<std::string> group_names;
  std::vector<DesktopToJudge> desktops;
  std::optional<std::string> session_config_dirs;  // XDG_CONFIG_DIRS of a live session
};

// One desktop's verdict for one person, with its evidence.
struct DesktopResult {
  Desktop desktop = Desktop::kNone;
  std::string label;
  Verdict verdict = Verdict::kUnknown;
  i18n::Message reason;
  std::optional<Advice> advice;  // none for a pass
  json::Value evidence = json::Value::object();
  bool absent = false;  // the desktop is not installed: this result does not count
};

// The check. Stateless between runs; safe to run from several threads.
class ScreenLockCheck final : public Check {
 public:
  explicit ScreenLockCheck(uid_t effective_uid) : effective_uid_(effective_uid) {}

  std::string_view id() const override { return kScreenLockCheckId; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override;

 private:
  // Context for one run.
  struct Run {
    const SystemView& system;
    ScreenLockSettings policy;
    std::vector<accounts::PasswdEntry> passwd;
    std::vector<accounts::GroupEntry> groups;
    accounts::UidRange range;
    InstalledSessions installed;
    json::Value notes = json::Value::array();
    // GNOME's and Plasma's versions (desktop_env.h), for the advice's menus; read once, when
    // someone uses that desktop.
    std::optional<int> gnome_major;
    std::optional<int> plasma_major;
  };
  // The advice for `desktop` in the menus of its installed version.
  Advice adviceFor(const Run& r, Desktop desktop, std::string_view label, int64_t grace) const;

  // Discovery (people_linux.cc).
  // /etc/login.defs, /etc/passwd and /etc/group into `r` (an unreadable passwd is a note).
  void readAccounts(Run& r) const;
  // Everyone to judge, by uid: people with a live graphical session, and regular users with
  // desktop settings in their home. Homes that cannot be looked into go to `not_inspected`.
  std::map<uint32_t, Person> findPeople(Run& r, json::Value& not_inspected) const;
  std::vector<accounts::LogindSession> readSessions(Run& r) const;
  InstalledSessions readInstalledSessions(const SystemView& system) const;
  void fillIdentity(Run& r, Person& p) const;
  std::optional<std::map<std::string, std::string>> sessionEnvironment(
      const SystemView& system, const accounts::LogindSession& s) const;
  void chooseDesktops(Run& r, Person& p) const;
  // Reading and judging settings (settings_linux.cc).
  std::vector<DesktopResult> judge(Run& r, Person& p) const;
  // One `gsettings list-recursively SCHEMA` per schema, cached per person. NotFound: no such
  // schema; other errors: gsettings could not show the real settings.
  using SchemaCache = std::map<std::string, StatusOr<std::map<std::string, std::string>>>;
  StatusOr<std::map<std::string, std::string>> listSchema(Run& r, const Person& p,
                                                          const std::string& schema,
                                                          SchemaCache& cache) const;
  DesktopResult judgeGSettings(Run& r, Person& p, Desktop d, bool from_session,
                               SchemaCache& cache) const;
  DesktopResult judgeKde(Run& r, Person& p) const;
  DesktopResult judgeXfce(Run& r, Person& p) const;
  std::vector<std::string> configDirs(const Run& r, const Person& p) const;
  // The command to run as `p`, or the reason it cannot be run.
  StatusOr<Command> commandAs(const Run& r, const Person& p, std::vector<std::string> argv) const;

  uid_t effective_uid_;
};

}  // namespace hearth::checks::screen_lock
