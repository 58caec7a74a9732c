// Parser of systemd-logind session state files (hearth/logind_sessions.h). No I/O here.
#include "hearth/logind_sessions.h"

#include "hearth/accounts.h"
#include "hearth/text.h"

namespace hearth::accounts {

std::optional<LogindSession> parseLogindSession(std::string_view id, std::string_view file) {
  auto kv = text::parseOsRelease(file);
  LogindSession s;
  s.id = std::string(id);
  if (auto it = kv.find("UID"); it != kv.end()) {
    if (auto uid = parseId(it->second)) {
      s.uid = *uid;
      s.has_uid = true;
    }
  }
  if (!s.has_uid) return std::nullopt;
  auto get = [&](const char* k) {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  };
  s.user = get("USER");
  s.state = get("STATE");
  s.type = get("TYPE");
  s.klass = get("CLASS");
  s.desktop = get("DESKTOP");
  s.seat = get("SEAT");
  s.active = get("ACTIVE") == "1";
  s.remote = get("REMOTE") == "1";
  s.leader = text::parseInt(get("LEADER")).value_or(0);
  return s;
}

bool isLiveGraphicalSession(const LogindSession& s) {
  if (s.klass != "user") return false;  // greeter, lock-screen, background, manager
  if (s.state == "closing") return false;
  if (s.type == "x11" || s.type == "wayland" || s.type == "mir") return true;
  return !s.desktop.empty();
}

}  // namespace hearth::accounts
