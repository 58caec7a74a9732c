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
  using i18n::Lit;
  using i18n::Msg;
  Assessment a;
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
    a.reason = Msg("automatic screen lock is off ({1})", {Lit(text::join(c.disabled_by, ", "))});
    return a;
  }
  if (!a.idle_to_lock_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = Msg("the screen never locks on its own (the idle delay is set to never)");
    return a;
  }
  std::vector<i18n::Message> locks_args = {Lit(std::to_string(*a.idle_to_lock_seconds)),
                                           Lit(std::to_string(policy.max_idle_seconds))};
  if (*a.idle_to_lock_seconds > policy.max_idle_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = Msg("screen locks after {1} s of inactivity (limit {2} s)", locks_args);
    return a;
  }
  if (policy.require_lock_on_resume) {
    if (c.lock_on_resume.has_value() && !*c.lock_on_resume) {
      a.verdict = Verdict::kFail;
      a.reason =
          Msg("screen locks after {1} s of inactivity (limit {2} s), but not when waking "
              "from sleep",
              locks_args);
      return a;
    }
    if (!c.lock_on_resume.has_value()) {
      a.verdict = Verdict::kUnknown;
      a.reason =
          Msg("screen locks after {1} s of inactivity (limit {2} s), but Hearth cannot "
              "tell whether it locks when waking from sleep",
              locks_args);
      if (!c.lock_on_resume_note.empty()) {
        a.reason = i18n::Joined({a.reason, Lit("(" + c.lock_on_resume_note + ")")}, " ");
      }
      return a;
    }
  }
  a.verdict = Verdict::kPass;
  a.reason = Msg("screen locks after {1} s of inactivity (limit {2} s)", locks_args);
  return a;
}

Advice remediationFor(Desktop desktop, int major, std::string_view label,
                      const ScreenLockSettings& policy, int64_t grace_seconds) {
  using i18n::Lit;
  using i18n::Msg;
  auto within = [&](int64_t extra) {
    int64_t minutes = (policy.max_idle_seconds - extra) / 60;
    if (minutes >= 1) {
      return i18n::MsgN("{1} minute or less", "{1} minutes or less", minutes,
                        {Lit(std::to_string(minutes))});
    }
    return Msg("the shortest time offered");
  };
  const bool resume = policy.require_lock_on_resume;
  Advice a;
  a.code = "screen_lock.turn_on_auto_lock";
  switch (desktop) {
    case Desktop::kGnome:
      a.variant = major >= 46 ? "gnome-46" : "gnome-42";
      a.steps.push_back(Msg("Open Settings (from the system menu in the top right corner)."));
      a.steps.push_back(major >= 46 ? Msg("Go to Privacy & Security, then Screen Lock.")
                                    : Msg("Go to Privacy, then Screen."));
      a.steps.push_back(Msg("Set Blank Screen Delay to {1}.", {within(0)}));
      a.steps.push_back(Msg("Turn on Automatic Screen Lock."));
      a.steps.push_back(Msg("Set Automatic Screen Lock Delay to \"Screen Turns Off\"."));
      if (resume) a.steps.push_back(Msg("Turn on Lock Screen on Suspend."));
      return a;
    case Desktop::kCinnamon:
      a.variant = "cinnamon";
      a.steps.push_back(Msg("Open System Settings, then Screensaver."));
      a.steps.push_back(Msg("Set \"Delay before starting the screensaver\" to {1}.", {within(0)}));
      a.steps.push_back(Msg("Turn on \"Lock the computer after the screensaver starts\"."));
      a.steps.push_back(Msg("Set \"Delay before locking\" to Immediately."));
      if (resume) a.steps.push_back(Msg("Turn on \"Lock the computer when put to sleep\"."));
      return a;
    case Desktop::kKde:
      a.variant = major >= 6 ? "plasma-6" : "plasma-5";
      a.steps.push_back(Msg("Open System Settings."));
      a.steps.push_back(major >= 6 ? Msg("Go to Security & Privacy, then Screen Locking.")
                                   : Msg("Go to Workspace Behavior, then Screen Locking."));
      a.steps.push_back(
          Msg("Turn on \"Lock screen automatically\" after {1}.", {within(grace_seconds)}));
      a.steps.push_back(major >= 6
                            ? Msg("Keep \"Delay before password required\" at a few seconds.")
                            : Msg("Keep \"Allow unlocking without password\" at a few seconds."));
      if (resume) a.steps.push_back(Msg("Turn on \"Lock after waking from sleep\"."));
      a.steps.push_back(Msg("Click Apply."));
      return a;
    case Desktop::kXfce:
      a.variant = "xfce";
      a.steps.push_back(Msg("Open the Settings Manager, then Xfce Screensaver."));
      a.steps.push_back(
          Msg("On the Screensaver tab, turn on \"Enable Screensaver\" and \"Activate "
              "screensaver when computer is idle\", after {1}.",
              {within(0)}));
      a.steps.push_back(
          Msg("On the Lock Screen tab, turn on \"Enable Lock Screen\" and \"Lock Screen with "
              "Screensaver\", with no extra delay."));
      if (resume) a.steps.push_back(Msg("Turn on \"Lock Screen when system is going to sleep\"."));
      return a;
    case Desktop::kNone:
    case Desktop::kUnsupported:
      break;
  }
  a.variant = "unsupported";
  a.steps.push_back(Msg("Make sure your screen locks after {1} of inactivity.", {within(0)}));
  if (resume) a.steps.push_back(Msg("Make sure it also locks when the computer wakes up."));
  a.steps.push_back(
      Msg("Hearth cannot read the screen-lock settings of your desktop ({1}) yet: "
          "ask your IT department how to get this check to pass.",
          {Lit(std::string(label))}));
  return a;
}

}  // namespace hearth::checks::screen_lock
