// hearth-notify: one desktop notification with actions, shown and then looked after by a small
// process of the person's own (installed in /usr/lib/hearth beside hearth-upload). The daemon's
// notifier (notify.h) starts it as the person, with their session bus address, and gives it the
// texts, already in the person's language; it does the D-Bus conversation with sd-bus (libsystemd),
// so the root daemon links no D-Bus library.
//
// Why a process of its own: the notification service sends ActionInvoked and NotificationClosed
// to the connection that called Notify, so someone must keep that connection open after the
// notification is shown. hearth-notify forks first thing: the parent waits (bounded) for the child
// to report the notification's id, prints it and exits, so the daemon is never blocked; the child
// (its own session, standard streams on /dev/null) stays connected until the notification is
// closed, the session bus goes away, or `--wait` passes, whichever comes first.
//
//   hearth-notify --address=ADDR --title=T --body=B [--urgency=0|1|2] [--icon=NAME]
//                 [--timeout=SECONDS] [--wait=SECONDS]
//                 [--check-again=LABEL --control-socket=PATH]
//                 [--details=LABEL --details-title=T --details-body=B]
//
// Actions (freedesktop Desktop Notifications: key, label pairs) only when the service announces
// the "actions" capability: "check-again" asks the daemon for a check through its control socket
// (check_now.h, as `hearth-agent check-now` does); "details" shows the details notification in
// place of this one (the same id, so the service replaces it), with "check-again" still on it.
// The bodies are plain text; they are escaped (& < >) for services that announce "body-markup".
//
// Output on success (exit 0), one line: "id=N actions=0|1 markup=0|1". Failure (exit 1): one
// line on stderr, the D-Bus error name first ("org.freedesktop.DBus.Error.ServiceUnknown: ...").
// Usage errors: exit 2.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::agent {

struct SessionNotification {
  std::string address;  // the person's session bus ("unix:path=/run/user/1000/bus")
  std::string title;
  std::string body;
  int urgency = 1;  // the freedesktop urgency hint: 0 low, 1 normal, 2 critical
  std::string icon = "dialog-warning";
  std::string check_again_label;  // "" = no "check-again" action
  std::string control_socket;     // where to ask for a check (needed for "check-again")
  std::string details_label;      // "" = no "details" action
  std::string details_title;
  std::string details_body;
  std::chrono::seconds timeout{5};  // per bus call
  std::chrono::seconds wait{3600};  // how long the actions are looked after at most
};

// The flags above, parsed. InvalidArgument (NotFound for an unknown flag) when they are wrong.
StatusOr<SessionNotification> ParseSessionNotification(const std::vector<std::string>& args);

// The freedesktop actions array for the notification (key, label, key, label...); empty when the
// service cannot show actions (`actions_capable` false).
std::vector<std::string> NotificationActions(const SessionNotification& n, bool actions_capable,
                                             bool details_shown);

// & < > escaped for services that announce "body-markup" (the body is shown, not parsed).
std::string EscapeBodyMarkup(const std::string& text);

// main() of hearth-notify.
int NotifySessionMain(int argc, char** argv);

}  // namespace hearth::agent
