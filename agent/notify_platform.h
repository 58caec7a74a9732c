// The OS's part of the notifier (notify.h): finding the people at the PC (FindDesktops, public)
// and showing one notification to one of them. notify_linux.cc: logind sessions and
// hearth-notify on the person's session bus; notify_windows.cc: the signed-in sessions and
// `hearth-agent.exe notify-person` started in the person's session. notify.cc decides what is
// said to whom and when, notify_text.cc what it says.
#pragma once

#include <string>
#include <vector>

#include "hearth/agent/notify.h"
#include "hearth/agent/notify_text.h"
#include "hearth/i18n.h"
#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::agent {

// One notification for hearth-notify: its texts in the person's language, and whether it offers
// the actions (with the details they show).
struct Notice {
  std::string title;
  std::string body;
  Urgency urgency = Urgency::kNormal;
  bool actions = false;
  std::string details_title;
  std::string details_body;
};

// Shows `n` on the desktop `d` with `helper` (NotifyProgram()): OK once it is shown (the helper
// may stay to handle the actions). NotFound when nothing can show notifications in that desktop
// now (the other desktops still can); Unavailable with one line saying why otherwise.
Status ShowNotice(const SystemView& view, const Desktop& d, const NotifyOptions& o,
                  const std::string& helper, const Notice& n, const i18n::Catalog* catalog);

// The notifier program when SetNotifyProgram named none.
std::string DefaultNotifyProgram();

// Windows: `hearth-agent.exe notify-person --title=T --body=B [--urgency=0|1|2] [--wait=SECONDS]
// [--check-again=LABEL] [--details=LABEL --details-title=T --details-body=B]`, started by
// ShowNotice in the person's session (notify_person_windows.cc). Writes one line to stdout and
// closes it: "shown: notification area" (a balloon, which Windows 10 and 11 show as a toast;
// clicking it opens the window below) or "shown: window" (no notification area, e.g. Wine or a
// session without Explorer: a small window of its own at the bottom right, with the buttons), or
// why nothing could be shown (exit 3). Then stays until the notification is closed or `wait`
// (default 3600) seconds passed. Returns the exit code: 0, 2 for bad arguments, 3.
int NotifyPersonMain(const std::vector<std::string>& args);

}  // namespace hearth::agent
