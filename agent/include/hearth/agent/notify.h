// Telling the person at the PC: a desktop notification (org.freedesktop.Notifications on the
// person's own session bus, sent as that person) when a required check fails, at most once per day
// per problem. Who is at the PC and how to reach their bus comes through SystemView, so tests hand
// in a fixture; the sending itself is one argv command (busctl, part of systemd) run as the user,
// with no shell and no quoting layer: every D-Bus argument is its own argv element.
// docs/notifications.md describes the behaviour for the person and for IT.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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
  // The D-Bus client used to send (systemd's; present wherever /run/user/<uid>/bus exists).
  std::string busctl = "/usr/bin/busctl";
  // Per bus call (GetCapabilities, Notify); the process is killed a second after.
  std::chrono::seconds timeout{5};
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
// Returns how many notifications were sent. Errors reaching one desktop (no notification service,
// busctl missing, a timeout) are logged at most once per `repeat_after` each and do not stop the
// others; the problem stays untold and is tried again on the next call. Errors: InvalidArgument
// without a state file; the state file could not be written (what was sent is then told again).
// Costs nothing while nothing fails: no process is started and the state file is not rewritten
// unless it changes.
StatusOr<int> NotifyFailures(const SystemView& view, const Report& report,
                             const NotifyOptions& options, Logger& log);

// --- the text, exposed for tests -----------------------------------------------------------------

// "Hearth: Screen lock needs attention": the title of the check's entry in Checks(); an id
// without one is spelled out ("Hearth: Antivirus status needs attention").
// In the language of `catalog` (the person's); the process's when it is null.
std::string NotificationTitle(std::string_view check_id, const i18n::Catalog* catalog = nullptr);
// "Hearth: could not check VPN" (a required check whose result is unknown) and "Hearth: VPN is
// fixed – thank you" (a failure the person was told of now passes).
std::string UnknownNotificationTitle(std::string_view check_id,
                                     const i18n::Catalog* catalog = nullptr);
std::string FixedNotificationTitle(std::string_view check_id,
                                   const i18n::Catalog* catalog = nullptr);
// The remediation (the summary when there is none), as valid UTF-8 without control characters
// other than newline and tab, at most ~1000 bytes; `markup` escapes & < > for servers that
// announce the body-markup capability. With `report`, the company's help page for the check and
// its helpdesk follow the steps (CompanyHelpLines); `deadline` (one line: "Fix it by ...",
// "Exempted by IT until ...") comes first when not empty.
std::string NotificationBody(const CheckResult& check, bool markup,
                             const i18n::Catalog* catalog = nullptr, const Report* report = nullptr,
                             const std::string& deadline = "");
// 16 hex digits naming "the same problem": the check id and the summary with every run of digits
// replaced, so counts and ages that change from day to day ("pending for 9 days") do not make a
// new problem, while different words do.
std::string ProblemFingerprint(std::string_view check_id, std::string_view summary);

}  // namespace hearth::agent
