// Who is logged in: a pure parser of systemd-logind's session state files
// (/run/systemd/sessions/<id>) and the rule for a live graphical session. No I/O here. Used by the
// screen_lock check and the agent's desktop notifications.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::accounts {

// One logind session state file.
struct LogindSession {
  std::string id;
  uint32_t uid = 0;
  bool has_uid = false;
  std::string user;
  std::string state;    // active, online, closing
  std::string type;     // x11, wayland, mir, tty, unspecified
  std::string klass;    // user, greeter, lock-screen, background
  std::string desktop;  // XDG_SESSION_DESKTOP: gnome, ubuntu, KDE, xfce, sway, ...
  std::string seat;
  bool active = false;
  bool remote = false;
  int64_t leader = 0;
};

// Parses the session file of session `id`. Returns nullopt when it has no usable UID=.
std::optional<LogindSession> parseLogindSession(std::string_view id, std::string_view file);
// A live graphical session of a real user: CLASS=user, not closing, TYPE x11/wayland/mir (or a
// DESKTOP name on another type).
bool isLiveGraphicalSession(const LogindSession& s);

}  // namespace hearth::accounts
