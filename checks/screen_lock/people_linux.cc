// screen_lock on Linux: who is a person on this machine. Accounts (/etc/passwd, /etc/group,
// login.defs), logind sessions and their environment, the installed desktop sessions, per-user
// desktop markers in home directories, and which desktops to judge for each person.
#include <algorithm>
#include <map>
#include <set>

#include "hearth/text.h"
#include "screen_lock/screen_lock_linux.h"

namespace hearth::checks::screen_lock {

namespace {

constexpr char kGetent[] = "/usr/bin/getent";
constexpr size_t kSystemFileLimit = 4 << 20;
constexpr size_t kMaxSessions = 1000;
constexpr size_t kMaxProcScan = 20000;

// A per-user file that marks someone as a person with a desktop, and which desktop it suggests.
struct Marker {
  const char* rel;  // under the home directory
  Desktop desktop;
  bool needs_installed_session;  // only counts if that desktop's session is installed
};
constexpr Marker kMarkers[] = {
    {".config/dconf/user", Desktop::kGnome, false},  // GNOME or Cinnamon, see desktopsFromMarkers
    {".config/kscreenlockerrc", Desktop::kKde, false},
    {".config/kdeglobals", Desktop::kKde, true},
    {".config/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml", Desktop::kXfce, false},
    {".config/xfce4/xfconf/xfce-perchannel-xml/xfce4-session.xml", Desktop::kXfce, true},
};

}  // namespace

void ScreenLockCheck::readAccounts(Run& r) const {
  if (auto defs = r.system.readFile("/etc/login.defs", kSystemFileLimit, false); defs.ok()) {
    r.range = accounts::parseLoginDefs(*defs);
  }
  if (auto pw = r.system.readFile("/etc/passwd", kSystemFileLimit, false); pw.ok()) {
    r.passwd = accounts::parsePasswd(*pw);
  } else {
    r.notes.push("cannot read /etc/passwd: " + pw.status().message());
  }
  if (auto gr = r.system.readFile("/etc/group", kSystemFileLimit, false); gr.ok()) {
    r.groups = accounts::parseGroup(*gr);
  }
}

std::map<uint32_t, Person> ScreenLockCheck::findPeople(Run& r, json::Value& not_inspected) const {
  std::map<uint32_t, Person> people;

  // 1. Everyone with a live graphical session.
  for (auto& s : readSessions(r)) {
    if (!accounts::isLiveGraphicalSession(s)) continue;
    auto [it, inserted] = people.try_emplace(s.uid);
    Person& p = it->second;
    if (inserted) {
      auto pw = std::find_if(r.passwd.begin(), r.passwd.end(),
                             [&](const accounts::PasswdEntry& e) { return e.uid == s.uid; });
      if (pw != r.passwd.end()) {
        p.user = *pw;
      } else {
        // Not a local account (LDAP, SSSD): ask NSS.
        Command c;
        c.argv = {kGetent, "passwd", std::to_string(s.uid)};
        c.timeout = std::chrono::seconds(10);
        auto res = r.system.run(c);
        auto entries = res.ok() && res->exit_code == 0 ? accounts::parsePasswd(res->out)
                                                       : std::vector<accounts::PasswdEntry>{};
        if (!entries.empty()) {
          p.user = entries.front();
        } else {
          p.user.uid = s.uid;
          p.user.name = s.user.empty() ? "uid " + std::to_string(s.uid) : s.user;
          p.identity_problem = "no account entry for uid " + std::to_string(s.uid) +
                               " (its home directory is unknown)";
        }
      }
      fillIdentity(r, p);
    }
    p.sessions.push_back(std::move(s));
  }

  // 2. Local users (login.defs range, login shell) with desktop settings in their home.
  for (const auto& e : r.passwd) {
    if (!accounts::isRegularUser(e, r.range)) continue;
    auto config = r.system.stat(e.home + "/.config", false);
    if (!config.ok()) {
      if (config.status().code() == StatusCode::kPermissionDenied) {
        json::Value n = json::Value::object();
        n.set("user", e.name);
        n.set("reason", "cannot look into the home directory: " + config.status().message());
        not_inspected.push(std::move(n));
      }
      continue;
    }
    std::vector<std::string> found;
    for (const auto& m : kMarkers) {
      auto st = r.system.stat(e.home + "/" + m.rel, false);
      if (st.ok() && (st->type == FileType::kRegular || st->type == FileType::kSymlink)) {
        found.emplace_back(m.rel);
      }
    }
    if (found.empty()) continue;
    auto [it, inserted] = people.try_emplace(e.uid);
    if (inserted) {
      it->second.user = e;
      fillIdentity(r, it->second);
    }
    it->second.markers = std::move(found);
  }
  return people;
}

std::vector<accounts::LogindSession> ScreenLockCheck::readSessions(Run& r) const {
  std::vector<accounts::LogindSession> out;
  const std::string dir = "/run/systemd/sessions";
  auto names = r.system.listDir(dir);
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound) {
      r.notes.push("cannot list " + dir + ": " + names.status().message());
    }
    return out;
  }
  for (const auto& name : *names) {
    if (out.size() >= kMaxSessions) break;
    // <id>.ref are FIFOs held by the session's processes: never opened.
    if (name.empty() || name[0] == '.' || name.ends_with(".ref")) continue;
    std::string path = dir + "/" + name;
    auto info = r.system.stat(path, false);
    if (!info.ok() || info->type != FileType::kRegular) continue;
    auto content = r.system.readFile(path, size_t{64} * 1024, false);
    if (!content.ok()) {
      r.notes.push("cannot read " + path + ": " + content.status().message());
      continue;
    }
    if (auto s = accounts::parseLogindSession(name, *content)) out.push_back(std::move(*s));
  }
  return out;
}

