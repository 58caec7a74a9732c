// screen_lock: the decision (no I/O here). Which desktop a session name means, what one desktop's
// settings amount to against the policy (assess), the verdict order, and what to tell the person.
// The settings themselves are read by gsettings.cc, kconfig.cc and xfconf.cc.
#include "screen_lock/screen_lock.h"

#include <algorithm>
#include <limits>

#include "hearth/text.h"
#include "screen_lock/parse_util.h"

namespace hearth::checks::screen_lock {

Desktop classifyDesktop(std::string_view name) {
  std::string n = text::toLower(text::trim(name));
  if (n.empty()) return Desktop::kNone;
  if (contains(n, "cinnamon")) return Desktop::kCinnamon;
  if (contains(n, "gnome") || contains(n, "ubuntu") || contains(n, "budgie") || n == "pop" ||
      n.starts_with("pop:") || n.starts_with("pop-")) {
    return Desktop::kGnome;
  }
  if (contains(n, "kde") || contains(n, "plasma")) return Desktop::kKde;
  if (contains(n, "xfce")) return Desktop::kXfce;
  return Desktop::kUnsupported;
}

std::string_view desktopName(Desktop d) {
  switch (d) {
    case Desktop::kNone:
      return "none";
    case Desktop::kGnome:
      return "gnome";
    case Desktop::kCinnamon:
      return "cinnamon";
    case Desktop::kKde:
      return "kde";
    case Desktop::kXfce:
      return "xfce";
    case Desktop::kUnsupported:
      return "unsupported";
  }
  return "unsupported";
}

int verdictSeverity(Verdict v) {
  switch (v) {
    case Verdict::kFail:
      return 3;
    case Verdict::kUnknown:
      return 2;
    case Verdict::kPass:
      return 1;
    case Verdict::kNotApplicable:
      return 0;
  }
  return 2;
}

Assessment assess(const LockConfig& c, const ScreenLockSettings& policy) {
  Assessment a;
  std::string limit = " (limit " + std::to_string(policy.max_idle_seconds) + " s)";
  if (c.idle_seconds && *c.idle_seconds > 0 && c.disabled_by.empty()) {
    // Saturating: a gsettings value may be any int64 ("never", for all practical purposes).
    const int64_t delay = std::max<int64_t>(0, c.lock_delay_seconds);
    const int64_t idle = *c.idle_seconds;
    a.idle_to_lock_seconds = idle > std::numeric_limits<int64_t>::max() - delay
                                 ? std::numeric_limits<int64_t>::max()
                                 : idle + delay;
  }
  if (!c.disabled_by.empty()) {
    a.verdict = Verdict::kFail;
    a.reason = "automatic screen lock is off (" + text::join(c.disabled_by, ", ") + ")";
    return a;
  }
  if (!a.idle_to_lock_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = "the screen never locks on its own (the idle delay is set to never)";
    return a;
  }
  std::string locks =
      "screen locks after " + std::to_string(*a.idle_to_lock_seconds) + " s of inactivity" + limit;
  if (*a.idle_to_lock_seconds > policy.max_idle_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = locks;
    return a;
  }
  if (policy.require_lock_on_resume) {
    if (c.lock_on_resume.has_value() && !*c.lock_on_resume) {
      a.verdict = Verdict::kFail;
      a.reason = locks + ", but not when waking from sleep";
      return a;
    }
    if (!c.lock_on_resume.has_value()) {
      a.verdict = Verdict::kUnknown;
      a.reason = locks + ", but Hearth cannot tell whether it locks when waking from sleep" +
                 (c.lock_on_resume_note.empty() ? "" : " (" + c.lock_on_resume_note + ")");
      return a;
    }
  }
  a.verdict = Verdict::kPass;
  a.reason = locks;
  return a;
}

std::string remediationFor(Desktop desktop, std::string_view label,
                           const ScreenLockSettings& policy, int64_t grace_seconds) {
  auto within = [&](int64_t extra) {
    int64_t minutes = (policy.max_idle_seconds - extra) / 60;
    if (minutes >= 2) return std::to_string(minutes) + " minutes or less";
    if (minutes == 1) return std::string("1 minute");
    return std::string("the shortest time offered");
  };
  std::string resume = policy.require_lock_on_resume ? " and lock when the computer wakes up" : "";
  switch (desktop) {
    case Desktop::kGnome:
      return "Open Settings → Privacy → Screen Lock and set Blank Screen Delay to " + within(0) +
             ", set Automatic Screen Lock Delay to \"Screen Turns Off\", and turn on Automatic "
             "Screen Lock" +
             (policy.require_lock_on_resume ? " and Lock Screen on Suspend." : ".");
    case Desktop::kCinnamon:
      return "Open System Settings → Screensaver and set \"Delay before starting the screensaver\" "
             "to " +
             within(0) +
             ", turn on \"Lock the computer after the screensaver starts\" with the delay set to "
             "Immediately" +
             (policy.require_lock_on_resume
                  ? ", and turn on \"Lock the computer when put to sleep\"."
                  : ".");
    case Desktop::kKde:
      return "Open System Settings → Screen Locking, turn on \"Lock screen automatically\" after " +
             within(grace_seconds) +
             ", keep \"Allow unlocking without password\" at a few seconds" +
             (policy.require_lock_on_resume ? ", and turn on \"Lock after waking from sleep\"."
                                            : ".");
    case Desktop::kXfce:
      return "Open Settings → Xfce Screensaver: on the Screensaver tab turn on \"Enable "
             "Screensaver\" and \"Activate screensaver when computer is idle\" after " +
             within(0) +
             "; on the Lock Screen tab turn on \"Enable Lock Screen\" and \"Lock Screen with "
             "Screensaver\" with no extra delay" +
             (policy.require_lock_on_resume ? ", and \"Lock Screen when system is going to sleep\"."
                                            : ".");
    case Desktop::kNone:
    case Desktop::kUnsupported:
      break;
  }
  return "Hearth cannot read the screen-lock settings of your desktop (" + std::string(label) +
         ") yet. Make sure your screen locks after " + within(0) + " of inactivity" + resume +
         ", and ask your IT department how to get this check to pass.";
}

}  // namespace hearth::checks::screen_lock
