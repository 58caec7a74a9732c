// Telling the person at the PC: a desktop notification (org.freedesktop.Notifications on the
// person's own session bus, sent as that person) when a required check fails, at most once per day
// per problem. Who is at the PC and how to reach their bus comes through SystemView, so tests hand
// in a fixture; the sending itself is one argv command run as the person, with no shell and no
// quoting layer: hearth-notify (notify_session.h), which shows the notification over sd-bus with
// the actions "Check again" and "Show details" and stays to handle them.
// What the notifications say: notify_text.h. docs/notifications.md describes the behaviour for
// the person and for IT.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/agent/notify_text.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/result.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::agent {

struct NotifyOptions {
  // Remembers what was said to whom and when (once per day per problem), JSON, mode 0600.
  // Required. A missing file means nothing was said yet; an unreadable or damaged one is logged
  // and replaced.
  std::string state_file;
  std::chrono::hours repeat_after{24};
  // Where the people's session buses live: <runtime_dir_root>/<uid>/bus (systemd's per-user bus).
  std::string runtime_dir_root = "/run/user";
  // logind's session files: who is logged in, and whether the session is graphical.
  std::string sessions_dir = "/run/systemd/sessions";
  // The program that shows a notification (hearth-notify); "" = NotifyProgram().
  std::string helper;
  // Per bus call (GetCapabilities, Notify); hearth-notify is killed if it has not answered
  // within twice this and a few seconds.
  std::chrono::seconds timeout{5};
  // The daemon's control socket, which "Check again" asks for a check; "" = no such action.
  std::string control_socket;
  // How long hearth-notify looks after a notification's actions at most (it ends sooner when the
  // notification is closed or the person logs out).
  std::chrono::seconds action_wait{3600};
  // The person (uid) who asked for this check (`check-now`, "Check again"): their problems are
  // told again even when told within `repeat_after`, so the answer to their question is shown.
  std::optional<uint32_t> asked_by;
  // AccountsService's per-user files ("Language=da_DK.UTF-8"): the person's language when their
  // session's processes do not say.
  std::string accounts_service_dir = "/var/lib/AccountsService/users";
  // Quiet hours, in minutes after local midnight (the policy's `notifications.quiet_hours`):
  // nothing is shown from `quiet_from` until `quiet_to`; what would have been shown waits for
  // the first check after. Equal values: no quiet hours.
  int quiet_from = 20 * 60;
  int quiet_to = 8 * 60;
  // The local time of day of a moment, in minutes after midnight. Default (empty): the
  // system's time zone. Tests give a fixed zone.
  std::function<int(std::chrono::system_clock::time_point)> minute_of_day;
  // The company's view after the last report (status.json "server_view": per check "fix_by"
  // and "exempt_until"), or null: the deadline and any exemption are named in the notification.
  json::Value server_view;
};

// A person at the PC whom a notification can reach.
struct Desktop {
  std::string user;
  uint32_t uid = 0;
  std::string bus_address;  // e.g. unix:path=/run/user/1000/bus
  UserIdentity identity;    // what the sending command runs as
  // The language the person chose (Catalog::ChosenLanguages of their session leader's
  // environment, else AccountsService's Language=): "da_DK.UTF-8", "da:en"; "" when unknown
  // (the agent's own language is used).
  std::string languages;
};

// hearth-notify beside this program (a build tree) or in ../lib/hearth/ (installed), unless
// SetNotifyProgram named another.
std::string NotifyProgram();
// For programs that are not installed beside it (the tests): use `path` from now on.
void SetNotifyProgram(std::string path);

// The people with a live graphical logind session (the screen_lock check's definition: CLASS=user,
// not closing, x11/wayland/mir or a desktop name) whose session bus socket exists at
// <runtime_dir_root>/<uid>/bus and belongs to them. One entry per uid, ordered by uid. Accounts
// come from /etc/passwd and /etc/group, or `getent passwd UID` for directory (LDAP, SSSD) users;
// a session whose account cannot be found is skipped. Empty under --root (no live sessions).
// Each desktop's `languages` come from /proc/<leader>/environ of its session (when the process is
// the person's) or AccountsService: notifications are written in the person's language, not the
// daemon's.
std::vector<Desktop> FindDesktops(const SystemView& view, const NotifyOptions& options = {});

// For every required check that fails or is unknown in `report`, tells each desktop once per
// `repeat_after` per problem (the person, the check id and ProblemFingerprint of the verdict and
// summary): a failure with its steps (and the server's deadline or IT's exemption), an unknown
// result with what the person can do. When a check a person was told fails passes, that person
// is told "fixed, thank you" once. A check that passes, does not apply or is not required
// forgets what was said about it, so a new failure is told at once; a check missing from
// `report` (a partial run) neither tells nor forgets. Urgency (freedesktop hint): critical for a
// failure without a deadline or past it, normal within its deadline and for unknown results,
// low for an exempted failure and for "fixed". Nothing is shown inside quiet hours; it is shown
// by the first call after them.
// A failure or unknown result carries the actions "Check again" (when `control_socket` is set)
// and "Show details" (DetailsTitle/DetailsBody in place of the notification) where the
// notification service can show actions; hearth-notify handles them as the person.
// Returns how many notifications were sent. Errors reaching one desktop (no notification service,
// hearth-notify missing, a timeout) are logged at most once per `repeat_after` each and do not stop
// the others; the problem stays untold and is tried again on the next call. Errors: InvalidArgument
// without a state file; the state file could not be written (what was sent is then told again).
// Costs nothing while nothing fails: no process is started and the state file is not rewritten
// unless it changes.
StatusOr<int> NotifyFailures(const SystemView& view, const Report& report,
                             const NotifyOptions& options, Logger& log);

// 16 hex digits naming "the same problem": the check id and the summary with every run of digits
// replaced, so counts and ages that change from day to day ("pending for 9 days") do not make a
// new problem, while different words do.
std::string ProblemFingerprint(std::string_view check_id, std::string_view summary);

}  // namespace hearth::agent