InstalledSessions ScreenLockCheck::readInstalledSessions(const SystemView& system) const {
  InstalledSessions out;
  for (const char* dir : {"/usr/share/xsessions", "/usr/share/wayland-sessions"}) {
    auto names = system.listDir(dir);
    if (!names.ok()) continue;
    for (const auto& n : *names) {
      if (!n.ends_with(".desktop")) continue;
      out.any_listed = true;
      out.desktops.insert(classifyDesktop(n.substr(0, n.size() - 8)));
    }
  }
  return out;
}

void ScreenLockCheck::fillIdentity(Run& r, Person& p) const {
  p.identity.uid = p.user.uid;
  p.identity.gid = p.user.gid;
  p.identity.name = p.user.name;
  p.identity.home = p.user.home;
  p.identity.groups = accounts::groupsOf(r.groups, p.user.name, p.user.gid);
  for (gid_t g : p.identity.groups) {
    for (const auto& ge : r.groups) {
      if (ge.gid == g) {
        p.group_names.push_back(ge.name);
        break;
      }
    }
  }
}

std::optional<std::map<std::string, std::string>> ScreenLockCheck::sessionEnvironment(
    const SystemView& system, const accounts::LogindSession& s) const {
  if (system.isRooted()) return std::nullopt;
  auto parse = [&](const std::string& pid) -> std::optional<std::map<std::string, std::string>> {
    auto info = system.stat("/proc/" + pid, true);
    if (!info.ok() || info->uid != s.uid) return std::nullopt;
    auto env = system.readFile("/proc/" + pid + "/environ", size_t{128} * 1024, true);
    if (!env.ok()) return std::nullopt;
    std::map<std::string, std::string> kv;
    for (const auto& item : text::split(*env, '\0')) {
      size_t eq = item.find('=');
      if (eq != std::string::npos && eq > 0) kv[item.substr(0, eq)] = item.substr(eq + 1);
    }
    auto it = kv.find("XDG_SESSION_ID");
    if (it == kv.end() || it->second != s.id) return std::nullopt;
    return kv;
  };
  if (s.leader > 0) {
    if (auto kv = parse(std::to_string(s.leader))) return kv;
  }
  auto names = system.listDir("/proc");
  if (!names.ok()) return std::nullopt;
  size_t scanned = 0;
  for (const auto& n : *names) {
    if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (++scanned > kMaxProcScan) break;
    if (auto kv = parse(n); kv && kv->count("XDG_CURRENT_DESKTOP") > 0) return kv;
  }
  return std::nullopt;
}

void ScreenLockCheck::chooseDesktops(Run& r, Person& p) const {
  std::set<std::string> seen;
  auto add = [&](DesktopToJudge d) {
    std::string key = std::string(desktopName(d.desktop)) + "/" + d.label;
    if (seen.insert(key).second) p.desktops.push_back(std::move(d));
  };
  bool session_undetermined = false;
  for (const auto& s : p.sessions) {
    std::string name = s.desktop;
    Desktop d = classifyDesktop(name);
    if (d == Desktop::kNone || d == Desktop::kKde || d == Desktop::kXfce) {
      if (auto env = sessionEnvironment(r.system, s)) {
        if (d == Desktop::kNone) {
          name = (*env)["XDG_CURRENT_DESKTOP"];
          d = classifyDesktop(name);
        }
        if (auto it = env->find("XDG_CONFIG_DIRS"); it != env->end() && !it->second.empty()) {
          p.session_config_dirs = it->second;
        }
      }
    }
    if (d == Desktop::kNone) {
      session_undetermined = true;
      continue;
    }
    add(DesktopToJudge{d, d == Desktop::kUnsupported ? name : std::string(desktopName(d)), true});
  }
  if (!p.desktops.empty()) return;  // judge what the person actually runs
  for (const auto& m : kMarkers) {
    if (std::find(p.markers.begin(), p.markers.end(), m.rel) == p.markers.end()) continue;
    if (m.desktop == Desktop::kGnome) {
      // A dconf database serves GNOME and Cinnamon (and GTK apps anywhere): judge the dconf
      // desktops that are installed, or GNOME when the machine lists no sessions at all.
      if (!r.installed.any_listed) {
        add(DesktopToJudge{Desktop::kGnome, "gnome", false});
      } else {
        if (r.installed.desktops.count(Desktop::kGnome) > 0) {
          add(DesktopToJudge{Desktop::kGnome, "gnome", false});
        }
        if (r.installed.desktops.count(Desktop::kCinnamon) > 0) {
          add(DesktopToJudge{Desktop::kCinnamon, "cinnamon", false});
        }
      }
      continue;
    }
    if (m.needs_installed_session && r.installed.desktops.count(m.desktop) == 0) continue;
    add(DesktopToJudge{m.desktop, std::string(desktopName(m.desktop)), false});
  }
  if (p.desktops.empty() && session_undetermined) {
    add(DesktopToJudge{Desktop::kUnsupported, "unidentified desktop", true});
  }
}

}  // namespace hearth::checks::screen_lock
